using Xunit.Abstractions;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Issue 15, defect 7: the exact Laplacian along the standard basis never holds a dense D×D basis
/// (e_d·W is row d of W, a rewrite the simplifier applies), and an evaluation that cannot fit in memory is
/// refused before anything is allocated, with a message naming the operator, D, the bytes and the
/// stochastic alternative.
/// </summary>
public class LargeDimensionTests(ITestOutputHelper output)
{
    /// <summary>tanh(x·W + b)·c for W [D, H]: Δf = Σ_h c_h·tanh''(z_h)·‖W[:, h]‖², tanh'' = −2 tanh·(1 − tanh²).</summary>
    private static (Func<Node, Node> F, Func<double[], double> Laplacian) TanhLayer(int d, int h, long seed)
    {
        var w = NDArray.RandomNormal<double>(new Shape(d, h), seed);
        var b = NDArray.RandomNormal<double>(new Shape(h), seed + 1);
        var c = NDArray.RandomNormal<double>(new Shape(h, 1), seed + 2);
        for (int i = 0; i < w.Data.Length; i++) w.Data[i] /= Math.Sqrt(d);
        Node F(Node v) => Fn.MatMul(Fn.Tanh(Fn.MatMul(v, v.Graph.Constant(w)) + v.Graph.Constant(b)), v.Graph.Constant(c));
        double Lap(double[] x)
        {
            double total = 0;
            for (int k = 0; k < h; k++)
            {
                double z = b.Data[k], norm2 = 0;
                for (int i = 0; i < d; i++) { z += x[i] * w.Data[i * h + k]; norm2 += w.Data[i * h + k] * w.Data[i * h + k]; }
                double t = Math.Tanh(z);
                total += c.Data[k] * (-2 * t * (1 - t * t)) * norm2;
            }
            return total;
        }
        return (F, Lap);
    }

    [Fact]
    public void ExactLaplacianOfA47000DimensionalInputHoldsNoDenseBasis()
    {
        const int d = 47000;   // the example: a dense basis would be 17.7 GB (and more than 2^31 elements)
        var (f, lap) = TanhLayer(d, 3, 10);
        var x = Randn(11, 2, d);
        var compiled = DifferentialOperator.Laplacian().Compile(f, x.Shape);
        // Nothing of D² elements in the finished graph (the basis would be [D, 1, D] or [D, N, D]).
        Assert.All(compiled.Graph.Nodes, n => Assert.True(Elements(n.Shape) < (double)d * d, $"%{n.Id} {n.Op} {n.Shape}"));
        var r = compiled.Run(x);
        for (int n = 0; n < 2; n++)
            Assert.Equal(lap(x.Data.AsSpan(n * d, d).ToArray()), r.Data[n], 1e-12);
    }

    [Fact]
    public void StandardBasisIsStructuralNotAStoredMatrix()
    {
        // Even unsimplified (standard Taylor), the graph holds no D×D constant: the basis is an identity node.
        const int d = 300;
        var (f, lap) = TanhLayer(d, 2, 12);
        var g = DifferentialOperator.Laplacian().Build(Tracer.Function(f, new Shape(2, d)), Strategy.StandardTaylor, simplify: false);
        Assert.DoesNotContain(g.Nodes, n => n.Op is ConstantOp && Elements(n.Shape) >= (double)d * d);
        Assert.Contains(g.Nodes, n => n.Op is IdentityMatrixOp);
        // Collapsed: the identity is gone entirely (I·W became W).
        var collapsed = DifferentialOperator.Laplacian().Build(Tracer.Function(f, new Shape(2, d)));
        Assert.DoesNotContain(GraphWalk.Reachable(collapsed), n => n.Op is IdentityMatrixOp);
        var x = Randn(13, 2, d);
        foreach (var s in OperatorTestUtil.AllStrategies)
        {
            var r = Pde.Laplacian(f, x, s);
            for (int n = 0; n < 2; n++) Assert.Equal(lap(x.Data.AsSpan(n * d, d).ToArray()), r.Data[n], 1e-12);
        }
    }

    [Fact]
    public void ValueGradientLaplacianUsesTheStructuralBasis()
    {
        const int d = 5000;
        var (f, lap) = TanhLayer(d, 2, 14);
        var x = Randn(15, 1, d);
        var g = ValueGradientLaplacian.Build(Tracer.Function(f, x.Shape));
        Assert.All(g.Nodes, n => Assert.True(Elements(n.Shape) < (double)d * d, $"%{n.Id} {n.Op} {n.Shape}"));
        var (_, _, l) = ValueGradientLaplacian.Evaluate(f, x);
        Assert.Equal(lap(x.Data), l.Data[0], 1e-12);
    }

