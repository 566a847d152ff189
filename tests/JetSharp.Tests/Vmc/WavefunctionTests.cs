using JetSharp.Nn;
using JetSharp.Nn.Vmc;
using JetSharp.Runtime;

namespace JetSharp.Tests.Vmc;

/// <summary>
/// The multi-determinant wavefunctions (<see cref="FermiNet"/>, <see cref="SlaterJastrow"/> with K determinants and backflow):
/// the signed sum of determinants against explicit 2×2 determinants, antisymmetry, and the kinetic energy of the full ansatz
/// from the collapsed forward Laplacian against nested first-order AD and finite differences.
/// </summary>
public class WavefunctionTests
{
    public static TheoryData<string> Ansatze => ["ferminet", "slater-jastrow", "sj-multi", "sj-backflow"];

    private static IWavefunction Create(string kind, Molecule m) => kind switch
    {
        "ferminet" => new FermiNet(m, new FermiNetOptions { OneElectron = [6, 6], TwoElectron = [4], Determinants = 2 }, seed: 4),
        "sj-multi" => new SlaterJastrow(m, new SlaterJastrowOptions { OrbitalHidden = [6], JastrowHidden = [4], OutputScale = 1, Determinants = 3 }, seed: 4),
        "sj-backflow" => new SlaterJastrow(m, new SlaterJastrowOptions { OrbitalHidden = [6], JastrowHidden = [4], OutputScale = 1, Backflow = true }, seed: 4),
        _ => new SlaterJastrow(m, new SlaterJastrowOptions { OrbitalHidden = [6], JastrowHidden = [4], OutputScale = 1, Determinants = 3, Backflow = true }, seed: 4),
    };

    /// <summary>θ with every entry moved off its initial value (backflow a = 0 and equal biases would hide terms).</summary>
    private static NDArray<double>[] Parameters(IWavefunction psi)
    {
        var theta = psi.InitialParameters();
        var noise = TestUtil.Randn(99, theta.Length);
        for (int i = 0; i < theta.Length; i++) theta[i] += 0.1 * noise.Data[i];
        return ParameterVector.Unflatten(theta, psi.ParameterShapes);
    }

    [Fact]
    public void SignedSumOfDeterminantsMatchesExplicitTwoByTwoDeterminants()
    {
        var be = Molecule.Beryllium;   // 2↑ 2↓, K = 3 determinants: Φ [N, 4, 12]
        var phi = TestUtil.Randn(21, 5, 4, 12);
        var g = Tracer.Function(xs => { var (s, l) = Determinants.SignedLogSum(be, xs[0], 3); return [s, l]; }, [phi.Shape]);
        var o = new Executable(g).Run([phi]);
        for (int n = 0; n < 5; n++)
        {
            double At(int i, int k) => phi.Data[n * 48 + i * 12 + k];
            double psi = 0;
            for (int d = 0; d < 3; d++)
            {
                int c = 4 * d;
                double up = At(0, c) * At(1, c + 1) - At(0, c + 1) * At(1, c);
                double down = At(2, c + 2) * At(3, c + 3) - At(2, c + 3) * At(3, c + 2);
                psi += up * down;
            }
            Assert.Equal(Math.Sign(psi), o[0].Data[n]);
            Assert.Equal(Math.Log(Math.Abs(psi)), o[1].Data[n], 1e-12);
        }
        Assert.Contains("[N, 4, 8]", Assert.Throws<ShapeException>(() => Tracer.Function(xs => Determinants.SignedLogSum(be, xs[0], 2).LogAbs, [phi.Shape])).Message);
    }

    [Theory, MemberData(nameof(Ansatze))]
    public void ExchangingSameSpinElectronsFlipsTheSignOnly(string kind)
    {
        var be = Molecule.Beryllium;
        var psi = Create(kind, be);
        var ps = Parameters(psi);
        var run = new Executable(Tracer.Function(xs => { var (s, l) = psi.Evaluate(xs[1..], xs[0]); return [s, l]; }, [new Shape(3, 12), .. psi.ParameterShapes]));
        var x = TestUtil.Randn(15, 3, 12);
        var o = run.Run([x, .. ps]);
        foreach (var (i, j) in new[] { (0, 1), (2, 3) })
        {
            var s = run.Run([TestUtil.SwapParticles(x, i, j), .. ps]);
            for (int n = 0; n < 3; n++)
            {
                Assert.Equal(-o[0].Data[n], s[0].Data[n]);
                Assert.Equal(o[1].Data[n], s[1].Data[n], 1e-11);
            }
        }
        // An up and a down electron are not interchangeable: log|ψ| changes.
        Assert.True(Math.Abs(run.Run([TestUtil.SwapParticles(x, 0, 2), .. ps])[1].Data[0] - o[1].Data[0]) > 1e-6);
    }

