using JetSharp.Ir;
using JetSharp.Operators;
using JetSharp.Primitives;
using JetSharp.Tensors;
using JetSharp.Tracing;
using Xunit.Abstractions;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Issue 22, part 1: coordinate-sampled estimates (<see cref="Estimate.Coordinates"/>). Each estimator is checked
/// against the exact value (mean over many seeds within 4 standard errors) and against its closed-form variance
/// (docs/estimators.md), and the sampled unit vectors must not exist as a dense [S, D] matrix after simplification.
/// </summary>
public class CoordinateEstimateTests(ITestOutputHelper output)
{
    private const int D = 12, H = 3;

    /// <summary>tanh(x·W + b)·c: ∂²f/∂x_d² = Σ_h c_h·tanh''(z_h)·W_dh², tanh'' = −2 tanh·(1 − tanh²).</summary>
    private static (Func<Node, Node> F, double[] Diagonal) TanhLayer(double[] x, long seed, bool positive = false)
    {
        var w = NDArray.RandomNormal<double>(new Shape(D, H), seed);
        var b = NDArray.RandomNormal<double>(new Shape(H), seed + 1);
        var c = NDArray.RandomNormal<double>(new Shape(H, 1), seed + 2);
        Node F(Node v) => Fn.MatMul(Fn.Tanh(Fn.MatMul(v, v.Graph.Constant(w)) + v.Graph.Constant(b)), v.Graph.Constant(c));
        var diag = new double[D];
        for (int k = 0; k < H; k++)
        {
            double z = b.Data[k];
            for (int i = 0; i < D; i++) z += x[i] * w.Data[i * H + k];
            double t = Math.Tanh(z), second = c.Data[k] * (-2 * t * (1 - t * t));
            for (int i = 0; i < D; i++) diag[i] += second * w.Data[i * H + k] * w.Data[i * H + k];
        }
        return (F, diag);
    }

    private static double[] Point(long seed) => Randn(seed, 1, D).Data;

    /// <summary>Estimates over <paramref name="seeds"/> seeds; asserts the mean within 4 s.e. of <paramref name="exact"/>
    /// and the sample variance within 4 of its own standard errors of <paramref name="variance"/>.</summary>
    private void CheckEstimator(string what, Func<long, double> estimate, double exact, double variance, int seeds = 300)
    {
        var e = Enumerable.Range(0, seeds).Select(s => estimate(1000 + s)).ToArray();
        double mean = e.Average();
        double m2 = e.Sum(v => (v - mean) * (v - mean)) / (seeds - 1);
        double m4 = e.Sum(v => Math.Pow(v - mean, 4)) / seeds;
        double seMean = Math.Sqrt(variance / seeds);
        double seVar = Math.Sqrt(Math.Max(m4 - m2 * m2, 0) / seeds) + 1e-300;
        output.WriteLine($"{what}: mean {mean:g6} vs exact {exact:g6} ({(mean - exact) / seMean:+0.00;-0.00} s.e.); variance {m2:g6} vs closed form {variance:g6} ({(m2 - variance) / seVar:+0.00;-0.00} s.e.)");
        Assert.InRange(mean, exact - 4 * seMean, exact + 4 * seMean);
        Assert.InRange(m2, variance - 4 * seVar, variance + 4 * seVar);
    }

    /// <summary>Var of M/S·Σ over S of M values without replacement: M²·σ²/S·(M − S)/(M − 1), σ² the population variance.</summary>
    private static double VarianceWithout(double[] a, int s)
    {
        int m = a.Length;
        double mu = a.Average(), pop = a.Sum(v => (v - mu) * (v - mu)) / m;
        return (double)m * m * pop / s * (m - s) / (m - 1);
    }

    /// <summary>Var of (1/S)Σ a/p with replacement: (Σ a²/p − (Σ a)²)/S.</summary>
    private static double VarianceWith(double[] a, double[] p, int s) =>
        (a.Select((v, i) => v * v / p[i]).Sum() - a.Sum() * a.Sum()) / s;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LaplacianByCoordinatesIsUnbiasedWithTheClosedFormVariance(bool withReplacement)
    {
        const int s = 3;
        var x = Point(1);
        var (f, diag) = TanhLayer(x, 2);
        var xs = NDArray.FromArray(x, new Shape(1, D));
        double exact = diag.Sum();
        double variance = withReplacement ? VarianceWith(diag, [.. Enumerable.Repeat(1.0 / D, D)], s) : VarianceWithout(diag, s);
        CheckEstimator($"Laplacian, S = {s} of D = {D}, {(withReplacement ? "with" : "without")} replacement",
            seed => DifferentialOperator.Laplacian(Estimate.Coordinates(s, withReplacement, seed)).Apply(f, xs).Data[0], exact, variance);
    }

