using JetSharp.Jacobians;
using JetSharp.Examples.Jacobians;

namespace JetSharp.Tests.Jacobians;

public class JacobianTests
{
    public static TheoryData<string> Benchmarks => [.. JacobianBenchmarks.All.Select(b => b.Name)];

    [Theory]
    [MemberData(nameof(Benchmarks))]
    public void EveryOrderAgreesWithForwardModeReverseModeAndFiniteDifferences(string name)
    {
        var bench = JacobianBenchmarks.Get(name);
        var x = bench.SamplePoints(5, 11);
        var lf = LinearizedFunction.Trace(bench.Function, bench.Inputs, 5);
        var forward = JacobianAccumulator.ForwardMode(bench.Function, x);
        var reverse = JacobianAccumulator.ReverseMode(bench.Function, x);
        var fd = FiniteDifferences.Jacobian(bench.Function, x);
        TestUtil.Close(forward, reverse, 1e-12);
        TestUtil.Close(forward, fd, 1e-12);

        var rng = new Random(2);
        var orders = new List<EliminationOrder>
        {
            EliminationOrder.Forward, EliminationOrder.Reverse, EliminationOrder.Markowitz,
            EliminationOrder.Optimized(new OptimizerOptions { MaxEvaluations = 2_000, Threads = 1 }),
            EliminationOrder.Custom(lf.Structure.IntermediateVertices.OrderBy(_ => rng.Next()), "random"),
        };
        foreach (var order in orders)
        {
            var r = JacobianAccumulator.Jacobian(lf, x, order);
            Assert.Equal(new Shape(5, bench.Outputs, bench.Inputs), r.Value.Shape);
            TestUtil.Close(forward, r.Value, 1e-12);
            TestUtil.Close(reverse, r.Value, 1e-12);
            TestUtil.Close(fd, r.Value, 1e-12);
            Assert.Equal(r.Steps.Sum(s => (long)s.Multiplications), r.Multiplications);
            Assert.Equal(Elimination.Count(lf.Structure, r.Order), r.Multiplications);
            Assert.Equal(order.Name, r.OrderName);
        }
    }

    [Fact]
    public void TracingTheFunctionAgainGivesTheSameJacobian()
    {
        var x = RoeFlux.SamplePoints(3, 5);
        var viaFunction = JacobianAccumulator.Jacobian(RoeFlux.Flux, x, EliminationOrder.Markowitz);
        var lf = LinearizedFunction.Trace(RoeFlux.Flux, 6, 3);
        Assert.Equal(Elimination.Count(lf.Structure, EliminationOrder.Markowitz.For(lf.Structure)), viaFunction.Multiplications);
        TestUtil.Close(JacobianAccumulator.ForwardMode(RoeFlux.Flux, x), viaFunction.Value, 1e-12);
    }

    [Fact]
    public void SquaresUnitEdgesAndEdgeCasesOfOutputs()
    {
        // y0 = x0·x0 (one edge with label 2x0), y1 = x1 (an input as output), y2 = s and y3 = s·x2 where s = sin(x0) + x1
        // (an output used by another output), y4 = y3 again (a repeated output), y5 a constant; x3 is unused.
        static Node[] F(Node[] x)
        {
            var s = Fn.Sin(x[0]) + x[1];
            var t = s * x[2];
            return [x[0] * x[0], x[1], s, t, t, Fn.BroadcastTo(x[0].Graph.Scalar(2), x[0].Shape)];
        }
        var x = TestUtil.Randn(3, 4, 4);
        var lf = LinearizedFunction.Trace(F, 4, 4);
        var g = lf.Structure;
        Assert.Equal(4, g.Independents);
        Assert.Equal(6, g.Dependents);
        // Vertices: sin, s (used by t and an output), t (output twice) are intermediates; y0 = x0·x0 is a dependent itself.
        Assert.Equal(3, g.Intermediates);
        Assert.Empty(g.Successors(3));
        Assert.Empty(g.Predecessors(g.VertexCount - 1));
        var expected = JacobianAccumulator.ForwardMode(F, x);
        TestUtil.Close(expected, JacobianAccumulator.ReverseMode(F, x), 1e-12);
        foreach (var order in new[] { EliminationOrder.Forward, EliminationOrder.Reverse, EliminationOrder.Markowitz })
            TestUtil.Close(expected, JacobianAccumulator.Jacobian(lf, x, order).Value, 1e-12);
        var j = JacobianAccumulator.Jacobian(lf, x, EliminationOrder.Forward).Value;
        for (int k = 0; k < 4; k++)
        {
            Assert.Equal(2 * x[k, 0], j[k, 0, 0]);
            Assert.Equal(1.0, j[k, 1, 1]);
            Assert.Equal(0.0, j[k, 5, 0]);
        }
    }

    [Fact]
    public void AFunctionWithoutEdgesHasAZeroJacobianAtEveryPoint()
    {
        static Node[] F(Node[] x) => [Fn.BroadcastTo(x[0].Graph.Scalar(3), x[0].Shape)];
        var r = JacobianAccumulator.Jacobian(F, TestUtil.Randn(1, 4, 2), EliminationOrder.Markowitz);
        Assert.Equal(new Shape(4, 1, 2), r.Value.Shape);
        Assert.All(r.Value.Data, v => Assert.Equal(0.0, v));
        Assert.Equal(0, r.Multiplications);
    }

