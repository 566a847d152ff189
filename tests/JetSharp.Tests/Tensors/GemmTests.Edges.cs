using System.Numerics;
using JetSharp.Backend;

namespace JetSharp.Tests;

/// <summary>
/// Right-edge columns (n not a multiple of the kernel's NR): the half-width panel stored straight into C, the
/// dot-product edge kernel (row-major A, a remainder of at most NR/4 columns), the column edge (A packed, the same
/// remainders, AVX-512) and the scratch-tile fallback (wider remainders, the bottom partial sliver). Every element is checked against a float64
/// triple loop, and every element of the C array outside the m×n window (the ldc gap after each row, the offset before
/// C and the guard elements after its last element) must be untouched.
/// </summary>
public partial class GemmTests
{
    public static TheoryData<string, bool, bool> EdgeKernelPaths() => KernelPaths();

    [Theory]
    [MemberData(nameof(EdgeKernelPaths))]
    public void EdgeColumns_EveryWidthUpTo65_MatchReference_AndStayInsideC(string kernel, bool transA, bool transB)
    {
        var path = Enum.Parse<GemmKernelPath>(kernel);
        // 24 rows: whole slivers for MR ∈ {4, 6, 12} (and 3 × 8); 25: a partial bottom sliver too. k = 37 leaves a
        // k tail after the dot kernel's vectors (37 mod 16 = 5, mod 8 = 5, mod 4 = 1).
        for (int n = 1; n <= 65; n++)
        {
            foreach (int m in new[] { 24, 25 })
            {
                var l = new Layout(transA, transB, m, n, 37, OffA: 1, PadA: 3, OffB: 2, PadB: 1, OffC: 3, PadC: 1 + n % 3);
                Check<float>(GemmProvider.Managed, path, l, alpha: -0.5, beta: 1.5, seed: n);
                Check<double>(GemmProvider.Managed, path, l, alpha: 1.25, beta: 0, nanInC: true, seed: n);
            }
        }
    }

    [Theory]
    [MemberData(nameof(EdgeKernelPaths))]
    public void EdgeColumns_SeveralKBlocksAndTightC_MatchReference(string kernel, bool transA, bool transB)
    {
        var path = Enum.Parse<GemmKernelPath>(kernel);
        // k = 2100: several k blocks for every kernel (later blocks accumulate with beta = 1), with a tail along k.
        // PadC = 0 for even n: rows of C back to back, so a store past a row's end would overwrite the first columns of
        // the next row, which that row's full tiles wrote before the edge (the reference check catches it), or, for
        // the last row, the guard elements after C.
        foreach (int n in new[] { 2, 18, 49, 50, 57, 64 + 2, 200 })
        {
            var l = new Layout(transA, transB, 36, n, 2100, OffA: 2, PadA: 1, OffB: 1, PadB: 2, OffC: 1, PadC: n % 2);
            Check<float>(GemmProvider.Managed, path, l, alpha: 0.75, beta: -1, seed: n);
            Check<double>(GemmProvider.Managed, path, l, alpha: -1, beta: 0, nanInC: true, seed: n);
            Check<double>(GemmProvider.Managed, path, l, alpha: 0.5, beta: 0.25, seed: n + 1);
        }
    }

