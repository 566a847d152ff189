using System.Numerics;
using System.Runtime.Intrinsics.X86;
using JetSharp.Backend;

namespace JetSharp.Tests;

/// <summary>Runs only when OpenBLAS can be loaded; otherwise reported as skipped with the reason.</summary>
public sealed class OpenBlasFactAttribute : FactAttribute
{
    public OpenBlasFactAttribute()
    {
        if (!Gemm.OpenBlasAvailable)
            Skip = "OpenBLAS is not installed (apt-get install libopenblas0-pthread); " +
                   "GemmTests.OpenBlas_Availability_IsReportedConsistently checks the managed fallback instead.";
    }
}

public sealed class OpenBlasTheoryAttribute : TheoryAttribute
{
    public OpenBlasTheoryAttribute()
    {
        if (!Gemm.OpenBlasAvailable)
            Skip = "OpenBLAS is not installed (apt-get install libopenblas0-pthread).";
    }
}

/// <summary>Tests that change the process-wide <see cref="Gemm.Provider"/> must not overlap.</summary>
[CollectionDefinition(nameof(GemmProviderCollection), DisableParallelization = true)]
public sealed class GemmProviderCollection;

public partial class GemmTests
{
    private const float FloatSentinel = 1234.5f;

    // ----------------------------------------------------------------------------------------
    // Reference and checking helpers

    private sealed record Layout(bool TransA, bool TransB, int M, int N, int K,
        int OffA = 0, int PadA = 0, int OffB = 0, int PadB = 0, int OffC = 0, int PadC = 0)
    {
        public int RowsA => TransA ? K : M;
        public int ColsA => TransA ? M : K;
        public int RowsB => TransB ? N : K;
        public int ColsB => TransB ? K : N;
        public int Lda => Math.Max(1, ColsA) + PadA;
        public int Ldb => Math.Max(1, ColsB) + PadB;
        public int Ldc => Math.Max(1, N) + PadC;
        public int ExtentA => Extent(RowsA, ColsA, Lda);
        public int ExtentB => Extent(RowsB, ColsB, Ldb);
        public int ExtentC => Extent(M, N, Ldc);
        private static int Extent(int rows, int cols, int ld) => rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;
    }

    private static T[] RandomArray<T>(int length, int seed) where T : unmanaged, IFloatingPointIeee754<T> => TestUtil.Uniform<T>(seed, length);

    private static T Tol<T>() where T : IFloatingPointIeee754<T> =>
        typeof(T) == typeof(float) ? T.CreateTruncating(1e-5) : T.CreateTruncating(1e-12);