    [Fact]
    public void StructurallyZeroPartialsGiveNoEdge()
    {
        // step(x) has derivative zero by its rule: y = step(x0)·x1 depends on x0 through no edge.
        static Node[] F(Node[] x) => [Fn.Step(x[0]) * x[1]];
        var lf = LinearizedFunction.Trace(F, 2, 3);
        Assert.Single(lf.Structure.Edges, e => e.From == 1);
        Assert.DoesNotContain(lf.Structure.Edges, e => e.From == 0);
    }

    [Fact]
    public void BadInputsAreRejectedWithTheOperationAndShapes()
    {
        static Node[] SumsOverPoints(Node[] x) => [Fn.Sum(x[0]) * x[1]];
        var e = Assert.Throws<ShapeException>(() => LinearizedFunction.Trace(SumsOverPoints, 2, 3));
        Assert.Contains("sum", e.Message);
        Assert.Contains("[3]", e.Message);

        var badPoints = Assert.Throws<ShapeException>(() => JacobianAccumulator.Jacobian(RoeFlux.Flux, TestUtil.Randn(1, 6), EliminationOrder.Forward));
        Assert.Contains("[N, n]", badPoints.Message);
        var lf = LinearizedFunction.Trace(RoeFlux.Flux, 6, 4);
        var wrongCount = Assert.Throws<ShapeException>(() => JacobianAccumulator.Jacobian(lf, RoeFlux.SamplePoints(3, 1), EliminationOrder.Forward));
        Assert.Contains("[4, 6]", wrongCount.Message);
        var wrongArity = Assert.Throws<ArgumentException>(() => JacobianAccumulator.Jacobian(RoeFlux.Flux, TestUtil.Randn(1, 2, 5), EliminationOrder.Forward));
        Assert.Contains("Roe flux: expects 6 inputs", wrongArity.Message);
        var badOrder = Assert.Throws<ArgumentException>(() => JacobianAccumulator.Jacobian(lf, RoeFlux.SamplePoints(4, 1), EliminationOrder.Custom([0, 1])));
        Assert.Contains("independent", badOrder.Message);

        var float32 = Tracer.Function(xs => [xs[0] * xs[0]], [new Shape(3)], DType.Float32);
        Assert.Contains("float64", Assert.Throws<ArgumentException>(() => LinearizedFunction.FromGraph(float32)).Message);
        var matrix = Tracer.Function(xs => [xs[0] * xs[0]], [new Shape(3, 2)]);
        Assert.Contains("columns of shape [N]", Assert.Throws<ShapeException>(() => LinearizedFunction.FromGraph(matrix)).Message);
        Assert.Throws<ArgumentException>(() => JacobianBenchmarks.Get("nope"));
    }
}

/// <summary>Finite differences accurate enough to compare at 1e-12: an eighth-order central stencil.</summary>
internal static class FiniteDifferences
{
    // f'(x) ≈ Σ_k c_k (f(x + k h) − f(x − k h)) / h, k = 1..4.
    private static readonly double[] Coefficients = [4.0 / 5, -1.0 / 5, 4.0 / 105, -1.0 / 280];

    /// <summary>∂f/∂x at each row of x ([N, n]) → [N, m, n], with step h·max(1, |x_i|).</summary>
    public static NDArray<double> Jacobian(Func<Node[], Node[]> f, NDArray<double> x, double h = 1e-2)
    {
        int points = x.Shape[0], n = x.Shape[1];
        // All shifted copies of all points in one evaluation: row ((i·8 + s)·N + k) is point k with input i shifted by offset s.
        int shifts = 2 * Coefficients.Length, rows = n * shifts * points;
        var shifted = new NDArray<double>(new Shape(rows, n));
        for (int i = 0; i < n; i++)
            for (int s = 0; s < shifts; s++)
                for (int k = 0; k < points; k++)
                {
                    int row = (i * shifts + s) * points + k;
                    for (int c = 0; c < n; c++) shifted.Data[row * n + c] = x.Data[k * n + c];
                    shifted.Data[row * n + i] += Offset(s) * Step(x.Data[k * n + i], h);
                }
        var columns = Enumerable.Range(0, n).Select(c => new NDArray<double>(new Shape(rows), [.. Enumerable.Range(0, rows).Select(r => shifted.Data[r * n + c])])).ToArray();
        var g = Tracer.Function(f, [.. Enumerable.Repeat(new Shape(rows), n)]);
        var y = Runtime.Executable.Compile(g).Run(columns);
        int m = y.Length;
        var j = new NDArray<double>(new Shape(points, m, n));
        for (int a = 0; a < m; a++)
        {
            var ya = (NDArray<double>)y[a];
            for (int i = 0; i < n; i++)
                for (int k = 0; k < points; k++)
                {
                    double sum = 0;
                    for (int q = 0; q < Coefficients.Length; q++)
                    {
                        double plus = ya.Data[(i * shifts + 2 * q) * points + k], minus = ya.Data[(i * shifts + 2 * q + 1) * points + k];
                        sum += Coefficients[q] * (plus - minus);
                    }
                    j.Data[(k * m + a) * n + i] = sum / Step(x.Data[k * n + i], h);
                }
        }
        return j;
    }

    private static int Offset(int s) => (s % 2 == 0 ? 1 : -1) * (s / 2 + 1);

    private static double Step(double xi, double h) => h * Math.Max(1, Math.Abs(xi));
}
