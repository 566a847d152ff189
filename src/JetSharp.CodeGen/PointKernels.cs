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
    /// several cores, on the same threads as the runtime's kernels (the GEMM's workers, which keep polling for a
    /// while after a product, so a .NET pool thread would have to compete with one for a core). The chunks are
    /// fixed by the caller (never by the core count), so results do not depend on the machine.
    /// </summary>
    public static void ForChunks<T>(int chunks, Action<int, T[][]> body, T[][] arrays)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(arrays);
        ArgumentOutOfRangeException.ThrowIfNegative(chunks);
        if (chunks == 0) return;
        JetSharp.Backend.Parallelism.Run(chunks, c => body(c, arrays));
    }

    /// <summary>
    /// The 512-bit vector at <c>a[i]</c>, without a bounds check: for the element loops of emitted per-point regions,
    /// whose block arrays the same method allocates with sizes fixed at emission, so that every index is in range by
    /// construction (the checked <c>Vector512.Create(a, i)</c> tests two bounds per load).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Load512<T>(T[] a, int i) where T : unmanaged
    {
#if JETSHARP_CHECKED
        CheckRange(a, i, Vector512<T>.Count, nameof(Load512));
#endif
        return Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(a), (nuint)(uint)i);
    }

    /// <summary>Stores <paramref name="v"/> at <c>a[i]</c> without a bounds check (see <see cref="Load512{T}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store512<T>(Vector512<T> v, T[] a, int i) where T : unmanaged
    {
#if JETSHARP_CHECKED
        CheckRange(a, i, Vector512<T>.Count, nameof(Store512));
#endif
        v.StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(a), (nuint)(uint)i);
    }

    /// <summary>The <see cref="Vector{T}"/> at <c>a[i]</c> without a bounds check (see <see cref="Load512{T}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> LoadVector<T>(T[] a, int i) where T : unmanaged
    {
#if JETSHARP_CHECKED
        CheckRange(a, i, Vector<T>.Count, nameof(LoadVector));
#endif
        return Vector.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(a), (nuint)(uint)i);
    }

    /// <summary>Stores <paramref name="v"/> at <c>a[i]</c> without a bounds check (see <see cref="Load512{T}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreVector<T>(Vector<T> v, T[] a, int i) where T : unmanaged
    {
#if JETSHARP_CHECKED
        CheckRange(a, i, Vector<T>.Count, nameof(StoreVector));
#endif
        v.StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(a), (nuint)(uint)i);
    }

#if JETSHARP_CHECKED
    /// <summary>Checked builds (JETSHARP_CHECKED): elements [i, i + count) must lie inside <paramref name="a"/>.</summary>
    private static void CheckRange<T>(T[] a, int i, int count, string accessor)
    {
        if (i < 0 || (long)i + count > a.Length)
            throw new IndexOutOfRangeException($"PointKernels.{accessor}: elements [{i}, {(long)i + count}) of an array of {a.Length} (JETSHARP_CHECKED).");
    }
