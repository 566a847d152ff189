using JetSharp.Nn;
using JetSharp.Nn.Vmc;
using JetSharp.Runtime;

namespace JetSharp.Tests.Vmc;

/// <summary>Local energies of wavefunctions with closed-form energies, the potential, and the kinetic energy of the full ansatz by three methods.</summary>
public class HamiltonianTests
{
    public static TheoryData<string> Strategies => ["Collapsed", "StandardTaylor", "NestedFirstOrder"];

    private static NDArray<double>[] LocalEnergy(Molecule m, LogWavefunction f, NDArray<double> x, Strategy s, bool ee = true) =>
        new Executable(Hamiltonian.LocalEnergy(m, f, [], x.Shape[0], s, ee)).Run([x]);

    /// <summary>Σ_i Σ_I |r_i − R_I| [N] (as a node).</summary>
    private static Node SumOfNuclearDistances(Molecule m, Node x) => Fn.Sum(Geometry.ElectronNucleus(m, x).Distance, [1, 2]);

    [Theory, MemberData(nameof(Strategies))]
    public void HydrogenGroundStateHasLocalEnergyMinusOneHalfEverywhere(string strategy)
    {
        var h = Molecule.Hydrogen;
        var x = TestUtil.Randn(11, 16, 3);
        var outs = LocalEnergy(h, (_, x) => Fn.Reshape(-SumOfNuclearDistances(h, x), x.Shape[0], 1), x, Strategy.FromName(strategy));
        Assert.All(outs[0].Data.ToArray(), e => Assert.Equal(-0.5, e, 1e-12));
    }

    [Theory, MemberData(nameof(Strategies))]
    public void NonInteractingHeliumProductStateHasEnergyMinusZSquared(string strategy)
    {
        // ψ = e^{−2 r₁} e^{−2 r₂} solves H without e–e repulsion with E = −Z² = −4; with it, E_L = −4 + 1/r₁₂.
        var he = Molecule.Helium;
        var x = TestUtil.Randn(12, 16, 6);
        LogWavefunction f = (_, x) => Fn.Reshape(SumOfNuclearDistances(he, x) * -2.0, x.Shape[0], 1);
        var free = LocalEnergy(he, f, x, Strategy.FromName(strategy), ee: false)[0];
        var full = LocalEnergy(he, f, x, Strategy.FromName(strategy))[0];
        for (int n = 0; n < 16; n++)
        {
            Assert.Equal(-4, free.Data[n], 1e-12);
            double dx = x.Data[6 * n] - x.Data[6 * n + 3], dy = x.Data[6 * n + 1] - x.Data[6 * n + 4], dz = x.Data[6 * n + 2] - x.Data[6 * n + 5];
            Assert.Equal(-4 + 1 / Math.Sqrt(dx * dx + dy * dy + dz * dz), full.Data[n], 1e-11);
        }
    }

    [Fact]
    public void PotentialMatchesADirectSumForAMolecule()
    {
        // Two nuclei of different charge, 3 electrons: every Coulomb term, summed by loops.
        var m = new Molecule("LiH+", [new Nucleus(0.1, -0.2, -1.5, 3), new Nucleus(0.3, 0.2, 1.5, 1)], 2, 1);
        var x = TestUtil.Randn(13, 8, 9);
        var v = TestUtil.Eval(xs => Hamiltonian.Potential(m, xs[0]), x);
        for (int n = 0; n < 8; n++)
        {
            double[] r(int i) => [x.Data[9 * n + 3 * i], x.Data[9 * n + 3 * i + 1], x.Data[9 * n + 3 * i + 2]];
            static double dist(double[] a, double[] b) => Math.Sqrt(a.Zip(b, (p, q) => (p - q) * (p - q)).Sum());
            double expected = 3 * 1 / dist([0.1, -0.2, -1.5], [0.3, 0.2, 1.5]);
            for (int i = 0; i < 3; i++)
            {
                foreach (var nuc in m.Nuclei) expected -= nuc.Charge / dist(r(i), [nuc.X, nuc.Y, nuc.Z]);
                for (int j = i + 1; j < 3; j++) expected += 1 / dist(r(i), r(j));
            }
            Assert.Equal(expected, v.Data[n], 1e-12);
        }
    }

