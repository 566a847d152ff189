using System.Diagnostics;

namespace JetSharp.Nn;

/// <summary>
/// What a <see cref="Trainer{T}"/> minimises: a loss of a flat parameter vector θ of <typeparamref name="T"/>
/// (<c>float</c>: float32 training end to end; <c>double</c>: float64), possibly defined on random samples
/// (collocation points, Monte-Carlo walkers) that the trainer asks to redraw.
/// </summary>
public interface IObjective<T> where T : unmanaged, IFloatingPointIeee754<T>
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
    void Resample(long step, T[] theta);

    /// <summary>The loss at θ on the current samples; writes ∂loss/∂θ into <paramref name="gradient"/>.</summary>
    T Evaluate(T[] theta, T[] gradient);
}

/// <summary>
/// An objective that hands out ∂loss/∂θ as the arrays its graph computed it in (one per parameter tensor, in the order of
/// θ) instead of copying them into one flat vector. An optimizer that reads them where they are (<see cref="Adam{T}"/>,
/// through <see cref="IOptimizer{T}.Step(T[], IObjective{T})"/>) saves a pass over the gradient and its clearing each
/// step: at 10⁷–10⁸ parameters (STDE's first layer) a visible share of the step. Other optimizers call <see cref="IObjective{T}.Evaluate"/>.
/// </summary>
public interface ISegmentedObjective<T> : IObjective<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// The loss at θ on the current samples, and ∂loss/∂θ as segments whose concatenation is the vector
    /// <see cref="IObjective{T}.Evaluate"/> writes. The arrays stay the objective's: valid until its next evaluation,
    /// resample or error measurement, and to be read, not modified.
    /// </summary>
    T Evaluate(T[] theta, out IReadOnlyList<T[]> gradient);
}

/// <summary>
/// An objective that holds θ where its graph reads it — one array per parameter tensor, in θ's order — and lends those
/// arrays out so that an optimizer can update θ there in place (<see cref="IOptimizer{T}.StepResident"/>): the mirror of
/// the gradient segments of <see cref="ISegmentedObjective{T}"/>. It spares the copy of θ into the graph's tensors at every
/// evaluation (at 10⁷ parameters, two passes over 51 MB a step).
/// <para>
/// Ownership: the arrays are the objective's, allocated by it, and never a caller's θ. While a <see cref="Trainer{T}"/> runs
/// an optimizer that steps on them, θ is <i>resident</i> there and the trainer's flat <see cref="Trainer{T}.Parameters"/> lag;
/// the trainer copies θ back before anything reads the flat vector (error measurements, checkpoints, the end of a run) and
/// into the arrays again whenever the flat vector changed (the start of a run, a roll-back, a phase with another optimizer).
/// So between evaluations the objective must leave the arrays as they are (writing the same θ into them is harmless), and
/// its samples must not depend on θ: while θ is resident, <see cref="IObjective{T}.Resample"/> is called with an empty θ.
/// </para>
/// </summary>
public interface IResidentObjective<T> : ISegmentedObjective<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The arrays the objective evaluates at, one per parameter tensor in θ's order (their concatenation is θ); the same arrays for the objective's lifetime.</summary>
    IReadOnlyList<T[]> ParameterSegments { get; }

    /// <summary>The loss at the θ that <see cref="ParameterSegments"/> hold, and ∂loss/∂θ as segments (as <see cref="ISegmentedObjective{T}.Evaluate(T[], out IReadOnlyList{T[]})"/>).</summary>
    T Evaluate(out IReadOnlyList<T[]> gradient);
}

/// <summary>
/// A stretch of training with one optimizer. Samples are redrawn every <paramref name="ResampleEvery"/>
/// steps (0: once, when the phase starts — what L-BFGS needs, since its line search and curvature
/// pairs assume a fixed objective).
/// </summary>
public sealed record TrainingPhase<T>(IOptimizer<T> Optimizer, int Steps, int ResampleEvery = 1) where T : unmanaged, IFloatingPointIeee754<T>
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
    /// finite step (unless <see cref="TrainerOptions{T}.RollBack"/> is off) (the optimizer's internal state is not, so lower its learning rate before continuing).
    /// </summary>
    NonFinite,
}

