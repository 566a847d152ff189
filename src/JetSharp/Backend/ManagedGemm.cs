using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace JetSharp.Backend;

/// <summary>Which micro-kernel the managed GEMM uses.</summary>
internal enum GemmKernelPath
{
    /// <summary>Best for the hardware (or JETSHARP_GEMM_KERNEL when set).</summary>
    Auto,
    Vector512,
    Vector256,
    /// <summary>Vector&lt;T&gt; without FMA; element-wise where Vector&lt;T&gt; is not accelerated.</summary>
    Portable,
}

/// <summary>
/// Managed GEMM in the Goto/BLIS structure (packing, cache blocking, register-tiled micro-kernel):
/// <code>
/// for jc in N step NC            // B̃ block (KC×NC) packed once, read from L2/L3
///   for pc in K step KC          // k blocks: C accumulates across them
///     for ic in M step MC        // (A stored transposed: pack the Ã block, MC×KC, into slivers)
///       for ir in MC step MR     // one A sliver (MR×KC) stays in L1 ...
///         for jr in NC step NR   // ... while the B̃ slivers stream past it
///           micro-kernel: C[MR×NR] = alpha·(A sliver · B̃ sliver) + beta·C
/// </code>
/// Threads split C into rectangles (normally along M), cut into a few parts each that the threads
/// claim dynamically; each part runs that loop nest with its own packing buffers, so threads never
/// synchronise mid-product.
/// </summary>
internal static unsafe partial class ManagedGemm
{
    private static GemmKernelPath? s_defaultPath;
    private static int s_maxThreads;

    /// <summary>
    /// Each extra thread must get at least this many flops: handing work to a polling worker costs
    /// about a microsecond all told, in which a core does ~50–100 kflop.
    /// </summary>
    internal const double MinFlopsPerThread = 2e5;

    /// <summary>
    /// Products below this many flops (≈ 50 µs on one core) do not wake blocked workers: waking
    /// costs tens of microseconds. Awake (polling) workers are still used.
    /// </summary>
    internal const double ColdWakeFlops = 4e6;

    /// <summary>Products whose B̃ was packed once for all their row parts (for tests).</summary>
    internal static long SharedPacks;
    /// <summary>Whether an unchanging B's packed form is kept (<see cref="GemmProblem{T}.BKey"/>): unless <c>JETSHARP_GEMM_KEEP=0</c>; settable for tests.</summary>
    internal static bool KeepPacked = Environment.GetEnvironmentVariable("JETSHARP_GEMM_KEEP") != "0";

    /// <summary>
    /// Whether a thread's later row parts of one product reuse the B̃ block its first part packed (when B̃ is not packed
    /// once for all threads); settable for tests and measurements.
    /// </summary>
    internal static bool ReuseThreadB = true;

    /// <summary>
    /// True when an AVX-512 float64 product is too shallow for the 12-row kernel: K below the KC that kernel's blocking
    /// gives (A sliver 12×KC ≤ 1.5·L1: 768 with a 48 KiB L1, 512 with a 32 KiB one), i.e. one short k block, or K at
    /// most <see cref="ShallowK"/> whatever the L1. Such products use the 8-row kernel (<see cref="Vector512Kernel8{T}"/>);
    /// see docs/gemm.md, "float64 at K ≤ 512 on two cores".
    /// </summary>
    internal static bool UsesShortKKernel<T>(int k) where T : unmanaged, IFloatingPointIeee754<T>
        => typeof(T) == typeof(double) && (k < GemmDriver<T, Vector512Kernel<T>>.Blocking.KC || k <= ShallowK);

    /// <summary>
    /// Depth up to which float64 products count as shallow even where the 12-row kernel's KC is that small: on a 32 KiB
    /// L1 (Zen 4) KC is 512, so K = 512 filled one 12-row k block and ran on the 12-row kernel, at 77–84 % of the two-core
    /// peak (1024/8192×512×512) against 86–94 % on the 8 rows (docs/gemm.md).
    /// </summary>
    internal const int ShallowK = 512;

    /// <summary>Kernel used for <see cref="GemmKernelPath.Auto"/>; settable for tests and benchmarks.</summary>
    internal static GemmKernelPath DefaultPath
    {
        get => s_defaultPath ??= DetectPath();
        set => s_defaultPath = value == GemmKernelPath.Auto ? DetectPath() : value;
    }

    /// <summary>Upper bound on threads (JETSHARP_GEMM_THREADS, else all cores).</summary>
    internal static int MaxThreads
    {
        get
        {
            if (s_maxThreads > 0) return s_maxThreads;
            int t = Environment.ProcessorCount;
            if (int.TryParse(Environment.GetEnvironmentVariable("JETSHARP_GEMM_THREADS"), out int env) && env > 0)
                t = env;
            return s_maxThreads = Math.Clamp(t, 1, 256);
        }
        set => s_maxThreads = value <= 0 ? 0 : Math.Clamp(value, 1, 256);
    }

    internal static GemmKernelPath HardwarePath =>
        Vector512.IsHardwareAccelerated ? GemmKernelPath.Vector512
        : Vector256.IsHardwareAccelerated && Fma.IsSupported ? GemmKernelPath.Vector256
        : GemmKernelPath.Portable;

    private static GemmKernelPath DetectPath()
    {
        string? env = Environment.GetEnvironmentVariable("JETSHARP_GEMM_KERNEL")?.Trim().ToLowerInvariant();
        return env switch
        {
            "avx512" or "vector512" => GemmKernelPath.Vector512,
            "avx2" or "vector256" => GemmKernelPath.Vector256,
            "portable" or "scalar" => GemmKernelPath.Portable,
            _ => HardwarePath,
        };
    }

