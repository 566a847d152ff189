using System.Runtime.InteropServices;

namespace JetSharp.Backend;

internal static unsafe partial class ManagedGemm
{
    /// <summary>
    /// The items of <see cref="Gemm.MultiplyStacked{T}"/> (validated there: every item has rows, n and k are positive, none
    /// takes the long-k split) on the kernel <see cref="Multiply{T}"/> would choose for this k.
    /// </summary>
    public static void MultiplyStacked<T>(GemmKernelPath path, bool transB, int n, int k, T[] b, int ldb, IReadOnlyList<StackedRows<T>> items,
        bool unchangingB = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (path == GemmKernelPath.Auto) path = DefaultPath;
        var handles = new GCHandle[3 * items.Count + 1];
        int pinned = 0;
        try
        {
            handles[pinned++] = GCHandle.Alloc(b, GCHandleType.Pinned);
            var problems = new GemmProblem<T>[items.Count];
            for (int i = 0; i < items.Count; i++)
            {
                handles[pinned++] = GCHandle.Alloc(items[i].A, GCHandleType.Pinned);
                handles[pinned++] = GCHandle.Alloc(items[i].C, GCHandleType.Pinned);
                problems[i] = new GemmProblem<T>
                {
                    A = (T*)handles[pinned - 2].AddrOfPinnedObject(), RsA = k, CsA = 1,
                    B = (T*)handles[0].AddrOfPinnedObject(), RsB = transB ? 1 : ldb, CsB = transB ? ldb : 1,
                    C = (T*)handles[pinned - 1].AddrOfPinnedObject(), Ldc = n,
                    M = items[i].M, N = n, K = k, Alpha = T.One, Beta = T.Zero, BKey = unchangingB ? b : null,
                };
                if (items[i].Factor is { } f)
                {
                    handles[pinned++] = GCHandle.Alloc(f.Y, GCHandleType.Pinned);
                    problems[i].A2 = (T*)handles[pinned - 1].AddrOfPinnedObject();
                    (problems[i].MapA, problems[i].MapA2) = (f.MapA, f.MapY);
                }
            }
            switch (path)
            {
                case GemmKernelPath.Vector512 when UsesShortKKernel<T>(k): GemmDriver<T, Vector512Kernel8<T>>.RunStacked(problems, MaxThreads); break;
                case GemmKernelPath.Vector512: GemmDriver<T, Vector512Kernel<T>>.RunStacked(problems, MaxThreads); break;
                case GemmKernelPath.Vector256: GemmDriver<T, Vector256Kernel<T>>.RunStacked(problems, MaxThreads); break;
                default: GemmDriver<T, PortableKernel<T>>.RunStacked(problems, MaxThreads); break;
            }
        }
        finally
        {
            for (int i = 0; i < pinned; i++) handles[i].Free();
        }
    }
}

internal static unsafe partial class GemmDriver<T, TK>
{
    [ThreadStatic] private static StackJob? t_stackJob;

    /// <summary>
    /// Largest B̃ a stack shares. Every part streams its column blocks past each of its row slivers, which pays while they
    /// stay in the last-level cache (a 768×768 float64 weight is 4.7 MB). A short product by a wide weight (the stde
    /// example's [·, 128]·[128, 10⁵], a 51 MB B̃) would read it from memory once per part; on its own such a product is
    /// split over its columns, each thread packing cache-sized blocks. (Not measured either way: a reasoned bound.)
    /// </summary>
    internal const long MaxStackedPackBytes = 8L << 20;

    /// <summary>
    /// Products that share B (same N, K and op(B)): B̃ is packed once, on all threads, and the rows of every product are
    /// cut into parts of about a quarter of a thread's share of all rows (whole slivers of MR, at least 4 of them) that
    /// the threads claim. Each part is a row range of one product, so every tile is the one that product's own run
    /// computes. Without a second thread, with a B̃ larger than <see cref="MaxStackedPackBytes"/>, or where a shared B̃
    /// does not pay (<see cref="PackSharedB"/>), each product runs on its own, unless B never changes
    /// (<see cref="GemmProblem{T}.BKey"/>): then its kept B̃ serves the parts on the calling thread.
    /// </summary>
    public static void RunStacked(GemmProblem<T>[] problems, int maxThreads)
    {
        int MR = TK.MR;
        int threads = Math.Min(maxThreads, GemmWorkerPool.Shared.Capacity);
        if (problems.Length == 1)
        {
            RunOne(problems[0], threads);
            return;
        }
        long rows = 0;
        foreach (var p in problems) rows += p.M;
        double flops = 2.0 * rows * problems[0].N * problems[0].K;
        long packed = (long)problems[0].K * RoundUp(problems[0].N, TK.NR) * sizeof(T);
        bool parallel = threads > 1 && packed <= MaxStackedPackBytes && flops >= MinParallelFlops(threads)
            && (flops >= ManagedGemm.ColdWakeFlops || GemmWorkerPool.Shared.WorkersAwake(threads - 1));
        // An unchanging B is read from where PackSharedB keeps it, on one thread too.
        T* shared = parallel || problems[0].BKey != null && packed <= MaxStackedPackBytes ? PackSharedB(problems[0], parallel ? threads - 1 : 0) : null;
        if (shared == null)
        {
            foreach (var p in problems) RunOne(p, threads);
            return;
        }
        int unit = Math.Max(4 * MR, RoundUp((int)Math.Min(int.MaxValue, rows / (4L * threads)), MR));
        var job = t_stackJob ??= new StackJob();
        job.Parts.Clear();
        for (int i = 0; i < problems.Length; i++)
        {
            int count = (problems[i].M + unit - 1) / unit;
            for (int j = 0; j < count; j++)
            {
                var (m0, m1) = Split(problems[i].M, MR, count, j);
                if (m0 < m1) job.Parts.Add((i, m0, m1));
            }
        }
        job.Problems = problems;
        job.SharedB = shared;
        try
        {
            if (parallel && GemmWorkerPool.Shared.TryRun(job, job.Parts.Count, threads - 1)) return;
            for (int part = 0; part < job.Parts.Count; part++) job.Execute(part, job.Parts.Count);
        }
        finally
        {
            job.Problems = [];
            job.SharedB = null;
        }
    }

    private sealed class StackJob : IGemmParallelJob
    {
        public GemmProblem<T>[] Problems = [];
        public readonly List<(int Problem, int M0, int M1)> Parts = [];
        public T* SharedB;

        public void Execute(int part, int parts)
        {
            var (i, m0, m1) = Parts[part];
            RunRange(Problems[i], m0, m1, 0, Problems[i].N, part, SharedB);
        }
    }
}
