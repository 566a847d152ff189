using System.Diagnostics;
using JetSharp.Nn;

namespace JetSharp.Examples;

/// <summary>
/// Sizes and schedule of a physics-informed example: a tanh MLP with the given hidden widths, trained
/// by Adam (learning rate decaying exponentially from <see cref="LearningRate"/> to
/// <see cref="FinalLearningRate"/>, fresh points every <see cref="ResampleEvery"/> steps), then L-BFGS on
/// one fixed set of points.
/// </summary>
public sealed record PinnConfig
{
    /// <summary>Input dimension of the network (space, plus time for evolution problems).</summary>
    public required int Dimension { get; init; }

    public required int[] Hidden { get; init; }

    /// <summary>Monte-Carlo directions per point of stochastic operators (0: exact operators).</summary>
    public int Samples { get; init; }

    public required int Interior { get; init; }
    public int Boundary { get; init; }
    public required int AdamSteps { get; init; }
    public double LearningRate { get; init; } = 1e-2;
    public double FinalLearningRate { get; init; } = 1e-3;
    public int ResampleEvery { get; init; } = 1;
    public int LbfgsSteps { get; init; }
    public int ErrorEvery { get; init; } = 100;

    /// <summary>Batch sizes (interior points) at which the per-step time of the strategies is compared.</summary>
    public int[] TimingSizes { get; init; } = [];

    /// <summary>Steps of ENGD, SPRING or Levenberg–Marquardt (on one fixed set of points), when one of them trains.</summary>
    public int SecondOrderSteps { get; init; } = 300;

    /// <summary>The relative L2 error the full run with ENGD/SPRING/LM promises (null: the Adam + L-BFGS target).</summary>
    public double? SecondOrderTarget { get; init; }

    /// <summary>Error measured every this many steps of a second-order run (its steps are few and costly).</summary>
    public int SecondOrderErrorEvery { get; init; } = 5;

    /// <summary>
    /// The configuration second-order runs use instead of this one (null: this one). Gauss–Newton-type methods fit the
    /// collocation points to round-off, so they need more points than parameters where fewer let the network
    /// interpolate the points without generalising; a smaller network keeps their P×P or M×M solves cheap.
    /// </summary>
    public PinnConfig? SecondOrder { get; init; }

    /// <summary>Relative damping of ENGD/SPRING (see <see cref="EngdOptions.Damping"/>).</summary>
    public double Damping { get; init; } = 1e-10;

    /// <summary>
    /// The phases for <paramref name="optimizer"/> in precision <typeparamref name="T"/>. The second-order ones (ENGD, SPRING,
    /// Levenberg–Marquardt) work on <paramref name="problem"/>'s residual and Jacobian, which are float64 only: for a float32
    /// problem they are refused with a <see cref="NotSupportedException"/>.
    /// </summary>
    public IReadOnlyList<TrainingPhase<T>> Phases<T>(double scale, PinnProblem<T> problem, PinnOptimizer optimizer) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (!Enum.IsDefined(optimizer)) throw new ArgumentOutOfRangeException(nameof(optimizer), optimizer, "PinnConfig.Phases: unknown optimizer.");
        if (optimizer == PinnOptimizer.AdamLbfgs) return Phases<T>(scale);
        if (problem is not PinnProblem<double> p64)
            throw new NotSupportedException($"PinnConfig.Phases: {optimizer} runs in float64 only; this problem trains in {problem.DType.Name()} (train float32 with {PinnOptimizer.AdamLbfgs}).");
        int steps = Math.Max(1, (int)Math.Round(SecondOrderSteps * scale));
        IOptimizer<double> o = optimizer switch
        {
            PinnOptimizer.Engd => new Engd(p64, new EngdOptions { Damping = Damping }),
            PinnOptimizer.Spring => new Engd(p64, new EngdOptions { Damping = Damping, Momentum = 0.9 }),
            _ => new LevenbergMarquardt(p64),
        };
        // T is double here: the list is the one asked for.
        return (IReadOnlyList<TrainingPhase<T>>)(object)new List<TrainingPhase<double>> { new(o, steps, ResampleEvery: 0) };
    }

    /// <summary>The Adam + L-BFGS phases in precision <typeparamref name="T"/>, with every step count multiplied by <paramref name="scale"/>.</summary>
    public IReadOnlyList<TrainingPhase<T>> Phases<T>(double scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int adam = Math.Max(1, (int)Math.Round(AdamSteps * scale));
        var phases = new List<TrainingPhase<T>>
        {
            new(new Adam<T>(Nn.LearningRate.Exponential(LearningRate, FinalLearningRate / LearningRate, adam)), adam, ResampleEvery),
        };
        int lbfgs = (int)Math.Round(LbfgsSteps * scale);
        if (lbfgs > 0) phases.Add(new TrainingPhase<T>(new Lbfgs<T>(memory: 30), lbfgs, ResampleEvery: 0));
        return phases;
    }
}

