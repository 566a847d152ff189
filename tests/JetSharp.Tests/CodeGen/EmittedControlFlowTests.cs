using System.Text.RegularExpressions;
using JetSharp.CodeGen;
using JetSharp.Control;
using JetSharp.Examples.ControlFlow;
using JetSharp.Examples.NeuralOde;
using JetSharp.Runtime;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Control flow in emitted C#: call, scan (forward, jet, reverse sweep stored and checkpointed), cond and
/// while (forward, jet, reverse sweep) written as methods, loops and branches. Each graph runs as compiled
/// code (JetSharp's kernels) and as standalone code (BCL only), and both agree with the interpreter
/// (<see cref="Executable"/>, which runs the bodies through its own nested-graph runner) to 1e-12; the
/// models come from the control-flow tests, whose own tests check them against unrolled programs, closed
/// forms and finite differences.
/// </summary>
public class EmittedControlFlowTests
{
    private static readonly Regex KernelCall = new(@"\bKernel\(");

    /// <summary>
    /// Compiles the graphs in both flavours and compares every output with the interpreter; returns the standalone
    /// sources. No control-flow node may fall back to its interpreter kernel.
    /// </summary>
    private static string[] AgreeWithInterpreter(Graph[] graphs, NDArray<double>[][] inputs, double tol = 1e-12)
    {
        var expected = graphs.Select((g, i) => Executable.Compile(g).Run(inputs[i])).ToArray();
        string[] standalone = [];
        foreach (bool library in new[] { true, false })
        {
            var compiled = EmittedGraph.CompileMany(graphs, new EmitOptions { ClassName = "Flow", UseLibraryKernels = library });
            for (int i = 0; i < graphs.Length; i++)
            {
                Assert.DoesNotMatch(KernelCall, compiled[i].Source);
                NDArray<double>[] actual;
                try { actual = compiled[i].Run(inputs[i]); }
                catch (Exception e) { throw new InvalidOperationException($"emitted code of graph {i} failed: {e.Message}\n{compiled[i].Source}", e); }
                Assert.Equal(expected[i].Length, actual.Length);
                for (int o = 0; o < actual.Length; o++)
                {
                    Assert.Equal(expected[i][o].Shape, actual[o].Shape);
                    Close(expected[i][o], actual[o], tol);
                }
            }
            if (!library) standalone = [.. compiled.Select(c => c.Source)];
        }
        return standalone;
    }

    private static int Count(string source, string text) => Regex.Matches(source, Regex.Escape(text)).Count;

    [Fact]
    public void ScanResidualNetworkAndItsCollapsedLaplacianAgreeWithTheInterpreter()
    {
        var shape = new Shape(5, 3);
        var x = Randn(5, 5, 3);
        var value = Tracer.Function(ScanTests.ScanNet, shape);
        var collapsed = Pde.LaplacianGraph(ScanTests.ScanNet, shape, DType.Float64, Strategy.Collapsed);
        var standard = Pde.LaplacianGraph(ScanTests.ScanNet, shape, DType.Float64, Strategy.StandardTaylor);
        var sources = AgreeWithInterpreter([value, collapsed, standard], [[x], [x], [x]]);
        // A for loop over the 3 stacked weight slices, the body one nested class.
        Assert.Contains("for (int l = 0; l < 3; l++)", sources[0]);
        Assert.Contains("private static class ScanBody", sources[0]);
        Assert.Contains("// scan over 3 steps: body = ScanBody", sources[1]);
        // Independent check of the collapsed loop: the unrolled network's Laplacian in the interpreter.
        var unrolled = Run(Pde.LaplacianGraph(ScanTests.UnrolledNet, shape, DType.Float64, Strategy.Collapsed), x)[0];
        Close(unrolled, EmittedGraph.Compile(collapsed).Run(x)[0], 1e-12);
    }

