using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>Sum over a set of axes (sorted, distinct). Linear.</summary>
public sealed class SumOp(int[] axes, bool keepDims) : Primitive
{
    /// <summary>The summed axes: sorted, distinct, non-negative (a copy of the array given).</summary>
    public int[] Axes { get; } = (int[])(axes ?? throw new ArgumentNullException(nameof(axes))).Clone();
    /// <summary>Whether summed axes stay as size-1 axes (otherwise they are removed).</summary>
    public bool KeepDims { get; } = keepDims;
    /// <inheritdoc/>
    public override string Name => "sum";
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.Linear;
    /// <summary>Carries a grouping of an axis that is not summed; a sum over the grouped axis mixes the groups.</summary>
    public override AxisGroups? CarriedGroups(Node node, int input, AxisGroups groups) =>
        Axes.Contains(groups.Axis) ? null : groups with { Axis = KeepDims ? groups.Axis : groups.Axis - Axes.Count(x => x < groups.Axis) };
    /// <inheritdoc/>
    public override string Attributes => $"axes=[{string.Join(",", Axes)}]{(KeepDims ? ", keepdims" : "")}";

    /// <summary>Sorted, non-negative, distinct axes; throws naming "sum" and the shape when invalid.</summary>
    public static int[] Normalize(int[] axes, Shape shape)
    {
        ArgumentNullException.ThrowIfNull(axes);
        var r = axes.Select(a => shape.Axis(a, "sum")).Order().ToArray();
        if (r.Distinct().Count() != r.Length)
            throw new ShapeException($"sum: repeated axis in [{string.Join(", ", axes)}] for shape {shape}.");
        return r;
    }

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        foreach (var ax in Axes)
            if (ax < 0 || ax >= s.Rank) throw new ShapeException($"sum: axis {ax} is out of range for shape {s}.");
        return ReducedShape(s, Axes, KeepDims);
    }

    /// <summary>Shape of <paramref name="s"/> summed over <paramref name="axes"/>: those axes removed, or set to 1 when <paramref name="keepDims"/>.</summary>
    public static Shape ReducedShape(Shape s, int[] axes, bool keepDims)
    {
        var dims = new List<int>();
        for (int i = 0; i < s.Rank; i++)
            if (!axes.Contains(i)) dims.Add(s[i]);
            else if (keepDims) dims.Add(1);
        return new Shape([.. dims]);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => Reduce.Sum(inputs[0], Axes, KeepDims, output);

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        var x = node.Inputs[0];
        var kept = KeepDims ? ct : Fn.Reshape(ct, ReducedShape(x.Shape, Axes, true).ToArray());
        return [Fn.BroadcastTo(kept, x.Shape)];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) =>
        a.MapLinear(x => Fn.Sum(x, [.. Axes.Select(ax => ax + a.PrefixRank)], KeepDims));
}
