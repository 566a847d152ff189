using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace JetSharp.Backend;

/// <summary>
/// A register-tiled micro-kernel: computes one MR×NR tile of C from an MR-row sliver of A and a
/// packed NR-column sliver of B̃ over kc steps. Implementations are structs so that the driver,
/// which is generic over the kernel, gets MR/NR as JIT-time constants and inlines nothing it
/// should not (the kernels themselves are deliberately not inlined: they are large and hot).
/// </summary>
/// <remarks>
/// A is addressed as a[r*rsA + p*csA] (r = row within the sliver, p = step along k) rather than
/// through a fixed packed layout, so the same kernel serves a packed sliver (rsA = 1, csA = MR) and an
/// unpacked one (row-major A: rsA = lda, csA = 1; stored-transposed A: rsA = 1, csA = lda).
/// B̃ is always packed: kc rows of NR contiguous elements. C is written as
/// C = alpha·acc + beta·C, and when beta == 0 C is never read (NaN in C must not leak through).
/// The kernels (and the loops around them) are marked AggressiveOptimization: tier-0 code for them
/// runs ~25× slower, and a training loop's first few hundred milliseconds of small products would
/// otherwise be spent there before tiered compilation catches up.
/// </remarks>
internal unsafe interface IGemmKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    static abstract int MR { get; }
    static abstract int NR { get; }

    /// <summary>
    /// Full MR×NR tile. <paramref name="next"/>: the C tile written next (MR rows of NR elements, ldc apart), which the
    /// kernel prefetches into L1 while it computes, or null for none.
    /// </summary>
    static abstract void Full(int kc, T* a, nint rsA, nint csA, T* b, T* c, nint ldc, T alpha, T beta, T* next);

    /// <summary>MR × NR/2 tile over the first half of each B̃ row; used for narrow right-edge panels
    /// so that an n that is just past a multiple of NR does not pay for a whole zero-padded panel.</summary>
    static abstract void Half(int kc, T* a, nint rsA, nint csA, T* b, T* c, nint ldc, T alpha, T beta);

    /// <summary>Rows per <see cref="Dot"/> call (MR is a multiple of it); 0 when the kernel has no dot-product edge.</summary>
    static abstract int DotRows { get; }

    /// <summary>
    /// DotRows rows × <paramref name="cols"/> (1 or 2) columns of C as dot products along k, vectors running along k:
    /// for the last few columns of a right edge, where a vector across columns would be mostly padding. A must be
    /// stored with its k steps contiguous (csA = 1: a row-major A read in place); <paramref name="bT"/> holds the columns
    /// of B̃, each kc contiguous elements, <paramref name="ldbT"/> apart. <paramref name="rows"/> (1 … DotRows) limits
    /// the rows read and written (the bottom partial sliver); each element's sum does not depend on it. Writes exactly
    /// rows × cols scalars of C.
    /// </summary>
    static abstract void Dot(int kc, T* a, nint rsA, int rows, T* bT, nint ldbT, int cols, T* c, nint ldc, T alpha, T beta);

    /// <summary>Most rows per <see cref="Part"/> call; 0 when the kernel has no partial-row kernel.</summary>
    static abstract int PartRows { get; }

    /// <summary>
    /// <paramref name="rows"/> (1 … PartRows) rows × NR columns of C, each element summed exactly as <see cref="Full"/>
    /// sums it (so a row's bits do not depend on which kernel computed it): for the bottom sliver of a product whose M
    /// leaves only a few rows past the last full sliver (M = 100 with 12-row slivers: 4), which the full kernel would
    /// compute padded to MR rows. Reads only rows 0 … rows − 1 of A and writes only those rows of C.
    /// </summary>
    static abstract void Part(int kc, T* a, nint rsA, nint csA, int rows, T* b, T* c, nint ldc, T alpha, T beta);

    /// <summary>
    /// Whether the last few columns of a right edge past the half panel, for a packed A, take <see cref="GemmColumnEdge"/>
    /// (vectors along M): MR rows that fit one or two 512-bit vectors, on hardware with AVX-512 (its masked loads read a
    /// sliver's MR rows and nothing past them; where Vector512 is emulated the half panel keeps the edge).
    /// </summary>
    static abstract bool ColumnEdge { get; }
}

