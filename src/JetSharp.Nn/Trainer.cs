using System.Diagnostics;

namespace JetSharp.Nn;

/// <summary>
/// What a <see cref="Trainer"/> minimises: a loss of a flat parameter vector θ, possibly defined on
/// random samples (collocation points, Monte-Carlo walkers) that the trainer asks to redraw.
/// </summary>
public interface IObjective
{
    /// <summary>Describes the model (checkpoints only load into the same architecture).</summary>
    string Architecture { get; }

    /// <summary>Shapes of the parameter tensors, in the order of the flat vector.</summary>
    IReadOnlyList<Shape> ParameterShapes { get; }

    /// <summary>
    /// Draws the samples the next evaluations use. <paramref name="step"/> identifies the draw (seeds
    /// are derived from it, so a resumed run redraws the same points); θ is the current parameter vector
    /// (for samplers that depend on the model, such as Metropolis walkers).
    /// </summary>
    void Resample(long step, double[] theta);

    /// <summary>The loss at θ on the current samples; writes ∂loss/∂θ into <paramref name="gradient"/>.</summary>
    double Evaluate(double[] theta, double[] gradient);
}

/// <summary>
/// A stretch of training with one optimizer. Samples are redrawn every <paramref name="ResampleEvery"/>
/// steps (0: once, when the phase starts — what L-BFGS needs, since its line search and curvature
/// pairs assume a fixed objective).
/// </summary>
public sealed record TrainingPhase(IOptimizer Optimizer, int Steps, int ResampleEvery = 1)
{
    public string Name => Optimizer.Name;
}

/// <summary>One step of the training history: loss at the parameters the step started from, error when it was measured, and total training seconds so far.</summary>
public readonly record struct TrainingRecord(long Step, double Loss, double? Error, double Seconds);

/// <summary>A progress report: what a user interface shows while training runs.</summary>
public sealed record TrainingProgress(long Step, long TotalSteps, int Phase, string PhaseName, double Loss, double? Error, double StepsPerSecond, TimeSpan Elapsed);

/// <summary>Why training stopped.</summary>
public enum TrainingStop
{
    /// <summary>Every phase ran its steps (or its optimizer converged).</summary>
    Completed,
    /// <summary>The time budget ran out.</summary>
    TimeBudget,
    /// <summary>The cancellation token was triggered (e.g. Ctrl+C).</summary>
    Cancelled,
    /// <summary>
    /// The loss or the parameters became NaN or infinite; the parameters are rolled back to those of the last
    /// finite step (the optimizer's internal state is not, so lower its learning rate before continuing).
    /// </summary>
    NonFinite,
}

/// <summary>Options of <see cref="Trainer.Run"/>. All are optional.</summary>
public sealed class TrainerOptions
{
    /// <summary>Stop (and checkpoint) once this much training time has passed in this run (positive when set).</summary>
    public TimeSpan? TimeBudget { get; init; }

    /// <summary>An error measure of θ (e.g. relative L2 error against the exact solution), recorded every <see cref="ErrorEvery"/> steps and at the end.</summary>
    public Func<double[], double>? Error { get; init; }

    /// <summary>Steps between error measurements (≥ 1; the <see cref="Trainer"/> constructor refuses anything else).</summary>
    public int ErrorEvery { get; init; } = 100;

    /// <summary>Called every <see cref="ProgressEvery"/> steps, at phase ends and at the end (no UI dependency: the CLI renders it).</summary>
    public Action<TrainingProgress>? Progress { get; init; }

    /// <summary>Steps between progress reports (≥ 1).</summary>
    public int ProgressEvery { get; init; } = 10;

    /// <summary>Where checkpoints are written: every <see cref="CheckpointEvery"/> steps (0: never periodically) and whenever training stops; null: nowhere (<see cref="CheckpointEvery"/> is then ignored).</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Steps between periodic checkpoints (≥ 0; 0: only when training stops).</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>Stored in checkpoints (e.g. the example name and seed).</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    public CancellationToken Cancellation { get; init; }
}

