using System.Collections;
using System.Runtime.CompilerServices;

namespace JetSharp.Tensors;

/// <summary>
/// The extents of a dense row-major tensor. Immutable; equality is by value.
/// Broadcasting follows NumPy: shapes are aligned on the right, and an axis of size 1
/// stretches to match the other operand.
/// A collection expression builds one wherever a shape is taken: <c>NDArray.Zeros&lt;double&gt;([16, 50])</c>.
/// </summary>
[CollectionBuilder(typeof(Shape), nameof(Create))]
public readonly struct Shape : IEquatable<Shape>, IReadOnlyList<int>
{
    private readonly int[]? _dims;

    /// <summary>A shape with the given extents (copied), outermost axis first.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="dims"/> is null.</exception>
    /// <exception cref="ArgumentException">An extent is negative.</exception>
    public Shape(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        foreach (var d in dims)
            if (d < 0) throw new ArgumentException($"Shape: negative extent in [{string.Join(", ", dims)}].");
        _dims = (int[])dims.Clone();
    }

    /// <summary>A shape with the given extents (copied): what a collection expression such as <c>[16, 50]</c> calls.</summary>
    /// <exception cref="ArgumentException">An extent is negative.</exception>
    public static Shape Create(ReadOnlySpan<int> dims) => new(dims.ToArray());

    /// <summary>The rank-0 shape <c>[]</c> of a scalar (one element).</summary>
    public static Shape Scalar => new([]);

    /// <summary>Converts an array of extents to a shape, as <see cref="Shape(int[])"/>.</summary>
    public static implicit operator Shape(int[] dims) => new(dims);

    private int[] Dims => _dims ?? [];

    /// <summary>Number of axes (0 for a scalar).</summary>
    public int Rank => Dims.Length;
    /// <summary>Number of axes, the same as <see cref="Rank"/> (the <see cref="IReadOnlyCollection{T}"/> count, not the element count; see <see cref="Size"/>).</summary>
    public int Count => Dims.Length;
    /// <summary>The extent of axis <paramref name="axis"/> (0-based; <c>^1</c> is the last axis).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="axis"/> is not in 0..Rank−1 (negative axes are not accepted here; see <see cref="Axis"/>).</exception>
    public int this[int axis] => (uint)axis < (uint)Dims.Length ? Dims[axis] : throw AxisOutOfRange(axis);

    private ArgumentOutOfRangeException AxisOutOfRange(int axis) =>
        new(nameof(axis), axis, $"Shape: axis {axis} is out of range for shape {this} (rank {Rank}).");

    /// <summary>Number of elements (product of extents; 1 for a scalar).</summary>
    public int Size
    {
        get
        {
            long n = 1;
            foreach (var d in Dims) n *= d;
            if (n > int.MaxValue) throw new InvalidOperationException($"Shape {this} has more than 2^31 elements.");
            return (int)n;
        }
    }

    /// <summary>The extents as a new array.</summary>
    public int[] ToArray() => (int[])Dims.Clone();

    /// <summary>Row-major strides in elements.</summary>
    public int[] Strides()
    {
        var s = new int[Rank];
        int acc = 1;
        for (int i = Rank - 1; i >= 0; i--) { s[i] = acc; acc *= Dims[i]; }
        return s;
    }

    /// <summary>Normalises a possibly negative axis; throws naming <paramref name="op"/> when out of range.</summary>
    public int Axis(int axis, string op)
    {
        int a = axis < 0 ? axis + Rank : axis;
        if (a < 0 || a >= Rank)
            throw new ShapeException($"{op}: axis {axis} is out of range for a tensor of shape {this}.");
        return a;
    }

    /// <summary>The NumPy broadcast of two shapes, or an exception naming <paramref name="op"/> and both shapes.</summary>
    public static Shape Broadcast(Shape a, Shape b, string op) =>
        TryBroadcast(a, b, out var r) ? r : throw new ShapeException($"{op}: shapes {a} and {b} cannot be broadcast together.");

    /// <summary>The NumPy broadcast of two shapes, or false when they are incompatible.</summary>
    public static bool TryBroadcast(Shape a, Shape b, out Shape result)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        var r = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Rank ? 1 : a[i - (rank - a.Rank)];
            int db = i < rank - b.Rank ? 1 : b[i - (rank - b.Rank)];
            if (da != db && da != 1 && db != 1) { result = default; return false; }
            r[i] = da == 1 ? db : da;
        }
        result = new Shape(r);
        return true;
    }

    /// <summary>True when a tensor of this shape broadcasts to <paramref name="target"/> without changing target.</summary>
    public bool BroadcastsTo(Shape target)
    {
        if (Rank > target.Rank) return false;
        int off = target.Rank - Rank;
        for (int i = 0; i < Rank; i++)
            if (Dims[i] != 1 && Dims[i] != target[i + off]) return false;
        return true;
    }

    /// <summary>This shape with the extents <paramref name="leading"/> added in front.</summary>
    public Shape Prepend(params int[] leading)
    {
        ArgumentNullException.ThrowIfNull(leading);
        return new([.. leading, .. Dims]);
    }

    /// <summary>This shape without its first <paramref name="n"/> axes (0 ≤ n ≤ Rank).</summary>
    public Shape Skip(int n) => (uint)n <= (uint)Rank ? new(Dims[n..])
        : throw new ArgumentOutOfRangeException(nameof(n), n, $"Shape.Skip: cannot skip {n} axes of shape {this} (rank {Rank}).");

    /// <summary>True when both shapes have the same extents in the same order.</summary>
    public bool Equals(Shape other) => Dims.AsSpan().SequenceEqual(other.Dims);
    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in Dims) h.Add(d);
        return h.ToHashCode();
    }
    /// <summary>Value equality of the extents.</summary>
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    /// <summary>Value inequality of the extents.</summary>
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    /// <summary>Enumerates the extents, outermost axis first.</summary>
    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)Dims).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The extents in brackets, e.g. <c>[2, 3]</c>; a scalar prints as <c>[]</c>.</summary>
    public override string ToString() => "[" + string.Join(", ", Dims) + "]";
}
