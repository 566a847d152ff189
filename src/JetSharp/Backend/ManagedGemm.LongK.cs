namespace JetSharp.Backend;

/// <summary>
/// Products with a long inner dimension and a small output, C[M×N] = op(A)[M×K]·op(B)[K×N] with K ≫ M, N (the stde
/// example's first layer: [100, 10⁵]·[10⁵, 128]). Split over rows or columns of C, as <see cref="GemmDriver{T, TK}"/>
/// does, every thread streams the whole of one operand (here all of x, 40 MB, once per thread) and each A sliver it
/// brings in serves only its share of C's columns. Split over K instead, each thread streams its own stretch of both
/// operands once and computes a whole partial C from it; the partials are added afterwards.
/// The number of K parts depends on K only (not on the thread count) and the partials are added in part order, so the
/// result is the same on any number of cores. The parts are claimed dynamically (four at K = 10⁵), so a core slowed by
/// another process takes fewer of them; a split of C gives each of two threads one fixed half.
/// Measured (float32 [100, 10⁵]·[10⁵, 128], 2 cores, interleaved in one process, 15 repetitions each, load 4.4–4.9):
/// median 11.5 → 11.0 and 11.5 → 10.4 ms; under contention 20.6 → 18.6 and 24.7 → 19.5 ms. On one thread it is no faster
/// (the micro-kernel runs at about half the FMA peak on this shape, cached or not).
/// </summary>
internal static class LongKGemm
{
    /// <summary>The inner dimension from which a product qualifies (below it a split of C is as good).</summary>
    internal const int MinK = 1 << 15;

    /// <summary>Inner-dimension elements per part (about; parts are balanced).</summary>
    internal const int KPerPart = 25_000;

    /// <summary>At most this many parts (and partial outputs).</summary>
    internal const int MaxParts = 16;

    /// <summary>On unless JETSHARP_GEMM_LONGK=0 (for A/B measurements); settable for tests and benchmarks.</summary>
    internal static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("JETSHARP_GEMM_LONGK") != "0";

    /// <summary>True for a single product with K ≥ <see cref="MinK"/>, K at least 64 times M and N, and a small C (M ≤ 256, N ≤ 512).</summary>
    internal static bool Applies(int batch, int m, int n, int k, bool epilogue) =>
        k >= MinK && batch == 1 && !epilogue && m <= 256 && n <= 512 && k >= 64L * Math.Max(m, n) && Enabled;

    /// <summary>The number of K parts: K / <see cref="KPerPart"/>, between 2 and <see cref="MaxParts"/>.</summary>
    internal static int Parts(int k) => Math.Clamp(k / KPerPart, 2, MaxParts);
}

/// <summary>The long-K product for one element type and micro-kernel (see <see cref="LongKGemm"/>).</summary>
internal static unsafe class LongKGemm<T, TK>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TK : IGemmKernel<T>
{
    [ThreadStatic] private static T[]? t_partials;
    [ThreadStatic] private static Job? t_job;

    public static void Run(in GemmProblem<T> p, int maxThreads)
    {
        int parts = LongKGemm.Parts(p.K);
        long size = (long)p.M * p.N;
        var partials = t_partials;
        if (partials is null || partials.Length < parts * size)
            t_partials = partials = GC.AllocateUninitializedArray<T>((int)(parts * size), pinned: true);
        fixed (T* w = partials)
        {
            var job = t_job ??= new Job();
            job.Problem = p;
            job.Partials = w;
            try
            {
                int threads = Math.Min(Math.Min(maxThreads, GemmWorkerPool.Shared.Capacity), parts);
                if (threads <= 1 || !GemmWorkerPool.Shared.TryRun(job, parts, threads - 1))
                    for (int i = 0; i < parts; i++) job.Execute(i, parts);
            }
            finally
            {
                job.Problem = default;
                job.Partials = null;
            }
            // C = alpha·(P₀ + P₁ + …) + beta·C, the partials added in part order (C is not read when beta is 0).
            for (int i = 0; i < p.M; i++)
            {
                T* c = p.C + i * p.Ldc;
                for (int j = 0; j < p.N; j++)
                {
                    T* q = w + (long)i * p.N + j;
                    T s = q[0];
                    for (int part = 1; part < parts; part++) s += q[part * size];
                    c[j] = p.Beta == T.Zero ? p.Alpha * s : p.Alpha * s + p.Beta * c[j];
                }
            }
        }
    }

    private sealed class Job : IGemmParallelJob
    {
        public GemmProblem<T> Problem;
        public T* Partials;

        public void Execute(int part, int parts)
        {
            var p = Problem;
            int k0 = (int)((long)p.K * part / parts), k1 = (int)((long)p.K * (part + 1) / parts);
            var q = p;
            q.A = p.A + k0 * p.CsA;
            q.B = p.B + k0 * p.RsB;
            q.K = k1 - k0;
            q.C = Partials + (long)part * p.M * p.N;
            q.Ldc = p.N;
            q.Alpha = T.One;
            q.Beta = T.Zero;
            q.Epilogue = null;
            GemmDriver<T, TK>.RunRange(q, 0, p.M, 0, p.N, 0);
        }
    }
}