    [Fact]
    public void KineticEnergyOfTheFullAnsatzAgreesAcrossStrategiesAndFiniteDifferences()
    {
        var li = Molecule.Lithium;
        var ansatz = new SlaterJastrow(li, new SlaterJastrowOptions { OrbitalHidden = [8], JastrowHidden = [6], OutputScale = 1 }, seed: 3);
        var theta = ansatz.InitialParameters();
        var ps = ParameterVector.Unflatten(theta, ansatz.ParameterShapes);
        // Coordinates ±[0.4, 1.5] (no electron within 0.69 bohr of the nucleus, where differences of e^{−ζr} lose accuracy).
        var x = TestUtil.Rand(14, 0.4, 1.5, 4, 9);
        var signs = TestUtil.Randn(16, 4, 9);
        for (int i = 0; i < x.Size; i++) x.Data[i] *= Math.Sign(signs.Data[i]);
        var results = new[] { Strategy.Collapsed, Strategy.StandardTaylor, Strategy.NestedFirstOrder }.Select(s => new Executable(Hamiltonian.LocalEnergy(li, ansatz.LogPsi, ansatz.ParameterShapes, 4, s))
            .Run([x, .. ps])[2].Data.ToArray()).ToList();

        // −½(Δ log ψ + |∇ log ψ|²) by central differences of log ψ.
        var logPsi = new Executable(Tracer.Function(xs => ansatz.LogPsi(xs[1..], xs[0]), [x.Shape, .. ansatz.ParameterShapes]));
        double[] L(NDArray<double> p) => logPsi.Run([p, .. ps])[0].Data.ToArray();
        var l0 = L(x);
        // Richardson extrapolation of central differences (error O(h⁴)).
        var (f1, f2) = (Fd(2e-4), Fd(1e-4));
        var fd = f1.Zip(f2, (a, b) => (4 * b - a) / 3).ToArray();
        double[] Fd(double h) {
        var fd = new double[4];
        for (int d = 0; d < 9; d++)
        {
            var plus = x.Clone();
            var minus = x.Clone();
            for (int n = 0; n < 4; n++) { plus.Data[9 * n + d] += h; minus.Data[9 * n + d] -= h; }
            var lp = L(plus);
            var lm = L(minus);
            for (int n = 0; n < 4; n++)
            {
                double g = (lp[n] - lm[n]) / (2 * h), lap = (lp[n] - 2 * l0[n] + lm[n]) / (h * h);
                fd[n] += -0.5 * (lap + g * g);
            }
        }
        return fd; }
        for (int n = 0; n < 4; n++)
        {
            Assert.Equal(results[0][n], results[1][n], 1e-9 * Math.Max(1, Math.Abs(results[0][n])));
            Assert.Equal(results[0][n], results[2][n], 1e-9 * Math.Max(1, Math.Abs(results[0][n])));
            Assert.Equal(results[0][n], fd[n], 1e-5 * Math.Max(1, Math.Abs(results[0][n])));
        }
    }

    [Fact]
    public void ElectronElectronCuspKeepsTheLocalEnergyFiniteAtCoalescence()
    {
        // As r₁₂ → 0 the potential 1/r₁₂ diverges; the Padé cusp term cancels it in E_L for any θ.
        var he = Molecule.Helium;
        var ansatz = new SlaterJastrow(he, new SlaterJastrowOptions { OrbitalHidden = [8], JastrowHidden = [6], OutputScale = 1 }, seed: 5);
        var theta = ansatz.InitialParameters();
        var ps = ParameterVector.Unflatten(theta, ansatz.ParameterShapes);
        var el = new Executable(Hamiltonian.LocalEnergy(he, ansatz.LogPsi, ansatz.ParameterShapes, 1));
        double[] u = [0.48, -0.6, 0.64];   // unit vector
        double At(double eps) => el.Run([new NDArray<double>(new Shape(1, 6), [0.3, 0.5, -0.2, 0.3 + eps * u[0], 0.5 + eps * u[1], -0.2 + eps * u[2]]), .. ps])[0].Data[0];
        double a = At(1e-3), b = At(1e-6);
        Assert.True(Math.Abs(a - b) < 0.05, $"E_L at r₁₂ = 1e-3: {a}, at 1e-6: {b} (the potential alone differs by ~1e6)");
    }

    [Fact]
    public void SlaterDeterminantIsAntisymmetricUnderSameSpinExchange()
    {
        var be = Molecule.Beryllium;   // 2↑ 2↓
        var ansatz = new SlaterJastrow(be, new SlaterJastrowOptions { OrbitalHidden = [8], JastrowHidden = [6], OutputScale = 1 }, seed: 7);
        var ps = ParameterVector.Unflatten(ansatz.InitialParameters(), ansatz.ParameterShapes);
        var g = Tracer.Function(xs => { var (s, l) = ansatz.Evaluate(xs[1..], xs[0]); return [s, l]; }, [new Shape(3, 12), .. ansatz.ParameterShapes]);
        var run = new Executable(g);
        var x = TestUtil.Randn(15, 3, 12);
        var o = run.Run([x, .. ps]);
        foreach (var (i, j) in new[] { (0, 1), (2, 3) })
        {
            var s = run.Run([TestUtil.SwapParticles(x, i, j), .. ps]);
            for (int n = 0; n < 3; n++)
            {
                Assert.Equal(-o[0].Data[n], s[0].Data[n]);
                Assert.Equal(o[1].Data[n], s[1].Data[n], 1e-12);
            }
        }
        // Exchanging an up and a down electron is no symmetry of this ansatz: log|ψ| changes.
        var mixed = run.Run([TestUtil.SwapParticles(x, 0, 2), .. ps]);
        Assert.True(Math.Abs(mixed[1].Data[0] - o[1].Data[0]) > 1e-6);
    }
}
