using System.Numerics;
using static JetSharp.Tests.TestUtil;
using static JetSharp.Tests.OperatorTestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Monte-Carlo estimators: unbiased (the mean of many independent estimates is within 4 standard errors
/// of the exact value) and variance ∝ 1/S.
///
/// Replicates: directions are drawn per (sample, datum) from a counter-based stream, so a batch of M
/// copies of one point x₀ yields M independent S-sample estimates from one compiled graph; we also use
/// several seeds. Seeds are spaced far apart on purpose: the generator's counter is (seed + index + 1)·φ,
/// so seed s+1 is seed s shifted by one element (seed s+2 for normals) and nearby seeds are not independent.
///
/// Test function: f = exp(a·x)·sin(b·x) = Im e^{c·x} with c = a + ib, so ∇²f = Im(ccᵀ e^{c·x}),
/// Δf = Im((c·c) e^{c·x}), Δ²f = Im((c·c)² e^{c·x}), tr(σσᵀ∇²f) = Im((σᵀc)·(σᵀc) e^{c·x}). Its Hessian has
/// off-diagonal terms, so Rademacher estimates are not trivially exact.
/// </summary>
public class StochasticTests
{
    private const int D = 3;
    private static readonly double[] A = [0.5, -0.4, 0.3];
    private static readonly double[] B = [0.6, 0.2, -0.7];
    private static readonly double[] X0 = [0.3, -0.5, 0.8];

    private static Node F(Node v) => Fn.Exp(Fn.MatMul(v, Column(v.Graph, A))) * Fn.Sin(Fn.MatMul(v, Column(v.Graph, B)));

    private static Complex[] C => [.. A.Zip(B, (a, b) => new Complex(a, b))];
    private static Complex CDot(Complex[] u, Complex[] w) => u.Zip(w, (p, q) => p * q).Aggregate(Complex.Zero, (s, t) => s + t);
    private static Complex Exponential => Complex.Exp(CDot(C, [.. X0.Select(t => new Complex(t, 0))]));
    private static double ExactLaplacian => (CDot(C, C) * Exponential).Imaginary;
    private static double ExactBiharmonic => (CDot(C, C) * CDot(C, C) * Exponential).Imaginary;
    private static double ExactWeighted(double[,] sigma)
    {
        var sc = Enumerable.Range(0, sigma.GetLength(1)).Select(r => Enumerable.Range(0, D).Aggregate(Complex.Zero, (s, d) => s + sigma[d, r] * C[d])).ToArray();
        return (CDot(sc, sc) * Exponential).Imaginary;
    }

    private static readonly double[,] Sigma = { { 1.0, 0.3 }, { -0.4, 0.8 }, { 0.2, -0.6 } };

    /// <summary>M estimates (one per replicated row of x₀) for each seed.</summary>
    private static double[] Estimates(Func<Estimate, DifferentialOperator> op, int samples, Distribution dist, int rows, int seeds)
    {
        var x = new NDArray<double>(new Shape(rows, D));
        for (int n = 0; n < rows; n++)
            for (int d = 0; d < D; d++) x[n, d] = X0[d];
        var all = new List<double>();
        for (int k = 0; k < seeds; k++)
        {
            var est = op(Estimate.Stochastic(samples, dist, seed: 1 + k * 10_000_019L));
            all.AddRange(est.Compile(F, x.Shape).Run(x).Data);
        }
        return [.. all];
    }

    private static (double Mean, double Variance) Moments(double[] v)
    {
        double mean = v.Average();
        return (mean, v.Sum(t => (t - mean) * (t - mean)) / (v.Length - 1));
    }

    private static void AssertUnbiased(double[] estimates, double exact, string what)
    {
        var (mean, variance) = Moments(estimates);
        double se = Math.Sqrt(variance / estimates.Length);
        Assert.True(se > 1e-6 * Math.Abs(exact) + 1e-12, $"{what}: estimates have no spread (sd {Math.Sqrt(variance):E2}); the test would prove nothing");
        Assert.True(Math.Abs(mean - exact) <= 4 * se, $"{what}: mean {mean:R} is {Math.Abs(mean - exact) / se:F1} standard errors (se {se:E2}) from the exact {exact:R}");
    }

    // 8 seeds × 500 rows = 4000 independent estimates with S = 2 each.
    [Theory]
    [InlineData(Distribution.Normal)]
    [InlineData(Distribution.Rademacher)]
    public void StochasticLaplacianIsUnbiased(Distribution dist) =>
        AssertUnbiased(Estimates(DifferentialOperator.Laplacian, 2, dist, 500, 8), ExactLaplacian, $"Laplacian ({dist})");

    [Theory]
    [InlineData(Distribution.Normal)]
    [InlineData(Distribution.Rademacher)]
    public void StochasticWeightedLaplacianIsUnbiased(Distribution dist) =>
        AssertUnbiased(Estimates(e => DifferentialOperator.WeightedLaplacian(NDArray.FromArray(Sigma), e), 2, dist, 500, 8), ExactWeighted(Sigma), $"weighted Laplacian ({dist})");

    /// <summary>σ(x) ≡ Sigma as a per-datum [N, D, R] tensor: a different code path (directions [N, R, S]).</summary>
    [Fact]
    public void StochasticWeightedLaplacianWithSigmaOfXIsUnbiased()
    {
        Node SigmaOfX(Node v) => Fn.BroadcastTo(v.Graph.Constant(NDArray.FromArray(Sigma).Reshape(new Shape(1, D, 2))), new Shape(v.Shape[0], D, 2));
        AssertUnbiased(Estimates(e => DifferentialOperator.WeightedLaplacian(SigmaOfX, e), 2, Distribution.Normal, 500, 8), ExactWeighted(Sigma), "weighted Laplacian (σ(x))");
    }

    // F(v) is quartic in v, so its distribution is heavy-tailed; 8 × 2500 estimates keep the standard error honest.
    [Fact]
    public void StochasticBiharmonicIsUnbiased() =>
        AssertUnbiased(Estimates(DifferentialOperator.Biharmonic, 2, Distribution.Normal, 2500, 8), ExactBiharmonic, "biharmonic");

    /// <summary>
    /// The exact operators here must match the closed forms used as targets above (guards the targets themselves).
    /// </summary>
    [Fact]
    public void ClosedFormTargetsMatchExactOperators()
    {
        var x = NDArray.FromArray(X0, new Shape(1, D));
        Close(ExactLaplacian, Pde.Laplacian(F, x)[0, 0], 1e-12);
        Close(ExactBiharmonic, Pde.Biharmonic(F, x)[0, 0], 1e-12);
        Close(ExactWeighted(Sigma), Pde.WeightedLaplacian(F, x, NDArray.FromArray(Sigma))[0, 0], 1e-12);
    }

    /// <summary>
    /// Var(S-sample mean) = Var(1 sample)/S, so Var_S / Var_4S ≈ 4. The sample variance of M estimates has
    /// relative sd ≈ √((κ − 1)/M), κ the estimator's kurtosis. For the Laplacian a single Gaussian sample
    /// vᵀHv = Σλ_k z_k² has κ ≤ 15 (one dominant eigenvalue), and averaging S samples gives κ ≤ 3 + 12/S, so with
    /// S = 2, 8 and M = 8000: relative sds ≤ 0.032 and 0.021, about 0.04 for the ratio; the ±25% band is
    /// over 6 sds wide (and the draws are seeded, so the test is deterministic anyway). Rademacher has lighter tails.
    /// </summary>
    [Theory]
    [InlineData(Distribution.Normal)]
    [InlineData(Distribution.Rademacher)]
    public void LaplacianVarianceShrinksLikeOneOverS(Distribution dist)
    {
        var (_, v2) = Moments(Estimates(DifferentialOperator.Laplacian, 2, dist, 8000, 1));
        var (_, v8) = Moments(Estimates(DifferentialOperator.Laplacian, 8, dist, 8000, 1));
        double ratio = v2 / v8;
        Assert.InRange(ratio, 4 / 1.25, 4 * 1.25);
    }

    /// <summary>
    /// The same for the stochastic biharmonic. F(v) is a quartic form and heavy-tailed: the kurtosis of one
    /// sample is ≈ 80 here (measured; up to ~220 for one dominant direction), ≈ 35 for S = 4. With S = 1, 4 and
    /// M = 10 000 the relative sds of the sample variances are ≈ √(79/M) ≈ 0.09 and ≈ 0.06, about 0.11 for
    /// the ratio, so the ±50% band is over 4.5 sds wide while still excluding 1/S² (16) and 1/√S (2).
    /// (M is kept this small because 4-jets of 10⁵ data take seconds in the interim kernels.)
    /// </summary>
    [Fact]
    public void BiharmonicVarianceShrinksLikeOneOverS()
    {
        var (_, v1) = Moments(Estimates(DifferentialOperator.Biharmonic, 1, Distribution.Normal, 10_000, 1));
        var (_, v4) = Moments(Estimates(DifferentialOperator.Biharmonic, 4, Distribution.Normal, 10_000, 1));
        Assert.InRange(v1 / v4, 4 / 1.5, 4 * 1.5);
    }
}
