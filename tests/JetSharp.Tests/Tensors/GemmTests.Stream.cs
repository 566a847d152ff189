using System.Numerics;
using JetSharp.Backend;

namespace JetSharp.Tests;

/// <summary>
/// A C written once (beta = 0, one k block, no epilogue) and larger than the last-level cache goes out with streaming
/// stores through an L1 panel (<see cref="GemmStream"/>). The tests lower the size threshold to 0 so small products take
/// that path: against the float64 triple loop with the guard elements around C (every offset, so C's rows start at
/// every position within a 64-byte line), and bit for bit against ordinary stores, on one thread and on all.
/// </summary>
public partial class GemmTests
{
    [Theory]
    [MemberData(nameof(KernelPaths))]
    public void StreamedC_MatchesReference_AndStaysInsideC(string kernel, bool transA, bool transB)
    {
        var path = Enum.Parse<GemmKernelPath>(kernel);
        long saved = GemmStream.MinBytes, ranges = GemmStream.Ranges;
        try
        {
            GemmStream.MinBytes = 0;
            // n = 5: no full tile; 70, 130: full tiles and a right edge; 400: more full tiles than one panel holds
            // (float32 12 × 32 tiles, 10 per panel on a 32 KiB L1). m = 25, 97: a bottom partial sliver too.
            foreach (var (m, n, k) in new[] { (25, 5, 9), (25, 70, 37), (97, 130, 100), (36, 400, 50) })
            {
                for (int offC = 0; offC < 4; offC++)
                {
                    var l = new Layout(transA, transB, m, n, k, OffA: 1, PadA: 2, OffB: 2, PadB: 1, OffC: offC * 5, PadC: offC % 3);
                    Check<float>(GemmProvider.Managed, path, l, alpha: -0.5, beta: 0, nanInC: true, seed: n + offC);
                    Check<double>(GemmProvider.Managed, path, l, alpha: 1.25, beta: 0, nanInC: true, seed: m + offC);
                }
            }
            // Only kernels with a hardware streaming store stream (Applies); the forced portable kernel does as well there.
            if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
                Assert.True(GemmStream.Ranges > ranges, "no product streamed its C");
        }
        finally
        {
            GemmStream.MinBytes = saved;
        }
    }

    [Fact]
    public void StreamedC_HasTheBitsOfOrdinaryStores_OnOneThreadAndOnAll()
    {
        // Several row parts (M = 2000 on two threads or more), A plain and stored transposed, C starting at each of
        // several positions within a line; one k block (K = 100, as in the stde example's xᵀ·δ).
        foreach (var path in new[] { GemmKernelPath.Vector512, GemmKernelPath.Vector256 })
        {
            foreach (bool transA in new[] { false, true })
            {
                Same<float>(path, transA, 2000, 128, 100, offC: 3);
                Same<float>(path, transA, 2000, 77, 100, offC: 0);
                Same<double>(path, transA, 2000, 128, 100, offC: 1);
                Same<double>(path, transA, 2000, 50, 100, offC: 6);
            }
        }

        static void Same<T>(GemmKernelPath path, bool transA, int m, int n, int k, int offC) where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] a = RandomArray<T>(m * k, 71), b = RandomArray<T>(k * n, 72);
            T[] Run(long minBytes, int threads)
            {
                long savedBytes = GemmStream.MinBytes;
                int savedThreads = ManagedGemm.MaxThreads;
                try
                {
                    GemmStream.MinBytes = minBytes;
                    ManagedGemm.MaxThreads = threads;
                    T[] c = new T[offC + m * n];
                    Gemm.Execute(GemmProvider.Managed, path, 1, transA, false, m, n, k, T.CreateTruncating(0.75),
                        a, 0, transA ? m : k, 0, b, 0, n, 0, T.Zero, c, offC, n, 0);
                    return c;
                }
                finally
                {
                    GemmStream.MinBytes = savedBytes;
                    ManagedGemm.MaxThreads = savedThreads;
                }
            }
            T[] ordinary = Run(long.MaxValue, 0), streamedOne = Run(0, 1), streamedAll = Run(0, 0);
            for (int x = 0; x < ordinary.Length; x++)
            {
                Assert.True(ordinary[x].Equals(streamedOne[x]), $"{path} {typeof(T).Name} transA={transA} n={n}: element {x} differs on one thread");
                Assert.True(ordinary[x].Equals(streamedAll[x]), $"{path} {typeof(T).Name} transA={transA} n={n}: element {x} differs on all threads");
            }
        }
    }
}
