using System.Diagnostics;
using JetSharp.Nn;
using JetSharp.Plotting;
using JetSharp.Runtime;
using JetSharp.Simplify;
using JetSharp.Transforms;

namespace JetSharp.Examples;

/// <summary>Sizes and schedule of the VMC example.</summary>
public sealed record VmcConfig
{
    public required int Dimension { get; init; }
    public required int[] Hidden { get; init; }

    /// <summary>Metropolis walkers (= samples per step).</summary>
    public required int Walkers { get; init; }

    public required int Steps { get; init; }
    public double LearningRate { get; init; } = 1e-2;
    public double FinalLearningRate { get; init; } = 1e-3;

    /// <summary>Fixed width α of the Gaussian envelope exp(−α‖x‖²) (¼: deliberately not the exact ½, so the network must learn the rest).</summary>
    public double Envelope { get; init; } = 0.25;

    /// <summary>Metropolis sweeps before the first step (and after a resume).</summary>
    public int BurnIn { get; init; } = 200;

    /// <summary>Metropolis sweeps between training steps (decorrelates the samples).</summary>
    public int SweepsPerStep { get; init; } = 5;

    /// <summary>Blocks of <see cref="SweepsPerStep"/> sweeps for the final energy estimate.</summary>
    public int EvaluationBlocks { get; init; } = 40;
}

/// <summary>
/// The variational energy of ψ_θ for H = −½Δ + ½‖x‖² as a training objective. Samples x ~ |ψ_θ|²/∫|ψ_θ|²
/// come from Metropolis–Hastings walkers (Gaussian random-walk proposals, seeded); the local energy
/// E_L = Hψ/ψ = −½(Δ log ψ + ‖∇ log ψ‖²) + ½‖x‖² needs log ψ, its gradient and its Laplacian in x, all
/// from one collapsed 2-jet (<see cref="ValueGradientLaplacian"/>, the "forward Laplacian"). The loss
/// is Ē = mean E_L and its gradient the standard estimator
/// ∇_θ E = 2·E[(E_L − Ē)·∇_θ log ψ], computed as the reverse-mode gradient of Σ_n w_n log ψ(x_n) with
/// the weights w_n = 2(E_L(x_n) − Ē)/N held constant.
/// </summary>
public sealed class VmcObjective : IObjective<double>
{
    private readonly VmcConfig _config;
    private readonly Mlp _net;
    private readonly long _seed;
    private readonly Executable _logPsi, _localEnergy, _gradient;
    private readonly NDArray<double>[] _parameters;
    private readonly NDArray<double> _walkers, _proposal, _weights;
    private double[] _walkerLogPsi = [];
    private bool _equilibrated;

