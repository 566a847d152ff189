namespace JetSharp.Tensors;

/// <summary>
/// A dense, contiguous, row-major tensor. <see cref="NDArray{T}"/> holds the elements; this base
/// class lets graphs and executors handle tensors of either dtype, and holds the factory methods.
/// </summary>
public abstract partial class NDArray
{
    /// <summary>Sets the shape; only <see cref="NDArray{T}"/> derives from this class.</summary>
    protected NDArray(Shape shape) { Shape = shape; }

    /// <summary>The extents (row-major).</summary>
    public Shape Shape { get; }
    /// <summary>The element type.</summary>
    public abstract DType DType { get; }
    /// <summary>Number of elements (1 for a scalar).</summary>
    public int Size => Shape.Size;
    /// <summary>Number of axes (0 for a scalar).</summary>
    public int Rank => Shape.Rank;
    /// <summary>Size of the element storage in bytes.</summary>
    public long Bytes => (long)Size * DType.SizeInBytes();

    /// <summary>Element at a flat row-major index (0 ≤ index &lt; <see cref="Size"/>), widened to double.</summary>
    public abstract double GetDouble(int flatIndex);

    /// <summary>A copy converted to element type <typeparamref name="TOut"/>.</summary>
    public abstract NDArray<TOut> To<TOut>() where TOut : unmanaged, IFloatingPointIeee754<TOut>;
}

/// <summary>A dense row-major tensor of <c>float</c> or <c>double</c>.</summary>
public sealed class NDArray<T> : NDArray where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Wraps <paramref name="data"/> (not copied); its length must equal the shape's size.</summary>
    public NDArray(Shape shape, T[] data) : base(shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Length != shape.Size)
            throw new ArgumentException($"NDArray: {data.Length} elements cannot fill shape {shape} ({shape.Size} elements).");
        Data = data;
    }

    /// <summary>A zero-filled tensor (from 4 MiB on, asked onto transparent huge pages where Linux offers them).</summary>
    public NDArray(Shape shape) : this(shape, LargeArrays.Zeroed<T>(shape.Size)) { }

    /// <summary>The elements in row-major order.</summary>
    public T[] Data { get; }

    /// <summary>The elements in row-major order, as a span over <see cref="Data"/>.</summary>
    public Span<T> Span => Data;

    /// <inheritdoc/>
    public override DType DType => DTypes.Of<T>();

    /// <summary>The element at a multi-index, one index per axis.</summary>
    /// <exception cref="ArgumentException">The number of indices differs from <see cref="NDArray.Rank"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside its axis.</exception>
    public T this[params int[] index]
    {
        get => Data[FlatIndex(index)];
        set => Data[FlatIndex(index)] = value;
    }

    private int FlatIndex(int[] index)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (index.Length != Rank)
            throw new ArgumentException($"NDArray index: {index.Length} indices for a tensor of shape {Shape}.");
        int flat = 0;
        for (int i = 0; i < index.Length; i++)
        {
            if ((uint)index[i] >= (uint)Shape[i])
                throw new ArgumentOutOfRangeException(nameof(index), $"NDArray index: [{string.Join(", ", index)}] is outside shape {Shape}.");
            flat = flat * Shape[i] + index[i];
        }
        return flat;
    }

    /// <inheritdoc/>
    public override double GetDouble(int flatIndex) => (uint)flatIndex < (uint)Data.Length ? double.CreateTruncating(Data[flatIndex])
        : throw new ArgumentOutOfRangeException(nameof(flatIndex), flatIndex, $"NDArray.GetDouble: flat index {flatIndex} is outside shape {Shape} ({Size} elements).");

    /// <inheritdoc/>
    public override NDArray<TOut> To<TOut>()
    {
        var r = new NDArray<TOut>(Shape);
        for (int i = 0; i < Data.Length; i++) r.Data[i] = TOut.CreateTruncating(Data[i]);
        return r;
    }

    /// <summary>The single element of a tensor with one element.</summary>
    public T ToScalar()
    {
        if (Size != 1) throw new InvalidOperationException($"ToScalar: tensor of shape {Shape} has {Size} elements, not 1.");
        return Data[0];
    }

    /// <summary>A tensor with the same elements and a new shape of the same size (the data is shared).</summary>
    public NDArray<T> Reshape(Shape shape)
    {
        if (shape.Size != Size)
            throw new ArgumentException($"Reshape: cannot reshape {Shape} ({Size} elements) to {shape} ({shape.Size} elements).");
        return new NDArray<T>(shape, Data);
    }

    /// <summary>A tensor with the same shape and a copy of the elements.</summary>
    public NDArray<T> Clone() => new(Shape, (T[])Data.Clone());

    /// <summary>The elements as a flat array (a copy).</summary>
    public T[] ToArray() => (T[])Data.Clone();

    /// <summary>
    /// The dtype, shape and elements (nested brackets, 6 significant digits); tensors over 64 elements
    /// show only their first 6.
    /// </summary>
    public override string ToString() => NDArrayFormatter.Format(this);
}
