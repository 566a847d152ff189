using JetSharp.Nn.Vmc;

namespace JetSharp.Tests.Vmc;

/// <summary>Bad molecules, walker shapes and parameters are refused with messages naming the operation and the shapes.</summary>
public class ValidationTests
{
    [Fact]
    public void BadMoleculesAreRefused()
    {
        Assert.Contains("at least one nucleus", Assert.Throws<ArgumentException>(() => new Molecule("X", [], 1, 0)).Message);
        Assert.Contains("positive", Assert.Throws<ArgumentException>(() => new Molecule("X", [new Nucleus(0, 0, 0, 0)], 1, 0)).Message);
        Assert.Contains("coincide", Assert.Throws<ArgumentException>(() => new Molecule("X", [new Nucleus(0, 0, 0, 1), new Nucleus(0, 0, 0, 1)], 1, 1)).Message);
        Assert.Contains("n↑ = 0 < n↓ = 1", Assert.Throws<ArgumentException>(() => new Molecule("X", [new Nucleus(0, 0, 0, 1)], 0, 1)).Message);
        Assert.Contains("at least one electron", Assert.Throws<ArgumentException>(() => new Molecule("X", [new Nucleus(0, 0, 0, 1)], 0, 0)).Message);
    }

    [Fact]
    public void AtomsFillSpinBlocksAndH2HasNuclearRepulsion()
    {
        Assert.Equal((2, 1), (Molecule.Lithium.Up, Molecule.Lithium.Down));
        Assert.Equal((2, 2), (Molecule.Beryllium.Up, Molecule.Beryllium.Down));
        Assert.Equal(1 / 1.4, Molecule.H2(1.4).NuclearRepulsion, 1e-15);
    }

    [Fact]
    public void WalkersOfTheWrongShapeAreRefused()
    {
        var he = Molecule.Helium;
        var e = Assert.Throws<ShapeException>(() => Tracer.Function(x => Hamiltonian.Potential(he, x), new Shape(4, 5)));
        Assert.Contains("Hamiltonian.Potential", e.Message);
        Assert.Contains("[N, 6]", e.Message);
        var ansatz = new SlaterJastrow(he);
        var p = Assert.Throws<ShapeException>(() => Tracer.Function(xs => ansatz.LogPsi(xs[2..], xs[0]), [new Shape(4, 6), new Shape(1), .. ansatz.ParameterShapes.Skip(1)]));
        Assert.Contains("SlaterJastrow", p.Message);
    }

    [Fact]
    public void SamplerNeedsTheWalkerShapeAndMeasureNeedsEnoughSweeps()
    {
        var he = Molecule.Helium;
        var g = Tracer.Function(x => Fn.Sum(x, 1, keepDims: true), new Shape(4, 6));
        Assert.Contains("[8, 6]", Assert.Throws<ShapeException>(() => new MetropolisSampler(he, g, 8, 0)).Message);
        var o = new VmcEnergy(new SlaterJastrow(he), new VmcSettings { Walkers = 4, BurnIn = 1 });
        Assert.Contains("SetParameters", Assert.Throws<InvalidOperationException>(() => o.Sampler.Sweep(adapt: false)).Message);
        Assert.Contains("64 sweeps", Assert.Throws<ArgumentOutOfRangeException>(() => o.Measure(new SlaterJastrow(he).InitialParameters(), 10)).Message);
    }
}