    /// <summary>The objective for <paramref name="config"/>; a null <paramref name="strategy"/> means <see cref="Strategy.Collapsed"/>.</summary>
    public VmcObjective(VmcConfig config, Strategy? strategy = null, long seed = 0)
    {
        if (config.Dimension <= 0 || config.Walkers <= 1) throw new ArgumentException($"VmcObjective: need D ≥ 1 and at least 2 walkers, got D = {config.Dimension}, {config.Walkers} walkers.");
        if (!(config.Envelope > 0)) throw new ArgumentOutOfRangeException(nameof(config), $"VmcObjective: the envelope width α must be positive (it makes ψ normalisable), got {config.Envelope}.");
        _config = config;
        _seed = seed;
        Strategy = strategy ?? Strategy.Collapsed;
        _net = Mlp.Create(config.Dimension, config.Hidden, 1, Activation.Tanh, seed);
        int w = config.Walkers, d = config.Dimension;
        var shapes = _net.ParameterShapes;
        var x = new Shape(w, d);

        var logPsi = Tracer.Function(xs => LogPsi(xs[1..], xs[0]), [x, .. shapes]);
        _logPsi = new Executable(logPsi);

        // E_L from value, gradient and Laplacian of log ψ in one pass.
        var vgl = ValueGradientLaplacian.Build(logPsi, Strategy);
        var el = new Graph(DType.Float64);
        var xe = el.Input(x, "x");
        var pe = shapes.Select((s, i) => el.Input(s, $"θ{i}")).ToArray();
        var outs = Inline.Apply(vgl, [xe, .. pe]);
        var kinetic = (outs[2] + Fn.Sum(outs[1] * outs[1], 1, keepDims: true)) * -0.5;
        el.SetOutputs(kinetic + Fn.Sum(xe * xe, 1, keepDims: true) * 0.5);
        LocalEnergyGraph = el;
        _localEnergy = new Executable(el);

        // Σ_n w_n log ψ(x_n) and its gradient with respect to θ only (w is an input: held constant).
        var surrogate = Tracer.Function(xs => Fn.Sum(xs[1] * LogPsi(xs[2..], xs[0])), [x, new Shape(w, 1), .. shapes]);
        GradientGraph = Simplifier.Simplify(Vjp.Grad(surrogate, [false, false, .. shapes.Select(_ => true)]));
        _gradient = new Executable(GradientGraph);

        _parameters = [.. shapes.Select(s => new NDArray<double>(s))];
        _walkers = new NDArray<double>(x);
        _proposal = new NDArray<double>(x);
        _weights = new NDArray<double>(new Shape(w, 1));
        StepSize = 1.0 / Math.Sqrt(d);
    }

    public string Architecture => $"{_net.Architecture} · exp(−{_config.Envelope:0.###}‖x‖²)";
    public IReadOnlyList<Shape> ParameterShapes => _net.ParameterShapes;
    /// <summary>How the local energy's Laplacian is computed (never null).</summary>
    public Strategy Strategy { get; }
    public VmcConfig Config => _config;

    /// <summary>x [W, D], θ → E_L [W, 1].</summary>
    public Graph LocalEnergyGraph { get; }

    /// <summary>x [W, D], w [W, 1], θ → (Σ w log ψ, ∂/∂θ…).</summary>
    public Graph GradientGraph { get; }

    /// <summary>Initial parameters (seeded MLP).</summary>
    public double[] InitialParameters() => ParameterVector.Flatten<double>(_net.Parameters);

    /// <summary>Standard deviation of the Gaussian random-walk proposal (adapted towards 50% acceptance).</summary>
    public double StepSize { get; private set; }

    /// <summary>Acceptance rate of the last sweeps.</summary>
    public double Acceptance { get; private set; }

    /// <summary>Mean and variance of E_L at the last evaluation.</summary>
    public double LastEnergy { get; private set; } = double.NaN;
    public double LastVariance { get; private set; } = double.NaN;

    /// <summary>(step, variance of E_L) for every step of this run.</summary>
    public List<(long Step, double Variance)> VarianceHistory { get; } = [];

    private long _step;

    /// <summary>The walkers, [W, D].</summary>
    public NDArray<double> Walkers => _walkers;

    /// <summary>log ψ(x; θ) = NN(x; θ) − α‖x‖² ([N, D] → [N, 1]). A tanh MLP with a linear last layer is bounded, so the envelope makes ψ square-integrable for every θ.</summary>
    private Node LogPsi(IReadOnlyList<Node> ps, Node x) => _net.Apply(ps, x) - Fn.Sum(x * x, 1, keepDims: true) * _config.Envelope;

    public void Resample(long step, double[] theta)
    {
        _step = step;
        ParameterVector.CopyTo(theta, _parameters);
        if (!_equilibrated)
        {
            // Walkers start from |envelope|² ∝ exp(−2α‖x‖²), i.e. N(0, 1/(4α)) per coordinate, then burn in.
            double sd = 1 / (2 * Math.Sqrt(_config.Envelope));
            for (int i = 0; i < _walkers.Size; i++) _walkers.Data[i] = sd * SeededRandom.Normal(_seed + 77, i);
            _walkerLogPsi = LogPsiAt(_walkers);
            for (int s = 0; s < _config.BurnIn; s++) Sweep(unchecked((long)SeededRandom.Word(_seed + 78, step * 65_536 + s)), adapt: true);
            _equilibrated = true;
        }
        else _walkerLogPsi = LogPsiAt(_walkers);   // θ changed since the last sweep
        double accepted = 0;
        for (int s = 0; s < _config.SweepsPerStep; s++)
            accepted += Sweep(unchecked((long)SeededRandom.Word(_seed + 79, step * 65_536 + s)), adapt: true);
        Acceptance = accepted / _config.SweepsPerStep;
    }

