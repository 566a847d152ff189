using JetSharp.CodeGen;
using JetSharp.Examples;
using JetSharp.Nn;
using JetSharp.Nn.Pinn;
using JetSharp.Runtime;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Per-point regions of compiled code (one loop over blocks of points instead of one pass per node) compute what
/// the interpreter computes — an independent implementation (whole-tensor kernels, fused trees, the library GEMM)
/// — and what the node-by-node compiled code computes, on the PINN training steps and on graphs built to reach the
/// planner's edge cases; and the regions are really used (the source names them).
/// </summary>
public class PerPointRegionTests
{
    private static int Regions(EmittedGraph g) => g.Source.Split("private static void PerPointRegion").Length - 1;

    private static void AgreesWithInterpreterAndNodeByNode(Graph g, NDArray<double>[] inputs, int minRegions)
    {
        var expected = Executable.Compile(g).Run(inputs);
        var fused = EmittedGraph.Compile(g, new EmitOptions { ClassName = "Fused" });
        var plain = EmittedGraph.Compile(g, new EmitOptions { ClassName = "Plain", PerPointLoops = false });
        Assert.True(Regions(fused) >= minRegions, $"expected at least {minRegions} per-point region(s):\n{fused.Source}");
        Assert.Equal(0, Regions(plain));
        var actual = fused.Run(inputs);
        var nodeByNode = plain.Run(inputs);
        for (int i = 0; i < expected.Length; i++)
        {
            Close(expected[i], actual[i], 1e-12);
            Close(nodeByNode[i], actual[i], 1e-12);
        }
        // The same inputs again: per-thread blocks and partial sums are reset on every call.
        var again = fused.Run(inputs);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(actual[i].Data, again[i].Data);
    }

    public static TheoryData<string> Steps => ["poisson2d", "heat", "plate"];

    [Theory]
    [MemberData(nameof(Steps))]
    public void TrainingStepsOfThePinnExamplesRunInPerPointRegions(string name)
    {
        // Loss and ∂loss/∂θ at the example's points (the benchmark's sizes): the interior points are one region, the
        // boundary (and initial) points at least one more.
        var example = (PinnExample)ExampleCatalog.Find(name);
        var problem = example.Build<double>(example.Config(false), Strategy.Collapsed, 0);
        var theta = example.InitialParameters<double>(false);
        problem.Resample(0, theta);
        AgreesWithInterpreterAndNodeByNode(problem.GradientGraph,
            [.. problem.Points, .. ParameterVector.Unflatten<double>(theta, problem.ParameterShapes)], minRegions: 2);
    }

