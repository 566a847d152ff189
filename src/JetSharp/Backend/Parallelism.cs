namespace JetSharp.Backend;

/// <summary>
/// How the kernels split work across cores. Elementwise and layout kernels split freely (their
/// results do not depend on the split); reductions use <see cref="DeterministicPieces"/>, which
/// depends only on the problem size, so a sum rounds the same way on every machine and core count.
/// </summary>
/// <remarks>
/// Two thresholds, because the kernels are of two kinds. Measured on the 2-vCPU target (EPYC VM,
/// pool threads warm): a fork/join costs roughly 10–50 µs; TensorPrimitives.Exp on 32K doubles takes
/// ~50 µs on one core and ~28 µs on two, while an add of 4M doubles takes ~2.8 ms on one core and no
/// less on two, because one core already draws the memory bandwidth the VM gets (two threads gained
/// at most ~25% at 8M elements and lost ~50 µs at 256K). So compute-bound kernels go parallel early,
/// bandwidth-bound ones only when the tensors are large enough that the fork/join is noise (and
/// where a second core does add bandwidth, as on most bare-metal machines, it then helps).
/// </remarks>
internal static class Parallelism
{
    /// <summary>Elements above which compute-bound kernels (transcendentals, pow, transposes) run in parallel.</summary>
    public const int ComputeThreshold = 32 * 1024;

    /// <summary>Elements above which bandwidth-bound kernels (arithmetic, copies, sums) run in parallel.</summary>
    public const int StreamingThreshold = 1 << 20;

    /// <summary>Test hook: a per-thread factor on both thresholds; 0 means unset (1).</summary>
    [ThreadStatic] private static double t_scale;

    /// <summary>The threshold in force on this thread (see <see cref="ScaleThresholdsForTesting"/>).</summary>
    public static long Threshold(bool computeBound)
    {
        long baseline = computeBound ? ComputeThreshold : StreamingThreshold;
        return t_scale == 0 ? baseline : (long)Math.Clamp(baseline * t_scale, 2, long.MaxValue / 2);
    }

    /// <summary>
    /// Piece count for work whose result is independent of the split. A few pieces per core lets
    /// the thread pool balance uneven progress without paying per-piece overhead too often.
    /// </summary>
    public static int Pieces(long elements, bool computeBound = false)
    {
        int cores = Environment.ProcessorCount;
        long threshold = Threshold(computeBound);
        if (cores <= 1 || elements < threshold) return 1;
        return (int)Math.Min(elements / (threshold / 2), 4L * cores);
    }

    /// <summary>Piece count for partial sums: a function of the size only (never of the core count).</summary>
    public static int DeterministicPieces(long elements, int max = 32) =>
        (int)Math.Clamp(elements / Math.Max(1, Threshold(false) / 4), 1, max);

    /// <summary>Start of piece <paramref name="p"/> of <paramref name="pieces"/> over [0, total).</summary>
    public static long Start(long total, int pieces, int p) => total * p / pieces;

    /// <summary>
    /// Runs <paramref name="body"/> for each piece, inline when there is only one. A piece that throws ends the call with its
    /// exception (the first one, when several throw), after the pieces already started have finished.
    /// </summary>
    public static void Run(int pieces, Action<int> body)
    {
        if (pieces <= 1)
        {
            body(0);
            return;
        }
        // A single-core machine gains nothing from the pool; run in order (same results either way).
        if (Environment.ProcessorCount <= 1)
        {
            for (int p = 0; p < pieces; p++) body(p);
            return;
        }
        // The GEMM's workers first: after a product they poll for the next job for a while, so a kernel that ran on the
        // .NET thread pool instead would find the other cores taken by a spinning worker (on 2 cores: three runnable
        // threads for two cores, and the caller waiting for a pool thread that the scheduler has not run yet). The pool
        // is busy when another thread runs a product, or when this call comes from inside one of its parts; then the
        // .NET thread pool takes the pieces.
        if (GemmWorkerPool.Shared.TryRun(new PieceJob(body), pieces, pieces - 1)) return;
        try { Parallel.For(0, pieces, body); }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // As from the GEMM's workers: the first failure of a piece, as itself.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/>(from, to) over [0, <paramref name="count"/>) cut into at most <paramref name="pieces"/>
    /// contiguous ranges, in parallel as <see cref="Run"/> does (inline for one range).
    /// </summary>
    public static void RunRanges(int count, int pieces, Action<int, int> body)
    {
        pieces = Math.Clamp(pieces, 1, Math.Max(1, count));
        Run(pieces, p => body((int)Start(count, pieces, p), (int)Start(count, pieces, p + 1)));
    }

    /// <summary>Ranges for a kernel whose pieces are claimed dynamically: a few per core, so a core slowed by other work takes fewer.</summary>
    public static int Ranges(int count) => Math.Min(count, 4 * Environment.ProcessorCount);

    private sealed class PieceJob(Action<int> body) : IGemmParallelJob
    {
        public void Execute(int part, int parts) => body(part);
    }

    /// <summary>
    /// Test hook: multiplies both thresholds on the calling thread until disposed, so tests reach
    /// the parallel and split-reduction paths with tensors small enough to check against naive
    /// loops (factor &lt; 1), or force the serial paths (a huge factor). Thread-local, so tests
    /// running concurrently are unaffected.
    /// </summary>
    internal static ThresholdScope ScaleThresholdsForTesting(double factor)
    {
        var scope = new ThresholdScope(t_scale);
        t_scale = factor;
        return scope;
    }

    internal readonly struct ThresholdScope(double previous) : IDisposable
    {
        public void Dispose() => t_scale = previous;
    }
}

/// <summary>
/// Row-major counter over a few outer axes that tracks two element offsets with their own strides,
/// so inner loops never divide. Starting at an arbitrary row costs O(rank) divisions, once per piece.
/// </summary>
internal ref struct Odometer
{
    private readonly ReadOnlySpan<int> _dims;
    private readonly ReadOnlySpan<int> _s0;
    private readonly ReadOnlySpan<int> _s1;
    private readonly Span<int> _idx;
    public int Off0;
    public int Off1;

    /// <param name="dims">Extents of the axes counted over.</param>
    /// <param name="s0">Strides (in elements) of the first offset along those axes.</param>
    /// <param name="s1">Strides of the second offset.</param>
    /// <param name="idx">Scratch of at least dims.Length ints (usually stackalloc'd by the caller).</param>
    /// <param name="row">Flat row-major index over <paramref name="dims"/> to start at.</param>
    public Odometer(ReadOnlySpan<int> dims, ReadOnlySpan<int> s0, ReadOnlySpan<int> s1, Span<int> idx, long row)
    {
        _dims = dims;
        _s0 = s0;
        _s1 = s1;
        _idx = idx;
        Off0 = 0;
        Off1 = 0;
        for (int k = dims.Length - 1; k >= 0; k--)
        {
            int i = (int)(row % dims[k]);
            row /= dims[k];
            idx[k] = i;
            Off0 += i * s0[k];
            Off1 += i * s1[k];
        }
    }

    public void Next()
    {
        for (int k = _dims.Length - 1; k >= 0; k--)
        {
            Off0 += _s0[k];
            Off1 += _s1[k];
            if (++_idx[k] < _dims[k]) return;
            Off0 -= _s0[k] * _dims[k];
            Off1 -= _s1[k] * _dims[k];
            _idx[k] = 0;
        }
    }
}
