using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>
/// Expands block-sparse tangents to dense ones. Each element of the input has one or two owners (particles), given
/// by <see cref="Owners"/>: owner p of the element with index i along <see cref="AxisGroups.Axis"/> is
/// Offset + i / Block. The component axis holds P·C numbers per element (P owners, C components each); slot
/// p·C + c stands for direction o_p·C + c of the element's owner o_p. The output holds all G·C directions along the
/// same axis: out[…, g·C + c, …] = Σ_p [o_p = g] · in[…, p·C + c, …], zero along the other directions.
/// With one owner this is a placement (each element's components land on its own particle's directions); with two
/// (pair features) the slots add, which is exact when, as in <c>GroupedJet</c>, the second slot of an element
/// whose two owners coincide is zero. Owners outside 0..G−1 have no direction and get none. Linear.
/// </summary>
public sealed class GroupScatterOp : Primitive
{
    /// <summary>The scatter with component axis <paramref name="componentAxis"/> (extent C), grouped axis
    /// <paramref name="groups"/>.Axis (after it) and <paramref name="groupCount"/> groups G.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An axis is negative, the grouped axis is not after the component axis, the block is below 1 or G below 1.</exception>
    public GroupScatterOp(int componentAxis, AxisGroups groups, int groupCount) : this(componentAxis, [groups], groupCount) { }

    /// <summary>The scatter of elements with one or two owners: component axis <paramref name="componentAxis"/>
    /// (extent P·C for P owners), owners <paramref name="owners"/> (grouped axes after the component axis) and
    /// <paramref name="groupCount"/> groups G.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="owners"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">No owner or more than two, an axis is negative, a grouped axis is not after the component axis, a block is below 1 or G below 1.</exception>
    public GroupScatterOp(int componentAxis, IReadOnlyList<AxisGroups> owners, int groupCount)
    {
        ArgumentNullException.ThrowIfNull(owners);
        if (owners.Count is < 1 or > 2)
            throw new ArgumentOutOfRangeException(nameof(owners), $"group_scatter: an element has one or two owners, got {owners.Count}.");
        foreach (var groups in owners)
            if (componentAxis < 0 || groups.Axis <= componentAxis || groups.Block < 1 || groupCount < 1)
                throw new ArgumentOutOfRangeException(nameof(owners), $"group_scatter: needs 0 ≤ component axis < grouped axis, block ≥ 1 and at least one group; got component axis {componentAxis}, {groups}, {groupCount} groups.");
        ComponentAxis = componentAxis;
        Owners = [.. owners];
        GroupCount = groupCount;
    }

    /// <summary>The axis of the P·C component slots (becomes G·C directions).</summary>
    public int ComponentAxis { get; }
    /// <summary>The grouping that gives each element's first (or only) owner.</summary>
    public AxisGroups Groups => Owners[0];
    /// <summary>The groupings that give each element's owners, one or two.</summary>
    public IReadOnlyList<AxisGroups> Owners { get; }
    /// <summary>G, the number of groups.</summary>
    public int GroupCount { get; }
    /// <inheritdoc/>
    public override string Name => "group_scatter";
    /// <inheritdoc/>
    public override string Attributes =>
        $"c={ComponentAxis},{string.Join(";", Owners.Select(o => $"a={o.Axis},b={o.Block},o={o.Offset}"))},g={GroupCount}";
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.Linear;