    /// <summary>Forget the walkers (the next <see cref="Resample"/> burns in again).</summary>
    public void ResetWalkers() => _equilibrated = false;

    /// <summary>
    /// One Metropolis–Hastings sweep: every walker proposes x′ = x + s·ξ (ξ standard normal, word
    /// w·D + j of the sweep's seed) and accepts with probability min(1, ψ(x′)²/ψ(x)²) (uniform word
    /// 2·W·D + w). The proposal is symmetric, so this leaves |ψ|² invariant. With <paramref name="adapt"/>,
    /// s is nudged towards 50% acceptance between sweeps.
    /// </summary>
    private double Sweep(long sweepSeed, bool adapt)
    {
        int w = _config.Walkers, d = _config.Dimension;
        for (int i = 0; i < _walkers.Size; i++) _proposal.Data[i] = _walkers.Data[i] + StepSize * SeededRandom.Normal(sweepSeed, i);
        var proposed = LogPsiAt(_proposal);
        int accepted = 0;
        for (int k = 0; k < w; k++)
        {
            double logRatio = 2 * (proposed[k] - _walkerLogPsi[k]);
            if (Math.Log(1 - SeededRandom.Uniform(sweepSeed, 2L * w * d + k)) < logRatio)
            {
                Array.Copy(_proposal.Data, k * d, _walkers.Data, k * d, d);
                _walkerLogPsi[k] = proposed[k];
                accepted++;
            }
        }
        double rate = (double)accepted / w;
        if (adapt) StepSize *= Math.Exp(0.2 * (rate - 0.5));
        return rate;
    }

    private double[] LogPsiAt(NDArray<double> x) => _logPsi.Run([x, .. _parameters])[0].Data.ToArray();

    /// <summary>E_L at the walkers for parameters θ.</summary>
    public double[] LocalEnergies(double[] theta)
    {
        ParameterVector.CopyTo(theta, _parameters);
        return _localEnergy.Run([_walkers, .. _parameters])[0].Data.ToArray();
    }

    /// <summary>Σ_n w_n log ψ(x_n; θ) at the walkers (what the gradient is the gradient of).</summary>
    public double Surrogate(double[] theta, double[] weights)
    {
        ParameterVector.CopyTo(theta, _parameters);
        var lp = _logPsi.Run([_walkers, .. _parameters])[0].Data;
        double s = 0;
        for (int i = 0; i < weights.Length; i++) s += weights[i] * lp[i];
        return s;
    }

    /// <summary>The weights 2(E_L − Ē)/N of the gradient estimator.</summary>
    public static double[] Weights(double[] localEnergies)
    {
        double mean = localEnergies.Average();
        return [.. localEnergies.Select(e => 2 * (e - mean) / localEnergies.Length)];
    }

    public double Evaluate(double[] theta, double[] gradient)
    {
        var el = LocalEnergies(theta);
        double mean = el.Average();
        double variance = el.Sum(e => (e - mean) * (e - mean)) / (el.Length - 1);
        var w = Weights(el);
        w.CopyTo(_weights.Data, 0);
        var outs = _gradient.Run([_walkers, _weights, .. _parameters]);
        ParameterVector.Gather(outs[1..], gradient);
        LastEnergy = mean;
        LastVariance = variance;
        VarianceHistory.Add((_step + 1, variance));
        return mean;
    }

