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

/// <summary>
/// group_scatter(broadcast x) → broadcast(group_scatter x) when the broadcast repeats neither the components nor
/// a grouped axis: a per-particle basis shared by every datum is expanded once, not once per datum.
/// </summary>
public sealed class SinkBroadcastThroughGroupScatter : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op is GroupScatterOp scatter && inputs[0].Op is BroadcastToOp && inputs[0].Inputs[0] is var inner && inner.Rank == inputs[0].Rank &&
        inner.Shape[scatter.ComponentAxis] == inputs[0].Shape[scatter.ComponentAxis] &&
        scatter.Owners.All(o => inner.Shape[o.Axis] == inputs[0].Shape[o.Axis]);

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context) =>
        Fn.BroadcastTo(inputs[0].Graph.Apply(op, inputs[0].Inputs[0]), op.InferShape(inputs));
}

/// <summary>
/// Σ over the grouped axis of a group scatter (one element per group, block 1) → the components rearranged:
/// summing the elements of all particles gives, along direction g·C + c, component c of particle g's element,
/// so out = pad(move the grouped axis next to the components) with no G-fold expansion. A sum or mean over
/// particles (pooling) then costs what the block-sparse tangent costs. Elements with two owners are first split
/// by <see cref="SplitGroupScatterOfPairs"/>.
/// </summary>
public sealed class SumOverGroupsOfGroupScatter : PullSumRule<GroupScatterOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, GroupScatterOp inner, RewriteContext context) =>
        inner.Owners.Count == 1 && inner.Groups.Block == 1 && sum.Axes.Contains(inner.Groups.Axis) && !sum.Axes.Contains(inner.ComponentAxis) &&
        inner.Groups.Offset >= 0 && (long)inner.Groups.Offset + x.Shape[inner.Groups.Axis] <= inner.GroupCount;

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, GroupScatterOp inner, Shape reduced)
    {
        int k = inner.ComponentAxis, a = inner.Groups.Axis, groups = inner.GroupCount, offset = inner.Groups.Offset;
        var t = x.Inputs[0];
        var others = sum.Axes.Where(ax => ax != a).ToArray();
        var u = others.Length > 0 ? Fn.Sum(t, others, keepDims: true) : t;
        // Grouped axis just ahead of the components: [.., E, C, ..].
        int[] perm = [.. Enumerable.Range(0, k), a, .. Enumerable.Range(k, a - k), .. Enumerable.Range(a + 1, t.Rank - a - 1)];
        var moved = Fn.Transpose(u, perm);
        int extent = t.Shape[a];
        var before = new int[t.Rank];
        var after = new int[t.Rank];
        before[k] = offset;
        after[k] = groups - offset - extent;
        var padded = before[k] == 0 && after[k] == 0 ? moved : Fn.Pad(moved, before, after);
        var dims = padded.Shape.ToList();
        dims[k] = groups * dims[k + 1];
        dims.RemoveAt(k + 1);
        dims.Insert(a, 1);
        return Fn.Reshape(Fn.Reshape(padded, [.. dims]), reduced.ToArray());
    }
}

/// <summary>
/// Σ over axes of a group scatter that are neither its component axis nor a grouped axis → the scatter of the sum:
/// the owners of an element do not depend on those axes, so summing before expanding gives the same directions
/// (e.g. a pair feature summed over its feature axis, or a one-owner part of a pair summed over the other particle).
/// </summary>
public sealed class PullSumThroughGroupScatterOtherAxes : PullSumRule<GroupScatterOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, GroupScatterOp inner, RewriteContext context) =>
        !sum.Axes.Contains(inner.ComponentAxis) && inner.Owners.All(o => !sum.Axes.Contains(o.Axis));

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, GroupScatterOp inner, Shape reduced)
    {
        int Moved(int axis) => sum.KeepDims ? axis : axis - sum.Axes.Count(a => a < axis);
        var summed = Fn.Sum(x.Inputs[0], sum.Axes, sum.KeepDims);
        return GroupScatterOp.Emit(summed, Moved(inner.ComponentAxis), [.. inner.Owners.Select(o => o with { Axis = Moved(o.Axis) })], inner.GroupCount);
    }
}

/// <summary>
/// Σ over a grouped axis of a scatter of elements with two owners → the sum of the two one-owner scatters of the
/// owners' slots: the slots add (GroupScatterOp), so the scatter is the sum of one scatter per owner, and each can
/// then be summed on its own (a rearrangement for the owner whose axis is summed, <see cref="SumOverGroupsOfGroupScatter"/>;
/// a scatter of the sum for the other, <see cref="PullSumThroughGroupScatterOtherAxes"/>). Σ_j g_ij of a pair
/// feature then costs O(n²) per component, not O(n³).
/// </summary>
public sealed class SplitGroupScatterOfPairs : PullSumRule<GroupScatterOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, GroupScatterOp inner, RewriteContext context) =>
        inner.Owners.Count > 1 && !sum.Axes.Contains(inner.ComponentAxis) && inner.Owners.Any(o => sum.Axes.Contains(o.Axis));

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, GroupScatterOp inner, Shape reduced)
    {
        var t = x.Inputs[0];
        int k = inner.ComponentAxis, comps = t.Shape[k] / inner.Owners.Count;
        var parts = inner.Owners.Select((o, p) =>
            Fn.Sum(GroupScatterOp.Emit(Fn.Slice(t, k, p * comps, comps), k, o, inner.GroupCount), sum.Axes, sum.KeepDims)).ToArray();
        return parts.Skip(1).Aggregate(parts[0], (acc, part) => acc + part);
    }
}
