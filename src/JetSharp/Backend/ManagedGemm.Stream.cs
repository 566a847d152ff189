using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace JetSharp.Backend;

/// <summary>
/// The L1 panel that a streamed product's full tiles are computed into (<see cref="GemmStream"/>): <see cref="Tiles"/>
/// full tiles side by side, rows <c>Tiles·NR</c> elements apart. <see cref="Tiles"/> = 0: C is not streamed.
/// </summary>
internal readonly unsafe struct GemmPanel<T>(T* p, int tiles) where T : unmanaged
{
    public readonly T* P = p;
    public readonly int Tiles = tiles;
}

/// <summary>
/// Streaming (non-temporal) stores for a C that is written once and does not fit the last-level cache (the stde
/// example's xᵀ·δ, [10⁵ × 100]·[100 × 128]: a 51 MB C). An ordinary store first reads its line for ownership, so such a
/// C costs its size twice in memory traffic; a streaming store of a whole aligned 64-byte line does not read it.
/// </summary>
/// <remarks>
/// The macro-kernel computes a row sliver's full tiles into an L1 panel (the values the kernel would have stored into C,
/// so the bits do not change), then <see cref="Rows"/> copies each panel row to C: the aligned 64-byte lines inside the
/// row with streaming stores, the partial lines at its two ends (C's rows start anywhere: .NET arrays are 8-byte
/// aligned) with ordinary ones. The right edge and the bottom partial sliver keep their ordinary stores.
/// </remarks>
internal static unsafe class GemmStream
{
    /// <summary>
    /// Smallest C (bytes, the whole product's) streamed: the last-level cache. Settable for tests; 0 streams every
    /// eligible product, <see cref="long.MaxValue"/> none. <c>JETSHARP_GEMM_STREAM=0</c> turns streaming off.
    /// </summary>
    internal static long MinBytes = Environment.GetEnvironmentVariable("JETSHARP_GEMM_STREAM") == "0"
        ? long.MaxValue : CacheSizes.Current.L3;

    /// <summary>
    /// True when every element of C is written exactly once and never read: beta = 0, one k block (K ≤ the product's
    /// KC), no epilogue (it would read C back right away), a C of at least <see cref="MinBytes"/>, and a CPU with
    /// streaming vector stores.
    /// </summary>
    public static bool Applies<T>(in GemmProblem<T> p, int kcMax) where T : unmanaged, IFloatingPointIeee754<T>
        => p.Epilogue is null && p.Beta == T.Zero && p.K <= kcMax && (long)p.M * p.N * sizeof(T) >= MinBytes
           && (Vector512.IsHardwareAccelerated || Vector256.IsHardwareAccelerated) && (nint)p.C % sizeof(T) == 0;

    /// <summary>Row ranges that streamed their C (for tests).</summary>
    internal static long Ranges;

    /// <summary>Full tiles per panel: the panel (MR × tiles·NR) takes at most half of L1.</summary>
    public static int PanelTiles(int mr, int nr, int elementSize)
        => Math.Max(1, CacheSizes.Current.L1 / 2 / (mr * nr * elementSize));

    /// <summary>
    /// Copies <paramref name="rows"/> × <paramref name="cols"/> elements from <paramref name="src"/> (row stride
    /// <paramref name="lds"/>) to <paramref name="dst"/> (row stride <paramref name="ldd"/>): each row's elements before
    /// its first 64-byte boundary and after its last whole vector by ordinary stores, the vectors between by streaming
    /// stores (aligned by construction). Writes exactly rows × cols elements.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows<T>(T* src, nint lds, T* dst, nint ldd, int rows, int cols) where T : unmanaged
    {
        for (int i = 0; i < rows; i++, src += lds, dst += ldd)
        {
            int head = Math.Min(cols, (int)((64 - ((nint)dst & 63)) & 63) / sizeof(T));
            int j = 0;
            for (; j < head; j++) dst[j] = src[j];
            if (Vector512.IsHardwareAccelerated)
                for (; j + Vector512<T>.Count <= cols; j += Vector512<T>.Count)
                    Vector512.StoreAlignedNonTemporal(Vector512.Load(src + j), dst + j);
            else
                for (; j + Vector256<T>.Count <= cols; j += Vector256<T>.Count)
                    Vector256.StoreAlignedNonTemporal(Vector256.Load(src + j), dst + j);
            for (; j < cols; j++) dst[j] = src[j];
        }
    }

    /// <summary>Orders this thread's streaming stores before its later stores (the range's completion flag).</summary>
    public static void Fence()
    {
        if (Sse.IsSupported) Sse.StoreFence();
    }
}
