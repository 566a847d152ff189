using JetSharp.CodeGen;
using JetSharp.Nn;
using JetSharp.Runtime;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Graphs emitted as C# and compiled by Roslyn agree with the interpreter (an independent implementation:
/// scheduled kernels, fused trees, BLAS-style GEMM) to 1e-12, on the operator graphs the library builds.
/// </summary>
public class EmittedGraphTests
{
    /// <summary>A tanh MLP D→H→H→1 with its weights as inputs (so VJP graphs can differentiate them).</summary>
    internal static Graph MlpWithParameters(Mlp net, int n) =>
        Tracer.Function(xs => [net.Apply(xs[1..], xs[0])], [new Shape(n, net.Widths[0]), .. net.ParameterShapes]);

    private static void AgreesWithInterpreter(Graph g, params NDArray<double>[] inputs)
    {
        var expected = Executable.Compile(g).Run(inputs);
        var emitted = EmittedGraph.Compile(g);
        NDArray<double>[] actual;
        try { actual = emitted.Run(inputs); }
        catch (Exception e) { throw new InvalidOperationException($"emitted code failed: {e.Message}\n{emitted.Source}", e); }
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Shape, actual[i].Shape);
            Close(expected[i], actual[i], 1e-12);
        }
    }

    public static TheoryData<string, string> OperatorCases => new()
    {
        { "laplacian", "collapsed" }, { "laplacian", "standard" },
        { "biharmonic", "collapsed" }, { "biharmonic", "standard" },
    };

    [Theory]
    [MemberData(nameof(OperatorCases))]
    public void DifferentialOperatorsOfAnMlpAgreeWithTheInterpreter(string op, string strategy)
    {
        var net = Mlp.Create(3, [8, 8], 1, Activation.Tanh, seed: 3);
        var f = Tracer.Function(net.Apply, new Shape(5, 3));
        var l = op == "laplacian" ? DifferentialOperator.Laplacian() : DifferentialOperator.Biharmonic();
        var g = l.Build(f, strategy == "collapsed" ? Strategy.Collapsed : Strategy.StandardTaylor);
        AgreesWithInterpreter(g, Randn(11, 5, 3));
    }

    [Fact]
    public void ScanCondAndWhileInOneFunctionAreEmittedAsLoopsAndBranches()
    {
        // A scan feeding a cond feeding a while loop: written as a for loop, an if/else and a while loop (no kernel calls),
        // in compiled and in standalone code.
        var g = Tracer.Function(x =>
        {
            var s = Tracer.Scan(h => Fn.Tanh(h) * 0.5 + h, x, 3);
            var c = Tracer.Cond(Fn.Sum(s), a => a[0] * 2.0, a => -a[0], s);
            var w = Tracer.While((v, _) => 4.0 - Fn.Sum(v[0] * v[0]), (v, _) => [v[0] * 1.5], [c + 0.1], maxIterations: 100).Values[0];
            return w * w;
        }, new Shape(2, 3));
        AgreesWithInterpreter(g, Randn(3, 2, 3));
        // And the collapsed Laplacian of the same function (jets of the three loops).
        AgreesWithInterpreter(DifferentialOperator.Laplacian().Build(g, Strategy.Collapsed), Randn(3, 2, 3));
        var standalone = EmittedGraph.Compile(g, new EmitOptions { ClassName = "Loops", UseLibraryKernels = false });
        Assert.Contains("for (int l = 0; l < 3; l++)", standalone.Source);
        Assert.Contains("if (p > 0) r = Then", standalone.Source);
        Assert.Contains("while (true)", standalone.Source);
        Close(Executable.Compile(g).Run(Randn(3, 2, 3))[0], standalone.Run(Randn(3, 2, 3))[0], 1e-12);
    }

    [Fact]
    public void TakeAndScatterAddWithFixedIndicesAreWrittenOutInStandaloneCode()
    {
        // Repeated and reordered indices along a middle axis; the scatter-add (take's VJP) accumulates the repeats.
        var g = Tracer.Function(xs => [Fn.Sum(Fn.Take(xs[0], [2, 0, 2, 1], 1) * 3.0, 2),
                                       Fn.Apply(new ScatterAddOp(1, new IndexList([2, 0, 2, 1]), 3), xs[1])], [new Shape(2, 3, 5), new Shape(2, 4, 5)]);
        NDArray<double>[] inputs = [Randn(7, 2, 3, 5), Randn(8, 2, 4, 5)];
        var standalone = EmittedGraph.Compile(g, new EmitOptions { UseLibraryKernels = false });
        Assert.Contains("s_indices", standalone.Source);
        var expected = Executable.Compile(g).Run(inputs);
        var actual = standalone.Run(inputs);
        for (int i = 0; i < 2; i++) Close(expected[i], actual[i], 1e-14);
        // The scatter-add written out by hand: row 2 receives rows 0 and 2 of the input, row 1 is row 3.
        Assert.Equal(inputs[1].Data[0] + inputs[1].Data[10], actual[1].Data[10], 14);
    }

    [Fact]
    public void ResampledCoordinateDirectionsRunThroughTheKernelWithTheRunsSeed()
    {
        // Coordinates drawn per run: compiled code runs the sampling node's own kernel with the seed offset, so each
        // offset gives the interpreter's draw, and different offsets give different estimates.
        var net = Mlp.Create(6, [8], 1, Activation.Tanh, seed: 4);
        var f = Tracer.Function(net.Apply, new Shape(3, 6));
        var g = DifferentialOperator.Laplacian(Estimate.Coordinates(2, seed: 9, resample: true)).Build(f, Strategy.Collapsed);
        Assert.Contains(GraphWalk.Reachable(g), n => n.Op is SelectionMatrixOp { IsRandom: true } || n.Op is TakeOp { IsRandom: true });
        var x = Randn(12, 3, 6);
        var emitted = EmittedGraph.Compile(g);
        var interpreter = Executable.Compile(g);
        var a = emitted.Run([x], 1);
        Close(interpreter.Run([x], 1)[0], a[0], 1e-12);
        Close(interpreter.Run([x], 2)[0], emitted.Run([x], 2)[0], 1e-12);
        Assert.NotEqual(a[0].Data, emitted.Run([x], 2)[0].Data);
        var standalone = Assert.Throws<NotSupportedException>(() => CSharpEmitter.Emit(g, new EmitOptions { ClassName = "Sampled" }));
        Assert.Contains("sample(2 of 6", standalone.Message);   // names the sampling node
    }

    [Fact]
    public void TheVjpOfACollapsedLaplacianLossAgreesWithTheInterpreter()
    {
        // The PINN training gradient: ∂/∂θ Σ (Δu_θ)², a reverse-mode graph over a collapsed Taylor graph.
        var net = Mlp.Create(2, [6, 6], 1, Activation.Tanh, seed: 5);
        var u = MlpWithParameters(net, 4);
        var lap = DifferentialOperator.Laplacian().Build(u, Strategy.Collapsed);
        var loss = Tracer.Function(xs => [Fn.Sum(Fn.Square(Inline.Apply(lap, xs)[0]))], [.. lap.Inputs.Select(i => i.Shape)]);
        var grad = Vjp.Grad(loss, [false, .. Enumerable.Repeat(true, net.ParameterShapes.Length)]);
        var inputs = new[] { Randn(1, 4, 2) }.Concat(net.Parameters.Cast<NDArray<double>>()).ToArray();
        AgreesWithInterpreter(grad, inputs);
    }

    [Fact]
    public void EveryElementwiseFunctionAndLayoutPrimitiveAgrees()
    {
        // Functions the MLP graphs do not reach, and the layout ops (slice, pad, concat, transpose,
        // batched and transposed matmul with batch broadcasting, sums with keepdims).
        var g = Tracer.Function(xs =>
        {
            Node x = xs[0], y = xs[1];                                            // [2, 3, 4], [4, 3]
            var a = Fn.Sigmoid(x) + Fn.Softplus(x) * Fn.Sin(x) - Fn.Cos(x) / (1 + Fn.Exp(x));
            var b = Fn.Log(1 + Fn.Sqrt(x * x)) + Fn.Pow(Fn.Softplus(x), 1.5) + Fn.Pow(x, 3) + Fn.Pow(x, -2);
            var m1 = Fn.MatMul(a, y);                                              // [2,3,4]·[4,3] → [2,3,3]
            var m2 = Fn.MatMul(a, b, transposeA: true);                            // [2,4,3]·[2,3,4] → [2,4,4]
            var m3 = Fn.MatMul(Fn.Reshape(y, 1, 4, 3), b, true, true);             // [1,3,4]·[2,4,3] → [2,3,3]
            var c = Fn.Concat(1, Fn.Slice(m1, [0, 1, 0], [2, 2, 3]), Fn.Pad(m3, [0, 0, 0], [0, 1, 0]));  // [2, 6, 3]
            var t = Fn.Transpose(c, 0, 2, 1) + Fn.Sum(m1, [2], keepDims: true);     // [2, 3, 6] + [2, 3, 1]
            var u = Fn.BroadcastTo(Fn.Sum(y, [0], keepDims: true), new Shape(2, 4, 3)) * 0.5;      // [1, 3] → [2, 4, 3]
            return [t, Fn.Sum(c, [0, 2]), -Fn.Sum(m2), Fn.Relu(x) + Fn.Step(Fn.Transpose(y, 1, 0)), u];
        }, [new Shape(2, 3, 4), new Shape(4, 3)]);
        AgreesWithInterpreter(g, Randn(2, 2, 3, 4), Randn(3, 4, 3));
    }

    [Fact]
    public void ASelectionMatrixIsWrittenOutInStandaloneCodeAndAgrees()
    {
        // select(rows, weights) · W: row i of the result is weight_i times row rows[i] of W.
        var g = Tracer.Function(xs => [Fn.MatMul(SelectionMatrixOp.Emit(xs[0].Graph, 4, [2, 0, 3], [0.5, -1.5, 2.0], new Shape(3, 4)), xs[0])], [new Shape(4, 5)]);
        var w = Randn(13, 4, 5);
        var standalone = EmittedGraph.Compile(g, new EmitOptions { UseLibraryKernels = false });
        Assert.DoesNotContain("own kernel", standalone.Source);
        var r = standalone.Run(w)[0];
        int[] rows = [2, 0, 3];
        double[] weights = [0.5, -1.5, 2.0];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 5; j++) Assert.Equal(weights[i] * w.Data[rows[i] * 5 + j], r.Data[i * 5 + j], 1e-15);
        AgreesWithInterpreter(g, w);
    }

    [Fact]
    public void PrimitivesWithoutAnEmitterRunTheirOwnKernelWithTheRunsSeedOffset()
    {
        // Random sampling has no C# emitter: compiled code calls its kernel (with the seed offset); standalone code refuses by name.
        var g = Tracer.Function(xs => [Fn.MatMul(xs[0], xs[0], transposeA: true) + Fn.Random(xs[0].Graph, new Shape(3, 3), Distribution.Normal, seed: 9)], [new Shape(3, 3)]);
        var x = Randn(21, 3, 3);
        var emitted = EmittedGraph.Compile(g);
        Assert.Contains("own kernel", emitted.Source);
        var interpreter = Executable.Compile(g);
        foreach (long offset in new long[] { 0, 5 })
            Close(interpreter.Run<double>([x], offset)[0], emitted.Run<double>([x], offset)[0], 1e-12);
        Assert.NotEqual(emitted.Run<double>([x], 0)[0].Data, emitted.Run<double>([x], 5)[0].Data);
        var e = Assert.Throws<NotSupportedException>(() => CSharpEmitter.Emit(g));
        Assert.Contains("random", e.Message, StringComparison.OrdinalIgnoreCase);
    }
}
