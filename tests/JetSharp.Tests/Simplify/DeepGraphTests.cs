using JetSharp.Ir;
using JetSharp.Nn;
using JetSharp.Primitives;
using JetSharp.Simplify;
using JetSharp.Simplify.Rules;
using static JetSharp.Tests.SimplifyTestUtil;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// A rewrite's replacement is simplified as it is built, so pulling a sum from the output of a deep
/// graph down to its inputs nests one rewrite per linear step. That depth grows with the graph (three
/// levels per MLP layer), so the driver must cope with legitimately deep cascades without running out
/// of stack or mistaking them for rules that do not terminate — and must still stop rules that do not.
/// </summary>
public class DeepGraphTests
{
    /// <summary>Runs <paramref name="body"/> on a thread with the given stack, rethrowing its exception here.</summary>
    private static T OnThread<T>(int stackBytes, Func<T> body)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try { result = body(); }
            catch (Exception e) { error = e; }
        }, stackBytes);
        thread.Start();
        thread.Join();
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
        return result;
    }

    /// <summary>A graph built without <see cref="Tracer"/>: no origin stack walks, which would dominate the time on thousands of nodes.</summary>
    private static Graph Build(Shape[] shapes, Func<Node[], Node> f)
    {
        var g = new Graph(DType.Float64);
        var inputs = shapes.Select(s => g.Input(s)).ToArray();
        g.SetOutputs(f(inputs));
        return g;
    }

    [Fact]
    public void ALongChainOfScalingsUnderOneSumIsFullyCollapsed()
    {
        // Σ_r (((a_r·c)·c)…·c) with 5000 direction-free factors: the sum must travel 5000 steps to reach a,
        // a legitimate cascade deeper than any fixed nesting limit.
        const int length = 5000;
        var g = Build([new Shape(2, 3, 2), new Shape(3, 2)], xs =>
        {
            var y = xs[0];
            for (int i = 0; i < length; i++) y = y * xs[1];
            return Fn.Sum(y, 0);
        });
        var simplifier = new Simplifier([new PullSumThroughScaling()]);
        var simplified = OnThread(16 << 20, () => simplifier.Run(g));
        // Factors near 1 keep the product finite over 5000 steps.
        SameOutputs(g, simplified, [Randn(1, 2, 3, 2), Rand(2, 0.999, 1.001, 3, 2)], 1e-10);
        // Fully collapsed: one sum, directly over a, and every product is taken on the summed value.
        var sum = Assert.Single(LiveOf<SumOp>(simplified));
        Assert.IsType<InputOp>(sum.Inputs[0].Op);
        Assert.All(LiveOf<MulOp>(simplified), m => Assert.NotEqual(2, m.Shape[0]));
    }

    [Fact]
    public void ALongChainSimplifiesOnASmallStack()
    {
        // 1000 nested rewrites would need far more than a 256 KiB stack if they recursed (a few KiB per
        // level in a debug build): the cascade runs on the simplifier's own work stack, in a single pass.
        const int length = 1000;
        var g = Build([new Shape(2, 3, 2), new Shape(3, 2)], xs =>
        {
            var y = xs[0];
            for (int i = 0; i < length; i++) y = y * xs[1];
            return Fn.Sum(y, 0);
        });
        var simplifier = new Simplifier([new PullSumThroughScaling()]);
        var simplified = OnThread(256 << 10, () => simplifier.Run(g));
        Assert.All(simplifier.Log, f => Assert.Equal(1, f.Pass));
        Assert.Equal(2, simplifier.Passes);
        SameOutputs(g, simplified, [Randn(1, 2, 3, 2), Rand(2, 0.999, 1.001, 3, 2)], 1e-10);
        Assert.IsType<InputOp>(Assert.Single(LiveOf<SumOp>(simplified)).Inputs[0].Op);
    }

    [Fact]
    public void ADeepLaplacianSimplifiesOnASmallStack()
    {
        // 150 layers nest about 450 rewrites per cascade, on a 256 KiB stack.
        const int n = 4, d = 2, layers = 150;   // n differs from every width, so GraphStats finds all weights
        var net = Mlp.Create(d, [.. Enumerable.Repeat(3, layers)], 1, Activation.Tanh, seed: 1);
        var f = Build([new Shape(n, d)], xs => net.Apply(xs[0]));
        var raw = DifferentialOperator.Laplacian().Build(f, Strategy.Collapsed, simplify: false);
        var simplified = OnThread(256 << 10, () => Simplifier.Simplify(raw));
        SameOutputs(raw, simplified, [Randn(2, n, d)], 1e-10);
        var stats = GraphStats.Of(simplified, n);
        Assert.Equal(layers + 1, stats.PerLayer.Count);
        Assert.All(stats.PerLayer.Skip(1).SkipLast(1), l => Assert.Equal(2 + d, l.Vectors));
    }

    /// <summary>A broken rule: rewrites tanh(x) into tanh(x), whose replacement matches again, forever.</summary>
    private sealed class Rewrap : RewriteRule
    {
        public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) => op is TanhOp;
        public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context) => Fn.Tanh(inputs[0]);
    }

    [Theory]
    [InlineData(256 << 10)]
    [InlineData(16 << 20)]
    public void RulesThatDoNotTerminateAreReportedNotACrash(int stackBytes)
    {
        var g = Tracer.Function(x => Fn.Tanh(x) + 1.0, new Shape(2, 2));
        var e = Assert.Throws<InvalidOperationException>(() => OnThread(stackBytes, () => new Simplifier([new Rewrap()]).Run(g)));
        Assert.Contains("do not terminate", e.Message);
        Assert.Contains(nameof(Rewrap), e.Message);
    }
}
