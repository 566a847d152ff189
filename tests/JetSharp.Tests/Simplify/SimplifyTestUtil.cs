using JetSharp.Simplify;
using JetSharp.Transforms;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>Shared helpers of the simplifier tests: run a rule set, compare a graph before and after, inspect structure.</summary>
internal static class SimplifyTestUtil
{
    /// <summary>
    /// Traces <paramref name="f"/> over inputs of the shapes of <paramref name="inputs"/>, simplifies it with
    /// <paramref name="simplifier"/>, and checks that the simplified graph computes the same outputs on
    /// those inputs (≤ 1e-12 relative), independently of whether any rule fired.
    /// </summary>
    public static (Graph Before, Graph After) SimplifyAndCompare(Simplifier simplifier, Func<Node[], Node> f, params NDArray<double>[] inputs)
    {
        var before = Tracer.Function(f, [.. inputs.Select(x => x.Shape)]);
        var after = simplifier.Run(before);
        SameOutputs(before, after, inputs);
        return (before, after);
    }

    /// <summary>Both graphs evaluated on the same inputs agree output by output (max abs error / max(1, max|reference|) ≤ tol).</summary>
    public static void SameOutputs(Graph reference, Graph candidate, NDArray<double>[] inputs, double tol = 1e-12)
    {
        Assert.Equal(reference.Outputs.Count, candidate.Outputs.Count);
        var expected = Run(reference, inputs);
        var actual = Run(candidate, inputs);
        for (int o = 0; o < expected.Length; o++)
        {
            Assert.Equal(expected[o].Shape, actual[o].Shape);
            double e = RelErr(actual[o], expected[o]);
            Assert.True(e <= tol, $"output {o}: relative error {e:E3} > {tol:E1}\nexpected {expected[o]}\nactual   {actual[o]}");
        }
    }

    /// <summary>Seeded inputs for every input of a graph (standard normal; each input its own seed).</summary>
    public static NDArray<double>[] InputsFor(Graph g, long seed) =>
        [.. g.Inputs.Select((i, k) => Randn(seed * 100 + k, i.Shape.ToArray()))];

    /// <summary>The nodes the outputs reach (what the executor would run), inputs included.</summary>
    public static List<Node> Live(Graph g) => GraphWalk.Reachable(g);

    public static List<Node> LiveOf<TOp>(Graph g) => [.. Live(g).Where(n => n.Op is TOp)];

    public static bool Fired(Simplifier s, string rule) => s.Log.Any(f => f.Rule == rule);

    /// <summary>Runs <paramref name="rule"/> alone, asserts it fired, and returns the simplified graph (values already compared).</summary>
    public static Graph Fires(RewriteRule rule, Func<Node[], Node> f, params NDArray<double>[] inputs)
    {
        var s = new Simplifier([rule]);
        var (_, after) = SimplifyAndCompare(s, f, inputs);
        AssertFired(s, rule);
        return after;
    }

    /// <summary>Runs <paramref name="rule"/> alone and asserts it did not fire and left the graph as it was.</summary>
    public static void DoesNotFire(RewriteRule rule, Func<Node[], Node> f, params NDArray<double>[] inputs)
    {
        var s = new Simplifier([rule]);
        var (before, after) = SimplifyAndCompare(s, f, inputs);
        AssertNotFired(s, rule);
        Assert.Equal(Live(before).Select(n => n.Op.ToString()), Live(after).Select(n => n.Op.ToString()));
    }

    public static void AssertFired(Simplifier s, RewriteRule rule) =>
        Assert.True(Fired(s, rule.Name), $"{rule.Name} did not fire; log: [{string.Join("; ", s.Log.Select(f => $"{f.Rule} at {f.Site}"))}]");

    public static void AssertNotFired(Simplifier s, RewriteRule rule) =>
        Assert.False(Fired(s, rule.Name), $"{rule.Name} fired but must not: [{string.Join("; ", s.Log.Where(f => f.Rule == rule.Name).Select(f => f.Site))}]");

    /// <summary>True when a node of op type TOuter consumes a node of op type TInner anywhere in the live graph.</summary>
    public static bool Consumes<TOuter, TInner>(Graph g) =>
        Live(g).Any(n => n.Op is TOuter && n.Inputs.Any(i => i.Op is TInner));
}