/// <summary>The outcome of <see cref="Trainer.Run"/>.</summary>
public sealed record TrainingResult(TrainingStop Stop, long Steps, long StepsThisRun, TimeSpan Elapsed, TimeSpan ElapsedThisRun,
    double Loss, double? Error, IReadOnlyList<TrainingRecord> History);

/// <summary>
/// A training loop over phases (e.g. Adam with a decaying rate, then L-BFGS on fixed points), with
/// progress reports, an error metric, a time budget, cancellation, and checkpoints that resume
/// where training stopped.
/// <para>
/// Resuming (<see cref="Restore(Checkpoint)"/>) restores the parameters, the global step count, the phase and the
/// step within it, the optimizer state of that phase (Adam moments and step counter, which the
/// learning-rate schedule follows; L-BFGS curvature pairs), the history and the elapsed time. Samples are
/// redrawn from seeds derived from the step at which they were first drawn, so a resumed run sees
/// the same points; samplers with their own state (Metropolis walkers) re-equilibrate instead.
/// </para>
/// </summary>
public sealed class Trainer
{
    private readonly IObjective _objective;
    private readonly IReadOnlyList<TrainingPhase> _phases;
    private readonly TrainerOptions _options;
    private readonly List<TrainingRecord> _history = [];
    private double _elapsedBefore;

    public Trainer(IObjective objective, double[] initialParameters, IReadOnlyList<TrainingPhase> phases, TrainerOptions? options = null)
    {
        _objective = objective ?? throw new ArgumentNullException(nameof(objective));
        ArgumentNullException.ThrowIfNull(initialParameters);
        ArgumentNullException.ThrowIfNull(phases);
        var shapes = objective.ParameterShapes
            ?? throw new ArgumentException($"Trainer: the objective '{objective.Architecture}' has no ParameterShapes (null).", nameof(objective));
        int n = ParameterVector.Count(shapes);
        if (initialParameters.Length != n)
            throw new ShapeException($"Trainer: {initialParameters.Length} initial parameters; the model '{objective.Architecture}' has {n} ({string.Join(", ", shapes)}).");
        int bad = Array.FindIndex(initialParameters, v => !double.IsFinite(v));
        if (bad >= 0)
            throw new ArgumentException($"Trainer: initial parameter {bad} is {initialParameters[bad]}; training needs finite parameters.", nameof(initialParameters));
        if (phases.Count == 0) throw new ArgumentException("Trainer: no training phases.", nameof(phases));
        for (int i = 0; i < phases.Count; i++)
        {
            var p = phases[i] ?? throw new ArgumentNullException(nameof(phases), $"Trainer: phase {i} is null.");
            if (p.Optimizer is null) throw new ArgumentNullException(nameof(phases), $"Trainer: phase {i} has no optimizer.");
            if (p.Steps < 0) throw new ArgumentOutOfRangeException(nameof(phases), $"Trainer: phase '{p.Name}' has {p.Steps} steps.");
            if (p.ResampleEvery < 0) throw new ArgumentOutOfRangeException(nameof(phases), $"Trainer: phase '{p.Name}' resamples every {p.ResampleEvery} steps.");
        }
        if (phases.Select(p => p.Optimizer).Distinct().Count() != phases.Count)
            throw new ArgumentException("Trainer: each phase needs its own optimizer instance (their states are saved separately).", nameof(phases));
        Parameters = (double[])initialParameters.Clone();
        _phases = [.. phases];
        _options = options ?? new TrainerOptions();
        CheckOptions(_options);
    }

