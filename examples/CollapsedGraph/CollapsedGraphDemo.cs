using JetSharp.Nn;
using JetSharp.Simplify;

namespace JetSharp.Examples.CollapsedGraph;

/// <summary>A graph with its statistics.</summary>
/// <param name="Title">What the graph is (e.g. "before (standard Taylor)").</param>
/// <param name="Graph">The graph.</param>
/// <param name="Stats">Its node and vector counts.</param>
public sealed record GraphView(string Title, Graph Graph, GraphStats Stats);

/// <summary>Outcome of <see cref="CollapsedGraphDemo.Build"/>.</summary>
/// <param name="Standard">The standard-Taylor Laplacian graph, unsimplified.</param>
/// <param name="Collapsed">The same graph after the standard simplifier (collapsed).</param>
/// <param name="RulesFired">Each rule that fired with how often, in order of first firing.</param>
public sealed record CollapsedGraphResult(GraphView Standard, GraphView Collapsed, IReadOnlyList<(string Rule, int Count)> RulesFired);

/// <summary>
/// What collapsing does to a graph: the standard-Taylor Laplacian of a small tanh MLP (D → 3 → 3 → 1)
/// before and after simplification, with node and vector counts and the rules that fired.
/// </summary>
public static class CollapsedGraphDemo
{
    /// <summary>Builds both graphs for input dimension <paramref name="dim"/> and batch size <paramref name="batch"/>.</summary>
    public static CollapsedGraphResult Build(int dim = 2, int batch = 4)
    {
        var net = Mlp.Create(dim, [3, 3], 1, Activation.Tanh, seed: 0);
        var standard = DifferentialOperator.Laplacian().Build(Tracer.Function(net.Apply, new Shape(batch, dim)), Strategy.StandardTaylor, simplify: false);
        var simplifier = Simplifier.Standard();
        var collapsed = simplifier.Run(standard);
        return new CollapsedGraphResult(
            new GraphView("before (standard Taylor)", standard, GraphStats.Of(standard, batch)),
            new GraphView("after (collapsed)", collapsed, GraphStats.Of(collapsed, batch)),
            [.. simplifier.Log.GroupBy(f => f.Rule).Select(g => (g.Key, g.Count()))]);
    }
}
