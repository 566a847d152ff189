using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using JetSharp.Backend;

namespace JetSharp.Benchmarks;

/// <summary>Measured throughput of one GEMM shape on one provider.</summary>
/// <param name="Provider">Backend measured.</param>
/// <param name="DType">Element type.</param>
/// <param name="M">Rows of A and C.</param>
/// <param name="K">Inner dimension.</param>
/// <param name="N">Columns of B and C.</param>
/// <param name="GFlops">2·M·N·K / best time, in 10⁹ per second.</param>
/// <param name="FractionOfPeak">GFlops divided by the measured register-only FMA peak for the dtype.</param>
/// <param name="Milliseconds">Best (minimum) time of one product.</param>
/// <param name="Name">For a named shape (<see cref="GemmBenchmarkOptions.Named"/>): its name; null in the M×K×N sweep.</param>
/// <param name="Kernel">
/// With <see cref="GemmBenchmarkOptions.KernelBound"/>, for the managed provider: what its micro-kernel alone reaches on
/// this shape; null otherwise.
/// </param>
public sealed record GemmBenchmarkResult(
    GemmProvider Provider, DType DType, int M, int K, int N,
    double GFlops, double FractionOfPeak, double Milliseconds, string? Name = null, KernelBoundResult? Kernel = null);

/// <summary>
/// The managed micro-kernel alone on a product's full tiles (the same kernel calls, no packing, edges or scheduling;
/// see GemmKernelBound in the backend), as fractions of the FMA peak of the full tiles' flops.
/// </summary>
/// <param name="InL1">Stores into one tile per thread that stays in L1: the kernel's own rate.</param>
/// <param name="IntoC">Stores into C, as the product writes it: adds C's memory traffic.</param>
public sealed record KernelBoundResult(double InL1, double IntoC);

/// <summary>
/// A product measured by name besides the sweep: C[M×N] = op(A)·B + Beta·C, op(A) = Aᵀ (A stored K×M) when
/// <paramref name="TransA"/>.
/// </summary>
public sealed record GemmNamedShape(string Name, int M, int K, int N, bool TransA = false, double Beta = 0)
{
    /// <summary>
    /// The stde example's first layer (issue 22), float32 in the example: the forward product x·W₁ = [100, 10⁵]·[10⁵, 128]
    /// (the long-K path) and the weight gradient xᵀ·δ = [10⁵, 100]·[100, 128] (A = x stored [100, 10⁵]), written fresh
    /// (beta 0, as the example's graph runs it: checked on the example at D = 10⁵) and accumulated into an existing gradient.
    /// </summary>
    public static IReadOnlyList<GemmNamedShape> Stde { get; } =
    [
        new("stde x·W1", 100, 100_000, 128),
        new("stde xT·d", 100_000, 100, 128, TransA: true),
        new("stde xT·d +=", 100_000, 100, 128, TransA: true, Beta: 1),
    ];
}

/// <summary>Register-only FMA throughput, the ceiling any GEMM on this machine can approach.</summary>
/// <param name="DType">Element type.</param>
/// <param name="Threads">Threads running the loop at once.</param>
/// <param name="GFlops">Total over all threads, 2 flops per lane per FMA.</param>
/// <param name="Instructions">Which vector width the loop used, e.g. "Vector256 FMA".</param>
public sealed record FmaPeakResult(DType DType, int Threads, double GFlops, string Instructions);

/// <summary>What the numbers were measured with.</summary>
public sealed record GemmBenchmarkEnvironment(
    int Cores, string ManagedKernel, int MR, int NR, int MC, int KC, int NC, string CacheSizes,
    bool OpenBlasAvailable, string? OpenBlasLibrary, string? OpenBlasCore, int OpenBlasThreads,
    string OpenBlasCoreTypeDecision);

