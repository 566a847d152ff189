using Sn = System.Numerics.Tensors;

namespace JetSharp.Tensors;

/// <summary>
/// Interop between <see cref="NDArray{T}"/> and System.Numerics.Tensors (whose tensor types are stable,
/// not experimental, in .NET 10), and conversion to .NET arrays. Two kinds of method, named for what they do:
/// <list type="bullet">
/// <item><b>Views</b> (<c>As…</c>): <see cref="AsTensorSpan{T}"/> and <see cref="AsReadOnlyTensorSpan{T}"/> wrap the
///   array's own storage without copying, like <see cref="NDArray{T}.Span"/>; a write through the view changes the
///   array and the view sees later writes to it. Use them to hand JetSharp data to System.Numerics.Tensors
///   operations (e.g. <c>Tensor.Add(x, y, destination)</c>) or to fill an array in place.</item>
/// <item><b>Copies</b> (<c>To…</c>, <see cref="CopyFrom{T}"/>): the result and the source never share storage.</item>
/// </list>
/// System.Numerics.Tensors has no rank-0 tensors (empty lengths give an empty vector), so a scalar is seen
/// as, or becomes, a one-element vector of shape [1].
/// </summary>
public static class SystemTensorInterop
{
    /// <summary>A writable view of the elements with the array's shape (no copy; see the class remarks).</summary>
    public static Sn.TensorSpan<T> AsTensorSpan<T>(this NDArray<T> tensor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return new Sn.TensorSpan<T>(tensor.Data.AsSpan(), Lengths(tensor));
    }

    /// <summary>A read-only view of the elements with the array's shape (no copy; see the class remarks).</summary>
    public static Sn.ReadOnlyTensorSpan<T> AsReadOnlyTensorSpan<T>(this NDArray<T> tensor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return new Sn.ReadOnlyTensorSpan<T>(tensor.Data.AsSpan(), Lengths(tensor));
    }

    /// <summary>
    /// A dense System.Numerics.Tensors tensor with the same shape and a copy of the elements (a scalar
    /// becomes shape [1]).
    /// </summary>
    public static Sn.Tensor<T> ToSystemTensor<T>(this NDArray<T> tensor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return Sn.Tensor.Create((T[])tensor.Data.Clone(), Lengths(tensor));
    }

    /// <summary>A JetSharp tensor with the same shape and a copy of the elements (row-major, whatever the source strides).</summary>
    public static NDArray<T> ToJetSharp<T>(this Sn.Tensor<T> tensor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.AsReadOnlyTensorSpan().ToJetSharp();
    }

    /// <summary>A JetSharp tensor with the same shape and a copy of the elements (row-major, whatever the source strides).</summary>
    public static NDArray<T> ToJetSharp<T>(this Sn.ReadOnlyTensorSpan<T> span)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (span.Lengths.Length == 0) return new NDArray<T>(new Shape(0));
        var result = new NDArray<T>(ShapeOf(span.Lengths, "ToJetSharp"));
        span.FlattenTo(result.Data);
        return result;
    }

    /// <summary>
    /// Copies the elements of <paramref name="source"/> (row-major, whatever its strides) into
    /// <paramref name="destination"/>, which must have the same shape; nothing is allocated.
    /// </summary>
    /// <exception cref="ShapeException">The shapes differ.</exception>
    public static void CopyFrom<T>(this NDArray<T> destination, Sn.ReadOnlyTensorSpan<T> source)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(destination);
        var expected = Lengths(destination);
        if (!source.Lengths.SequenceEqual(expected))
            throw new ShapeException($"CopyFrom: a tensor span of lengths [{string.Join(", ", source.Lengths.ToArray())}] does not fit an array of shape {destination.Shape}.");
        source.FlattenTo(destination.Data);
    }

    /// <summary>The elements of a rank-2 tensor as a [rows, columns] array (a copy).</summary>
    public static T[,] ToArray2D<T>(this NDArray<T> tensor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Rank != 2)
            throw new InvalidOperationException($"ToArray2D: tensor of shape {tensor.Shape} is not rank 2.");
        int rows = tensor.Shape[0], cols = tensor.Shape[1];
        var result = new T[rows, cols];
        var src = tensor.Data;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) result[i, j] = src[i * cols + j];
        return result;
    }

    private static nint[] Lengths(NDArray tensor)
    {
        if (tensor.Rank == 0) return [1];
        var lengths = new nint[tensor.Rank];
        for (int i = 0; i < lengths.Length; i++) lengths[i] = tensor.Shape[i];
        return lengths;
    }

    private static Shape ShapeOf(ReadOnlySpan<nint> lengths, string op)
    {
        var dims = new int[lengths.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (lengths[i] > int.MaxValue)
                throw new ArgumentException($"{op}: extent {lengths[i]} on axis {i} exceeds the largest JetSharp extent.");
            dims[i] = (int)lengths[i];
        }
        return new Shape(dims);
    }
}
