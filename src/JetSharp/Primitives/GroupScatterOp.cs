using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>
/// Expands block-sparse tangents to dense ones. The input holds, per element, C components that stand for the
/// C directions of the element's group only (the group of index i along the grouped axis is
/// <see cref="Groups"/>: Offset + i / Block); the output holds all G·C directions along the same axis,
/// direction g·C + c being component c where g is the element's group and zero elsewhere:
/// out[…, g·C + c, …, i, …] = in[…, c, …, i, …] if g = group(i), else 0.
/// Elements whose group lies outside 0..G−1 have no direction and get none (their components are zero by
/// construction in the particle-sparse forward Laplacian, which is what emits this op). Linear.
/// </summary>
public sealed class GroupScatterOp : Primitive
{
    /// <summary>The scatter with component axis <paramref name="componentAxis"/> (extent C), grouped axis
    /// <paramref name="groups"/>.Axis (after it) and <paramref name="groupCount"/> groups G.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An axis is negative, the grouped axis is not after the component axis, the block is below 1 or G below 1.</exception>
    public GroupScatterOp(int componentAxis, AxisGroups groups, int groupCount)
    {
        if (componentAxis < 0 || groups.Axis <= componentAxis || groups.Block < 1 || groupCount < 1)
            throw new ArgumentOutOfRangeException(nameof(groups), $"group_scatter: needs 0 ≤ component axis < grouped axis, block ≥ 1 and at least one group; got component axis {componentAxis}, {groups}, {groupCount} groups.");
        ComponentAxis = componentAxis;
        Groups = groups;
        GroupCount = groupCount;
    }

    /// <summary>The axis of the C components (becomes G·C directions).</summary>
    public int ComponentAxis { get; }
    /// <summary>The grouping of the elements.</summary>
    public AxisGroups Groups { get; }
    /// <summary>G, the number of groups.</summary>
    public int GroupCount { get; }
    /// <inheritdoc/>
    public override string Name => "group_scatter";
    /// <inheritdoc/>
    public override string Attributes => $"c={ComponentAxis},a={Groups.Axis},b={Groups.Block},o={Groups.Offset},g={GroupCount}";
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.Linear;

    /// <summary>Emits the scatter of <paramref name="x"/>.</summary>
    public static Node Emit(Node x, int componentAxis, AxisGroups groups, int groupCount)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Graph.Apply(new GroupScatterOp(componentAxis, groups, groupCount), x);
    }

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        if (Groups.Axis >= s.Rank)
            throw new ShapeException($"group_scatter: grouped axis {Groups.Axis} is out of range for {s}.");
        if ((long)s[ComponentAxis] * GroupCount > int.MaxValue)
            throw new ShapeException($"group_scatter: {s[ComponentAxis]} components × {GroupCount} groups exceed an axis of {s}.");
        var dims = s.ToArray();
        dims[ComponentAxis] *= GroupCount;
        return new Shape(dims);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var s = inputs[0].Shape;
        long pre = Product(s, 0, ComponentAxis), mid = Product(s, ComponentAxis + 1, Groups.Axis), post = Product(s, Groups.Axis + 1, s.Rank);
        int c = s[ComponentAxis], e = s[Groups.Axis];
        var x = inputs[0].Data;
        var y = output.Data;
        Array.Clear(y);
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
    }

    private static long Product(Shape s, int from, int to)
    {
        long p = 1;
        for (int i = from; i < to; i++) p *= s[i];
        return p;
    }

    /// <summary>The mask δ(g, group(i)) of shape [1…, G, 1, 1…, E, 1…] (rank of the input plus one).</summary>
    private Node Mask(Node like)
    {
        var s = like.Shape;
        var dims = Enumerable.Repeat(1, s.Rank + 1).ToArray();
        dims[ComponentAxis] = GroupCount;
        dims[Groups.Axis + 1] = s[Groups.Axis];
        var m = new double[(long)GroupCount * s[Groups.Axis]];
        for (int i = 0; i < s[Groups.Axis]; i++)
            if (Groups.GroupOf(i) is var g && g >= 0 && g < GroupCount) m[g * s[Groups.Axis] + i] = 1;
        return like.Graph.Constant(NDArray.FromArray(m, new Shape(dims)));
    }

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        // The adjoint gathers each element's own group: split G·C into [G, C], mask by δ(g, group(i)), sum over G.
        var x = node.Inputs[0];
        var dims = x.Shape.ToArray().ToList();
        dims.Insert(ComponentAxis, GroupCount);
        var split = Fn.Reshape(ct, [.. dims]);
        return [Fn.Sum(split * Mask(x), [ComponentAxis])];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) =>
        a.MapLinear(x => Emit(x, ComponentAxis + a.PrefixRank, Groups with { Axis = Groups.Axis + a.PrefixRank }, GroupCount));
}