/// <summary>How a physics-informed example trains.</summary>
public enum PinnOptimizer
{
    /// <summary>Adam on fresh points every step, then L-BFGS on one fixed set (the default).</summary>
    AdamLbfgs,
    /// <summary>Energy natural gradient (Gauss–Newton with the grid line search) on one fixed set.</summary>
    Engd,
    /// <summary>ENGD with SPRING momentum μ = 0.9.</summary>
    Spring,
    /// <summary>Levenberg–Marquardt with adaptive damping.</summary>
    LevenbergMarquardt,
}

/// <summary>
/// The common flow of the physics-informed examples: build the objective (collapsed operators), train
/// with progress and checkpoints, measure the relative L2 error against the exact solution on a fixed
/// evaluation set, draw the figures, and optionally time a training step by strategy.
/// </summary>
public abstract class PinnExample : Example
{
    /// <summary>The configuration of the full run or of the fast (test) run.</summary>
    public abstract PinnConfig Config(bool fast);

    /// <summary>The relative L2 error the full run promises.</summary>
    public abstract double Target { get; }

    /// <summary>
    /// The loss for the given configuration in precision <typeparamref name="T"/> (float: float32 training end to end);
    /// <paramref name="interior"/> overrides the number of interior points (timings).
    /// </summary>
    public abstract PinnObjective<T> Build<T>(PinnConfig config, Strategy strategy, long seed, int? interior = null) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Points where the error is measured, and the exact solution there.</summary>
    public abstract (NDArray<double> Points, double[] Exact) EvaluationSet(bool fast);

    /// <summary>Problem-specific figures (e.g. solution and error maps); the loss curve is drawn for every example.</summary>
    protected virtual IEnumerable<string> Plot(PinnProblem objective, double[] theta, string directory) => [];

    /// <summary>Problem-specific figures to report (e.g. the estimator used).</summary>
    protected virtual IEnumerable<(string, string)> Details(PinnConfig config) =>
        config.Samples > 0 ? [("dimension", config.Dimension.ToString()), ("directions per point", config.Samples.ToString())] : [("dimension", config.Dimension.ToString())];

    /// <inheritdoc/>
    public override IObjective<double> CreateObjective(bool fast, Strategy? strategy = null, long seed = 0) => Build<double>(Config(fast), strategy ?? Strategy.Collapsed, seed);

    public override double[] InitialParameters(bool fast, long seed = 0) => InitialParameters<double>(fast, seed);

    /// <summary>The seeded initial parameters in precision <typeparamref name="T"/> (the float64 initialisation, rounded for float32).</summary>
    public T[] InitialParameters<T>(bool fast, long seed = 0) where T : unmanaged, IFloatingPointIeee754<T> =>
        ParameterVector.Flatten<T>(InitialWeights(Config(fast), seed));

    /// <summary>
    /// The optimizers this example can train with (all by default). ENGD, SPRING and Levenberg–Marquardt need
    /// per-sample parameter Jacobians, which exist for models whose parameters enter through elementwise primitives
    /// and right-hand matmul operands; a model that closes over its parameters in a loop body declares Adam + L-BFGS only.
    /// </summary>
    public virtual IReadOnlyList<PinnOptimizer> Optimizers => Enum.GetValues<PinnOptimizer>();

    /// <summary>The seeded initial weights of the model <see cref="Build{T}"/> trains, in its parameter order (the tanh MLP's by default).</summary>
    protected virtual IReadOnlyList<NDArray> InitialWeights(PinnConfig config, long seed) => Network(config, seed).Parameters;

