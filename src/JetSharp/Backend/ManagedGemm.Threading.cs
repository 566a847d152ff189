using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace JetSharp.Backend;

/// <summary>A unit of parallel work: part <c>part</c> of <c>parts</c>. Parts must be independent.</summary>
internal interface IGemmParallelJob
{
    void Execute(int part, int parts);
}

/// <summary>
/// Persistent worker threads for the managed GEMM. <see cref="Parallel.For(int,int,Action{int})"/>
/// would allocate delegates/tasks on every call and wake pool threads through the general scheduler;
/// a GEMM of a few hundred microseconds (typical in training loops) notices both.
/// </summary>
/// <remarks>
/// Parts are not assigned to threads: every participant (the caller included) claims the next
/// unclaimed part from a shared counter until none are left. A worker that wakes late, or whose core
/// is busy with another process, therefore just claims fewer parts instead of holding up the whole
/// product; the caller only ever waits for parts that another thread is actively running.
/// <para>
/// A claim names its round as well as its part (see <see cref="_claim"/>). With a bare part counter, a thread that took
/// a number just past the end of one round and was then descheduled could compare it, when it ran again, with the part
/// count of a later round: it then ran a part of that round which another thread also claimed, and counted it done
/// twice, so the caller returned while a part was still running. The GEMM's parts write through pointers into arrays
/// pinned only for the duration of the call, so that part went on writing where the GC might already have moved
/// another object: heap corruption of the kind behind the intermittent crashes of the GC (docs/reliability.md).
/// </para>
/// </remarks>
internal sealed class GemmWorkerPool
{
    private const int Closed = int.MaxValue / 2;

    private static readonly Lazy<GemmWorkerPool> s_shared =
        new(() => new GemmWorkerPool(Math.Clamp(Environment.ProcessorCount, 1, 256) - 1));

    public static GemmWorkerPool Shared => s_shared.Value;

    private readonly Lock _gate = new();
    private readonly Worker[] _workers;
    private IGemmParallelJob? _job;
    private int _parts;
    /// <summary>
    /// The round (high 32 bits: a number that only grows) and its next unclaimed part (low 32 bits; <see cref="Closed"/>
    /// between rounds). A part is claimed by moving this from (round, part) to (round, part + 1), so a thread whose
    /// view is from an earlier round can claim nothing.
    /// </summary>
    private long _claim = Closed;
    private long _round;
    private int _done;
    private Exception? _failure;

    /// <summary>
    /// Test hook, null outside tests: runs on every thread that takes part in a round, after it has read the round's
    /// state and before it claims a part. A thread may be descheduled for milliseconds at exactly this point; the hook
    /// lets a test make that happen often (a yield there exposed the stale claims described above in a few rounds).
    /// </summary>
    internal static Action? BeforeClaimForTesting;

    private GemmWorkerPool(int workers)
    {
        _workers = new Worker[workers];
        for (int i = 0; i < workers; i++) _workers[i] = new Worker(this, i + 1);
    }

    /// <summary>Calling thread plus workers.</summary>
    public int Capacity => _workers.Length + 1;

    /// <summary>True when at least <paramref name="count"/> workers are polling (awake) rather than blocked.</summary>
    public bool WorkersAwake(int count)
    {
        for (int i = 0; i < count && i < _workers.Length; i++)
            if (_workers[i].Asleep) return false;
        return true;
    }

