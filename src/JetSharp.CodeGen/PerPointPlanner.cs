namespace JetSharp.CodeGen;

/// <summary>
/// Where a tensor of a per-point region keeps its points: flat index <c>(o · N + b) · Inner + i</c> for point b of
/// N, with <see cref="Outer"/> leading and <see cref="Inner"/> trailing elements per point. <see cref="Axis"/> is the
/// axis of extent N, or −1 when a reshape merged the points with the leading axes (rows <c>o · N + b</c>).
/// A block of B points is held as <c>[Outer, B, Inner]</c>, the same layout with N replaced by B.
/// </summary>
internal readonly record struct PointLayout(int Axis, int Outer, int Inner)
{
    public bool Merged => Axis < 0;
    public int PerPoint => Outer * Inner;
}

/// <summary>How a node relates to the points of a candidate region.</summary>
internal enum PointRole
{
    /// <summary>Independent of the points: computed before the region, read whole (weights, constants).</summary>
    Free,
    /// <summary>One slice per point, computed block by block inside the region.</summary>
    PerPoint,
    /// <summary>A sum over the points (a weight gradient, a loss): accumulated by the region, read after it.</summary>
    Reduction,
    /// <summary>Depends on the region but cannot run inside it: emitted after it, node by node.</summary>
    After,
}

/// <summary>
/// A per-point region: nodes whose tensors all have the points as their only large axis (or none), run as one loop
/// over blocks of points instead of one pass per node. See <see cref="PerPointPlanner"/>.
/// </summary>
internal sealed class PerPointRegion
{
    public required int Points { get; init; }
    public required int Block { get; init; }
    public required int Chunks { get; init; }
    /// <summary>Per-point and reduction nodes, in graph order.</summary>
    public required List<Node> Nodes { get; init; }
    public required Dictionary<Node, PointLayout> Layouts { get; init; }
    public required HashSet<Node> Reductions { get; init; }
    /// <summary>Per-point nodes whose whole value is needed outside the region (written out block by block).</summary>
    public required HashSet<Node> Materialized { get; init; }
    /// <summary>Values computed before the region that it reads, in graph order.</summary>
    public required List<Node> External { get; init; }
    /// <summary>Multiply-adds of the region's products, all points together (decides whether to split it over cores).</summary>
    public required double Flops { get; init; }
    /// <summary>
    /// The region before this one when the two run in one parallel call (chunk c of each on the same core): this one
    /// reads nothing the other computes, and takes its chunk count. Null when the region runs by itself.
    /// </summary>
    public PerPointRegion? RunsBeside { get; init; }

    /// <summary>This region split as <paramref name="first"/> is, to run beside it.</summary>
    public PerPointRegion Beside(PerPointRegion first) => new()
    {
        Points = Points, Block = Block, Chunks = first.Chunks, Nodes = Nodes, Layouts = Layouts, Reductions = Reductions,
        Materialized = Materialized, External = External, Flops = Flops, RunsBeside = first,
    };
}

/// <summary>
/// Finds per-point regions (issue 19: "per-point loops where the batch is the only large axis"). For a candidate
/// point count N (the leading extent of a graph input), each live node is classified from its inputs by the rule
/// of its primitive family (<see cref="PointRules"/>): free of the points, per point (with its
/// <see cref="PointLayout"/>), a reduction over the points, or after the region. The region is the per-point and
/// reduction nodes; it must contain a product with a small weight (≤ <see cref="MaxWeight"/> elements) and every
/// per-point tensor must hold at most <see cref="MaxPerPoint"/> elements per point, so that a block of points
/// stays in the first-level cache. Regions are found one at a time (largest first) until none is left; what the
/// regions do not take is emitted node by node as before. Driven by shapes and the rules only.
/// </summary>
internal static class PerPointPlanner
{
    /// <summary>Most elements per point of a tensor in a region (e.g. 2 directions × 64 units × 32).</summary>
    public const int MaxPerPoint = 4096;

