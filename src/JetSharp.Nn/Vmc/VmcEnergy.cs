using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Runtime;
using JetSharp.Simplify;
using JetSharp.Transforms;

namespace JetSharp.Nn.Vmc;

/// <summary>Schedule of a <see cref="VmcEnergy"/> objective.</summary>
public sealed record VmcSettings
{
    /// <summary>Metropolis walkers (= samples per step).</summary>
    public int Walkers { get; init; } = 256;

    /// <summary>Adapting sweeps before the first step.</summary>
    public int BurnIn { get; init; } = 200;

    /// <summary>Sweeps between optimisation steps (decorrelation; the step size keeps adapting).</summary>
    public int SweepsPerStep { get; init; } = 4;

    /// <summary>
    /// Local energies further than this many mean absolute deviations from the median are pulled to that bound in
    /// the gradient weights only (not in the reported energy): rare E_L spikes near coalescences otherwise dominate
    /// a step. Infinity turns it off.
    /// </summary>
    public double ClipWidth { get; init; } = 5;

    /// <summary>Drop the electron–electron repulsion (a non-interacting reference system, for tests).</summary>
    public bool ElectronRepulsion { get; init; } = true;
}

/// <summary>
/// The variational energy E(θ) = ⟨ψ_θ|H|ψ_θ⟩/⟨ψ_θ|ψ_θ⟩ of a log-wavefunction as a training objective. Samples
/// come from <see cref="MetropolisSampler"/> walkers; the loss is Ē = mean E_L and its gradient the standard
/// estimator ∇_θE = 2⟨(E_L − Ē)∇_θ log|ψ|⟩, computed as the reverse-mode gradient of Σ_n w_n log|ψ(x_n)| with
/// weights w_n = 2(E_L,n − Ē)/N held constant (E_L clipped as <see cref="VmcSettings.ClipWidth"/> says).
/// </summary>
public sealed class VmcEnergy : IObjective<double>
{
    private readonly Executable _localEnergy, _gradient;
    private Executable? _jacobian;
    private readonly NDArray<double>[] _parameters;
    private readonly NDArray<double> _weights;
    private bool _burnedIn;

    public VmcEnergy(Molecule molecule, LogWavefunction logPsi, IReadOnlyList<Shape> parameterShapes, string architecture,
        VmcSettings? settings = null, Strategy? strategy = null, long seed = 0)
    {
        Settings = settings ?? new VmcSettings();
        if (Settings.Walkers < 2) throw new ArgumentOutOfRangeException(nameof(settings), $"VmcEnergy: need at least 2 walkers, got {Settings.Walkers}.");
        if (!(Settings.ClipWidth > 0)) throw new ArgumentOutOfRangeException(nameof(settings), $"VmcEnergy: the clip width must be positive, got {Settings.ClipWidth}.");
        Molecule = molecule;
        Architecture = architecture;
        ParameterShapes = [.. parameterShapes];
        Strategy = strategy ?? Strategy.Collapsed;
        int w = Settings.Walkers;
        var x = new Shape(w, molecule.Dimension);
        LogPsiGraph = Tracing.Tracer.Function(xs => logPsi(xs[1..], xs[0]), [x, .. ParameterShapes]);
        Sampler = new MetropolisSampler(molecule, LogPsiGraph, w, seed);
        LocalEnergyGraph = Hamiltonian.LocalEnergy(molecule, logPsi, ParameterShapes, w, Strategy, Settings.ElectronRepulsion);
        _localEnergy = new Executable(LocalEnergyGraph);
        var surrogate = Tracing.Tracer.Function(xs => Fn.Sum(xs[1] * logPsi(xs[2..], xs[0])), [x, new Shape(w, 1), .. ParameterShapes]);
        _gradient = new Executable(Simplifier.Simplify(Vjp.Grad(surrogate, [false, false, .. ParameterShapes.Select(_ => true)])));
        _parameters = [.. ParameterShapes.Select(s => new NDArray<double>(s))];
        _weights = new NDArray<double>(new Shape(w, 1));
    }

    /// <summary>The objective for a wavefunction (<see cref="SlaterJastrow"/>, <see cref="FermiNet"/>).</summary>
    public VmcEnergy(IWavefunction ansatz, VmcSettings? settings = null, Strategy? strategy = null, long seed = 0)
        : this(ansatz.Molecule, ansatz.LogPsi, ansatz.ParameterShapes, ansatz.Architecture, settings, strategy, seed) { }

    public Molecule Molecule { get; }
    public VmcSettings Settings { get; }
    public string Architecture { get; }
    public IReadOnlyList<Shape> ParameterShapes { get; }
    public Strategy Strategy { get; }
    public MetropolisSampler Sampler { get; }

    /// <summary>x [W, 3n], θ → log|ψ| [W, 1].</summary>
    public Graph LogPsiGraph { get; }

    /// <summary>x [W, 3n], θ → (E_L, log|ψ|, kinetic) each [W, 1].</summary>
    public Graph LocalEnergyGraph { get; }

    /// <summary>Mean and variance of E_L at the last <see cref="Evaluate"/>.</summary>
    public double LastEnergy { get; private set; } = double.NaN;
    public double LastVariance { get; private set; } = double.NaN;

