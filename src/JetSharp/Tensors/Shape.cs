using System.Collections;

namespace JetSharp.Tensors;

/// <summary>
/// The extents of a dense row-major tensor. Immutable; equality is by value.
/// Broadcasting follows NumPy: shapes are aligned on the right, and an axis of size 1
/// stretches to match the other operand.
/// </summary>
public readonly struct Shape : IEquatable<Shape>, IReadOnlyList<int>
{
    private readonly int[]? _dims;

    public Shape(params int[] dims)
    {
        foreach (var d in dims)
            if (d < 0) throw new ArgumentException($"Shape: negative extent in [{string.Join(", ", dims)}].");
        _dims = (int[])dims.Clone();
    }

    public static Shape Scalar => new([]);

    public static implicit operator Shape(int[] dims) => new(dims);

    private int[] Dims => _dims ?? [];

    public int Rank => Dims.Length;
    public int Count => Dims.Length;
    public int this[int axis] => Dims[axis];

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

    public Shape Prepend(params int[] leading) => new([.. leading, .. Dims]);

    public Shape Skip(int n) => new(Dims[n..]);

    public bool Equals(Shape other) => Dims.AsSpan().SequenceEqual(other.Dims);
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in Dims) h.Add(d);
        return h.ToHashCode();
    }
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)Dims).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => "[" + string.Join(", ", Dims) + "]";
}