    [Theory, MemberData(nameof(Ansatze))]
    public void KineticEnergyFromTheCollapsedLaplacianMatchesNestedAdAndFiniteDifferences(string kind)
    {
        var li = Molecule.Lithium;   // 2↑ 1↓, 9 coordinates
        var psi = Create(kind, li);
        var ps = Parameters(psi);
        // Coordinates ±[0.4, 1.5]: away from the nucleus, where differences of e^{−ζr} lose accuracy.
        var x = TestUtil.Rand(14, 0.4, 1.5, 3, 9);
        var signs = TestUtil.Randn(16, 3, 9);
        for (int i = 0; i < x.Size; i++) x.Data[i] *= Math.Sign(signs.Data[i]);
        var kinetic = new[] { Strategy.Collapsed, Strategy.NestedFirstOrder }
            .Select(s => new Executable(Hamiltonian.LocalEnergy(li, psi.LogPsi, psi.ParameterShapes, 3, s)).Run([x, .. ps])).ToList();

        var logPsi = new Executable(Tracer.Function(xs => psi.LogPsi(xs[1..], xs[0]), [x.Shape, .. psi.ParameterShapes]));
        double[] L(NDArray<double> p) => logPsi.Run([p, .. ps])[0].Data.ToArray();
        var l0 = L(x);
        for (int n = 0; n < 3; n++) Assert.Equal(l0[n], kinetic[0][1].Data[n], 1e-12);   // the same log|ψ| in both graphs
        double[] Fd(double h)
        {
            // One walker and one coordinate at a time (rows must not interact).
            var t = new double[3];
            for (int n = 0; n < 3; n++)
                for (int d = 0; d < 9; d++)
                {
                    var plus = x.Clone();
                    var minus = x.Clone();
                    plus.Data[9 * n + d] += h;
                    minus.Data[9 * n + d] -= h;
                    var (lp, lm) = (L(plus), L(minus));
                    for (int k = 0; k < 3; k++)
                        if (k != n) Assert.Equal(l0[k], lp[k], 1e-13);   // walker k does not see walker n
                    double g = (lp[n] - lm[n]) / (2 * h), lap = (lp[n] - 2 * l0[n] + lm[n]) / (h * h);
                    t[n] += -0.5 * (lap + g * g);
                }
            return t;
        }
        var (f1, f2) = (Fd(2e-4), Fd(1e-4));
        for (int n = 0; n < 3; n++)
        {
            double fd = (4 * f2[n] - f1[n]) / 3;   // Richardson: O(h⁴)
            double c = kinetic[0][2].Data[n], nested = kinetic[1][2].Data[n], scale = Math.Max(1, Math.Abs(c));
            Assert.True(Math.Abs(c - nested) < 1e-9 * scale && Math.Abs(c - fd) < 1e-5 * scale,
                $"walker {n}: collapsed {c}, nested {nested}, finite differences {fd}");
        }
    }

    [Fact]
    public void FermiNetCuspFactorKeepsTheLocalEnergyFiniteAtElectronCoalescence()
    {
        var he = Molecule.Helium;
        var psi = new FermiNet(he, new FermiNetOptions { OneElectron = [6, 6], TwoElectron = [4] }, seed: 5);
        var ps = Parameters(psi);
        var el = new Executable(Hamiltonian.LocalEnergy(he, psi.LogPsi, psi.ParameterShapes, 1));
        double[] u = [0.48, -0.6, 0.64];
        double At(double eps) => el.Run([new NDArray<double>(new Shape(1, 6), [0.3, 0.5, -0.2, 0.3 + eps * u[0], 0.5 + eps * u[1], -0.2 + eps * u[2]]), .. ps])[0].Data[0];
        double a = At(1e-3), b = At(1e-6);
        Assert.True(double.IsFinite(a) && double.IsFinite(b));
        Assert.True(Math.Abs(a - b) < 0.05, $"E_L at r₁₂ = 1e-3: {a}, at 1e-6: {b} (1/r₁₂ alone changes by 1e6)");
    }

    [Fact]
    public void BadOptionsAreRefused()
    {
        var be = Molecule.Beryllium;
        Assert.Contains("two-electron stream needs 1", Assert.Throws<ArgumentException>(() => new FermiNet(be, new FermiNetOptions { OneElectron = [4, 4], TwoElectron = [] })).Message);
        Assert.Contains("at least one determinant", Assert.Throws<ArgumentOutOfRangeException>(() => new FermiNet(be, new FermiNetOptions { Determinants = 0 })).Message);
        Assert.Contains("at least one determinant", Assert.Throws<ArgumentOutOfRangeException>(() => new SlaterJastrow(be, new SlaterJastrowOptions { Determinants = 0 })).Message);
        var psi = new FermiNet(be);
        Assert.Contains("FermiNet", Assert.Throws<ShapeException>(() => Tracer.Function(xs => psi.LogPsi(xs[1..], xs[0]), [new Shape(2, 12), .. psi.ParameterShapes.Skip(1)])).Message);
    }
}