    /// <summary>
    /// The energy at θ from <paramref name="blocks"/> blocks of sweeps: mean of E_L over all samples, the
    /// standard error from the spread of block means (which accounts for correlation between sweeps),
    /// and the variance of E_L.
    /// </summary>
    public (double Energy, double StandardError, double Variance) Measure(double[] theta, int blocks, long seed)
    {
        if (blocks < 2) throw new ArgumentOutOfRangeException(nameof(blocks), $"Measure: need at least 2 blocks, got {blocks}.");
        ParameterVector.CopyTo(theta, _parameters);
        _walkerLogPsi = LogPsiAt(_walkers);
        var means = new double[blocks];
        double sum = 0, sumSq = 0;
        long count = 0;
        for (int b = 0; b < blocks; b++)
        {
            for (int s = 0; s < _config.SweepsPerStep; s++) Sweep(unchecked((long)SeededRandom.Word(seed, b * 65_536L + s)), adapt: false);
            var el = LocalEnergies(theta);
            means[b] = el.Average();
            foreach (var e in el) { sum += e; sumSq += e * e; count++; }
        }
        double energy = sum / count;
        double variance = (sumSq / count - energy * energy) * count / (count - 1);
        double blockMean = means.Average();
        double se = Math.Sqrt(means.Sum(m => (m - blockMean) * (m - blockMean)) / (blocks - 1) / blocks);
        return (energy, se, Math.Max(variance, 0));
    }

    /// <summary>log ψ at the given points (e.g. a line through the origin, for plotting).</summary>
    public double[] LogPsiValues(double[] theta, NDArray<double> points)
    {
        var g = Tracer.Function(xs => LogPsi(xs[1..], xs[0]), [points.Shape, .. ParameterShapes]);
        return new Executable(g).Run([points, .. ParameterVector.Unflatten<double>(theta, ParameterShapes)])[0].Data.ToArray();
    }
}

/// <summary>
/// <c>vmc-oscillator</c>: variational Monte Carlo for the D-dimensional harmonic oscillator
/// H = −½Δ + ½‖x‖² (D = 10), whose ground state is ψ₀ = exp(−‖x‖²/2) with energy E₀ = D/2 and zero
/// variance of the local energy. The trial wavefunction is ψ_θ = exp(NN(x; θ) − α‖x‖²) with a tanh MLP
/// and a fixed envelope α = ¼ (half the exact width parameter, so the network must supply the missing
/// −¼‖x‖² over the region the walkers visit). See <see cref="VmcObjective"/> and docs/examples/vmc-oscillator.md.
/// </summary>
public sealed class VmcOscillator : Example
{
    public override string Name => "vmc-oscillator";
    public override string Summary => "VMC for the D = 10 harmonic oscillator with a neural log-wavefunction (value, ∇ and Δ of log ψ in one collapsed pass)";

    /// <summary>Relative energy error the full run promises: |E − D/2| ≤ 1e-3 · D/2.</summary>
    public double Target => 1e-3;

    /// <summary>
    /// Variance of E_L the full run promises to reach ("near zero": the exact ground state has 0; the
    /// initial wavefunction has about 3, so this is a reduction by a factor of 300).
    /// </summary>
    public double VarianceTarget => 1e-2;

    public VmcConfig Config(bool fast) => fast
        ? new VmcConfig { Dimension = 3, Hidden = [8], Walkers = 32, Steps = 8, LearningRate = 2e-2, FinalLearningRate = 1e-2, BurnIn = 20, SweepsPerStep = 2, EvaluationBlocks = 4 }
        : new VmcConfig { Dimension = 10, Hidden = [64, 64], Walkers = 512, Steps = 5000, LearningRate = 3e-2, FinalLearningRate = 1e-4, BurnIn = 200, SweepsPerStep = 5, EvaluationBlocks = 40 };

    /// <inheritdoc/>
    public override IObjective<double> CreateObjective(bool fast, Strategy? strategy = null, long seed = 0) => new VmcObjective(Config(fast), strategy, seed);

