using JetSharp.Runtime;
using JetSharp.Control;
using JetSharp.Simplify;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Scan against the unrolled loop (an independent formulation of the same function): values, K-jets for
/// K ≤ 4, reverse mode against central differences, checkpointing, the collapsed Laplacian's vector counts,
/// and the three strategies.
/// </summary>
public class ScanTests
{
    private const int N = 5, D = 3, H = 4, L = 3;
    private static readonly NDArray<double> W = Axpy(Randn(1, L, H, H), -0.5, Randn(1, L, H, H));   // 0.5·W
    private static readonly NDArray<double> B = Randn(2, L, 1, H);
    private static readonly NDArray<double> Win = Randn(3, D, H);
    private static readonly NDArray<double> Wout = Randn(4, H, 1);

    private static Node Block(Node h, Node w, Node b) => h + Fn.Tanh(Fn.MatMul(h, w) + b * 0.1);

    private static NDArray<double> Slice(NDArray<double> stacked, int l)
    {
        var shape = new Shape(stacked.Shape.ToArray()[1..]);
        return new NDArray<double>(shape, stacked.Data.Skip(l * shape.Size).Take(shape.Size).ToArray());
    }

    internal static Node ScanNet(Node x) => ScanNet(x, x.Graph.Constant(W), x.Graph.Constant(B));

    private static Node ScanNet(Node x, Node w, Node b)
    {
        var h0 = Fn.Tanh(Fn.MatMul(x, x.Graph.Constant(Win)));
        var h = Tracer.Scan((c, xs) => [Block(c[0], xs[0], xs[1])], [h0], [w, b])[0];
        return Fn.MatMul(h, x.Graph.Constant(Wout));
    }

    internal static Node UnrolledNet(Node x)
    {
        var h = Fn.Tanh(Fn.MatMul(x, x.Graph.Constant(Win)));
        for (int l = 0; l < L; l++) h = Block(h, x.Graph.Constant(Slice(W, l)), x.Graph.Constant(Slice(B, l)));
        return Fn.MatMul(h, x.Graph.Constant(Wout));
    }

    [Fact]
    public void ScanComputesTheUnrolledLoop()
    {
        var x = Randn(5, N, D);
        var scan = Tracer.Function(ScanNet, new Shape(N, D));
        Assert.Contains(scan.Nodes, n => n.Op is ScanOp);
        Close(Run(Tracer.Function(UnrolledNet, new Shape(N, D)), x)[0], Run(scan, x)[0], 1e-14);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void JetOfScanIsTheJetOfTheUnrolledLoop(int order)
    {
        var prefix = new Shape(2);
        var scan = Jet.Transform(Tracer.Function(ScanNet, new Shape(N, D)), order, prefix);
        var unrolled = Jet.Transform(Tracer.Function(UnrolledNet, new Shape(N, D)), order, prefix);
        var inputs = new[] { Randn(6, N, D) }.Concat(Enumerable.Range(1, order).Select(k => Randn(10 + k, 2, N, D))).ToArray();
        var a = Run(unrolled, inputs);
        var b = Run(scan, inputs);
        for (int k = 0; k <= order; k++) Close(a[k], b[k], 1e-11 * Math.Max(1, MaxAbs(a[k])));
    }

    [Fact]
    public void JetOfStackedOutputsAndReverseScan()
    {
        // ys: the state after each step, scanned backwards; compared with the unrolled loop's stacked states.
        Node[] Scanned(Node x)
        {
            var outs = Tracer.Scan((c, xs) => { var h = Block(c[0], xs[0], xs[1]); return [h, Fn.Sin(h)]; },
                [x], [x.Graph.Constant(W), x.Graph.Constant(B)], reverse: true);
            return [outs[0], outs[1]];
        }
        Node[] Unrolled(Node x)
        {
            var ys = new Node[L];
            var h = x;
            for (int l = L - 1; l >= 0; l--) { h = Block(h, x.Graph.Constant(Slice(W, l)), x.Graph.Constant(Slice(B, l))); ys[l] = Fn.Sin(h); }
            return [h, Fn.Stack(0, ys)];
        }
        var s = Jet.Transform(Tracer.Function(xs => Scanned(xs[0]), [new Shape(N, H)]), 2, new Shape(3));
        var u = Jet.Transform(Tracer.Function(xs => Unrolled(xs[0]), [new Shape(N, H)]), 2, new Shape(3));
        NDArray<double>[] inputs = [Randn(7, N, H), Randn(8, 3, N, H), Randn(9, 3, N, H)];
        var a = Run(u, inputs);
        var b = Run(s, inputs);
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++) Close(a[i], b[i], 1e-12);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(-1)]
    public void VjpMatchesCentralDifferences(int stride)
    {
        var checkpointing = new LoopCheckpointing(stride);
        Node F(Node[] v) => Fn.Sum(Fn.Sin(Tracer.Scan((c, xs) => [Block(c[0], xs[0], xs[1])], [v[0]], [v[1], v[2]], checkpointing: checkpointing)[0]));
        var f = Tracer.Function(F, [new Shape(N, H), new Shape(L, H, H), new Shape(L, 1, H)]);
        NDArray<double>[] xs = [Randn(11, N, H), W, B];
        var grads = Run(Vjp.Grad(f), xs);
        for (int i = 0; i < 3; i++)
        {
            var v = Randn(20 + i, [.. xs[i].Shape]);
            var vs = xs.Select((x, j) => j == i ? v : new NDArray<double>(x.Shape)).ToArray();
            Close(CentralDifference(F, xs, vs).Data[0], Dot(grads[1 + i], v), 1e-7);
        }
    }