    [Fact]
    public void ThePoisson2dStepOfTheBenchmarkRunsAsTwoRegionsSplitIntoChunks()
    {
        var (problem, theta) = JetSharp.Benchmarks.JacobianBenchmark.Poisson2d();
        var g = problem.GradientGraph;
        var emitted = EmittedGraph.Compile(g);
        // 256 interior points in blocks of 16 on two cores; the weight gradients are accumulated per chunk.
        Assert.Contains("over 256 points in blocks of 16, 2 chunks", emitted.Source);
        // The 64 boundary points read nothing of the interior region: split the same way, they run in the same call.
        Assert.Contains("over 64 points in blocks of 16, 2 chunks", emitted.Source);
        Assert.Contains("PointKernels.ForChunks(2, PerPointRegions0And1, ", emitted.Source);
        Assert.Contains("PointKernels.AddTransposedProduct", emitted.Source);
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            // Elementwise nodes share fused loops (tanh among them), and some values live only in registers.
            Assert.Contains("(in the loop below as tanh", emitted.Source);
            Assert.Contains("read only there: no block array", emitted.Source);
            Assert.Contains("PointKernels.Tanh(", emitted.Source);
        }
        AgreesWithInterpreterAndNodeByNode(g, [.. problem.Points, .. ParameterVector.Unflatten<double>(theta, problem.ParameterShapes)], minRegions: 2);
    }

    [Theory]
    [InlineData(12, 48)]   // a bias of 12 per row: not a whole number of vectors, those nodes stay out of the fused loops
    [InlineData(20, 40)]   // blocks of 10 points × 20 = 200 elements, bias rows of 20
    [InlineData(16, 24)]   // blocks of 12 points; bias rows of 16 (two vectors, the period of the repeated loads)
    public void FusedLoopsAgreeOnWidthsThatAreNotMultiplesOfTheVector(int width, int points)
    {
        var net = Mlp.Create(2, [width, width], 1, Activation.Tanh, seed: 3);
        var f = EmittedGraphTests.MlpWithParameters(net, points);
        var lap = DifferentialOperator.Laplacian().Build(f, Strategy.Collapsed);
        var loss = Tracer.Function(xs => [Fn.Sum(Fn.Square(JetSharp.Transforms.Inline.Apply(lap, xs)[0]))], [.. lap.Inputs.Select(i => i.Shape)]);
        var grad = Vjp.Grad(loss);
        NDArray<double>[] inputs = [Randn(1, points, 2), .. net.Parameters.Cast<NDArray<double>>()];
        AgreesWithInterpreterAndNodeByNode(grad, inputs, minRegions: 1);
    }

    [Theory]
    [InlineData(48)]    // blocks of 16
    [InlineData(100)]   // blocks of 10
    [InlineData(37)]    // prime: no block size divides it, no region
    public void CollapsedLaplacianAndParameterGradientOfAnMlpAgree(int points)
    {
        var net = Mlp.Create(3, [16, 16], 1, Activation.Tanh, seed: 5);
        var f = EmittedGraphTests.MlpWithParameters(net, points);
        var lap = DifferentialOperator.Laplacian().Build(f, Strategy.Collapsed);
        // A loss of the Laplacian and its gradient with respect to every input (points and weights).
        var loss = Tracer.Function(xs => [Fn.Sum(Fn.Square(JetSharp.Transforms.Inline.Apply(lap, xs)[0]))], [.. lap.Inputs.Select(i => i.Shape)]);
        var grad = Vjp.Grad(loss);
        NDArray<double>[] inputs = [Randn(1, points, 3), .. net.Parameters.Cast<NDArray<double>>()];
        AgreesWithInterpreterAndNodeByNode(grad, inputs, minRegions: points == 37 ? 0 : 1);
    }

    [Fact]
    public void AnOddNumberOfBlocksSplitIntoTwoChunksCoversEveryBlock()
    {
        // 80 points = 5 blocks of 16, enough products for two chunks: chunk 0 takes blocks 0–1, chunk 1 blocks 2–4 (an
        // even split of 5 blocks used to drop the last one).
        var net = Mlp.Create(3, [32, 32], 1, Activation.Tanh, seed: 6);
        var f = EmittedGraphTests.MlpWithParameters(net, 80);
        var lap = DifferentialOperator.Laplacian().Build(f, Strategy.Collapsed);
        var loss = Tracer.Function(xs => [Fn.Sum(Fn.Square(JetSharp.Transforms.Inline.Apply(lap, xs)[0]))], [.. lap.Inputs.Select(i => i.Shape)]);
        var grad = Vjp.Grad(loss);
        Assert.Contains("over 80 points in blocks of 16, 2 chunks", EmittedGraph.Compile(grad).Source);
        AgreesWithInterpreterAndNodeByNode(grad, [Randn(1, 80, 3), .. net.Parameters.Cast<NDArray<double>>()], minRegions: 1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ASecondRegionRunsInTheFirstOnesCallOnlyWhenItReadsNothingOfIt(bool readsTheFirst)
    {
        // Two 64-wide layers at 256 points (two chunks), then a layer at 48 other points (three blocks) whose bias is either a parameter
        // or the mean of the first region's output over its points (a reduction of the first region).
        var g = Tracer.Function(xs =>
        {
            var h = Fn.Tanh(Fn.MatMul(Fn.Tanh(Fn.MatMul(xs[0], xs[1]) * 0.125), xs[2]) * 0.125);
            var bias = readsTheFirst ? Fn.Sum(h, [0], keepDims: true) * (1.0 / 256) : xs[4];
            var z = Fn.Tanh(Fn.MatMul(xs[3], xs[1]) + bias);
            return [Fn.Sum(h * h), Fn.Sum(z * z)];
        }, [new Shape(256, 64), new Shape(64, 64), new Shape(64, 64), new Shape(48, 64), new Shape(1, 64)]);
        NDArray<double>[] inputs = [Randn(1, 256, 64), Randn(2, 64, 64), Randn(3, 64, 64), Randn(4, 48, 64), Randn(5, 1, 64)];
        var source = EmittedGraph.Compile(g).Source;
        Assert.Contains("over 256 points in blocks of 16, 2 chunks", source);
        Assert.Equal(!readsTheFirst, source.Contains("PointKernels.ForChunks(2, PerPointRegions0And1, "));
        AgreesWithInterpreterAndNodeByNode(g, inputs, minRegions: 2);
    }

    [Fact]
    public void ValuesReadAfterAReductionOverThePointsAreWrittenOutAndAgree()
    {
        // y = (h − mean_points h)·W2 with h = tanh(x·W1 + b): the mean needs every point, so h leaves the first region
        // whole and the centring runs after it; a second region (or node-by-node code) takes the rest.
        var g = Tracer.Function(xs =>
        {
            var h = Fn.Tanh(Fn.MatMul(xs[0], xs[1]) + xs[2]);
            var mean = Fn.Sum(h, [0], keepDims: true) * (1.0 / 64);
            var y = Fn.MatMul(h - mean, xs[3]);
            return [Fn.Sum(y * y), h];
        }, [new Shape(64, 4), new Shape(4, 8), new Shape(8), new Shape(8, 3)]);
        AgreesWithInterpreterAndNodeByNode(g, [Randn(1, 64, 4), Randn(2, 4, 8), Randn(3, 8), Randn(4, 8, 3)], minRegions: 1);
    }

    [Fact]
    public void CheapPolynomialsReadBySeveralLoopsAreRecomputedAndAgree()
    {
        // p = 1 − t² is read by three elementwise nodes in different loops (after a product each): it is recomputed from
        // t in each of them (no block array of its own); q = p·t + 2 is read twice too. s = t·t·t·t·t is too long to
        // recompute (5 multiplications) and is stored.
        var g = Tracer.Function(xs =>
        {
            var t = Fn.Tanh(Fn.MatMul(xs[0], xs[1]) + xs[2]);
            var p = 1.0 - t * t;
            var q = p * t + 2.0;
            var s = t * t * t * t * t;
            var u = Fn.Tanh(Fn.MatMul(p * t, xs[3]));
            var w = Fn.MatMul(u * p + q, xs[3]);
            var y = Fn.MatMul(w * p - q * s, xs[3]);
            return [Fn.Sum(y * y + s * u)];
        }, [new Shape(48, 3), new Shape(3, 16), new Shape(16), new Shape(16, 16)]);
        var grad = Vjp.Grad(g);
        var weight = Randn(4, 16, 16);
        for (int i = 0; i < weight.Size; i++) weight.Data[i] *= 0.25;
        NDArray<double>[] inputs = [Randn(1, 48, 3), Randn(2, 3, 16), Randn(3, 16), weight];
        var emitted = EmittedGraph.Compile(grad);
        Assert.Contains("(recomputed inside the loops of", emitted.Source);
        AgreesWithInterpreterAndNodeByNode(grad, inputs, minRegions: 1);
        // Against central differences of the loss in one weight (an independent check of the gradient).
        var loss = Executable.Compile(g);
        double Loss(double w) { var x = inputs.Select(a => a.Clone()).ToArray(); x[3].Data[5] = w; return loss.Run(x)[0].Data[0]; }
        double w0 = inputs[3].Data[5], h = 1e-6;
        double fd = (Loss(w0 + h) - Loss(w0 - h)) / (2 * h);
        Assert.Equal(fd, emitted.Run(inputs)[4].Data[5], 1e-5 * Math.Max(1, Math.Abs(fd)));
    }

    [Theory]
    [InlineData(16)]   // two 512-bit vectors per row: register sums, operands computed inline (a bias-like operand stays stored)
    [InlineData(12)]   // not whole vectors: element loops
    public void SumsWithinPointsAndOverPointsAgreeWhetherAddedInRegistersOrNot(int width)
    {
        // Two "directions" a = z ⊙ c (c [2, 1, width]): sums over the directions within each point of an operand computed
        // inline (a², a ⊙ c), and sums over the points with the directions kept ([2, width], an output) or summed too.
        var g = Tracer.Function(xs =>
        {
            var z = Fn.Tanh(Fn.MatMul(xs[0], xs[1]));
            var a = z * xs[2];
            var s1 = Fn.Sum(a * a, [0]);
            var s2 = Fn.Sum(a * xs[2], [0]);
            var r1 = Fn.Sum(a * z, [1]);
            var r2 = Fn.Sum(a * (z + 1.0), [0, 1]);
            var y = Fn.MatMul(s1 * s2, xs[3]);
            return [Fn.Sum(y * y), r1, r2];
        }, [new Shape(64, 3), new Shape(3, width), new Shape(2, 1, width), new Shape(width, 4)]);
        var emitted = EmittedGraph.Compile(g);
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated && width % 8 == 0)
            Assert.Contains("> s = ", emitted.Source);
        AgreesWithInterpreterAndNodeByNode(g, [Randn(1, 64, 3), Randn(2, 3, width), Randn(3, 2, 1, width), Randn(4, width, 4)], minRegions: 1);
        // r1 against a plain loop over the interpreter's inputs: Σ_b tanh(x·W)[b, j]² · c[d, j].
        var x = Randn(1, 64, 3); var wgt = Randn(2, 3, width); var c = Randn(3, 2, 1, width);
        var r1 = emitted.Run([x, wgt, c, Randn(4, width, 4)])[1];
        for (int d = 0; d < 2; d++)
            for (int j = 0; j < width; j++)
            {
                double sum = 0;
                for (int b = 0; b < 64; b++)
                {
                    double zz = 0;
                    for (int k = 0; k < 3; k++) zz += x.Data[b * 3 + k] * wgt.Data[k * width + j];
                    zz = Math.Tanh(zz);
                    sum += zz * zz * c.Data[d * width + j];
                }
                Assert.Equal(sum, r1.Data[d * width + j], 1e-12 * Math.Max(1, Math.Abs(sum)));
            }
    }

    [Fact]
    public void Float32StepsRunInRegionsAndAgreeWithTheFloat32Interpreter()
    {
        var net = Mlp.Create(2, [32, 32], 1, Activation.Tanh, seed: 7, dtype: DType.Float32);
        var f = Tracer.Function(xs => [net.Apply(xs[1..], xs[0])], [new Shape(64, 2), .. net.ParameterShapes], DType.Float32);
        var lap = DifferentialOperator.Laplacian().Build(f, Strategy.Collapsed);
        var loss = Tracer.Function(xs => [Fn.Sum(Fn.Square(JetSharp.Transforms.Inline.Apply(lap, xs)[0]))], [.. lap.Inputs.Select(i => i.Shape)], DType.Float32);
        var grad = Vjp.Grad(loss);
        NDArray<float>[] inputs = [NDArray.RandomUniform<float>(new Shape(64, 2), 3, -1, 1), .. net.Parameters.Cast<NDArray<float>>()];
        var expected = Executable.Compile(grad).Run<float>(inputs);
        var emitted = EmittedGraph.Compile(grad);
        Assert.True(Regions(emitted) >= 1, emitted.Source);
        Assert.Contains("float[] block0", emitted.Source);
        var actual = emitted.Run(inputs);
        for (int i = 0; i < expected.Length; i++)
        {
            float scale = Math.Max(1, expected[i].Data.Max(Math.Abs));
            for (int j = 0; j < expected[i].Size; j++)
                Assert.True(Math.Abs(expected[i].Data[j] - actual[i].Data[j]) <= 1e-4f * scale,
                    $"output {i}[{j}]: interpreter {expected[i].Data[j]}, emitted {actual[i].Data[j]}");
        }
    }
}