    [Fact]
    public void NeuralOdeLaplacianOverRk4ScanAndCalledVectorFieldAgreesWithTheInterpreter()
    {
        var model = new NeuralOdeModel(Dimension: 2, Hidden: 5, Steps: 6, Horizon: 0.6);
        var shape = new Shape(3, 2);
        var x = Rand(4, -1, 1, 3, 2);
        var laplacian = Pde.LaplacianGraph(model.Flow, shape, DType.Float64, Strategy.Collapsed);
        var value = Tracer.Function(model.Flow, shape);
        var sources = AgreeWithInterpreter([value, laplacian], [[x], [x]]);
        Assert.Contains("for (int l = 0; l < 6; l++)", sources[1]);
        Assert.Matches(@"Callee\d+\.Run\(", sources[1]);
        var unrolled = Run(Pde.LaplacianGraph(model.FlowUnrolled, shape, DType.Float64, Strategy.Collapsed), x)[0];
        Close(unrolled, EmittedGraph.Compile(laplacian).Run(x)[0], 1e-12);
    }

    [Fact]
    public void ACalleeIsOneClassCalledFromEverySite()
    {
        var w = Randn(1, 3, 3);
        var block = Tracer.Function(xs => Fn.Tanh(Fn.MatMul(xs[0], xs[0].Graph.Constant(w))) * xs[1] + xs[0], [new Shape(4, 3), new Shape(4, 3)]);
        Node Called(Node x) { var h = x; for (int i = 0; i < 3; i++) h = Tracer.Call(block, h, x)[0]; return Fn.Sin(h); }
        Node Inlined(Node x) { var h = x; for (int i = 0; i < 3; i++) h = Inline.Apply(block, [h, x])[0]; return Fn.Sin(h); }
        var shape = new Shape(4, 3);
        var x = Randn(2, 4, 3);
        var value = Tracer.Function(Called, shape);
        var laplacian = Pde.LaplacianGraph(Called, shape, DType.Float64, Strategy.Collapsed);
        var gradient = Vjp.Grad(Tracer.Function(v => Fn.Sum(Called(v[0])), [shape]));
        var sources = AgreeWithInterpreter([value, laplacian, gradient], [[x], [x], [x]]);
        Assert.Equal(1, Count(sources[0], "private static class Callee1"));
        Assert.Equal(3, Count(sources[0], "Callee1.Run("));
        Assert.Contains($"Body @{Subgraphs.IdOf(block)},", sources[0]);
        // The VJP of each call site is two calls of the callee's VJP (cotangents of h and of x): one run writes both.
        Assert.Equal(3, Count(sources[2], "(computed with an earlier result of the same call"));
        // Independent of calls altogether: the inlined program in the interpreter.
        Close(Run(Tracer.Function(Inlined, shape), x)[0], EmittedGraph.Compile(value).Run(x)[0], 1e-12);
        Close(Run(Pde.LaplacianGraph(Inlined, shape, DType.Float64, Strategy.Collapsed), x)[0], EmittedGraph.Compile(laplacian).Run(x)[0], 1e-12);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(-1)]
    public void GradientThroughAScanStoredOrCheckpointedAgreesWithTheInterpreter(int stride)
    {
        const int n = 5, h = 4, l = 3;
        var checkpointing = new LoopCheckpointing(stride);
        Node F(Node[] v) => Fn.Sum(Fn.Sin(Tracer.Scan((c, xs) => [c[0] + Fn.Tanh(Fn.MatMul(c[0], xs[0]) + xs[1] * 0.1)], [v[0]], [v[1], v[2]], checkpointing: checkpointing)[0]));
        var f = Tracer.Function(F, [new Shape(n, h), new Shape(l, h, h), new Shape(l, 1, h)]);
        var grad = Vjp.Grad(f);
        Assert.Equal(stride != 0, GraphWalk.Reachable(grad).Any(x => x.Op is ScanCheckpointVjpOp));
        NDArray<double>[] xs = [Randn(11, n, h), Axpy(Randn(1, l, h, h), -0.5, Randn(1, l, h, h)), Randn(2, l, 1, h)];
        var sources = AgreeWithInterpreter([grad], [xs]);
        Assert.Contains(stride == 0 ? "for (int l = 2; l >= 0; l--)" : "reverse sweep of a 3-step scan with a checkpoint", sources[0]);
        // The three cotangents (h0, W, b) are results of one backward scan: one reverse loop writes them all.
        if (stride == 0) Assert.Equal(1, Count(sources[0], "for (int l = 2; l >= 0; l--)"));
        // Independent check: central differences of f along a random direction in every input.
        var grads = EmittedGraph.Compile(grad).Run(xs);
        for (int i = 0; i < 3; i++)
        {
            var v = Randn(20 + i, [.. xs[i].Shape]);
            var vs = xs.Select((x, j) => j == i ? v : new NDArray<double>(x.Shape)).ToArray();
            Close(CentralDifference(F, xs, vs).Data[0], Dot(grads[1 + i], v), 1e-7);
        }
    }