    /// <summary>Emits the scatter of <paramref name="x"/> (one owner per element).</summary>
    public static Node Emit(Node x, int componentAxis, AxisGroups groups, int groupCount)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Graph.Apply(new GroupScatterOp(componentAxis, groups, groupCount), x);
    }

    /// <summary>Emits the scatter of <paramref name="x"/> whose elements have the owners <paramref name="owners"/>.</summary>
    public static Node Emit(Node x, int componentAxis, IReadOnlyList<AxisGroups> owners, int groupCount)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Graph.Apply(new GroupScatterOp(componentAxis, owners, groupCount), x);
    }

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        foreach (var o in Owners)
            if (o.Axis >= s.Rank)
                throw new ShapeException($"group_scatter: grouped axis {o.Axis} is out of range for {s}.");
        if (s[ComponentAxis] % Owners.Count != 0)
            throw new ShapeException($"group_scatter: component axis {ComponentAxis} of {s} does not split into {Owners.Count} owners.");
        if ((long)s[ComponentAxis] / Owners.Count * GroupCount > int.MaxValue)
            throw new ShapeException($"group_scatter: {s[ComponentAxis] / Owners.Count} components × {GroupCount} groups exceed an axis of {s}.");
        var dims = s.ToArray();
        dims[ComponentAxis] = dims[ComponentAxis] / Owners.Count * GroupCount;
        return new Shape(dims);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var s = inputs[0].Shape;
        var x = inputs[0].Data;
        var y = output.Data;
        Array.Clear(y);
        if (Owners.Count == 1)
        {
            long pre = Product(s, 0, ComponentAxis), mid = Product(s, ComponentAxis + 1, Groups.Axis), post = Product(s, Groups.Axis + 1, s.Rank);
            int c = s[ComponentAxis], e = s[Groups.Axis];
            for (long p = 0; p < pre; p++)
                for (int k = 0; k < c; k++)
                    for (long m = 0; m < mid; m++)
                        for (int i = 0; i < e; i++)
                        {
                            int g = Groups.GroupOf(i);
                            if (g < 0 || g >= GroupCount) continue;
                            long from = (((p * c + k) * mid + m) * e + i) * post;
                            long to = (((p * c * GroupCount + g * c + k) * mid + m) * e + i) * post;
                            Array.Copy(x, from, y, to, post);
                        }
            return;
        }
        // Several owners: slot p·C + c of every element adds onto direction o_p·C + c.
        long before = Product(s, 0, ComponentAxis), rest = Product(s, ComponentAxis + 1, s.Rank);
        int slots = s[ComponentAxis], comps = slots / Owners.Count;
        for (long b = 0; b < before; b++)
            for (int p = 0; p < Owners.Count; p++)
            {
                var owner = Owners[p];
                long stride = Product(s, owner.Axis + 1, s.Rank);
                int extent = s[owner.Axis];
                for (int c = 0; c < comps; c++)
                {
                    long from = (b * slots + p * comps + c) * rest;
                    long toBase = b * comps * GroupCount;
                    for (long run = 0; run < rest / stride; run++)
                    {
                        int g = owner.GroupOf((int)(run % extent));
                        if (g < 0 || g >= GroupCount) continue;
                        long src = from + run * stride, dst = (toBase + g * comps + c) * rest + run * stride;
                        for (long r = 0; r < stride; r++) y[dst + r] += x[src + r];
                    }
                }
            }
    }

    private static long Product(Shape s, int from, int to)
    {
        long p = 1;
        for (int i = from; i < to; i++) p *= s[i];
        return p;
    }

    /// <summary>The mask δ(g, owner(i)) of shape [1…, G, 1, 1…, E, 1…] (rank of the input plus one).</summary>
    private Node Mask(Node like, AxisGroups owner)
    {
        var s = like.Shape;
        var dims = Enumerable.Repeat(1, s.Rank + 1).ToArray();
        dims[ComponentAxis] = GroupCount;
        dims[owner.Axis + 1] = s[owner.Axis];
        var m = new double[(long)GroupCount * s[owner.Axis]];
        for (int i = 0; i < s[owner.Axis]; i++)
            if (owner.GroupOf(i) is var g && g >= 0 && g < GroupCount) m[g * s[owner.Axis] + i] = 1;
        return like.Graph.Constant(NDArray.FromArray(m, new Shape(dims)));
    }

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        // The adjoint gathers, for each owner slot, that owner's directions: split G·C into [G, C], mask by
        // δ(g, owner_p(i)), sum over G; the owners' slots are joined again along the component axis.
        var x = node.Inputs[0];
        var dims = x.Shape.ToArray().ToList();
        dims[ComponentAxis] /= Owners.Count;
        dims.Insert(ComponentAxis, GroupCount);
        var split = Fn.Reshape(ct, [.. dims]);
        var parts = Owners.Select(o => Fn.Sum(split * Mask(x, o), [ComponentAxis])).ToArray();
        return [parts.Length == 1 ? parts[0] : Fn.Concat(ComponentAxis, parts)];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) =>
        a.MapLinear(x => Emit(x, ComponentAxis + a.PrefixRank, [.. Owners.Select(o => o with { Axis = o.Axis + a.PrefixRank })], GroupCount));
}
