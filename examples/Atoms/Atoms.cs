using System.Diagnostics;
using JetSharp.Nn;
using JetSharp.Nn.Vmc;

namespace JetSharp.Examples;

/// <summary>The optimiser of an atom example: Adam on the energy gradient, or stochastic reconfiguration with SPRING momentum.</summary>
public enum AtomOptimizer { Adam, Spring }

/// <summary>Sizes and schedule of an atom/molecule VMC run.</summary>
public sealed record AtomConfig
{
    /// <summary>The Slater–Jastrow sizes (used unless <see cref="FermiNet"/> is set).</summary>
    public required SlaterJastrowOptions Ansatz { get; init; }

    /// <summary>When set, the wavefunction is a <see cref="Nn.Vmc.FermiNet"/> of these sizes instead of Slater–Jastrow.</summary>
    public FermiNetOptions? FermiNet { get; init; }

    public AtomOptimizer Optimizer { get; init; } = AtomOptimizer.Adam;

    /// <summary>Damping, momentum and trust radius of SPRING (its step size η is <see cref="LearningRate"/>).</summary>
    public SrOptions Sr { get; init; } = new();
    public required VmcSettings Sampling { get; init; }
    public required int Steps { get; init; }
    /// <summary>Initial step size (Adam's rate, or SPRING's η), decaying exponentially to <see cref="FinalLearningRate"/>.</summary>
    public double LearningRate { get; init; } = 1e-2;
    public double FinalLearningRate { get; init; } = 1e-3;

    /// <summary>Sweeps (fixed step) of the final energy measurement, analysed by blocking.</summary>
    public int MeasureSweeps { get; init; } = 2000;
}

/// <summary>
/// Variational Monte Carlo for an atom or molecule with fixed nuclei: a <see cref="SlaterJastrow"/> wavefunction
/// (neural orbitals × exponential envelopes, log|det| per spin block, Padé e–e cusp and an e–e–n Jastrow network)
/// optimised with Adam on the variational energy (gradient 2⟨(E_L − Ē)∇θ log|ψ|⟩), local energies from the collapsed
/// forward Laplacian, samples from adaptive Metropolis walkers, and the final energy with a blocking error bar.
/// See docs/examples/atoms.md.
/// </summary>
public class AtomExample(string name, Molecule molecule, double exact, string reference, double target = 1e-3) : Example
{
    public override string Name => name;
    public override string Summary
    {
        get
        {
            var c = Config(fast: false);
            return $"VMC for {molecule.Name} ({molecule.Up}↑{molecule.Down}↓): {(c.FermiNet is null ? "Slater–Jastrow" : "FermiNet-style")} ansatz, E_L from the collapsed forward Laplacian, " +
                $"{(c.Optimizer == AtomOptimizer.Adam ? "Adam" : "SR with SPRING momentum")}, blocking error bar";
        }
    }

    /// <summary>The wavefunction a configuration describes.</summary>
    public IWavefunction Wavefunction(AtomConfig config, long seed) => config.FermiNet is { } f
        ? new FermiNet(molecule, f, seed)
        : new SlaterJastrow(molecule, config.Ansatz, seed);

    public Molecule Molecule => molecule;

    /// <summary>The exact non-relativistic energy (hartree) and its source.</summary>
    public double Exact => exact;
    public string Reference => reference;

    /// <summary>How close to the exact energy the full run promises to end (1 mHa; Be: 15 mHa).</summary>
    public double Target => target;

    public virtual AtomConfig Config(bool fast) => fast
        ? new AtomConfig
        {
            // Networks at full initial scale: ψ starts visibly off the envelope product, so a few steps lower the energy
            // by more than the noise of 64 walkers.
            Ansatz = new SlaterJastrowOptions { OrbitalHidden = [8], JastrowHidden = [8], OutputScale = 1 },
            Sampling = new VmcSettings { Walkers = 64, BurnIn = 50, SweepsPerStep = 2 },
            Steps = 12, LearningRate = 3e-2, FinalLearningRate = 1e-2, MeasureSweeps = 64,
        }
        : new AtomConfig
        {
            Ansatz = new SlaterJastrowOptions { OrbitalHidden = [16, 16], JastrowHidden = [16, 16] },
            Sampling = new VmcSettings { Walkers = 512, BurnIn = 300, SweepsPerStep = 4 },
            Steps = 6000, LearningRate = 1e-2, FinalLearningRate = 5e-4, MeasureSweeps = 2000,
        };