/// <summary>Options of <see cref="Trainer{T}.Run"/>. All are optional.</summary>
public sealed class TrainerOptions<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Stop (and checkpoint) once this much training time has passed in this run (positive when set).</summary>
    public TimeSpan? TimeBudget { get; init; }

    /// <summary>An error measure of θ (e.g. relative L2 error against the exact solution), recorded every <see cref="ErrorEvery"/> steps and at the end.</summary>
    public Func<T[], double>? Error { get; init; }

    /// <summary>Steps between error measurements (≥ 1; the <see cref="Trainer{T}"/> constructor refuses anything else).</summary>
    public int ErrorEvery { get; init; } = 100;

    /// <summary>Called every <see cref="ProgressEvery"/> steps, at phase ends and at the end (no UI dependency: the CLI renders it).</summary>
    public Action<TrainingProgress>? Progress { get; init; }

    /// <summary>Steps between progress reports (≥ 1).</summary>
    public int ProgressEvery { get; init; } = 10;

    /// <summary>Where checkpoints are written: every <see cref="CheckpointEvery"/> steps (0: never periodically) and whenever training stops; null: nowhere (<see cref="CheckpointEvery"/> is then ignored).</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Steps between periodic checkpoints (≥ 0; 0: only when training stops).</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>Stored in checkpoints (e.g. the example name).</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>
    /// The seed of the objective's random streams, stored in checkpoints and compared on resume: a run resumed
    /// with another seed would draw other points, so <see cref="Trainer{T}.Restore(Checkpoint, string?)"/> refuses it.
    /// </summary>
    public long? Seed { get; init; }

    public CancellationToken Cancellation { get; init; }

    /// <summary>
    /// Keep a copy of θ from the last finite step, to restore after a step that makes the loss or θ non-finite
    /// (default true). The copy costs one more θ-sized array and a copy of θ every step, which for models with
    /// 10⁷–10⁸ parameters is a visible share of the step and of memory. With false there is no copy: a non-finite step
    /// still stops training (<see cref="TrainingStop.NonFinite"/>), but <see cref="Trainer{T}.Parameters"/> are left as
    /// that step made them (possibly NaN), no checkpoint is written for the stop (the last periodic one, from a finite
    /// step, stays), and training continues from that checkpoint.
    /// </summary>
    public bool RollBack { get; init; } = true;
}

/// <summary>The outcome of <see cref="Trainer{T}.Run"/>.</summary>
public sealed record TrainingResult(TrainingStop Stop, long Steps, long StepsThisRun, TimeSpan Elapsed, TimeSpan ElapsedThisRun,
    double Loss, double? Error, IReadOnlyList<TrainingRecord> History);

