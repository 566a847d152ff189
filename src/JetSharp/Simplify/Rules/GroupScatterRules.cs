using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// Σ over the directions of a group scatter → Σ over its components: every component lands in exactly one
/// direction, so summing all G·C directions sums the C components. This keeps the collapsed sum of
/// highest-order coefficients (METHOD.md §3) moving through the point where a particle-sparse tangent is densified.
/// </summary>
public sealed class PullSumThroughGroupScatter : PullSumRule<GroupScatterOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, GroupScatterOp inner, RewriteContext context) =>
        sum.Axes.Contains(inner.ComponentAxis);

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, GroupScatterOp inner, Shape reduced) =>
        Fn.Sum(x.Inputs[0], sum.Axes, sum.KeepDims);
}