    public override IObjective<double> CreateObjective(bool fast, Strategy? strategy = null, long seed = 0) =>
        new VmcEnergy(Wavefunction(Config(fast), seed), Config(fast).Sampling, strategy, seed);

    public override double[] InitialParameters(bool fast, long seed = 0) => Wavefunction(Config(fast), seed).InitialParameters();

    public override ExampleResult Run(ExampleOptions options)
    {
        CheckPrecision(options);   // VMC trains in float64 (local energies cancel to well below float32 resolution)
        var wall = Stopwatch.StartNew();
        var config = Config(options.Fast);
        var log = options.Log ?? (_ => { });
        var ansatz = Wavefunction(config, options.Seed);
        var objective = new VmcEnergy(ansatz, config.Sampling, Strategy.Collapsed, options.Seed);
        log($"{Name}: {Summary}");
        log($"ψ = {ansatz.Architecture}; {ParameterVector.Count(ansatz.ParameterShapes)} parameters; {config.Sampling.Walkers} walkers, {config.Sampling.SweepsPerStep} sweeps per step; exact E = {exact} Ha ({reference})");

        int steps = Math.Max(1, (int)Math.Round(config.Steps * options.StepScale));
        var rate = LearningRate.Exponential(config.LearningRate, config.FinalLearningRate / config.LearningRate, steps);
        IOptimizer<double> optimizer = config.Optimizer == AtomOptimizer.Adam ? new Adam<double>(rate) : new StochasticReconfiguration(objective, rate, config.Sr);
        log($"optimiser: {optimizer}");
        var trainer = new Trainer<double>(objective, ansatz.InitialParameters(), [new TrainingPhase<double>(optimizer, steps)], new TrainerOptions<double>
        {
            Error = _ => Math.Abs(objective.LastEnergy - exact),
            ErrorEvery = options.Fast ? 1 : 10,
            Progress = options.Progress,
            ProgressEvery = options.Fast ? 1 : 5,
            TimeBudget = options.TimeBudget,
            CheckpointPath = options.CheckpointPath,
            CheckpointEvery = options.CheckpointEvery,
            Cancellation = options.Cancellation,
            Metadata = new Dictionary<string, string> { ["example"] = Name, ["seed"] = options.Seed.ToString(), ["fast"] = options.Fast.ToString() },
        });
        if (options.Resume)
        {
            if (options.CheckpointPath is not { } path) throw new ArgumentException($"{Name}: resuming needs a checkpoint path.");
            trainer.Restore(path);
            log($"resumed from {path} at step {trainer.Step} (walkers burn in again)");
        }
        var training = trainer.Run();

        log($"measuring: {config.MeasureSweeps} sweeps × {config.Sampling.Walkers} walkers, blocking analysis");
        var (energy, variance) = objective.Measure(trainer.Parameters, config.MeasureSweeps);
        double error = Math.Abs(energy.Mean - exact);

        var figures = new List<string>();
        if (options.OutputDirectory is { } dir)
            figures.Add(Reporting.LossCurve(training.History, dir, $"{Name}: energy Ē during training (exact {exact})", "energy Ē (Ha)", errorName: "|Ē − E_exact| (Ha)", logY: false, reference: exact));

        var timings = new List<StrategyTiming>();
        var rows = new List<(int, IReadOnlyList<StrategyTiming>)>();
        if (options.CompareStrategies)
        {
            int n = config.Sampling.Walkers;
            log($"timing a training step with {n} walkers: collapsed vs nested first-order");
            var t = Reporting.TimeSteps(s =>
            {
                var o = new VmcEnergy(Wavefunction(config, options.Seed), config.Sampling, s, options.Seed);
                objective.Sampler.Walkers.Data.CopyTo(o.Sampler.Walkers.Data, 0);   // the same (trained) walkers, no moves
                return new FixedWalkers(o);
            }, trainer.Parameters, [Strategy.Collapsed, Strategy.NestedFirstOrder], options.Fast ? 1 : 5);
            rows.Add((n, t));
            timings.AddRange(t);
        }

        return new ExampleResult
        {
            Name = Name,
            ErrorName = "energy error |E − E_exact| (Ha)",
            Error = error,
            Target = Target,
            Training = training,
            WallTime = wall.Elapsed,
            Figures = figures,
            Timings = timings,
            TimingSweep = rows,
            TimingSizeName = "walkers",
            Details =
            [
                ("energy", $"{energy.Mean:0.000000} ± {energy.StandardError:0.000000} Ha (exact {exact}, {reference}); blocking plateau at {energy.ChosenBlockLength} sweeps, τ ≈ {energy.AutocorrelationTime:0.0} sweeps"),
                ("variance of E_L", $"{variance:0.####}"),
                ("wavefunction", ansatz.Architecture),
                ("parameters", ParameterVector.Count(ansatz.ParameterShapes).ToString()),
                ("walkers", $"{config.Sampling.Walkers}, {config.Sampling.SweepsPerStep} sweeps per step, acceptance {objective.Sampler.Acceptance:0.00}, step {objective.Sampler.StepSize:0.###} bohr"),
            ],
        };
    }

