using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>Same elements, new shape (a view: shares storage with its input). Linear.</summary>
public sealed class ReshapeOp(Shape shape) : Primitive
{
    /// <summary>The target shape (fully resolved, no −1); same size as the input.</summary>
    public Shape Shape { get; } = shape;
    /// <inheritdoc/>
    public override string Name => "reshape";
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.Linear;
    /// <summary>Carries a grouping when each group's elements stay one run of a trailing block (e.g. [N, 3n] → [N, n, 3]).</summary>
    public override AxisGroups? CarriedGroups(Node node, int input, AxisGroups groups)
    {
        ArgumentNullException.ThrowIfNull(node);
        var from = node.Inputs[0].Shape;
        long inner = Suffix(from, groups.Axis + 1), stride = groups.Block * inner, span = from[groups.Axis] * inner;
        for (int a = 0; a < Shape.Rank; a++)
            if (Suffix(Shape, a) == span && Suffix(Shape, a + 1) is var tail && tail > 0 && stride % tail == 0)
                return new AxisGroups(a, (int)(stride / tail), groups.Offset);
        return null;
    }

    private static long Suffix(Shape s, int from)
    {
        long p = 1;
        for (int i = from; i < s.Rank; i++) p *= s[i];
        return p;
    }
    /// <inheritdoc/>
    public override string Attributes => Shape.ToString();
    /// <inheritdoc/>
    public override bool IsView => true;

    /// <summary>Replaces a single −1 by the extent that keeps the size; validates against <paramref name="from"/>.</summary>
    public static Shape Resolve(int[] dims, Shape from)
    {
        ArgumentNullException.ThrowIfNull(dims);
        int unknown = Array.IndexOf(dims, -1);
        if (dims.Count(d => d == -1) > 1 || dims.Any(d => d < -1))
            throw new ShapeException($"reshape: invalid target [{string.Join(", ", dims)}] for {from}.");
        if (unknown >= 0)
        {
            long known = 1;
            for (int i = 0; i < dims.Length; i++) if (i != unknown) known *= dims[i];
            if (known == 0 || from.Size % known != 0)
                throw new ShapeException($"reshape: cannot reshape {from} ({from.Size} elements) to [{string.Join(", ", dims)}].");
            dims = (int[])dims.Clone();
            dims[unknown] = (int)(from.Size / known);
        }
        return new Shape(dims);
    }

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        if (inputs[0].Shape.Size != Shape.Size)
            throw new ShapeException($"reshape: cannot reshape {inputs[0].Shape} ({inputs[0].Shape.Size} elements) to {Shape} ({Shape.Size} elements).");
        return Shape;
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => inputs[0].Data.CopyTo(output.Data, 0);
    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) => [Fn.Reshape(ct, node.Inputs[0].Shape.ToArray())];
    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) =>
        a.MapLinear(x => Fn.Reshape(x, [.. x.Shape.Take(a.PrefixRank), .. Shape]));
}

/// <summary>Permutation of axes: output axis i is input axis Perm[i]. Linear.</summary>
public sealed class TransposeOp(int[] perm) : Primitive
{
    /// <summary>The permutation: output axis i is input axis Perm[i] (a copy of the array given).</summary>
    public int[] Perm { get; } = (int[])(perm ?? throw new ArgumentNullException(nameof(perm))).Clone();
    /// <inheritdoc/>
    public override string Name => "transpose";
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.Linear;
    /// <summary>Carries a grouping to the output axis that is the grouped input axis.</summary>
    public override AxisGroups? CarriedGroups(Node node, int input, AxisGroups groups) =>
        groups with { Axis = Array.IndexOf(Perm, groups.Axis) };
    /// <inheritdoc/>
    public override string Attributes => $"[{string.Join(",", Perm)}]";

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        if (Perm.Length != s.Rank || Perm.Order().Where((p, i) => p != i).Any())
            throw new ShapeException($"transpose: [{string.Join(", ", Perm)}] is not a permutation of the axes of {s}.");
        return new Shape([.. Perm.Select(p => s[p])]);
    }

    /// <summary>The inverse permutation (transposing by it undoes this transpose).</summary>
    public int[] Inverse()
    {
        var inv = new int[Perm.Length];
        for (int i = 0; i < Perm.Length; i++) inv[Perm[i]] = i;
        return inv;
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => Layout.Transpose(inputs[0], Perm, output);
    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) => [Fn.Transpose(ct, Inverse())];
    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) =>
        a.MapLinear(x => Fn.Transpose(x, [.. Enumerable.Range(0, a.PrefixRank), .. Perm.Select(p => p + a.PrefixRank)]));
}