public sealed record GemmBenchmarkReport(
    GemmBenchmarkEnvironment Environment,
    IReadOnlyList<FmaPeakResult> Peaks,
    IReadOnlyList<GemmBenchmarkResult> Results);

public sealed class GemmBenchmarkOptions
{
    /// <summary>Rows of A and C (the batch dimension of an MLP layer).</summary>
    public IReadOnlyList<int> Ms { get; init; } = [256, 1024, 4096, 8192];
    /// <summary>Input features (inner dimension).</summary>
    public IReadOnlyList<int> Ks { get; init; } = [50, 512, 768];
    /// <summary>Output features.</summary>
    public IReadOnlyList<int> Ns { get; init; } = [50, 512, 768];
    /// <summary>When set, exactly these (M, K, N) products instead of the Ms × Ks × Ns sweep.</summary>
    public IReadOnlyList<(int M, int K, int N)>? Shapes { get; init; }
    public IReadOnlyList<DType> DTypes { get; init; } = [DType.Float32, DType.Float64];
    /// <summary>Named shapes measured after the sweep (managed and OpenBLAS only; the naive loop would take minutes).</summary>
    public IReadOnlyList<GemmNamedShape> Named { get; init; } = GemmNamedShape.Stde;
    /// <summary>OpenBLAS is skipped silently when it is not installed.</summary>
    public IReadOnlyList<GemmProvider> Providers { get; init; } = [GemmProvider.Managed, GemmProvider.OpenBlas, GemmProvider.Naive];
    /// <summary>The naive loop only runs up to this M, so the whole run finishes.</summary>
    public int NaiveMaxM { get; init; } = 256;
    /// <summary>Timed samples per shape; the minimum is reported.</summary>
    public int Repeats { get; init; } = 5;
    /// <summary>Each sample repeats the product until it lasts at least this long (timer resolution, noise).</summary>
    public double MinSampleSeconds { get; init; } = 0.03;
    /// <summary>Length of each of the three FMA peak measurements (the best is kept).</summary>
    public double PeakSeconds { get; init; } = 0.3;
    /// <summary>
    /// One thread, timed by its CPU clock (<see cref="Timing.ThreadCpuSeconds"/>): the FMA peak and every product run on the
    /// calling thread alone, and time the thread spent descheduled does not count. For A/B comparisons on a loaded machine.
    /// </summary>
    public bool CpuTime { get; init; }
    /// <summary>
    /// Also time the managed micro-kernel alone on each plain product (A not transposed, beta 0) with a full tile, its
    /// stores into L1 and into C (<see cref="KernelBoundResult"/>): the product's distance from the kernel's own rate,
    /// split into C's memory traffic and the driver's work.
    /// </summary>
    public bool KernelBound { get; init; }
    /// <summary>Called as each result is measured, for live progress output.</summary>
    public Action<GemmBenchmarkResult>? OnResult { get; init; }

    /// <summary>A smaller sweep (~15–20 s) for a quick check.</summary>
    public static GemmBenchmarkOptions Quick(Action<GemmBenchmarkResult>? onResult = null) => new()
    {
        Ms = [256, 2048],
        Repeats = 3,
        MinSampleSeconds = 0.01,
        PeakSeconds = 0.15,
        OnResult = onResult,
    };
}

/// <summary>
/// GEMM throughput on the reference MLP shapes, reported against the machine's own FMA peak so the
/// numbers mean the same thing on any CPU. Row-major C = A·B with A M×K and B K×N, as in a dense
/// layer's forward pass.
/// </summary>
public static class GemmBenchmark
{
    /// <summary>
    /// Runs a register-only FMA loop on <paramref name="threads"/> threads at once and returns the
    /// total GFLOP/s (2 flops per lane per FMA). The loop keeps 12 independent accumulators so FMA
    /// latency (4–5 cycles) times issue width (2 per cycle) is covered, and touches no memory.
    /// </summary>
    public static double MeasureFmaPeak(DType dtype, int threads) => Enumerable.Range(0, 3).Max(_ => MeasurePeak(dtype, threads, 0.3).GFlops);

