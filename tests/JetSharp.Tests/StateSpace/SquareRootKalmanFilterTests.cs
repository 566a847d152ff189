using JetSharp.StateSpace;
using JetSharp.Tests.LinearAlgebra;
using Xunit.Abstractions;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.StateSpace;

public class SquareRootKalmanFilterTests(ITestOutputHelper output)
{
    private const int Series = 3, Steps = 15;

    /// <summary>Model matrices in the order F, H, L_Q, L_R, m₀, L₀.</summary>
    private sealed record Model(double[,] F, double[,] H, double[,] Lq, double[,] Lr, double[] M0, double[,] L0)
    {
        public NDArray<double>[] Tensors => [T(F), T(H), T(Lq), T(Lr), NDArray.FromArray(M0), T(L0)];
    }

    private static readonly double[,] F3 = { { 0.9, 0.2, 0.0 }, { -0.15, 0.85, 0.1 }, { 0.05, -0.1, 0.7 } };
    private static readonly double[,] H3 = { { 1.0, 0.0, 0.5 }, { 0.0, 1.0, -0.3 } };
    private static readonly double[,] Lr2 = { { 0.4, 0.0 }, { 0.1, 0.3 } };

    private static Model Regular => new(F3, H3, new double[,] { { 0.3, 0, 0 }, { 0.1, 0.25, 0 }, { -0.05, 0.1, 0.2 } }, Lr2,
        [0.5, -0.2, 0.1], new double[,] { { 1.0, 0, 0 }, { 0.2, 0.8, 0 }, { 0.1, -0.1, 0.6 } });

    /// <summary>
    /// Singular process noise (it drives the third component only) and a degenerate prior (the second and third
    /// initial components are known exactly): the predict and update blocks of the first steps are rank-deficient.
    /// </summary>
    private static Model Singular => new(F3, H3, new double[,] { { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0.35 } }, Lr2,
        [0.5, -0.2, 0.1], new double[,] { { 0.7, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 } });

    private static Model SingularObservationNoise => new(F3, H3, Regular.Lq, new double[,] { { 0.4, 0.0 }, { 0.0, 0.0 } },
        [0.5, -0.2, 0.1], Regular.L0);

    /// <summary>Observations [Series, Steps, dy] simulated from the model with seeded noise.</summary>
    private static NDArray<double> Simulate(Model model, long seed)
    {
        int dx = model.M0.Length, dy = model.H.GetLength(0);
        var noise = NDArray.RandomNormal<double>(new Shape(Series, Steps + 1, dx + dy), seed);
        var ys = new NDArray<double>(new Shape(Series, Steps, dy));
        for (int s = 0; s < Series; s++)
        {
            double N(int t, int i) => noise[s, t, i];
            var x = new double[dx];
            for (int i = 0; i < dx; i++)
            {
                x[i] = model.M0[i];
                for (int j = 0; j < dx; j++) x[i] += model.L0[i, j] * N(0, j);
            }
            for (int t = 0; t < Steps; t++)
            {
                var next = new double[dx];
                for (int i = 0; i < dx; i++)
                {
                    for (int j = 0; j < dx; j++) next[i] += model.F[i, j] * x[j] + model.Lq[i, j] * N(t + 1, j);
                }
                x = next;
                for (int i = 0; i < dy; i++)
                {
                    double y = 0;
                    for (int j = 0; j < dx; j++) y += model.H[i, j] * x[j];
                    for (int j = 0; j < dy; j++) y += model.Lr[i, j] * N(t + 1, dx + j);
                    ys[s, t, i] = y;
                }
            }
        }
        return ys;
    }

    private static double[][] SeriesOf(NDArray<double> ys, int s) =>
        [.. Enumerable.Range(0, ys.Shape[1]).Select(t => Enumerable.Range(0, ys.Shape[2]).Select(i => ys[s, t, i]).ToArray())];

    private static FilterResult Filter(Node[] xs, Node ys, Func<Node, Node>? tria = null) =>
        SquareRootKalmanFilter.Filter(new LinearGaussianModel(xs[0], xs[1], xs[2], xs[3], xs[4], xs[5]), ys, tria);

    /// <summary>Log-likelihoods [B] as a function of the six model matrices, for fixed observations.</summary>
    private static Func<Node[], Node> LogLikelihood(NDArray<double> ys, Func<Node, Node>? tria = null) =>
        xs => Filter(xs, xs[0].Graph.Constant(ys), tria).LogLikelihood;

