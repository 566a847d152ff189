using JetSharp.Examples;
using JetSharp.Nn;

namespace JetSharp.Tests.Examples;

public class VmcTests
{
    private static readonly VmcConfig Small = new VmcOscillator().Config(fast: true);

    [Fact]
    public void TheExactGroundStateHasConstantLocalEnergy()
    {
        // With α = ½ and a network that outputs 0 (all parameters 0), ψ = exp(−‖x‖²/2): E_L ≡ D/2.
        var o = new VmcObjective(Small with { Envelope = 0.5 });
        var theta = new double[o.InitialParameters().Length];
        o.Resample(0, theta);
        var el = o.LocalEnergies(theta);
        Assert.All(el, e => Assert.Equal(Small.Dimension / 2.0, e, 1e-12));
        var grad = new double[theta.Length];
        Assert.Equal(Small.Dimension / 2.0, o.Evaluate(theta, grad), 1e-12);
        Assert.Equal(0, o.LastVariance, 1e-20);
        Assert.All(grad, g => Assert.Equal(0, g, 1e-12));
    }

    [Fact]
    public void LocalEnergyMatchesFiniteDifferencesOfLogPsi()
    {
        var o = new VmcObjective(Small);
        var theta = o.InitialParameters();
        o.Resample(0, theta);
        var el = o.LocalEnergies(theta);
        int w = Small.Walkers, d = Small.Dimension;
        var x = o.Walkers.Clone();
        var logPsi = o.LogPsiValues(theta, x);
        const double h = 1e-4;
        var grad2 = new double[w];
        var lap = new double[w];
        for (int j = 0; j < d; j++)
        {
            var plus = x.Clone();
            var minus = x.Clone();
            for (int n = 0; n < w; n++) { plus.Data[n * d + j] += h; minus.Data[n * d + j] -= h; }
            var fp = o.LogPsiValues(theta, plus);
            var fm = o.LogPsiValues(theta, minus);
            for (int n = 0; n < w; n++)
            {
                double g = (fp[n] - fm[n]) / (2 * h);
                grad2[n] += g * g;
                lap[n] += (fp[n] - 2 * logPsi[n] + fm[n]) / (h * h);
            }
        }
        for (int n = 0; n < w; n++)
        {
            double r2 = 0;
            for (int j = 0; j < d; j++) r2 += x.Data[n * d + j] * x.Data[n * d + j];
            double expected = -0.5 * (lap[n] + grad2[n]) + 0.5 * r2;
            Assert.Equal(expected, el[n], 1e-5);
        }
    }

    [Fact]
    public void EnergyGradientIsTheGradientOfTheWeightedLogPsiSum()
    {
        // ∇E = 2 mean((E_L − Ē) ∇ log ψ) = ∇_θ Σ_n w_n log ψ(x_n; θ) with w_n = 2(E_L − Ē)/N held fixed.
        var o = new VmcObjective(Small);
        var theta = o.InitialParameters();
        o.Resample(0, theta);
        var grad = new double[theta.Length];
        o.Evaluate(theta, grad);
        var w = VmcObjective.Weights(o.LocalEnergies(theta));
        Assert.Equal(0, w.Sum(), 1e-12);
        ExampleTests.CheckAgainstDifferences(theta, grad, t => o.Surrogate(t, w), "vmc");
    }

    [Fact]
    public void MetropolisSamplesTheGaussianDensity()
    {
        // For the exact ground state |ψ|² is N(0, ½ I): the walkers' second moment per coordinate is ½.
        var o = new VmcObjective(Small with { Envelope = 0.5, Walkers = 400, BurnIn = 100 });
        var theta = new double[o.InitialParameters().Length];
        double sum = 0;
        int count = 0;
        for (int s = 0; s < 10; s++)
        {
            o.Resample(s, theta);
            foreach (var v in o.Walkers.Data) { sum += v * v; count++; }
        }
        Assert.Equal(0.5, sum / count, 0.03);
        Assert.InRange(o.Acceptance, 0.3, 0.7);
    }

    [Fact]
    public void SamplingIsReproducibleBySeed()
    {
        double[] Walk(long seed)
        {
            var o = new VmcObjective(Small, seed: seed);
            var theta = o.InitialParameters();
            o.Resample(0, theta);
            o.Resample(1, theta);
            return o.Walkers.ToArray();
        }
        Assert.Equal(Walk(4), Walk(4));
        Assert.NotEqual(Walk(4), Walk(5));
    }

    [Fact]
    public void BadConfigurationsAreRejected()
    {
        Assert.Contains("envelope", Assert.Throws<ArgumentOutOfRangeException>(() => new VmcObjective(Small with { Envelope = 0 })).Message);
        Assert.Contains("walkers", Assert.Throws<ArgumentException>(() => new VmcObjective(Small with { Walkers = 1 })).Message);
    }
}