/// <summary>NumPy broadcast to a target shape. Linear; its VJP sums over the stretched axes.</summary>
public sealed class BroadcastToOp(Shape shape) : Primitive
{
    /// <summary>The target shape; the input must broadcast to it.</summary>
    public Shape Shape { get; } = shape;
    /// <inheritdoc/>
    public override string Name => "broadcast";
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.Linear;
    /// <summary>Carries a grouping unless the grouped axis is stretched.</summary>
    public override AxisGroups? CarriedGroups(Node node, int input, AxisGroups groups)
    {
        ArgumentNullException.ThrowIfNull(node);
        var from = node.Inputs[0].Shape;
        int axis = groups.Axis + Shape.Rank - from.Rank;
        return Shape[axis] == from[groups.Axis] ? groups with { Axis = axis } : null;
    }
    /// <inheritdoc/>
    public override string Attributes => Shape.ToString();

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        if (!inputs[0].Shape.BroadcastsTo(Shape))
            throw new ShapeException($"broadcast: {inputs[0].Shape} cannot be broadcast to {Shape}.");
        return Shape;
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => Layout.BroadcastTo(inputs[0], output);
    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) => [Fn.SumToShape(ct, node.Inputs[0].Shape)];

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        var y = new Node?[a.Order + 1];
        for (int k = 1; k <= a.Order; k++)
            if (a.Lifted(0, k) is { } x) y[k] = Fn.BroadcastTo(x, new Shape([.. x.Shape.Take(a.PrefixRank), .. Shape]));
        return y;
    }
}

/// <summary>A rectangular block: output = x[Starts[i] : Starts[i] + Sizes[i]] per axis. Linear; VJP pads.</summary>
public sealed class SliceOp(int[] starts, int[] sizes) : Primitive
{
    /// <summary>Start index of the block along each axis (a copy of the array given).</summary>
    public int[] Starts { get; } = (int[])(starts ?? throw new ArgumentNullException(nameof(starts))).Clone();
    /// <summary>Extent of the block along each axis (a copy of the array given).</summary>
    public int[] Sizes { get; } = (int[])(sizes ?? throw new ArgumentNullException(nameof(sizes))).Clone() is var z && z.Length == starts.Length ? z
        : throw new ShapeException($"slice: {starts.Length} starts but {sizes.Length} sizes.");
    /// <inheritdoc/>
    public override string Name => "slice";
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.Linear;
    /// <summary>Carries a grouping; a slice of the grouped axis must start at a group boundary (the offset moves).</summary>
    public override AxisGroups? CarriedGroups(Node node, int input, AxisGroups groups) =>
        Starts[groups.Axis] % groups.Block == 0 ? groups with { Offset = groups.Offset + Starts[groups.Axis] / groups.Block } : null;
    /// <inheritdoc/>
    public override string Attributes => string.Join(",", Starts.Select((s, i) => $"{s}:{(long)s + Sizes[i]}"));

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        if (Starts.Length != s.Rank || Sizes.Length != s.Rank)
            throw new ShapeException($"slice: {Starts.Length} starts and {Sizes.Length} sizes for a tensor of rank {s.Rank} ({s}).");
        for (int i = 0; i < s.Rank; i++)
            if (Starts[i] < 0 || Sizes[i] < 0 || (long)Starts[i] + Sizes[i] > s[i])
                throw new ShapeException($"slice: range {Starts[i]}:{(long)Starts[i] + Sizes[i]} (start {Starts[i]}, size {Sizes[i]}) is outside axis {i} of {s}.");
        return new Shape(Sizes);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => Layout.Slice(inputs[0], Starts, output);

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        var s = node.Inputs[0].Shape;
        return [Fn.Pad(ct, Starts, [.. Starts.Select((st, i) => s[i] - st - Sizes[i])])];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) =>
        a.MapLinear(x => Fn.Slice(x, [.. new int[a.PrefixRank], .. Starts], [.. x.Shape.Take(a.PrefixRank), .. Sizes]));
}

