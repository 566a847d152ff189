using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace JetSharp.Backend;

/// <summary>
/// The last few columns of a right edge with the vectors along M, for a packed A sliver (rsA = 1, csA = MR: step p's MR
/// rows contiguous, as the driver packs a stored-transposed A and every bottom partial sliver). Accumulator j holds
/// C[0 … MR − 1, j] in one or two vectors; per k step one or two loads of A (the sliver's MR rows, masked to them) and
/// per column a broadcast of B̃[p, j] and one FMA per vector. Against the half-width panel into scratch that such an edge
/// used before (NR/2 columns computed for at most NR/4), a 2-column float32 edge costs 2 FMAs per step instead of 12.
/// </summary>
/// <remarks>
/// Summation: each element one FMA chain over the kc steps in k order, then C = fma(C, β, α·acc) (C not read when β = 0),
/// as the register-tiled kernels' stores round; a lane's chain does not depend on the other rows, so a row gets the same
/// bits in a full or a partial sliver. Memory: A is read only at a[p·MR + r], r &lt; MR, p &lt; kc (masked loads, which
/// touch nothing past the sliver); B̃ at b[p·ldb + j] for j &lt; TC.N (≤ ldb: columns past cols are the sliver's padding
/// or columns that exist, read and discarded); C written only at rows &lt; rows, columns &lt; cols.
/// </remarks>
internal static unsafe class GemmColumnEdge
{
    internal interface ICols { static abstract int N { get; } }
    internal struct Cols2 : ICols { public static int N => 2; }
    internal struct Cols4 : ICols { public static int N => 4; }
    internal struct Cols8 : ICols { public static int N => 8; }

    /// <summary>Most columns of one call.</summary>
    public const int MaxCols = 8;

    /// <summary>Staging room a call needs: MaxCols columns of two vectors.</summary>
    public static int StageElements<T>() => 2 * MaxCols * Vector512<T>.Count;

