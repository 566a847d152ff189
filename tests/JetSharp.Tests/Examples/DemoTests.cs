using JetSharp.Benchmarks;
using JetSharp.Examples.CollapsedGraph;
using JetSharp.Examples.FixedPoint;
using JetSharp.Examples.Jacobians;
using JetSharp.Examples.Kalman;
using JetSharp.Jacobians;
using JetSharp.Runtime;

namespace JetSharp.Tests.Examples;

/// <summary>The demos behind <c>jetsharp fixedpoint</c>, <c>kalman</c> and <c>jacobian</c>, on small settings, against independently computed values.</summary>
public class DemoTests
{
    [Fact]
    public void FixedPointHypergradientsMatchAFiniteDifferenceOfAPlainNewtonSolve()
    {
        const int n = 60;
        const double lambda = 0.05;
        var result = FixedPointDemo.Run(n, lambda);
        Assert.Equal(6, result.Rows.Count);

        // Independent: w*(λ) by Newton's method in plain doubles, V(w*(λ ± h)) by central differences.
        var (x, y) = FixedPointDemo.Data(n, seed: 1);
        var (xv, yv) = FixedPointDemo.Data(n, seed: 2);
        double V(double lam)
        {
            double w0 = 0, w1 = 0;
            for (int it = 0; it < 50; it++)
            {
                double g0 = lam * w0, g1 = lam * w1, h00 = lam, h01 = 0, h11 = lam;
                for (int i = 0; i < n; i++)
                {
                    double a = x[i, 0], b = x[i, 1], yi = y[i, 0];
                    double s = 1 / (1 + Math.Exp(yi * (a * w0 + b * w1)));   // σ(−y·m)
                    g0 -= yi * s * a / n; g1 -= yi * s * b / n;
                    double c = s * (1 - s) / n;
                    h00 += c * a * a; h01 += c * a * b; h11 += c * b * b;
                }
                double det = h00 * h11 - h01 * h01;
                w0 -= (h11 * g0 - h01 * g1) / det;
                w1 -= (h00 * g1 - h01 * g0) / det;
            }
            double v = 0;
            for (int i = 0; i < n; i++)
            {
                double m = -yv[i, 0] * (xv[i, 0] * w0 + xv[i, 1] * w1);
                v += Math.Max(m, 0) + Math.Log(1 + Math.Exp(-Math.Abs(m)));
            }
            return v / n;
        }
        const double h = 1e-5;
        double fd = (V(lambda + h) - V(lambda - h)) / (2 * h);
        Assert.True(Math.Abs(result.Reference - fd) <= 1e-7 * Math.Max(1, Math.Abs(fd)), $"reference {result.Reference} vs finite difference {fd}");

        var newton = result.Rows.Where(r => r.Solver == FixedPointSolver.Newton).ToList();
        Assert.All(newton, r => Assert.True(r.Error < 1e-8, $"Newton {r.Mode}: error {r.Error}"));
        var gd = result.Rows.Where(r => r.Solver == FixedPointSolver.GradientDescent).ToDictionary(r => r.Mode);
        var (unrolled, @implicit) = (gd[FixedPointMode.Unrolled].Result.Value, gd[FixedPointMode.Implicit].Result.Value);
        Assert.True(Math.Abs(unrolled - @implicit) < 1e-6, $"gradient descent: unrolled {unrolled} vs implicit {@implicit}");
        Assert.True(Math.Abs(@implicit - fd) < 1e-6, $"gradient descent implicit {@implicit} vs finite difference {fd}");
        // One step through a linearly converging solver is not the derivative (the demo's point).
        Assert.True(gd[FixedPointMode.OneStep].Error > 1e-3, $"one-step error {gd[FixedPointMode.OneStep].Error}");
    }