    /// <summary>Most elements of a point-independent matrix multiplied inside a region (64 × 64).</summary>
    public const int MaxWeight = 4096;

    /// <summary>Fewest points worth a region.</summary>
    public const int MinPoints = 16;

    /// <summary>
    /// Points per block: the largest divisor of N not above this (at least 4). Measured on the poisson2d step (one chunk,
    /// min of 400 calls): 8, 16 and 32 points within 10% of each other; 16 keeps a block of a 32-wide layer at 4 KB.
    /// </summary>
    public const int MaxBlock = 16;

    /// <summary>Multiply-adds above which a region is split into two chunks that run on two cores (a fork/join costs 10–50 µs).</summary>
    public const double ParallelFlops = 1e6;

    /// <summary>
    /// The emission order: nodes and regions. Each region comes after the free nodes it reads, the nodes it
    /// does not take keep their graph order.
    /// </summary>
    public static List<object> Plan(Graph graph, IReadOnlyList<Node> live, Func<Node, bool> hasRule)
    {
        var done = new HashSet<Node>(graph.Inputs);
        var steps = new List<object>();
        var outputs = graph.Outputs.ToHashSet();
        var candidates = live.Where(n => n.Op is InputOp && n.Shape.Rank >= 1 && n.Shape[0] >= MinPoints)
            .Select(n => n.Shape[0]).Distinct().OrderDescending().ToList();
        while (true)
        {
            PerPointRegion? best = null;
            foreach (int n in candidates)
                if (Analyze(live, done, outputs, n, hasRule) is { } r && (best is null || r.Nodes.Count > best.Nodes.Count)) best = r;
            if (best is null) break;
            // The free nodes the region reads (and their free ancestors), in graph order, then the region.
            var needed = new HashSet<Node>();
            var stack = new Stack<Node>(best.External);
            while (stack.Count > 0)
            {
                var x = stack.Pop();
                if (done.Contains(x) || !needed.Add(x)) continue;
                foreach (var i in x.Inputs) stack.Push(i);
            }
            foreach (var x in live)
                if (needed.Contains(x)) { steps.Add(x); done.Add(x); }
            steps.Add(best);
            done.UnionWith(best.Nodes);
        }
        foreach (var x in live)
            if (!done.Contains(x)) steps.Add(x);
        return RunBeside(steps);
    }

    /// <summary>
    /// Pairs a region split into chunks with the next region when that one reads nothing the first computes and has a
    /// block per chunk: the second is split the same way and runs in the same parallel call (<see
    /// cref="PerPointRegion.RunsBeside"/>), chunk c of both on one core, instead of on one core after the call — on the
    /// poisson2d step the 64 boundary points beside the 256 interior points. The nodes between the two (point-free values
    /// the second reads) move before the first.
    /// </summary>
    private static List<object> RunBeside(List<object> steps)
    {
        for (int i = 0; i < steps.Count; i++)
        {
            if (steps[i] is not PerPointRegion { Chunks: > 1, RunsBeside: null } first) continue;
            int j = steps.FindIndex(i + 1, s => s is PerPointRegion);
            if (j < 0 || steps[j] is not PerPointRegion second || second.Points / second.Block < first.Chunks) continue;
            // Everything from the first region to the second must be independent of the first.
            var dependent = first.Nodes.ToHashSet();
            bool independent = true;
            for (int k = i + 1; k <= j && independent; k++)
                foreach (var n in steps[k] is PerPointRegion r ? r.Nodes : [(Node)steps[k]])
                    if (n.Inputs.Any(dependent.Contains)) { independent = false; break; }
            if (!independent) continue;
            var between = steps.GetRange(i + 1, j - i - 1);
            steps.RemoveRange(i + 1, j - i);
            steps.InsertRange(i, between);
            steps.Insert(i + between.Count + 1, second.Beside(first));
            i += between.Count + 1;
        }
        return steps;
    }

