using static JetSharp.Simplify.Broadcasting;
using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Primitives.LinearAlgebra;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// Σ(take x) → take(Σx) when every summed axis lies before the indexed one: take copies whole slices along the
/// axes ahead of its axis, so summing them first gives the same rows. The Taylor directions of a collapsed
/// operator are such leading axes (the take's own axis moves back by the prefix).
/// </summary>
public sealed class PullSumThroughTake : PullSumRule<TakeOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, TakeOp inner, RewriteContext context) => sum.Axes.All(a => a < inner.Axis);

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, TakeOp inner, Shape reduced) =>
        Fn.Apply(inner, Fn.Sum(x.Inputs[0], sum.Axes, keepDims: true));
}

/// <summary>Σ(scatter_add x) → scatter_add(Σx) when every summed axis lies before the scattered one (the adjoint of <see cref="PullSumThroughTake"/>).</summary>
public sealed class PullSumThroughScatterAdd : PullSumRule<ScatterAddOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, ScatterAddOp inner, RewriteContext context) => sum.Axes.All(a => a < inner.Axis);

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, ScatterAddOp inner, Shape reduced) =>
        Fn.Apply(inner, Fn.Sum(x.Inputs[0], sum.Axes, keepDims: true));
}

/// <summary>
/// Σ scatter_add_into(t, u) → scatter_add_into(Σt, Σu) when every summed axis lies before the scattered one: jointly
/// linear, and the slices along the axes ahead of it are added independently (the Taylor directions of a collapsed
/// operator are such leading axes).
/// </summary>
public sealed class PullSumThroughScatterAddInto : PullSumRule<ScatterAddIntoOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, ScatterAddIntoOp inner, RewriteContext context) => sum.Axes.All(a => a < inner.Axis);

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, ScatterAddIntoOp inner, Shape reduced) =>
        Fn.Apply(inner, Fn.Sum(x.Inputs[0], sum.Axes, keepDims: true), Fn.Sum(x.Inputs[1], sum.Axes, keepDims: true));
}

/// <summary>Σ(cumsum x) → cumsum(Σx) when the cumulative axis is not summed (the running sums of different rows never mix).</summary>
public sealed class PullSumThroughCumSum : PullSumRule<CumSumOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, CumSumOp inner, RewriteContext context) => !sum.Axes.Contains(inner.Axis);

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, CumSumOp inner, Shape reduced) =>
        Fn.Apply(inner, Fn.Sum(x.Inputs[0], sum.Axes, keepDims: true));
}

/// <summary>
/// Σ solve(A, B) → solve(A, ΣB): solve is linear in B, so a sum over batch axes along which A does not vary
/// (A broadcast there, as a matrix shared by the Taylor directions is), or over B's columns, moves onto B.
/// </summary>
public sealed class PullSumThroughSolve : PullSumRule<SolveOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, SolveOp inner, RewriteContext context) =>
        sum.Axes.All(a => a < x.Rank - 2 || a == x.Rank - 1) &&
        !CarriesAny(BatchShape(x.Inputs[0]), BatchShape(x), sum.Axes.Where(a => a < x.Rank - 2));

    private static Shape BatchShape(Node n) => new(n.Shape.ToArray()[..^2]);

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, SolveOp inner, Shape reduced)
    {
        var b = x.Inputs[1];
        var summed = SumOfBroadcast(b, new Shape([.. BatchShape(x), b.Shape[^2], b.Shape[^1]]), sum.Axes, keepDims: true);
        var solved = Linalg.Solve(x.Inputs[0], summed);
        return sum.KeepDims ? solved : DropAxes(solved, new Shape([.. solved.Shape]), sum.Axes);
    }
}