/// <summary>Zero padding: Before[i] zeros ahead of axis i and After[i] behind it. Linear; VJP slices.</summary>
public sealed class PadOp(int[] before, int[] after) : Primitive
{
    /// <summary>Zeros inserted ahead of each axis (a copy of the array given).</summary>
    public int[] Before { get; } = (int[])(before ?? throw new ArgumentNullException(nameof(before))).Clone();
    /// <summary>Zeros appended behind each axis (a copy of the array given).</summary>
    public int[] After { get; } = (int[])(after ?? throw new ArgumentNullException(nameof(after))).Clone() is var z && z.Length == before.Length ? z
        : throw new ShapeException($"pad: {before.Length} widths before but {after.Length} after.");
    /// <inheritdoc/>
    public override string Name => "pad";
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.Linear;
    /// <inheritdoc/>
    public override string Attributes => string.Join(",", Before.Select((b, i) => $"{b}+{After[i]}"));

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        if (Before.Length != s.Rank || After.Length != s.Rank || Before.Any(b => b < 0) || After.Any(b => b < 0))
            throw new ShapeException($"pad: widths [{Attributes}] do not fit a tensor of shape {s}.");
        for (int i = 0; i < s.Rank; i++)
            if ((long)s[i] + Before[i] + After[i] > int.MaxValue)
                throw new ShapeException($"pad: widths [{Attributes}] make axis {i} of {s} longer than {int.MaxValue}.");
        return new Shape([.. s.Select((d, i) => d + Before[i] + After[i])]);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => Layout.Pad(inputs[0], Before, output);
    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) => [Fn.Slice(ct, Before, node.Inputs[0].Shape.ToArray())];
    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) =>
        a.MapLinear(x => Fn.Pad(x, [.. new int[a.PrefixRank], .. Before], [.. new int[a.PrefixRank], .. After]));
}

/// <summary>Concatenation along one axis. Linear in every input.</summary>
public sealed class ConcatOp(int axis) : Primitive
{
    /// <summary>The (non-negative) axis the inputs are joined along; all other extents must agree.</summary>
    public int Axis { get; } = axis;
    /// <inheritdoc/>
    public override string Name => "concat";
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.JointlyLinear;
    /// <summary>Carries a grouping; along the grouped axis, an input must start at a group boundary (the offset moves).</summary>
    public override AxisGroups? CarriedGroups(Node node, int input, AxisGroups groups)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (groups.Axis != Axis) return groups;
        int start = node.Inputs.Take(input).Sum(i => i.Shape[Axis]);
        return start % groups.Block == 0 ? groups with { Offset = groups.Offset - start / groups.Block } : null;
    }
    /// <inheritdoc/>
    public override string Attributes => $"axis={Axis}";

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        if (inputs.Count == 0) throw new ShapeException("concat: no inputs.");
        var first = inputs[0].Shape;
        if (Axis < 0 || Axis >= first.Rank) throw new ShapeException($"concat: axis {Axis} is out of range for {first}.");
        int total = 0;
        foreach (var x in inputs)
        {
            var s = x.Shape;
            bool ok = s.Rank == first.Rank && Enumerable.Range(0, s.Rank).All(i => i == Axis || s[i] == first[i]);
            if (!ok)
                throw new ShapeException($"concat: shapes {string.Join(", ", inputs.Select(i => i.Shape))} differ outside axis {Axis}.");
            total += s[Axis];
        }
        var dims = first.ToArray();
        dims[Axis] = total;
        return new Shape(dims);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => Layout.Concat(inputs, Axis, output);

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        var r = new Node?[node.Inputs.Count];
        int offset = 0;
        for (int i = 0; i < r.Length; i++)
        {
            int len = node.Inputs[i].Shape[Axis];
            r[i] = Fn.Slice(ct, Axis, offset, len);
            offset += len;
        }
        return r;
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        var y = new Node?[a.Order + 1];
        for (int k = 1; k <= a.Order; k++)
        {
            var parts = Enumerable.Range(0, a.InputCount).Select(i => a.X(i, k)).ToArray();
            var present = parts.FirstOrDefault(p => p is not null);
            if (present is null) continue;
            var prefix = present.Shape.Take(a.PrefixRank).ToArray();
            var filled = parts.Select((p, i) => p ?? Fn.Zeros(a.Graph, new Shape([.. prefix, .. a.Primals[i].Shape]))).ToArray();
            y[k] = Fn.Concat(Axis + a.PrefixRank, filled);
        }
        return y;
    }
}
