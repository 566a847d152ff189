using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Primitives.LinearAlgebra;

/// <summary>
/// Identity on square triangular matrices that raises <see cref="SingularMatrixException"/> at run time
/// when one is numerically singular (a diagonal entry with |T_ii| ≤ 10·n·ε·max|T_jj|). A rule inserts it
/// where its formula needs T⁻¹ but rank is only known once values exist, so a rank-deficient input fails
/// with <see cref="Context"/> in the message instead of producing silent infinities. Its derivatives are
/// those of the identity.
/// </summary>
public sealed class FullRankCheckOp(string context) : Primitive
{
    /// <summary>Text naming the rule or operation that needed full rank; quoted in the exception message.</summary>
    public string Context { get; } = context;
    /// <inheritdoc/>
    public override string Name => "require_full_rank";
    /// <inheritdoc/>
    public override string Attributes => Context;

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        if (s.Rank < 2 || s[^1] != s[^2]) throw new ShapeException($"require_full_rank: expected square matrices, got {s}.");
        return s;
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var x = inputs[0].Data;
        int n = output.Shape[^1];
        double tol = 10 * n * DenseKernels.MachineEpsilon<T>();
        for (int b = 0; b < DenseKernels.BatchCount(output.Shape); b++)
        {
            double max = 0, min = double.PositiveInfinity;
            for (int i = 0; i < n; i++)
            {
                double d = Math.Abs(double.CreateTruncating(x[b * n * n + i * n + i]));
                max = Math.Max(max, d);
                min = Math.Min(min, d);
            }
            if (n > 0 && !(min > tol * max))
                throw new SingularMatrixException(
                    $"{Context}: matrix {b} of the batch {inputs[0].Shape} is rank-deficient (smallest |diagonal| {min:G3}, largest {max:G3}).");
        }
        x.CopyTo(output.Data, 0);
    }

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) => [ct];
    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) => a.MapLinear(x => x);
}