/// <summary>Element-type dispatch for fused multiply-add; the typeof checks fold away at JIT time.</summary>
internal static unsafe class Simd
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Fma<T>(Vector512<T> x, Vector512<T> y, Vector512<T> acc)
    {
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), acc.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector512.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), acc.AsDouble()).As<double, T>();
        throw new NotSupportedException();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Fma<T>(Vector256<T> x, Vector256<T> y, Vector256<T> acc)
    {
        if (typeof(T) == typeof(float))
            return Vector256.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), acc.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector256.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), acc.AsDouble()).As<double, T>();
        throw new NotSupportedException();
    }

    /// <summary>A mask of lanes 0 … count − 1 (all bits set there, zero elsewhere), for <see cref="MaskLoad{T}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> FirstLanes<T>(int count) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).As<int, T>();
        if (typeof(T) == typeof(double)) return Vector512.LessThan(Vector512<long>.Indices, Vector512.Create((long)count)).As<long, T>();
        throw new NotSupportedException();
    }

    /// <summary>
    /// The lanes of <paramref name="mask"/> loaded from <paramref name="p"/>, zero elsewhere: a masked AVX-512 load, whose
    /// masked-out lanes read no memory (faults suppressed).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> MaskLoad<T>(T* p, Vector512<T> mask) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Avx512F.MaskLoad((float*)p, mask.AsSingle(), Vector512<float>.Zero).As<float, T>();
        if (typeof(T) == typeof(double)) return Avx512F.MaskLoad((double*)p, mask.AsDouble(), Vector512<double>.Zero).As<double, T>();
        throw new NotSupportedException();
    }

    /// <summary>One element of C as the vector <c>Put</c>s write it: alpha·acc, then + beta·C fused; C not read when beta = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PutScalar<T>(T* dst, T acc, T alpha, T beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T r = acc * alpha;
        *dst = beta == T.Zero ? r : T.FusedMultiplyAdd(*dst, beta, r);
    }

    /// <summary>
    /// Stores a row of a tile: alpha·acc, then fma(C, beta, ·) when C is read. <paramref name="scale"/> false (alpha = 1)
    /// skips the multiplication, which changes no bit (acc·1 = acc) and saves the FMA pipes one operation per vector of
    /// the tile: a 12×32 float32 tile at K = 50 spends 600 cycles on its FMAs and 12 on those multiplications.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Put<T>(T* dst, Vector512<T> acc, Vector512<T> alpha, Vector512<T> beta, bool readC, bool scale)
        where T : unmanaged
    {
        Vector512<T> r = scale ? acc * alpha : acc;
        if (readC) r = Fma(Vector512.Load(dst), beta, r);
        Vector512.Store(r, dst);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Put<T>(T* dst, Vector256<T> acc, Vector256<T> alpha, Vector256<T> beta, bool readC, bool scale)
        where T : unmanaged
    {
        Vector256<T> r = scale ? acc * alpha : acc;
        if (readC) r = Fma(Vector256.Load(dst), beta, r);
        Vector256.Store(r, dst);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Put<T>(T* dst, Vector<T> acc, Vector<T> alpha, Vector<T> beta, bool readC, bool scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector<T> r = scale ? acc * alpha : acc;
        if (readC) r += Vector.Load(dst) * beta;
        Vector.Store(r, dst);
    }
}

/// <summary>
/// AVX-512: 12 rows × 2 zmm (32 floats / 16 doubles). 24 accumulators, 2 B̃ vectors and a broadcast take 27 of the
/// 32 registers, so the JIT keeps everything in registers; per k step 14 loads feed 24 FMAs (8 rows: 10 for 16), which
/// leaves more load and L2/L3 bandwidth for streaming B̃ and covers the FMA latency×throughput product (4 cycles × 2 pipes) three times.
/// </summary>
internal unsafe struct Vector512Kernel<T> : IGemmKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int MR => 12;
    public static int NR => 2 * Vector512<T>.Count;
    public static int DotRows => 4;
    public static int PartRows => 4;
    public static bool ColumnEdge => Avx512F.IsSupported;

    public static void Dot(int kc, T* a, nint rsA, int rows, T* bT, nint ldbT, int cols, T* c, nint ldc, T alpha, T beta)
        => GemmDot.Rows4<T>(kc, a, rsA, rows, bT, ldbT, cols, c, ldc, alpha, beta);

    public static void Part(int kc, T* a, nint rsA, nint csA, int rows, T* b, T* c, nint ldc, T alpha, T beta)
        => GemmPart.Rows4<T>(kc, a, rsA, csA, rows, b, c, ldc, alpha, beta);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Full(int kc, T* a, nint rsA, nint csA, T* b, T* c, nint ldc, T alpha, T beta, T* next)
    {
        nint w = Vector512<T>.Count;
        // Rows 4..7 and 8..11 are addressed from second and third base pointers so each broadcast is a plain
        // [base + index*scale] operand with no per-iteration address arithmetic.
        T* a4 = a + 4 * rsA, a8 = a + 8 * rsA;
        nint r2 = 2 * rsA, r3 = 3 * rsA;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<T> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<T> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default, c70 = default, c71 = default;
        Vector512<T> c80 = default, c81 = default, c90 = default, c91 = default;
        Vector512<T> ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        // The next C tile: one row prefetched per k step (see GemmPrefetch.TileRow), the rest after a loop shorter than MR.
        int pfRows = next == null ? 0 : Math.Min(MR, kc);
        byte* pf = (byte*)next;
        for (int p = 0; p < kc; p++)
        {
            if (p < pfRows) { GemmPrefetch.TileRow(pf, NR * sizeof(T)); pf += ldc * sizeof(T); }
            Vector512<T> b0 = Vector512.Load(b);
            Vector512<T> b1 = Vector512.Load(b + w);
            Vector512<T> x = Vector512.Create(a[0]);
            c00 = Simd.Fma(x, b0, c00); c01 = Simd.Fma(x, b1, c01);
            x = Vector512.Create(a[rsA]);
            c10 = Simd.Fma(x, b0, c10); c11 = Simd.Fma(x, b1, c11);
            x = Vector512.Create(a[r2]);
            c20 = Simd.Fma(x, b0, c20); c21 = Simd.Fma(x, b1, c21);
            x = Vector512.Create(a[r3]);
            c30 = Simd.Fma(x, b0, c30); c31 = Simd.Fma(x, b1, c31);
            x = Vector512.Create(a4[0]);
            c40 = Simd.Fma(x, b0, c40); c41 = Simd.Fma(x, b1, c41);
            x = Vector512.Create(a4[rsA]);
            c50 = Simd.Fma(x, b0, c50); c51 = Simd.Fma(x, b1, c51);
            x = Vector512.Create(a4[r2]);
            c60 = Simd.Fma(x, b0, c60); c61 = Simd.Fma(x, b1, c61);
            x = Vector512.Create(a4[r3]);
            c70 = Simd.Fma(x, b0, c70); c71 = Simd.Fma(x, b1, c71);
            x = Vector512.Create(a8[0]);
            c80 = Simd.Fma(x, b0, c80); c81 = Simd.Fma(x, b1, c81);
            x = Vector512.Create(a8[rsA]);
            c90 = Simd.Fma(x, b0, c90); c91 = Simd.Fma(x, b1, c91);
            x = Vector512.Create(a8[r2]);
            ca0 = Simd.Fma(x, b0, ca0); ca1 = Simd.Fma(x, b1, ca1);
            x = Vector512.Create(a8[r3]);
            cb0 = Simd.Fma(x, b0, cb0); cb1 = Simd.Fma(x, b1, cb1);
            a += csA; a4 += csA; a8 += csA; b += 2 * w;
        }
        if (next != null && kc < MR) GemmPrefetch.Tile(next + kc * ldc, ldc, MR - kc, NR * sizeof(T));

        Vector512<T> va = Vector512.Create(alpha), vb = Vector512.Create(beta);
        bool readC = beta != T.Zero, scale = alpha != T.One;
        Simd.Put(c, c00, va, vb, readC, scale); Simd.Put(c + w, c01, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c10, va, vb, readC, scale); Simd.Put(c + w, c11, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c20, va, vb, readC, scale); Simd.Put(c + w, c21, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c30, va, vb, readC, scale); Simd.Put(c + w, c31, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c40, va, vb, readC, scale); Simd.Put(c + w, c41, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c50, va, vb, readC, scale); Simd.Put(c + w, c51, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c60, va, vb, readC, scale); Simd.Put(c + w, c61, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c70, va, vb, readC, scale); Simd.Put(c + w, c71, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c80, va, vb, readC, scale); Simd.Put(c + w, c81, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c90, va, vb, readC, scale); Simd.Put(c + w, c91, va, vb, readC, scale); c += ldc;
        Simd.Put(c, ca0, va, vb, readC, scale); Simd.Put(c + w, ca1, va, vb, readC, scale); c += ldc;
        Simd.Put(c, cb0, va, vb, readC, scale); Simd.Put(c + w, cb1, va, vb, readC, scale);
    }

    /// <summary>12 rows × 1 zmm: 12 independent chains already cover the FMA latency × 2 pipes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Half(int kc, T* a, nint rsA, nint csA, T* b, T* c, nint ldc, T alpha, T beta)
    {
        nint nr = NR;
        T* a4 = a + 4 * rsA, a8 = a + 8 * rsA;
        nint r2 = 2 * rsA, r3 = 3 * rsA;
        Vector512<T> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector512<T> c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<T> c8 = default, c9 = default, ca = default, cb = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.Load(b);
            c0 = Simd.Fma(Vector512.Create(a[0]), b0, c0);
            c1 = Simd.Fma(Vector512.Create(a[rsA]), b0, c1);
            c2 = Simd.Fma(Vector512.Create(a[r2]), b0, c2);
            c3 = Simd.Fma(Vector512.Create(a[r3]), b0, c3);
            c4 = Simd.Fma(Vector512.Create(a4[0]), b0, c4);
            c5 = Simd.Fma(Vector512.Create(a4[rsA]), b0, c5);
            c6 = Simd.Fma(Vector512.Create(a4[r2]), b0, c6);
            c7 = Simd.Fma(Vector512.Create(a4[r3]), b0, c7);
            c8 = Simd.Fma(Vector512.Create(a8[0]), b0, c8);
            c9 = Simd.Fma(Vector512.Create(a8[rsA]), b0, c9);
            ca = Simd.Fma(Vector512.Create(a8[r2]), b0, ca);
            cb = Simd.Fma(Vector512.Create(a8[r3]), b0, cb);
            a += csA; a4 += csA; a8 += csA; b += nr;
        }

        Vector512<T> va = Vector512.Create(alpha), vb = Vector512.Create(beta);
        bool readC = beta != T.Zero, scale = alpha != T.One;
        Simd.Put(c, c0, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c1, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c2, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c3, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c4, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c5, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c6, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c7, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c8, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c9, va, vb, readC, scale); c += ldc;
        Simd.Put(c, ca, va, vb, readC, scale); c += ldc;
        Simd.Put(c, cb, va, vb, readC, scale);
    }
}