    [Theory]
    [InlineData("StandardTaylor")]
    [InlineData("NestedFirstOrder")]
    public void HugeDimensionIsRefusedBeforeAllocating(string strategy)
    {
        // D = 2^20: the unsimplified strategies hold the basis [D, 1, D] = 8.8 TB. The refusal must come before
        // anything of that size exists (the test process would die otherwise).
        const int d = 1 << 20;
        var (f, _) = TanhLayer(d, 1, 16);
        var x = new NDArray<double>(new Shape(1, d));
        var e = Assert.Throws<InsufficientMemoryException>(() => Pde.Laplacian(f, x, Strategy.FromName(strategy)));
        output.WriteLine(e.Message);
        Assert.Contains("Laplacian (exact)", e.Message);
        Assert.Contains($"D = {d}", e.Message);
        Assert.Contains("bytes", e.Message);
        Assert.Contains("Estimate.Stochastic", e.Message);
        Assert.Contains("Nothing was allocated", e.Message);
    }

    [Fact]
    public void HugeDimensionOfAnElementwiseFunctionIsRefused()
    {
        // Σ sin(x_i) applies sin to x itself: the directions cannot be folded into a weight, so even the collapsed
        // graph holds [D, N, D] tensors. With D = 2^20 that is refused, naming D and the stochastic estimate.
        const int d = 1 << 20;
        var x = new NDArray<double>(new Shape(1, d));
        var e = Assert.Throws<InsufficientMemoryException>(() => Pde.Laplacian(v => Fn.Sum(Fn.Sin(v), 1, keepDims: true), x));
        output.WriteLine(e.Message);
        Assert.Contains($"D = {d}", e.Message);
        Assert.Contains("Estimate.Stochastic", e.Message);
    }

    [Fact]
    public void ShapesBeyondAnyTensorAreRefusedWhileBuilding()
    {
        // A reshape of x makes the jet reshape [D, N, D] tangents: the shape itself (2^41 elements) cannot be sized,
        // which surfaces while the graph is built. That too is the memory refusal, naming the operator and D.
        const int d = 1 << 20;
        var x = new NDArray<double>(new Shape(2, d));
        Node F(Node v) => Fn.Sum(Fn.Sin(Fn.Reshape(v, v.Shape[0], d, 1)), [1, 2]);
        var e = Assert.Throws<InsufficientMemoryException>(() => Pde.Laplacian(F, x));
        output.WriteLine(e.Message);
        Assert.Contains("Laplacian (exact)", e.Message);
        Assert.Contains($"D = {d}", e.Message);
        Assert.Contains("2^31 elements", e.Message);
        Assert.Contains("Estimate.Stochastic", e.Message);
        e = Assert.Throws<InsufficientMemoryException>(() => ValueGradientLaplacian.Evaluate(F, x));
        Assert.Contains("ValueGradientLaplacian", e.Message);
    }

    [Fact]
    public void TheStochasticAlternativeRunsAtHugeDimension()
    {
        // What the refusal recommends: memory grows with S, not D. Δ Σ sin(x_i) = −Σ sin(x_i); Hutchinson with
        // Rademacher directions is exact for a diagonal Hessian (v_i² = 1).
        const int d = 1 << 16;   // beyond 46340: the exact [D, 1, D] basis would have more than 2^31 elements
        var x = Rand(17, -1, 1, 1, d);
        var est = Pde.Laplacian(v => Fn.Sum(Fn.Sin(v), 1, keepDims: true), x, Estimate.Stochastic(2, Distribution.Rademacher));
        Assert.Equal(-x.Data.Sum(Math.Sin), est.Data[0], 1e-9);
    }

    [Fact]
    public void HugeBiharmonicTableIsRefusedBeforeItIsEnumerated()
    {
        const int d = 1 << 16;
        var e = Assert.Throws<InsufficientMemoryException>(() => DifferentialOperator.Biharmonic().Families(d));
        output.WriteLine(e.Message);
        Assert.Contains("biharmonic (exact)", e.Message);
        Assert.Contains($"D = {d}", e.Message);
        Assert.Contains("Estimate.Stochastic", e.Message);
    }

    private static double Elements(Shape s) => s.Aggregate(1.0, (p, e) => p * e);
}
