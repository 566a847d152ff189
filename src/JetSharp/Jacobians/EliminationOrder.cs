namespace JetSharp.Jacobians;

/// <summary>
/// A rule that turns a linearized graph into an elimination order: a list of all its intermediate vertices,
/// each exactly once. Forward and reverse mode are two particular orders (Griewank &amp; Walther, ch. 9).
/// </summary>
public abstract class EliminationOrder
{
    /// <summary>Short name for tables ("forward", "reverse", "Markowitz", …).</summary>
    public abstract string Name { get; }

    /// <summary>The order for <paramref name="graph"/> (its structure is all that is read).</summary>
    public abstract int[] For(LinearizedGraph graph);

    /// <summary>The <see cref="Name"/>.</summary>
    public override string ToString() => Name;

    /// <summary>Intermediates in topological order: vertex elimination's form of forward mode.</summary>
    public static EliminationOrder Forward { get; } = new FixedRule("forward", g => [.. g.IntermediateVertices]);

    /// <summary>Intermediates in reverse topological order: reverse mode.</summary>
    public static EliminationOrder Reverse { get; } = new FixedRule("reverse", g => [.. g.IntermediateVertices.Reverse()]);

    /// <summary>
    /// Greedy Markowitz: repeatedly eliminate the intermediate with the smallest Markowitz degree
    /// |pred| · |succ| in the current graph (the cheapest step now), ties to the lowest vertex index.
    /// </summary>
    public static EliminationOrder Markowitz { get; } = new FixedRule("Markowitz", MarkowitzOrder);

    /// <summary>A user-given order of vertex indices (checked against the graph when used).</summary>
    public static EliminationOrder Custom(IEnumerable<int> vertices, string name = "custom") =>
        new CustomOrder(name ?? throw new ArgumentNullException(nameof(name)), [.. vertices ?? throw new ArgumentNullException(nameof(vertices))]);

    /// <summary>An order found by <see cref="OrderOptimizer"/> (dynamic programming or annealing, see there).</summary>
    public static EliminationOrder Optimized(OptimizerOptions? options = null) => new OptimizedOrder(options ?? new OptimizerOptions());

    /// <summary>
    /// Throws unless <paramref name="order"/> lists every intermediate of <paramref name="graph"/> exactly once
    /// and nothing else; the message names the operation and the offending vertex.
    /// </summary>
    public static void Validate(LinearizedGraph graph, IReadOnlyList<int> order, string op)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(order);
        int n = graph.Independents, p = graph.Intermediates;
        var seen = new bool[p];
        foreach (var v in order)
        {
            if (v < 0 || v >= graph.VertexCount)
                throw new ArgumentException($"{op}: vertex {v} in the order does not exist (the graph has vertices 0..{graph.VertexCount - 1}).");
            if (!graph.IsIntermediate(v))
                throw new ArgumentException($"{op}: vertex {v} ({graph.Name(v)}) is {(v < n ? "an independent" : "a dependent")}; only the intermediates {n}..{n + p - 1} are eliminated.");
            if (seen[v - n])
                throw new ArgumentException($"{op}: vertex {v} ({graph.Name(v)}) appears twice in the order.");
            seen[v - n] = true;
        }
        if (order.Count != p)
        {
            var missing = Enumerable.Range(0, p).Where(i => !seen[i]).Select(i => i + n).ToArray();
            throw new ArgumentException($"{op}: the order lists {order.Count} of the {p} intermediates; missing: {string.Join(", ", missing.Take(10))}{(missing.Length > 10 ? ", …" : "")}.");
        }
    }

    internal static int[] MarkowitzOrder(LinearizedGraph g)
    {
        var state = new BitElimination(g);
        var remaining = new List<int>(g.IntermediateVertices);
        var order = new int[remaining.Count];
        for (int s = 0; s < order.Length; s++)
        {
            int best = 0, bestDegree = int.MaxValue;
            for (int r = 0; r < remaining.Count; r++)
            {
                int d = state.Markowitz(remaining[r]);
                if (d < bestDegree) { bestDegree = d; best = r; } // strict: ties keep the lower index (the list is sorted)
            }
            order[s] = remaining[best];
            state.Eliminate(remaining[best]);
            remaining.RemoveAt(best);
        }
        return order;
    }

    private sealed class FixedRule(string name, Func<LinearizedGraph, int[]> rule) : EliminationOrder
    {
        public override string Name => name;
        public override int[] For(LinearizedGraph graph) => rule(graph);
    }

    private sealed class CustomOrder(string name, int[] vertices) : EliminationOrder
    {
        public override string Name => name;

        public override int[] For(LinearizedGraph graph)
        {
            Validate(graph, vertices, $"order '{name}'");
            return (int[])vertices.Clone();
        }
    }

    private sealed class OptimizedOrder(OptimizerOptions options) : EliminationOrder
    {
        public override string Name => "optimized";
        public override int[] For(LinearizedGraph graph) => OrderOptimizer.Optimize(graph, options).Order;
    }
}