/// <summary>
/// AVX-512: 8 rows × 2 zmm (32 floats / 16 doubles), the kernel before the 12-row one. 16 accumulators cover the FMA
/// latency×throughput product (4 cycles × 2 pipes) twice over. Used for float64 products shallower than the 12-row
/// kernel's KC (<see cref="ManagedGemm.UsesShortKKernel{T}"/>): there it measured up to 20 points of peak faster on two
/// cores (docs/gemm.md).
/// </summary>
internal unsafe struct Vector512Kernel8<T> : IGemmKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int MR => 8;
    public static int NR => 2 * Vector512<T>.Count;
    public static int DotRows => 4;
    public static int PartRows => 4;
    public static bool ColumnEdge => Avx512F.IsSupported;

    public static void Dot(int kc, T* a, nint rsA, int rows, T* bT, nint ldbT, int cols, T* c, nint ldc, T alpha, T beta)
        => GemmDot.Rows4<T>(kc, a, rsA, rows, bT, ldbT, cols, c, ldc, alpha, beta);

    public static void Part(int kc, T* a, nint rsA, nint csA, int rows, T* b, T* c, nint ldc, T alpha, T beta)
        => GemmPart.Rows4<T>(kc, a, rsA, csA, rows, b, c, ldc, alpha, beta);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Full(int kc, T* a, nint rsA, nint csA, T* b, T* c, nint ldc, T alpha, T beta, T* next)
    {
        nint w = Vector512<T>.Count;
        // Rows 4..7 are addressed from a second base pointer so each broadcast is a plain
        // [base + index*scale] operand with no per-iteration address arithmetic.
        T* a4 = a + 4 * rsA;
        nint r2 = 2 * rsA, r3 = 3 * rsA;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<T> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<T> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default, c70 = default, c71 = default;
        int pfRows = next == null ? 0 : Math.Min(MR, kc);     // as in Vector512Kernel
        byte* pf = (byte*)next;
        for (int p = 0; p < kc; p++)
        {
            if (p < pfRows) { GemmPrefetch.TileRow(pf, NR * sizeof(T)); pf += ldc * sizeof(T); }
            Vector512<T> b0 = Vector512.Load(b);
            Vector512<T> b1 = Vector512.Load(b + w);
            Vector512<T> x = Vector512.Create(a[0]);
            c00 = Simd.Fma(x, b0, c00); c01 = Simd.Fma(x, b1, c01);
            x = Vector512.Create(a[rsA]);
            c10 = Simd.Fma(x, b0, c10); c11 = Simd.Fma(x, b1, c11);
            x = Vector512.Create(a[r2]);
            c20 = Simd.Fma(x, b0, c20); c21 = Simd.Fma(x, b1, c21);
            x = Vector512.Create(a[r3]);
            c30 = Simd.Fma(x, b0, c30); c31 = Simd.Fma(x, b1, c31);
            x = Vector512.Create(a4[0]);
            c40 = Simd.Fma(x, b0, c40); c41 = Simd.Fma(x, b1, c41);
            x = Vector512.Create(a4[rsA]);
            c50 = Simd.Fma(x, b0, c50); c51 = Simd.Fma(x, b1, c51);
            x = Vector512.Create(a4[r2]);
            c60 = Simd.Fma(x, b0, c60); c61 = Simd.Fma(x, b1, c61);
            x = Vector512.Create(a4[r3]);
            c70 = Simd.Fma(x, b0, c70); c71 = Simd.Fma(x, b1, c71);
            a += csA; a4 += csA; b += 2 * w;
        }
        if (next != null && kc < MR) GemmPrefetch.Tile(next + kc * ldc, ldc, MR - kc, NR * sizeof(T));

        Vector512<T> va = Vector512.Create(alpha), vb = Vector512.Create(beta);
        bool readC = beta != T.Zero, scale = alpha != T.One;
        Simd.Put(c, c00, va, vb, readC, scale); Simd.Put(c + w, c01, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c10, va, vb, readC, scale); Simd.Put(c + w, c11, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c20, va, vb, readC, scale); Simd.Put(c + w, c21, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c30, va, vb, readC, scale); Simd.Put(c + w, c31, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c40, va, vb, readC, scale); Simd.Put(c + w, c41, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c50, va, vb, readC, scale); Simd.Put(c + w, c51, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c60, va, vb, readC, scale); Simd.Put(c + w, c61, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c70, va, vb, readC, scale); Simd.Put(c + w, c71, va, vb, readC, scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Half(int kc, T* a, nint rsA, nint csA, T* b, T* c, nint ldc, T alpha, T beta)
    {
        nint nr = NR;
        T* a4 = a + 4 * rsA;
        nint r2 = 2 * rsA, r3 = 3 * rsA;
        // Even and odd k steps accumulate separately: 8 chains alone would leave the FMA pipes
        // waiting on latency; 16 keep them full. The two halves are summed at the end.
        Vector512<T> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector512<T> c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<T> d0 = default, d1 = default, d2 = default, d3 = default;
        Vector512<T> d4 = default, d5 = default, d6 = default, d7 = default;
        int p = 0;
        for (; p + 2 <= kc; p += 2)
        {
            Vector512<T> b0 = Vector512.Load(b);
            c0 = Simd.Fma(Vector512.Create(a[0]), b0, c0);
            c1 = Simd.Fma(Vector512.Create(a[rsA]), b0, c1);
            c2 = Simd.Fma(Vector512.Create(a[r2]), b0, c2);
            c3 = Simd.Fma(Vector512.Create(a[r3]), b0, c3);
            c4 = Simd.Fma(Vector512.Create(a4[0]), b0, c4);
            c5 = Simd.Fma(Vector512.Create(a4[rsA]), b0, c5);
            c6 = Simd.Fma(Vector512.Create(a4[r2]), b0, c6);
            c7 = Simd.Fma(Vector512.Create(a4[r3]), b0, c7);
            a += csA; a4 += csA; b += nr;
            b0 = Vector512.Load(b);
            d0 = Simd.Fma(Vector512.Create(a[0]), b0, d0);
            d1 = Simd.Fma(Vector512.Create(a[rsA]), b0, d1);
            d2 = Simd.Fma(Vector512.Create(a[r2]), b0, d2);
            d3 = Simd.Fma(Vector512.Create(a[r3]), b0, d3);
            d4 = Simd.Fma(Vector512.Create(a4[0]), b0, d4);
            d5 = Simd.Fma(Vector512.Create(a4[rsA]), b0, d5);
            d6 = Simd.Fma(Vector512.Create(a4[r2]), b0, d6);
            d7 = Simd.Fma(Vector512.Create(a4[r3]), b0, d7);
            a += csA; a4 += csA; b += nr;
        }
        if (p < kc)
        {
            Vector512<T> b0 = Vector512.Load(b);
            c0 = Simd.Fma(Vector512.Create(a[0]), b0, c0);
            c1 = Simd.Fma(Vector512.Create(a[rsA]), b0, c1);
            c2 = Simd.Fma(Vector512.Create(a[r2]), b0, c2);
            c3 = Simd.Fma(Vector512.Create(a[r3]), b0, c3);
            c4 = Simd.Fma(Vector512.Create(a4[0]), b0, c4);
            c5 = Simd.Fma(Vector512.Create(a4[rsA]), b0, c5);
            c6 = Simd.Fma(Vector512.Create(a4[r2]), b0, c6);
            c7 = Simd.Fma(Vector512.Create(a4[r3]), b0, c7);
        }

        Vector512<T> va = Vector512.Create(alpha), vb = Vector512.Create(beta);
        bool readC = beta != T.Zero, scale = alpha != T.One;
        Simd.Put(c, c0 + d0, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c1 + d1, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c2 + d2, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c3 + d3, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c4 + d4, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c5 + d5, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c6 + d6, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c7 + d7, va, vb, readC, scale);
    }
}

/// <summary>
/// AVX2+FMA: 6 rows × 2 ymm (16 floats / 8 doubles). With only 16 ymm registers this is the largest
/// tile that fits: 12 accumulators + 2 B̃ vectors + 1 broadcast + 1 spare.
/// </summary>
internal unsafe struct Vector256Kernel<T> : IGemmKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int MR => 6;
    public static int NR => 2 * Vector256<T>.Count;
    public static int DotRows => 3;
    public static int PartRows => 0;
    public static bool ColumnEdge => false;

    public static void Part(int kc, T* a, nint rsA, nint csA, int rows, T* b, T* c, nint ldc, T alpha, T beta)
        => throw new NotSupportedException("The AVX2 kernel has no partial-row kernel.");

    public static void Dot(int kc, T* a, nint rsA, int rows, T* bT, nint ldbT, int cols, T* c, nint ldc, T alpha, T beta)
        => GemmDot.Rows3<T>(kc, a, rsA, rows, bT, ldbT, cols, c, ldc, alpha, beta);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Full(int kc, T* a, nint rsA, nint csA, T* b, T* c, nint ldc, T alpha, T beta, T* next)
    {
        nint w = Vector256<T>.Count;
        T* a3 = a + 3 * rsA;
        nint r2 = 2 * rsA;
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<T> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<T> c40 = default, c41 = default, c50 = default, c51 = default;
        int pfRows = next == null ? 0 : Math.Min(MR, kc);     // as in Vector512Kernel
        byte* pf = (byte*)next;
        for (int p = 0; p < kc; p++)
        {
            if (p < pfRows) { GemmPrefetch.TileRow(pf, NR * sizeof(T)); pf += ldc * sizeof(T); }
            Vector256<T> b0 = Vector256.Load(b);
            Vector256<T> b1 = Vector256.Load(b + w);
            Vector256<T> x = Vector256.Create(a[0]);
            c00 = Simd.Fma(x, b0, c00); c01 = Simd.Fma(x, b1, c01);
            x = Vector256.Create(a[rsA]);
            c10 = Simd.Fma(x, b0, c10); c11 = Simd.Fma(x, b1, c11);
            x = Vector256.Create(a[r2]);
            c20 = Simd.Fma(x, b0, c20); c21 = Simd.Fma(x, b1, c21);
            x = Vector256.Create(a3[0]);
            c30 = Simd.Fma(x, b0, c30); c31 = Simd.Fma(x, b1, c31);
            x = Vector256.Create(a3[rsA]);
            c40 = Simd.Fma(x, b0, c40); c41 = Simd.Fma(x, b1, c41);
            x = Vector256.Create(a3[r2]);
            c50 = Simd.Fma(x, b0, c50); c51 = Simd.Fma(x, b1, c51);
            a += csA; a3 += csA; b += 2 * w;
        }
        if (next != null && kc < MR) GemmPrefetch.Tile(next + kc * ldc, ldc, MR - kc, NR * sizeof(T));

        Vector256<T> va = Vector256.Create(alpha), vb = Vector256.Create(beta);
        bool readC = beta != T.Zero, scale = alpha != T.One;
        Simd.Put(c, c00, va, vb, readC, scale); Simd.Put(c + w, c01, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c10, va, vb, readC, scale); Simd.Put(c + w, c11, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c20, va, vb, readC, scale); Simd.Put(c + w, c21, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c30, va, vb, readC, scale); Simd.Put(c + w, c31, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c40, va, vb, readC, scale); Simd.Put(c + w, c41, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c50, va, vb, readC, scale); Simd.Put(c + w, c51, va, vb, readC, scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Half(int kc, T* a, nint rsA, nint csA, T* b, T* c, nint ldc, T alpha, T beta)
    {
        nint nr = NR;
        T* a3 = a + 3 * rsA;
        nint r2 = 2 * rsA;
        // Even and odd k steps accumulate separately: 6 chains alone run at 6/8 of FMA throughput
        // (latency 4 × 2 pipes); 12 saturate it. The two halves are summed at the end.
        Vector256<T> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector256<T> d0 = default, d1 = default, d2 = default, d3 = default, d4 = default, d5 = default;
        int p = 0;
        for (; p + 2 <= kc; p += 2)
        {
            Vector256<T> b0 = Vector256.Load(b);
            c0 = Simd.Fma(Vector256.Create(a[0]), b0, c0);
            c1 = Simd.Fma(Vector256.Create(a[rsA]), b0, c1);
            c2 = Simd.Fma(Vector256.Create(a[r2]), b0, c2);
            c3 = Simd.Fma(Vector256.Create(a3[0]), b0, c3);
            c4 = Simd.Fma(Vector256.Create(a3[rsA]), b0, c4);
            c5 = Simd.Fma(Vector256.Create(a3[r2]), b0, c5);
            a += csA; a3 += csA; b += nr;
            b0 = Vector256.Load(b);
            d0 = Simd.Fma(Vector256.Create(a[0]), b0, d0);
            d1 = Simd.Fma(Vector256.Create(a[rsA]), b0, d1);
            d2 = Simd.Fma(Vector256.Create(a[r2]), b0, d2);
            d3 = Simd.Fma(Vector256.Create(a3[0]), b0, d3);
            d4 = Simd.Fma(Vector256.Create(a3[rsA]), b0, d4);
            d5 = Simd.Fma(Vector256.Create(a3[r2]), b0, d5);
            a += csA; a3 += csA; b += nr;
        }
        if (p < kc)
        {
            Vector256<T> b0 = Vector256.Load(b);
            c0 = Simd.Fma(Vector256.Create(a[0]), b0, c0);
            c1 = Simd.Fma(Vector256.Create(a[rsA]), b0, c1);
            c2 = Simd.Fma(Vector256.Create(a[r2]), b0, c2);
            c3 = Simd.Fma(Vector256.Create(a3[0]), b0, c3);
            c4 = Simd.Fma(Vector256.Create(a3[rsA]), b0, c4);
            c5 = Simd.Fma(Vector256.Create(a3[r2]), b0, c5);
        }

        Vector256<T> va = Vector256.Create(alpha), vb = Vector256.Create(beta);
        bool readC = beta != T.Zero, scale = alpha != T.One;
        Simd.Put(c, c0 + d0, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c1 + d1, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c2 + d2, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c3 + d3, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c4 + d4, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c5 + d5, va, vb, readC, scale);
    }
}

/// <summary>
/// Portable fallback on <see cref="Vector{T}"/>: 4 rows × 2 vectors with separate multiply and add,
/// because a fused multiply-add on hardware without FMA is emulated per element and is far slower
/// than the rounding difference is worth. Where Vector&lt;T&gt; is not accelerated the runtime runs
/// these operations element by element, so this is also the scalar path.
/// </summary>
internal unsafe struct PortableKernel<T> : IGemmKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int MR => 4;
    public static int NR => 2 * Vector<T>.Count;
    public static int DotRows => 0;
    public static int PartRows => 0;
    public static bool ColumnEdge => false;

    public static void Part(int kc, T* a, nint rsA, nint csA, int rows, T* b, T* c, nint ldc, T alpha, T beta)
        => throw new NotSupportedException("The portable kernel has no partial-row kernel.");

    public static void Dot(int kc, T* a, nint rsA, int rows, T* bT, nint ldbT, int cols, T* c, nint ldc, T alpha, T beta)
        => throw new NotSupportedException("The portable kernel has no dot-product edge.");

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Full(int kc, T* a, nint rsA, nint csA, T* b, T* c, nint ldc, T alpha, T beta, T* next)
    {
        if (next != null) GemmPrefetch.Tile(next, ldc, MR, NR * sizeof(T));
        nint w = Vector<T>.Count;
        nint r2 = 2 * rsA, r3 = 3 * rsA;
        Vector<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector<T> c20 = default, c21 = default, c30 = default, c31 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector<T> b0 = Vector.Load(b);
            Vector<T> b1 = Vector.Load(b + w);
            Vector<T> x = new(a[0]);
            c00 += x * b0; c01 += x * b1;
            x = new(a[rsA]);
            c10 += x * b0; c11 += x * b1;
            x = new(a[r2]);
            c20 += x * b0; c21 += x * b1;
            x = new(a[r3]);
            c30 += x * b0; c31 += x * b1;
            a += csA; b += 2 * w;
        }

        Vector<T> va = new(alpha), vb = new(beta);
        bool readC = beta != T.Zero, scale = alpha != T.One;
        Simd.Put(c, c00, va, vb, readC, scale); Simd.Put(c + w, c01, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c10, va, vb, readC, scale); Simd.Put(c + w, c11, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c20, va, vb, readC, scale); Simd.Put(c + w, c21, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c30, va, vb, readC, scale); Simd.Put(c + w, c31, va, vb, readC, scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Half(int kc, T* a, nint rsA, nint csA, T* b, T* c, nint ldc, T alpha, T beta)
    {
        nint nr = NR;
        nint r2 = 2 * rsA, r3 = 3 * rsA;
        Vector<T> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector<T> b0 = Vector.Load(b);
            c0 += new Vector<T>(a[0]) * b0;
            c1 += new Vector<T>(a[rsA]) * b0;
            c2 += new Vector<T>(a[r2]) * b0;
            c3 += new Vector<T>(a[r3]) * b0;
            a += csA; b += nr;
        }

        Vector<T> va = new(alpha), vb = new(beta);
        bool readC = beta != T.Zero, scale = alpha != T.One;
        Simd.Put(c, c0, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c1, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c2, va, vb, readC, scale); c += ldc;
        Simd.Put(c, c3, va, vb, readC, scale);
    }
}

/// <summary>
/// Dot-product edge kernels: a few columns of C computed with the vectors along k instead of across columns. A right
/// edge of r columns (r small: 50 = 48 + 2) otherwise costs a whole vector of FMAs per row and k step, W/r times the
/// work; here r columns cost r/W of a vector each. Each element is the sum of W lane-wise partial sums (lane l takes
/// the steps p ≡ l mod W, each a chain of FMAs in k order, the last kc mod W steps as one masked vector step), added
/// by a fixed shuffle tree shared by all the call's elements (<see cref="Sum8"/>, <see cref="Sum6"/>); deterministic,
/// but not the order of the column-vector kernels (the difference is rounding, within the tests' tolerance). Without
/// AVX-512 / AVX (a forced path in tests) the sums are <c>Vector.Sum</c>s and the leftover steps scalar FMAs.
/// </summary>
/// <remarks>
/// Memory: A is read only at a[i·rsA + p], B at bT[j·ldbT + p] for p &lt; kc, i &lt; rows (≤ DotRows), j &lt; cols (the
/// leftover steps by masked loads, which touch no memory at or past kc); C is written only at c[i·ldc + j] for i &lt; rows,
/// j &lt; cols, one scalar each.
/// With one column the second accumulator set reuses column 0 (8 chains keep both FMA pipes busy) and is discarded.
/// </remarks>
internal static unsafe class GemmDot
{
    /// <summary>4 rows × cols (1 or 2), Vector512: 8 accumulators; per W steps 6 loads feed 8 FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows4<T>(int kc, T* a, nint rsA, int rows, T* bT, nint ldbT, int cols, T* c, nint ldc, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        // Rows past `rows` repeat the last valid one (read, never stored).
        T* a1 = rows > 1 ? a + rsA : a, a2 = rows > 2 ? a1 + rsA : a1, a3 = rows > 3 ? a2 + rsA : a2;
        T* b0 = bT, b1 = cols > 1 ? bT + ldbT : bT;
        Vector512<T> s00 = default, s01 = default, s10 = default, s11 = default;
        Vector512<T> s20 = default, s21 = default, s30 = default, s31 = default;
        int p = 0;
        for (; p + w <= kc; p += w)
        {
            Vector512<T> y0 = Vector512.Load(b0 + p), y1 = Vector512.Load(b1 + p);
            Vector512<T> x = Vector512.Load(a + p);
            s00 = Simd.Fma(x, y0, s00); s01 = Simd.Fma(x, y1, s01);
            x = Vector512.Load(a1 + p);
            s10 = Simd.Fma(x, y0, s10); s11 = Simd.Fma(x, y1, s11);
            x = Vector512.Load(a2 + p);
            s20 = Simd.Fma(x, y0, s20); s21 = Simd.Fma(x, y1, s21);
            x = Vector512.Load(a3 + p);
            s30 = Simd.Fma(x, y0, s30); s31 = Simd.Fma(x, y1, s31);
        }
        if (p < kc && Avx512F.IsSupported)
        {
            // The kc mod W leftover steps as one more vector step whose missing lanes load as zero (masked loads touch no
            // memory there): step p + l goes to lane l, after that lane's earlier steps. Cheaper than 8·(kc mod W) scalar
            // FMAs after the sums, which at K = 50 cost as much as the vector steps.
            int rest = kc - p;
            Vector512<T> y0 = LoadFirst(b0 + p, rest), y1 = LoadFirst(b1 + p, rest);
            Vector512<T> x = LoadFirst(a + p, rest);
            s00 = Simd.Fma(x, y0, s00); s01 = Simd.Fma(x, y1, s01);
            x = LoadFirst(a1 + p, rest);
            s10 = Simd.Fma(x, y0, s10); s11 = Simd.Fma(x, y1, s11);
            x = LoadFirst(a2 + p, rest);
            s20 = Simd.Fma(x, y0, s20); s21 = Simd.Fma(x, y1, s21);
            x = LoadFirst(a3 + p, rest);
            s30 = Simd.Fma(x, y0, s30); s31 = Simd.Fma(x, y1, s31);
            p = kc;
        }
        // The 8 horizontal sums in one shuffle tree (about 24 instructions instead of 8 separate reductions; at K = 50
        // those cost as much as the FMAs, docs/gemm.md).
        Vector512<T> sums = Sum8(s00, s01, s10, s11, s20, s21, s30, s31);
        T r00 = sums[0], r01 = sums[SumLane<T>(1)], r10 = sums[SumLane<T>(2)], r11 = sums[SumLane<T>(3)];
        T r20 = sums[SumLane<T>(4)], r21 = sums[SumLane<T>(5)], r30 = sums[SumLane<T>(6)], r31 = sums[SumLane<T>(7)];
        for (; p < kc; p++)
        {
            T y0 = b0[p], y1 = b1[p];
            r00 = T.FusedMultiplyAdd(a[p], y0, r00); r01 = T.FusedMultiplyAdd(a[p], y1, r01);
            r10 = T.FusedMultiplyAdd(a1[p], y0, r10); r11 = T.FusedMultiplyAdd(a1[p], y1, r11);
            r20 = T.FusedMultiplyAdd(a2[p], y0, r20); r21 = T.FusedMultiplyAdd(a2[p], y1, r21);
            r30 = T.FusedMultiplyAdd(a3[p], y0, r30); r31 = T.FusedMultiplyAdd(a3[p], y1, r31);
        }
        Simd.PutScalar(c, r00, alpha, beta); if (cols > 1) Simd.PutScalar(c + 1, r01, alpha, beta);
        if (rows < 2) return;
        c += ldc; Simd.PutScalar(c, r10, alpha, beta); if (cols > 1) Simd.PutScalar(c + 1, r11, alpha, beta);
        if (rows < 3) return;
        c += ldc; Simd.PutScalar(c, r20, alpha, beta); if (cols > 1) Simd.PutScalar(c + 1, r21, alpha, beta);
        if (rows < 4) return;
        c += ldc; Simd.PutScalar(c, r30, alpha, beta); if (cols > 1) Simd.PutScalar(c + 1, r31, alpha, beta);
    }

    /// <summary>
    /// The lane sums of eight vectors v0 … v7 in one vector: the sum of v_i is at lane <see cref="SumLane"/>(i). A tree of
    /// 128-bit block shuffles and in-block unpacks (vshuff32x4/64x2, vunpck*, vshufps), each level adding halves of two
    /// vectors at once. Each sum is a fixed tree over its own vector's lanes, independent of the other seven.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<T> Sum8<T>(Vector512<T> v0, Vector512<T> v1, Vector512<T> v2, Vector512<T> v3,
        Vector512<T> v4, Vector512<T> v5, Vector512<T> v6, Vector512<T> v7) where T : unmanaged
    {
        if (!Avx512F.IsSupported)   // a forced Vector512 path on hardware without AVX-512 (tests)
        {
            Vector512<T> r = default;
            r = r.WithElement(SumLane<T>(0), Vector512.Sum(v0)).WithElement(SumLane<T>(1), Vector512.Sum(v1));
            r = r.WithElement(SumLane<T>(2), Vector512.Sum(v2)).WithElement(SumLane<T>(3), Vector512.Sum(v3));
            r = r.WithElement(SumLane<T>(4), Vector512.Sum(v4)).WithElement(SumLane<T>(5), Vector512.Sum(v5));
            return r.WithElement(SumLane<T>(6), Vector512.Sum(v6)).WithElement(SumLane<T>(7), Vector512.Sum(v7));
        }
        if (typeof(T) == typeof(float))
        {
            // Level 1: [vi blocks 0,1 | vj blocks 0,1] + [vi blocks 2,3 | vj blocks 2,3]: vi in the low half, vj in the high.
            Vector512<float> t0 = Halves(v0.AsSingle(), v1.AsSingle()), t1 = Halves(v2.AsSingle(), v3.AsSingle());
            Vector512<float> t2 = Halves(v4.AsSingle(), v5.AsSingle()), t3 = Halves(v6.AsSingle(), v7.AsSingle());
            // Level 2: block b of u holds one vector's 4 partial sums (u0: v0, v1, v2, v3; u1: v4 … v7).
            Vector512<float> u0 = Quarters(t0, t1), u1 = Quarters(t2, t3);
            // Level 3, within each block: lanes (0, 1) = (u0 e0+e2, u1 e0+e2), (2, 3) = (… e1+e3); then add the 64-bit halves.
            Vector512<float> w = Avx512F.UnpackLow(u0, u1) + Avx512F.UnpackHigh(u0, u1);
            return (w + Avx512F.Shuffle(w, w, 0b01_00_11_10)).As<float, T>();
        }
        if (typeof(T) == typeof(double))
        {
            Vector512<double> t0 = Halves(v0.AsDouble(), v1.AsDouble()), t1 = Halves(v2.AsDouble(), v3.AsDouble());
            Vector512<double> t2 = Halves(v4.AsDouble(), v5.AsDouble()), t3 = Halves(v6.AsDouble(), v7.AsDouble());
            Vector512<double> u0 = Quarters(t0, t1), u1 = Quarters(t2, t3);
            // Each block of u holds one vector's 2 partial sums: lanes (2b, 2b + 1) = (u0 block b, u1 block b) totals.
            return (Avx512F.UnpackLow(u0, u1) + Avx512F.UnpackHigh(u0, u1)).As<double, T>();
        }
        throw new NotSupportedException();
    }

    /// <summary>
    /// The lane sums of six Vector256 v0 … v5 into dst[0 … 5], by horizontal adds (vhaddps/pd) and one 128-bit block
    /// exchange instead of six separate reductions. Each sum is a fixed tree over its own vector's lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Sum6<T>(Vector256<T> v0, Vector256<T> v1, Vector256<T> v2, Vector256<T> v3,
        Vector256<T> v4, Vector256<T> v5, T* dst) where T : unmanaged
    {
        if (!Avx.IsSupported)
        {
            dst[0] = Vector256.Sum(v0); dst[1] = Vector256.Sum(v1); dst[2] = Vector256.Sum(v2);
            dst[3] = Vector256.Sum(v3); dst[4] = Vector256.Sum(v4); dst[5] = Vector256.Sum(v5);
            return;
        }
        if (typeof(T) == typeof(float))
        {
            // Per 128-bit block: h = [v0, v1, v2, v3] partial sums, g = [v4, v5, v4, v5]; then the two blocks added.
            Vector256<float> h = Avx.HorizontalAdd(Avx.HorizontalAdd(v0.AsSingle(), v1.AsSingle()), Avx.HorizontalAdd(v2.AsSingle(), v3.AsSingle()));
            Vector256<float> g = Avx.HorizontalAdd(v4.AsSingle(), v5.AsSingle());
            g = Avx.HorizontalAdd(g, g);
            Vector256<float> r = Avx.Permute2x128(h, g, 0x20) + Avx.Permute2x128(h, g, 0x31);   // [v0 … v3, v4, v5, v4, v5]
            Vector256.Store(r, (float*)dst);
            return;
        }
        if (typeof(T) == typeof(double))
        {
            // Per 128-bit block: [vi, vj] partial sums; then the two blocks added.
            Vector256<double> h01 = Avx.HorizontalAdd(v0.AsDouble(), v1.AsDouble()), h23 = Avx.HorizontalAdd(v2.AsDouble(), v3.AsDouble());
            Vector256<double> h45 = Avx.HorizontalAdd(v4.AsDouble(), v5.AsDouble());
            Vector256<double> r = Avx.Permute2x128(h01, h23, 0x20) + Avx.Permute2x128(h01, h23, 0x31);   // [v0, v1, v2, v3]
            Vector256.Store(r, (double*)dst);
            Vector128.Store(h45.GetLower() + h45.GetUpper(), (double*)dst + 4);                          // [v4, v5]
            return;
        }
        throw new NotSupportedException();
    }

    /// <summary>Lanes 0 … count − 1 (count &lt; W) from <paramref name="p"/>, the rest zero; a masked AVX load (vmaskmov), which reads nothing past p[count − 1].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> LoadFirst256<T>(T* p, int count) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Avx.MaskLoad((float*)p, Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Avx.MaskLoad((double*)p, Vector256.LessThan(Vector256<long>.Indices, Vector256.Create((long)count)).AsDouble()).As<double, T>();
        throw new NotSupportedException();
    }

    /// <summary>
    /// Lanes 0 … count − 1 (count &lt; W) loaded from <paramref name="p"/>, the rest zero. A masked AVX-512 load: the masked-out
    /// lanes' memory is not accessed (faults suppressed), so nothing past p[count − 1] is read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> LoadFirst<T>(T* p, int count) where T : unmanaged => Simd.MaskLoad(p, Simd.FirstLanes<T>(count));

    /// <summary>Lane of <see cref="Sum8"/>'s result holding the sum of its i-th argument: block i mod 4, vectors 0–3 in the block's first lane, 4–7 in its second.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int SumLane<T>(int i) => (i & 3) * (Vector512<T>.Count / 4) + (i >> 2);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Halves(Vector512<float> x, Vector512<float> y)
        => Avx512F.Shuffle4x128(x, y, 0b01_00_01_00) + Avx512F.Shuffle4x128(x, y, 0b11_10_11_10);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Halves(Vector512<double> x, Vector512<double> y)
        => Avx512F.Shuffle4x128(x, y, 0b01_00_01_00) + Avx512F.Shuffle4x128(x, y, 0b11_10_11_10);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Quarters(Vector512<float> x, Vector512<float> y)
        => Avx512F.Shuffle4x128(x, y, 0b10_00_10_00) + Avx512F.Shuffle4x128(x, y, 0b11_01_11_01);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Quarters(Vector512<double> x, Vector512<double> y)
        => Avx512F.Shuffle4x128(x, y, 0b10_00_10_00) + Avx512F.Shuffle4x128(x, y, 0b11_01_11_01);

    /// <summary>3 rows × cols (1 or 2), Vector256 (MR = 6 is two calls): 6 accumulators; per W steps 5 loads feed 6 FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows3<T>(int kc, T* a, nint rsA, int rows, T* bT, nint ldbT, int cols, T* c, nint ldc, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        // Rows past `rows` repeat the last valid one (read, never stored).
        T* a1 = rows > 1 ? a + rsA : a, a2 = rows > 2 ? a1 + rsA : a1;
        T* b0 = bT, b1 = cols > 1 ? bT + ldbT : bT;
        Vector256<T> s00 = default, s01 = default, s10 = default, s11 = default, s20 = default, s21 = default;
        int p = 0;
        for (; p + w <= kc; p += w)
        {
            Vector256<T> y0 = Vector256.Load(b0 + p), y1 = Vector256.Load(b1 + p);
            Vector256<T> x = Vector256.Load(a + p);
            s00 = Simd.Fma(x, y0, s00); s01 = Simd.Fma(x, y1, s01);
            x = Vector256.Load(a1 + p);
            s10 = Simd.Fma(x, y0, s10); s11 = Simd.Fma(x, y1, s11);
            x = Vector256.Load(a2 + p);
            s20 = Simd.Fma(x, y0, s20); s21 = Simd.Fma(x, y1, s21);
        }
        if (p < kc && Avx.IsSupported)
        {
            // As in Rows4: the leftover steps as one masked vector step (vmaskmov reads nothing where the mask is clear).
            int rest = kc - p;
            Vector256<T> y0 = LoadFirst256(b0 + p, rest), y1 = LoadFirst256(b1 + p, rest);
            Vector256<T> x = LoadFirst256(a + p, rest);
            s00 = Simd.Fma(x, y0, s00); s01 = Simd.Fma(x, y1, s01);
            x = LoadFirst256(a1 + p, rest);
            s10 = Simd.Fma(x, y0, s10); s11 = Simd.Fma(x, y1, s11);
            x = LoadFirst256(a2 + p, rest);
            s20 = Simd.Fma(x, y0, s20); s21 = Simd.Fma(x, y1, s21);
            p = kc;
        }
        T* sums = stackalloc T[8];
        Sum6(s00, s01, s10, s11, s20, s21, sums);
        T r00 = sums[0], r01 = sums[1], r10 = sums[2], r11 = sums[3], r20 = sums[4], r21 = sums[5];
        for (; p < kc; p++)
        {
            T y0 = b0[p], y1 = b1[p];
            r00 = T.FusedMultiplyAdd(a[p], y0, r00); r01 = T.FusedMultiplyAdd(a[p], y1, r01);
            r10 = T.FusedMultiplyAdd(a1[p], y0, r10); r11 = T.FusedMultiplyAdd(a1[p], y1, r11);
            r20 = T.FusedMultiplyAdd(a2[p], y0, r20); r21 = T.FusedMultiplyAdd(a2[p], y1, r21);
        }
        Simd.PutScalar(c, r00, alpha, beta); if (cols > 1) Simd.PutScalar(c + 1, r01, alpha, beta);
        if (rows < 2) return;
        c += ldc; Simd.PutScalar(c, r10, alpha, beta); if (cols > 1) Simd.PutScalar(c + 1, r11, alpha, beta);
        if (rows < 3) return;
        c += ldc; Simd.PutScalar(c, r20, alpha, beta); if (cols > 1) Simd.PutScalar(c + 1, r21, alpha, beta);
    }
}

