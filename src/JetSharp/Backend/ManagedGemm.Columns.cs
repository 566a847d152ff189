using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace JetSharp.Backend;

/// <summary>
/// The M-vectorised ("column") path for narrow products on AVX-512: vectors run along the rows of C, so a C of any
/// width is computed without padded lanes. A panel of P = 2W rows of A (W = Vector512 lanes) is packed transposed,
/// k-major (step p's P rows contiguous, 16×16 / 8×8 in-register transposes), and op(B) into one k-major sliver of all
/// N columns; a tile of P rows × up to 12 columns keeps 2·12 accumulators, acc[h][j] = C[h·W … h·W + W − 1, j], and per
/// k step loads two A vectors and broadcasts 12 elements of B̃ into 24 FMAs. The finished tile is scaled by α,
/// transposed back through an L1 staging buffer and blended into row-major C with masked stores.
/// </summary>
/// <remarks>
/// Summation: each element of C is one FMA chain over all K steps in k order, then C = fma(C, β, α·acc) (β = 0: α·acc,
/// C not read): exactly what the AVX-512 register-tiled kernel computes for a single k block, and independent of the
/// tiling, the rows' panel and the thread split. Memory: A is read at rows &lt; rows, steps &lt; K; C written only at the
/// product's rows and columns (masked stores).
/// </remarks>
internal static unsafe class GemmColumns
{
    /// <summary>Most columns per tile: 2·12 accumulators + 2 A vectors + a broadcast fit the 32 zmm registers.</summary>
    public const int TileCols = 12;

    /// <summary>Columns of the staging tile: a tile's (≤ 12) rounded up to whole W-column transposes.</summary>
    private const int StageCols = 16;

    public static bool Enabled = Environment.GetEnvironmentVariable("JETSHARP_GEMM_MVEC") == "1";

