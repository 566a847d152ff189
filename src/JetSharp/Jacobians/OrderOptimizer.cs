using System.Diagnostics;

namespace JetSharp.Jacobians;

/// <summary>Settings of <see cref="OrderOptimizer"/>.</summary>
public sealed record OptimizerOptions
{
    /// <summary>Wall-clock budget of the annealing search (not used by the exact method).</summary>
    public TimeSpan TimeBudget { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// When set, each annealing chain stops after this many order evaluations instead of at the time budget;
    /// the cooling schedule then follows evaluations, so a seed gives the same result on any machine.
    /// </summary>
    public long? MaxEvaluations { get; init; }

    /// <summary>Seed of the random moves; chain k uses seed·1000 + k.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Independent annealing chains run in parallel (one per core by default); the best one wins.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Graphs with at most this many intermediates are solved exactly by dynamic programming over subsets (2^p states).</summary>
    public int ExhaustiveLimit { get; init; } = 20;
}

/// <summary>What the optimizer found, and how.</summary>
/// <param name="Order">The best order found (vertex indices of all intermediates).</param>
/// <param name="Multiplications">Its cost in the plain model.</param>
/// <param name="Method">"dynamic programming" (exact) or "simulated annealing".</param>
/// <param name="Exact">True when the order is proved optimal (dynamic programming).</param>
/// <param name="Elapsed">Wall time of the search, heuristics included.</param>
/// <param name="Evaluations">Orders whose cost was computed (annealing; states for dynamic programming).</param>
/// <param name="BestHeuristic">Cost of the best of forward, reverse and Markowitz.</param>
/// <param name="BestHeuristicName">Which of them that was.</param>
public sealed record OptimizationResult(int[] Order, long Multiplications, string Method, bool Exact, TimeSpan Elapsed, long Evaluations,
    long BestHeuristic, string BestHeuristicName)
{
    /// <summary>Relative saving over the best heuristic, e.g. 0.12 for 12 % fewer multiplications.</summary>
    public double Saving => BestHeuristic == 0 ? 0 : 1 - (double)Multiplications / BestHeuristic;
}

/// <summary>
/// Searches for an elimination order with fewer multiplications than forward, reverse and Markowitz.
/// <list type="bullet">
/// <item><b>Exact</b>, for up to <see cref="OptimizerOptions.ExhaustiveLimit"/> intermediates: dynamic
/// programming over the set S of eliminated vertices. After eliminating S, in whatever order, u → v is an
/// edge exactly when a path from u to v has all its interior vertices in S; so the cost of eliminating j
/// next depends on S only, and best(S ∪ {j}) = min over j of best(S) + |pred_S(j)|·|succ_S(j)|.</item>
/// <item><b>Simulated annealing</b> otherwise (as Naumann &amp; Gottschling did for pivot selection): a
/// random walk over permutations of the intermediates (every permutation is a valid order) by insertion and
/// swap moves, started from the best of forward, reverse and Markowitz, accepting a worse order with
/// probability exp(−Δ/T) while T cools geometrically. The acceptance threshold is drawn before the order is
/// evaluated, so an evaluation stops as soon as its running cost exceeds it (costs only grow) — most rejected
/// moves cost a fraction of a full elimination.</item>
/// </list>
/// The result is never worse than the best heuristic.
/// </summary>
public static class OrderOptimizer
{
    /// <summary>The three reference orders with their costs.</summary>
    public static IReadOnlyList<(string Name, int[] Order, long Multiplications)> Heuristics(LinearizedGraph graph) =>
        graph is null ? throw new ArgumentNullException(nameof(graph)) : [.. new[] { EliminationOrder.Forward, EliminationOrder.Reverse, EliminationOrder.Markowitz }
            .Select(o => { var order = o.For(graph); return (o.Name, order, Elimination.Count(graph, order)); })];

    /// <summary>Exact when the graph is small enough, annealing otherwise.</summary>
    public static OptimizationResult Optimize(LinearizedGraph graph, OptimizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        options ??= new OptimizerOptions();
        CheckOptions(options);
        return graph.Intermediates <= Math.Min(options.ExhaustiveLimit, MaxExhaustive) && graph.Independents <= 64 && graph.Dependents <= 64
            ? Exhaustive(graph)
            : Anneal(graph, options);
    }

    /// <summary>The most intermediates <see cref="Exhaustive"/> accepts (2^24 states: 64 MiB of costs).</summary>
    public const int MaxExhaustive = 24;