/// <summary>
/// The partial-row kernel of the AVX-512 kernels (<see cref="IGemmKernel{T}.Part"/>): up to 4 rows × 2 zmm. Its 8
/// accumulators cover the FMA latency × throughput product of a core with one 512-bit FMA per cycle (Zen 4) twice and
/// of one with two (Zen 5) once. Each accumulator is summed from zero in k order with fused multiply-adds and stored
/// through <c>Simd.Put</c>, as in the full kernels.
/// Memory: A is read only at a[r·rsA + p·csA] for r &lt; rows (the offsets of missing rows are 0: row 0 is read again
/// and its sums discarded), B at b[p·NR … p·NR + NR − 1], C written at rows r &lt; rows, columns 0 … NR − 1.
/// </summary>
internal static unsafe class GemmPart
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows4<T>(int kc, T* a, nint rsA, nint csA, int rows, T* b, T* c, nint ldc, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint w = Vector512<T>.Count;
        nint r1 = rows > 1 ? rsA : 0, r2 = rows > 2 ? 2 * rsA : 0, r3 = rows > 3 ? 3 * rsA : 0;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<T> c20 = default, c21 = default, c30 = default, c31 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.Load(b);
            Vector512<T> b1 = Vector512.Load(b + w);
            Vector512<T> x = Vector512.Create(a[0]);
            c00 = Simd.Fma(x, b0, c00); c01 = Simd.Fma(x, b1, c01);
            x = Vector512.Create(a[r1]);
            c10 = Simd.Fma(x, b0, c10); c11 = Simd.Fma(x, b1, c11);
            x = Vector512.Create(a[r2]);
            c20 = Simd.Fma(x, b0, c20); c21 = Simd.Fma(x, b1, c21);
            x = Vector512.Create(a[r3]);
            c30 = Simd.Fma(x, b0, c30); c31 = Simd.Fma(x, b1, c31);
            a += csA; b += 2 * w;
        }

        Vector512<T> va = Vector512.Create(alpha), vb = Vector512.Create(beta);
        bool readC = beta != T.Zero, scale = alpha != T.One;
        Simd.Put(c, c00, va, vb, readC, scale); Simd.Put(c + w, c01, va, vb, readC, scale);
        if (rows < 2) return;
        c += ldc;
        Simd.Put(c, c10, va, vb, readC, scale); Simd.Put(c + w, c11, va, vb, readC, scale);
        if (rows < 3) return;
        c += ldc;
        Simd.Put(c, c20, va, vb, readC, scale); Simd.Put(c + w, c21, va, vb, readC, scale);
        if (rows < 4) return;
        c += ldc;
        Simd.Put(c, c30, va, vb, readC, scale); Simd.Put(c + w, c31, va, vb, readC, scale);
    }
}
