using JetSharp.Backend;

namespace JetSharp.Tests;

/// <summary>These tests slow the shared worker pool down on purpose, so they run alone.</summary>
[CollectionDefinition(nameof(WorkerPoolCollection), DisableParallelization = true)]
public sealed class WorkerPoolCollection;

/// <summary>
/// The contract of <see cref="GemmWorkerPool.TryRun"/>: every part of a round runs exactly once, and all of them have
/// finished when the call returns. The GEMM hands the pool raw pointers into arrays pinned only for the duration of the
/// call, so a part that runs twice, or still runs after the call returned, can write where the GC has meanwhile moved
/// another object: heap corruption that surfaces later as a crash inside the GC (docs/reliability.md).
/// </summary>
/// <remarks>
/// What broke the contract was a worker descheduled between taking a part number and checking it against the round's
/// part count. That happens rarely on its own, so the tests yield the workers' cores at the claim
/// (<see cref="GemmWorkerPool.BeforeClaimForTesting"/>) and keep extra threads runnable. With the same yield in the old
/// pool (after its increment), the first test found doubled parts in every run (12 and 7 in 1.5 s) and the second
/// wrong products in 2 of 3 runs.
/// </remarks>
[Collection(nameof(WorkerPoolCollection))]
public class WorkerPoolTests
{
    /// <summary>Records how often each part started and finished, and parts that ran after their round returned.</summary>
    private sealed class RecordingJob(int parts) : IGemmParallelJob
    {
        public readonly int[] Started = new int[parts], Finished = new int[parts];
        public volatile bool Returned;
        public static int Late;

        public void Execute(int part, int total)
        {
            if (Returned) Interlocked.Increment(ref Late);
            Interlocked.Increment(ref Started[part]);
            // A little work, so that parts overlap.
            Thread.SpinWait(20 + 37 * (part % 3));
            if (Returned) Interlocked.Increment(ref Late);
            Interlocked.Increment(ref Finished[part]);
        }
    }

    /// <summary>Runs <paramref name="body"/> with the workers yielding before each claim and more runnable threads than cores.</summary>
    private static void UnderPreemption(Action body)
    {
        using var stop = new CancellationTokenSource();
        var noise = Enumerable.Range(0, Environment.ProcessorCount + 1).Select(_ => new Thread(() =>
        {
            while (!stop.IsCancellationRequested) Thread.SpinWait(2_000);
        }) { IsBackground = true }).ToList();
        noise.ForEach(t => t.Start());
        GemmWorkerPool.BeforeClaimForTesting = () =>
        {
            if (Thread.CurrentThread.Name?.StartsWith("JetSharp GEMM worker", StringComparison.Ordinal) == true) Thread.Sleep(0);
        };
        try
        {
            body();
        }
        finally
        {
            GemmWorkerPool.BeforeClaimForTesting = null;
            stop.Cancel();
            noise.ForEach(t => t.Join());
        }
    }

    [Fact]
    public void EveryPartRunsExactlyOnceAndBeforeTheRoundReturns()
    {
        var pool = GemmWorkerPool.Shared;
        int rounds = 0, ran = 0, duplicated = 0, unfinished = 0;
        Interlocked.Exchange(ref RecordingJob.Late, 0);
        UnderPreemption(() =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            // Part counts alternate between few and many: a claim left over from a round of few parts then falls inside
            // the range of the next round.
            while (clock.ElapsedMilliseconds < 1_500 || ran < 50)
            {
                int parts = rounds % 2 == 0 ? 2 : 12;
                var job = new RecordingJob(parts);
                bool parallel = pool.TryRun(job, parts, pool.Capacity - 1);
                job.Returned = true;
                rounds++;
                if (!parallel) continue;   // the pool was busy (nothing ran)
                ran++;
                for (int p = 0; p < parts; p++)
                {
                    if (Volatile.Read(ref job.Started[p]) != 1) duplicated++;
                    if (Volatile.Read(ref job.Finished[p]) != 1) unfinished++;
                }
            }
        });
        // A part running late shows up a little after its round.
        Thread.Sleep(50);

        Assert.Equal(0, duplicated);
        Assert.Equal(0, unfinished);
        Assert.Equal(0, Volatile.Read(ref RecordingJob.Late));
    }

    /// <summary>
    /// Products split over the workers, on fresh (movable) arrays, while another thread keeps compacting the heap: every
    /// product must equal a plain triple loop, and arrays allocated after each product (where moved objects land) must
    /// keep their contents. The products alternate between 2 and 4 row parts (so a claim left over from one falls inside
    /// the next), and have several k blocks and a nonzero beta, so a part that runs twice also shows in C.
    /// </summary>
    [Fact]
    public void ParallelProductsUnderCompactingCollectionsMatchPlainLoops()
    {
        const int N = 64, K = 1000;
        const float Beta = 0.5f;
        const int M = 1024;
        int[] rows = [96, M, 96, M];
        var rng = new System.Random(11);
        float[] Random(int n) { var x = new float[n]; for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1); return x; }
        var a0 = Random(M * K); var b0 = Random(K * N); var c0 = Random(M * N);
        // The smaller product uses the leading rows of the same operands.
        var expected = new double[M * N];
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                double s = 0;
                for (int p = 0; p < K; p++) s += (double)a0[i * K + p] * b0[p * N + j];
                expected[i * N + j] = s + Beta * c0[i * N + j];
            }

        int products = 0, wrong = 0, damaged = 0;
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect(0, GCCollectionMode.Forced, blocking: true, compacting: true);
                Thread.Sleep(0);
            }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            UnderPreemption(() =>
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var sentinels = new List<float[]>();
                while (clock.ElapsedMilliseconds < 2_000 || products < 20)
                {
                    // Fresh copies each time, so the GC is free to move them as soon as a product returns; both made
                    // first, so that the two products follow each other closely.
                    var operands = rows.Select(m => (M: m, A: a0[..(m * K)], B: b0[..], C: c0[..(m * N)])).ToArray();
                    foreach (var (m, a, b, c) in operands)
                        Gemm.Execute(GemmProvider.Managed, GemmKernelPath.Auto, 1, false, false, m, N, K, 1f,
                            a, 0, K, 0, b, 0, N, 0, Beta, c, 0, N, 0);
                    products += operands.Length;
                    foreach (var (_, _, _, c) in operands)
                        for (int t = 0; t < c.Length; t++)
                            if (Math.Abs(c[t] - expected[t]) > 1e-3 * (1 + Math.Abs(expected[t]))) { wrong++; break; }
                    // Small arrays of a known pattern, allocated where the operands may just have been.
                    for (int s = 0; s < 64; s++) sentinels.Add(Enumerable.Repeat((float)s, 256).ToArray());
                    for (int x = 0; x < sentinels.Count; x++)
                        if (Array.Exists(sentinels[x], v => v != x % 64)) { damaged++; break; }
                    if (sentinels.Count > 1024) sentinels.RemoveRange(0, 512);
                }
            });
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }

        Assert.True(products >= 20);
        Assert.Equal(0, wrong);
        Assert.Equal(0, damaged);
    }
}