    public override double[] InitialParameters(bool fast, long seed = 0) => new VmcObjective(Config(fast) with { Walkers = 2 }, Strategy.Collapsed, seed).InitialParameters();

    public override ExampleResult Run(ExampleOptions options)
    {
        CheckPrecision(options);
        var wall = Stopwatch.StartNew();
        var config = Config(options.Fast);
        var log = options.Log ?? (_ => { });
        var objective = new VmcObjective(config, Strategy.Collapsed, options.Seed);
        double exact = config.Dimension / 2.0;
        log($"{Name}: {Summary}");
        log($"ψ = {objective.Architecture}, {config.Walkers} walkers, {config.SweepsPerStep} Metropolis sweeps per step, exact energy D/2 = {exact}");

        int steps = Math.Max(1, (int)Math.Round(config.Steps * options.StepScale));
        var adam = new Adam<double>(LearningRate.Exponential(config.LearningRate, config.FinalLearningRate / config.LearningRate, steps));
        var trainer = new Trainer<double>(objective, objective.InitialParameters(), [new TrainingPhase<double>(adam, steps)], new TrainerOptions<double>
        {
            // The energy error of the step just taken (Ē is measured at the parameters the step started from).
            Error = _ => Math.Abs(objective.LastEnergy - exact) / exact,
            ErrorEvery = options.Fast ? 1 : 10,
            Progress = options.Progress,
            ProgressEvery = options.Fast ? 1 : 5,
            TimeBudget = options.TimeBudget,
            CheckpointPath = options.CheckpointPath,
            CheckpointEvery = options.CheckpointEvery,
            Cancellation = options.Cancellation,
            Seed = options.Seed,
            Metadata = new Dictionary<string, string> { ["example"] = Name, ["fast"] = options.Fast.ToString() },
        });
        if (options.Resume)
        {
            if (options.CheckpointPath is not { } path) throw new ArgumentException($"{Name}: resuming needs a checkpoint path.");
            trainer.Restore(path);
            log($"resumed from {path} at step {trainer.Step} (walkers burn in again)");
        }
        var training = trainer.Run();

        log($"measuring the energy: {config.EvaluationBlocks} blocks of {config.SweepsPerStep} sweeps × {config.Walkers} walkers");
        var (energy, se, variance) = objective.Measure(trainer.Parameters, config.EvaluationBlocks, seed: options.Seed + 4242);
        double error = Math.Abs(energy - exact) / exact;

        var figures = new List<string>();
        if (options.OutputDirectory is { } dir)
        {
            figures.Add(Reporting.LossCurve(training.History, dir, $"{Name}: energy during training", "energy Ē", errorName: null, logY: false, reference: exact));
            figures.Add(ConvergenceChart(training.History, objective, exact, dir));
            figures.Add(LogPsiChart(objective, trainer.Parameters, dir));
        }

        var timings = new List<StrategyTiming>();
        var rows = new List<(int, IReadOnlyList<StrategyTiming>)>();
        if (options.CompareStrategies)
        {
            int[] sizes = options.Fast ? [config.Walkers / 2, config.Walkers] : [128, 256, 512, 1024];
            foreach (var n in sizes)
            {
                log($"timing a training step with {n} walkers: collapsed vs nested");
                var t = Reporting.TimeSteps(s =>
                {
                    var o = new VmcObjective(config with { Walkers = n }, s, options.Seed);
                    // The same walkers for both strategies (the trained ones, repeated if needed), no Metropolis moves.
                    for (int i = 0; i < o.Walkers.Size; i++) o.Walkers.Data[i] = objective.Walkers.Data[i % objective.Walkers.Size];
                    return new FixedWalkers(o);
                }, trainer.Parameters, [Strategy.Collapsed, Strategy.NestedFirstOrder], options.Fast ? 1 : 10);
                rows.Add((n, t));
                if (n == config.Walkers) timings.AddRange(t);
            }
            if (options.OutputDirectory is { } d)
                figures.Add(Reporting.StepTimeChart(d, $"{Name}: time per training step (E_L and ∇θ E)", "walkers", rows));
        }

        return new ExampleResult
        {
            Name = Name,
            ErrorName = "relative energy error |E − D/2| / (D/2)",
            Error = error,
            Target = Target,
            OtherTargetsReached = variance <= VarianceTarget,
            Training = training,
            WallTime = wall.Elapsed,
            Figures = figures,
            Timings = timings,
            TimingSweep = rows,
            TimingSizeName = "walkers",
            Details =
            [
                ("energy", $"{energy:0.000000} ± {se:0.000000} (exact {exact})"),
                ("variance of E_L", $"{variance:0.###e0} (target ≤ {VarianceTarget:0.###e0}; {(objective.VarianceHistory.Count > 0 ? objective.VarianceHistory[0].Variance : double.NaN):0.###} at the first step)"),
                ("network", objective.Architecture),
                ("parameters", ParameterVector.Count(objective.ParameterShapes).ToString()),
                ("walkers", $"{config.Walkers}, {config.SweepsPerStep} sweeps per step, final acceptance {objective.Acceptance:0.00}, step size {objective.StepSize:0.###}"),
            ],
        };
    }