    /// <summary>Rows and columns m0…m1, n0…n1 of the product. Buffers: the calling thread's packing buffers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<T>(in GemmProblem<T> p, int m0, int m1, int n0, int n1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count, panel = 2 * w, n = n1 - n0, k = p.K;
        var buffers = GemmPackBuffers.Current;
        // TileCols elements of slack: a tile reads TC.N ≥ cols columns of each step (those past cols are not stored).
        T* b = (T*)buffers.B(((nint)k * n + TileCols) * sizeof(T));
        GemmPacking.PackSlivers(p.B + n0 * p.CsB, p.CsB, p.RsB, n, k, n, b);   // step p, column j at b[p·n + j]
        T* at = (T*)buffers.A((nint)k * panel * sizeof(T));
        T* stage = (T*)buffers.Scratch(((nint)StageCols * 2 * w + w * w) * sizeof(T));
        for (int i0 = m0; i0 < m1; i0 += panel)
        {
            int rows = Math.Min(panel, m1 - i0);
            if (p.CsA == 1) PackPanel(p.A + i0 * p.RsA, p.RsA, rows, k, at, stage);
            else CopyPanel(p.A + i0 * p.RsA, p.CsA, rows, k, at);
            T* c = p.C + i0 * p.Ldc + n0;
            int j0 = 0;
            for (; j0 + 12 <= n; j0 += 12) Tile<T, Cols12>(k, at, b + j0, n, 12, c + j0, p.Ldc, rows, p.Alpha, p.Beta, stage);
            int rest = n - j0;
            if (rest > 8) Tile<T, Cols12>(k, at, b + j0, n, rest, c + j0, p.Ldc, rows, p.Alpha, p.Beta, stage);
            else if (rest > 4) Tile<T, Cols8>(k, at, b + j0, n, rest, c + j0, p.Ldc, rows, p.Alpha, p.Beta, stage);
            else if (rest > 2) Tile<T, Cols4>(k, at, b + j0, n, rest, c + j0, p.Ldc, rows, p.Alpha, p.Beta, stage);
            else if (rest > 0) Tile<T, Cols2>(k, at, b + j0, n, rest, c + j0, p.Ldc, rows, p.Alpha, p.Beta, stage);
        }
    }

    internal interface ICols { static abstract int N { get; } }
    internal struct Cols12 : ICols { public static int N => 12; }
    internal struct Cols8 : ICols { public static int N => 8; }
    internal struct Cols4 : ICols { public static int N => 4; }
    internal struct Cols2 : ICols { public static int N => 2; }

    /// <summary>
    /// at (k steps × 2W rows, k-major) · b (k steps × cols, ldb apart) into C rows 0…rows−1, columns 0…cols−1. TC.N ≥
    /// cols accumulator columns (a JIT-time constant): columns past cols read whatever follows in b and are not stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<T, TC>(int k, T* at, T* b, nint ldb, int cols, T* c, nint ldc, int rows, T alpha, T beta, T* stage)
        where T : unmanaged, IFloatingPointIeee754<T> where TC : ICols
    {
        int w = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default, c02 = default, c03 = default, c04 = default, c05 = default;
        Vector512<T> c06 = default, c07 = default, c08 = default, c09 = default, c0a = default, c0b = default;
        Vector512<T> c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default;
        Vector512<T> c16 = default, c17 = default, c18 = default, c19 = default, c1a = default, c1b = default;
        for (int p = 0; p < k; p++)
        {
            Vector512<T> x0 = Vector512.Load(at), x1 = Vector512.Load(at + w);
            Vector512<T> y = Vector512.Create(b[0]);
            c00 = Simd.Fma(x0, y, c00); c10 = Simd.Fma(x1, y, c10);
            y = Vector512.Create(b[1]);
            c01 = Simd.Fma(x0, y, c01); c11 = Simd.Fma(x1, y, c11);
            if (TC.N > 2)
            {
                y = Vector512.Create(b[2]);
                c02 = Simd.Fma(x0, y, c02); c12 = Simd.Fma(x1, y, c12);
                y = Vector512.Create(b[3]);
                c03 = Simd.Fma(x0, y, c03); c13 = Simd.Fma(x1, y, c13);
            }
            if (TC.N > 4)
            {
                y = Vector512.Create(b[4]);
                c04 = Simd.Fma(x0, y, c04); c14 = Simd.Fma(x1, y, c14);
                y = Vector512.Create(b[5]);
                c05 = Simd.Fma(x0, y, c05); c15 = Simd.Fma(x1, y, c15);
                y = Vector512.Create(b[6]);
                c06 = Simd.Fma(x0, y, c06); c16 = Simd.Fma(x1, y, c16);
                y = Vector512.Create(b[7]);
                c07 = Simd.Fma(x0, y, c07); c17 = Simd.Fma(x1, y, c17);
            }
            if (TC.N > 8)
            {
                y = Vector512.Create(b[8]);
                c08 = Simd.Fma(x0, y, c08); c18 = Simd.Fma(x1, y, c18);
                y = Vector512.Create(b[9]);
                c09 = Simd.Fma(x0, y, c09); c19 = Simd.Fma(x1, y, c19);
                y = Vector512.Create(b[10]);
                c0a = Simd.Fma(x0, y, c0a); c1a = Simd.Fma(x1, y, c1a);
                y = Vector512.Create(b[11]);
                c0b = Simd.Fma(x0, y, c0b); c1b = Simd.Fma(x1, y, c1b);
            }
            at += 2 * w; b += ldb;
        }

        // α·acc into the staging tile, column-major (column j's 2W rows at stage + j·2W), then back to rows of C.
        Vector512<T> va = Vector512.Create(alpha);
        nint s = 2 * w;
        Vector512.Store(c00 * va, stage); Vector512.Store(c10 * va, stage + w);
        Vector512.Store(c01 * va, stage + s); Vector512.Store(c11 * va, stage + s + w);
        if (TC.N > 2)
        {
            Vector512.Store(c02 * va, stage + 2 * s); Vector512.Store(c12 * va, stage + 2 * s + w);
            Vector512.Store(c03 * va, stage + 3 * s); Vector512.Store(c13 * va, stage + 3 * s + w);
        }
        if (TC.N > 4)
        {
            Vector512.Store(c04 * va, stage + 4 * s); Vector512.Store(c14 * va, stage + 4 * s + w);
            Vector512.Store(c05 * va, stage + 5 * s); Vector512.Store(c15 * va, stage + 5 * s + w);
            Vector512.Store(c06 * va, stage + 6 * s); Vector512.Store(c16 * va, stage + 6 * s + w);
            Vector512.Store(c07 * va, stage + 7 * s); Vector512.Store(c17 * va, stage + 7 * s + w);
        }
        if (TC.N > 8)
        {
            Vector512.Store(c08 * va, stage + 8 * s); Vector512.Store(c18 * va, stage + 8 * s + w);
            Vector512.Store(c09 * va, stage + 9 * s); Vector512.Store(c19 * va, stage + 9 * s + w);
            Vector512.Store(c0a * va, stage + 10 * s); Vector512.Store(c1a * va, stage + 10 * s + w);
            Vector512.Store(c0b * va, stage + 11 * s); Vector512.Store(c1b * va, stage + 11 * s + w);
        }
        T* t = stage + StageCols * 2 * w;
        StoreRows(stage, cols, c, ldc, Math.Min(rows, w), beta, t);
        if (rows > w) StoreRows(stage + w, cols, c + w * ldc, ldc, rows - w, beta, t);
    }

    /// <summary>
    /// C rows 0…rows−1 (≤ W), columns 0…cols−1 from the staged columns (column j's W rows at src + j·2W), W columns at a
    /// time through a W×W transpose into <paramref name="t"/>; staged columns past cols are read but never stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRows<T>(T* src, int cols, T* c, nint ldc, int rows, T beta, T* t)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        Vector512<T> vb = Vector512.Create(beta);
        bool readC = beta != T.Zero;
        for (int j0 = 0; j0 < cols; j0 += w)
        {
            Transpose(src + j0 * 2 * w, 2 * w, t, w);
            Vector512<T> mask = FirstLanes<T>(cols - j0);
            T* cr = c + j0;
            for (int r = 0; r < rows; r++, cr += ldc)
            {
                Vector512<T> v = Vector512.Load(t + r * w);
                if (readC) v = Simd.Fma(MaskLoad(cr, mask), vb, v);
                MaskStore(cr, mask, v);
            }
        }
    }

    /// <summary>
    /// rows (≤ 2W) rows of A (row r at a + r·lda, steps 0…k−1 contiguous) into at: step p's 2W rows at at + p·2W,
    /// zero for rows ≥ rows. Whole W×W blocks are transposed in place of A; partial ones through the staging buffer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackPanel<T>(T* a, nint lda, int rows, int k, T* at, T* stage)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count, panel = 2 * w;
        for (int h = 0; h < 2; h++)
        {
            int rh = Math.Clamp(rows - h * w, 0, w);
            T* ah = a + h * w * lda;
            int p0 = 0;
            if (rh == w)
                for (; p0 + w <= k; p0 += w) Transpose(ah + p0, lda, at + (nint)p0 * panel + h * w, panel);
            for (; p0 < k; p0 += w)
            {
                // The partial block: rh rows × kn steps into a zeroed W×W block, transposed there, kn steps copied out.
                int kn = Math.Min(w, k - p0);
                Vector512<T> mask = FirstLanes<T>(kn);
                for (int r = 0; r < w; r++)
                    Vector512.Store(r < rh ? MaskLoad(ah + r * lda + p0, mask) : Vector512<T>.Zero, stage + r * w);
                Transpose(stage, w, stage + w * w, w);
                for (int e = 0; e < kn; e++)
                    Vector512.Store(Vector512.Load(stage + w * w + e * w), at + (nint)(p0 + e) * panel + h * w);
            }
        }
    }

    /// <summary>A stored transposed (step p's rows contiguous at a + p·lda): the panel is a copy, zero for rows ≥ rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyPanel<T>(T* a, nint lda, int rows, int k, T* at)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        if (rows == 2 * w)
        {
            for (int p = 0; p < k; p++, a += lda, at += 2 * w)
            {
                Vector512.Store(Vector512.Load(a), at);
                Vector512.Store(Vector512.Load(a + w), at + w);
            }
            return;
        }
        Vector512<T> m0 = FirstLanes<T>(Math.Min(rows, w)), m1 = FirstLanes<T>(Math.Max(rows - w, 0));
        for (int p = 0; p < k; p++, a += lda, at += 2 * w)
        {
            Vector512.Store(MaskLoad(a, m0), at);
            Vector512.Store(MaskLoad(a + w, m1), at + w);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> FirstLanes<T>(int count) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).As<int, T>();
        return Vector512.LessThan(Vector512<long>.Indices, Vector512.Create((long)count)).As<long, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> MaskLoad<T>(T* p, Vector512<T> mask) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Avx512F.MaskLoad((float*)p, mask.AsSingle(), Vector512<float>.Zero).As<float, T>();
        return Avx512F.MaskLoad((double*)p, mask.AsDouble(), Vector512<double>.Zero).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MaskStore<T>(T* p, Vector512<T> mask, Vector512<T> v) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) Avx512F.MaskStore((float*)p, mask.AsSingle(), v.AsSingle());
        else Avx512F.MaskStore((double*)p, mask.AsDouble(), v.AsDouble());
    }

    /// <summary>The W×W block at s (rows ls apart) transposed into d (rows ld apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose<T>(T* s, nint ls, T* d, nint ld) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) Transpose16((float*)s, ls, (float*)d, ld);
        else Transpose8((double*)s, ls, (double*)d, ld);
    }

    /// <summary>16×16 float: in-lane unpacks of row pairs (ps, then pd), then two levels of 128-bit block shuffles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16(float* s, nint ls, float* d, nint ld)
    {
        // After the unpacks, u[4g + e] holds in block L the rows 4g…4g+3 of column 4L + e.
        var (u0, u1, u2, u3) = Quad(s, ls);
        var (u4, u5, u6, u7) = Quad(s + 4 * ls, ls);
        var (u8, u9, u10, u11) = Quad(s + 8 * ls, ls);
        var (u12, u13, u14, u15) = Quad(s + 12 * ls, ls);
        Column(u0, u4, u8, u12, d, ld, 0);
        Column(u1, u5, u9, u13, d, ld, 1);
        Column(u2, u6, u10, u14, d, ld, 2);
        Column(u3, u7, u11, u15, d, ld, 3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float>, Vector512<float>, Vector512<float>, Vector512<float>) Quad(float* s, nint ls)
    {
        Vector512<float> r0 = Vector512.Load(s), r1 = Vector512.Load(s + ls), r2 = Vector512.Load(s + 2 * ls), r3 = Vector512.Load(s + 3 * ls);
        Vector512<double> t0 = Avx512F.UnpackLow(r0, r1).AsDouble(), t1 = Avx512F.UnpackHigh(r0, r1).AsDouble();
        Vector512<double> t2 = Avx512F.UnpackLow(r2, r3).AsDouble(), t3 = Avx512F.UnpackHigh(r2, r3).AsDouble();
        return (Avx512F.UnpackLow(t0, t2).AsSingle(), Avx512F.UnpackHigh(t0, t2).AsSingle(),
            Avx512F.UnpackLow(t1, t3).AsSingle(), Avx512F.UnpackHigh(t1, t3).AsSingle());
    }

    /// <summary>Columns e, 4 + e, 8 + e, 12 + e from the four row groups' vectors for in-block column e.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Column(Vector512<float> g0, Vector512<float> g1, Vector512<float> g2, Vector512<float> g3, float* d, nint ld, int e)
    {
        Vector512<float> v0 = Avx512F.Shuffle4x128(g0, g1, 0x88), v1 = Avx512F.Shuffle4x128(g0, g1, 0xDD);
        Vector512<float> w0 = Avx512F.Shuffle4x128(g2, g3, 0x88), w1 = Avx512F.Shuffle4x128(g2, g3, 0xDD);
        Vector512.Store(Avx512F.Shuffle4x128(v0, w0, 0x88), d + e * ld);
        Vector512.Store(Avx512F.Shuffle4x128(v0, w0, 0xDD), d + (8 + e) * ld);
        Vector512.Store(Avx512F.Shuffle4x128(v1, w1, 0x88), d + (4 + e) * ld);
        Vector512.Store(Avx512F.Shuffle4x128(v1, w1, 0xDD), d + (12 + e) * ld);
    }

    /// <summary>8×8 double: in-lane unpacks of row pairs, then two levels of 128-bit block shuffles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(double* s, nint ls, double* d, nint ld)
    {
        // t: block L of UnpackLow(r_2i, r_2i+1) holds rows 2i, 2i+1 of column 2L; UnpackHigh of column 2L + 1.
        Vector512<double> r0 = Vector512.Load(s), r1 = Vector512.Load(s + ls), r2 = Vector512.Load(s + 2 * ls), r3 = Vector512.Load(s + 3 * ls);
        Vector512<double> r4 = Vector512.Load(s + 4 * ls), r5 = Vector512.Load(s + 5 * ls), r6 = Vector512.Load(s + 6 * ls), r7 = Vector512.Load(s + 7 * ls);
        Vector512<double> t0 = Avx512F.UnpackLow(r0, r1), t1 = Avx512F.UnpackHigh(r0, r1);
        Vector512<double> t2 = Avx512F.UnpackLow(r2, r3), t3 = Avx512F.UnpackHigh(r2, r3);
        Vector512<double> t4 = Avx512F.UnpackLow(r4, r5), t5 = Avx512F.UnpackHigh(r4, r5);
        Vector512<double> t6 = Avx512F.UnpackLow(r6, r7), t7 = Avx512F.UnpackHigh(r6, r7);
        // v/w: rows 0–3 / 4–7; block order (rows 01 col c, rows 01 col c + 4, rows 23 col c, rows 23 col c + 4).
        Vector512<double> v0 = Avx512F.Shuffle4x128(t0, t2, 0x88), v1 = Avx512F.Shuffle4x128(t0, t2, 0xDD);
        Vector512<double> v2 = Avx512F.Shuffle4x128(t1, t3, 0x88), v3 = Avx512F.Shuffle4x128(t1, t3, 0xDD);
        Vector512<double> w0 = Avx512F.Shuffle4x128(t4, t6, 0x88), w1 = Avx512F.Shuffle4x128(t4, t6, 0xDD);
        Vector512<double> w2 = Avx512F.Shuffle4x128(t5, t7, 0x88), w3 = Avx512F.Shuffle4x128(t5, t7, 0xDD);
        Vector512.Store(Avx512F.Shuffle4x128(v0, w0, 0x88), d);
        Vector512.Store(Avx512F.Shuffle4x128(v0, w0, 0xDD), d + 4 * ld);
        Vector512.Store(Avx512F.Shuffle4x128(v1, w1, 0x88), d + 2 * ld);
        Vector512.Store(Avx512F.Shuffle4x128(v1, w1, 0xDD), d + 6 * ld);
        Vector512.Store(Avx512F.Shuffle4x128(v2, w2, 0x88), d + 1 * ld);
        Vector512.Store(Avx512F.Shuffle4x128(v2, w2, 0xDD), d + 5 * ld);
        Vector512.Store(Avx512F.Shuffle4x128(v3, w3, 0x88), d + 3 * ld);
        Vector512.Store(Avx512F.Shuffle4x128(v3, w3, 0xDD), d + 7 * ld);
    }
}