    [Theory]
    [InlineData("regular")]
    [InlineData("singular process noise, degenerate prior")]
    [InlineData("singular observation noise")]
    public void MatchesTheCovarianceFormFilter(string which)
    {
        var model = which == "regular" ? Regular : which == "singular observation noise" ? SingularObservationNoise : Singular;
        var ys = Simulate(model, seed: 3);
        var g = Tracer.Function(xs => { var r = Filter(xs[..6], xs[6]); return new[] { r.LogLikelihood, r.Means, r.Factors }; },
            [.. model.Tensors.Select(t => t.Shape), ys.Shape]);
        var outs = Run(g, [.. model.Tensors, ys]);
        Assert.Equal(new Shape(Series), outs[0].Shape);
        Assert.Equal(new Shape(Series, Steps, 3), outs[1].Shape);
        Assert.Equal(new Shape(Series, Steps, 3, 3), outs[2].Shape);
        double worstLl = 0, worstMean = 0, worstCov = 0;
        for (int s = 0; s < Series; s++)
        {
            var reference = CovarianceKalmanFilter.Run(model.F, model.H, CovarianceKalmanFilter.Gram(model.Lq), CovarianceKalmanFilter.Gram(model.Lr),
                model.M0, CovarianceKalmanFilter.Gram(model.L0), SeriesOf(ys, s));
            worstLl = Math.Max(worstLl, Math.Abs(outs[0][s] - reference.LogLikelihood));
            output.WriteLine($"series {s}: square-root {outs[0][s]:R}, covariance form {reference.LogLikelihood:R}");
            for (int t = 0; t < Steps; t++)
                for (int i = 0; i < 3; i++)
                {
                    worstMean = Math.Max(worstMean, Math.Abs(outs[1][s, t, i] - reference.Means[t][i]));
                    for (int j = 0; j < 3; j++)
                    {
                        double p = 0;
                        for (int k = 0; k < 3; k++) p += outs[2][s, t, i, k] * outs[2][s, t, j, k];
                        worstCov = Math.Max(worstCov, Math.Abs(p - reference.Covariances[t][i, j]));
                    }
                }
        }
        output.WriteLine($"{which}: |Δ log-likelihood| ≤ {worstLl:E2} (values ≈ {outs[0][0]:F3}), |Δ mean| ≤ {worstMean:E2}, |Δ covariance| ≤ {worstCov:E2}");
        Assert.True(worstLl <= 1e-10, $"{worstLl:E2}");
        Assert.True(worstMean <= 1e-10 && worstCov <= 1e-10, $"means {worstMean:E2}, covariances {worstCov:E2}");
    }

    [Theory]
    [InlineData("regular")]
    [InlineData("singular process noise, degenerate prior")]
    [InlineData("singular observation noise")]
    public void GradientWithRespectToEveryModelMatrixMatchesFiniteDifferences(string which)
    {
        var model = which == "regular" ? Regular : which == "singular observation noise" ? SingularObservationNoise : Singular;
        var ys = Simulate(model, seed: 4);
        double vjp = LinalgCheck.VjpError(LogLikelihood(ys), model.Tensors, seed: 5);
        double jvp = LinalgCheck.JvpError(LogLikelihood(ys), model.Tensors, [.. model.Tensors.Select((t, i) => Randn(10 + i, [.. t.Shape]))]);
        output.WriteLine($"{which}: gradient of the log-likelihood w.r.t. F, H, L_Q, L_R, m₀, L₀ vs finite differences: VJP {vjp:E2}, JVP {jvp:E2}");
        Assert.True(vjp <= 1e-6 && jvp <= 1e-6, $"VJP {vjp:E2}, JVP {jvp:E2}");
    }

    [Theory]
    [InlineData("regular")]
    [InlineData("singular process noise, degenerate prior")]
    [InlineData("singular observation noise")]
    public void HessianVectorProductInTheTransitionMatrixMatchesDifferencesOfGradients(string which)
    {
        // Forward-over-reverse through the filter: the JVP of the gradient graph runs the first-order rules of
        // tria and pinv inside the VJP of tria. Perturbing F keeps every block's rank, where pinv is smooth.
        var model = which == "regular" ? Regular : which == "singular observation noise" ? SingularObservationNoise : Singular;
        var ys = Simulate(model, seed: 7);
        var rest = model.Tensors[1..];
        Node Loss(Node f)
        {
            var g = f.Graph;
            return Fn.Sum(Filter([f, .. rest.Select(t => g.Constant(t))], g.Constant(ys)).LogLikelihood);
        }
        var f0 = T(model.F);
        var v = Randn(8, 3, 3);
        var hvp = Ad.Hvp(Loss, f0, v);
        double h = 1e-5;
        var gp = Ad.Grad(Loss, TestUtil.Axpy(f0, h, v));
        var gm = Ad.Grad(Loss, TestUtil.Axpy(f0, -h, v));
        var fd = new NDArray<double>(f0.Shape);
        for (int i = 0; i < fd.Size; i++) fd.Data[i] = (gp.Data[i] - gm.Data[i]) / (2 * h);
        double e = LinalgCheck.Rel(hvp, fd);
        output.WriteLine($"{which}: Hessian-vector product in F vs differences of gradients {e:E2}");
        Assert.True(e <= 1e-6, $"{e:E2}");
    }