    /// <summary>
    /// Checks C against a double-precision reference. The allowed error scales with the magnitude
    /// the sum passed through (|alpha|·Σ|a||b| + |beta·c|), and with sqrt(k) for the accumulation.
    /// Elements of the C array outside the m×n window must be untouched.
    /// </summary>
    private static void AssertMatchesReference<T>(Layout l, double alpha, double beta,
        T[] a, T[] b, int offA, int offB, T[] cBefore, T[] cAfter, int offC, string context)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double tol = double.CreateTruncating(Tol<T>()) * Math.Sqrt(Math.Max(1, l.K));
        // op(A) row-wise and op(B) column-wise in double, so the O(m·n·k) loop below is plain
        // contiguous arithmetic (it dominates the test time, especially in Debug builds).
        var opA = new double[l.M * l.K];
        var opBt = new double[l.N * l.K];
        for (int i = 0; i < l.M; i++)
            for (int p = 0; p < l.K; p++)
                opA[i * l.K + p] = double.CreateTruncating(l.TransA ? a[offA + p * l.Lda + i] : a[offA + i * l.Lda + p]);
        for (int j = 0; j < l.N; j++)
            for (int p = 0; p < l.K; p++)
                opBt[j * l.K + p] = double.CreateTruncating(l.TransB ? b[offB + j * l.Ldb + p] : b[offB + p * l.Ldb + j]);
        for (int i = 0; i < l.M; i++)
        {
            for (int j = 0; j < l.N; j++)
            {
                double sum = 0, mag = 0;
                for (int p = 0, ia = i * l.K, jb = j * l.K; p < l.K; p++)
                {
                    double xy = opA[ia + p] * opBt[jb + p];
                    sum += xy;
                    mag += Math.Abs(xy);
                }
                int ci = offC + i * l.Ldc + j;
                double c0 = beta == 0 ? 0 : double.CreateTruncating(cBefore[ci]);
                double expected = alpha * sum + beta * c0;
                double bound = Math.Abs(alpha) * mag + Math.Abs(beta * c0);
                double got = double.CreateTruncating(cAfter[ci]);
                if (!(Math.Abs(got - expected) <= tol * bound + 1e-300))
                    Assert.Fail($"{context}: C[{i},{j}] = {got}, expected {expected} (bound {tol * bound:E2})");
            }
        }
        // Untouched outside the window (gaps from ldc > n, the offset and the tail).
        var inside = new bool[cAfter.Length];
        for (int i = 0; i < l.M; i++)
            for (int j = 0; j < l.N; j++)
                inside[offC + i * l.Ldc + j] = true;
        for (int x = 0; x < cAfter.Length; x++)
            if (!inside[x] && !cAfter[x].Equals(cBefore[x]))
                Assert.Fail($"{context}: element {x} outside C was modified ({cBefore[x]} → {cAfter[x]})");
    }

    private static void Check<T>(GemmProvider provider, GemmKernelPath path, Layout l,
        double alpha = 1, double beta = 0, bool nanInC = false, int seed = 1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] a = RandomArray<T>(l.OffA + l.ExtentA + 3, seed);
        T[] b = RandomArray<T>(l.OffB + l.ExtentB + 3, seed + 1);
        T[] c = new T[l.OffC + l.ExtentC + 5];
        Array.Fill(c, T.CreateTruncating(FloatSentinel));
        T[] fill = RandomArray<T>(c.Length, seed + 2);
        for (int i = 0; i < l.M; i++)
            for (int j = 0; j < l.N; j++)
                c[l.OffC + i * l.Ldc + j] = nanInC ? T.NaN : fill[l.OffC + i * l.Ldc + j];
        T[] before = (T[])c.Clone();

        Gemm.Execute(provider, path, 1, l.TransA, l.TransB, l.M, l.N, l.K, T.CreateTruncating(alpha),
            a, l.OffA, l.Lda, 0, b, l.OffB, l.Ldb, 0, T.CreateTruncating(beta), c, l.OffC, l.Ldc, 0);

        AssertMatchesReference(l, alpha, beta, a, b, l.OffA, l.OffB, before, c, l.OffC,
            $"{provider}/{path} {typeof(T).Name} {l} alpha={alpha} beta={beta}");
    }

    private static void CheckBoth(GemmProvider provider, GemmKernelPath path, Layout l,
        double alpha = 1, double beta = 0, bool nanInC = false)
    {
        Check<float>(provider, path, l, alpha, beta, nanInC);
        Check<double>(provider, path, l, alpha, beta, nanInC);
    }

    // ----------------------------------------------------------------------------------------
    // Correctness of the default (hardware-selected) managed path

    public static TheoryData<bool, bool, int, int, int> OddShapes()
    {
        var data = new TheoryData<bool, bool, int, int, int>();
        (int, int, int)[] shapes =
        [
            (1, 1, 1), (7, 17, 129), (129, 7, 17), (17, 129, 7), (1, 129, 17),
            (129, 1, 7), (17, 7, 1), (129, 129, 129), (7, 1000, 300),
        ];
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                foreach (var (m, n, k) in shapes)
                    data.Add(ta, tb, m, n, k);
        return data;
    }

    [Theory]
    [MemberData(nameof(OddShapes))]
    public void Managed_AllTransposes_OddSizes_MatchReference(bool transA, bool transB, int m, int n, int k)
        => CheckBoth(GemmProvider.Managed, GemmKernelPath.Auto, new Layout(transA, transB, m, n, k), alpha: 1, beta: 0);

    [Theory]
    [InlineData(false, false, 1000, 1000, 17)]   // several MC blocks, many NR slivers, both threads
    [InlineData(true, true, 129, 17, 1000)]       // four KC blocks accumulating, transposed packing
    public void Managed_Size1000_MatchesReference(bool transA, bool transB, int m, int n, int k)
    {
        // One dtype each keeps the O(m·n·k) reference affordable.
        if (transA) Check<double>(GemmProvider.Managed, GemmKernelPath.Auto, new Layout(transA, transB, m, n, k), 1, 0);
        else Check<float>(GemmProvider.Managed, GemmKernelPath.Auto, new Layout(transA, transB, m, n, k), 1, 0);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Managed_LongK_SplitsKAndMatchesReference(bool transA, bool transB)
    {
        // K ≫ M, N (the stde first layer's shape class): the product is split over K into partial outputs; M and N not
        // multiples of the micro-kernel's tile, leading dimensions padded, alpha and beta both applied.
        var l = new Layout(transA, transB, 13, 40, 70_001, OffA: 3, PadA: 2, OffB: 1, PadB: 3, OffC: 2, PadC: 1);
        Assert.True(LongKGemm.Applies(1, l.M, l.N, l.K, epilogue: false));
        Check<float>(GemmProvider.Managed, GemmKernelPath.Auto, l, alpha: -0.75, beta: 0.5);
        Check<double>(GemmProvider.Managed, GemmKernelPath.Auto, l, alpha: 1, beta: 0, nanInC: true);
    }

    [Fact]
    public void Managed_LongK_GivesTheSameBitsOnAnyNumberOfThreads()
    {
        // The K parts depend on K only and are added in part order: one thread and all threads agree exactly.
        const int m = 9, n = 70, k = 100_003;
        var a = RandomArray<float>(m * k, 5);
        var b = RandomArray<float>(k * n, 6);
        float[] Product(int threads)
        {
            var c = new float[m * n];
            int saved = ManagedGemm.MaxThreads;
            ManagedGemm.MaxThreads = threads;
            try { Gemm.Execute(GemmProvider.Managed, GemmKernelPath.Auto, 1, false, false, m, n, k, 1f, a, 0, k, 0, b, 0, n, 0, 0f, c, 0, n, 0); }
            finally { ManagedGemm.MaxThreads = saved; }
            return c;
        }
        Assert.Equal(4, LongKGemm.Parts(k));
        var one = Product(1);
        Assert.Equal(one, Product(Environment.ProcessorCount));
        Assert.Equal(one, Product(3));
    }

    [Theory]
    [InlineData(-1.5, 0.0)]
    [InlineData(0.5, 1.0)]
    [InlineData(2.0, -0.75)]
    [InlineData(-1.0, 3.0)]
    public void Managed_AlphaBeta_MatchReference(double alpha, double beta)
    {
        // k = 600 spans several KC blocks: beta must be applied once, by the first block only.
        foreach (var l in new[] { new Layout(false, false, 37, 45, 600), new Layout(true, true, 23, 70, 33) })
            CheckBoth(GemmProvider.Managed, GemmKernelPath.Auto, l, alpha, beta);
    }

    [Theory]
    [InlineData(GemmProvider.Managed)]
    [InlineData(GemmProvider.Naive)]
    public void BetaZero_IgnoresNaNInC(GemmProvider provider)
        => CheckBoth(provider, GemmKernelPath.Auto, new Layout(false, true, 19, 33, 21), alpha: 1.25, beta: 0, nanInC: true);

    [Fact]
    public void AlphaZero_ScalesCAndDoesNotReadAOrB()
    {
        double[] a = [double.NaN, double.NaN, double.NaN, double.NaN];
        double[] b = [double.NaN, double.NaN, double.NaN, double.NaN];
        double[] c = [1, 2, 3, 4];
        Gemm.Multiply(false, false, 2, 2, 2, 0.0, a, 0, 2, b, 0, 2, 0.5, c, 0, 2);
        Assert.Equal(new[] { 0.5, 1, 1.5, 2 }, c);
        double[] c2 = [double.NaN, 2];
        Gemm.Multiply(false, false, 1, 2, 2, 0.0, a, 0, 2, b, 0, 2, 0.0, c2, 0, 2);
        Assert.Equal(new[] { 0.0, 0.0 }, c2);
    }

    [Fact]
    public void KZero_GivesBetaTimesC_AndEmptyOutputIsNoOp()
    {
        float[] c = [1, 2, 3, 4, 5, 6];
        Gemm.Multiply(false, false, 2, 3, 0, 1f, [], 0, 1, [], 0, 3, -2f, c, 0, 3);
        Assert.Equal(new[] { -2f, -4, -6, -8, -10, -12 }, c);
        float[] untouched = [7f];
        Gemm.Multiply(false, false, 0, 1, 5, 1f, [], 0, 5, new float[5], 0, 1, 0f, untouched, 0, 1);
        Gemm.Multiply(false, false, 1, 0, 5, 1f, new float[5], 0, 5, [], 0, 1, 0f, untouched, 0, 1);
        Assert.Equal(7f, untouched[0]);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void OffsetsAndLeadingDimensions_AreHonoured(bool transA, bool transB)
    {
        var l = new Layout(transA, transB, 29, 35, 41, OffA: 5, PadA: 7, OffB: 3, PadB: 11, OffC: 9, PadC: 6);
        CheckBoth(GemmProvider.Managed, GemmKernelPath.Auto, l, alpha: 0.75, beta: 0.5);
        CheckBoth(GemmProvider.Naive, GemmKernelPath.Auto, l, alpha: 0.75, beta: 0.5);
    }

    // ----------------------------------------------------------------------------------------
    // Every micro-kernel, forced (Vector512 is emulated in software where AVX-512 is absent, so its
    // shapes stay small)

    // Kernel paths travel as names: GemmKernelPath is internal and test signatures are public.
    public static TheoryData<string, bool, bool> KernelPaths()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (var path in new[] { GemmKernelPath.Vector512, GemmKernelPath.Vector256, GemmKernelPath.Portable })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    data.Add(path.ToString(), ta, tb);
        return data;
    }

    [Theory]
    [MemberData(nameof(KernelPaths))]
    public void ForcedKernel_MatchesReference(string kernel, bool transA, bool transB)
    {
        var path = Enum.Parse<GemmKernelPath>(kernel);
        // Sizes straddle every tile shape in use (MR ∈ {4,6,12}, NR ∈ {8..32}): full tiles, M edges (MR ± 1),
        // N edges wider and narrower than NR/2 (the half-width kernel), and several k blocks.
        (int m, int n, int k)[] shapes =
        [
            (1, 1, 1), (9, 20, 5), (25, 70, 300), (17, 37, 9), (48, 64, 16),
            (11, 33, 7), (12, 31, 2), (13, 17, 64), (23, 15, 3), (24, 32, 1), (36, 65, 2100),
        ];
        foreach (var (m, n, k) in shapes)
        {
            var l = new Layout(transA, transB, m, n, k, OffA: 1, PadA: 2, OffB: 2, PadB: 1, OffC: 3, PadC: 4);
            Check<float>(GemmProvider.Managed, path, l, alpha: -0.5, beta: 1.5);
            Check<double>(GemmProvider.Managed, path, l, alpha: 1, beta: 0, nanInC: true);
        }
    }

    [Fact]
    public void ForcedKernels_AgreeWithEachOther()
    {
        const int m = 41, n = 53, k = 67;
        float[] a = RandomArray<float>(m * k, 5), b = RandomArray<float>(k * n, 6);
        float[][] results = new float[3][];
        var paths = new[] { GemmKernelPath.Vector512, GemmKernelPath.Vector256, GemmKernelPath.Portable };
        for (int i = 0; i < paths.Length; i++)
        {
            results[i] = new float[m * n];
            Gemm.Execute(GemmProvider.Managed, paths[i], 1, false, false, m, n, k, 1f, a, 0, k, 0, b, 0, n, 0, 0f, results[i], 0, n, 0);
        }
        for (int x = 0; x < m * n; x++)
        {
            Assert.Equal(results[0][x], results[1][x], 1e-4f);
            Assert.Equal(results[0][x], results[2][x], 1e-4f);
        }
    }

    [Fact]
    public void ShortKFloat64_UsesTheEightRowKernel_BelowTheTwelveRowKC_AndUpTo512()
    {
        int kc = GemmDriver<double, Vector512Kernel<double>>.Blocking.KC;
        // The first depth on the 12-row kernel: the 12-row KC, but never at or below ShallowK (a 32 KiB L1 gives KC = 512).
        int twelve = Math.Max(kc, ManagedGemm.ShallowK + 1);
        Assert.Equal(8, Vector512Kernel8<double>.MR);
        Assert.Equal(512, ManagedGemm.ShallowK);
        Assert.True(ManagedGemm.UsesShortKKernel<double>(50));
        Assert.True(ManagedGemm.UsesShortKKernel<double>(512));
        Assert.True(ManagedGemm.UsesShortKKernel<double>(twelve - 1));
        Assert.False(ManagedGemm.UsesShortKKernel<double>(twelve));
        Assert.False(ManagedGemm.UsesShortKKernel<float>(50));   // float32 keeps 12 rows at any depth
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Vector512Float64_EitherSideOfTheShortKThreshold_MatchesReference(bool transA, bool transB)
    {
        // Both kernels (8 rows below the 12-row KC or up to ShallowK, 12 rows from there on), M edges for each, one and two threads' splits.
        int kc = GemmDriver<double, Vector512Kernel<double>>.Blocking.KC;
        foreach (var (m, n, k) in new[] { (29, 37, 1), (256, 96, 50), (33, 40, kc - 1), (33, 40, kc), (25, 19, kc + 3), (27, 35, ManagedGemm.ShallowK), (27, 35, ManagedGemm.ShallowK + 1) })
        {
            var l = new Layout(transA, transB, m, n, k, OffA: 1, PadA: 2, OffB: 2, PadB: 1, OffC: 3, PadC: 4);
            Check<double>(GemmProvider.Managed, GemmKernelPath.Vector512, l, alpha: -0.5, beta: 1.5);
        }
    }

    public static TheoryData<string, bool> KernelPathsAndA()
    {
        var data = new TheoryData<string, bool>();
        foreach (var path in new[] { GemmKernelPath.Vector512, GemmKernelPath.Vector256, GemmKernelPath.Portable })
            foreach (bool ta in new[] { false, true })
                data.Add(path.ToString(), ta);
        return data;
    }

    /// <summary>
    /// The prefetching paths of the driver: C read (beta ≠ 0, the next C tile is prefetched, also across row slivers
    /// and at the last one), A stored transposed (the next row block, and the first block of the next k block, are
    /// prefetched), with several row blocks (M past MC), k blocks (K past KC) and M/N edges of every kernel. Prefetching
    /// may only change timing: each result must match the double-precision reference loop.
    /// </summary>
    [Theory]
    [MemberData(nameof(KernelPathsAndA))]
    public void Prefetching_TallC_AccumulatedAndTransposedA_MatchReference(string kernel, bool transA)
    {
        var path = Enum.Parse<GemmKernelPath>(kernel);
        int mc32 = Math.Max(GemmDriver<float, Vector512Kernel<float>>.Blocking.MC, GemmDriver<float, Vector256Kernel<float>>.Blocking.MC);
        int kc32 = GemmDriver<float, Vector512Kernel<float>>.Blocking.KC;
        (int m, int n, int k)[] shapes =
        [
            (2 * mc32 + 13, 128, 100),      // the stde gradient's shape, fewer rows: short K, tall C
            (mc32 + 7, 33, kc32 + 5),       // two k blocks: the next k block's A is prefetched at each block's end
            (37, 65, 3),                    // row and column edges, one row block
            (1, 1, 1), (13, 31, 1), (11, 17, 2),
        ];
        foreach (var (m, n, k) in shapes)
        {
            var l = new Layout(transA, false, m, n, k, OffA: 1, PadA: 2, OffB: 2, PadB: 1, OffC: 3, PadC: 4);
            Check<float>(GemmProvider.Managed, path, l, alpha: 1, beta: 1);
            Check<float>(GemmProvider.Managed, path, l, alpha: -0.5, beta: 0, nanInC: true);
            Check<double>(GemmProvider.Managed, path, l, alpha: 0.75, beta: -1.5);
            Check<double>(GemmProvider.Managed, path, l, alpha: 1, beta: 0, nanInC: true);
        }
    }

    [Fact]
    public unsafe void Prefetch_Region_CoversEveryLineOfTheNextBlockOnce_SpreadOverTheCalls()
    {
        // A plain count of the 64-byte lines an A block touches, against the lines the prefetcher issues.
        static void Verify(bool transA, int m, int k, int i0, int rows, int p0, int steps, int calls)
        {
            int lda = transA ? m + 3 : k + 5;
            var a = new float[(transA ? k : m) * lda];
            fixed (float* pa = a)
            {
                var p = new GemmProblem<float>
                {
                    A = pa, RsA = transA ? 1 : lda, CsA = transA ? lda : 1, M = m, K = k,
                };
                var expected = new HashSet<nint>();
                for (int i = i0; i < i0 + rows; i++)
                    for (int q = p0; q < p0 + steps; q++)
                        expected.Add((nint)(pa + i * p.RsA + q * p.CsA) & ~(nint)63);
                var region = GemmPrefetch.Region(p, i0, rows, p0, steps);
                region.Spread(calls);
                int perCall = region.PerCall;
                Assert.True(perCall * calls >= expected.Count, "the calls do not cover the region");
                // Each run may touch one line more than its length in lines (unaligned); the share allows for that and no more.
                int runs = transA ? steps : rows, runLines = ((transA ? rows : steps) * sizeof(float) + 63) / 64 + 1;
                Assert.True(perCall <= (runs * runLines + calls - 1) / calls, $"uneven spread: {perCall} per call for {expected.Count} lines over {calls}");
                var seen = new List<nint>();
                while (region.TryAdvance(out byte* line)) seen.Add((nint)line);
                Assert.Equal(expected.Count, seen.Count);
                Assert.True(expected.SetEquals(seen), $"transA={transA} rows {i0}+{rows} steps {p0}+{steps}: lines differ");
            }
        }
        if (!Sse.IsSupported) return;   // no prefetch instructions: the region is empty by design
        Verify(transA: true, m: 1000, k: 100, i0: 120, rows: 120, p0: 0, steps: 100, calls: 40);
        Verify(transA: true, m: 1000, k: 300, i0: 7, rows: 13, p0: 150, steps: 150, calls: 3);
        Verify(transA: false, m: 100, k: 3000, i0: 0, rows: 100, p0: 1000, steps: 1000, calls: 36);
        Verify(transA: false, m: 5, k: 17, i0: 1, rows: 1, p0: 3, steps: 1, calls: 1);
        // Nothing to prefetch: an empty region issues nothing.
        var none = GemmPrefetch.Region(new GemmProblem<float> { RsA = 1, CsA = 1 }, 0, 0, 0, 5);
        none.Spread(4);
        Assert.False(none.TryAdvance(out _));
    }

    [Fact]
    public unsafe void Prefetch_RegionB_CoversEveryLineOfTheNextBBlock()
    {
        // The lines of op(B) steps [p0, p0 + steps) × columns [j0, j0 + cols), counted directly, against those issued:
        // the same set, each line issued once, or twice where two runs meet inside it (runs a few bytes apart).
        static void Verify(bool transB, int k, int n, int p0, int steps, int j0, int cols, int calls)
        {
            int ldb = transB ? k + 3 : n + 5;
            var b = new float[(transB ? n : k) * ldb];
            fixed (float* pb = b)
            {
                var p = new GemmProblem<float> { B = pb, RsB = transB ? 1 : ldb, CsB = transB ? ldb : 1, K = k, N = n };
                var expected = new HashSet<nint>();
                for (int q = p0; q < p0 + steps; q++)
                    for (int j = j0; j < j0 + cols; j++)
                        expected.Add((nint)(pb + q * p.RsB + j * p.CsB) & ~(nint)63);
                var region = GemmPrefetch.RegionB(p, p0, steps, j0, cols);
                region.Spread(calls);
                Assert.True(region.PerCall * calls >= expected.Count, "the calls do not cover the region");
                var seen = new List<nint>();
                while (region.TryAdvance(out byte* line)) seen.Add((nint)line);
                int runs = transB ? cols : steps;
                Assert.InRange(seen.Count, expected.Count, expected.Count + runs - 1);
                Assert.True(expected.SetEquals(seen), $"transB={transB} steps {p0}+{steps} columns {j0}+{cols}: lines differ");
            }
        }
        if (!Sse.IsSupported) return;
        Verify(transB: false, k: 3000, n: 128, p0: 1024, steps: 1024, j0: 0, cols: 128, calls: 36);
        Verify(transB: false, k: 300, n: 1000, p0: 7, steps: 13, j0: 33, cols: 500, calls: 5);
        Verify(transB: true, k: 3000, n: 70, p0: 1500, steps: 1500, j0: 3, cols: 64, calls: 12);
        var none = GemmPrefetch.RegionB(new GemmProblem<float> { RsB = 1, CsB = 1 }, 0, 5, 0, 0);
        none.Spread(4);
        Assert.False(none.TryAdvance(out _));
    }

    [Fact]
    public void Partition_SplitsTheLongDimension_AndKeepsSmallProblemsSerial()
    {
        Assert.Equal((1, 1), GemmDriver<float, Vector256Kernel<float>>.Partition(8, 8, 8, 2));
        Assert.Equal((2, 1), GemmDriver<float, Vector256Kernel<float>>.Partition(4096, 512, 512, 2));
        Assert.Equal((1, 2), GemmDriver<float, Vector256Kernel<float>>.Partition(6, 4096, 512, 2));
        Assert.Equal((2, 2), GemmDriver<double, Vector256Kernel<double>>.Partition(2048, 2048, 256, 4));
        Assert.Equal((1, 1), GemmDriver<double, Vector256Kernel<double>>.Partition(4096, 512, 512, 1));
    }

    [Fact]
    public void Blocking_FitsTheCaches()
    {
        // KC: the A sliver (MR×KC), kept close while B̃ streams past it, takes at most 1.5 × L1 (capped at 1024);
        // MC: the packed Ã block half of L2; NC: whole slivers.
        var cache = new CacheSizes(32 << 10, 512 << 10, 32 << 20);
        var f = GemmBlocking.For(6, 16, 4, cache, 2);
        Assert.Equal(1024, f.KC);                     // 48 KiB / (6 rows × 4 bytes) = 2048, capped
        Assert.True(f.MC % 6 == 0 && f.MC * f.KC * 4 <= 256 << 10);
        Assert.True(f.NC % 16 == 0 && f.NC >= 64);
        var d = GemmBlocking.For(12, 16, 8, new CacheSizes(48 << 10, 1 << 20, 32 << 20), 16);
        Assert.Equal(768, d.KC);                      // 12 rows × 768 doubles = 72 KiB = 1.5 × L1
        Assert.True(d.MC % 12 == 0 && d.MC * d.KC * 8 <= 512 << 10);
        var small = GemmBlocking.For(8, 32, 8, new CacheSizes(16 << 10, 256 << 10, 4 << 20), 2);
        Assert.Equal(384, small.KC);
        Assert.True(small.KC % 8 == 0 && small.MC >= 8 && small.NC % 32 == 0);
    }

    [Fact]
    public void Blocking_NarrowProducts_TakeDeeperKBlocks()
    {
        // N ≤ NarrowTiles·NR: the A sliver may take 3 × L1 (capped at 1024, never below KC); the choice depends on the
        // product's N and K only.
        var zen4 = GemmBlocking.For(12, 16, 8, new CacheSizes(32 << 10, 1 << 20, 32 << 20), 2);
        Assert.Equal(512, zen4.KC);                   // 12 × 512 doubles = 48 KiB = 1.5 × L1
        Assert.Equal(1024, zen4.KCNarrow);            // 96 KiB = 3 × L1
        Assert.Equal((2, 384), zen4.KBlocks(768, 768, 16));
        Assert.Equal((2, 384), zen4.KBlocks(16 * GemmBlocking.NarrowTiles + 1, 768, 16));
        Assert.Equal((1, 768), zen4.KBlocks(16 * GemmBlocking.NarrowTiles, 768, 16));
        Assert.Equal((1, 768), zen4.KBlocks(50, 768, 16));
        Assert.Equal((3, 834), zen4.KBlocks(50, 2500, 16));
        var f32 = GemmBlocking.For(12, 32, 4, new CacheSizes(32 << 10, 1 << 20, 32 << 20), 2);
        Assert.Equal((f32.KC, f32.KC), (1024, f32.KCNarrow));   // already at the cap: unchanged
        var zen5 = GemmBlocking.For(12, 16, 8, new CacheSizes(48 << 10, 1 << 20, 32 << 20), 2);
        Assert.Equal((768, 1024), (zen5.KC, zen5.KCNarrow));
    }

    [Fact]
    public void CacheSizes_FromCpuid_ArePlausibleWhereAvailable()
    {
        var c = CacheSizes.FromCpuid();
        if (!X86Base.IsSupported)
        {
            Assert.Null(c);
            return;
        }
        if (c is not { } sizes) return; // a hypervisor may hide the leaves; the defaults then apply
        Assert.InRange(sizes.L1, 8 << 10, 1 << 20);
        Assert.True(sizes.L2 >= sizes.L1);
        Assert.True(sizes.L3 > 0);
    }

    // Deep K (several k blocks even with KC = 1024) and wide N (several NC blocks): products large enough to run
    // on all threads, so the row parts read one B̃ packed for all of them.
    public static TheoryData<bool, bool, int, int, int> DeepAndWideShapes()
    {
        var data = new TheoryData<bool, bool, int, int, int>();
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                data.Add(ta, tb, 300, 70, 2100);
                data.Add(ta, tb, 97, 33, 1025);
                data.Add(ta, tb, 256, 8300, 5);
            }
        return data;
    }

    [Theory]
    [MemberData(nameof(DeepAndWideShapes))]
    public void Managed_DeepAndWide_MatchReference(bool transA, bool transB, int m, int n, int k)
    {
        var l = new Layout(transA, transB, m, n, k, OffA: 1, PadA: 3, OffB: 2, PadB: 1, OffC: 1, PadC: 2);
        Check<float>(GemmProvider.Managed, GemmKernelPath.Auto, l, alpha: 0.75, beta: -1.25);
        Check<double>(GemmProvider.Managed, GemmKernelPath.Auto, l, alpha: 1, beta: 0, nanInC: true);
    }

    [Fact]
    public void Managed_SharedPackedB_GivesTheBitsOfOneThread()
    {
        // Each C element is summed in the same order whether the row parts pack B̃ themselves (one thread) or read one
        // B̃ packed by all threads; the bits must agree.
        static void Compare<T>(int m, int n, int k) where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] a = RandomArray<T>(m * k, 21), b = RandomArray<T>(k * n, 22);
            T[] one = new T[m * n], all = new T[m * n];
            int saved = ManagedGemm.MaxThreads;
            long packs = Interlocked.Read(ref ManagedGemm.SharedPacks);
            try
            {
                ManagedGemm.MaxThreads = 1;
                Gemm.Multiply(false, false, m, n, k, T.One, a, 0, k, b, 0, n, T.Zero, one, 0, n);
                ManagedGemm.MaxThreads = 0;
                // Other tests run products concurrently and may hold the worker pool (the product then runs on one
                // thread, packing for itself); repeat until one run got the pool.
                bool several = Environment.ProcessorCount > 1 && ManagedGemm.MaxThreads > 1;
                for (int attempt = 0; attempt < 50; attempt++)
                {
                    Gemm.Multiply(false, false, m, n, k, T.One, a, 0, k, b, 0, n, T.Zero, all, 0, n);
                    Assert.Equal(one, all);
                    if (!several || Interlocked.Read(ref ManagedGemm.SharedPacks) > packs) break;
                }
                if (several) Assert.True(Interlocked.Read(ref ManagedGemm.SharedPacks) > packs, "B̃ was never packed once for all row parts");
            }
            finally
            {
                ManagedGemm.MaxThreads = saved;
            }
        }
        Compare<float>(1031, 301, 1500);
        Compare<double>(1031, 301, 1500);
        Compare<float>(700, 129, 600);
        // Narrow (N ≤ 16·NR): deeper k blocks (KCNarrow), which the shared packing must cut as the parts read them.
        Compare<double>(1031, 200, 2500);
        Compare<double>(1031, 256, 1030);
    }

    [Fact]
    public void Managed_RowPartsReuseTheirThreadsPackedB_WithinOneProductOnly()
    {
        // B̃ below the shared-packing size: each thread packs it for its first row part and its later parts of the same
        // product read that copy. The bits must be those of one thread, and a later product with B changed in place
        // (same array, same shapes) must not read the earlier product's B̃.
        static void Compare<T>(int m, int n, int k) where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] a = RandomArray<T>(m * k, 31), b = RandomArray<T>(k * n, 32);
            T[] one = new T[m * n], all = new T[m * n], reused = new T[m * n];
            int saved = ManagedGemm.MaxThreads;
            bool savedReuse = ManagedGemm.ReuseThreadB;
            try
            {
                for (int round = 0; round < 3; round++)
                {
                    ManagedGemm.MaxThreads = 1;
                    Gemm.Multiply(false, false, m, n, k, T.One, a, 0, k, b, 0, n, T.Zero, one, 0, n);
                    AssertMatchesReference(new Layout(false, false, m, n, k), 1, 0, a, b, 0, 0, new T[m * n], one, 0, $"round {round}");
                    // Reusing first: the workers' buffers still hold the last round's B̃, packed from the old values.
                    ManagedGemm.MaxThreads = 0;
                    ManagedGemm.ReuseThreadB = true;
                    Gemm.Multiply(false, false, m, n, k, T.One, a, 0, k, b, 0, n, T.Zero, reused, 0, n);
                    Assert.Equal(one, reused);
                    ManagedGemm.ReuseThreadB = false;
                    Gemm.Multiply(false, false, m, n, k, T.One, a, 0, k, b, 0, n, T.Zero, all, 0, n);
                    Assert.Equal(one, all);
                    // Same array, new values: a thread's B̃ from the last product is stale now.
                    for (int i = 0; i < b.Length; i++) b[i] = b[i] * T.CreateTruncating(-1.5) + T.CreateTruncating(0.25 * round);
                }
            }
            finally
            {
                ManagedGemm.MaxThreads = saved;
                ManagedGemm.ReuseThreadB = savedReuse;
            }
        }
        Compare<float>(3001, 301, 50);    // 8 row parts on two threads; a 13-column edge and a partial bottom sliver
        Compare<double>(2053, 96, 50);
        Compare<float>(1400, 768, 20);
    }

    // ----------------------------------------------------------------------------------------
    // Batched

    private static void CheckBatched<T>(GemmKernelPath path, int batch, Layout l, long strideA, long strideB, long strideC,
        double alpha, double beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] a = RandomArray<T>((int)(l.OffA + Math.Max(0, batch - 1) * strideA + l.ExtentA), 11);
        T[] b = RandomArray<T>((int)(l.OffB + Math.Max(0, batch - 1) * strideB + l.ExtentB), 12);
        T[] c = RandomArray<T>((int)(l.OffC + Math.Max(0, batch - 1) * strideC + l.ExtentC), 13);
        T[] before = (T[])c.Clone();
        Gemm.Execute(GemmProvider.Managed, path, batch, l.TransA, l.TransB, l.M, l.N, l.K, T.CreateTruncating(alpha),
            a, l.OffA, l.Lda, strideA, b, l.OffB, l.Ldb, strideB, T.CreateTruncating(beta), c, l.OffC, l.Ldc, strideC);
        var inAnyWindow = new bool[c.Length];
        for (int i = 0; i < batch; i++)
        {
            var li = l with { OffA = (int)(l.OffA + i * strideA), OffB = (int)(l.OffB + i * strideB), OffC = (int)(l.OffC + i * strideC) };
            // Reference for item i: its window starts from the original C; everything else is
            // taken as-is here and checked against the original below.
            T[] itemBefore = (T[])c.Clone();
            for (int r = 0; r < l.M; r++)
                for (int j = 0; j < l.N; j++)
                {
                    int x = li.OffC + r * l.Ldc + j;
                    itemBefore[x] = before[x];
                    inAnyWindow[x] = true;
                }
            AssertMatchesReference(li, alpha, beta, a, b, li.OffA, li.OffB, itemBefore, c, li.OffC, $"batch item {i} of {batch}");
        }
        for (int x = 0; x < c.Length; x++)
            if (!inAnyWindow[x]) Assert.Equal(before[x], c[x]);
    }

    [Theory]
    [InlineData(nameof(GemmKernelPath.Auto))]
    [InlineData(nameof(GemmKernelPath.Portable))]
    public void Batched_WithStrides_MatchesPerItemReference(string kernel)
    {
        var path = Enum.Parse<GemmKernelPath>(kernel);
        var l = new Layout(false, true, 13, 21, 17, OffA: 2, PadA: 1, OffC: 1, PadC: 3);
        CheckBatched<float>(path, 3, l, l.ExtentA + 4, l.ExtentB + 2, l.ExtentC + 5, 1.5, 0.5);
        CheckBatched<double>(path, 3, l, l.ExtentA + 4, l.ExtentB + 2, l.ExtentC + 5, 1.5, 0);
    }

    [Fact]
    public void Batched_SharedB_StrideZero()
    {
        var l = new Layout(true, false, 64, 72, 40);
        // 12 items of ~0.4 MFLOP: the batch is spread over the worker threads.
        CheckBatched<float>(GemmKernelPath.Auto, 12, l, l.ExtentA, 0, l.ExtentC, 1, 0);
        CheckBatched<double>(GemmKernelPath.Auto, 5, l, l.ExtentA, 0, l.ExtentC, 1, 0);
        CheckBatched<double>(GemmKernelPath.Auto, 4, l, 0, l.ExtentB, l.ExtentC, 1, 0);  // shared A
    }

    [Fact]
    public void Batched_OverlappingC_AccumulatesInOrder()
    {
        // strideC = 0 with beta = 1: C ends up as C + Σ A_i·B_i, as if the products ran one by one.
        const int batch = 4, m = 9, n = 10, k = 11;
        double[] a = RandomArray<double>(batch * m * k, 21), b = RandomArray<double>(batch * k * n, 22);
        double[] c = RandomArray<double>(m * n, 23), expected = (double[])c.Clone();
        for (int i = 0; i < batch; i++)
            NaiveGemm.Multiply(false, false, m, n, k, 1.0, a, i * m * k, k, b, i * k * n, n, 1.0, expected, 0, n);
        Gemm.MultiplyBatched(batch, false, false, m, n, k, 1.0, a, 0, k, m * k, b, 0, n, k * n, 1.0, c, 0, n, 0);
        for (int x = 0; x < c.Length; x++) Assert.Equal(expected[x], c[x], 1e-12);
    }

    [Fact]
    public void Batched_ZeroBatch_IsNoOp()
    {
        float[] c = [3f];
        Gemm.MultiplyBatched(0, false, false, 1, 1, 1, 1f, [], 0, 1, 1, [], 0, 1, 1, 0f, c, 0, 1, 1);
        Assert.Equal(3f, c[0]);
    }

    // ----------------------------------------------------------------------------------------
    // OpenBLAS

    [OpenBlasTheory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void OpenBlas_MatchesReferenceAndManaged(bool transA, bool transB)
    {
        var l = new Layout(transA, transB, 67, 45, 129, OffA: 3, PadA: 2, OffB: 1, PadB: 5, OffC: 2, PadC: 1);
        CheckBoth(GemmProvider.OpenBlas, GemmKernelPath.Auto, l, alpha: 0.75, beta: -0.5);
        CheckBoth(GemmProvider.OpenBlas, GemmKernelPath.Auto, l, alpha: 1, beta: 0, nanInC: true);

        double[] a = RandomArray<double>(l.OffA + l.ExtentA, 31), b = RandomArray<double>(l.OffB + l.ExtentB, 32);
        double[] viaManaged = new double[l.OffC + l.ExtentC], viaBlas = new double[viaManaged.Length];
        foreach (var (provider, c) in new[] { (GemmProvider.Managed, viaManaged), (GemmProvider.OpenBlas, viaBlas) })
            Gemm.Execute(provider, GemmKernelPath.Auto, 1, transA, transB, l.M, l.N, l.K, 1.0, a, l.OffA, l.Lda, 0,
                b, l.OffB, l.Ldb, 0, 0.0, c, l.OffC, l.Ldc, 0);
        for (int x = 0; x < viaManaged.Length; x++) Assert.Equal(viaManaged[x], viaBlas[x], 1e-11);
    }

    [OpenBlasFact]
    public void OpenBlas_Batched_MatchesManaged()
    {
        const int batch = 3, m = 33, n = 20, k = 50;
        float[] a = RandomArray<float>(batch * m * k, 41), b = RandomArray<float>(k * n, 42);
        float[] c1 = new float[batch * m * n], c2 = new float[batch * m * n];
        Gemm.Execute(GemmProvider.Managed, GemmKernelPath.Auto, batch, false, false, m, n, k, 1f, a, 0, k, m * k, b, 0, n, 0, 0f, c1, 0, n, m * n);
        Gemm.Execute(GemmProvider.OpenBlas, GemmKernelPath.Auto, batch, false, false, m, n, k, 1f, a, 0, k, m * k, b, 0, n, 0, 0f, c2, 0, n, m * n);
        for (int x = 0; x < c1.Length; x++) Assert.Equal(c1[x], c2[x], 1e-4f);
    }

    [OpenBlasFact]
    public void OpenBlas_CoreTypeDecision_MatchesTheCpu()
    {
        Assert.False(string.IsNullOrEmpty(OpenBlasGemm.CoreName));
        Assert.True(OpenBlasGemm.Threads >= 1);
        bool avx512 = Avx512F.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported;
        if (OpenBlasGemm.CoreTypeDecision.Contains("set by user")) return; // the user's choice wins
        if (avx512)
        {
            Assert.Contains("SkylakeX", OpenBlasGemm.CoreTypeDecision);
            Assert.Equal("SkylakeX", OpenBlasGemm.NativeGetEnv("OPENBLAS_CORETYPE"));
            Assert.Contains("skylakex", OpenBlasGemm.CoreName!, StringComparison.OrdinalIgnoreCase);
        }
        else
        {
            Assert.Contains("not set", OpenBlasGemm.CoreTypeDecision);
        }
    }

    [Fact]
    public void NativeSetEnv_IsVisibleToGetenv()
    {
        if (OperatingSystem.IsWindows()) return; // setenv is only used on Unix
        Assert.True(OpenBlasGemm.NativeSetEnv("JETSHARP_GEMM_TEST_VAR", "42"));
        Assert.Equal("42", OpenBlasGemm.NativeGetEnv("JETSHARP_GEMM_TEST_VAR"));
    }

    // ----------------------------------------------------------------------------------------
    // Provider selection

    [Theory]
    [InlineData(null, GemmProvider.Managed)]
    [InlineData("", GemmProvider.Managed)]
    [InlineData(" Managed ", GemmProvider.Managed)]
    [InlineData("OPENBLAS", GemmProvider.OpenBlas)]
    [InlineData("naive", GemmProvider.Naive)]
    public void ParseProvider_AcceptsKnownNames(string? value, GemmProvider expected)
        => Assert.Equal(expected, Gemm.ParseProvider(value, "JETSHARP_GEMM"));

    [Fact]
    public void ParseProvider_RejectsUnknownNames()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Gemm.ParseProvider("mkl", "JETSHARP_GEMM"));
        Assert.Contains("JETSHARP_GEMM", e.Message);
        Assert.Contains("mkl", e.Message);
    }

    [Fact]
    public void KernelPath_Auto_FollowsTheHardware()
    {
        var path = ManagedGemm.HardwarePath;
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) Assert.Equal(GemmKernelPath.Vector512, path);
        else if (Fma.IsSupported && System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated) Assert.Equal(GemmKernelPath.Vector256, path);
        else Assert.Equal(GemmKernelPath.Portable, path);
    }

    // ----------------------------------------------------------------------------------------
    // Argument validation

    [Fact]
    public void Validation_RejectsBadSizesAndShortBuffers()
    {
        float[] a = new float[6], b = new float[6], c = new float[4];

        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, -1, 2, 3, 1f, a, 0, 3, b, 0, 2, 0f, c, 0, 2));
        Assert.Contains("Gemm", e.Message);
        Assert.Contains("m=-1", e.Message);

        // A is 2×3 but lda = 2 < 3.
        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 3, 1f, a, 0, 2, b, 0, 2, 0f, c, 0, 2));
        Assert.Contains("Gemm", e.Message);
        Assert.Contains("leading dimension 2 of A", e.Message);

        // A needs 7 elements from offset 1.
        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 3, 1f, a, 1, 3, b, 0, 2, 0f, c, 0, 2));
        Assert.Contains("A needs 7 elements", e.Message);
        Assert.Contains("m=2, n=2, k=3", e.Message);

        // Transposed B is stored 2×3 (n×k): ldb must be ≥ 3.
        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, true, 2, 2, 3, 1f, a, 0, 3, b, 0, 2, 0f, c, 0, 2));
        Assert.Contains("of B", e.Message);

        // C too short (needs 5 with ldc = 3).
        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 3, 1f, a, 0, 3, b, 0, 2, 0f, c, 0, 3));
        Assert.Contains("C needs 5 elements", e.Message);

        Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 3, 1f, a, -1, 3, b, 0, 2, 0f, c, 0, 2));
        Assert.Throws<ArgumentNullException>(() => Gemm.Multiply(false, false, 2, 2, 3, 1f, null!, 0, 3, b, 0, 2, 0f, c, 0, 2));
    }

    [Fact]
    public void Validation_Batched_ChecksTheLastItemAndStrides()
    {
        float[] a = new float[12], b = new float[6], c = new float[8];
        // Two items of A (2×3) need 6 + 6 = 12 elements with stride 6: fine. Stride 7 overruns.
        Gemm.MultiplyBatched(2, false, false, 2, 2, 3, 1f, a, 0, 3, 6, b, 0, 2, 0, 0f, c, 0, 2, 4);
        var e = Assert.Throws<ArgumentException>(() =>
            Gemm.MultiplyBatched(2, false, false, 2, 2, 3, 1f, a, 0, 3, 7, b, 0, 2, 0, 0f, c, 0, 2, 4));
        Assert.Contains("A needs 13 elements", e.Message);
        Assert.Contains("batch=2", e.Message);
        Assert.Throws<ArgumentException>(() =>
            Gemm.MultiplyBatched(-1, false, false, 2, 2, 3, 1f, a, 0, 3, 6, b, 0, 2, 0, 0f, c, 0, 2, 4));
        Assert.Throws<ArgumentException>(() =>
            Gemm.MultiplyBatched(2, false, false, 2, 2, 3, 1f, a, 0, 3, -6, b, 0, 2, 0, 0f, c, 0, 2, 4));
    }

    [Fact]
    public void UnsupportedElementType_Throws()
    {
        Half[] x = new Half[4];
        Assert.Throws<NotSupportedException>(() => Gemm.Multiply(false, false, 2, 2, 2, Half.One, x, 0, 2, x, 0, 2, Half.Zero, x, 0, 2));
    }
}