    private static PerPointRegion? Analyze(IReadOnlyList<Node> live, HashSet<Node> done, HashSet<Node> outputs, int points, Func<Node, bool> hasRule)
    {
        int block = Enumerable.Range(1, Math.Min(MaxBlock, points)).Last(b => points % b == 0);
        if (block < 4 && points > MaxBlock) return null;   // no block size fits evenly: leave it to the node-by-node code
        var role = new Dictionary<Node, PointRole>();
        var layouts = new Dictionary<Node, PointLayout>();
        // Graph inputs are classified too (a point input is read block by block); other done nodes are free.
        PointRole RoleOf(Node x) => role.TryGetValue(x, out var r) ? r : PointRole.Free;
        double flops = 0;
        bool product = false;
        foreach (var n in live)
        {
            if (done.Contains(n) && n.Op is not InputOp) continue;
            var roles = n.Inputs.Select(RoleOf).ToArray();
            PointRole r;
            if (n.Op is InputOp)
            {
                r = n.Shape.Rank >= 1 && n.Shape[0] == points && n.Shape.Size / points <= MaxPerPoint ? PointRole.PerPoint : PointRole.Free;
                if (r == PointRole.PerPoint) layouts[n] = new PointLayout(0, 1, n.Shape.Size / points);
            }
            else if (roles.Any(x => x is PointRole.After or PointRole.Reduction)) r = PointRole.After;
            else if (!hasRule(n) || PointRules.For(n) is not { } rule) r = roles.Any(x => x == PointRole.PerPoint) ? PointRole.After : PointRole.Free;
            else
            {
                var c = rule.Classify(n, x => (RoleOf(x), layouts.GetValueOrDefault(x)), points);
                if (c is null) r = roles.Any(x => x == PointRole.PerPoint) ? PointRole.After : PointRole.Free;
                else if (c.Value.Role == PointRole.PerPoint && (c.Value.Layout.PerPoint > MaxPerPoint || (c.Value.Layout.Merged && !rule.AcceptsMerged)))
                    r = PointRole.After;
                else
                {
                    r = c.Value.Role;
                    if (r == PointRole.PerPoint) layouts[n] = c.Value.Layout;
                    if (r != PointRole.Free && c.Value.Flops > 0) { flops += c.Value.Flops; product = true; }
                }
            }
            role[n] = r;
        }
        // A merged layout may only feed a reduction product or a reshape that splits the points out again.
        foreach (var n in live)
            if (!done.Contains(n) && role[n] is PointRole.PerPoint or PointRole.Reduction)
                foreach (var x in n.Inputs)
                    if (role.GetValueOrDefault(x) == PointRole.PerPoint && layouts[x].Merged && !PointRules.For(n)!.ReadsMerged(n, x))
                        return null;
        if (!product) return null;
        var nodes = live.Where(n => !done.Contains(n) && role[n] is PointRole.PerPoint or PointRole.Reduction).ToList();
        var inRegion = nodes.ToHashSet();
        var materialized = new HashSet<Node>();
        foreach (var n in live)
            if (!done.Contains(n) && !inRegion.Contains(n))
                foreach (var x in n.Inputs)
                    if (inRegion.Contains(x) && role[x] == PointRole.PerPoint) materialized.Add(x);
        foreach (var o in outputs)
            if (inRegion.Contains(o) && role[o] == PointRole.PerPoint) materialized.Add(o);
        var external = nodes.SelectMany(n => n.Inputs).Where(x => !inRegion.Contains(x)).Distinct().OrderBy(x => x.Id).ToList();
        int blocks = points / block;
        return new PerPointRegion
        {
            Points = points,
            Block = block,
            Chunks = blocks >= 2 && flops >= ParallelFlops ? 2 : 1,
            Nodes = nodes,
            Layouts = layouts.Where(kv => inRegion.Contains(kv.Key) || external.Contains(kv.Key)).ToDictionary(),
            Reductions = [.. nodes.Where(n => role[n] == PointRole.Reduction)],
            Materialized = materialized,
            External = external,
            Flops = flops,
        };
    }
}