    /// <inheritdoc/>
    public override IReadOnlyList<DType> Precisions => [DType.Float64, DType.Float32];

    protected static Mlp Network(PinnConfig config, long seed) => Mlp.Create(config.Dimension, config.Hidden, 1, Activation.Tanh, seed);

    public override ExampleResult Run(ExampleOptions options) => Run(options, PinnOptimizer.AdamLbfgs);

    /// <summary>
    /// Runs the example once per optimizer with the same seed and points of evaluation, and draws the relative L2
    /// error and the loss of all runs against training time in one figure (<c>optimizers.svg</c> in the output
    /// directory, when one is given; each run's own figures go to a subdirectory named after the optimizer).
    /// </summary>
    public (IReadOnlyList<ExampleResult> Results, string? Figure) Compare(ExampleOptions options, params PinnOptimizer[] optimizers)
    {
        var results = new List<ExampleResult>();
        foreach (var o in optimizers)
        {
            options.Log?.Invoke($"{Name}: training with {o}");
            results.Add(Run(options with
            {
                OutputDirectory = options.OutputDirectory is { } d ? Path.Combine(d, o.ToString().ToLowerInvariant()) : null,
                CheckpointPath = options.CheckpointPath is { } c ? $"{c}.{o.ToString().ToLowerInvariant()}" : null,
            }, o));
        }
        if (options.OutputDirectory is not { } dir) return (results, null);
        var chart = new JetSharp.Plotting.LineChart { Title = $"{Name}: error and loss against training time", XLabel = "training time (s)", YLabel = "log scale", LogY = true };
        for (int i = 0; i < results.Count; i++)
        {
            var h = results[i].Training.History;
            var errors = h.Where(r => r.Error is not null).ToList();
            chart.Add($"{optimizers[i]}: relative L2 error", [.. errors.Select(r => r.Seconds)], [.. errors.Select(r => r.Error!.Value)]);
            int k = Math.Max(1, h.Count / 1500);
            var thinned = h.Where((_, j) => j % k == 0 || j == h.Count - 1).ToList();
            chart.Add($"{optimizers[i]}: loss", [.. thinned.Select(r => r.Seconds)], [.. thinned.Select(r => r.Loss)]);
        }
        return (results, Reporting.Save(dir, "optimizers.svg", chart.ToSvg()));
    }

    /// <summary>
    /// Runs the example with the given optimizer (see <see cref="PinnOptimizer"/>) in the precision the options name;
    /// ENGD, SPRING and Levenberg–Marquardt train in float64 only (a float32 request is refused before any work).
    /// </summary>
    public ExampleResult Run(ExampleOptions options, PinnOptimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(options);
        CheckPrecision(options);
        if (!Enum.IsDefined(optimizer)) throw new ArgumentOutOfRangeException(nameof(optimizer), optimizer, $"{Name}: unknown optimizer.");
        if (!Optimizers.Contains(optimizer))
            throw new NotSupportedException($"{Name}: trains with {string.Join(", ", Optimizers)} only, not {optimizer} (its model has no per-sample parameter Jacobian).");
        if (optimizer != PinnOptimizer.AdamLbfgs && options.Precision != DType.Float64)
            throw new NotSupportedException($"{Name}: {optimizer} trains in float64 only, not {options.Precision.Name()} (train {options.Precision.Name()} with {PinnOptimizer.AdamLbfgs}).");
        return options.Precision == DType.Float32 ? Run<float>(options, optimizer) : Run<double>(options, optimizer);
    }

    private ExampleResult Run<T>(ExampleOptions options, PinnOptimizer optimizer) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var wall = Stopwatch.StartNew();
        bool secondOrder = optimizer != PinnOptimizer.AdamLbfgs;
        var config = Config(options.Fast);
        if (secondOrder && config.SecondOrder is { } own) config = own;
        var log = options.Log ?? (_ => { });
        var objective = Build<T>(config, Strategy.Collapsed, options.Seed);
        log($"{Name}: {Summary}");
        log($"network {objective.Architecture}, {ParameterVector.Count(objective.ParameterShapes)} parameters, {objective.DType.Name()}; loss terms {string.Join(", ", objective.TermNames.Select((n, i) => $"{n} ({objective.PointCounts[i]} points)"))}; gradient graph {objective.GradientGraph.Nodes.Count} nodes (built in {wall.Elapsed.TotalSeconds:0.0} s)");