    [Fact]
    public void ImportanceWeightsGiveTheirClosedFormVarianceAndZeroVarianceWhenProportional()
    {
        const int s = 2;
        var x = Point(3);
        var (f, diag) = TanhLayer(x, 4);
        var xs = NDArray.FromArray(x, new Shape(1, D));
        var weights = Enumerable.Range(0, D).Select(i => 1.0 + i % 3).ToArray();
        var p = weights.Select(w => w / weights.Sum()).ToArray();
        CheckEstimator($"Laplacian, S = {s}, importance-weighted", seed =>
            DifferentialOperator.Laplacian(Estimate.Coordinates(s, true, seed, weights)).Apply(f, xs).Data[0], diag.Sum(), VarianceWith(diag, p, s));
        // p_d ∝ ∂²_d f (all of one sign here after taking |·|·sign): every sample is Σ_d ∂²_d f, variance 0.
        var (g, a) = (f, diag);
        if (a.All(v => v > 0) || a.All(v => v < 0))
            for (long seed = 0; seed < 5; seed++)
                Assert.Equal(a.Sum(), DifferentialOperator.Laplacian(Estimate.Coordinates(s, true, seed, [.. a.Select(Math.Abs)])).Apply(g, xs).Data[0], 1e-12 * Math.Abs(a.Sum()) * 10);
    }

    [Fact]
    public void AllCoordinatesWithoutReplacementIsTheExactLaplacian()
    {
        var x = Point(5);
        var (f, diag) = TanhLayer(x, 6);
        var xs = NDArray.FromArray(x, new Shape(1, D));
        foreach (var strategy in OperatorTestUtil.AllStrategies)
            Assert.Equal(diag.Sum(), DifferentialOperator.Laplacian(Estimate.Coordinates(D, false, 9)).Apply(f, xs, strategy).Data[0], 1e-12);
    }

    [Fact]
    public void SampledUnitVectorsAreGatheredNotStored()
    {
        const int s = 5;
        var (f, _) = TanhLayer(Point(7), 8);
        var op = DifferentialOperator.Laplacian(Estimate.Coordinates(s, false, 3));
        var raw = op.Build(Tracer.Function(f, new Shape(1, D)), Strategy.StandardTaylor, simplify: false);
        Assert.Contains(raw.Nodes, n => n.Op is SelectionMatrixOp);
        Assert.DoesNotContain(raw.Nodes, n => n.Op is ConstantOp && n.Shape.Size >= s * D);
        var collapsed = op.Compile(f, new Shape(1, D)).Graph;
        Assert.DoesNotContain(collapsed.Nodes, n => n.Op is SelectionMatrixOp);
        // Nothing as large as the [S, D] directions: only W [D, H] and rows of it (folded, W being a constant).
        Assert.All(collapsed.Nodes, n => Assert.True(n.Shape.Size < s * D, $"%{n.Id} {n.Op} {n.Shape}"));
        // With W a parameter, the rows are gathered at run time: e_d·W became take(W, d).
        Node G(Node v, Node[] p) => Fn.Sum(Fn.Tanh(Fn.MatMul(v, p[0])), 1, keepDims: true);
        var withParameter = op.Compile(G, new Shape(1, D), [new Shape(D, H)]);
        Assert.Contains(withParameter.Graph.Nodes, n => n.Op is TakeOp);
        Assert.DoesNotContain(withParameter.Graph.Nodes, n => n.Op is SelectionMatrixOp);
        Assert.All(withParameter.Graph.Nodes, n => Assert.True(n.Shape.Size < s * D, $"%{n.Id} {n.Op} {n.Shape}"));
        var w = Randn(12, D, H);
        var x = Randn(13, 1, D);
        var unsimplified = new JetSharp.Runtime.Executable(op.Build(Tracer.Function(xs => G(xs[0], xs[1..]), [new Shape(1, D), new Shape(D, H)], DType.Float64), Strategy.StandardTaylor, simplify: false));
        Assert.Equal(unsimplified.Run([x, w])[0].Data[0], withParameter.Run(x, w).Data[0], 1e-12);
    }

