using JetSharp.Backend;
using JetSharp.Nn;
using JetSharp.Runtime;

namespace JetSharp.Tests;

/// <summary>
/// Elementwise nodes of one shape that feed each other run as one pass (ElementwisePass, FusedKernel.RunGroup): the bits
/// of the node-by-node executor and the values by the definition, intermediates never stored, no pass across a step
/// outside it, and transcendental functions whose bits do not depend on where a chunk ends.
/// </summary>
public class ElementwisePassTests
{
    // t = tanh(x + b), f′ = 1 − t², f″ = (2t² − 2)·t: the activation and the derivatives a Taylor rule reads.
    private static Graph Activation(DType dtype, int n, int h)
    {
        var g = new Graph(dtype);
        var x = g.Input(new Shape(n, h));
        var b = g.Input(new Shape(h));
        var t = Fn.Tanh(x + b);
        var t2 = t * t;
        g.SetOutputs(t, 1.0 - t2, (t2 * 2.0 - 2.0) * t);
        return g;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnActivationAndItsDerivativesRunAsOnePassWithTheirOwnBits(bool float32)
    {
        const int n = 130, h = 300;   // 39,000 elements: parallel (above 32K for a transcendental), ragged against 1,024-element chunks
        var dtype = float32 ? DType.Float32 : DType.Float64;
        var g = Activation(dtype, n, h);
        var x = TestUtil.Randn(1, n, h);
        var b = TestUtil.Randn(2, h);
        NDArray[] inputs = float32 ? [x.To<float>(), b.To<float>()] : [x, b];
        var exe = new Executable(g);
        // x + b, tanh, t², 1 − t² and the tree (2t² − 2)·t: five nodes, three of them written (t² stays in registers).
        Assert.Equal((1, 5), exe.ElementwisePasses);
        Assert.Contains("pass(5 nodes, 3 written)", exe.PlanListing());
        var got = exe.Run(inputs).Select(o => o.To<double>()).ToArray();
        var want = new Executable(g, fuse: false).Run(inputs).Select(o => o.To<double>()).ToArray();
        for (int o = 0; o < 3; o++) Assert.Equal(want[o].Data, got[o].Data);
        Assert.Equal(exe.PlannedPeakBytes(), exe.LastRun.PeakLiveBytes);
        Assert.Equal(3L * n * h * (float32 ? 4 : 8), exe.PlannedPeakBytes());

        double tol = float32 ? 1e-6 : 1e-14;
        for (int i = 0; i < n * h; i++)
        {
            double t = Math.Tanh(x.Data[i] + b.Data[i % h]);
            Assert.True(Math.Abs(got[0].Data[i] - t) <= tol, $"tanh at {i}");
            Assert.True(Math.Abs(got[1].Data[i] - (1 - t * t)) <= 2 * tol, $"f′ at {i}");
            Assert.True(Math.Abs(got[2].Data[i] - (2 * t * t - 2) * t) <= 8 * tol, $"f″ at {i}");
        }
    }

    [Theory]
    [InlineData(1025, 1026, 1027, 2049, 2050, 2051, 3073)]
    public void TranscendentalBitsDoNotDependOnWhereAChunkEnds(params int[] sizes)
    {
        // TensorPrimitives computes a span shorter than a 128-bit vector with the scalar function, whose last bit differs
        // from the vector lanes' (for tanh on these inputs about one in five, for softplus one in two). Chunks never end
        // that short: each element of an input of `size` elements gets the bits it gets inside a longer input, in the
        // kernel and in a pass. (Inputs in [-1.1, -0.63]: tanh's exponential branch, softplus's log1p of e^x near 1/2.)
        foreach (var size in sizes)
        foreach (var (op, apply) in new (UnaryOp, Func<Node, Node>)[] { (UnaryOp.Tanh, Fn.Tanh), (UnaryOp.Softplus, Fn.Softplus), (UnaryOp.Exp, Fn.Exp) })
        {
            var x = TestUtil.Rand(size, -1.1, -0.63, size + 64);
            var longer = new NDArray<float>(new Shape(size + 64), [.. x.Data.Select(v => (float)v)]);
            var shorter = new NDArray<float>(new Shape(size), [.. longer.Data.Take(size)]);
            var (rl, rs) = (new NDArray<float>(longer.Shape), new NDArray<float>(shorter.Shape));
            Elementwise.Unary(op, longer, rl);
            Elementwise.Unary(op, shorter, rs);
            Assert.Equal(rl.Data.Take(size), rs.Data);

            // The same function in a pass (f(x)·2 and f(x) + 1 both written): the kernel's bits.
            var g = new Graph(DType.Float32);
            var input = g.Input(shorter.Shape);
            var f = apply(input);
            g.SetOutputs(f * 2.0, f + 1.0);
            var exe = new Executable(g);
            Assert.Equal(1, exe.ElementwisePasses.Passes);
            var got = exe.Run(shorter);
            for (int i = 0; i < size; i++) Assert.Equal(rl.Data[i] * 2f, got[0].Data[i]);
        }
    }

    [Fact]
    public void NoPassAcrossAStepOutsideIt()
    {
        // u = t ⊙ (t·W) reads a product of t: u cannot join t's pass (the product would have to run inside it); t² can.
        var g = new Graph(DType.Float64);
        var x = g.Input(new Shape(64, 40));
        var w = g.Constant(TestUtil.Randn(2, 40, 40));
        var t = Fn.Tanh(x);
        var u = t * Fn.MatMul(t, w);
        g.SetOutputs(u, t * t);
        var exe = new Executable(g);
        Assert.Equal((1, 2), exe.ElementwisePasses);
        TestUtil.AssertReferenceBits(exe, TestUtil.Randn(3, 64, 40));
    }

    [Fact]
    public void TheLastMemberWritesOverAValueThatDiesThere()
    {
        // m = x·W dies at the pass over it: a = m/10, t = tanh(e^a·a) and t² run in the pass, t and t² are written, t²
        // over m. The run holds two [50, 200] buffers, never three. (Arguments stay in the range where TensorPrimitives computes each lane by
        // itself: an exponential that overflows sends its whole vector to the scalar function, and its neighbours' bits
        // then depend on the buffer's alignment, in any executor.)
        var g = new Graph(DType.Float64);
        var x = g.Input(new Shape(50, 40));
        var a = Fn.MatMul(x, g.Constant(TestUtil.Randn(5, 40, 200))) * 0.1;
        var t = Fn.Tanh(Fn.Exp(a) * a);
        g.SetOutputs(t, t * t);
        var exe = new Executable(g);
        Assert.Equal(1, exe.ElementwisePasses.Passes);
        TestUtil.AssertReferenceBits(exe, TestUtil.Randn(4, 50, 40));
        Assert.Equal(2L * 50 * 200 * 8, exe.PlannedPeakBytes());
        Assert.True(new Executable(g, true, false, true, elementwisePasses: false).PlannedPeakBytes() >= exe.PlannedPeakBytes());
    }

    [Fact]
    public void ALongChainIsCutIntoPassesOfBoundedSize()
    {
        // 400 steps of y ← tanh(y)·c + y, each value read twice: one pass would hold a register per step on every thread;
        // the chain is cut into passes of at most MaxSteps steps, with the node-by-node executor's bits.
        var g = new Graph(DType.Float64);
        var x = g.Input(new Shape(30, 70));
        var y = x;
        for (int i = 0; i < 400; i++) y = Fn.Tanh(y) * 0.01 + y;
        g.SetOutputs(y);
        var exe = new Executable(g);
        var (passes, members) = exe.ElementwisePasses;
        Assert.True(passes >= 400 * 5 / ElementwisePass.MaxSteps, $"{passes} passes");
        Assert.Equal(800, members);   // each step's tanh and its fused tree y·… + y
        TestUtil.AssertReferenceBits(exe, TestUtil.Randn(6, 30, 70));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ACollapsedLaplacianRunsEachLayersActivationAsOnePass(bool float32)
    {
        // Tanh MLP 6 → 96 → 80 → 80 → 1: each hidden layer's bias, tanh and derivatives are one pass; the result is the
        // node-by-node executor's bits and the memory plan is no larger than without passes.
        var dtype = float32 ? DType.Float32 : DType.Float64;
        var net = Mlp.Create(6, [96, 80, 80], 1, JetSharp.Nn.Activation.Tanh, seed: 3, dtype);
        var x = TestUtil.Randn(5, 100, 6);
        NDArray input = float32 ? x.To<float>() : x;
        var graph = DifferentialOperator.Laplacian().Build(Tracer.Function(v => net.Apply(v), input.Shape, dtype), Strategy.Collapsed);
        var exe = new Executable(graph);
        Assert.Equal(3, exe.ElementwisePasses.Passes);
        var y = exe.Run(input)[0].To<double>();
        Assert.Equal(new Executable(graph, fuse: false).Run(input)[0].To<double>().Data, y.Data);
        Assert.Equal(exe.PlannedPeakBytes(), exe.LastRun.PeakLiveBytes);
        Assert.True(exe.PlannedPeakBytes() <= new Executable(graph, true, false, true, elementwisePasses: false).PlannedPeakBytes());
    }
}
