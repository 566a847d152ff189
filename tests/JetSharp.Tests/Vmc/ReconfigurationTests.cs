using JetSharp.Nn;
using JetSharp.Nn.Pinn;
using JetSharp.Nn.Vmc;
using JetSharp.Runtime;

namespace JetSharp.Tests.Vmc;

/// <summary>Stochastic reconfiguration: the per-walker ∇θ log|ψ| rows, the SPRING direction's optimality condition, and SR on hydrogen.</summary>
public class ReconfigurationTests
{
    [Fact]
    public void PerWalkerLogPsiGradientsMatchFiniteDifferences()
    {
        var he = Molecule.Helium;
        var psi = new FermiNet(he, new FermiNetOptions { OneElectron = [6, 6], TwoElectron = [4], Determinants = 2 }, seed: 2);
        var o = new VmcEnergy(psi, new VmcSettings { Walkers = 4, BurnIn = 5 }, seed: 3);
        var theta = psi.InitialParameters();
        o.Resample(0, theta);
        var jac = o.Linearize(theta, out var el);
        Assert.Equal(new Shape(4, theta.Length), jac.Shape);
        Assert.Equal(4, el.Length);
        var logPsi = new Executable(o.LogPsiGraph);
        double[] L(double[] t) => logPsi.Run([o.Sampler.Walkers, .. ParameterVector.Unflatten(t, psi.ParameterShapes)])[0].Data.ToArray();
        const double h = 1e-5;
        foreach (int k in new[] { 0, 7, theta.Length / 2, theta.Length - 3, theta.Length - 1 })
        {
            var (plus, minus) = ((double[])theta.Clone(), (double[])theta.Clone());
            plus[k] += h;
            minus[k] -= h;
            var (lp, lm) = (L(plus), L(minus));
            for (int n = 0; n < 4; n++) Assert.Equal((lp[n] - lm[n]) / (2 * h), jac.Data[n * theta.Length + k], 1e-6);
        }
    }

    [Fact]
    public void SpringDirectionSatisfiesTheNormalEquations()
    {
        // φ minimises ‖Jφ − b‖² + λ‖φ − μφ_prev‖²: Jᵀ(Jφ − b) + λ(φ − μφ_prev) = 0, in both solver forms (M < P: Woodbury).
        var j = TestUtil.Randn(41, 5, 9);
        var b = TestUtil.Randn(42, 5).Data.ToArray();
        var prev = TestUtil.Randn(43, 9).Data.ToArray();
        const double lambda = 0.3, mu = 0.8;
        foreach (var form in new[] { GramForm.Woodbury, GramForm.Parameter })
        {
            var spring = new SpringDirection { Previous = (double[])prev.Clone() };
            var phi = new double[9];
            spring.Compute(j, b, lambda, mu, form, phi);
            var r = new double[5];
            for (int m = 0; m < 5; m++) { for (int p = 0; p < 9; p++) r[m] += j.Data[m * 9 + p] * phi[p]; r[m] -= b[m]; }
            for (int p = 0; p < 9; p++)
            {
                double g = lambda * (phi[p] - mu * prev[p]);
                for (int m = 0; m < 5; m++) g += j.Data[m * 9 + p] * r[m];
                Assert.Equal(0, g, 1e-10);
            }
            Assert.Equal(phi, spring.Previous);
        }
        Assert.Contains("[0, 1)", Assert.Throws<ArgumentOutOfRangeException>(() => new SpringDirection().Compute(j, b, lambda, 1, GramForm.Auto, new double[9])).Message);
    }

    [Fact]
    public void StochasticReconfigurationFindsTheHydrogenExponent()
    {
        // ψ = e^{−αr}, E(α) = α²/2 − α, minimum at α = 1.
        var o = new VmcEnergy(Molecule.Hydrogen,
            (p, x) => Fn.Reshape(-(Fn.Sum(Geometry.ElectronNucleus(Molecule.Hydrogen, x).Distance, [1, 2]) * p[0]), x.Shape[0], 1),
            [new Shape()], "e^{−αr}", new VmcSettings { Walkers = 256, BurnIn = 100, SweepsPerStep = 2, ClipWidth = double.PositiveInfinity }, seed: 34);
        var theta = new[] { 0.6 };
        var sr = new StochasticReconfiguration(o, LearningRate.Constant(0.3), new SrOptions { Momentum = 0.5, MaxChange = 1 });
        for (int s = 0; s < 40; s++) { o.Resample(s, theta); sr.Step(theta, o.Evaluate); }
        Assert.InRange(theta[0], 0.97, 1.03);
        Assert.Equal("spring", sr.Name);
        Assert.Equal(40, sr.SaveState().Steps);
    }
}