    [Fact]
    public void GradientThroughTheGatherMatchesFiniteDifferences()
    {
        // Training differentiates the simplified graph, where e_d·W is take(W, d): its VJP is a scatter-add.
        Node G(Node v, Node[] p) => Fn.Sum(Fn.Tanh(Fn.MatMul(v, p[0])), 1, keepDims: true);
        var op = DifferentialOperator.Laplacian(Estimate.Coordinates(4, true, 5, [.. Enumerable.Range(1, D).Select(i => (double)i)]));
        var built = op.Build(Tracer.Function(xs => G(xs[0], xs[1..]), [new Shape(3, D), new Shape(D, H)], DType.Float64));
        Assert.Contains(built.Nodes, n => n.Op is TakeOp);
        var x = Randn(21, 3, D);
        var scalar = Tracer.Function(xs => Fn.Sum(JetSharp.Transforms.Inline.Apply(built, [xs[0].Graph.Constant(x), xs[0]])[0]), [new Shape(D, H)], DType.Float64);
        var w = Randn(22, D, H);
        var grad = new JetSharp.Runtime.Executable(JetSharp.Transforms.Vjp.Grad(scalar)).Run(w)[1];
        var value = new JetSharp.Runtime.Executable(scalar);
        const double h = 1e-6;
        for (int i = 0; i < w.Data.Length; i++)
        {
            var plus = w.Clone(); plus.Data[i] += h;
            var minus = w.Clone(); minus.Data[i] -= h;
            double fd = (value.Run(plus)[0].Data[0] - value.Run(minus)[0].Data[0]) / (2 * h);
            Assert.Equal(fd, grad.Data[i], 1e-6 * Math.Max(1, Math.Abs(fd)));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WeightedLaplacianSamplesColumnsOfSigma(bool withReplacement)
    {
        const int r = 6, s = 2;
        var x = Point(9);
        var (f, _) = TanhLayer(x, 10);
        var xs = NDArray.FromArray(x, new Shape(1, D));
        var sigma = NDArray.RandomNormal<double>(new Shape(D, r), 11);
        // Term r: ⟨∂²f, s_r⊗s_r⟩, from the exact weighted Laplacian of each column alone.
        var terms = Enumerable.Range(0, r).Select(j =>
        {
            var col = NDArray.Zeros<double>(new Shape(D, 1));
            for (int i = 0; i < D; i++) col.Data[i] = sigma.Data[i * r + j];
            return DifferentialOperator.WeightedLaplacian(col).Apply(f, xs).Data[0];
        }).ToArray();
        Assert.Equal(terms.Sum(), DifferentialOperator.WeightedLaplacian(sigma).Apply(f, xs).Data[0], 1e-12);
        double variance = withReplacement ? VarianceWith(terms, [.. Enumerable.Repeat(1.0 / r, r)], s) : VarianceWithout(terms, s);
        CheckEstimator($"weighted Laplacian, S = {s} of R = {r} columns", seed =>
            DifferentialOperator.WeightedLaplacian(sigma, Estimate.Coordinates(s, withReplacement, seed)).Apply(f, xs).Data[0], terms.Sum(), variance);
        var g = DifferentialOperator.WeightedLaplacian(sigma, Estimate.Coordinates(s, withReplacement, 1)).Compile(f, xs.Shape).Graph;
        Assert.DoesNotContain(g.Nodes, n => n.Op is SelectionMatrixOp);
    }

    [Fact]
    public void LinearOperatorSamplesMixedTermsUnbiased()
    {
        // u = sin(x)·cos(y)·exp(z/2): u_xx = −u, u_xy = −cos x sin y e^{z/2}, u_yz = −sin x sin y e^{z/2}/2, u_zz = u/4, u_xyz = u_xy/2.
        Node U(Node v) => Fn.Sin(Fn.Slice(v, 1, 0, 1)) * Fn.Cos(Fn.Slice(v, 1, 1, 1)) * Fn.Exp(Fn.Slice(v, 1, 2, 1) * 0.5);
        double px = 0.3, py = -0.7, pz = 0.4;
        double e = Math.Exp(pz / 2), u = Math.Sin(px) * Math.Cos(py) * e, uxy = -Math.Cos(px) * Math.Sin(py) * e;
        (double, string)[] ops = [(1.5, "xx"), (2.0, "xy"), (-1.0, "yz"), (3.0, "zz"), (0.5, "xyz"), (1.0, "")];
        double[] a = [1.5 * -u, 2.0 * uxy, -1.0 * (-Math.Sin(px) * Math.Sin(py) * e / 2), 3.0 * u / 4, 0.5 * uxy / 2];
        var xs = NDArray.FromArray(new[] { px, py, pz }, new Shape(1, 3));
        Assert.Equal(a.Sum() + u, DifferentialOperator.Linear(ops, "xyz").Apply(U, xs).Data[0], 1e-12);
        CheckEstimator("linear operator, S = 2 of 5 terms", seed =>
            DifferentialOperator.Linear(ops, "xyz", Estimate.Coordinates(2, false, seed)).Apply(U, xs).Data[0] - u, a.Sum(), VarianceWithout(a, 2));
    }

    [Fact]
    public void UnmixedTermsOfALinearOperatorAreGatheredNotMultiplied()
    {
        // Σ c_d ∂²/∂x_d² over sampled unmixed terms: the directions √c_d·e_d are scaled unit vectors, so the first layer
        // gathers rows of W (no [R, D] constant, no matmul by one); values against the exact weighted sum of the diagonal.
        var x = Point(41);
        var w = Randn(42, D, H);
        var xs = NDArray.FromArray(x, new Shape(1, D));
        double[] cs = [.. Enumerable.Range(0, D).Select(i => 0.5 + i)];
        var terms = Enumerable.Range(0, D).Select(i => (cs[i], new[] { i, i })).ToList();
        Node G(Node v, Node[] p) => Fn.MatMul(Fn.Tanh(Fn.MatMul(v, p[0])), v.Graph.Constant(NDArray.FromArray(new double[] { 1.0, -2.0, 0.5 }, new Shape(H, 1))));
        var exact = new double[D];
        for (int k = 0; k < H; k++)
        {
            double z = 0;
            for (int i = 0; i < D; i++) z += x[i] * w.Data[i * H + k];
            double t = Math.Tanh(z), second = new[] { 1.0, -2.0, 0.5 }[k] * (-2 * t * (1 - t * t));
            for (int i = 0; i < D; i++) exact[i] += cs[i] * second * w.Data[i * H + k] * w.Data[i * H + k];
        }
        foreach (var est in new[] { Estimate.Exact, Estimate.Coordinates(4, false, 7) })
        {
            var compiled = DifferentialOperator.Linear(terms, est).Compile(G, new Shape(1, D), [new Shape(D, H)]);
            Assert.Contains(compiled.Graph.Nodes, n => n.Op is TakeOp);
            Assert.DoesNotContain(compiled.Graph.Nodes, n => n.Op is ConstantOp && n.Shape.Rank >= 2 && n.Shape[^1] == D);
            double value = compiled.Run(xs, w).Data[0];
            if (est.IsExact) Assert.Equal(exact.Sum(), value, 1e-10);
            else
            {
                var (picked, factors) = est.Draw(D, "Linear");
                Assert.Equal(picked.Select((d, s) => factors[s] * exact[d]).Sum(), value, 1e-10);
            }
        }
    }

    [Fact]
    public void CoordinateEstimatesRefuseWhatTheyCannotDo()
    {
        Assert.Throws<ArgumentException>(() => Estimate.Coordinates(2, withReplacement: false, importance: [1.0, 2.0]));
        Assert.Throws<ArgumentException>(() => Estimate.Coordinates(2, true, importance: [1.0, double.NaN]));
        Assert.Throws<ArgumentException>(() => Estimate.Coordinates(2, true, importance: [0.0, 0.0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Estimate.Coordinates(0));
        var (f, _) = TanhLayer(Point(1), 2);
        var ex = Assert.Throws<ArgumentException>(() => DifferentialOperator.Laplacian(Estimate.Coordinates(D + 1)).Compile(f, new Shape(1, D)));
        Assert.Contains($"{D + 1} coordinates without replacement out of {D}", ex.Message);
        Assert.Throws<ArgumentException>(() => DifferentialOperator.Laplacian(Estimate.Coordinates(2, true, 0, [1.0, 2.0])).Compile(f, new Shape(1, D)));
        Assert.Throws<ArgumentException>(() => DifferentialOperator.Biharmonic(Estimate.Coordinates(2)));
        Assert.Throws<ArgumentException>(() => DifferentialOperator.Linear([(1.0, "xx")], "x", Estimate.Stochastic(2)));
        Assert.Throws<ArgumentException>(() => Estimate.Coordinates(2, true, importance: [1.0, 2.0], resample: true));
        Assert.Throws<ArgumentException>(() => DifferentialOperator.Linear([(1.0, "xx")], "x", Estimate.Coordinates(1, resample: true)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ResampledCoordinatesDrawAfreshEveryRunFromOneGatheredGraph(bool withReplacement)
    {
        // One compiled graph; run k draws with seed + k. Unbiased with the closed-form variance over runs, and run k
        // equals the once-drawn estimate with seed + k (without replacement the two draws are the same shuffle).
        const int s = 3;
        const long seed = 40;
        var x = Point(21);
        var w = Randn(22, D, H);
        var xs = NDArray.FromArray(x, new Shape(1, D));
        Node G(Node v, Node[] p) => Fn.MatMul(Fn.Tanh(Fn.MatMul(v, p[0])), v.Graph.Constant(NDArray.FromArray(new double[] { 1.0, -2.0, 0.5 }, new Shape(H, 1))));
        var diag = new double[D];
        for (int k = 0; k < H; k++)
        {
            double z = 0;
            for (int i = 0; i < D; i++) z += x[i] * w.Data[i * H + k];
            double t = Math.Tanh(z), second = new[] { 1.0, -2.0, 0.5 }[k] * (-2 * t * (1 - t * t));
            for (int i = 0; i < D; i++) diag[i] += second * w.Data[i * H + k] * w.Data[i * H + k];
        }
        var op = DifferentialOperator.Laplacian(Estimate.Coordinates(s, withReplacement, seed, resample: true));
        var graph = op.Compile(G, new Shape(1, D), [new Shape(D, H)]).Graph;
        Assert.Contains(graph.Nodes, n => n.Op is TakeOp { Indices.IsSampled: true });
        Assert.DoesNotContain(graph.Nodes, n => n.Op is SelectionMatrixOp);
        Assert.All(graph.Nodes, n => Assert.True(n.Shape.Size < s * D || n.Op is InputOp, $"%{n.Id} {n.Op} {n.Shape}"));
        var exe = new JetSharp.Runtime.Executable(graph);
        double Run(long offset) => exe.Run<double>([xs, w], offset)[0].Data[0];
        Assert.Equal(Run(7), Run(7));
        Assert.NotEqual(Run(7), Run(8));
        double variance = withReplacement ? VarianceWith(diag, [.. Enumerable.Repeat(1.0 / D, D)], s) : VarianceWithout(diag, s);
        CheckEstimator($"Laplacian redrawn per run, S = {s}, {(withReplacement ? "with" : "without")} replacement", offset => Run(offset), diag.Sum(), variance);
        if (!withReplacement)
            for (long k = 0; k < 5; k++)
                Assert.Equal(DifferentialOperator.Laplacian(Estimate.Coordinates(s, false, seed + k)).Compile(G, new Shape(1, D), [new Shape(D, H)]).Run(xs, w).Data[0], Run(k), 1e-12);
    }

    [Fact]
    public void ResampledSigmaColumnsAreUnbiased()
    {
        const int r = 6, s = 2;
        var x = Point(31);
        var (f, _) = TanhLayer(x, 32);
        var sigma = Randn(33, D, r);
        var xs = NDArray.FromArray(x, new Shape(1, D));
        var terms = Enumerable.Range(0, r).Select(c =>
        {
            var col = new double[D, 1];
            for (int i = 0; i < D; i++) col[i, 0] = sigma.Data[i * r + c];
            return DifferentialOperator.WeightedLaplacian(NDArray.FromArray(col)).Apply(f, xs).Data[0];
        }).ToArray();
        var graph = DifferentialOperator.WeightedLaplacian(sigma, Estimate.Coordinates(s, false, 3, resample: true)).Compile(f, xs.Shape).Graph;
        Assert.DoesNotContain(graph.Nodes, n => n.Op is SelectionMatrixOp);
        var exe = new JetSharp.Runtime.Executable(graph);
        CheckEstimator($"σ columns redrawn per run, S = {s} of R = {r}", offset => exe.Run<double>([xs], offset)[0].Data[0], terms.Sum(), VarianceWithout(terms, s));
    }
}