    /// <summary>
    /// Runs job.Execute(part, parts) for every part on the calling thread and up to
    /// <paramref name="helpers"/> workers. Returns false without running anything when the pool is
    /// already busy (a concurrent GEMM from another thread, or a GEMM issued from inside a job); the
    /// caller then runs the work serially, which is deadlock-free and right when the cores are taken.
    /// </summary>
    public bool TryRun(IGemmParallelJob job, int parts, int helpers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        if (!_gate.TryEnter()) return false;
        if (_job is not null)
        {
            // Re-entered from inside a part on this same thread (the lock is recursive).
            _gate.Exit();
            return false;
        }
        try
        {
            _job = job;
            _parts = parts;
            _done = 0;
            _failure = null;
            // Opening the round publishes the fields above to anyone who claims a part of it.
            Volatile.Write(ref _claim, ++_round << 32);
            helpers = Math.Clamp(helpers, 0, Math.Min(_workers.Length, parts - 1));
            for (int i = 0; i < helpers; i++) _workers[i].Wake();

            RunParts();

            // Only parts claimed by running workers remain; they are balanced, so spin.
            var spin = new SpinWait();
            while (Volatile.Read(ref _done) < parts) spin.SpinOnce(sleep1Threshold: -1);

            if (_failure is { } failure) ExceptionDispatchInfo.Throw(failure);
            return true;
        }
        finally
        {
            // A worker that wakes after this point finds the round closed. (A full fence: the next round's fields are
            // written only after this, so a thread that read them can no longer claim a part of this round.)
            Interlocked.Exchange(ref _claim, _round << 32 | Closed);
            _job = null;
            _gate.Exit();
        }
    }

    private void RunParts()
    {
        while (true)
        {
            long seen = Volatile.Read(ref _claim);
            int part = (int)(seen & uint.MaxValue);
            if (part >= Closed) return;
            // The round's job and part count, written before the round was opened. If the round has ended since `seen`
            // was read, these may be a later round's, but then the exchange below fails: closing changes _claim, and
            // it never takes an earlier value again. After a successful claim they stay as read until this part is
            // counted in _done, which the owner waits for.
            var job = Volatile.Read(ref _job);
            int parts = Volatile.Read(ref _parts);
            if (part >= parts || job is null) return;
            BeforeClaimForTesting?.Invoke();
            if (Interlocked.CompareExchange(ref _claim, seen + 1, seen) != seen) continue;
            try
            {
                job.Execute(part, parts);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, e, null);
            }
            finally
            {
                Interlocked.Increment(ref _done);
            }
        }
    }

    private sealed class Worker
    {
        /// <summary>
        /// How long a worker keeps polling for the next job before blocking. Waking a blocked thread
        /// costs 30–60 µs (futex wake plus a reschedule, worse under virtualisation), while a GEMM in
        /// a training loop is often followed by the next one within a few hundred microseconds.
        /// OpenMP runtimes make the same trade with spin times of 0.2 ms to 200 ms.
        /// </summary>
        private static readonly long SpinTicks = Stopwatch.Frequency / 2000; // 0.5 ms

        private readonly GemmWorkerPool _pool;
        private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
        private int _generation;
        private int _asleep;

        public Worker(GemmWorkerPool pool, int index)
        {
            _pool = pool;
            var thread = new Thread(Loop, maxStackSize: 256 * 1024)
            {
                IsBackground = true,
                Name = $"JetSharp GEMM worker {index}",
            };
            thread.Start();
        }

        public bool Asleep => Volatile.Read(ref _asleep) != 0;

        public void Wake()
        {
            // Publish the wake-up first (full fence), then check whether the worker has gone to
            // sleep. The worker announces sleep before its final check, so one side always sees
            // the other and no wake-up is lost.
            Interlocked.Increment(ref _generation);
            if (Volatile.Read(ref _asleep) != 0) _wake.Set();
        }

        private void Loop()
        {
            int seen = 0;
            while (true)
            {
                long deadline = Stopwatch.GetTimestamp() + SpinTicks;
                int spins = 0;
                while (Volatile.Read(ref _generation) == seen)
                {
                    if (Stopwatch.GetTimestamp() < deadline)
                    {
                        Thread.SpinWait(20);
                        // Let another runnable thread on this core have it now and then.
                        if ((++spins & 63) == 0) Thread.Yield();
                        continue;
                    }
                    _wake.Reset();
                    Interlocked.Exchange(ref _asleep, 1);
                    if (Volatile.Read(ref _generation) == seen) _wake.Wait();
                    Volatile.Write(ref _asleep, 0);
                    deadline = Stopwatch.GetTimestamp() + SpinTicks;
                }
                seen = Volatile.Read(ref _generation);
                _pool.RunParts();
            }
        }
    }
}