    [Theory]
    [InlineData("singular process noise, degenerate prior")]
    [InlineData("singular observation noise")]
    public void GradientsOfFunctionsOfTheFilteredCovariancesMatchFiniteDifferences(string which)
    {
        // The returned factors are exact as factors: functions of L_t·L_tᵀ (and of the means) differentiate correctly.
        var model = which == "singular observation noise" ? SingularObservationNoise : Singular;
        var ys = Simulate(model, seed: 9);
        var weights = Randn(10, Series, Steps, 3, 3);
        Node F(Node[] xs)
        {
            var g = xs[0].Graph;
            var r = Filter(xs, g.Constant(ys));
            var cov = Fn.MatMul(r.Factors, r.Factors, transposeB: true);
            return Fn.Reshape(Fn.Sum(cov * g.Constant(weights)) + Fn.Sum(Fn.Square(r.Means)), 1);
        }
        double vjp = LinalgCheck.VjpError(F, model.Tensors, seed: 11);
        output.WriteLine($"{which}: gradient of Σ W∘(L_t·L_tᵀ) + Σ‖m_t‖² vs finite differences {vjp:E2}");
        Assert.True(vjp <= 1e-6, $"{vjp:E2}");
    }

    [Fact]
    public void AQrDifferentiatedTriaGivesNonFiniteGradientsOnTheSingularModel()
    {
        // The same filter with tria(A) = QR(Aᵀ).Rᵀ differentiated through QR: the exact zero pivots of the
        // degenerate prior and singular noise turn R⁻¹ into infinities.
        var model = Singular;
        var ys = Simulate(model, seed: 4);
        static Node Naive(Node a) => Linalg.MatrixTranspose(Linalg.QrR(Linalg.MatrixTranspose(a)));
        var naive = Ad.Grad(xs => Fn.Sum(LogLikelihood(ys, Naive)(xs)), model.Tensors);
        var robust = Ad.Grad(xs => Fn.Sum(LogLikelihood(ys)(xs)), model.Tensors);
        int bad = naive.Sum(g => Enumerable.Range(0, g.Size).Count(i => !double.IsFinite(g.GetDouble(i))));
        int total = naive.Sum(g => g.Size);
        output.WriteLine($"naive QR derivative: {bad}/{total} gradient entries non-finite; tria: all finite = {robust.All(g => Enumerable.Range(0, g.Size).All(i => double.IsFinite(g.GetDouble(i))))}");
        Assert.True(bad > 0);
        Assert.All(robust, g => Assert.True(Enumerable.Range(0, g.Size).All(i => double.IsFinite(g.GetDouble(i)))));
    }

    [Fact]
    public void PerSeriesModelMatricesFilterEachSeriesWithItsOwnModel()
    {
        var ys = Simulate(Regular, seed: 6);
        // F differs per series ([B, dx, dx]); the other matrices are shared.
        var fs = new NDArray<double>(new Shape(Series, 3, 3));
        for (int s = 0; s < Series; s++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) fs[s, i, j] = F3[i, j] * (1 - 0.1 * s);
        var inputs = Regular.Tensors;
        inputs[0] = fs;
        var ll = Eval(xs => Filter(xs[..6], xs[6]).LogLikelihood, [.. inputs, ys]);
        for (int s = 0; s < Series; s++)
        {
            var f = new double[3, 3];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) f[i, j] = fs[s, i, j];
            var m = Regular;
            var reference = CovarianceKalmanFilter.Run(f, m.H, CovarianceKalmanFilter.Gram(m.Lq), CovarianceKalmanFilter.Gram(m.Lr), m.M0,
                CovarianceKalmanFilter.Gram(m.L0), SeriesOf(ys, s));
            Assert.True(Math.Abs(ll[s] - reference.LogLikelihood) <= 1e-10, $"series {s}: {ll[s]} vs {reference.LogLikelihood}");
        }
        var grads = Ad.Grad(xs => Fn.Sum(Filter(xs[..6], xs[0].Graph.Constant(ys)).LogLikelihood), inputs);
        Assert.Equal(fs.Shape, grads[0].Shape);
    }

    [Fact]
    public void RejectsInconsistentShapesBeforeBuildingAnything()
    {
        var shapes = Regular.Tensors.Select(t => t.Shape).ToList();
        void Expect(int index, Shape bad, string contains)
        {
            var s = shapes.ToArray();
            s[index] = bad;
            var e = Assert.Throws<ShapeException>(() => Tracer.Function(xs => Filter(xs[..6], xs[6]).LogLikelihood, [.. s, new Shape(Series, Steps, 2)]));
            Assert.Contains("kalman", e.Message);
            Assert.Contains(contains, e.Message);
        }
        Expect(0, new Shape(3, 2), "F");
        Expect(1, new Shape(3, 3), "H");
        Expect(2, new Shape(2, 3), "L_Q");
        Expect(4, new Shape(2), "m₀");
        Expect(5, new Shape(4, 5, 3, 3), "L₀");
        var obs = Assert.Throws<ShapeException>(() => Tracer.Function(xs => Filter(xs[..6], xs[6]).LogLikelihood, [.. shapes, new Shape(Steps, 2)]));
        Assert.Contains("observations", obs.Message);
    }
}
