using System.Numerics.Tensors;
using JetSharp.Backend;

namespace JetSharp.CodeGen;

/// <summary>
/// The vectorised kernels that code compiled by <see cref="EmittedGraph"/> calls on contiguous runs of its
/// flat arrays: the same functions as the interpreter's elementwise kernels (TensorPrimitives for the
/// arithmetic, exp, log, sin, cos, sqrt and sigmoid; the backend's own tanh, softplus and step), on spans,
/// single-threaded and allocation-free. Exported standalone code never calls these (it writes plain loops).
/// </summary>
public static class EmittedKernels
{
    /// <summary>r = a + b.</summary>
    public static void Add<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(a, b, r);
    /// <summary>r = a + b (b a scalar).</summary>
    public static void Add<T>(ReadOnlySpan<T> a, T b, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(a, b, r);
    /// <summary>r = a + b (a a scalar).</summary>
    public static void Add<T>(T a, ReadOnlySpan<T> b, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(b, a, r);
    /// <summary>r = a − b.</summary>
    public static void Subtract<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(a, b, r);
    /// <summary>r = a − b (b a scalar).</summary>
    public static void Subtract<T>(ReadOnlySpan<T> a, T b, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(a, b, r);
    /// <summary>r = a − b (a a scalar).</summary>
    public static void Subtract<T>(T a, ReadOnlySpan<T> b, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(a, b, r);
    /// <summary>r = a · b.</summary>
    public static void Multiply<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(a, b, r);
    /// <summary>r = a · b (b a scalar).</summary>
    public static void Multiply<T>(ReadOnlySpan<T> a, T b, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(a, b, r);
    /// <summary>r = a · b (a a scalar).</summary>
    public static void Multiply<T>(T a, ReadOnlySpan<T> b, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(b, a, r);
    /// <summary>r = a / b.</summary>
    public static void Divide<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(a, b, r);
    /// <summary>r = a / b (b a scalar; a true division, not a product with 1/b).</summary>
    public static void Divide<T>(ReadOnlySpan<T> a, T b, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(a, b, r);
    /// <summary>r = a / b (a a scalar).</summary>
    public static void Divide<T>(T a, ReadOnlySpan<T> b, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(a, b, r);

    /// <summary>r = op(x) for a unary function of <see cref="UnaryOp"/>, with the interpreter's kernels.</summary>
    public static void Unary<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.ApplyUnary(op, x, r);

    /// <summary>
    /// Row-major C = op(A)·op(B) for <paramref name="batch"/> products at the given element strides (0: the
    /// same matrix for every product), through the library's GEMM (<see cref="Gemm.MultiplyBatched{T}"/>).
    /// </summary>
    public static void MatMul<T>(int batch, bool transA, bool transB, int m, int n, int k,
        T[] a, int offA, long strideA, T[] b, int offB, long strideB, T[] c, int offC, long strideC)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Gemm.MultiplyBatched(batch, transA, transB, m, n, k, T.One, a, offA, transA ? m : k, strideA, b, offB, transB ? k : n, strideB,
            T.Zero, c, offC, n, strideC);
}