/// <summary>
/// A training loop over phases (e.g. Adam with a decaying rate, then L-BFGS on fixed points), with
/// progress reports, an error metric, a time budget, cancellation, and checkpoints that resume
/// where training stopped. <typeparamref name="T"/> is the training precision: parameters, gradients,
/// optimizer state and checkpoints are float32 for <c>float</c> and float64 for <c>double</c>; losses, errors and
/// times in the history are reported as double.
/// <para>
/// Resuming (<see cref="Restore(Checkpoint, string?)"/>) restores the parameters, the global step count, the phase and the
/// step within it, the optimizer state of that phase (Adam moments and step counter, which the
/// learning-rate schedule follows; L-BFGS curvature pairs), the history and the elapsed time, after checking the
/// checkpoint against this trainer (architecture, shapes, precision, phase bounds, seed, optimizer). Samples are
/// redrawn from seeds derived from the step at which they were first drawn, so a resumed run sees
/// the same points; samplers with their own state (Metropolis walkers) re-equilibrate instead.
/// </para>
/// </summary>
public sealed class Trainer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IObjective<T> _objective;
    private readonly IReadOnlyList<TrainingPhase<T>> _phases;
    private readonly TrainerOptions<T> _options;
    private readonly List<TrainingRecord> _history = [];
    private double _elapsedBefore;

    public Trainer(IObjective<T> objective, T[] initialParameters, IReadOnlyList<TrainingPhase<T>> phases, TrainerOptions<T>? options = null)
    {
        _objective = objective ?? throw new ArgumentNullException(nameof(objective));
        ArgumentNullException.ThrowIfNull(initialParameters);
        ArgumentNullException.ThrowIfNull(phases);
        var shapes = objective.ParameterShapes
            ?? throw new ArgumentException($"Trainer: the objective '{objective.Architecture}' has no ParameterShapes (null).", nameof(objective));
        int n = ParameterVector.Count(shapes);
        if (initialParameters.Length != n)
            throw new ShapeException($"Trainer: {initialParameters.Length} initial parameters; the model '{objective.Architecture}' has {n} ({string.Join(", ", shapes)}).");
        int bad = VectorMath.AllFinite<T>(initialParameters) ? -1 : Array.FindIndex(initialParameters, v => !T.IsFinite(v));
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
        Parameters = (T[])initialParameters.Clone();
        _phases = [.. phases];
        _options = options ?? new TrainerOptions<T>();
        CheckOptions(_options);
    }

    private static void CheckOptions(TrainerOptions<T> o)
    {
        const string p = "options";
        if (o.ErrorEvery < 1) throw new ArgumentOutOfRangeException(p, o.ErrorEvery, $"Trainer: TrainerOptions.ErrorEvery must be ≥ 1, got {o.ErrorEvery}.");
        if (o.ProgressEvery < 1) throw new ArgumentOutOfRangeException(p, o.ProgressEvery, $"Trainer: TrainerOptions.ProgressEvery must be ≥ 1, got {o.ProgressEvery}.");
        if (o.CheckpointEvery < 0) throw new ArgumentOutOfRangeException(p, o.CheckpointEvery, $"Trainer: TrainerOptions.CheckpointEvery must be ≥ 0 (0: no periodic checkpoints), got {o.CheckpointEvery}.");
        if (o.TimeBudget is { } t && t <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(p, t, $"Trainer: TrainerOptions.TimeBudget must be positive, got {t}.");
    }

    /// <summary>
    /// Current parameter vector θ (updated in place by the optimizers). The trainer's own array, never the caller's initial
    /// one. While <see cref="Run"/> keeps θ resident in an <see cref="IResidentObjective{T}"/> it lags, and is brought up to
    /// date before the error metric, a checkpoint or the end of the run reads it.
    /// </summary>
    public T[] Parameters { get; }

    /// <summary>The training precision.</summary>
    public DType DType => DTypes.Of<T>();

    /// <summary>Steps completed (over all runs, when resumed).</summary>
    public long Step { get; private set; }

    /// <summary>Index of the current phase (equal to the phase count when training is complete).</summary>
    public int Phase { get; private set; }

    /// <summary>Steps completed within the current phase.</summary>
    public long PhaseStep { get; private set; }

    public IReadOnlyList<TrainingRecord> History => _history;

    public long TotalSteps => _phases.Sum(p => (long)p.Steps);

    public bool IsComplete => Phase >= _phases.Count;

    /// <summary>
    /// The current state as a checkpoint (parameters, step, phase, seed, the current phase's optimizer state, history).
    /// After a <see cref="TrainingStop.NonFinite"/> stop the optimizer's state may hold NaN or ∞ (it is not rolled back);
    /// such a state cannot be resumed from, so the checkpoint then carries none and a resumed run continues the phase
    /// with a fresh optimizer (its learning-rate schedule from the start).
    /// </summary>
    public Checkpoint ToCheckpoint(double elapsedSeconds) => ToCheckpoint(elapsedSeconds, forWriting: false);

    /// <summary>
    /// Writes the current state to <paramref name="path"/> without copying the optimizer's arrays or the parameter
    /// tensors a second time (<see cref="IOptimizer{T}.SnapshotForWriting"/>): at 128 M parameters that is 1.5 GB less
    /// at the moment of writing.
    /// </summary>
    private void WriteCheckpoint(string path, double elapsedSeconds) => ToCheckpoint(elapsedSeconds, forWriting: true).Save(path);

    private Checkpoint ToCheckpoint(double elapsedSeconds, bool forWriting)
    {
        if (!(elapsedSeconds >= 0) || double.IsInfinity(elapsedSeconds))
            throw new ArgumentOutOfRangeException(nameof(elapsedSeconds), elapsedSeconds, $"Trainer.ToCheckpoint: elapsed seconds must be finite and ≥ 0, got {elapsedSeconds}.");
        var optimizer = Phase < _phases.Count ? _phases[Phase].Optimizer : null;
        var state = forWriting ? optimizer?.SnapshotForWriting() : optimizer?.SaveState();
        if (state is not null && !IsFinite(state)) state = null;
        return new(_objective.Architecture, ParameterVector.Unflatten<T>(Parameters, _objective.ParameterShapes), copy: !forWriting)
        {
            Step = Step,
            Phase = Phase,
            PhaseStep = PhaseStep,
            ElapsedSeconds = elapsedSeconds,
            Seed = _options.Seed,
            Optimizer = state,
            History = [.. _history],
            Metadata = _options.Metadata ?? new Dictionary<string, string>(),
        };
    }

    private static bool IsFinite(OptimizerState state) =>
        state.Scalars.Values.All(double.IsFinite) &&
        state.Arrays.Values.All(a => a is NDArray<T> t ? VectorMath.AllFinite<T>(t.Data) : Enumerable.Range(0, a.Size).All(i => double.IsFinite(a.GetDouble(i))));

    /// <summary>
    /// Continues from a checkpoint. Everything is checked before anything changes: a checkpoint saved for another
    /// model, precision, seed or phase plan gives a <see cref="CheckpointMismatchException"/>, an optimizer state that
    /// does not fit an <see cref="InvalidDataException"/>; both name <paramref name="source"/> (e.g. the file) and the field.
    /// </summary>
    public void Restore(Checkpoint checkpoint, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        string label = Checkpoint.Label(source);
        if (checkpoint.Problem() is { } problem) throw new InvalidDataException($"{label}: {problem}.");
        checkpoint.CheckCompatible(_objective.Architecture, _objective.ParameterShapes, DType, source);
        int phase = checkpoint.Phase;
        if (phase < 0 || phase > _phases.Count)
            throw new CheckpointMismatchException($"{label}: field 'phase' is {phase}; this trainer has phases 0…{_phases.Count - 1} (or {_phases.Count} when complete).");
        long before = _phases.Take(phase).Sum(p => (long)p.Steps);
        if (phase == _phases.Count)
        {
            if (checkpoint.PhaseStep != 0)
                throw new CheckpointMismatchException($"{label}: field 'phase_step' is {checkpoint.PhaseStep} after the last phase; a completed run has phase_step 0.");
        }
        else if (checkpoint.PhaseStep < 0 || checkpoint.PhaseStep > _phases[phase].Steps)
            throw new CheckpointMismatchException($"{label}: field 'phase_step' is {checkpoint.PhaseStep}, but phase {phase} ('{_phases[phase].Name}') of this trainer has {_phases[phase].Steps} steps.");
        if (checkpoint.Step < checkpoint.PhaseStep || checkpoint.Step - checkpoint.PhaseStep > before)
            throw new CheckpointMismatchException($"{label}: field 'step' is {checkpoint.Step} with phase_step {checkpoint.PhaseStep} in phase {phase}; the phases before it have {before} steps in all, so step must lie in {checkpoint.PhaseStep}…{before + checkpoint.PhaseStep}.");
        if (checkpoint.Seed is { } saved && _options.Seed is { } current && saved != current)
            throw new CheckpointMismatchException($"{label}: field 'seed' is {saved}, but this run uses seed {current}; resuming with another seed would draw other points.");
        if (checkpoint.History.Count > 0 && checkpoint.History[^1].Step > checkpoint.Step)
            throw new CheckpointMismatchException($"{label}: field 'history.step' ends at {checkpoint.History[^1].Step}, after field 'step' ({checkpoint.Step}).");
        var theta = ParameterVector.Flatten<T>(checkpoint.Parameters);   // same dtype (checked above): a copy, not a conversion
        if (checkpoint.Optimizer is { } state)
        {
            if (phase == _phases.Count)
                throw new CheckpointMismatchException($"{label}: field 'optimizer' holds a '{state.Name}' state but training is complete (phase {phase}).");
            var optimizer = _phases[phase].Optimizer;
            if (state.Name != optimizer.Name)
                throw new CheckpointMismatchException($"{label}: field 'optimizer' holds the state of a '{state.Name}' optimizer; phase {phase} of this trainer uses '{optimizer.Name}'.");
            try { optimizer.LoadState(state, theta.Length); }   // validates everything before it changes anything
            catch (ArgumentException e) { throw new InvalidDataException($"{label}: field 'optimizer': {e.Message}", e); }
        }
        Array.Copy(theta, Parameters, theta.Length);
        Step = checkpoint.Step;
        Phase = phase;
        PhaseStep = checkpoint.PhaseStep;
        _elapsedBefore = checkpoint.ElapsedSeconds;
        _history.Clear();
        _history.AddRange(checkpoint.History);
    }

    /// <summary>Continues from the checkpoint file at <paramref name="path"/>; every error names the file and the field (see <see cref="Restore(Checkpoint, string?)"/>).</summary>
    public void Restore(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Restore(Checkpoint.Load(path), path);
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
        var lastGood = _options.RollBack ? (T[])Parameters.Clone() : null;
        var theta = new ThetaHome(Parameters, _objective as IResidentObjective<T>);

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

        try
        {
            while (Phase < _phases.Count)
            {
                var phase = _phases[Phase];
                var optimizer = phase.Optimizer;
                // θ stays where the objective's graph reads it while the optimizer can update it there.
                var resident = optimizer.CanStepResident ? theta.Resident : null;
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
                        _objective.Resample(drawStep, resident is null ? theta.Flat() : []);
                        optimizer.ObjectiveChanged();
                        resampledThisRun = true;
                    }

                    double loss = double.CreateTruncating(resident is null ? optimizer.Step(theta.FlatForWriting(), _objective) : optimizer.StepResident(theta.ResidentForWriting()));
                    // Adam reports θ's finiteness from its update pass; other optimizers get a scan here.
                    if (!double.IsFinite(loss) || !(optimizer.ParametersFiniteAfterStep ?? VectorMath.AllFinite<T>(theta.Flat())))
                    {
                        if (lastGood is not null) Array.Copy(lastGood, theta.FlatForWriting(), Parameters.Length);
                        lastLoss = loss;
                        stop = TrainingStop.NonFinite;
                        break;
                    }
                    if (lastGood is not null) Array.Copy(theta.Flat(), lastGood, Parameters.Length);
                    Step++;
                    PhaseStep++;
                    stepsThisRun++;
                    lastLoss = loss;
                    bool last = PhaseStep >= phase.Steps || optimizer.Converged;
                    double? error = null;
                    if (_options.Error is { } metric && (Step % _options.ErrorEvery == 0 || (last && Phase == _phases.Count - 1)))
                        lastError = error = metric(theta.Flat());
                    _history.Add(new TrainingRecord(Step, loss, error, Total()));
                    if (stepsThisRun % _options.ProgressEvery == 0 || last) Report();
                    if (_options.CheckpointPath is { } path && _options.CheckpointEvery > 0 && Step % _options.CheckpointEvery == 0)
                    {
                        theta.Flat();
                        WriteCheckpoint(path, Total());
                    }
                }
                if (stop != TrainingStop.Completed) break;
                Phase++;
                PhaseStep = 0;
            }
        }
        finally { theta.Flat(); }   // Parameters hold θ whenever Run is not running, however it ends

        if (stop == TrainingStop.Completed && _options.Error is { } m && (_history.Count == 0 || _history[^1].Error is null))
        {
            lastError = m(Parameters);
            if (_history.Count > 0) _history[^1] = _history[^1] with { Error = lastError };
            reported = -1;   // report the error just measured
        }
        Report();
        // Without a roll-back copy, the parameters of a non-finite stop are not a state to resume from.
        if (_options.CheckpointPath is { } p && (stop != TrainingStop.NonFinite || lastGood is not null)) WriteCheckpoint(p, Total());
        return new TrainingResult(stop, Step, stepsThisRun, TimeSpan.FromSeconds(Total()), clock.Elapsed, lastLoss, lastError, [.. _history]);
    }

    /// <summary>
    /// Where θ is during a run: in the trainer's flat <see cref="Parameters"/>, in a resident objective's segments
    /// (<see cref="IResidentObjective{T}"/>), or in both. Whoever is about to read one side asks for it and gets it brought up
    /// to date first (one copy, only after the other side changed); whoever is about to write one side says so, and the
    /// other side stops counting as current.
    /// </summary>
    private sealed class ThetaHome(T[] flat, IResidentObjective<T>? resident)
    {
        private bool _flatCurrent = true, _residentCurrent;

        /// <summary>The objective that can hold θ, if it can.</summary>
        public IResidentObjective<T>? Resident => resident;

        /// <summary>The flat θ, up to date, to read.</summary>
        public T[] Flat()
        {
            if (!_flatCurrent)
            {
                int at = 0;
                foreach (var segment in resident!.ParameterSegments) { segment.CopyTo(flat, at); at += segment.Length; }
                _flatCurrent = true;
            }
            return flat;
        }

        /// <summary>The flat θ, up to date, about to be changed (by an optimizer, a roll-back).</summary>
        public T[] FlatForWriting()
        {
            Flat();
            _residentCurrent = false;
            return flat;
        }

        /// <summary>The resident objective with θ in its segments, about to be changed there.</summary>
        public IResidentObjective<T> ResidentForWriting()
        {
            if (!_residentCurrent)
            {
                var segments = resident!.ParameterSegments;
                int at = 0;
                for (int i = 0; i < segments.Count; i++)
                {
                    if (at + segments[i].Length > flat.Length)
                        throw new ShapeException($"Trainer: the parameter segments of the objective '{resident.Architecture}' hold more than θ's {flat.Length} values.");
                    flat.AsSpan(at, segments[i].Length).CopyTo(segments[i]);
                    at += segments[i].Length;
                }
                if (at != flat.Length)
                    throw new ShapeException($"Trainer: the parameter segments of the objective '{resident.Architecture}' hold {at} values; θ has {flat.Length}.");
                _residentCurrent = true;
            }
            _flatCurrent = false;
            return resident!;
        }
    }
}