    [Fact]
    public void EdgeColumns_GuardElementsAfterTheLastRow_AreUntouched()
    {
        // C exactly m×n (ldc = n) at the very end of its array, followed only by guard elements, and alpha/beta that
        // change every element: the last row's right edge (direct half panel + dot kernel) must stop at column n − 1.
        foreach (var path in new[] { GemmKernelPath.Vector512, GemmKernelPath.Vector256 })
        {
            foreach (int n in new[] { 1, 2, 3, 17, 18, 34, 50, 51, 58 })
            {
                Guarded<float>(path, 24, n, 64);
                Guarded<double>(path, 24, n, 64);
            }
        }

        static void Guarded<T>(GemmKernelPath path, int m, int n, int k) where T : unmanaged, IFloatingPointIeee754<T>
        {
            const int Guard = 64;
            T[] a = RandomArray<T>(m * k, 31), b = RandomArray<T>(k * n, 32);
            T[] c = new T[m * n + Guard];
            T sentinel = T.CreateTruncating(-777.25);
            Array.Fill(c, sentinel);
            Gemm.Execute(GemmProvider.Managed, path, 1, false, false, m, n, k, T.One, a, 0, k, 0, b, 0, n, 0, T.Zero, c, 0, n, 0);
            for (int x = m * n; x < c.Length; x++)
                Assert.True(c[x] == sentinel, $"{path} {typeof(T).Name} n={n}: guard element {x - m * n} after C was written");
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double expected = 0;
                    for (int p = 0; p < k; p++) expected += double.CreateTruncating(a[i * k + p]) * double.CreateTruncating(b[p * n + j]);
                    double got = double.CreateTruncating(c[i * n + j]);
                    Assert.True(Math.Abs(got - expected) <= 1e-4 * Math.Sqrt(k), $"{path} {typeof(T).Name} n={n}: C[{i},{j}] = {got}, expected {expected}");
                }
        }
    }

    [Theory]
    [InlineData(nameof(GemmKernelPath.Vector512))]
    [InlineData(nameof(GemmKernelPath.Vector256))]
    public void DotEdge_CoversTheNarrowRemainders(string kernel)
    {
        // Which remainders the dot-product kernel takes: up to NR/4 columns (half a vector), after a half panel if any.
        var path = Enum.Parse<GemmKernelPath>(kernel);
        if (path == GemmKernelPath.Vector512)
        {
            Assert.Equal(8, GemmDriver<float, Vector512Kernel<float>>.DotCols);     // NR 32: 50 = 32 + 16 + 2
            Assert.Equal(4, GemmDriver<double, Vector512Kernel<double>>.DotCols);   // NR 16: 50 = 48 + 2
            Assert.Equal(4, GemmDriver<double, Vector512Kernel8<double>>.DotCols);
            Assert.Equal(0, Vector512Kernel<float>.MR % Vector512Kernel<float>.DotRows);
            Assert.Equal(0, Vector512Kernel8<double>.MR % Vector512Kernel8<double>.DotRows);
        }
        else
        {
            Assert.Equal(4, GemmDriver<float, Vector256Kernel<float>>.DotCols);     // NR 16: 50 = 48 + 2
            Assert.Equal(2, GemmDriver<double, Vector256Kernel<double>>.DotCols);   // NR 8: 50 = 48 + 2
            Assert.Equal(0, Vector256Kernel<float>.MR % Vector256Kernel<float>.DotRows);
        }
        Assert.Equal(0, GemmDriver<float, PortableKernel<float>>.DotCols);
    }

    [Fact]
    public void EdgeColumns_GiveTheSameBitsOnAnyNumberOfThreads()
    {
        // The edge is decided by N and the kernel alone (parts are cut at multiples of NR), so one thread and all
        // threads must agree bit for bit on a 50-wide product, as on any other.
        static void Compare<T>(int m, int n, int k) where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] a = RandomArray<T>(m * k, 41), b = RandomArray<T>(k * n, 42);
            T[] one = new T[m * n], all = new T[m * n];
            int saved = ManagedGemm.MaxThreads;
            try
            {
                ManagedGemm.MaxThreads = 1;
                Gemm.Multiply(false, false, m, n, k, T.One, a, 0, k, b, 0, n, T.Zero, one, 0, n);
                ManagedGemm.MaxThreads = 0;
                Gemm.Multiply(false, false, m, n, k, T.One, a, 0, k, b, 0, n, T.Zero, all, 0, n);
                Assert.Equal(one, all);
            }
            finally
            {
                ManagedGemm.MaxThreads = saved;
            }
        }
        Compare<float>(2051, 50, 777);
        Compare<double>(2051, 50, 777);
        Compare<double>(1030, 50, 300);   // the 8-row float64 kernel (short K)
        Compare<double>(40, 300, 2100);   // split over N into narrow halves: k blocks follow the product's N, not a part's
    }

    [Theory]
    [MemberData(nameof(EdgeKernelPaths))]
    public void EdgeColumns_ARowGetsTheSameBitsWhateverM(string kernel, bool transA, bool transB)
    {
        // The runtime splits M (memory-budget chunking, folded batches), so a row of C must not depend on whether it
        // fell in a full row sliver or the partial bottom one: rows 0…36 in one product, and as rows 0…12 and 13…36.
        var path = Enum.Parse<GemmKernelPath>(kernel);
        foreach (int n in new[] { 2, 18, 50, 57, 61 })
        {
            SplitRows<float>(path, transA, transB, 37, n, 300, 13);
            SplitRows<double>(path, transA, transB, 37, n, 300, 13);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ColumnEdge_PackedA_EveryRemainder_MatchesReference_AndARowGetsTheSameBitsWhateverM(bool transB)
    {
        // A stored transposed is packed into slivers, and the last NR/4 columns or fewer past the half panel take the
        // M-vectorised column edge (GemmColumnEdge) on the AVX-512 kernels: every remainder r = 1 … NR/4 after a full
        // tile and after a half panel, for the 12-row float32 kernel (one vector per column), the 8-row float64 kernel
        // (K ≤ 512, one vector) and the 12-row float64 kernel (K = 1100, two vectors: 8 + 4 rows; two k blocks). m = 37: full slivers
        // and a partial bottom one, whose rows must get the bits they get as full-sliver rows (rows 0…12 vs 13…36).
        var path = GemmKernelPath.Vector512;
        // The accumulators are staged in the driver's MR×NR scratch tile.
        Assert.True(Vector512Kernel<float>.MR * Vector512Kernel<float>.NR >= GemmColumnEdge.StageElements<float>());
        Assert.True(Vector512Kernel<double>.MR * Vector512Kernel<double>.NR >= GemmColumnEdge.StageElements<double>());
        Assert.True(Vector512Kernel8<double>.MR * Vector512Kernel8<double>.NR >= GemmColumnEdge.StageElements<double>());
        if (!Vector512Kernel<float>.ColumnEdge) return;   // no AVX-512: the half panel keeps the edge
        for (int r = 1; r <= 8; r++)
            foreach (int n in new[] { 32 + r, 48 + r })
                Both<float>(n, 37, r);
        foreach (int k in new[] { 37, 1100 })
            for (int r = 1; r <= 4; r++)
                foreach (int n in new[] { 16 + r, 24 + r, 48 + r })
                    Both<double>(n, k, r);

        void Both<T>(int n, int k, int seed) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var l = new Layout(true, transB, 37, n, k, OffA: 1, PadA: 2, OffB: 2, PadB: 1, OffC: 3, PadC: 1 + n % 3);
            Check<T>(GemmProvider.Managed, path, l, alpha: -0.5, beta: 1.5, seed: seed);
            Check<T>(GemmProvider.Managed, path, l, alpha: 1.25, beta: 0, nanInC: true, seed: seed + 1);
            SplitRows<T>(path, true, transB, 37, n, k, 13);
        }
    }

    /// <summary>Rows 0…m−1 as one product and as rows 0…cut−1 and cut…m−1 must agree bit for bit (α = 0.75, β = −0.3).</summary>
    private static void SplitRows<T>(GemmKernelPath path, bool transA, bool transB, int m, int n, int k, int cut)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] a = RandomArray<T>(m * k, 51), b = RandomArray<T>(k * n, 52), c0 = RandomArray<T>(m * n, 53);
        int lda = transA ? m : k, ldb = transB ? k : n;
        T alpha = T.CreateTruncating(0.75), beta = T.CreateTruncating(-0.3);
        T[] whole = (T[])c0.Clone(), parts = (T[])c0.Clone();
        Gemm.Execute(GemmProvider.Managed, path, 1, transA, transB, m, n, k, alpha, a, 0, lda, 0, b, 0, ldb, 0, beta, whole, 0, n, 0);
        foreach (var (r0, rows) in new[] { (0, cut), (cut, m - cut) })
            Gemm.Execute(GemmProvider.Managed, path, 1, transA, transB, rows, n, k, alpha, a, transA ? r0 : r0 * k, lda, 0,
                b, 0, ldb, 0, beta, parts, r0 * n, n, 0);
        for (int x = 0; x < m * n; x++)
            Assert.True(whole[x].Equals(parts[x]), $"{path} {typeof(T).Name} n={n} k={k} transA={transA} transB={transB}: C[{x / n},{x % n}] {whole[x]} vs {parts[x]}");
    }

    [Fact]
    public void DotSum8_PutsEachVectorsLaneSumInItsLane()
    {
        CheckSum8<float>();
        CheckSum8<double>();

        static void CheckSum8<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            // Vector i holds lanes 100·(i + 1) + l²: small integers, so every sum is exact, and it tells which vector it came
            // from, so a wrong lane map or a lane summed twice or left out shows as a wrong value.
            int w = System.Runtime.Intrinsics.Vector512<T>.Count;
            var v = new System.Runtime.Intrinsics.Vector512<T>[8];
            var expected = new double[8];
            for (int i = 0; i < 8; i++)
            {
                var lanes = new T[w];
                for (int l = 0; l < w; l++)
                {
                    double x = 100 * (i + 1) + l * l;
                    lanes[l] = T.CreateChecked(x);
                    expected[i] += x;
                }
                v[i] = System.Runtime.Intrinsics.Vector512.Create(lanes);
            }
            var sums = GemmDot.Sum8(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
            var lanesSeen = new HashSet<int>();
            for (int i = 0; i < 8; i++)
            {
                int lane = GemmDot.SumLane<T>(i);
                Assert.True(lanesSeen.Add(lane), $"{typeof(T).Name}: two sums in lane {lane}");
                Assert.Equal(expected[i], double.CreateChecked(sums[lane]));
            }
        }
    }
    [Fact]
    public void DotSum6_PutsEachVectorsLaneSumInItsSlot()
    {
        CheckSum6<float>();
        CheckSum6<double>();

        static unsafe void CheckSum6<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            // As for Sum8: exact integer sums that tell which vector each came from.
            int w = System.Runtime.Intrinsics.Vector256<T>.Count;
            var v = new System.Runtime.Intrinsics.Vector256<T>[6];
            var expected = new double[6];
            for (int i = 0; i < 6; i++)
            {
                var lanes = new T[w];
                for (int l = 0; l < w; l++)
                {
                    double x = 100 * (i + 1) + l * l;
                    lanes[l] = T.CreateChecked(x);
                    expected[i] += x;
                }
                v[i] = System.Runtime.Intrinsics.Vector256.Create(lanes);
            }
            T* sums = stackalloc T[8];
            GemmDot.Sum6(v[0], v[1], v[2], v[3], v[4], v[5], sums);
            for (int i = 0; i < 6; i++) Assert.Equal(expected[i], double.CreateChecked(sums[i]));
        }
    }
}