/// <summary>Tests that set the process-wide provider; serialised with each other.</summary>
[Collection(nameof(GemmProviderCollection))]
public class GemmProviderTests
{
    [Fact]
    public void OpenBlas_Availability_IsReportedConsistently()
    {
        GemmProvider saved = Gemm.Provider;
        try
        {
            if (Gemm.OpenBlasAvailable)
            {
                Gemm.Provider = GemmProvider.OpenBlas;
                Assert.Equal(GemmProvider.OpenBlas, Gemm.Provider);
                Assert.False(string.IsNullOrEmpty(OpenBlasGemm.LibraryName));
            }
            else
            {
                // Absent library: selecting it fails loudly and the managed provider stays in charge.
                var e = Assert.Throws<InvalidOperationException>(() => Gemm.Provider = GemmProvider.OpenBlas);
                Assert.Contains("OpenBLAS", e.Message);
                Assert.Equal(saved, Gemm.Provider);
                Assert.NotEqual(GemmProvider.OpenBlas, Gemm.Provider);
            }
            // Either way a product still computes correctly through the public entry point.
            double[] a = [1, 2, 3, 4], b = [5, 6, 7, 8], c = new double[4];
            Gemm.Multiply(false, false, 2, 2, 2, 1.0, a, 0, 2, b, 0, 2, 0.0, c, 0, 2);
            Assert.Equal(new[] { 19.0, 22, 43, 50 }, c);
        }
        finally
        {
            Gemm.Provider = saved;
        }
    }

    [Fact]
    public void Provider_Naive_IsUsedByMultiply()
    {
        GemmProvider saved = Gemm.Provider;
        try
        {
            Gemm.Provider = GemmProvider.Naive;
            Assert.Equal(GemmProvider.Naive, Gemm.Provider);
            float[] a = [1, 2], b = [3, 4], c = new float[1];
            Gemm.Multiply(false, true, 1, 1, 2, 2f, a, 0, 2, b, 0, 2, 0f, c, 0, 1);
            Assert.Equal(22f, c[0]);
        }
        finally
        {
            Gemm.Provider = saved;
        }
    }
}