    [Fact]
    public void KalmanLogLikelihoodMatchesAPlainKalmanFilterAndItsGradientCentralDifferences()
    {
        var demo = new KalmanDemo(new KalmanOptions { Series = 2, Steps = 20, Iterations = 40 });
        double[,] f = { { 0.95, 0.08 }, { -0.3, 0.9 } };
        double[] logSigma = [Math.Log(0.4), Math.Log(0.6)];

        // Independent: the covariance-form Kalman filter in plain doubles, log-likelihood per observation.
        double Plain(double[,] F, double[] ls)
        {
            double q = Math.Exp(2 * ls[0]), r = Math.Exp(2 * ls[1]), total = 0;
            var ys = demo.Observations;
            int b = ys.Shape[0], t = ys.Shape[1];
            for (int s = 0; s < b; s++)
            {
                double m0 = 1, m1 = 0, p00 = 0, p01 = 0, p11 = 0;
                for (int k = 0; k < t; k++)
                {
                    (m0, m1) = (F[0, 0] * m0 + F[0, 1] * m1, F[1, 0] * m0 + F[1, 1] * m1);
                    double a00 = F[0, 0] * p00 + F[0, 1] * p01, a01 = F[0, 0] * p01 + F[0, 1] * p11;   // F·P
                    double a10 = F[1, 0] * p00 + F[1, 1] * p01, a11 = F[1, 0] * p01 + F[1, 1] * p11;
                    (p00, p01, p11) = (a00 * F[0, 0] + a01 * F[0, 1], a00 * F[1, 0] + a01 * F[1, 1], a10 * F[1, 0] + a11 * F[1, 1] + q);
                    double innovation = ys[s, k, 0] - m0, sVar = p00 + r;
                    total += -0.5 * (Math.Log(2 * Math.PI * sVar) + innovation * innovation / sVar);
                    double k0 = p00 / sVar, k1 = p01 / sVar;
                    (m0, m1) = (m0 + k0 * innovation, m1 + k1 * innovation);
                    (p00, p01, p11) = (p00 - k0 * p00, p01 - k0 * p01, p11 - k1 * p01);
                }
            }
            return total / (b * t);
        }
        Assert.Equal(Plain(f, logSigma), demo.LogLikelihood(f, logSigma), 10);

        var (value, gradF, gradLogSigma) = demo.ValueAndGradient(f, logSigma);
        Assert.Equal(Plain(f, logSigma), value, 10);
        const double h = 1e-6;
        for (int i = 0; i < 4; i++)
        {
            var (fp, fm) = ((double[,])f.Clone(), (double[,])f.Clone());
            fp[i / 2, i % 2] += h;
            fm[i / 2, i % 2] -= h;
            double fd = (Plain(fp, logSigma) - Plain(fm, logSigma)) / (2 * h);
            Assert.True(Math.Abs(gradF[i] - fd) <= 1e-6 * Math.Max(1, Math.Abs(fd)), $"∂/∂F[{i}]: {gradF[i]} vs {fd}");
        }
        for (int i = 0; i < 2; i++)
        {
            double[] lp = [.. logSigma], lm = [.. logSigma];
            lp[i] += h;
            lm[i] -= h;
            double fd = (Plain(f, lp) - Plain(f, lm)) / (2 * h);
            Assert.True(Math.Abs(gradLogSigma[i] - fd) <= 1e-6 * Math.Max(1, Math.Abs(fd)), $"∂/∂log σ[{i}]: {gradLogSigma[i]} vs {fd}");
        }

        int steps = 0;
        var fit = demo.Fit(_ => steps++);
        Assert.Equal(40, steps);
        Assert.Equal(40, fit.Curve.Count);
        Assert.True(fit.FittedLogLikelihood > fit.InitialLogLikelihood + 0.1, $"log-likelihood {fit.InitialLogLikelihood} → {fit.FittedLogLikelihood}");
        var initial = new[] { Math.Log(1.0), Math.Log(1.0) };
        Assert.Equal(Plain(KalmanDemo.InitialF, initial), fit.InitialLogLikelihood, 10);
        Assert.Equal(6, fit.Parameters.Count);
    }

    [Fact]
    public void JacobianOptimizedOrderBeatsMarkowitzAndMatchesForwardMode()
    {
        var options = new JacobianDemoOptions { BudgetSeconds = 0.2, Points = 6, Repeats = 1, Seed = 3, Threads = 1, Time = false };
        var traced = new List<string>();
        var results = JacobianDemo.Run(options, onTraced: (b, _) => traced.Add(b.Name));
        Assert.Equal(JacobianBenchmarks.All.Select(b => b.Name), traced);
        foreach (var r in results)
        {
            Assert.Equal(["forward", "reverse", "Markowitz", "optimized"], r.Orders.Select(o => o.Name));
            long optimized = r.Orders[3].Multiplications;
            Assert.True(optimized <= r.Orders.Take(3).Min(o => o.Multiplications), $"{r.Function.Name}: optimized {optimized} vs {string.Join(", ", r.Orders.Select(o => o.Multiplications))}");
            Assert.Equal(Elimination.Count(LinearizedFunction.Trace(r.Function.Function, r.Function.Inputs, 1).Structure, r.Optimization.Order), optimized);
            Assert.True(r.Agree, $"{r.Function.Name}: max |Δ| {r.MaxAbsDifference}");

            var x = r.Function.SamplePoints(options.Points, options.Seed);
            var forward = JacobianAccumulator.ForwardMode(r.Function.Function, x);
            Assert.Equal(forward.Shape, r.OptimizedJacobian.Shape);
            double scale = Math.Max(1, forward.Data.Max(Math.Abs));
            for (int i = 0; i < forward.Size; i++)
                Assert.True(Math.Abs(forward.Data[i] - r.OptimizedJacobian.Data[i]) <= 1e-10 * scale, $"{r.Function.Name}[{i}]");
            Assert.True(double.IsNaN(r.LabelsSeconds));
        }
    }

    [Fact]
    public void CollapsedGraphHasFewerVectorsAndTheSameValues()
    {
        var r = CollapsedGraphDemo.Build(dim: 2, batch: 3);
        Assert.True(r.Collapsed.Stats.TotalVectors < r.Standard.Stats.TotalVectors, $"{r.Standard.Stats.TotalVectors} → {r.Collapsed.Stats.TotalVectors}");
        Assert.NotEmpty(r.RulesFired);
        var x = NDArray.RandomNormal<double>(new Shape(3, 2), seed: 5);
        var before = (NDArray<double>)Executable.Compile(r.Standard.Graph).Run(x)[0];
        var after = (NDArray<double>)Executable.Compile(r.Collapsed.Graph).Run(x)[0];
        for (int i = 0; i < before.Size; i++) Assert.Equal(before.Data[i], after.Data[i], 10);
    }

    [Fact]
    public void StrategyComparisonAgreesAndMatchesSecondDifferences()
    {
        int[] hidden = [16, 16];
        var r = StrategyComparison.Run(new StrategyCase("Δf", 4, 3, DifferentialOperator.Laplacian()), repeats: 1, hidden: hidden);
        Assert.Equal(StrategyComparison.Strategies, r.Results.Keys);
        Assert.True(r.Agree, $"max rel. diff {r.MaxRelativeDifference}");
        Assert.All(r.Results.Values, m => Assert.True(m.Seconds > 0 && m.PeakLiveBytes > 0));
        var (ad, fd, rel) = StrategyComparison.FiniteDifferenceCheck(dimension: 4, hidden: hidden);
        Assert.True(rel < 1e-4, $"AD {ad} vs second differences {fd}");
    }
}