    [Fact]
    public void ReverseScanWithStackedOutputsAndItsJetAgreeWithTheInterpreter()
    {
        var shape = new Shape(4, 3);
        Node F(Node x)
        {
            var ws = x.Graph.Constant(Randn(7, 5, 3));
            var r = Tracer.Scan((c, xs) => [c[0] * Fn.Cos(xs[0]) + 0.1, Fn.Sin(c[0]) * xs[0]], [x], [ws], reverse: true);
            return Fn.Sum(r[1], 0) + r[0];
        }
        var x = Randn(3, 4, 3);
        AgreeWithInterpreter([Tracer.Function(F, shape), Pde.LaplacianGraph(F, shape, DType.Float64, Strategy.StandardTaylor),
            Vjp.Grad(Tracer.Function(v => Fn.Sum(F(v[0])), [shape]))], [[x], [x], [x]]);
    }

    [Fact]
    public void CondPiecewiseLaplacianIsRightOnBothSides()
    {
        var inside = T(new double[,] { { 0.3, -0.2, 0.4 } });
        var outside = T(new double[,] { { 0.9, -0.7, 0.4 } });
        var shape = new Shape(1, 3);
        var graphs = new[] { Strategy.Collapsed, Strategy.StandardTaylor, Strategy.NestedFirstOrder }
            .Select(s => Pde.LaplacianGraph(PiecewiseLaplacianDemo.F, shape, DType.Float64, s)).ToArray();
        foreach (var point in new[] { inside, outside })
        {
            var sources = AgreeWithInterpreter(graphs, [.. graphs.Select(_ => new[] { point })]);
            Assert.Contains("if (p > 0) r = Then", sources[0]);
            // Against the closed form 2D cos r² − 4r² sin r² inside, 4(D + 2) r² outside.
            foreach (var g in graphs) Close(PiecewiseLaplacianDemo.Exact(point.Data), EmittedGraph.Compile(g).Run(point)[0].Data[0], 1e-12);
        }
    }

    [Fact]
    public void ANanPredicateThrowsTheInterpretersMessage()
    {
        var g = Tracer.Function(PiecewiseLaplacianDemo.F, new Shape(1, 2));
        var nan = T(new double[,] { { double.NaN, 0 } });
        var expected = Assert.ThrowsAny<InvalidOperationException>(() => Executable.Compile(g).Run(nan));
        foreach (bool library in new[] { true, false })
        {
            var actual = Assert.ThrowsAny<InvalidOperationException>(() => EmittedGraph.Compile(g, new EmitOptions { UseLibraryKernels = library }).Run(nan));
            Assert.Equal(expected.Message, actual.Message);
        }
    }

    private static Node NewtonU(Node x) => NewtonInModelDemo.SolveByWhile(NewtonInModelDemo.A(x)).Values[0];