    public static FmaPeakResult MeasurePeak(DType dtype, int threads, double seconds) => MeasurePeak(dtype, threads, seconds, false);

    /// <summary><paramref name="cpuTime"/>: each thread is timed by its own CPU clock (see <see cref="GemmBenchmarkOptions.CpuTime"/>).</summary>
    public static FmaPeakResult MeasurePeak(DType dtype, int threads, double seconds, bool cpuTime)
    {
        threads = Math.Clamp(threads, 1, Environment.ProcessorCount * 4);
        const long Chunk = 1 << 16; // iterations between clock checks
        // Calibrate on one thread so every thread then runs a fixed count and they finish together.
        long perChunkTicks = Math.Max(1, TimeChunks(dtype, Chunk, 3) / 3);
        long iterations = Math.Max(Chunk, (long)(seconds * Stopwatch.Frequency / perChunkTicks) * Chunk);

        var elapsed = new long[threads];
        var cpu = new double[threads];
        using var start = new Barrier(threads);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int id = t;
            workers[t] = new Thread(() =>
            {
                start.SignalAndWait();
                long t0 = Stopwatch.GetTimestamp();
                double c0 = cpuTime ? Timing.ThreadCpuSeconds() : 0;
                FmaLoop(dtype, iterations);
                if (cpuTime) cpu[id] = Timing.ThreadCpuSeconds() - c0;
                elapsed[id] = Stopwatch.GetTimestamp() - t0;
            });
            workers[t].Start();
        }
        foreach (var w in workers) w.Join();

