using JetSharp.Nn;
using JetSharp.Simplify;
using JetSharp.Simplify.Rules;

namespace JetSharp.Tests;

/// <summary>The simplifier's own account of a collapsed Laplacian: the Trace writer and the Log name the collapsing rules.</summary>
public class TraceLogTests
{
    [Fact]
    public void CollapsedLaplacianTraceAndLogNameTheCollapsingRules()
    {
        const int n = 5, d = 3;
        var net = Mlp.Create(d, [6, 6], 1, Activation.Tanh, seed: 4);
        var raw = DifferentialOperator.Laplacian().Build(Tracer.Function(net.Apply, new Shape(n, d)), Strategy.Collapsed, simplify: false);
        var trace = new StringWriter();
        var simplifier = new Simplifier(Simplifier.StandardRules) { Trace = trace };
        simplifier.Run(raw);

        string[] expected = [nameof(PullSumThroughMatMul), nameof(PullSumThroughScaling), nameof(PullSumThroughAddSub)];
        var text = trace.ToString();
        foreach (var rule in expected)
        {
            Assert.Contains(simplifier.Log, f => f.Rule == rule);
            Assert.Contains($": {rule} at ", text);
        }
        // The trace is the log, line for line. The sum is pulled through the matmul of every layer that
        // carries a second coefficient: layers 2 and 3 (at layer 1, x₂ = 0, so there is no such product).
        Assert.Equal(simplifier.Log.Count, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(2, simplifier.Log.Count(f => f.Rule == nameof(PullSumThroughMatMul)));
        Assert.All(simplifier.Log, f => Assert.Contains("(", f.Site));
        // The log describes the last run only.
        simplifier.Run(raw);
        Assert.Equal(2 * simplifier.Log.Count, trace.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }
}