    /// <summary>Arguments are validated and degenerate cases (m, n, k or alpha zero) removed by <see cref="Gemm"/>.</summary>
    public static void Multiply<T>(GemmKernelPath path, int batch, bool transA, bool transB, int m, int n, int k, T alpha,
        T[] a, int offA, int lda, long strideA, T[] b, int offB, int ldb, long strideB,
        T beta, T[] c, int offC, int ldc, long strideC, GemmEpilogue<T>? epilogue = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (path == GemmKernelPath.Auto) path = DefaultPath;
#if JETSHARP_CHECKED
        if (epilogue is null && CheckedGemm.Run(path, batch, transA, transB, m, n, k, alpha, a, offA, lda, strideA, b, offB, ldb, strideB,
                beta, c, offC, ldc, strideC)) return;
#endif
        fixed (T* pa = a, pb = b, pc = c)
        {
            var batchDesc = new GemmBatch<T>
            {
                Count = batch,
                StrideA = (nint)strideA,
                StrideB = (nint)strideB,
                StrideC = (nint)strideC,
                Problem = new GemmProblem<T>
                {
                    A = pa + offA, RsA = transA ? 1 : lda, CsA = transA ? lda : 1,
                    B = pb + offB, RsB = transB ? 1 : ldb, CsB = transB ? ldb : 1,
                    C = pc + offC, Ldc = ldc,
                    M = m, N = n, K = k, Alpha = alpha, Beta = beta, Epilogue = epilogue,
                },
            };
            if (LongKGemm.Applies(batch, m, n, k, epilogue is not null))
            {
                switch (path)
                {
                    case GemmKernelPath.Vector512: LongKGemm<T, Vector512Kernel<T>>.Run(batchDesc.Problem, MaxThreads); break;
                    case GemmKernelPath.Vector256: LongKGemm<T, Vector256Kernel<T>>.Run(batchDesc.Problem, MaxThreads); break;
                    default: LongKGemm<T, PortableKernel<T>>.Run(batchDesc.Problem, MaxThreads); break;
                }
                return;
            }
            switch (path)
            {
                case GemmKernelPath.Vector512 when UsesShortKKernel<T>(k): GemmDriver<T, Vector512Kernel8<T>>.Run(batchDesc, MaxThreads); break;
                case GemmKernelPath.Vector512: GemmDriver<T, Vector512Kernel<T>>.Run(batchDesc, MaxThreads); break;
                case GemmKernelPath.Vector256: GemmDriver<T, Vector256Kernel<T>>.Run(batchDesc, MaxThreads); break;
                default: GemmDriver<T, PortableKernel<T>>.Run(batchDesc, MaxThreads); break;
            }
        }
        epilogue?.Finish();
    }
}

/// <summary>One product on raw pointers. op(A)(i,p) = A[i·RsA + p·CsA], op(B)(p,j) = B[p·RsB + j·CsB].</summary>
internal unsafe struct GemmProblem<T> where T : unmanaged
{
    public T* A; public nint RsA, CsA;
    /// <summary>
    /// When not null, the left operand is factored (<see cref="GemmFactor{T}"/>): op(A)(i,p) = A[MapA(i)·RsA + p]·A2[MapA2(i)·RsA + p]
    /// (CsA = 1), multiplied sliver by sliver where the micro-kernels read it (<see cref="GemmFactorRows{T}"/>).
    /// </summary>
    public T* A2; public GemmRowMap MapA, MapA2;
    public T* B; public nint RsB, CsB;
    /// <summary>
    /// When not null, the array that holds B, whose values never change while it lives (a graph constant): its packed B̃
    /// is kept with it and reused by later products (see GemmDriver's PackSharedB).
    /// </summary>
    public object? BKey;
    public T* C; public nint Ldc;
    public int M, N, K;
    public T Alpha, Beta;
    /// <summary>Run on each row sliver of C once it is final (see <see cref="GemmEpilogue{T}"/>); only for a single product.</summary>
    public GemmEpilogue<T>? Epilogue;

    public readonly GemmProblem<T> Item(int i, nint strideA, nint strideB, nint strideC)
    {
        var p = this;
        p.A += i * strideA;
        p.B += i * strideB;
        p.C += i * strideC;
        return p;
    }
}

internal struct GemmBatch<T> where T : unmanaged
{
    public GemmProblem<T> Problem;
    public int Count;
    public nint StrideA, StrideB, StrideC;
}

