using System.Numerics.Tensors;
using JetSharp.Backend;

namespace JetSharp.CodeGen;

/// <summary>
/// The vectorised kernels that code compiled by <see cref="EmittedGraph"/> calls on contiguous runs of its
/// flat arrays: the same functions as the interpreter's elementwise kernels (TensorPrimitives for the
/// arithmetic, exp, log, sin, cos, sqrt and sigmoid; the backend's own tanh, softplus and step), on spans,
/// single-threaded and allocation-free (large loops are cut into ranges on the runtime's workers by
/// <see cref="ForRanges"/>). Exported standalone code never calls these (it writes plain loops).
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
    /// Elements per step of the ranges that <see cref="ForRanges"/> cuts a run of elements into: a multiple of every vector
    /// width (so a range's vector loop covers whole vectors) and of the interpreter's 1024-element chunks (those of its
    /// tanh), so a range computes each element exactly as one call over the whole run does.
    /// </summary>
    public const int RangeGrain = 1024;

    /// <summary>
    /// Runs <paramref name="body"/>(from, to) over [0, <paramref name="length"/>) cut into contiguous ranges, in parallel on
    /// the runtime's workers (the GEMM's threads, as the interpreter's elementwise kernels) when <paramref name="work"/>
    /// (the elements the whole loop touches) reaches the interpreter's threshold: <see cref="Parallelism.ComputeThreshold"/>
    /// for transcendental functions, the fused kernels' 2¹⁶ elements for arithmetic. Every cut but the last end lies at a
    /// multiple of <paramref name="grain"/>, and the last range is at least <paramref name="grain"/> long, so when
    /// <paramref name="grain"/> is <see cref="RangeGrain"/> each element gets the same vector or scalar code as in one pass
    /// over [0, <paramref name="length"/>). Below the threshold, on one core, or with fewer than two grains, one call
    /// body(0, length) on the calling thread. A range that throws ends the call with its exception (the first one) after the
    /// ranges already started have finished.
    /// </summary>
    public static void ForRanges(int length, int grain, long work, bool computeBound, Action<int, int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfLessThan(grain, 1);
        int pieces = RangeCount(length, grain, work, computeBound);
        if (pieces <= 1)
        {
            if (length > 0) body(0, length);
            return;
        }
        Parallelism.Run(pieces, p => body(RangeStart(length, grain, pieces, p), RangeStart(length, grain, pieces, p + 1)));
    }

    /// <summary>The number of ranges <see cref="ForRanges"/> cuts [0, <paramref name="length"/>) into on this machine (1: no fork).</summary>
    public static int RangeCount(int length, int grain, long work, bool computeBound)
    {
        if (Environment.ProcessorCount <= 1 || work < Threshold(computeBound)) return 1;
        return Math.Max(1, Parallelism.Ranges(length / Math.Max(1, grain)));
    }

    /// <summary>
    /// Start of range <paramref name="p"/> of <paramref name="pieces"/> (≤ length / grain) over [0, <paramref name="length"/>):
    /// a multiple of <paramref name="grain"/>, strictly increasing in p; <paramref name="length"/> for p = pieces.
    /// </summary>
    public static int RangeStart(int length, int grain, int pieces, int p) =>
        p >= pieces ? length : (int)Parallelism.Start(length / grain, pieces, p) * grain;

    /// <summary>
    /// Work (elements) from which an emitted loop forks: the interpreter's thresholds, with its test scale
    /// (arithmetic: <c>FusedKernel.ParallelThreshold</c> = 2¹⁶ = <see cref="Parallelism.StreamingThreshold"/> / 16).
    /// </summary>
    internal static long Threshold(bool computeBound) =>
        computeBound ? Parallelism.Threshold(true) : Math.Max(2, Parallelism.Threshold(false) / 16);

    /// <summary>The same thresholds unscaled, for the emitter: smaller loops are written without <see cref="ForRanges"/>.</summary>
    internal static long EmitThreshold(bool computeBound) =>
        computeBound ? Parallelism.ComputeThreshold : FusedKernel.ParallelThreshold;

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