    /// <summary>The objective on fixed walkers (no Metropolis moves): times the loss-and-gradient part alone.</summary>
    private sealed class FixedWalkers(VmcEnergy inner) : IObjective<double>
    {
        public string Architecture => inner.Architecture;
        public IReadOnlyList<Shape> ParameterShapes => inner.ParameterShapes;
        public void Resample(long step, double[] theta) => inner.Sampler.SetParameters(theta);
        public double Evaluate(double[] theta, double[] gradient) => inner.Evaluate(theta, gradient);
    }
}

/// <summary><c>he</c>: the helium atom, exact non-relativistic energy −2.903724 Ha.</summary>
public sealed class Helium() : AtomExample("he", Molecule.Helium, -2.903724377, "Pekeris 1958 / Drake: −2.903724377 Ha");

/// <summary><c>h2</c>: the hydrogen molecule at R = 1.4011 bohr, exact (Born–Oppenheimer) energy −1.174475 Ha.</summary>
public sealed class HydrogenMolecule() : AtomExample("h2", Molecule.H2(1.4011), -1.174475714, "Kołos–Wolniewicz / Pachucki at R = 1.4011 bohr: −1.174475714 Ha");

/// <summary><c>li</c>: the lithium atom (2↑1↓), exact non-relativistic energy −7.478060 Ha.</summary>
public sealed class Lithium() : AtomExample("li", Molecule.Lithium, -7.47806032, "Puchalski–Pachucki: −7.47806032 Ha");

/// <summary><c>be-sj</c>: the beryllium atom with a Slater–Jastrow wavefunction of four determinants (room for 1s²2s² and the 1s²2p² configurations of the 2s–2p near-degeneracy) and backflow, Adam.</summary>
public sealed class BerylliumSlaterJastrow() : AtomExample("be-sj", Molecule.Beryllium, -14.66735649, "Pachucki–Komasa: −14.66735649 Ha", target: 15e-3)
{
    public override AtomConfig Config(bool fast) => BerylliumVariants.MultiDeterminant(base.Config(fast));
}

/// <summary><c>be</c>: the beryllium atom (2↑2↓, exact non-relativistic energy −14.667356 Ha) with the compact FermiNet-style network, optimised by SPRING.</summary>
public sealed class Beryllium() : AtomExample("be", Molecule.Beryllium, -14.66735649, "Pachucki–Komasa: −14.66735649 Ha", target: 15e-3)
{
    public override AtomConfig Config(bool fast) => base.Config(fast) with
    {
        FermiNet = fast ? new FermiNetOptions { OneElectron = [8, 8], TwoElectron = [4], Determinants = 2 }
                        : new FermiNetOptions { OneElectron = [24, 24, 24], TwoElectron = [8, 8], Determinants = 4 },
        Sampling = fast ? base.Config(fast).Sampling with { BurnIn = 300 } : base.Config(fast).Sampling,
        Optimizer = AtomOptimizer.Spring,
        Steps = fast ? 12 : 800,
        LearningRate = 0.05,
        FinalLearningRate = fast ? 0.05 : 0.01,
        MeasureSweeps = fast ? 64 : 500,
    };
}

internal static class BerylliumVariants
{
    /// <summary>Four determinants with backflow; 2000 steps and 500 measurement sweeps, so that training and measurement fit in 30 minutes on 2 shared cores.</summary>
    public static AtomConfig MultiDeterminant(AtomConfig c) => c with
    {
        Ansatz = c.Ansatz with { Determinants = 4, Backflow = true },
        Sampling = c.Steps == 6000 ? c.Sampling : c.Sampling with { BurnIn = 300 },   // fast: equilibrate the 64 walkers first
        Steps = c.Steps == 6000 ? 2000 : c.Steps,
        FinalLearningRate = c.Steps == 6000 ? 1e-3 : c.FinalLearningRate,
        MeasureSweeps = c.Steps == 6000 ? 500 : c.MeasureSweeps,
    };
}
