using JetSharp.Control;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>Calls against the inlined computation (an independent formulation), and the neural-ODE application.</summary>
public class CallTests
{
    private static readonly NDArray<double> W = Randn(1, 3, 3);

    /// <summary>The callee: one block, traced once and applied three times.</summary>
    private static readonly Graph Block = Tracer.Function(xs => Fn.Tanh(Fn.MatMul(xs[0], xs[0].Graph.Constant(W))) * xs[1] + xs[0], [new Shape(4, 3), new Shape(4, 3)]);

    private static Node Called(Node x) { var h = x; for (int i = 0; i < 3; i++) h = Tracer.Call(Block, h, x)[0]; return Fn.Sin(h); }
    private static Node Inlined(Node x) { var h = x; for (int i = 0; i < 3; i++) h = Inline.Apply(Block, [h, x])[0]; return Fn.Sin(h); }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void JetOfACallIsACallOfTheCalleesJetSharedByEveryApplication(int order)
    {
        var prefix = new Shape(2);
        var called = Jet.Transform(Tracer.Function(Called, new Shape(4, 3)), order, prefix);
        var inlined = Jet.Transform(Tracer.Function(Inlined, new Shape(4, 3)), order, prefix);
        var jetCallees = GraphWalk.Reachable(called).Select(n => n.Op).OfType<CallOp>().Select(c => c.Callee).Where(c => c != Block).Distinct().ToList();
        // Application 1 gets (x, h) with h's coefficients; applications 2 and 3 the same signature: one transformed callee.
        Assert.True(jetCallees.Count <= 2, $"{jetCallees.Count} transformed callees for 3 applications");
        NDArray<double>[] inputs = [Randn(2, 4, 3), .. Enumerable.Range(1, order).Select(k => Randn(10 + k, 2, 4, 3))];
        var a = Run(inlined, inputs);
        var b = Run(called, inputs);
        for (int k = 0; k <= order; k++) Close(a[k], b[k], 1e-12 * Math.Max(1, MaxAbs(a[k])));
    }

    [Fact]
    public void VjpOfACallMatchesCentralDifferences()
    {
        Node F(Node[] v) => Fn.Sum(Called(v[0]) * Called(v[0]));
        var grad = Run(Vjp.Grad(Tracer.Function(F, [new Shape(4, 3)])), Randn(3, 4, 3))[1];
        var v = Randn(4, 4, 3);
        Close(CentralDifference(F, [Randn(3, 4, 3)], [v]).Data[0], Dot(grad, v), 1e-7);
    }

    [Fact]
    public void InlinePassInlinesSmallOrOnceUsedCalleesOnly()
    {
        var g = Tracer.Function(Called, new Shape(4, 3));
        var kept = Calls.Inline(g, maxNodes: 2);           // the block has 5 nodes and three call sites: stays a call
        var inlined = Calls.Inline(g, maxNodes: 8);
        Assert.Equal(3, kept.Nodes.Count(n => n.Op is CallOp));
        Assert.DoesNotContain(inlined.Nodes, n => n.Op is CallOp);
        var x = Randn(5, 4, 3);
        Close(Run(g, x)[0], Run(inlined, x)[0], 1e-15);
        Close(Run(g, x)[0], Run(kept, x)[0], 1e-15);
    }

    [Fact]
    public void ArgumentsOfTheWrongShapeAreRejectedNamingTheArgument()
    {
        var ex = Assert.Throws<ShapeException>(() => Tracer.Function(x => Tracer.Call(Block, x, x)[0], new Shape(5, 3)));
        Assert.Contains("argument 0", ex.Message);
        Assert.Contains("[4, 3]", ex.Message);
    }

    [Fact]
    public void NeuralOdeLaplacianThroughScanAndCallMatchesUnrolledAndFiniteDifferences()
    {
        var model = new JetSharp.Examples.NeuralOde.NeuralOdeModel(Dimension: 2, Hidden: 5, Steps: 6, Horizon: 0.6);
        var shape = new Shape(3, 2);
        var x = Rand(4, -1, 1, 3, 2);
        var scan = Run(Pde.LaplacianGraph(model.Flow, shape, DType.Float64, Strategy.Collapsed), x)[0];
        var unrolled = Run(Pde.LaplacianGraph(model.FlowUnrolled, shape, DType.Float64, Strategy.Collapsed), x)[0];
        Close(unrolled, scan, 1e-12);
        foreach (var s in new[] { Strategy.StandardTaylor, Strategy.NestedFirstOrder })
            Close(unrolled, Run(Pde.LaplacianGraph(model.Flow, shape, DType.Float64, s), x)[0], 1e-10);
        // Second differences of the model's value, per coordinate.
        var u = Tracer.Function(model.Flow, shape);
        const double h = 1e-4;
        var fd = new double[3];
        for (int d = 0; d < 2; d++)
        {
            var e = new NDArray<double>(shape);
            for (int n = 0; n < 3; n++) e.Data[n * 2 + d] = h;
            var plus = Run(u, Axpy(x, 1, e))[0];
            var minus = Run(u, Axpy(x, -1, e))[0];
            var mid = Run(u, x)[0];
            for (int n = 0; n < 3; n++) fd[n] += (plus.Data[n] - 2 * mid.Data[n] + minus.Data[n]) / (h * h);
        }
        for (int n = 0; n < 3; n++) Assert.True(Math.Abs(fd[n] - scan.Data[n]) < 1e-5 * Math.Max(1, Math.Abs(fd[n])), $"datum {n}: FD {fd[n]}, scan {scan.Data[n]}");
    }
}