    /// <summary>The objective on walkers set from outside (no Metropolis moves): for timing the loss-and-gradient part alone.</summary>
    private sealed class FixedWalkers(VmcObjective inner) : IObjective<double>
    {
        public string Architecture => inner.Architecture;
        public IReadOnlyList<Shape> ParameterShapes => inner.ParameterShapes;
        public void Resample(long step, double[] theta) { }
        public double Evaluate(double[] theta, double[] gradient) => inner.Evaluate(theta, gradient);
    }

    /// <summary>|Ē − D/2| and Var(E_L) per step on a log scale: both go to zero at the exact ground state.</summary>
    private string ConvergenceChart(IReadOnlyList<TrainingRecord> history, VmcObjective objective, double exact, string dir)
    {
        var v = objective.VarianceHistory;
        int k = Math.Max(1, Math.Max(history.Count, v.Count) / 1500);
        var chart = new LineChart { Title = $"{Name}: energy error and variance of the local energy", XLabel = "step", YLabel = "log scale", LogY = true };
        var h = history.Where((_, i) => i % k == 0).ToList();
        chart.Add("|Ē − D/2|", [.. h.Select(r => (double)r.Step)], [.. h.Select(r => Math.Abs(r.Loss - exact))]);
        var vv = v.Where((_, i) => i % k == 0).ToList();
        chart.Add("Var(E_L)", [.. vv.Select(p => (double)p.Step)], [.. vv.Select(p => p.Variance)]);
        return Reporting.Save(dir, "convergence.svg", chart.ToSvg());
    }

    /// <summary>log ψ(r·e₁) − log ψ(0) against the exact −r²/2 along the first axis.</summary>
    private string LogPsiChart(VmcObjective objective, double[] theta, string dir)
    {
        int n = 61, d = objective.Config.Dimension;
        var points = new NDArray<double>(new Shape(n, d));
        var r = new double[n];
        for (int i = 0; i < n; i++) { r[i] = -3 + 6.0 * i / (n - 1); points.Data[i * d] = r[i]; }
        var lp = objective.LogPsiValues(theta, points);
        double origin = lp[n / 2];
        var chart = new LineChart { Title = $"{Name}: log ψ along the first axis (shifted to 0 at the origin)", XLabel = "x₁", YLabel = "log ψ(x₁e₁) − log ψ(0)" };
        chart.Add("network", r, [.. lp.Select(v => v - origin)]);
        chart.Add("exact −x₁²/2", r, [.. r.Select(v => -v * v / 2)]);
        chart.Add($"envelope alone −{objective.Config.Envelope}x₁²", r, [.. r.Select(v => -objective.Config.Envelope * v * v)]);
        return Reporting.Save(dir, "logpsi.svg", chart.ToSvg());
    }
}
