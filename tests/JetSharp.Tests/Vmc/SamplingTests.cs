using JetSharp.Nn;
using JetSharp.Nn.Vmc;

namespace JetSharp.Tests.Vmc;

/// <summary>Blocking on a series with a known autocorrelation time; Metropolis sampling and the VMC gradient on hydrogen, where E(α) is known in closed form.</summary>
public class SamplingTests
{
    [Fact]
    public void BlockingRecoversTheErrorOfTheMeanOfAnAr1Series()
    {
        // x_t = ρ x_{t−1} + ε_t: var x = 1/(1 − ρ²), and var(mean) → var x · (1 + ρ)/(1 − ρ) / N.
        const double rho = 0.9;
        const int n = 1 << 16;
        var x = new double[n];
        double prev = SeededRandom.Normal(21, 0) / Math.Sqrt(1 - rho * rho);
        for (int t = 0; t < n; t++) x[t] = prev = rho * prev + SeededRandom.Normal(22, t);
        var r = Blocking.Analyse(x);
        double exact = Math.Sqrt(1 / (1 - rho * rho) * (1 + rho) / (1 - rho) / n);
        Assert.InRange(r.StandardError / exact, 0.85, 1.15);
        Assert.InRange(r.AutocorrelationTime, 0.7 * 19, 1.3 * 19);   // (1 + ρ)/(1 − ρ) = 19
        Assert.True(r.NaiveStandardError < exact / 3, $"naive {r.NaiveStandardError} vs exact {exact}");
        Assert.InRange(r.Mean, -5 * exact, 5 * exact);
    }

    [Fact]
    public void BlockingOfIndependentSamplesIsTheNaiveError()
    {
        var x = Enumerable.Range(0, 4096).Select(i => SeededRandom.Normal(23, i)).ToArray();
        var r = Blocking.Analyse(x);
        Assert.InRange(r.StandardError / (1 / 64.0), 0.85, 1.2);
    }

    [Fact]
    public void BlockingRefusesShortOrNonFiniteSeries()
    {
        Assert.Contains("at least", Assert.Throws<ArgumentException>(() => Blocking.Analyse(new double[10])).Message);
        var bad = new double[100];
        bad[3] = double.NaN;
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => Blocking.Analyse(bad)).Message);
    }

    /// <summary>ψ = e^{−α r}: E(α) = α²/2 − α, dE/dα = α − 1.</summary>
    private static VmcEnergy Hydrogen(int walkers, long seed) =>
        new(Molecule.Hydrogen,
            (p, x) => Fn.Reshape(-(Fn.Sum(Geometry.ElectronNucleus(Molecule.Hydrogen, x).Distance, [1, 2]) * p[0]), x.Shape[0], 1),
            [new Shape()], "e^{−αr}", new VmcSettings { Walkers = walkers, BurnIn = 100, SweepsPerStep = 2, ClipWidth = double.PositiveInfinity }, seed: seed);

    [Fact]
    public void MetropolisSamplesReproduceTheVariationalEnergyOfAHydrogenTrialState()
    {
        const double alpha = 0.8;
        var o = Hydrogen(128, 31);
        var (e, variance) = o.Measure([alpha], 400);
        Assert.InRange(o.Sampler.StepSize, 0.1, 10);
        double exact = alpha * alpha / 2 - alpha;   // −0.48
        Assert.True(Math.Abs(e.Mean - exact) < 4 * e.StandardError, $"E = {e.Mean} ± {e.StandardError}, exact {exact}");
        Assert.True(e.StandardError < 0.01, $"error bar {e.StandardError}");
        // |ψ|² ∝ e^{−2αr}: ⟨r⟩ = 3/(2α). (The variance of E_L = −α²/2 + (α − 1)/r is finite, but its sample variance
        // is not a reliable check: ⟨1/r⁴⟩ diverges.)
        Assert.True(variance > 0 && double.IsFinite(variance));
        double sumR = 0;
        for (int s = 0; s < 100; s++)
        {
            o.Sampler.Sweep(adapt: false);
            var w = o.Sampler.Walkers.Data;
            for (int k = 0; k < 128; k++) sumR += Math.Sqrt(w[3 * k] * w[3 * k] + w[3 * k + 1] * w[3 * k + 1] + w[3 * k + 2] * w[3 * k + 2]);
        }
        Assert.InRange(sumR / 12800, 1.875 - 0.08, 1.875 + 0.08);
    }

    [Fact]
    public void AdaptationDrivesTheAcceptanceTowardsOneHalf()
    {
        var o = Hydrogen(256, 32);
        o.Sampler.BurnIn([1.0], 200);
        double acc = 0;
        for (int s = 0; s < 50; s++) acc += o.Sampler.Sweep(adapt: false);
        Assert.InRange(acc / 50, 0.4, 0.6);
    }

    [Fact]
    public void TheVmcGradientMatchesDEdAlphaAndAdamFindsTheExactExponent()
    {
        // The estimator 2⟨(E_L − Ē) ∂ log ψ/∂α⟩ against dE/dα = α − 1 at α = 0.7 (averaged over steps).
        var o = Hydrogen(512, 33);
        var g = new double[1];
        double sum = 0;
        for (int s = 0; s < 20; s++) { o.Resample(s, [0.7]); o.Evaluate([0.7], g); sum += g[0]; }
        Assert.InRange(sum / 20, -0.3 - 0.03, -0.3 + 0.03);

        var theta = new[] { 0.6 };
        var adam = new Adam<double>(0.05);
        for (int s = 0; s < 150; s++) { o.Resample(100 + s, theta); adam.Step(theta, o.Evaluate); }
        Assert.InRange(theta[0], 0.97, 1.03);
        o.Resample(1000, theta);
        o.Evaluate(theta, g);
        Assert.InRange(o.LastEnergy, -0.5 - 0.002, -0.5 + 0.002);
    }
}
