using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace JetSharp.CodeGen;

/// <summary>
/// The kernels that per-point regions of compiled code call on blocks of points held in small (first-level
/// cache) arrays: products of a block's rows with a small weight matrix, the accumulation of a weight gradient
/// over a block's rows, and the split of a region's blocks over two cores. Single-threaded (but
/// <see cref="ForChunks"/>) and allocation-free.
/// </summary>
public static class PointKernels
{
    /// <summary>
    /// Runs <paramref name="body"/> for chunks 0 … <paramref name="chunks"/> − 1, in parallel where there are
    /// several cores. The chunks are fixed by the caller (never by the core count), so results do not depend
    /// on the machine.
    /// </summary>
    public static void ForChunks<T>(int chunks, Action<int, T[][]> body, T[][] arrays)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (chunks <= 1 || Environment.ProcessorCount <= 1)
        {
            for (int c = 0; c < chunks; c++) body(c, arrays);
            return;
        }
        Parallel.For(0, chunks, c => body(c, arrays));
    }

    /// <summary>c[rows × n] = a[rows × k] · w[k × n], row-major, c overwritten.</summary>
    public static void MatMulRows<T>(T[] a, int rows, int k, T[] w, int n, T[] c) where T : unmanaged, INumber<T>
    {
        if (a.Length < rows * k || w.Length < k * n || c.Length < rows * n)
            throw new ArgumentException($"PointKernels.MatMulRows: arrays of {a.Length}, {w.Length}, {c.Length} elements for a [{rows}×{k}]·[{k}×{n}] product.");
        ref T pa = ref MemoryMarshal.GetArrayDataReference(a);
        ref T pw = ref MemoryMarshal.GetArrayDataReference(w);
        ref T pc = ref MemoryMarshal.GetArrayDataReference(c);
        int v = Vector<T>.Count;
        if (n == 1)
        {
            // Dot products of each row with the single column (contiguous).
            for (int r = 0; r < rows; r++) Unsafe.Add(ref pc, r) = Dot(ref Unsafe.Add(ref pa, r * k), ref pw, k);
            return;
        }
        int r0 = 0;
        if (Vector512.IsHardwareAccelerated && n % Vector512<T>.Count == 0 && n <= 4 * Vector512<T>.Count)
        {
            // Two rows at a time, up to four 512-bit accumulators per row: each row of w loaded once for both.
            int w8 = Vector512<T>.Count, parts = n / w8;
            for (; r0 + 2 <= rows; r0 += 2)
            {
                ref T a0 = ref Unsafe.Add(ref pa, r0 * k);
                ref T a1 = ref Unsafe.Add(ref a0, k);
                for (int q = 0; q < parts; q += 2)
                {
                    bool pair = q + 1 < parts;
                    Vector512<T> s00 = Vector512<T>.Zero, s01 = s00, s10 = s00, s11 = s00;
                    for (int p = 0; p < k; p++)
                    {
                        ref T wr = ref Unsafe.Add(ref pw, p * n + q * w8);
                        var w0 = Vector512.LoadUnsafe(ref wr);
                        var x0 = Vector512.Create(Unsafe.Add(ref a0, p));
                        var x1 = Vector512.Create(Unsafe.Add(ref a1, p));
                        s00 += x0 * w0;
                        s10 += x1 * w0;
                        if (pair)
                        {
                            var w1 = Vector512.LoadUnsafe(ref wr, (nuint)w8);
                            s01 += x0 * w1;
                            s11 += x1 * w1;
                        }
                    }
                    ref T c0 = ref Unsafe.Add(ref pc, r0 * n + q * w8);
                    s00.StoreUnsafe(ref c0);
                    s10.StoreUnsafe(ref c0, (nuint)n);
                    if (pair)
                    {
                        s01.StoreUnsafe(ref c0, (nuint)w8);
                        s11.StoreUnsafe(ref c0, (nuint)(n + w8));
                    }
                }
            }
        }
        for (int r = r0; r < rows; r++)
        {
            ref T ar = ref Unsafe.Add(ref pa, r * k);
            ref T cr = ref Unsafe.Add(ref pc, r * n);
            int j = 0;
            for (; j + 4 * v <= n; j += 4 * v)
            {
                Vector<T> s0 = Vector<T>.Zero, s1 = s0, s2 = s0, s3 = s0;
                for (int p = 0; p < k; p++)
                {
                    var x = new Vector<T>(Unsafe.Add(ref ar, p));
                    ref T wr = ref Unsafe.Add(ref pw, p * n + j);
                    s0 += x * Vector.LoadUnsafe(ref wr);
                    s1 += x * Vector.LoadUnsafe(ref wr, (nuint)v);
                    s2 += x * Vector.LoadUnsafe(ref wr, (nuint)(2 * v));
                    s3 += x * Vector.LoadUnsafe(ref wr, (nuint)(3 * v));
                }
                s0.StoreUnsafe(ref cr, (nuint)j);
                s1.StoreUnsafe(ref cr, (nuint)(j + v));
                s2.StoreUnsafe(ref cr, (nuint)(j + 2 * v));
                s3.StoreUnsafe(ref cr, (nuint)(j + 3 * v));
            }
            for (; j + v <= n; j += v)
            {
                var s = Vector<T>.Zero;
                for (int p = 0; p < k; p++) s += new Vector<T>(Unsafe.Add(ref ar, p)) * Vector.LoadUnsafe(ref pw, (nuint)(p * n + j));
                s.StoreUnsafe(ref cr, (nuint)j);
            }
            for (; j < n; j++)
            {
                T s = T.Zero;
                for (int p = 0; p < k; p++) s += Unsafe.Add(ref ar, p) * Unsafe.Add(ref pw, p * n + j);
                Unsafe.Add(ref cr, j) = s;
            }
        }
    }

    /// <summary>acc[m × n] += x[rows × m]ᵀ · y[rows × n], row-major: a weight gradient summed over a block's rows.</summary>
    public static void AddTransposedProduct<T>(T[] x, int rows, int m, T[] y, int n, T[] acc) where T : unmanaged, INumber<T>
    {
        if (x.Length < rows * m || y.Length < rows * n || acc.Length < m * n)
            throw new ArgumentException($"PointKernels.AddTransposedProduct: arrays of {x.Length}, {y.Length}, {acc.Length} elements for a [{rows}×{m}]ᵀ·[{rows}×{n}] product.");
        ref T px = ref MemoryMarshal.GetArrayDataReference(x);
        ref T py = ref MemoryMarshal.GetArrayDataReference(y);
        ref T pacc = ref MemoryMarshal.GetArrayDataReference(acc);
        if (n == 1)
        {
            // acc[i] += Σ_r x[r, i] · y[r]: rows of x scaled and added, vectorised along i.
            for (int r = 0; r < rows; r++) Axpy(Unsafe.Add(ref py, r), ref Unsafe.Add(ref px, r * m), ref pacc, m);
            return;
        }
        for (int r = 0; r < rows; r++)
        {
            ref T yr = ref Unsafe.Add(ref py, r * n);
            for (int i = 0; i < m; i++) Axpy(Unsafe.Add(ref px, r * m + i), ref yr, ref Unsafe.Add(ref pacc, i * n), n);
        }
    }

    /// <summary>y[0..len) += alpha · x[0..len).</summary>
    private static void Axpy<T>(T alpha, ref T x, ref T y, int len) where T : unmanaged, INumber<T>
    {
        int v = Vector<T>.Count, j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var a5 = Vector512.Create(alpha);
            for (; j + Vector512<T>.Count <= len; j += Vector512<T>.Count)
                (Vector512.LoadUnsafe(ref y, (nuint)j) + a5 * Vector512.LoadUnsafe(ref x, (nuint)j)).StoreUnsafe(ref y, (nuint)j);
        }
        var a = new Vector<T>(alpha);
        for (; j + v <= len; j += v)
            (Vector.LoadUnsafe(ref y, (nuint)j) + a * Vector.LoadUnsafe(ref x, (nuint)j)).StoreUnsafe(ref y, (nuint)j);
        for (; j < len; j++) Unsafe.Add(ref y, j) += alpha * Unsafe.Add(ref x, j);
    }

    private static T Dot<T>(ref T x, ref T y, int len) where T : unmanaged, INumber<T>
    {
        int v = Vector<T>.Count, j = 0;
        var s = Vector<T>.Zero;
        for (; j + v <= len; j += v) s += Vector.LoadUnsafe(ref x, (nuint)j) * Vector.LoadUnsafe(ref y, (nuint)j);
        T t = Vector.Sum(s);
        for (; j < len; j++) t += Unsafe.Add(ref x, j) * Unsafe.Add(ref y, j);
        return t;
    }
}