        double secondsTaken = cpuTime ? cpu.Max() : elapsed.Max() / (double)Stopwatch.Frequency;
        double flops = 2.0 * 12 * PeakLanes(dtype) * iterations * threads;
        return new FmaPeakResult(dtype, threads, flops / secondsTaken / 1e9, PeakInstructions);
    }

    // The peak loop uses the vector width of the managed GEMM's kernel (JETSHARP_GEMM_KERNEL=avx2 on an AVX-512
    // machine measures the 256-bit FMA peak, what an AVX2-only machine of this core would offer), so "% of peak"
    // compares a kernel with the peak of its own instructions.
    private static bool Peak512 => Vector512.IsHardwareAccelerated && ManagedGemm.DefaultPath == GemmKernelPath.Vector512;
    private static bool Peak256 => !Peak512 && Vector256.IsHardwareAccelerated && Fma.IsSupported && ManagedGemm.DefaultPath != GemmKernelPath.Portable;

    private static string PeakInstructions =>
        Peak512 ? "Vector512 FMA"
        : Peak256 ? "Vector256 FMA"
        : "Vector<T> multiply+add";

    private static int PeakLanes(DType dtype)
    {
        int bytes = Peak512 ? 64 : Peak256 ? 32 : Vector<byte>.Count;
        return bytes / dtype.SizeInBytes();
    }

    private static long TimeChunks(DType dtype, long chunk, int count)
    {
        FmaLoop(dtype, chunk); // JIT warm-up
        long t0 = Stopwatch.GetTimestamp();
        FmaLoop(dtype, chunk * count);
        return Stopwatch.GetTimestamp() - t0;
    }

    private static double FmaLoop(DType dtype, long iterations)
    {
        if (dtype == DType.Float32)
        {
            if (Peak512) return Fma512<float>(iterations, 0.9999f, 1e-6f);
            if (Peak256) return Fma256<float>(iterations, 0.9999f, 1e-6f);
            return MulAdd<float>(iterations, 0.9999f, 1e-6f);
        }
        if (Peak512) return Fma512<double>(iterations, 0.9999, 1e-6);
        if (Peak256) return Fma256<double>(iterations, 0.9999, 1e-6);
        return MulAdd<double>(iterations, 0.9999, 1e-6);
    }

    // acc = acc·x + y converges to y/(1−x): no overflow, no denormals, and the result is consumed
    // so the JIT cannot discard the loop.
    // AggressiveOptimization: compiled fully optimised at once; under tiered JIT the calibration and part of
    // the timed loop would otherwise run unoptimised code and the peak would come out far too low.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Fma512<T>(long n, T xs, T ys) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector512<T> x = Vector512.Create(xs), y = Vector512.Create(ys);
        Vector512<T> a0 = y, a1 = y, a2 = y, a3 = y, a4 = y, a5 = y, a6 = y, a7 = y, a8 = y, a9 = y, a10 = y, a11 = y;
        for (long i = 0; i < n; i++)
        {
            a0 = Simd.Fma(a0, x, y); a1 = Simd.Fma(a1, x, y); a2 = Simd.Fma(a2, x, y);
            a3 = Simd.Fma(a3, x, y); a4 = Simd.Fma(a4, x, y); a5 = Simd.Fma(a5, x, y);
            a6 = Simd.Fma(a6, x, y); a7 = Simd.Fma(a7, x, y); a8 = Simd.Fma(a8, x, y);
            a9 = Simd.Fma(a9, x, y); a10 = Simd.Fma(a10, x, y); a11 = Simd.Fma(a11, x, y);
        }
        var s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        return double.CreateTruncating(Vector512.Sum(s));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Fma256<T>(long n, T xs, T ys) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector256<T> x = Vector256.Create(xs), y = Vector256.Create(ys);
        Vector256<T> a0 = y, a1 = y, a2 = y, a3 = y, a4 = y, a5 = y, a6 = y, a7 = y, a8 = y, a9 = y, a10 = y, a11 = y;
        for (long i = 0; i < n; i++)
        {
            a0 = Simd.Fma(a0, x, y); a1 = Simd.Fma(a1, x, y); a2 = Simd.Fma(a2, x, y);
            a3 = Simd.Fma(a3, x, y); a4 = Simd.Fma(a4, x, y); a5 = Simd.Fma(a5, x, y);
            a6 = Simd.Fma(a6, x, y); a7 = Simd.Fma(a7, x, y); a8 = Simd.Fma(a8, x, y);
            a9 = Simd.Fma(a9, x, y); a10 = Simd.Fma(a10, x, y); a11 = Simd.Fma(a11, x, y);
        }
        var s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        return double.CreateTruncating(Vector256.Sum(s));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double MulAdd<T>(long n, T xs, T ys) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector<T> x = new(xs), y = new(ys);
        Vector<T> a0 = y, a1 = y, a2 = y, a3 = y, a4 = y, a5 = y, a6 = y, a7 = y, a8 = y, a9 = y, a10 = y, a11 = y;
        for (long i = 0; i < n; i++)
        {
            a0 = a0 * x + y; a1 = a1 * x + y; a2 = a2 * x + y; a3 = a3 * x + y;
            a4 = a4 * x + y; a5 = a5 * x + y; a6 = a6 * x + y; a7 = a7 * x + y;
            a8 = a8 * x + y; a9 = a9 * x + y; a10 = a10 * x + y; a11 = a11 * x + y;
        }
        var s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        return double.CreateTruncating(Vector.Sum(s));
    }

    /// <summary>Runs the sweep. Default options take about a minute on a 2-core machine.</summary>
    public static GemmBenchmarkReport Run(GemmBenchmarkOptions? options = null)
    {
        options ??= new GemmBenchmarkOptions();
        int cores = options.CpuTime ? 1 : Environment.ProcessorCount;
        var env = DescribeEnvironment(cores);
        int savedThreads = ManagedGemm.MaxThreads;
        if (options.CpuTime) ManagedGemm.MaxThreads = 1;
        try { return RunShapes(options, env, cores); }
        finally { ManagedGemm.MaxThreads = savedThreads; }
    }

    private static GemmBenchmarkReport RunShapes(GemmBenchmarkOptions options, GemmBenchmarkEnvironment env, int cores)
    {
        bool openBlas = env.OpenBlasAvailable;

        // Best of three: anything else running on the machine can only lower a measurement.
        var peaks = new List<FmaPeakResult>();
        foreach (DType dt in options.DTypes)
            peaks.Add(Enumerable.Range(0, 3).Select(_ => MeasurePeak(dt, cores, options.PeakSeconds, options.CpuTime)).MaxBy(p => p.GFlops)!);

        var results = new List<GemmBenchmarkResult>();
        foreach (DType dt in options.DTypes)
        {
            double peak = peaks.First(p => p.DType == dt).GFlops;
            foreach (GemmProvider provider in options.Providers)
            {
                if (provider == GemmProvider.OpenBlas && !openBlas) continue;
                var shapes = (options.Shapes ?? (from m in options.Ms from k in options.Ks from n in options.Ns select (M: m, K: k, N: n)).ToList())
                    .Where(s => provider != GemmProvider.Naive || s.M <= options.NaiveMaxM)
                    .ToList();
                if (shapes.Count == 0 && (provider == GemmProvider.Naive || options.Named.Count == 0)) continue;
                Warmup(provider, dt);
                var all = shapes.Select(s => new GemmNamedShape("", s.M, s.K, s.N))
                    .Concat(provider == GemmProvider.Naive ? [] : options.Named);
                foreach (var shape in all)
                {
                    var (seconds, kernel) = dt == DType.Float32
                        ? TimeShape<float>(provider, shape, options, cores, peak)
                        : TimeShape<double>(provider, shape, options, cores, peak);
                    double gflops = 2.0 * shape.M * shape.N * shape.K / seconds / 1e9;
                    var r = new GemmBenchmarkResult(provider, dt, shape.M, shape.K, shape.N, gflops, gflops / peak, seconds * 1e3,
                        shape.Name.Length > 0 ? shape.Name : null, kernel);
                    results.Add(r);
                    options.OnResult?.Invoke(r);
                }
            }
        }
        return new GemmBenchmarkReport(env, peaks, results);
    }

    private static GemmBenchmarkEnvironment DescribeEnvironment(int cores)
    {
        GemmKernelPath path = ManagedGemm.DefaultPath;
        var (mr, nr, bl) = path switch
        {
            GemmKernelPath.Vector512 => (Vector512Kernel<float>.MR, Vector512Kernel<float>.NR, GemmDriver<float, Vector512Kernel<float>>.Blocking),
            GemmKernelPath.Vector256 => (Vector256Kernel<float>.MR, Vector256Kernel<float>.NR, GemmDriver<float, Vector256Kernel<float>>.Blocking),
            _ => (PortableKernel<float>.MR, PortableKernel<float>.NR, GemmDriver<float, PortableKernel<float>>.Blocking),
        };
        var cache = CacheSizes.Current;
        bool ob = Gemm.OpenBlasAvailable;
        return new GemmBenchmarkEnvironment(cores, path.ToString(), mr, nr, bl.MC, bl.KC, bl.NC,
            $"L1d {cache.L1 >> 10} KiB, L2 {cache.L2 >> 10} KiB, L3 {cache.L3 >> 20} MiB",
            ob, OpenBlasGemm.LibraryName, OpenBlasGemm.CoreName, ob ? OpenBlasGemm.Threads : 0,
            OpenBlasGemm.CoreTypeDecision);
    }

    /// <summary>Gets kernels through tiered JIT compilation before anything is timed.</summary>
    private static void Warmup(GemmProvider provider, DType dt)
    {
        int size = provider == GemmProvider.Naive ? 48 : 256;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < (provider == GemmProvider.Managed ? 0.5 : 0.1))
        {
            if (dt == DType.Float32) TimeOnce<float>(provider, size, size, size, Alloc<float>(size, size, 1), Alloc<float>(size, size, 2), new float[size * size]);
            else TimeOnce<double>(provider, size, size, size, Alloc<double>(size, size, 1), Alloc<double>(size, size, 2), new double[size * size]);
        }
    }

    private static (double Seconds, KernelBoundResult? Kernel) TimeShape<T>(GemmProvider provider, GemmNamedShape s,
        GemmBenchmarkOptions o, int cores, double peak)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = s.M, k = s.K, n = s.N;
        // op(A) is m×k: stored m×k (row stride k), or k×m (row stride m) when transposed.
        T[] a = Alloc<T>(m, k, 1), b = Alloc<T>(k, n, 2), c = Alloc<T>(m, n, 3);
        int lda = s.TransA ? m : k;
        T beta = T.CreateTruncating(s.Beta);
        double once = TimeOnce(provider, s.TransA, m, k, n, a, lda, b, beta, c); // also touches every page of C
        if (provider == GemmProvider.Naive) return (once, null);     // seconds per call already; no repeats
        int inner = (int)Math.Clamp(Math.Ceiling(o.MinSampleSeconds / once), 1, 100_000);
        double best = BestPerCall(o, inner, () =>
        {
            for (int i = 0; i < inner; i++)
                Gemm.Execute(provider, GemmKernelPath.Auto, 1, s.TransA, false, m, n, k, T.One, a, 0, lda, 0, b, 0, n, 0, beta, c, 0, n, 0);
        });
        KernelBoundResult? kernel = null;
        if (o.KernelBound && provider == GemmProvider.Managed && !s.TransA && s.Beta == 0
            && GemmKernelBound.Prepare(m, k, n, b) is { } plan)
        {
            double Fraction(KernelBoundStores stores)
            {
                plan.Run(a, c, stores, cores, 1);   // warm-up
                double sec = BestPerCall(o, inner, () => plan.Run(a, c, stores, cores, inner));
                return plan.Flops / sec / 1e9 / peak;
            }
            kernel = new KernelBoundResult(Fraction(KernelBoundStores.L1Tile), Fraction(KernelBoundStores.IntoC));
        }
        return (best, kernel);
    }

    /// <summary>The best over the options' repeats of one sample's time (wall clock, or the thread's CPU clock) ÷ its calls.</summary>
    private static double BestPerCall(GemmBenchmarkOptions o, int calls, Action sample)
    {
        double best = double.MaxValue;
        for (int r = 0; r < Math.Max(1, o.Repeats); r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            double c0 = o.CpuTime ? Timing.ThreadCpuSeconds() : 0;
            sample();
            double seconds = o.CpuTime ? Timing.ThreadCpuSeconds() - c0 : Stopwatch.GetElapsedTime(t0).TotalSeconds;
            best = Math.Min(best, seconds / calls);
        }
        return best;
    }

    private static double TimeOnce<T>(GemmProvider provider, int m, int k, int n, T[] a, T[] b, T[] c)
        where T : unmanaged, IFloatingPointIeee754<T>
        => TimeOnce(provider, false, m, k, n, a, k, b, T.Zero, c);

    private static double TimeOnce<T>(GemmProvider provider, bool transA, int m, int k, int n, T[] a, int lda, T[] b, T beta, T[] c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long t0 = Stopwatch.GetTimestamp();
        Gemm.Execute(provider, GemmKernelPath.Auto, 1, transA, false, m, n, k, T.One, a, 0, lda, 0, b, 0, n, 0, beta, c, 0, n, 0);
        return Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    private static T[] Alloc<T>(int rows, int cols, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new System.Random(seed);
        var x = GC.AllocateUninitializedArray<T>(checked(rows * cols));
        for (int i = 0; i < x.Length; i++) x[i] = T.CreateTruncating(rng.NextDouble() - 0.5);
        return x;
    }
}