#endif

    /// <summary>
    /// tanh of each lane, for the element loops of per-point regions (tanh computed inside a fused loop, not as a
    /// separate pass): the backend's formula (<c>Transcendental.Tanh</c>) — x + x·P(x²)/Q(x²) for |x| &lt; 0.625, else
    /// ±(1 − 2/(e^{2|x|} + 1)) — with an exponential inlined into the loop for double (<see cref="ExpForTanh(Vector512{double})"/>; a call to
    /// <c>Vector512.Exp</c> spills the loop's 512-bit values to the stack, and the same loop ran 2–3× slower in some processes
    /// than in others — likely stack slots split across cache lines); float likewise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Tanh<T>(Vector512<T> x) where T : unmanaged, INumber<T>
    {
        if (typeof(T) == typeof(double)) return TanhDouble(x.As<T, double>()).As<double, T>();
        if (typeof(T) == typeof(float)) return TanhSingle(x.As<T, float>()).As<float, T>();
        throw new NotSupportedException($"PointKernels.Tanh: {typeof(T).Name} is not a floating-point type.");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> TanhDouble(Vector512<double> x)
    {
        var s = x * x;
        var p = ((Vector512.Create(-9.64399179425052238628e-1) * s + Vector512.Create(-9.92877231001918586564e1)) * s + Vector512.Create(-1.61468768441708447952e3)) * s;
        var q = ((s + Vector512.Create(1.12811678491632931402e2)) * s + Vector512.Create(2.23548839060100448583e3)) * s + Vector512.Create(4.84406305325125486048e3);
        var e = ExpForTanh(Vector512.Abs(x + x)) + Vector512<double>.One;
        // One division for both branches: p/q where |x| < 0.625, 2/(e + 1) elsewhere (NaN fails the test: NaN/…).
        var small = Vector512.LessThan(Vector512.Abs(x), Vector512.Create(0.625));
        var ratio = Vector512.ConditionalSelect(small, p, Vector512.Create(2.0)) / Vector512.ConditionalSelect(small, q, e);
        // The correction has the opposite sign to x, so at x = -0 the sum would be +0: keep x there.
        var near = Vector512.ConditionalSelect(Vector512.Equals(x, Vector512<double>.Zero), x, x + x * ratio);
        var big = Vector512<double>.One - ratio;
        big = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<double>.Zero), -big, big);
        return Vector512.ConditionalSelect(small, near, big);
    }


    /// <summary>
    /// e^a for a ≥ 0 (or NaN), as <see cref="TanhDouble"/> needs it: a is capped at <see cref="TanhExpCap"/>, where
    /// 1 − 2/(e^a + 1) already rounds to 1, so nothing overflows. a = n·ln 2 + r with n = round(a / ln 2) and |r| ≤ ln 2 / 2
    /// (ln 2 in two parts, so r is exact), e^r by its Taylor series to r¹³ (truncation below 10⁻¹⁷ relative), times 2ⁿ
    /// built in the exponent bits. Inlined, so a tanh loop keeps its vectors in registers; tanh through it is as accurate
    /// as through <c>Vector512.Exp</c> (tested), whose special cases this range never meets. NaN stays NaN (r is NaN).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> ExpForTanh(Vector512<double> a)
    {
        var cap = Vector512.Create(TanhExpCap);
        a = Vector512.ConditionalSelect(Vector512.GreaterThan(a, cap), cap, a);
        // Adding 1.5·2⁵² rounds a / ln 2 to an integer n held in the low mantissa bits.
        var shifter = Vector512.Create(6755399441055744.0);
        var k = Vector512.FusedMultiplyAdd(a, Vector512.Create(1.4426950408889634), shifter);
        var n = k - shifter;
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-6.93147180369123816490e-01), a);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-1.90821492927058770002e-10), r);
        var p = Vector512.Create(1.0 / 6227020800.0);                               // 1/13!
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 479001600.0));   // 1/12!
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 39916800.0));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 3628800.0));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 362880.0));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 40320.0));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 5040.0));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 720.0));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 120.0));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 24.0));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 6.0));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<double>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<double>.One);
        // 2ⁿ: n (0 ≤ n ≤ 73) shifted into the exponent field, plus the bias.
        var scale = (Vector512.ShiftLeft(k.AsInt64(), 52) + Vector512.Create(1023L << 52)).AsDouble();
        return p * scale;
    }

    /// <summary>
    /// The float counterpart of <see cref="ExpForTanh(Vector512{double})"/>: n = round(a / ln 2) by adding 1.5·2²³, ln 2 in
    /// two parts (Cephes' split), the Taylor series of e^r to r⁷ (truncation below 10⁻⁸ relative), 2ⁿ in the exponent bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpForTanh(Vector512<float> a)
    {
        var cap = Vector512.Create((float)TanhExpCap);
        a = Vector512.ConditionalSelect(Vector512.GreaterThan(a, cap), cap, a);
        var shifter = Vector512.Create(12582912.0f);
        var k = Vector512.FusedMultiplyAdd(a, Vector512.Create(1.44269504f), shifter);
        var n = k - shifter;
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), a);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.Create(1.0f / 5040);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0f / 720));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0f / 120));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0f / 24));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0f / 6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        var scale = (Vector512.ShiftLeft(k.AsInt32(), 23) + Vector512.Create(127 << 23)).AsSingle();
        return p * scale;
    }

    /// <summary>Where <see cref="ExpForTanh(Vector512{double})"/> caps its argument 2|x|: tanh(x) rounds to ±1 from |x| ≈ 19.1 on (float: 9.1).</summary>
    private const double TanhExpCap = 50.0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> TanhSingle(Vector512<float> x)
    {
        var s = x * x;
        var p = ((Vector512.Create(-9.64399179425052238628e-1f) * s + Vector512.Create(-9.92877231001918586564e1f)) * s + Vector512.Create(-1.61468768441708447952e3f)) * s;
        var q = ((s + Vector512.Create(1.12811678491632931402e2f)) * s + Vector512.Create(2.23548839060100448583e3f)) * s + Vector512.Create(4.84406305325125486048e3f);
        var e = ExpForTanh(Vector512.Abs(x + x)) + Vector512<float>.One;
        // One division for both branches: p/q where |x| < 0.625, 2/(e + 1) elsewhere (NaN fails the test: NaN/…).
        var small = Vector512.LessThan(Vector512.Abs(x), Vector512.Create(0.625f));
        var ratio = Vector512.ConditionalSelect(small, p, Vector512.Create(2.0f)) / Vector512.ConditionalSelect(small, q, e);
        // The correction has the opposite sign to x, so at x = -0 the sum would be +0: keep x there.
        var near = Vector512.ConditionalSelect(Vector512.Equals(x, Vector512<float>.Zero), x, x + x * ratio);
        var big = Vector512<float>.One - ratio;
        big = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), -big, big);
        return Vector512.ConditionalSelect(small, near, big);
    }


    /// <summary>c[rows × n] = a[rows × k] · w[k × n], row-major, c overwritten.</summary>
    public static void MatMulRows<T>(T[] a, int rows, int k, T[] w, int n, T[] c) where T : unmanaged, INumber<T>
    {
        if (a.Length < rows * k || w.Length < k * n || c.Length < rows * n)
            throw new ArgumentException($"PointKernels.MatMulRows: arrays of {a.Length}, {w.Length}, {c.Length} elements for a [{rows}×{k}]·[{k}×{n}] product.");
        ref T pa = ref MemoryMarshal.GetArrayDataReference(a);
        ref T pw = ref MemoryMarshal.GetArrayDataReference(w);
        ref T pc = ref MemoryMarshal.GetArrayDataReference(c);
        if (n == 1)
        {
            // Dot products of each row with the single column (contiguous).
            for (int r = 0; r < rows; r++) Unsafe.Add(ref pc, r) = Dot(ref Unsafe.Add(ref pa, r * k), ref pw, k);
            return;
        }
        // C = Σ_p A[:, p] ⊗ W[p, :]: A's element (r, p) at r·k + p, W's row p at p·n.
        Product(ref pa, k, 1, ref pw, n, k, ref pc, n, rows, n, accumulate: false);
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
        // acc += Σ_r X[r, :]ᵀ ⊗ Y[r, :]: the "A" operand is Xᵀ, its element (i, r) at r·m + i; Y's row r at r·n.
        Product(ref px, 1, m, ref py, n, rows, ref pacc, n, m, n, accumulate: true);
    }

    /// <summary>
    /// C[i, j] (+)= Σ_p A(i, p) · B[p, j] for i &lt; <paramref name="m"/>, j &lt; <paramref name="n"/>, p &lt; <paramref name="steps"/>,
    /// with A(i, p) at <c>a[i · aRow + p · aStep]</c>, B[p, j] at <c>b[p · bRow + j]</c>, C[i, j] at <c>c[i · cRow + j]</c>.
    /// Register-blocked: tiles of 4 rows × 4 vectors (16 accumulators; 4 × 32 doubles with 512-bit vectors), each
    /// vector of B loaded once per step for 4 rows and each element of A broadcast once for 4 vectors; then tiles of
    /// 4 rows × 1 vector, single rows, and the columns past the last whole vector in scalar code.
    /// </summary>
    private static void Product<T>(ref T a, nint aRow, nint aStep, ref T b, nint bRow, int steps, ref T c, nint cRow, int m, int n, bool accumulate)
        where T : unmanaged, INumber<T>
    {
        int j0 = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
            j0 = Tiles512(ref a, aRow, aStep, ref b, bRow, steps, ref c, cRow, m, n, accumulate);
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<T>.Count)
            j0 = Tiles256(ref a, aRow, aStep, ref b, bRow, steps, ref c, cRow, m, n, accumulate);
        // Columns past the last whole vector.
        for (int i = 0; i < m; i++)
            for (int j = j0; j < n; j++)
            {
                T s = accumulate ? Unsafe.Add(ref c, i * cRow + j) : T.Zero;
                for (int p = 0; p < steps; p++) s += Unsafe.Add(ref a, i * aRow + p * aStep) * Unsafe.Add(ref b, p * bRow + j);
                Unsafe.Add(ref c, i * cRow + j) = s;
            }
    }

    /// <summary>The whole-vector columns of <see cref="Product"/> in 512-bit vectors; returns the first column left over.</summary>
    private static int Tiles512<T>(ref T a, nint aRow, nint aStep, ref T b, nint bRow, int steps, ref T c, nint cRow, int m, int n, bool accumulate)
        where T : unmanaged, INumber<T>
    {
        int w = Vector512<T>.Count, j = 0;
        for (; j + 4 * w <= n; j += 4 * w)
        {
            int i = 0;
            for (; i + 4 <= m; i += 4) Tile4x4(ref Unsafe.Add(ref a, i * aRow), aRow, aStep, ref Unsafe.Add(ref b, j), bRow, steps, ref Unsafe.Add(ref c, i * cRow + j), cRow, accumulate);
            for (; i < m; i++) Tile1x4(ref Unsafe.Add(ref a, i * aRow), aStep, ref Unsafe.Add(ref b, j), bRow, steps, ref Unsafe.Add(ref c, i * cRow + j), accumulate);
        }
        for (; j + w <= n; j += w)
        {
            int i = 0;
            for (; i + 4 <= m; i += 4) Tile4x1(ref Unsafe.Add(ref a, i * aRow), aRow, aStep, ref Unsafe.Add(ref b, j), bRow, steps, ref Unsafe.Add(ref c, i * cRow + j), cRow, accumulate);
            for (; i < m; i++)
            {
                ref T ai = ref Unsafe.Add(ref a, i * aRow);
                ref T ci = ref Unsafe.Add(ref c, i * cRow + j);
                var s = accumulate ? Vector512.LoadUnsafe(ref ci) : Vector512<T>.Zero;
                for (int p = 0; p < steps; p++) s = Fma(Vector512.Create(Unsafe.Add(ref ai, p * aStep)), Vector512.LoadUnsafe(ref Unsafe.Add(ref b, p * bRow + j)), s);
                s.StoreUnsafe(ref ci);
            }
        }
        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4x4<T>(ref T a, nint aRow, nint aStep, ref T b, nint bRow, int steps, ref T c, nint cRow, bool accumulate)
        where T : unmanaged, INumber<T>
    {
        nuint w = (nuint)Vector512<T>.Count, r1 = (nuint)cRow, r2 = 2 * r1, r3 = 3 * r1;
        Vector512<T> c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33;
        if (accumulate)
        {
            c00 = Vector512.LoadUnsafe(ref c); c01 = Vector512.LoadUnsafe(ref c, w); c02 = Vector512.LoadUnsafe(ref c, 2 * w); c03 = Vector512.LoadUnsafe(ref c, 3 * w);
            c10 = Vector512.LoadUnsafe(ref c, r1); c11 = Vector512.LoadUnsafe(ref c, r1 + w); c12 = Vector512.LoadUnsafe(ref c, r1 + 2 * w); c13 = Vector512.LoadUnsafe(ref c, r1 + 3 * w);
            c20 = Vector512.LoadUnsafe(ref c, r2); c21 = Vector512.LoadUnsafe(ref c, r2 + w); c22 = Vector512.LoadUnsafe(ref c, r2 + 2 * w); c23 = Vector512.LoadUnsafe(ref c, r2 + 3 * w);
            c30 = Vector512.LoadUnsafe(ref c, r3); c31 = Vector512.LoadUnsafe(ref c, r3 + w); c32 = Vector512.LoadUnsafe(ref c, r3 + 2 * w); c33 = Vector512.LoadUnsafe(ref c, r3 + 3 * w);
        }
        else
        {
            c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = c20 = c21 = c22 = c23 = c30 = c31 = c32 = c33 = Vector512<T>.Zero;
        }
        for (int p = 0; p < steps; p++)
        {
            ref T bp = ref Unsafe.Add(ref b, p * bRow);
            var b0 = Vector512.LoadUnsafe(ref bp);
            var b1 = Vector512.LoadUnsafe(ref bp, w);
            var b2 = Vector512.LoadUnsafe(ref bp, 2 * w);
            var b3 = Vector512.LoadUnsafe(ref bp, 3 * w);
            ref T ap = ref Unsafe.Add(ref a, p * aStep);
            var x = Vector512.Create(ap);
            c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01); c02 = Fma(x, b2, c02); c03 = Fma(x, b3, c03);
            x = Vector512.Create(Unsafe.Add(ref ap, aRow));
            c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11); c12 = Fma(x, b2, c12); c13 = Fma(x, b3, c13);
            x = Vector512.Create(Unsafe.Add(ref ap, 2 * aRow));
            c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21); c22 = Fma(x, b2, c22); c23 = Fma(x, b3, c23);
            x = Vector512.Create(Unsafe.Add(ref ap, 3 * aRow));
            c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31); c32 = Fma(x, b2, c32); c33 = Fma(x, b3, c33);
        }
        c00.StoreUnsafe(ref c); c01.StoreUnsafe(ref c, w); c02.StoreUnsafe(ref c, 2 * w); c03.StoreUnsafe(ref c, 3 * w);
        c10.StoreUnsafe(ref c, r1); c11.StoreUnsafe(ref c, r1 + w); c12.StoreUnsafe(ref c, r1 + 2 * w); c13.StoreUnsafe(ref c, r1 + 3 * w);
        c20.StoreUnsafe(ref c, r2); c21.StoreUnsafe(ref c, r2 + w); c22.StoreUnsafe(ref c, r2 + 2 * w); c23.StoreUnsafe(ref c, r2 + 3 * w);
        c30.StoreUnsafe(ref c, r3); c31.StoreUnsafe(ref c, r3 + w); c32.StoreUnsafe(ref c, r3 + 2 * w); c33.StoreUnsafe(ref c, r3 + 3 * w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile1x4<T>(ref T a, nint aStep, ref T b, nint bRow, int steps, ref T c, bool accumulate)
        where T : unmanaged, INumber<T>
    {
        nuint w = (nuint)Vector512<T>.Count;
        Vector512<T> c0, c1, c2, c3;
        if (accumulate) { c0 = Vector512.LoadUnsafe(ref c); c1 = Vector512.LoadUnsafe(ref c, w); c2 = Vector512.LoadUnsafe(ref c, 2 * w); c3 = Vector512.LoadUnsafe(ref c, 3 * w); }
        else c0 = c1 = c2 = c3 = Vector512<T>.Zero;
        for (int p = 0; p < steps; p++)
        {
            ref T bp = ref Unsafe.Add(ref b, p * bRow);
            var x = Vector512.Create(Unsafe.Add(ref a, p * aStep));
            c0 = Fma(x, Vector512.LoadUnsafe(ref bp), c0);
            c1 = Fma(x, Vector512.LoadUnsafe(ref bp, w), c1);
            c2 = Fma(x, Vector512.LoadUnsafe(ref bp, 2 * w), c2);
            c3 = Fma(x, Vector512.LoadUnsafe(ref bp, 3 * w), c3);
        }
        c0.StoreUnsafe(ref c); c1.StoreUnsafe(ref c, w); c2.StoreUnsafe(ref c, 2 * w); c3.StoreUnsafe(ref c, 3 * w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4x1<T>(ref T a, nint aRow, nint aStep, ref T b, nint bRow, int steps, ref T c, nint cRow, bool accumulate)
        where T : unmanaged, INumber<T>
    {
        nuint r1 = (nuint)cRow;
        Vector512<T> c0, c1, c2, c3;
        if (accumulate) { c0 = Vector512.LoadUnsafe(ref c); c1 = Vector512.LoadUnsafe(ref c, r1); c2 = Vector512.LoadUnsafe(ref c, 2 * r1); c3 = Vector512.LoadUnsafe(ref c, 3 * r1); }
        else c0 = c1 = c2 = c3 = Vector512<T>.Zero;
        for (int p = 0; p < steps; p++)
        {
            var bv = Vector512.LoadUnsafe(ref Unsafe.Add(ref b, p * bRow));
            ref T ap = ref Unsafe.Add(ref a, p * aStep);
            c0 = Fma(Vector512.Create(ap), bv, c0);
            c1 = Fma(Vector512.Create(Unsafe.Add(ref ap, aRow)), bv, c1);
            c2 = Fma(Vector512.Create(Unsafe.Add(ref ap, 2 * aRow)), bv, c2);
            c3 = Fma(Vector512.Create(Unsafe.Add(ref ap, 3 * aRow)), bv, c3);
        }
        c0.StoreUnsafe(ref c); c1.StoreUnsafe(ref c, r1); c2.StoreUnsafe(ref c, 2 * r1); c3.StoreUnsafe(ref c, 3 * r1);
    }

    /// <summary>The whole-vector columns of <see cref="Product"/> in 256-bit vectors (machines without AVX-512), one row and one vector at a time.</summary>
    private static int Tiles256<T>(ref T a, nint aRow, nint aStep, ref T b, nint bRow, int steps, ref T c, nint cRow, int m, int n, bool accumulate)
        where T : unmanaged, INumber<T>
    {
        int w = Vector256<T>.Count, j = 0;
        for (; j + w <= n; j += w)
        {
            for (int i = 0; i < m; i++)
            {
                ref T ai = ref Unsafe.Add(ref a, i * aRow);
                ref T ci = ref Unsafe.Add(ref c, i * cRow + j);
                var s = accumulate ? Vector256.LoadUnsafe(ref ci) : Vector256<T>.Zero;
                for (int p = 0; p < steps; p++) s += Vector256.Create(Unsafe.Add(ref ai, p * aStep)) * Vector256.LoadUnsafe(ref Unsafe.Add(ref b, p * bRow + j));
                s.StoreUnsafe(ref ci);
            }
        }
        return j;
    }

    /// <summary>x · y + z, fused where the element type has a fused instruction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma<T>(Vector512<T> x, Vector512<T> y, Vector512<T> z) where T : unmanaged, INumber<T>
    {
        if (typeof(T) == typeof(double)) return Vector512.FusedMultiplyAdd(x.As<T, double>(), y.As<T, double>(), z.As<T, double>()).As<double, T>();
        if (typeof(T) == typeof(float)) return Vector512.FusedMultiplyAdd(x.As<T, float>(), y.As<T, float>(), z.As<T, float>()).As<float, T>();
        return x * y + z;
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