    /// <summary>An optimal order by dynamic programming over subsets (see the class remarks).</summary>
    public static OptimizationResult Exhaustive(LinearizedGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        int n = graph.Independents, p = graph.Intermediates, m = graph.Dependents;
        if (p > MaxExhaustive)
            throw new ArgumentException($"optimizer (dynamic programming): the graph has {p} intermediates; exhaustive search handles at most {MaxExhaustive} (2^p states). Use annealing.");
        if (n > 64 || m > 64)
            throw new ArgumentException($"optimizer (dynamic programming): the graph has {n} independents and {m} dependents; exhaustive search handles at most 64 of each.");
        var clock = Stopwatch.StartNew();
        var heuristics = Heuristics(graph);
        var bestHeuristic = heuristics.MinBy(h => h.Multiplications);

        // Per intermediate k (vertex n + k): neighbours split into intermediates (bit k' of a uint),
        // independents (bit i) and dependents (bit j) of a ulong.
        var predI = new uint[p]; var predX = new ulong[p];
        var succI = new uint[p]; var succY = new ulong[p];
        foreach (var (from, to) in graph.Edges)
        {
            if (graph.IsIntermediate(to))
            {
                if (graph.IsIntermediate(from)) predI[to - n] |= 1u << (from - n);
                else predX[to - n] |= 1UL << from;
            }
            if (graph.IsIntermediate(from))
            {
                if (graph.IsIntermediate(to)) succI[from - n] |= 1u << (to - n);
                else succY[from - n] |= 1UL << (to - n - p);
            }
        }

        int states = 1 << p;
        var best = new int[states];
        var choice = new byte[states];
        Array.Fill(best, int.MaxValue);
        best[0] = 0;
        for (int s = 0; s < states; s++)
        {
            int here = best[s];
            uint set = (uint)s;
            for (int k = 0; k < p; k++)
            {
                if ((set & (1u << k)) != 0) continue;
                int cost = here + Reach(k, set, predI, predX) * Reach(k, set, succI, succY);
                int next = s | (1 << k);
                if (cost < best[next]) { best[next] = cost; choice[next] = (byte)k; }
            }
        }

        var order = new int[p];
        for (int s = states - 1, i = p - 1; i >= 0; i--)
        {
            order[i] = choice[s] + n;
            s &= ~(1 << choice[s]);
        }
        return new OptimizationResult(order, best[states - 1], "dynamic programming", true, clock.Elapsed, states,
            bestHeuristic.Multiplications, bestHeuristic.Name);
    }

    /// <summary>
    /// |pred_S(k)| (or |succ_S(k)| with the successor masks): the vertices outside S reached from k through
    /// vertices of S only — k's neighbours once S is eliminated.
    /// </summary>
    private static int Reach(int k, uint eliminated, uint[] inner, ulong[] outer)
    {
        uint reached = inner[k];
        ulong ends = outer[k];
        uint todo = reached & eliminated, done = 0;
        while (todo != 0)
        {
            int v = BitOperations.TrailingZeroCount(todo);
            todo &= todo - 1;
            done |= 1u << v;
            reached |= inner[v];
            ends |= outer[v];
            todo |= inner[v] & eliminated & ~done;
        }
        return BitOperations.PopCount(reached & ~eliminated) + BitOperations.PopCount(ends);
    }

    /// <summary>Simulated annealing (see the class remarks) for the time budget or evaluation budget of <paramref name="options"/>.</summary>
    public static OptimizationResult Anneal(LinearizedGraph graph, OptimizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(options);
        CheckOptions(options);
        var clock = Stopwatch.StartNew();
        var heuristics = Heuristics(graph);
        var ranked = heuristics.OrderBy(h => h.Multiplications).ToArray();
        var bestHeuristic = ranked[0];
        if (graph.Intermediates < 2)
            return new OptimizationResult(bestHeuristic.Order, bestHeuristic.Multiplications, "simulated annealing", graph.Intermediates < 2,
                clock.Elapsed, 0, bestHeuristic.Multiplications, bestHeuristic.Name);

        var chains = new (int[] Order, long Cost, long Evaluations)[options.Threads];
        Parallel.For(0, options.Threads, new ParallelOptions { MaxDegreeOfParallelism = options.Threads }, k =>
        {
            // Chain 0 refines the best heuristic; others alternate between it and the runner-up for diversity.
            var start = ranked[k % 2 == 0 || ranked.Length < 2 ? 0 : 1];
            chains[k] = AnnealChain(graph, start.Order, start.Multiplications, options, options.Seed * 1000 + k, clock);
        });
        int winner = 0;
        for (int k = 1; k < chains.Length; k++)
            if (chains[k].Cost < chains[winner].Cost) winner = k;
        var (order, cost, _) = chains[winner];
        if (cost > bestHeuristic.Multiplications) (order, cost) = (bestHeuristic.Order, bestHeuristic.Multiplications);
        return new OptimizationResult(order, cost, "simulated annealing", false, clock.Elapsed, chains.Sum(c => c.Evaluations),
            bestHeuristic.Multiplications, bestHeuristic.Name);
    }

