// System.Numerics.Tensors.Tensor<T> is [Experimental("SYSLIB5001")] in .NET 10; the interop is
// the only place JetSharp touches it, so the diagnostic is silenced here and nowhere else.
#pragma warning disable SYSLIB5001

using Sn = System.Numerics.Tensors;

namespace JetSharp.Tensors;

/// <summary>
/// Conversions between <see cref="NDArray{T}"/> and System.Numerics.Tensors, and to .NET arrays.
/// Every conversion copies: the two libraries never share storage, so neither can observe the
/// other's later writes.
/// </summary>
public static class SystemTensorInterop
{
    /// <summary>
    /// A dense System.Numerics.Tensors tensor with the same shape and a copy of the elements.
    /// System.Numerics.Tensors has no rank-0 tensors (empty lengths give an empty vector), so a
    /// scalar becomes a one-element vector of shape [1].
    /// </summary>
    public static Sn.Tensor<T> ToSystemTensor<T>(this NDArray<T> tensor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Rank == 0) return Sn.Tensor.Create([tensor.Data[0]], [1]);
        var lengths = new nint[tensor.Rank];
        for (int i = 0; i < lengths.Length; i++) lengths[i] = tensor.Shape[i];
        return Sn.Tensor.Create((T[])tensor.Data.Clone(), lengths);
    }

    /// <summary>A JetSharp tensor with the same shape and elements (row-major, whatever the source strides).</summary>
    public static NDArray<T> ToJetSharp<T>(this Sn.Tensor<T> tensor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.AsReadOnlyTensorSpan().ToJetSharp();
    }

    /// <summary>A JetSharp tensor with the same shape and elements (row-major, whatever the source strides).</summary>
    public static NDArray<T> ToJetSharp<T>(this Sn.ReadOnlyTensorSpan<T> span)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var lengths = span.Lengths;
        if (lengths.Length == 0) return new NDArray<T>(new Shape(0));
        var dims = new int[lengths.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (lengths[i] > int.MaxValue)
                throw new ArgumentException($"ToJetSharp: extent {lengths[i]} on axis {i} exceeds the largest JetSharp extent.");
            dims[i] = (int)lengths[i];
        }
        var result = new NDArray<T>(new Shape(dims));
        span.FlattenTo(result.Data);
        return result;
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
}
