#if JETSHARP_CHECKED
using System.Runtime.InteropServices;

namespace JetSharp.Backend;

/// <summary>
/// Checked builds only (<c>dotnet build -p:JetSharpCheckedAccess=true</c>, which defines JETSHARP_CHECKED; see
/// docs/reliability.md, "Crashes of the background GC"): the managed GEMM, which writes C through raw pointers, runs on
/// a copy of C with red zones on both sides and is then checked to have written exactly the elements of C's region
/// (not the red zones, not the gaps between rows or items, not A or B); the copy is then filled with a marker and kept
/// until the thread's next product, which checks that nothing wrote into it after its product returned (a part that
/// outlived its round). Any violation throws, naming the product.
/// </summary>
internal static class CheckedGemm
{
    private const int Pad = 256;

    [ThreadStatic] private static bool t_inside;
    [ThreadStatic] private static Array? t_quarantine;
    [ThreadStatic] private static string? t_quarantineOf;

    private const long MarkerBits64 = 0x7FFC_DEAD_BEEF_0001;   // quiet NaNs: a signalling NaN may be quieted on the way into the array
    private const int MarkerBits32 = 0x7FE5_DEAD;

    private static T Marker<T>() where T : unmanaged =>
        typeof(T) == typeof(double) ? (T)(object)BitConverter.Int64BitsToDouble(MarkerBits64) : (T)(object)BitConverter.Int32BitsToSingle(MarkerBits32);

    /// <summary>The first element of <paramref name="x"/> whose bits are not the marker's, or -1.</summary>
    private static int NotMarker<T>(ReadOnlySpan<T> x) where T : unmanaged =>
        typeof(T) == typeof(double) ? MemoryMarshal.Cast<T, long>(x).IndexOfAnyExcept(MarkerBits64) : MemoryMarshal.Cast<T, int>(x).IndexOfAnyExcept(MarkerBits32);

    /// <summary>The first element where the bits of <paramref name="x"/> and <paramref name="y"/> differ, or -1.</summary>
    private static int Differs<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged
    {
        int bytes = MemoryMarshal.AsBytes(x).CommonPrefixLength(MemoryMarshal.AsBytes(y));
        return bytes == x.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() ? -1 : bytes / System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
    }

    /// <summary>Runs the product through the checked copy; false when already inside one (the inner call then runs directly).</summary>
    public static bool Run<T>(GemmKernelPath path, int batch, bool transA, bool transB, int m, int n, int k, T alpha,
        T[] a, int offA, int lda, long strideA, T[] b, int offB, int ldb, long strideB,
        T beta, T[] c, int offC, int ldc, long strideC)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (t_inside) return false;
        string what = $"ManagedGemm (JETSHARP_CHECKED): batch={batch}, m={m}, n={n}, k={k}, transA={transA}, transB={transB}, " +
                      $"offA={offA}, lda={lda}, strideA={strideA}, offB={offB}, ldb={ldb}, strideB={strideB}, offC={offC}, ldc={ldc}, " +
                      $"strideC={strideC}, arrays {a.Length}/{b.Length}/{c.Length}";
        CheckQuarantine<T>();
        T marker = Marker<T>();
        T[]? aBefore = ReferenceEquals(a, c) ? null : (T[])a.Clone(), bBefore = ReferenceEquals(b, c) ? null : (T[])b.Clone();
        var expected = (T[])c.Clone();
        var copy = new T[c.Length + 2 * Pad];
        copy.AsSpan().Fill(marker);
        c.CopyTo(copy, Pad);
        // Nothing but this product knows the copy: a change before the product runs is a stray write from elsewhere.
        if (NotMarker<T>(copy.AsSpan(0, Pad)) is var early and >= 0)
            throw new InvalidOperationException($"{what}: element {early} of a fresh array (its front red zone) changed before the product ran: {Describe(copy, early)}.");
        t_inside = true;
        try
        {
            ManagedGemm.Multiply(path, batch, transA, transB, m, n, k, alpha,
                ReferenceEquals(a, c) ? copy : a, ReferenceEquals(a, c) ? offA + Pad : offA, lda, strideA,
                ReferenceEquals(b, c) ? copy : b, ReferenceEquals(b, c) ? offB + Pad : offB, ldb, strideB,
                beta, copy, offC + Pad, ldc, strideC);
        }
        finally
        {
            t_inside = false;
        }
        if (NotMarker<T>(copy.AsSpan(0, Pad)) is var before and >= 0)
            throw new InvalidOperationException($"{what}: wrote {Pad - before} elements before C's array: {Describe(copy, before)}.");
        if (NotMarker<T>(copy.AsSpan(Pad + c.Length)) is var after and >= 0)
            throw new InvalidOperationException($"{what}: wrote element {c.Length + after} past the end of C's array: {Describe(copy, Pad + c.Length + after)}.");
        // Everything of C's array outside C's region must be as it was.
        for (int i = 0; i < batch; i++)
            for (int r = 0; r < m; r++)
            {
                int at = checked((int)(offC + i * strideC + (long)r * ldc));
                copy.AsSpan(Pad + at, n).CopyTo(expected.AsSpan(at, n));
            }
        if (Differs<T>(expected, copy.AsSpan(Pad, c.Length)) is var outside and >= 0)
            throw new InvalidOperationException($"{what}: wrote element {outside} of C's array, outside C.");
        if (aBefore is not null && Differs<T>(aBefore, a) is var da and >= 0)
            throw new InvalidOperationException($"{what}: changed element {da} of A.");
        if (bBefore is not null && Differs<T>(bBefore, b) is var db and >= 0)
            throw new InvalidOperationException($"{what}: changed element {db} of B.");
        copy.AsSpan(Pad, c.Length).CopyTo(c);
        copy.AsSpan().Fill(marker);
        t_quarantine = copy;
        t_quarantineOf = what;
        return true;
    }

    /// <summary>The bytes of copy[at…at+3], how many elements of the front red zone differ from the marker, and the thread.</summary>
    private static string Describe<T>(T[] copy, int at) where T : unmanaged
    {
        var bits = MemoryMarshal.AsBytes(copy.AsSpan(at, Math.Min(4, copy.Length - at)));
        int total = 0;
        for (int i = 0; i < Pad; i++) if (NotMarker<T>(copy.AsSpan(i, 1)) == 0) total++;
        return $"bytes {Convert.ToHexString(bits)} (type {typeof(T).Name}); {total} of the front zone's {Pad} elements changed; thread {Environment.CurrentManagedThreadId} '{Thread.CurrentThread.Name}'";
    }

    /// <summary>The previous product's copy (this thread) must still hold only the marker: nothing may write after a product returns.</summary>
    private static void CheckQuarantine<T>() where T : unmanaged
    {
        var q = t_quarantine;
        t_quarantine = null;
        int at = q switch { double[] d => NotMarker<double>(d), float[] f => NotMarker<float>(f), _ => -1 };
        if (at >= 0)
            throw new InvalidOperationException($"{t_quarantineOf}: element {at - Pad} of its C copy was written after the product returned.");
    }
}
#endif