    private static void CheckOptions(TrainerOptions o)
    {
        const string p = "options";
        if (o.ErrorEvery < 1) throw new ArgumentOutOfRangeException(p, o.ErrorEvery, $"Trainer: TrainerOptions.ErrorEvery must be ≥ 1, got {o.ErrorEvery}.");
        if (o.ProgressEvery < 1) throw new ArgumentOutOfRangeException(p, o.ProgressEvery, $"Trainer: TrainerOptions.ProgressEvery must be ≥ 1, got {o.ProgressEvery}.");
        if (o.CheckpointEvery < 0) throw new ArgumentOutOfRangeException(p, o.CheckpointEvery, $"Trainer: TrainerOptions.CheckpointEvery must be ≥ 0 (0: no periodic checkpoints), got {o.CheckpointEvery}.");
        if (o.TimeBudget is { } t && t <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(p, t, $"Trainer: TrainerOptions.TimeBudget must be positive, got {t}.");
    }

    /// <summary>Current parameter vector θ (updated in place by the optimizers).</summary>
    public double[] Parameters { get; }

    /// <summary>Steps completed (over all runs, when resumed).</summary>
    public long Step { get; private set; }

    /// <summary>Index of the current phase (equal to the phase count when training is complete).</summary>
    public int Phase { get; private set; }

    /// <summary>Steps completed within the current phase.</summary>
    public long PhaseStep { get; private set; }

    public IReadOnlyList<TrainingRecord> History => _history;

    public long TotalSteps => _phases.Sum(p => (long)p.Steps);

    public bool IsComplete => Phase >= _phases.Count;

    /// <summary>The current state as a checkpoint (parameters, step, phase, the current phase's optimizer state, history).</summary>
    public Checkpoint ToCheckpoint(double elapsedSeconds) =>
        !(elapsedSeconds >= 0) || double.IsInfinity(elapsedSeconds)
            ? throw new ArgumentOutOfRangeException(nameof(elapsedSeconds), elapsedSeconds, $"Trainer.ToCheckpoint: elapsed seconds must be finite and ≥ 0, got {elapsedSeconds}.")
            : new(_objective.Architecture, ParameterVector.Unflatten(Parameters, _objective.ParameterShapes))
        {
            Step = Step,
            Phase = Phase,
            PhaseStep = PhaseStep,
            ElapsedSeconds = elapsedSeconds,
            Optimizer = Phase < _phases.Count ? _phases[Phase].Optimizer.SaveState() : null,
            History = [.. _history],
            Metadata = _options.Metadata ?? new Dictionary<string, string>(),
        };

    /// <summary>Continues from a checkpoint; throws <see cref="CheckpointMismatchException"/> if it was saved for another model.</summary>
    public void Restore(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        checkpoint.CheckCompatible(_objective.Architecture, _objective.ParameterShapes);
        if (checkpoint.Phase < 0 || checkpoint.Phase > _phases.Count)
            throw new CheckpointMismatchException($"Trainer.Restore: the checkpoint is in phase {checkpoint.Phase}; this trainer has {_phases.Count} phase(s).");
        var theta = ParameterVector.Flatten(checkpoint.Parameters);
        Array.Copy(theta, Parameters, theta.Length);
        Step = checkpoint.Step;
        Phase = checkpoint.Phase;
        PhaseStep = checkpoint.PhaseStep;
        _elapsedBefore = checkpoint.ElapsedSeconds;
        _history.Clear();
        _history.AddRange(checkpoint.History);
        if (checkpoint.Optimizer is { } state && Phase < _phases.Count)
        {
            var optimizer = _phases[Phase].Optimizer;
            if (state.Name != optimizer.Name)
                throw new CheckpointMismatchException($"Trainer.Restore: the checkpoint holds the state of a '{state.Name}' optimizer; phase {Phase} of this trainer uses '{optimizer.Name}'.");
            optimizer.LoadState(state);
        }
    }

    /// <summary>Continues from the checkpoint file at <paramref name="path"/>.</summary>
    public void Restore(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var c = Checkpoint.Load(path);
        c.CheckCompatible(_objective.Architecture, _objective.ParameterShapes, path);
        Restore(c);
    }

    /// <summary>Runs the remaining steps of every phase, or until the budget, cancellation or a non-finite loss stops it.</summary>
    public TrainingResult Run()
    {
        var clock = Stopwatch.StartNew();
        long stepsThisRun = 0;
        double lastLoss = _history.Count > 0 ? _history[^1].Loss : double.NaN;
        double? lastError = _history.LastOrDefault(h => h.Error is not null).Error;
        long windowStep = 0;
        var windowClock = Stopwatch.StartNew();
        double rate = 0;
        long reported = -1;
        var stop = TrainingStop.Completed;
        var lastGood = (double[])Parameters.Clone();

        double Total() => _elapsedBefore + clock.Elapsed.TotalSeconds;

        void Report()
        {
            if (_options.Progress is null || reported == Step) return;
            reported = Step;
            if (windowClock.Elapsed.TotalSeconds > 0 && stepsThisRun > windowStep)
                rate = (stepsThisRun - windowStep) / windowClock.Elapsed.TotalSeconds;
            windowStep = stepsThisRun;
            windowClock.Restart();
            _options.Progress(new TrainingProgress(Step, TotalSteps, Math.Min(Phase, _phases.Count - 1), _phases[Math.Min(Phase, _phases.Count - 1)].Name,
                lastLoss, lastError, rate, TimeSpan.FromSeconds(Total())));
        }

        while (Phase < _phases.Count)
        {
            var phase = _phases[Phase];
            var optimizer = phase.Optimizer;
            long phaseStart = Step - PhaseStep;
            bool resampledThisRun = false;
            while (PhaseStep < phase.Steps && !optimizer.Converged)
            {
                if (_options.Cancellation.IsCancellationRequested) { stop = TrainingStop.Cancelled; break; }
                if (_options.TimeBudget is { } budget && clock.Elapsed >= budget) { stop = TrainingStop.TimeBudget; break; }

                bool due = phase.ResampleEvery == 0 ? PhaseStep == 0 || !resampledThisRun : PhaseStep % phase.ResampleEvery == 0 || !resampledThisRun;
                if (due)
                {
                    // The draw is identified by the step at which it is (or was, before a resume) first made.
                    long drawStep = phase.ResampleEvery == 0 ? phaseStart : phaseStart + PhaseStep / phase.ResampleEvery * phase.ResampleEvery;
                    _objective.Resample(drawStep, Parameters);
                    optimizer.ObjectiveChanged();
                    resampledThisRun = true;
                }

                double loss = optimizer.Step(Parameters, _objective.Evaluate);
                if (!double.IsFinite(loss) || Parameters.Any(v => !double.IsFinite(v)))
                {
                    Array.Copy(lastGood, Parameters, Parameters.Length);
                    lastLoss = loss;
                    stop = TrainingStop.NonFinite;
                    break;
                }
                Array.Copy(Parameters, lastGood, Parameters.Length);
                Step++;
                PhaseStep++;
                stepsThisRun++;
                lastLoss = loss;
                bool last = PhaseStep >= phase.Steps || optimizer.Converged;
                double? error = null;
                if (_options.Error is { } metric && (Step % _options.ErrorEvery == 0 || (last && Phase == _phases.Count - 1)))
                    lastError = error = metric(Parameters);
                _history.Add(new TrainingRecord(Step, loss, error, Total()));
                if (stepsThisRun % _options.ProgressEvery == 0 || last) Report();
                if (_options.CheckpointPath is { } path && _options.CheckpointEvery > 0 && Step % _options.CheckpointEvery == 0)
                    ToCheckpoint(Total()).Save(path);
            }
            if (stop != TrainingStop.Completed) break;
            Phase++;
            PhaseStep = 0;
        }

        if (stop == TrainingStop.Completed && _options.Error is { } m && (_history.Count == 0 || _history[^1].Error is null))
        {
            lastError = m(Parameters);
            if (_history.Count > 0) _history[^1] = _history[^1] with { Error = lastError };
            reported = -1;   // report the error just measured
        }
        Report();
        if (_options.CheckpointPath is { } p) ToCheckpoint(Total()).Save(p);
        return new TrainingResult(stop, Step, stepsThisRun, TimeSpan.FromSeconds(Total()), clock.Elapsed, lastLoss, lastError, [.. _history]);
    }
}