    [Fact]
    public void CheckpointingKeepsFewerStatesThanStoringAll()
    {
        const int steps = 100;
        double Peak(LoopCheckpointing c)
        {
            var f = Tracer.Function(v => Fn.Sum(Tracer.Scan(h => Fn.Sin(h) * 0.9, v[0], steps, c)), [new Shape(64, 8)]);
            var exe = Executable.Compile(Vjp.Grad(f));
            exe.Run(Randn(1, 64, 8));
            return exe.LastRun.PeakLiveBytes;
        }
        double all = Peak(LoopCheckpointing.None), sqrt = Peak(LoopCheckpointing.SqrtLength);
        Assert.True(sqrt * 3 < all, $"checkpointed peak {sqrt} B vs stored {all} B");
    }

    [Fact]
    public void CollapsedLaplacianOfAScanCarriesTwoPlusDVectorsPerBlock()
    {
        var collapsed = Pde.LaplacianGraph(ScanNet, new Shape(N, D), DType.Float64, Strategy.Collapsed);
        var unrolled = Pde.LaplacianGraph(UnrolledNet, new Shape(N, D), DType.Float64, Strategy.Collapsed);
        var scans = GraphWalk.Reachable(collapsed).Where(n => n.Op is ScanOp).ToList();
        var loop = Assert.Single(scans);
        var body = ((ScanOp)loop.Op).Body;
        var stats = GraphStats.Of(body, N);
        var layer = Assert.Single(stats.PerLayer);
        Assert.True(layer.Vectors == 2 + D, $"{layer.Vectors} vectors per block, expected {2 + D}\n{stats.Listing()}\n{body}");
        // Carries: h₀ [N, H], h₁ [D, N, H] and the summed top coefficient [1, N, H] (the shape of the keep-dims sum).
        Assert.Equal([new Shape(N, H), new Shape(D, N, H), new Shape(1, N, H)], body.Inputs.Take(3).Select(i => i.Shape));
        var u = GraphStats.Of(unrolled, N);
        Assert.All(u.PerLayer.Skip(1).SkipLast(1), l => Assert.Equal(2 + D, l.Vectors));

        var x = Randn(5, N, D);
        var expected = Run(unrolled, x)[0];
        Close(expected, Run(collapsed, x)[0], 1e-12);
        foreach (var s in Strategy.All)
            Close(expected, Run(Pde.LaplacianGraph(ScanNet, new Shape(N, D), DType.Float64, s), x)[0], 1e-10);
    }

    [Fact]
    public void CollapsingAnUnrolledResidualNetworkTakesFiringsLinearInDepth()
    {
        // The skip connection reaches Σh_l twice (through the block and around it): the simplifier must reuse
        // the first rewrite, not redo the cascade per path (which doubled the work per block).
        int Firings(int blocks)
        {
            var f = Tracer.Function(new JetSharp.Benchmarks.ResidualScanModel(blocks, 3, 4).Unrolled, new Shape(5, 3));
            var s = Simplifier.Standard();
            s.Run(DifferentialOperator.Laplacian().Build(f, Strategy.Collapsed, simplify: false));
            return s.Log.Count;
        }
        int f8 = Firings(8), f16 = Firings(16);
        Assert.True(f16 < 2.5 * f8, $"{f8} firings at 8 blocks, {f16} at 16");
    }

    [Fact]
    public void ACarryThatChangesShapeIsRejectedNamingBoth()
    {
        var ex = Assert.Throws<ShapeException>(() => Tracer.Function(x =>
            Tracer.Scan((c, xs) => [Fn.MatMul(c[0], xs[0])], [x], [x.Graph.Constant(Randn(1, 2, 4, 3))])[0], new Shape(5, 4)));
        Assert.Contains("carry 0", ex.Message);
        Assert.Contains("[5, 4]", ex.Message);
        Assert.Contains("[5, 3]", ex.Message);
    }

    [Fact]
    public void XsOfDifferentLengthsAreRejected()
    {
        var ex = Assert.Throws<ShapeException>(() => Tracer.Function(x =>
            Tracer.Scan((c, xs) => [c[0] + xs[0] + xs[1]], [x], [x.Graph.Constant(Randn(1, 2, 4)), x.Graph.Constant(Randn(1, 3, 4))])[0], new Shape(4)));
        Assert.Contains("xs 1", ex.Message);
        Assert.Contains("[3, 4]", ex.Message);
    }

    [Fact]
    public void ClosuresCaptureValuesOfTheEnclosingTrace()
    {
        // The body uses a (a value of the outer trace) without receiving it: it becomes a loop constant.
        Node F(Node[] v) => Tracer.Scan(h => Fn.Tanh(h * v[1]) + v[1], v[0], 4);
        Node G(Node[] v) { var h = v[0]; for (int i = 0; i < 4; i++) h = Fn.Tanh(h * v[1]) + v[1]; return h; }
        NDArray<double>[] xs = [Randn(1, 3, 2), Randn(2, 3, 2)];
        Close(Eval(G, xs), Eval(F, xs), 1e-14);
        var gradF = Run(Vjp.Grad(Tracer.Function(v => Fn.Sum(F(v)), [new Shape(3, 2), new Shape(3, 2)])), xs);
        var gradG = Run(Vjp.Grad(Tracer.Function(v => Fn.Sum(G(v)), [new Shape(3, 2), new Shape(3, 2)])), xs);
        for (int i = 0; i < 3; i++) Close(gradG[i], gradF[i], 1e-12);
    }
}