/// <summary>Cache sizes in bytes (per core for L1/L2, whole chip for L3).</summary>
internal readonly record struct CacheSizes(int L1, int L2, int L3)
{
    public static readonly CacheSizes Current = Detect();

    private static CacheSizes Detect()
    {
        // Conservative defaults (32K/512K/8M) when neither the OS nor the CPU tells us.
        int l1 = 32 << 10, l2 = 512 << 10, l3 = 8 << 20;
        bool found = false;
        try
        {
            const string root = "/sys/devices/system/cpu/cpu0/cache";
            if (Directory.Exists(root))
            {
                foreach (string dir in Directory.EnumerateDirectories(root, "index*"))
                {
                    string type = File.ReadAllText(Path.Combine(dir, "type")).Trim();
                    if (type == "Instruction") continue;
                    int level = int.Parse(File.ReadAllText(Path.Combine(dir, "level")).Trim());
                    int size = ParseSize(File.ReadAllText(Path.Combine(dir, "size")).Trim());
                    if (size <= 0) continue;
                    if (level == 1) l1 = size;
                    else if (level == 2) l2 = size;
                    else if (level == 3) l3 = size;
                    found = true;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // Keep the defaults; blocking only needs to be roughly right.
        }
        // Some VMs (the development VM among them) have no cache directory in sysfs; the CPU itself still says.
        if (!found && FromCpuid() is { } c) return c;
        return new(l1, l2, l3);
    }

    /// <summary>
    /// Cache sizes from CPUID: leaf 4 (Intel's deterministic cache parameters) or AMD's extended leaves
    /// 0x80000005/6 (L1d in KiB; L2 in KiB; L3 in 512 KiB units). Null when unavailable or implausible.
    /// </summary>
    internal static CacheSizes? FromCpuid()
    {
        if (!X86Base.IsSupported) return null;
        try
        {
            var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
            bool intel = ebx == 0x756e6547 && edx == 0x49656e69 && ecx == 0x6c65746e; // "GenuineIntel"
            int l1 = 0, l2 = 0, l3 = 0;
            if (intel)
            {
                for (int i = 0; i < 8; i++)
                {
                    var (a, b, c, _) = X86Base.CpuId(4, i);
                    int type = a & 31;
                    if (type == 0) break;
                    if (type == 2) continue; // instruction cache
                    long size = (long)(((b >> 22) & 1023) + 1) * (((b >> 12) & 1023) + 1) * ((b & 4095) + 1) * ((long)(uint)c + 1);
                    int level = (a >> 5) & 7;
                    int bytes = (int)Math.Min(size, 1 << 30);
                    if (level == 1) l1 = bytes; else if (level == 2) l2 = bytes; else if (level == 3) l3 = bytes;
                }
            }
            else
            {
                if ((uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax < 0x80000006) return null;
                l1 = (int)(((uint)X86Base.CpuId(unchecked((int)0x80000005), 0).Ecx >> 24) << 10);
                var (_, _, c6, d6) = X86Base.CpuId(unchecked((int)0x80000006), 0);
                l2 = (int)(((uint)c6 >> 16) << 10);
                l3 = (int)Math.Min(((long)((uint)d6 >> 18)) * (512 << 10), 1 << 30);
            }
            if (l1 < (8 << 10) || l2 < l1) return null;
            return new(l1, l2, l3 > 0 ? l3 : 8 << 20);
        }
        catch (PlatformNotSupportedException)
        {
            return null;
        }
    }

    private static int ParseSize(string s)
    {
        long mult = 1;
        if (s.EndsWith('K')) { mult = 1 << 10; s = s[..^1]; }
        else if (s.EndsWith('M')) { mult = 1 << 20; s = s[..^1]; }
        return long.TryParse(s, out long v) ? (int)Math.Min(v * mult, 1 << 30) : 0;
    }
}

/// <summary>
/// Cache-blocking parameters for one kernel shape and element size. <see cref="KCNarrow"/> replaces KC for products at most
/// <see cref="NarrowTiles"/> column tiles wide (see <see cref="For"/>).
/// </summary>
internal readonly record struct GemmBlocking(int MC, int KC, int NC, int KCNarrow)
{
    /// <summary>Products with N ≤ NarrowTiles·NR use <see cref="KCNarrow"/>.</summary>
    public const int NarrowTiles = 16;

    /// <summary>The k blocks of a product n columns wide: their count and the (balanced) depth of all but the last.</summary>
    public (int Blocks, int KcMax) KBlocks(int n, int k, int nr)
    {
        int limit = n <= NarrowTiles * nr ? KCNarrow : KC;
        // Balanced (K = 1500 → 750 + 750, not 1024 + 476) so no pass is dominated by overhead.
        int blocks = (k + limit - 1) / limit;
        return (blocks, (k + blocks - 1) / blocks);
    }

    public static GemmBlocking For(int mr, int nr, int elementSize, CacheSizes cache, int threads)
    {
        // KC: the A sliver (MR×KC), which the macro-kernel keeps close while every B̃ sliver of the block streams
        // past it, takes at most 1.5 × L1. (In this loop order B̃ streams from L2/L3, so its slivers need not fit L1;
        // the A sliver's rows are read forward, and what spills is prefetched from L2.) Deep k blocks matter more than
        // anything else for tall products: C is read and written once per k block, and a tall C lives in memory.
        // Measured on Zen 5 (48 KiB L1): KC = 128 passed a 768-deep product's C through DRAM six times (float32 88% of
        // one core's FMA peak at 8192×768×768, 95% with one k block); float64 12×768 (72 KiB) beat 12×512 by 8 points.
        int kc = cache.L1 * 3 / 2 / (mr * elementSize);
        kc = Math.Clamp(kc, 64, 1024) & ~7;
        // KCNarrow: a narrow product (N ≤ NarrowTiles·NR) passes each A sliver to only a few B̃ slivers, so keeping the
        // sliver in L1 buys little, while cutting K cuts each of A's MR row streams into short runs, and A (each element
        // feeding only 2N flops) is what such a product streams from memory. Its A sliver may take 3 × L1. Measured on
        // Zen 4 (32 KiB L1; float64 12 rows, KC 512 → 1024, one core, thread CPU time): 8192×768×50 82–83 → 89 %,
        // 8192×768×128 88–90 → 94 %, 8192×768×256 92 → 94–95 %, 8192×1024×50 77 → 80 % of the FMA peak; from N = 512
        // the deeper block was no better (8192×768×512 93 → 92–93 %, 1024×768×768 92–93 → 89–92 %). It changes nothing
        // where KC is already at its 1024 cap (float32, AVX2).
        int kcNarrow = Math.Clamp(cache.L1 * 3 / (mr * elementSize), kc, 1024) & ~7;
        // MC: a packed Ã block (MC×KC; only A stored transposed is packed) takes half of L2, so
        // its slivers are still cached when the macro-kernel reads them back.
        int mc = cache.L2 / 2 / (kc * elementSize);
        mc = Math.Clamp(mc / mr * mr, mr, 1024 / mr * mr);
        // NC: each thread's B̃ block, which every A sliver streams through, gets a share of half the L3.
        long nc = (long)cache.L3 / 2 / Math.Max(1, threads) / ((long)kc * elementSize);
        nc = Math.Clamp(nc / nr * nr, 4L * nr, 8192L / nr * nr);
        return new(mc, kc, (int)nc, kcNarrow);
    }
}

/// <summary>The loop nest, specialised per element type and micro-kernel.</summary>
internal static unsafe partial class GemmDriver<T, TK>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TK : IGemmKernel<T>
{
    internal static readonly GemmBlocking Blocking =
        GemmBlocking.For(TK.MR, TK.NR, sizeof(T), CacheSizes.Current, Environment.ProcessorCount);

    [ThreadStatic] private static ProductJob? t_productJob;
    [ThreadStatic] private static BatchJob? t_batchJob;
    [ThreadStatic] private static PackJob? t_packJob;

    public static void Run(in GemmBatch<T> batch, int maxThreads)
    {
        ref readonly GemmProblem<T> p = ref batch.Problem;
        double flops = 2.0 * p.M * p.N * p.K;
        int threads = Math.Min(maxThreads, GemmWorkerPool.Shared.Capacity);
        if (p.Epilogue is not null && batch.Count != 1)
            throw new InvalidOperationException("Gemm: an epilogue runs on a single product, not a batch.");

        if (batch.Count > 1 && !OutputsOverlap(batch) && threads > 1
            && (batch.Count >= threads || flops < MinParallelFlops(threads))
            && flops * batch.Count >= ManagedGemm.MinFlopsPerThread * 2)
        {
            // Many small (or at least as many as cores) independent products: whole products per
            // thread beat splitting each product finely. Each item is one claimable part.
            var job = t_batchJob ??= new BatchJob();
            job.Batch = batch;
            try
            {
                if (GemmWorkerPool.Shared.TryRun(job, batch.Count, threads - 1)) return;
            }
            finally
            {
                job.Batch = default;
            }
        }

        for (int i = 0; i < batch.Count; i++)
            RunOne(p.Item(i, batch.StrideA, batch.StrideB, batch.StrideC), threads);
    }

    private static double MinParallelFlops(int threads) => ManagedGemm.MinFlopsPerThread * threads;

    private static bool OutputsOverlap(in GemmBatch<T> batch)
    {
        ref readonly GemmProblem<T> p = ref batch.Problem;
        long extent = (long)(p.M - 1) * p.Ldc + p.N;
        return batch.StrideC < extent;
    }

    private static void RunOne(in GemmProblem<T> p, int maxThreads)
    {
        var (tm, tn) = Partition(p.M, p.N, p.K, maxThreads);
        // A product this small finishes sooner on one core than a blocked worker takes to wake up;
        // use the workers only if they are still polling after a recent product.
        if (tm * tn > 1 && 2.0 * p.M * p.N * p.K < ManagedGemm.ColdWakeFlops
            && !GemmWorkerPool.Shared.WorkersAwake(tm * tn - 1))
            (tm, tn) = (1, 1);
        // A summing epilogue fixes the parts: row ranges at multiples of its row unit, the same on any number of threads.
        int unit = p.Epilogue?.SumRowUnit ?? 0;
        if (unit > 0)
        {
            int positions = p.M / unit, parts = Math.Min(positions, GemmEpilogue<T>.SumParts);
            p.Epilogue!.Prepare(parts);
            var sums = t_productJob ??= new ProductJob();
            sums.Start(p, parts, 1, unit);
            try
            {
                int helpers = Math.Min(tm * tn, parts) - 1;
                if (parts > 1 && helpers > 0)
                {
                    sums.SharedB = PackSharedB(p, helpers);
                    if (GemmWorkerPool.Shared.TryRun(sums, parts, helpers)) return;
                }
                for (int part = 0; part < parts; part++) sums.Execute(part, parts);
            }
            finally
            {
                sums.End();
            }
            return;
        }
        // Cut each thread's rows into up to 4 parts (of at least 256 rows): with parts claimed dynamically, a thread whose
        // core is slowed by other work ends up with fewer of them. B̃ is packed once for all (PackSharedB) or, below that
        // size, once per thread: a thread's later parts of this product (ProductJob.Call, also for a summing epilogue's
        // parts) read the block its first one packed (two cores, float32: 2048×100×512 +7–11 %, 8192×50×768 +1–4 %,
        // against a pack per part).
        int rowParts = tm * tn > 1 ? tm * Math.Clamp(p.M / tm / 256, 1, 4) : tm;
        p.Epilogue?.Prepare(rowParts * tn);
        if (tm * tn > 1)
        {
            var job = t_productJob ??= new ProductJob();
            job.Start(p, rowParts, tn, 0);
            try
            {
                // Row parts all use the whole of B̃: pack it once, on all threads, instead of once per part.
                if (tn == 1) job.SharedB = PackSharedB(p, tm - 1);
                if (GemmWorkerPool.Shared.TryRun(job, job.Tm * tn, tm * tn - 1)) return;
                if (job.SharedB != null)
                {
                    RunRange(p, 0, p.M, 0, p.N, 0, job.SharedB);
                    return;
                }
            }
            finally
            {
                job.End();
            }
        }
        RunRange(p, 0, p.M, 0, p.N, 0);
    }

    /// <summary>Largest B̃ packed once for all row parts of a product; larger ones are packed per part.</summary>
    internal const long MaxSharedPackBytes = 64L << 20;

    /// <summary>
    /// Smallest B̃ packed once for all row parts: below this (≈ 15 µs of copying) a part packs its own copy faster than
    /// the extra round trip through the worker pool costs.
    /// </summary>
    internal const long MinSharedPackBytes = 256L << 10;

    /// <summary>
    /// Packs all of op(B) (every NC block, every k block, in the order <see cref="RunRange"/> reads them:
    /// block (jc, pc) at K·jc + pc·RoundUp(nc, NR)) into the calling thread's shared buffer, on the caller and up to
    /// <paramref name="helpers"/> workers. Row parts of the product then read it instead of each packing its own copy
    /// (measured: one 768×768 float B̃ costs about as much as 3% of a 1024-row product). Null when the packed B̃ would
    /// be too large or too small to be worth it, or the pool is busy; the parts then pack for themselves.
    /// </summary>
    /// <remarks>
    /// A product whose B never changes (<see cref="GemmProblem{T}.BKey"/>) packs it once: the packed B̃ is kept in a table
    /// keyed by B's array (per kernel: layouts differ), for as long as that array lives, and later products by it skip the
    /// packing (0.2–0.4 ms of a 19 ms [6656, 768]·[768, 768] float32 product on two cores, measured). It is packed on the
    /// calling thread when no worker is free. A thread keeps the entry it last used alive, so an entry that another thread
    /// replaces meanwhile (same B, other shape) is not collected under it.
    /// </remarks>
    private static T* PackSharedB(in GemmProblem<T> p, int helpers)
    {
        GemmBlocking bl = Blocking;
        int jBlocks = (p.N + bl.NC - 1) / bl.NC;
        long bytes = (long)p.K * ((long)(jBlocks - 1) * bl.NC + RoundUp(p.N - (jBlocks - 1) * bl.NC, TK.NR)) * sizeof(T);
        if (p.BKey is { } key && ManagedGemm.KeepPacked && bytes <= MaxSharedPackBytes)
        {
            if (s_packedB.TryGetValue(key, out var kept) && kept.Holds(p))
            {
                t_packedInUse = kept;
                return kept.Data;
            }
            var packed = new PackedB(p, bytes);
            if (!PackAll(p, packed.Data, helpers)) PackAll(p, packed.Data, 0);
            s_packedB.AddOrUpdate(key, packed);
            t_packedInUse = packed;
            return packed.Data;
        }
        if (helpers < 1 || bytes > MaxSharedPackBytes || bytes < MinSharedPackBytes) return null;
        T* dest = (T*)GemmPackBuffers.Current.SharedB((nint)bytes);
        return PackAll(p, dest, helpers) ? dest : null;
    }

    /// <summary>
    /// Packs all of op(B) into <paramref name="dest"/> (the layout of <see cref="PackSharedB"/>) on the caller and up to
    /// <paramref name="helpers"/> workers, or on the caller alone when <paramref name="helpers"/> is 0; false when the pool is busy.
    /// </summary>
    private static bool PackAll(in GemmProblem<T> p, T* dest, int helpers)
    {
        int NR = TK.NR;
        GemmBlocking bl = Blocking;
        int jBlocks = (p.N + bl.NC - 1) / bl.NC;
        var (kBlocks, kcMax) = bl.KBlocks(p.N, p.K, NR);
        int slivers = (Math.Min(bl.NC, p.N) + NR - 1) / NR;
        // About four chunks per thread, so a thread slowed by other work takes fewer of them.
        int chunk = Math.Max(1, slivers * kBlocks * jBlocks / (4 * (helpers + 1)));
        chunk = Math.Min(chunk, slivers);
        var job = t_packJob ??= new PackJob();
        job.Problem = p;
        job.Dest = dest;
        (job.KBlocks, job.KcMax, job.ChunkSlivers, job.Chunks) = (kBlocks, kcMax, chunk, (slivers + chunk - 1) / chunk);
        int parts = jBlocks * kBlocks * job.Chunks;
        try
        {
            if (helpers < 1)
                for (int part = 0; part < parts; part++) job.Execute(part, parts);
            else if (!GemmWorkerPool.Shared.TryRun(job, parts, helpers)) return false;
            Interlocked.Increment(ref ManagedGemm.SharedPacks);
            return true;
        }
        finally
        {
            job.Problem = default;
        }
    }

    /// <summary>Packed B̃ of unchanging right operands, by the array that holds B (see <see cref="PackSharedB"/>).</summary>
    private static readonly ConditionalWeakTable<object, PackedB> s_packedB = new();

    /// <summary>Whether this kernel keeps a packed B̃ of <paramref name="b"/> (for tests).</summary>
    internal static bool Keeps(object b) => s_packedB.TryGetValue(b, out _);
    [ThreadStatic] private static PackedB? t_packedInUse;

    /// <summary>A packed B̃ in pinned storage, and the operand it was packed from (shape and strides).</summary>
    private sealed class PackedB
    {
        private readonly byte[] _storage;
        private readonly int _n, _k;
        private readonly nint _rsB, _csB;

        public PackedB(in GemmProblem<T> p, long bytes)
        {
            _storage = GC.AllocateUninitializedArray<byte>(checked((int)bytes + 64), pinned: true);
            nint start = (nint)Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(_storage));
            Data = (T*)((start + 63) & ~(nint)63);
            (_n, _k, _rsB, _csB) = (p.N, p.K, p.RsB, p.CsB);
        }

        public T* Data { get; }

        /// <summary>Whether this is op(B) of <paramref name="p"/> (same array, checked by the table; same shape and strides).</summary>
        public bool Holds(in GemmProblem<T> p) => p.N == _n && p.K == _k && p.RsB == _rsB && p.CsB == _csB;
    }

    private sealed class PackJob : IGemmParallelJob
    {
        public GemmProblem<T> Problem;
        public T* Dest;
        public int KBlocks, KcMax, ChunkSlivers, Chunks;

        public void Execute(int part, int parts)
        {
            int NR = TK.NR, NC = Blocking.NC;
            ref readonly GemmProblem<T> p = ref Problem;
            int c = part % Chunks, block = part / Chunks;
            int jc = block / KBlocks * NC, pc = block % KBlocks * KcMax;
            int nc = Math.Min(NC, p.N - jc), kc = Math.Min(KcMax, p.K - pc);
            int j0 = c * ChunkSlivers * NR;
            if (j0 >= nc) return;
            int width = Math.Min(ChunkSlivers * NR, nc - j0);
            T* dst = Dest + (nint)p.K * jc + (nint)pc * RoundUp(nc, NR) + (nint)j0 * kc;
            GemmPacking.PackSlivers(p.B + pc * p.RsB + (jc + j0) * p.CsB, p.CsB, p.RsB, width, kc, NR, dst);
        }
    }

    /// <summary>
    /// Chooses a tm×tn grid of C rectangles. Cost per thread ≈ its (padded) tile area plus the
    /// operand traffic each thread repeats: splitting M makes every thread pack all of B, splitting
    /// N makes every thread read (or pack) all of A.
    /// </summary>
    internal static (int Tm, int Tn) Partition(int m, int n, int k, int maxThreads)
    {
        double flops = 2.0 * m * n * k;
        int threads = (int)Math.Min(maxThreads, Math.Max(1.0, flops / ManagedGemm.MinFlopsPerThread));
        if (threads <= 1) return (1, 1);

        int mr = TK.MR, nr = TK.NR;
        long slM = (m + mr - 1) / mr, slN = (n + nr - 1) / nr;
        (int, int) best = (1, 1);
        double bestCost = double.MaxValue;
        for (int tm = threads; tm >= 1; tm--)
        {
            int tn = threads / tm;
            if (tm > slM || tn > slN) continue;
            double rows = (slM + tm - 1) / tm * mr;
            double cols = (slN + tn - 1) / tn * nr;
            // Moving an operand element costs about as much as 16 multiply-adds.
            double cost = rows * cols + 16 * (rows + cols);
            if (cost < bestCost - 1e-9) { bestCost = cost; best = (tm, tn); }
        }
        return best;
    }

    /// <summary>Bounds of part <paramref name="i"/> of <paramref name="parts"/> over <paramref name="size"/>, aligned to whole slivers.</summary>
    private static (int Start, int End) Split(int size, int unit, int parts, int i)
    {
        long slivers = (size + unit - 1) / unit;
        int start = (int)Math.Min(size, slivers * i / parts * unit);
        int end = (int)Math.Min(size, slivers * (i + 1) / parts * unit);
        return (start, end);
    }

    /// <summary>
    /// Computes the rectangle [m0,m1)×[n0,n1) of C on the calling thread, as part <paramref name="part"/> of the product (for its epilogue).
    /// <paramref name="sharedB"/>: all of B̃ already packed by <see cref="PackSharedB"/> (then n0 must be 0), or null to pack here.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RunRange(in GemmProblem<T> p, int m0, int m1, int n0, int n1, int part, T* sharedB = null, long call = 0)
    {
        if (m0 >= m1 || n0 >= n1) return;
        int MR = TK.MR, NR = TK.NR;
        GemmBlocking bl = Blocking;

        // The k blocks depend on the whole product's N and K only (not on this range), so any split gives the same bits.
        var (_, kcMax) = bl.KBlocks(p.N, p.K, NR);
        int mBlocks = (m1 - m0 + bl.MC - 1) / bl.MC;
        int mcMax = RoundUp((m1 - m0 + mBlocks - 1) / mBlocks, MR);
        int ncMax = RoundUp(Math.Min(bl.NC, n1 - n0), NR);

        var buffers = GemmPackBuffers.Current;
        if (sharedB != null && n0 != 0) throw new InvalidOperationException("A shared B̃ starts at column 0.");
        T* bPack = sharedB != null ? null : (T*)buffers.B((nint)kcMax * ncMax * sizeof(T));
        T* aPack = (T*)buffers.A((nint)kcMax * mcMax * sizeof(T));
        // A factored left operand: each sliver multiplied out into this buffer (GemmFactorRows), then read in place.
        T* aRows = p.A2 != null ? (T*)buffers.Rows((nint)MR * kcMax * sizeof(T)) : null;
        // The scratch tile (MR×NR), then room for the dot-product edge's columns of B̃ (DotCols of them, kc each,
        // RoundUp(kc, 16) apart so each starts on a 64-byte line); see MacroKernel.
        T* scratch = (T*)buffers.Scratch(((nint)MR * NR + (nint)DotCols * RoundUp(kcMax, 16)) * sizeof(T));

        // Row-major A is read in place: the micro-kernel walks MR rows side by side, each row
        // forward, which the prefetchers follow as well as a packed copy (measured: equal or up to
        // 25% faster, since the packing pass is gone). A stored transposed would make every k step
        // touch a new cache line for only MR elements, so that case is packed into slivers.
        bool packA = p.CsA != 1;
        // The C tile of the next kernel call is prefetched when C is read (beta ≠ 0, and every k block after the first),
        // or is written but larger than L2 and so misses on every store: a short-K product with a tall C (the stde
        // example's xᵀ·δ, a 51 MB C) otherwise waits on memory at the end of every call (one core, float32
        // 100000×100×128 with A stored transposed: 65–69 → 73–75 % of peak). A C that stays in L2 is only written
        // and the store buffer hides it; prefetching it there measured slower (1020×100×128: 90 → 87.5 %).
        bool prefetchCFirst = p.Beta != T.Zero || GemmPrefetch.FirstBlockPrefetchesC<T>(m1 - m0, n1 - n0);

        for (int jc = n0; jc < n1; jc += bl.NC)
        {
            int nc = Math.Min(bl.NC, n1 - jc);
            for (int pc = 0; pc < p.K; pc += kcMax)
            {
                int kc = Math.Min(kcMax, p.K - pc);
                // B̃ slivers are "rows" of op(B)ᵀ: index j with stride CsB, step p with stride RsB.
                T* bBlock = sharedB != null ? sharedB + (nint)p.K * jc + (nint)pc * RoundUp(nc, NR) : bPack;
                if (sharedB == null && !buffers.HoldsB(call, jc, pc, nc))
                {
                    GemmPacking.PackSlivers(p.B + pc * p.RsB + jc * p.CsB, p.CsB, p.RsB, nc, kc, NR, bPack);
                    buffers.PackedB(call, jc, pc, nc);
                }
                // Later k blocks accumulate onto what the first one wrote; the last one hands its slivers to the epilogue.
                T beta = pc == 0 ? p.Beta : T.One;
                var epilogue = pc + kc >= p.K ? p.Epilogue : null;
                for (int ic = m0; ic < m1; ic += mcMax)
                {
                    int mc = Math.Min(mcMax, m1 - ic);
                    T* aBlock = p.A + ic * p.RsA + pc * p.CsA;
                    var factor = aRows != null ? new GemmFactorRows<T>(p, pc, kc, aRows) : default;
                    // Software prefetch (into L2, a little before each kernel call of this macro-kernel) of what the next
                    // pass packs from memory:
                    // - A stored transposed: the A block the next macro-kernel packs (the next row block, else the first one
                    //   of the next k block). Its kc source rows are mc elements each, too short and too many for the
                    //   hardware prefetchers. (Row-major A, read in place, streams well without it; prefetching it measured
                    //   1.5–2 ms slower on the stde example's [100, 10⁵]·[10⁵, 128], and again 72–75 % against 76–81 %
                    //   of one core's peak.)
                    // - Otherwise, when this range packs its own B̃ and has a single row block: the source of the next k
                    //   block's (else column block's) B̃. There the packing of every k block waited on memory between two
                    //   short macro-kernels (the long-K product's parts: [100, 25000]·[25000, 128], one core 80 → 82–83 %).
                    GemmPrefetch ahead = default;
                    if (packA)
                    {
                        if (ic + mc < m1) ahead = GemmPrefetch.Region(p, ic + mc, Math.Min(mcMax, m1 - ic - mc), pc, kc);
                        else if (pc + kc < p.K) ahead = GemmPrefetch.Region(p, m0, Math.Min(mcMax, m1 - m0), pc + kc, Math.Min(kcMax, p.K - pc - kc));
                    }
                    else if (sharedB == null && mBlocks == 1)
                    {
                        if (pc + kc < p.K) ahead = GemmPrefetch.RegionB(p, pc + kc, Math.Min(kcMax, p.K - pc - kc), jc, nc);
                        else if (jc + bl.NC < n1) ahead = GemmPrefetch.RegionB(p, 0, kcMax, jc + bl.NC, Math.Min(bl.NC, n1 - jc - bl.NC));
                    }
                    int fullRows = mc / MR * MR;
                    T* cBlock = p.C + ic * p.Ldc + jc;
                    if (packA)
                    {
                        GemmPacking.PackSlivers(aBlock, p.RsA, p.CsA, mc, kc, MR, aPack);
                        MacroKernel(kc, mc, nc, aPack, 1, MR, (nint)MR * kc, aPack + (nint)fullRows * kc,
                            bBlock, cBlock, p.Ldc, p.Alpha, beta, scratch, epilogue, part, ic, jc, ahead, pc > 0 || prefetchCFirst, null);
                    }
                    else
                    {
                        // Only a partial bottom sliver is packed: reading it in place would run past
                        // the last row of A. Not even that when the partial-row kernel takes all of it (no right edge).
                        // (A factored left operand's partial sliver is packed by the macro-kernel, which forms it.)
                        if (aRows == null && fullRows < mc && (mc - fullRows > TK.PartRows || nc % NR != 0))
                            GemmPacking.PackSlivers(aBlock + fullRows * p.RsA, p.RsA, p.CsA, mc - fullRows, kc, MR, aPack);
                        MacroKernel(kc, mc, nc, aBlock, p.RsA, p.CsA, MR * p.RsA, aPack,
                            bBlock, cBlock, p.Ldc, p.Alpha, beta, scratch, epilogue, part, ic, jc, ahead, pc > 0 || prefetchCFirst,
                            aRows != null ? &factor : null);
                    }
                }
            }
        }
#if JETSHARP_CHECKED
        GemmPackBuffers.VerifyRedZones($"RunRange(m {m0}..{m1}, n {n0}..{n1}, K {p.K}, {typeof(TK).Name})");
#endif
    }

    /// <summary>
    /// Most columns of a right edge that go to the dot-product kernel (<see cref="IGemmKernel{T}.Dot"/>): a quarter of NR,
    /// i.e. half a vector (8 float32 / 4 float64 columns with AVX-512, 4 / 2 with AVX2). A dot-product pass costs
    /// 2·MR·kc/W FMAs for two columns against MR·kc for a half-width panel, but more loads and a reduction per element;
    /// wider remainders keep the panel.
    /// </summary>
    internal static int DotCols => TK.DotRows > 0 ? TK.NR / 4 : 0;

    /// <summary>
    /// Rows outer, columns inner: each A sliver is brought into L1 once and used against every B̃
    /// sliver, which stream from L2/L3 in order (a pattern the prefetchers handle at full speed).
    /// This measured faster here than the classic BLIS order (B̃ sliver in L1, A slivers streaming
    /// from L2), mainly because unpacked A is then read exactly once per k block.
    /// </summary>
    /// <remarks>
    /// A sliver s starts at a + s·sliverStride with element (r, p) at r·rsA + p·csA; aEdge is the
    /// packed (rsA = 1, csA = MR) partial sliver holding the last mc mod MR rows. A non-null
    /// <paramref name="epilogue"/> gets each finished row sliver (rows row0 + ir…, columns col0…) while it is in L1.
    /// <para>
    /// The right edge (e = nc mod NR columns, 0 &lt; e &lt; NR) of a full row sliver: a half-width panel (NR/2 columns)
    /// written straight into C when e ≥ NR/2, then the rest r = e mod NR/2: by the dot-product kernel when A's k steps
    /// are contiguous (row-major A read in place) and r ≤ <see cref="DotCols"/>, else a half-width panel into the
    /// scratch tile, merged. (Before: one whole NR-wide or half-width tile into scratch, merged: a 50-wide float32 C
    /// computed 64 columns.) The bottom partial sliver (mr &lt; MR rows, A packed with zero rows) runs the same kernels on
    /// the same columns, through the scratch tile (the dot kernel on A in place, limited to its mr rows), so each
    /// element's bits do not depend on M; its full column tiles take the partial-row kernel instead when
    /// mr ≤ PartRows (A where the full slivers read it, mr rows stored straight into C), which sums as the full kernel
    /// does. Bounds: every store into C is inside rows ir…ir+mr−1 and columns
    /// fullCols…nc−1 of this block: the direct half panel (full slivers only) writes columns fullCols…fullCols+NR/2−1
    /// with fullCols + NR/2 ≤ nc; the dot kernel writes min(DotRows, mr − i) rows × r scalars at columns
    /// fullCols + edgeHalf + j, j &lt; r; merges write mr rows × the valid columns only.
    /// </para>
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MacroKernel(int kc, int mc, int nc, T* a, nint rsA, nint csA, nint sliverStride, T* aEdge,
        T* bPack, T* c, nint ldc, T alpha, T beta, T* scratch, GemmEpilogue<T>? epilogue, int part, int row0, int col0,
        GemmPrefetch ahead, bool prefetchC, GemmFactorRows<T>* factor)
    {
        int MR = TK.MR, NR = TK.NR, half = NR / 2;
        int fullCols = nc / NR * NR;
        int calls = (mc + MR - 1) / MR * ((nc + NR - 1) / NR);
        ahead.Spread(calls);

        // Right edge of full slivers: [fullCols, fullCols + edgeHalf) by a direct half panel, then edgeRest columns.
        int edge = nc - fullCols;
        int edgeHalf = edge >= half ? half : 0;
        int edgeRest = edge - edgeHalf;
        T* bEdge = bPack + (nint)fullCols * kc;            // packed edge sliver: kc rows of NR (zero-padded)
        bool dotEdge = edgeRest > 0 && edgeRest <= DotCols && csA == 1;
        // A packed into slivers (stored transposed): every sliver, full or partial, has step p's MR rows contiguous.
        bool columnEdge = edgeRest > 0 && edgeRest <= DotCols && !dotEdge && rsA == 1 && csA == MR && TK.ColumnEdge;
        T* bT = scratch + MR * NR;
        nint ldbT = RoundUp(kc, 16);
        if (dotEdge)
        {
            // Columns edgeHalf… of the edge sliver, transposed: kc contiguous steps per column (the buffer holds
            // DotCols·RoundUp(kcMax, 16) elements; edgeRest ≤ DotCols, kc ≤ kcMax).
            for (int j = 0; j < edgeRest; j++)
            {
                T* src = bEdge + edgeHalf + j, dst = bT + j * ldbT;
                for (int p = 0; p < kc; p++) dst[p] = src[(nint)p * NR];
            }
        }

        // A factored A: each sliver multiplied out row-major (kc apart) by factor, read in place (its partial sliver packed).
        if (factor != null) (rsA, csA, sliverStride) = (kc, 1, 0);
        for (int ir = 0; ir < mc; ir += MR)
        {
            int mr = Math.Min(MR, mc - ir);
            if (factor != null)
            {
                a = factor->Form(row0 + ir, mr);
                if (mr < MR && (mr > TK.PartRows || edge > 0)) GemmPacking.PackSlivers(a, kc, 1, mr, kc, MR, aEdge);
            }
            T* asl = a + ir / MR * sliverStride;
            nint rs = rsA, cs = csA;
            if (mr < MR) { asl = aEdge; rs = 1; cs = MR; }
            T* ct = c + ir * ldc;
            if (mr == MR)
            {
                for (int jr = 0; jr < fullCols; jr += NR)
                {
                    // The kernel brings in the C tile of the next call while it computes (see prefetchC in RunRange).
                    T* next = !prefetchC ? null : GemmPrefetch.NextTile(ct, jr, NR, fullCols, ir + 2 * MR <= mc ? ct + MR * ldc : null);
                    ahead.Next();
                    TK.Full(kc, asl, rs, cs, bPack + (nint)jr * kc, ct + jr, ldc, alpha, beta, next);
                }
            }
            else if (mr <= TK.PartRows)
            {
                // Bottom partial sliver of a few rows: the partial-row kernel, straight into C. A is read where the
                // full slivers read it (in place, or the packed partial sliver, which is aEdge).
                T* aRows = a + ir / MR * sliverStride;
                for (int jr = 0; jr < fullCols; jr += NR)
                {
                    ahead.Next();
                    TK.Part(kc, aRows, rsA, csA, mr, bPack + (nint)jr * kc, ct + jr, ldc, alpha, beta);
                }
            }
            else
            {
                // Bottom partial sliver (A packed with zero rows): each tile into scratch, the valid mr rows merged.
                for (int jr = 0; jr < fullCols; jr += NR)
                {
                    ahead.Next();
                    TK.Full(kc, asl, rs, cs, bPack + (nint)jr * kc, scratch, NR, T.One, T.Zero, null);
                    MergeTile(scratch, NR, ct + jr, ldc, mr, NR, alpha, beta);
                }
            }
            if (edge > 0)
            {
                // The same kernels for full and partial slivers, so a row of C gets the same bits whatever M is (the
                // runtime's memory-budget chunking splits M): a partial sliver goes through scratch, whose merge
                // rounds as the kernels' own stores do.
                ahead.Next();
                if (edgeHalf > 0)
                {
                    // Columns fullCols … fullCols + half − 1 exist (edge ≥ half): stored directly when the sliver is full.
                    if (mr == MR) TK.Half(kc, asl, rs, cs, bEdge, ct + fullCols, ldc, alpha, beta);
                    else
                    {
                        TK.Half(kc, asl, rs, cs, bEdge, scratch, NR, T.One, T.Zero);
                        MergeTile(scratch, NR, ct + fullCols, ldc, mr, half, alpha, beta);
                    }
                }
                if (edgeRest > 0)
                {
                    T* ce = ct + fullCols + edgeHalf;           // columns fullCols + edgeHalf … nc − 1 (edgeRest of them)
                    if (dotEdge)
                    {
                        // csA == 1: A is read in place, rows ir … ir + mr − 1 at a + ir·rsA (a + (ir / MR)·sliverStride),
                        // k steps contiguous. Dot reads and writes only min(DotRows, mr − i) rows per call.
                        T* aRows = a + ir / MR * sliverStride;
                        for (int i = 0; i < mr; i += TK.DotRows)
                            for (int j = 0; j < edgeRest; j += 2)
                                TK.Dot(kc, aRows + i * rsA, rsA, Math.Min(TK.DotRows, mr - i), bT + j * ldbT, ldbT,
                                    Math.Min(2, edgeRest - j), ce + i * ldc + j, ldc, alpha, beta);
                    }
                    else if (columnEdge)
                    {
                        // A packed (step p's MR rows contiguous): the columns with the vectors along M, straight into C
                        // (the scratch tile, free here, stages the accumulators: MR·NR ≥ GemmColumnEdge.StageElements, tested).
                        GemmColumnEdge.Packed<T, TK>(kc, asl, mr, bEdge + edgeHalf, NR, edgeRest, ce, ldc, alpha, beta, scratch);
                    }
                    else
                    {
                        // edgeRest < half when edgeHalf > 0; otherwise edge < half: a half panel always covers it.
                        TK.Half(kc, asl, rs, cs, bEdge + edgeHalf, scratch, NR, T.One, T.Zero);
                        MergeTile(scratch, NR, ce, ldc, mr, edgeRest, alpha, beta);
                    }
                }
            }
            epilogue?.Apply(part, row0 + ir, mr, col0, nc);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MergeTile(T* s, nint lds, T* c, nint ldc, int mr, int nr, T alpha, T beta)
    {
        for (int i = 0; i < mr; i++, s += lds, c += ldc)
        {
            // As the kernels' own stores round (Simd.Put): alpha·s, then fma(C, beta, ·) (the portable kernel: a separate
            // multiply and add), so a tile merged from scratch has the bits it would have had stored directly.
            if (beta == T.Zero)
                for (int j = 0; j < nr; j++) c[j] = alpha * s[j];
            else if (typeof(TK) == typeof(PortableKernel<T>))
                for (int j = 0; j < nr; j++) c[j] = alpha * s[j] + beta * c[j];
            else
                for (int j = 0; j < nr; j++) c[j] = T.FusedMultiplyAdd(c[j], beta, alpha * s[j]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int RoundUp(int x, int unit) => (x + unit - 1) / unit * unit;

    private sealed class ProductJob : IGemmParallelJob
    {
        public GemmProblem<T> Problem;
        public int Tm, Tn;
        public int RowUnit;   // > 0: Tm row ranges at multiples of RowUnit (a summing epilogue's parts)
        public T* SharedB;    // all of B̃, packed once (Tn == 1), or null: each thread packs its own, once per block
        public long Call;     // this product's number: a thread's later parts reuse the B̃ block its earlier one packed

        public void Start(in GemmProblem<T> p, int tm, int tn, int rowUnit)
        {
            Problem = p;
            (Tm, Tn, RowUnit) = (tm, tn, rowUnit);
            Call = ManagedGemm.ReuseThreadB ? GemmPackBuffers.NextCall() : 0;
        }

        public void End()
        {
            Problem = default;
            RowUnit = 0;
            SharedB = null;
        }

        public void Execute(int part, int parts)
        {
            if (RowUnit > 0)
            {
                int positions = Problem.M / RowUnit;
                RunRange(Problem, RowUnit * (int)((long)positions * part / Tm), RowUnit * (int)((long)positions * (part + 1) / Tm), 0, Problem.N, part, SharedB, Call);
                return;
            }
            var (m0, m1) = Split(Problem.M, TK.MR, Tm, part % Tm);
            var (n0, n1) = Split(Problem.N, TK.NR, Tn, part / Tm);
            RunRange(Problem, m0, m1, n0, n1, part, Tn == 1 ? SharedB : null, Call);
        }
    }

    private sealed class BatchJob : IGemmParallelJob
    {
        public GemmBatch<T> Batch;

        public void Execute(int part, int parts)
        {
            var p = Batch.Problem.Item(part, Batch.StrideA, Batch.StrideB, Batch.StrideC);
            RunRange(p, 0, p.M, 0, p.N, 0);
        }
    }
}
