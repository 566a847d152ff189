using static JetSharp.Simplify.Broadcasting;
using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Primitives.LinearAlgebra;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// Σ_batch A⁻¹B → A⁻¹(Σ_batch B) over batch axes that A does not carry: the solve is linear in B. This lets the
/// collapsed sum of highest-order coefficients pass the LU solves of a determinant's Taylor rule (log|det A|'s
/// top coefficient is tr(A⁻¹A_K) plus products of lower ones), so a Slater determinant's Laplacian propagates
/// one summed coefficient instead of one per direction up to the determinant.
/// </summary>
public sealed class PullSumThroughSolve : PullSumRule<SolveOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, SolveOp inner, RewriteContext context) =>
        sum.Axes.All(a => a < x.Rank - 2) && !CarriesAny(BatchShape(x.Inputs[0]), BatchShape(x), sum.Axes);

    private static Shape BatchShape(Node n) => new(n.Shape.ToArray()[..^2]);

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, SolveOp inner, Shape reduced)
    {
        var b = x.Inputs[1];
        var bFor = new Shape([.. BatchShape(x), b.Shape[^2], b.Shape[^1]]);
        var solved = Linalg.Solve(x.Inputs[0], SumOfBroadcast(b, bFor, sum.Axes, keepDims: true));
        return sum.KeepDims ? solved : DropAxes(solved, new Shape([.. solved.Shape]), sum.Axes);
    }
}