        var (evalPoints, exact) = EvaluationSet(options.Fast);
        double Error(T[] theta) => Reporting.RelativeL2(objective.Predict(Widen(theta), evalPoints).Data, exact);

        var phases = config.Phases(options.StepScale, objective, optimizer);
        var trainer = new Trainer<T>(objective, ParameterVector.Flatten<T>(InitialWeights(config, options.Seed)), phases, new TrainerOptions<T>
        {
            Error = Error,
            ErrorEvery = secondOrder ? config.SecondOrderErrorEvery : config.ErrorEvery,
            Progress = options.Progress,
            ProgressEvery = options.Fast ? 1 : 5,
            TimeBudget = options.TimeBudget,
            CheckpointPath = options.CheckpointPath,
            CheckpointEvery = options.CheckpointEvery,
            Cancellation = options.Cancellation,
            Seed = options.Seed,
            Metadata = new Dictionary<string, string> { ["example"] = Name, ["fast"] = options.Fast.ToString(), ["optimizer"] = optimizer.ToString() },
        });
        if (options.Resume)
        {
            if (options.CheckpointPath is not { } path) throw new ArgumentException($"{Name}: resuming needs a checkpoint path.");
            trainer.Restore(path);
            log($"resumed from {path} at step {trainer.Step}");
        }
        var training = trainer.Run();
        var theta = Widen(trainer.Parameters);
        double error = Reporting.RelativeL2(objective.Predict(theta, evalPoints).Data, exact);

        var figures = new List<string>();
        if (options.OutputDirectory is { } dir)
        {
            figures.Add(Reporting.LossCurve(training.History, dir, $"{Name}: training"));
            figures.AddRange(Plot(objective, theta, dir));
        }

        var timings = new List<StrategyTiming>();
        var rows = new List<(int, IReadOnlyList<StrategyTiming>)>();
        if (options.CompareStrategies)
        {
            var sizes = config.TimingSizes.Length > 0 ? config.TimingSizes : [config.Interior];
            foreach (var n in sizes)
            {
                log($"timing a training step with {n} interior points: collapsed vs nested ({objective.DType.Name()})");
                var t = Reporting.TimeSteps<T>(s => Build<T>(config, s, options.Seed, n), trainer.Parameters, [Strategy.Collapsed, Strategy.NestedFirstOrder], options.Fast ? 1 : 10);
                rows.Add((n, t));
            }
            // Report the batch size training used (or the largest timed, if it was not among them).
            timings.AddRange(rows.FirstOrDefault(r => r.Item1 == config.Interior, rows[^1]).Item2);
            if (options.OutputDirectory is { } d && rows.Count > 1)
                figures.Add(Reporting.StepTimeChart(d, $"{Name}: time per training step", "interior points per step", rows));
        }

        return new ExampleResult
        {
            Name = Name,
            ErrorName = "relative L2 error of u",
            Error = error,
            Target = secondOrder ? config.SecondOrderTarget ?? Target : Target,
            Training = training,
            WallTime = wall.Elapsed,
            Figures = figures,
            Timings = timings,
            TimingSweep = rows,
            TimingSizeName = "interior points",
            Details =
            [
                ("optimizer", string.Join(" then ", phases.Select(p => p.Optimizer.ToString()))),
                ("network", objective.Architecture),
                ("parameters", ParameterVector.Count(objective.ParameterShapes).ToString()),
                ("precision", objective.DType.Name()),
                ("points per step", string.Join(", ", objective.TermNames.Select((n, i) => $"{n} {objective.PointCounts[i]}"))),
                ("final term losses", string.Join(", ", objective.TermNames.Select((n, i) => $"{n} {objective.TermLosses[i]:0.###e0}"))),
                .. Details(config),
            ],
        };
    }

    private static double[] Widen<T>(T[] theta) where T : unmanaged, IFloatingPointIeee754<T> => Array.ConvertAll(theta, double.CreateTruncating);
}
