using System.Threading;
using JetSharp.Backend;
using JetSharp.Ir;
using JetSharp.Tensors;

namespace JetSharp.Primitives;

/// <summary>
/// Integer indices along one axis, with the shape they are laid out in (a copy of the caller's array, so
/// later changes to it do not reach a graph). Primitives that carry the same list compare equal; a long
/// list is named by a unique id rather than spelled out.
/// </summary>
public sealed class IndexList
{
    private static long _nextId;
    private readonly int[] _values;

    /// <summary>Copies <paramref name="values"/>, laid out in <paramref name="shape"/> (a vector when null).</summary>
    /// <exception cref="ShapeException">The shape does not hold exactly the values.</exception>
    public IndexList(int[] values, Shape? shape = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        _values = (int[])values.Clone();
        Shape = shape ?? new Shape(values.Length);
        if (Shape.Size != values.Length)
            throw new ShapeException($"indices: {values.Length} values cannot fill index shape {Shape}.");
        Text = values.Length <= 32 ? $"[{string.Join(",", values)}]{(Shape.Rank == 1 ? "" : $" as {Shape}")}" : $"indices#{Interlocked.Increment(ref _nextId)} {Shape}";
    }

    /// <summary>The indices in row-major order (a copy).</summary>
    public int[] Values => (int[])_values.Clone();
    internal int[] Raw => _values;
    /// <summary>The shape the indices are laid out in.</summary>
    public Shape Shape { get; }
    /// <summary>Number of indices.</summary>
    public int Count => _values.Length;
    internal string Text { get; }

    /// <summary>Throws naming <paramref name="op"/> when an index lies outside [0, <paramref name="extent"/>).</summary>
    internal void Check(int extent, string op, int axis, Shape of)
    {
        foreach (var i in _values)
            if (i < 0 || i >= extent)
                throw new ShapeException($"{op}: index {i} is outside axis {axis} (extent {extent}) of {of}.");
    }
}

/// <summary>
/// np.take: result = x[..., indices, ...] along <see cref="Axis"/>; the axis is replaced by the indices' shape.
/// Linear; its VJP scatter-adds (<see cref="ScatterAddOp"/>), so repeated indices accumulate.
/// </summary>
public sealed class TakeOp(int axis, IndexList indices) : Primitive
{
    /// <summary>The (non-negative) axis indexed.</summary>
    public int Axis { get; } = axis;
    /// <summary>The indices.</summary>
    public IndexList Indices { get; } = indices;
    /// <inheritdoc/>
    public override string Name => "take";
    /// <inheritdoc/>
    public override string Attributes => $"axis={Axis}, {Indices.Text}";
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.Linear;

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        if (Axis < 0 || Axis >= s.Rank) throw new ShapeException($"take: axis {Axis} is out of range for shape {s}.");
        Indices.Check(s[Axis], "take", Axis, s);
        return new Shape([.. s.Take(Axis), .. Indices.Shape, .. s.Skip(Axis + 1)]);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => AxisKernels.Take(inputs[0], Axis, Indices.Raw, output);
    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) => [Fn.Apply(new ScatterAddOp(Axis, Indices, node.Inputs[0].Shape[Axis]), ct)];
    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) => a.MapLinear(x => Fn.Apply(new TakeOp(Axis + a.PrefixRank, Indices), x));
}

/// <summary>
/// The adjoint of <see cref="TakeOp"/>: zeros of extent <see cref="Extent"/> along <see cref="Axis"/>, with slice j
/// of the input (whose axes at Axis… are the indices' shape) added at position indices[j]. Linear.
/// </summary>
public sealed class ScatterAddOp(int axis, IndexList indices, int extent) : Primitive
{
    /// <summary>The (non-negative) axis scattered along.</summary>
    public int Axis { get; } = axis;
    /// <summary>The indices.</summary>
    public IndexList Indices { get; } = indices;
    /// <summary>The extent of the result along <see cref="Axis"/>.</summary>
    public int Extent { get; } = extent;
    /// <inheritdoc/>
    public override string Name => "scatter_add";
    /// <inheritdoc/>
    public override string Attributes => $"axis={Axis}, {Indices.Text}, extent={Extent}";
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.Linear;

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        int r = Indices.Shape.Rank;
        if (Axis < 0 || Axis + r > s.Rank || !s.Skip(Axis).Take(r).SequenceEqual(Indices.Shape))
            throw new ShapeException($"scatter_add: updates {s} must have the indices' shape {Indices.Shape} at axis {Axis}.");
        var result = new Shape([.. s.Take(Axis), Extent, .. s.Skip(Axis + r)]);
        Indices.Check(Extent, "scatter_add", Axis, result);
        return result;
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => AxisKernels.ScatterAdd(inputs[0], Axis, Indices.Raw, output);
    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) => [Fn.Apply(new TakeOp(Axis, Indices), ct)];
    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) => a.MapLinear(x => Fn.Apply(new ScatterAddOp(Axis + a.PrefixRank, Indices, Extent), x));
}