    [Fact]
    public void NewtonWhileModelWithFirstAndSecondDerivativesAgreesWithTheInterpreter()
    {
        var shape = new Shape(4, 3);
        var x = Randn(3, 4, 3);
        var v = Randn(4, 4, 3);
        var value = Tracer.Function(NewtonU, shape);
        var gradient = Vjp.Grad(Tracer.Function(xs => Fn.Sum(NewtonU(xs[0])), [shape]));
        var laplacians = new[] { Strategy.Collapsed, Strategy.StandardTaylor, Strategy.NestedFirstOrder }
            .Select(s => Pde.LaplacianGraph(NewtonU, shape, DType.Float64, s)).ToArray();
        // Forward over reverse: the jet of the while loop's reverse sweep (a Hessian-vector product).
        var hvp = Jet.Transform(gradient, 1);
        Assert.Contains(GraphWalk.Reachable(gradient), n => n.Op is WhileSweepOp);
        var sources = AgreeWithInterpreter([value, gradient, .. laplacians, hvp], [[x], [x], [x], [x], [x], [x, v]], 1e-11);
        Assert.Contains("while (true)", sources[0]);
        Assert.Contains("if (k == 100) throw new System.InvalidOperationException", sources[0]);
        // Closed forms: z³ + z = a, z' = 1/(3z² + 1), so ∂u/∂x = z'·(2x + e₀/2).
        var z = EmittedGraph.Compile(value).Run(x)[0];
        var g = EmittedGraph.Compile(gradient).Run(x)[1];
        for (int i = 0; i < 4; i++)
        {
            double zi = z.Data[i], dz = 1 / (3 * zi * zi + 1);
            for (int d = 0; d < 3; d++)
                Close(dz * (2 * x.Data[i * 3 + d] + (d == 0 ? 0.5 : 0)), g.Data[i * 3 + d], 1e-12);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(-1)]
    public void CheckpointedWhileSweepAgreesWithTheInterpreter(int stride)
    {
        Node F(Node[] v) => Fn.Sum(Tracer.While((c, k) => 3.0 - Fn.Sum(c[0]), (c, k) => [c[0] + 0.1 * (1.0 + Fn.Sin(c[0] * k[0]))],
            [v[0]], [v[1]], maxIterations: 200, checkpointing: new LoopCheckpointing(stride)).Values[0] * v[1]);
        var grad = Vjp.Grad(Tracer.Function(F, [new Shape(3), new Shape(3)]));
        AgreeWithInterpreter([grad, Jet.Transform(grad, 1)], [[T(0.1, 0.3, -0.2), T(0.8, -0.5, 1.3)], [T(0.1, 0.3, -0.2), T(0.8, -0.5, 1.3), T(0.3, -0.1, 0.2), T(-0.4, 0.2, 0.5)]]);
    }

    [Fact]
    public void TheIterationLimitIsEnforcedWithTheInterpretersMessage()
    {
        var g = Tracer.Function(v => Tracer.While((c, k) => 10.0 - Fn.Sum(c[0]), (c, k) => [c[0] + k[0]], [v[0]], [v[1]], maxIterations: 5).Values[0],
            [new Shape(2), new Shape(2)]);
        NDArray<double>[] tooMany = [T(0, 0), T(0.1, 0.1)];
        var expected = Assert.Throws<WhileLoopException>(() => Executable.Compile(g).Run(tooMany));
        Assert.Contains("maxIterations = 5", expected.Message);
        Assert.Equal(expected.Message, Assert.Throws<WhileLoopException>(() => EmittedGraph.Compile(g).Run(tooMany)).Message);
        var standalone = Assert.Throws<InvalidOperationException>(() => EmittedGraph.Compile(g, new EmitOptions { UseLibraryKernels = false }).Run(tooMany));
        Assert.Equal(expected.Message, standalone.Message);
        // Within the limit: the same final carry (5 trips of +1 reach 10).
        NDArray<double>[] fits = [T(0, 0), T(1, 1)];
        Close(Executable.Compile(g).Run(fits)[0], EmittedGraph.Compile(g, new EmitOptions { UseLibraryKernels = false }).Run(fits)[0], 0);
    }

    private const string Begin = "<!-- codegen-scan-listing:begin -->";
    private const string End = "<!-- codegen-scan-listing:end -->";

    /// <summary>A residual network of 20 blocks h ← h + tanh(h·W_l + b_l) over stacked weights, D = 2, H = 2, at 3 points.</summary>
    private static Node ResidualScan(Node x)
    {
        var g = x.Graph;
        var h0 = Fn.Tanh(Fn.MatMul(x, g.Constant(Randn(1, 2, 2))));
        var weights = g.Constant(Axpy(Randn(2, 20, 2, 2), -0.7, Randn(2, 20, 2, 2)));
        var biases = g.Constant(Randn(3, 20, 1, 2));
        var h = Tracer.Scan((c, xs) => [c[0] + Fn.Tanh(Fn.MatMul(c[0], xs[0]) + xs[1])], [h0], [weights, biases])[0];
        return Fn.MatMul(h, g.Constant(Randn(4, 2, 1)));
    }

    /// <summary>
    /// The scan's block of the standalone code for the collapsed Laplacian of <see cref="ResidualScan"/>, and the head of
    /// its body's class; body ids (@n, process-wide counters) renumbered in order of appearance so the text is stable.
    /// </summary>
    internal static string ScanListing()
    {
        var graph = Pde.LaplacianGraph(ResidualScan, new Shape(3, 2), DType.Float64, Strategy.Collapsed);
        var lines = CSharpEmitter.Emit(graph, new EmitOptions { ClassName = "ResidualLaplacian", OutputNames = ["laplacian"] }).Split('\n');
        int start = Array.FindIndex(lines, l => l.Contains("= scan["));
        int end = Array.FindIndex(lines, start, l => l == "        }");
        int cls = Array.FindIndex(lines, l => l.StartsWith("    private static class ScanBody", StringComparison.Ordinal));
        var text = string.Join("\n", lines[start..(end + 1)]) + "\n        // …\n\n" + string.Join("\n", lines[(cls - 1)..(cls + 8)])
            + "\n            // …\n        }\n    }\n";
        var ids = new Dictionary<string, int>();
        return Regex.Replace(text, @"@(\d+)", m => "@" + (ids.TryGetValue(m.Value, out var k) ? k : ids[m.Value] = ids.Count + 1));
    }

    [Fact]
    public void TheScanListingInTheDocsIsWhatTheEmitterWrites()
    {
        CodeGenDocTests.AssertGeneratedListing(Begin, End, ScanListing(), "scan listing");
        // The listed code computes the Laplacian that nested first-order AD through the scan gives in the interpreter (another strategy).
        var x = Randn(6, 3, 2);
        var emitted = EmittedGraph.Compile(Pde.LaplacianGraph(ResidualScan, new Shape(3, 2), DType.Float64, Strategy.Collapsed),
            new EmitOptions { UseLibraryKernels = false }).Run(x)[0];
        Close(Run(Pde.LaplacianGraph(ResidualScan, new Shape(3, 2), DType.Float64, Strategy.NestedFirstOrder), x)[0], emitted, 1e-10);
    }

    [Fact]
    public void AnExportedScanModelCompilesWithTheBclAloneAndMatchesTheInterpreter()
    {
        var shape = new Shape(5, 3);
        var x = Randn(5, 5, 3);
        var graph = Pde.LaplacianGraph(ScanTests.ScanNet, shape, DType.Float64, Strategy.Collapsed);
        var path = Path.Combine(Path.GetTempPath(), $"jetsharp-export-scan-{Guid.NewGuid():N}.cs");
        try
        {
            CSharpExport.WriteFile(graph, path, new EmitOptions { ClassName = "ResidualLaplacian", Namespace = "Exported", OutputNames = ["laplacian"] });
            var source = File.ReadAllText(path);
            Assert.Contains("for (int l = 0; l < 3; l++)", source);
            var type = CodeGenExportTests.CompileWithBclOnly(source).GetType("Exported.ResidualLaplacian")!;
            var actual = (double[])type.GetMethod("Evaluate")!.Invoke(null, [x.ToArray()])!;
            var expected = Run(graph, x)[0];
            Close(expected, NDArray.FromArray(actual, expected.Shape), 1e-12);
            Assert.True(MaxAbs(expected) > 1e-3);
        }
        finally { File.Delete(path); }
    }
}
