using System.Threading;
using JetSharp.Backend;
using JetSharp.Ir;
using JetSharp.Tensors;

namespace JetSharp.Primitives;

/// <summary>
/// Integer indices along one axis, with the shape they are laid out in (a copy of the caller's array, so
/// later changes to it do not reach a graph). Primitives that carry the same list compare equal; a long
/// list is named by a unique id rather than spelled out. A <see cref="Sampled"/> list is instead drawn
/// afresh on every run, from its seed plus the run's <see cref="RunContext.SeedOffset"/>.
/// </summary>
public sealed class IndexList
{
    private static long _nextId;
    private readonly int[] _values;
    private readonly (int Count, bool WithReplacement, long Seed)? _sampler;
    private volatile Drawn? _lastDraw;          // a reference, so threads of one run read a whole draw or none

    private sealed record Drawn(long Offset, int[] Values);

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

    private IndexList(int count, int samples, bool withReplacement, long seed)
    {
        _values = [];
        _sampler = (count, withReplacement, seed);
        Shape = new Shape(samples);
        Text = $"sample({samples} of {count}, {(withReplacement ? "with" : "without")} replacement, seed {seed})";
    }

    /// <summary>
    /// <paramref name="samples"/> indices drawn uniformly from 0..<paramref name="count"/>−1, with or without
    /// replacement, anew on every run: the draw is a pure function of <paramref name="seed"/> + the run's
    /// <see cref="RunContext.SeedOffset"/> (<see cref="Draw"/>), so every primitive carrying this list sees the same
    /// indices within one run, and a training loop that advances the offset gets fresh ones each step.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The count or the number of samples is not positive, or more samples than the count without replacement.</exception>
    public static IndexList Sampled(int count, int samples, bool withReplacement, long seed)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "indices: a sampled list needs a positive count of candidates.");
        if (samples <= 0) throw new ArgumentOutOfRangeException(nameof(samples), samples, "indices: a sampled list needs a positive number of samples.");
        if (!withReplacement && samples > count)
            throw new ArgumentOutOfRangeException(nameof(samples), samples, $"indices: {samples} samples without replacement out of {count}.");
        return new IndexList(count, samples, withReplacement, seed);
    }

    /// <summary>True when the indices are drawn per run (<see cref="Sampled"/>).</summary>
    public bool IsSampled => _sampler is not null;

    /// <summary>The indices in row-major order (a copy).</summary>
    /// <exception cref="InvalidOperationException">The list is sampled: its values exist only within a run (<see cref="Resolve"/>).</exception>
    public int[] Values => IsSampled
        ? throw new InvalidOperationException($"indices: {Text} is drawn on every run; it has no fixed values.")
        : (int[])_values.Clone();

    /// <summary>The shape the indices are laid out in.</summary>
    public Shape Shape { get; }
    /// <summary>Number of indices.</summary>
    public int Count => Shape.Size is var n ? (int)n : 0;
    internal string Text { get; }

    /// <summary>The indices of a run: the fixed values, or the draw for the run's seed offset (shared by every primitive of the run).</summary>
    internal int[] Resolve(RunContext context)
    {
        if (_sampler is not { } s) return _values;
        if (_lastDraw is { } last && last.Offset == context.SeedOffset) return last.Values;
        var values = new int[Count];
        Draw(s.Count, s.WithReplacement, unchecked(s.Seed + context.SeedOffset), values);
        _lastDraw = new Drawn(context.SeedOffset, values);
        return values;
    }

    /// <summary>
    /// Fills <paramref name="indices"/> with uniform draws from 0..count−1 driven by the seeded stream
    /// (<see cref="SeededRandom.Uniform"/>(seed, s) for draw s): with replacement, independent draws; without, a partial
    /// Fisher–Yates shuffle that stores only the swapped slots (memory O(S), not O(count)).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">More indices than the count without replacement, or a count that is not positive.</exception>
    public static void Draw(int count, bool withReplacement, long seed, Span<int> indices)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "indices: nothing to draw from.");
        if (!withReplacement && indices.Length > count)
            throw new ArgumentOutOfRangeException(nameof(indices), $"indices: {indices.Length} draws without replacement out of {count}.");
        if (withReplacement)
        {
            for (int s = 0; s < indices.Length; s++) indices[s] = Math.Min(count - 1, (int)(SeededRandom.Uniform(seed, s) * count));
            return;
        }
        var swapped = new Dictionary<int, int>();
        for (int s = 0; s < indices.Length; s++)
        {
            int j = s + (int)(SeededRandom.Uniform(seed, s) * (count - s));
            int atJ = swapped.GetValueOrDefault(j, j), atS = swapped.GetValueOrDefault(s, s);
            swapped[j] = atS;
            indices[s] = atJ;
        }
    }

    /// <summary>Throws naming <paramref name="op"/> when an index lies outside [0, <paramref name="extent"/>).</summary>
    internal void Check(int extent, string op, int axis, Shape of)
    {
        if (_sampler is { } s)
        {
            if (s.Count > extent)
                throw new ShapeException($"{op}: {Text} draws indices up to {s.Count - 1}, outside axis {axis} (extent {extent}) of {of}.");
            return;
        }
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
    /// <summary>True for sampled indices (<see cref="IndexList.Sampled"/>): the result changes from run to run, so it is never folded or merged.</summary>
    public override bool IsRandom => Indices.IsSampled;
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
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => AxisKernels.Take(inputs[0], Axis, Indices.Resolve(context), output);
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
    /// <summary>True for sampled indices (<see cref="IndexList.Sampled"/>): the result changes from run to run, so it is never folded or merged.</summary>
    public override bool IsRandom => Indices.IsSampled;
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
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => AxisKernels.ScatterAdd(inputs[0], Axis, Indices.Resolve(context), output);
    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) => [Fn.Apply(new TakeOp(Axis, Indices), ct)];
    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) => a.MapLinear(x => Fn.Apply(new ScatterAddOp(Axis + a.PrefixRank, Indices, Extent), x));
}