    public void Resample(long step, double[] theta)
    {
        if (!_burnedIn) { Sampler.BurnIn(theta, Settings.BurnIn); _burnedIn = true; }
        else Sampler.SetParameters(theta);
        for (int s = 0; s < Settings.SweepsPerStep; s++) Sampler.Sweep(adapt: true);
    }

    /// <summary>E_L [W] at the current walkers for θ.</summary>
    public double[] LocalEnergies(ReadOnlySpan<double> theta) => Run(theta)[0].Data.ToArray();

    /// <summary>The kinetic energies −½(Δ log|ψ| + ‖∇ log|ψ|‖²) [W] at the current walkers for θ.</summary>
    public double[] KineticEnergies(ReadOnlySpan<double> theta) => Run(theta)[2].Data.ToArray();

    private NDArray<double>[] Run(ReadOnlySpan<double> theta)
    {
        ParameterVector.CopyTo(theta, _parameters);
        return _localEnergy.Run([Sampler.Walkers, .. _parameters]);
    }

    public double Evaluate(double[] theta, double[] gradient)
    {
        var el = LocalEnergies(theta);
        double mean = el.Average();
        LastEnergy = mean;
        LastVariance = el.Sum(e => (e - mean) * (e - mean)) / (el.Length - 1);
        Weights(el, Settings.ClipWidth).CopyTo(_weights.Data, 0);
        var outs = _gradient.Run([Sampler.Walkers, _weights, .. _parameters]);
        ParameterVector.Gather(outs[1..], gradient);
        return mean;
    }

    /// <summary>
    /// Local energies E_L [W] and the per-walker parameter Jacobian O [W, P], O[n, ·] = ∇_θ log|ψ(x_n)| (the flat θ's
    /// order), at the current walkers for θ: what stochastic reconfiguration needs. O comes from one reverse pass of the
    /// per-sample expanded log ψ (<see cref="PerSampleParameters"/>, <see cref="ResidualJacobian.Dense"/>), built on first
    /// use; it throws <see cref="NotSupportedException"/> naming the primitive if the ansatz feeds a parameter to an operation
    /// with no per-sample form. Also updates <see cref="LastEnergy"/> and <see cref="LastVariance"/>.
    /// </summary>
    public NDArray<double> Linearize(double[] theta, out double[] localEnergies)
    {
        ArgumentNullException.ThrowIfNull(theta);
        int p = ParameterVector.Count(ParameterShapes);
        if (theta.Length != p) throw new ShapeException($"VmcEnergy.Linearize: {theta.Length} parameters; the wavefunction has {p}.");
        _jacobian ??= new Executable(Pinn.PerSampleJacobian.Simplify(ResidualJacobian.Dense(
            PerSampleParameters.Expand(LogPsiGraph, [false, .. ParameterShapes.Select(_ => true)]), [false, .. ParameterShapes.Select(_ => true)])));
        localEnergies = LocalEnergies(theta);
        double mean = localEnergies.Average();
        LastEnergy = mean;
        LastVariance = localEnergies.Sum(e => (e - mean) * (e - mean)) / (localEnergies.Length - 1);
        return _jacobian.Run([Sampler.Walkers, .. _parameters])[1];
    }

    /// <summary>
    /// The gradient weights 2(Ẽ_n − mean Ẽ)/N, where Ẽ is E_L pulled into median ± width·(mean absolute deviation
    /// from the median). With width = ∞ these are exactly 2(E_L − Ē)/N.
    /// </summary>
    public static double[] Weights(double[] localEnergies, double width)
    {
        var e = localEnergies;
        if (double.IsFinite(width))
        {
            var sorted = e.Order().ToArray();
            double median = sorted[sorted.Length / 2];
            double mad = e.Average(v => Math.Abs(v - median));
            e = [.. e.Select(v => Math.Clamp(v, median - width * mad, median + width * mad))];
        }
        double mean = e.Average();
        return [.. e.Select(v => 2 * (v - mean) / e.Length)];
    }

    /// <summary>
    /// The energy at θ from <paramref name="sweeps"/> further sweeps with a fixed step (the walkers are assumed
    /// equilibrated): the series of walker-averaged E_L per sweep, analysed by <see cref="Blocking"/>. Also returns
    /// the variance of E_L over all samples.
    /// </summary>
    public (BlockingResult Energy, double Variance) Measure(double[] theta, int sweeps)
    {
        if (sweeps < 64) throw new ArgumentOutOfRangeException(nameof(sweeps), $"VmcEnergy.Measure: needs at least 64 sweeps for a blocking analysis, got {sweeps}.");
        if (!_burnedIn) { Sampler.BurnIn(theta, Settings.BurnIn); _burnedIn = true; }
        else Sampler.SetParameters(theta);
        var series = new double[sweeps];
        double sum = 0, sumSq = 0;
        long count = 0;
        for (int s = 0; s < sweeps; s++)
        {
            Sampler.Sweep(adapt: false);
            var el = LocalEnergies(theta);
            series[s] = el.Average();
            foreach (var v in el) { sum += v; sumSq += v * v; count++; }
        }
        double m = sum / count;
        return (Blocking.Analyse(series), (sumSq / count - m * m) * count / (count - 1));
    }
}