    private static (int[] Order, long Cost, long Evaluations) AnnealChain(LinearizedGraph graph, int[] start, long startCost,
        OptimizerOptions options, int seed, Stopwatch clock)
    {
        var rng = new Random(seed);
        var state = new BitElimination(graph);
        int p = start.Length;
        var current = (int[])start.Clone();
        long currentCost = startCost;
        var best = (int[])current.Clone();
        long bestCost = currentCost;
        var candidate = new int[p];

        // Start hot enough to accept a typical worsening move about half the time, end where +1 is rare.
        double t0 = Math.Max(1, TypicalWorsening(state, current, currentCost, rng) / Math.Log(2)), t1 = 0.25;
        double budgetSeconds = options.TimeBudget.TotalSeconds;
        long maxEvaluations = options.MaxEvaluations ?? long.MaxValue;
        long evaluations = 0;
        while (true)
        {
            double progress = options.MaxEvaluations is { } cap
                ? (double)evaluations / cap
                : clock.Elapsed.TotalSeconds / budgetSeconds;
            if (progress >= 1 || evaluations >= maxEvaluations) break;
            double temperature = t0 * Math.Pow(t1 / t0, progress);

            current.AsSpan().CopyTo(candidate);
            Mutate(candidate, rng);
            // Accept iff Δ ≤ −T·ln u: the threshold is known before evaluating, so evaluation can stop early.
            long limit = currentCost + (long)Math.Floor(-temperature * Math.Log(1 - rng.NextDouble()));
            long cost = state.Count(candidate, limit);
            evaluations++;
            if (cost < 0) continue;
            (current, candidate) = (candidate, current);
            currentCost = cost;
            if (cost < bestCost)
            {
                bestCost = cost;
                current.AsSpan().CopyTo(best);
            }
        }
        return (best, bestCost, evaluations);
    }

    /// <summary>Mean cost increase of random moves from <paramref name="order"/> (its worsening ones).</summary>
    private static double TypicalWorsening(BitElimination state, int[] order, long cost, Random rng)
    {
        var candidate = new int[order.Length];
        double sum = 0;
        int count = 0;
        for (int i = 0; i < 64; i++)
        {
            order.AsSpan().CopyTo(candidate);
            Mutate(candidate, rng);
            long c = state.Count(candidate);
            if (c > cost) { sum += c - cost; count++; }
        }
        return count == 0 ? 1 : sum / count;
    }

    /// <summary>
    /// A random neighbour: move one vertex to another position (usually nearby, where it interacts with the
    /// vertices eliminated around it) or swap two vertices.
    /// </summary>
    private static void Mutate(int[] order, Random rng)
    {
        int p = order.Length;
        int i = rng.Next(p);
        int j;
        if (rng.Next(2) == 0)
        {
            int reach = Math.Min(p - 1, 8);
            j = i + rng.Next(-reach, reach + 1);
            j = Math.Clamp(j, 0, p - 1);
        }
        else j = rng.Next(p);
        if (i == j) j = i == 0 ? 1 : i - 1;

        if (rng.Next(3) == 0)
        {
            (order[i], order[j]) = (order[j], order[i]);
            return;
        }
        int v = order[i];
        if (i < j) Array.Copy(order, i + 1, order, i, j - i);
        else Array.Copy(order, j, order, j + 1, i - j);
        order[j] = v;
    }

    private static void CheckOptions(OptimizerOptions o)
    {
        const string p = "options";
        if (o.Threads < 1) throw new ArgumentException($"optimizer: Threads must be at least 1, got {o.Threads}.", p);
        if (o.MaxEvaluations is < 1) throw new ArgumentException($"optimizer: MaxEvaluations must be at least 1, got {o.MaxEvaluations}.", p);
        if (o.MaxEvaluations is null && o.TimeBudget <= TimeSpan.Zero)
            throw new ArgumentException($"optimizer: the time budget (TimeBudget) must be positive, got {o.TimeBudget}.", p);
        if (o.ExhaustiveLimit < 0) throw new ArgumentException($"optimizer: ExhaustiveLimit must be ≥ 0, got {o.ExhaustiveLimit}.", p);
    }
}
