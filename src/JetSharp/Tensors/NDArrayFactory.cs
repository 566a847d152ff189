namespace JetSharp.Tensors;

public abstract partial class NDArray
{
    /// <summary>A zero-filled tensor.</summary>
    public static NDArray<T> Zeros<T>(Shape shape) where T : unmanaged, IFloatingPointIeee754<T> => new(shape);

    /// <summary>A tensor filled with ones.</summary>
    public static NDArray<T> Ones<T>(Shape shape) where T : unmanaged, IFloatingPointIeee754<T> => Full(shape, T.One);

    /// <summary>A tensor with every element equal to <paramref name="value"/>.</summary>
    public static NDArray<T> Full<T>(Shape shape, T value) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = new NDArray<T>(shape);
        t.Data.AsSpan().Fill(value);
        return t;
    }

    /// <summary>A rank-0 tensor holding <paramref name="value"/>.</summary>
    public static NDArray<T> Scalar<T>(T value) where T : unmanaged, IFloatingPointIeee754<T> => new(Shape.Scalar, [value]);

    /// <summary>The n×n identity matrix.</summary>
    public static NDArray<T> Identity<T>(int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, $"NDArray.Identity: the size must be ≥ 0, got {n}.");
        var t = new NDArray<T>(new Shape(n, n));
        for (int i = 0; i < n; i++) t.Data[i * n + i] = T.One;
        return t;
    }

    /// <summary>A tensor over a copy of <paramref name="data"/> with the given shape.</summary>
    public static NDArray<T> FromArray<T>(T[] data, Shape shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(data);
        return new(shape, (T[])data.Clone());
    }

    /// <summary>A vector over a copy of <paramref name="data"/>.</summary>
    public static NDArray<T> FromArray<T>(T[] data) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(data);
        return new(new Shape(data.Length), (T[])data.Clone());
    }

    /// <summary>A matrix with the rows and columns of <paramref name="data"/>.</summary>
    public static NDArray<T> FromArray<T>(T[,] data) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(data);
        int r = data.GetLength(0), c = data.GetLength(1);
        var t = new NDArray<T>(new Shape(r, c));
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++) t.Data[i * c + j] = data[i, j];
        return t;
    }

    /// <summary>Seeded samples; see <see cref="SeededRandom"/> for the generator.</summary>
    public static NDArray<T> Random<T>(Shape shape, Distribution distribution, long seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = new NDArray<T>(shape);
        SeededRandom.Fill<T>(t.Data, distribution, seed);
        return t;
    }

    /// <summary>Seeded standard-normal samples.</summary>
    public static NDArray<T> RandomNormal<T>(Shape shape, long seed) where T : unmanaged, IFloatingPointIeee754<T> =>
        Random<T>(shape, Distribution.Normal, seed);

    /// <summary>Seeded samples uniform on [low, high); both bounds finite, low &lt; high.</summary>
    public static NDArray<T> RandomUniform<T>(Shape shape, long seed, double low = 0, double high = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!double.IsFinite(low)) throw new ArgumentOutOfRangeException(nameof(low), low, $"NDArray.RandomUniform: the lower bound must be finite, got {low}.");
        if (!double.IsFinite(high) || !(high > low))
            throw new ArgumentOutOfRangeException(nameof(high), high, $"NDArray.RandomUniform: the upper bound must be finite and above the lower bound {low}, got {high}.");
        var t = new NDArray<T>(shape);
        for (int i = 0; i < t.Size; i++) t.Data[i] = T.CreateTruncating(low + (high - low) * SeededRandom.Uniform(seed, i));
        return t;
    }

    /// <summary>Seeded ±1 samples.</summary>
    public static NDArray<T> RandomRademacher<T>(Shape shape, long seed) where T : unmanaged, IFloatingPointIeee754<T> =>
        Random<T>(shape, Distribution.Rademacher, seed);
}