    /// <summary>
    /// C rows 0 … rows − 1 (rows ≤ MR), columns 0 … cols − 1 (cols ≤ MaxCols; b[j] readable for j &lt; cols rounded up to
    /// 2, 4 or 8) from the packed sliver a (TK.MR ≤ 2W rows per step) and b (kc steps, ldb apart). <paramref name="s"/>:
    /// room for <see cref="StageElements{T}"/> elements (the accumulators pass through it on their way to C).
    /// </summary>
    public static void Packed<T, TK>(int kc, T* a, int rows, T* b, nint ldb, int cols, T* c, nint ldc, T alpha, T beta, T* s)
        where T : unmanaged, IFloatingPointIeee754<T> where TK : IGemmKernel<T>
    {
        if (cols <= 2) Run<T, TK, Cols2>(kc, a, rows, b, ldb, cols, c, ldc, alpha, beta, s);
        else if (cols <= 4) Run<T, TK, Cols4>(kc, a, rows, b, ldb, cols, c, ldc, alpha, beta, s);
        else Run<T, TK, Cols8>(kc, a, rows, b, ldb, cols, c, ldc, alpha, beta, s);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<T, TK, TC>(int kc, T* a, int rows, T* b, nint ldb, int cols, T* c, nint ldc, T alpha, T beta, T* s)
        where T : unmanaged, IFloatingPointIeee754<T> where TK : IGemmKernel<T> where TC : ICols
    {
        if (TK.MR > Vector512<T>.Count) Two<T, TK, TC>(kc, a, b, ldb, s);
        else One<T, TK, TC>(kc, a, b, ldb, s);
        // Column j's rows at s + j·2W; each element as Simd.PutScalar rounds it (the vector kernels' stores, per element).
        nint ls = 2 * Vector512<T>.Count;
        for (int i = 0; i < rows; i++, c += ldc)
            for (int j = 0; j < cols; j++)
                Simd.PutScalar(c + j, s[j * ls + i], alpha, beta);
    }

    /// <summary>MR ≤ W rows: one vector per column (TC.N ≤ 8 accumulators), column j's sums stored at s + j·2W.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void One<T, TK, TC>(int kc, T* a, T* b, nint ldb, T* s)
        where T : unmanaged, IFloatingPointIeee754<T> where TK : IGemmKernel<T> where TC : ICols
    {
        Vector512<T> mask = Simd.FirstLanes<T>(TK.MR);
        Vector512<T> e0 = default, e1 = default, e2 = default, e3 = default, e4 = default, e5 = default, e6 = default, e7 = default;
        for (int p = 0; p < kc; p++, a += TK.MR, b += ldb)
        {
            Vector512<T> x = Simd.MaskLoad(a, mask);
            e0 = Simd.Fma(x, Vector512.Create(b[0]), e0);
            e1 = Simd.Fma(x, Vector512.Create(b[1]), e1);
            if (TC.N > 2)
            {
                e2 = Simd.Fma(x, Vector512.Create(b[2]), e2);
                e3 = Simd.Fma(x, Vector512.Create(b[3]), e3);
            }
            if (TC.N > 4)
            {
                e4 = Simd.Fma(x, Vector512.Create(b[4]), e4);
                e5 = Simd.Fma(x, Vector512.Create(b[5]), e5);
                e6 = Simd.Fma(x, Vector512.Create(b[6]), e6);
                e7 = Simd.Fma(x, Vector512.Create(b[7]), e7);
            }
        }
        nint ls = 2 * Vector512<T>.Count;
        Vector512.Store(e0, s); Vector512.Store(e1, s + ls);
        if (TC.N > 2) { Vector512.Store(e2, s + 2 * ls); Vector512.Store(e3, s + 3 * ls); }
        if (TC.N > 4)
        {
            Vector512.Store(e4, s + 4 * ls); Vector512.Store(e5, s + 5 * ls);
            Vector512.Store(e6, s + 6 * ls); Vector512.Store(e7, s + 7 * ls);
        }
    }

    /// <summary>W &lt; MR ≤ 2W rows (float64, 12): two vectors per column, at most 4 columns (8 accumulators).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Two<T, TK, TC>(int kc, T* a, T* b, nint ldb, T* s)
        where T : unmanaged, IFloatingPointIeee754<T> where TK : IGemmKernel<T> where TC : ICols
    {
        int w = Vector512<T>.Count;
        if (TC.N > 4) throw new NotSupportedException("Two vectors per column: at most 4 columns.");
        Vector512<T> mask = Simd.FirstLanes<T>(TK.MR - w);
        Vector512<T> e0 = default, e1 = default, e2 = default, e3 = default, f0 = default, f1 = default, f2 = default, f3 = default;
        for (int p = 0; p < kc; p++, a += TK.MR, b += ldb)
        {
            Vector512<T> x0 = Vector512.Load(a), x1 = Simd.MaskLoad(a + w, mask);
            Vector512<T> y = Vector512.Create(b[0]);
            e0 = Simd.Fma(x0, y, e0); f0 = Simd.Fma(x1, y, f0);
            y = Vector512.Create(b[1]);
            e1 = Simd.Fma(x0, y, e1); f1 = Simd.Fma(x1, y, f1);
            if (TC.N > 2)
            {
                y = Vector512.Create(b[2]);
                e2 = Simd.Fma(x0, y, e2); f2 = Simd.Fma(x1, y, f2);
                y = Vector512.Create(b[3]);
                e3 = Simd.Fma(x0, y, e3); f3 = Simd.Fma(x1, y, f3);
            }
        }
        nint ls = 2 * w;
        Vector512.Store(e0, s); Vector512.Store(f0, s + w);
        Vector512.Store(e1, s + ls); Vector512.Store(f1, s + ls + w);
        if (TC.N > 2)
        {
            Vector512.Store(e2, s + 2 * ls); Vector512.Store(f2, s + 2 * ls + w);
            Vector512.Store(e3, s + 3 * ls); Vector512.Store(f3, s + 3 * ls + w);
        }
    }
}
