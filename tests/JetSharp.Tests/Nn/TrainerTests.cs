using JetSharp.Nn;

namespace JetSharp.Tests.Nn;

/// <summary>Least squares fit of y = θ₀ + θ₁x + θ₂x² to ½ − x + 2x² on 32 points drawn per step (a cheap objective with resampling, minimum 0), in precision T.</summary>
internal sealed class PolynomialFit<T> : IObjective<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _x = new T[32];
    public List<long> Draws { get; } = [];
    public string Architecture { get; init; } = "quadratic polynomial";
    public IReadOnlyList<Shape> ParameterShapes => [new Shape(3)];

    public void Resample(long step, T[] theta)
    {
        Draws.Add(step);
        for (int i = 0; i < _x.Length; i++) _x[i] = T.CreateTruncating(-1 + 2 * SeededRandom.Uniform(step + 1000, i));
    }

    public T Evaluate(T[] theta, T[] gradient)
    {
        Array.Clear(gradient);
        T loss = T.Zero, n = T.CreateTruncating(_x.Length), two = T.CreateTruncating(2), half = T.CreateTruncating(0.5);
        foreach (var x in _x)
        {
            T r = theta[0] + theta[1] * x + theta[2] * x * x - (half - x + two * x * x);
            loss += r * r / n;
            gradient[0] += two * r / n;
            gradient[1] += two * r * x / n;
            gradient[2] += two * r * x * x / n;
        }
        return loss;
    }
}

public class TrainerTests
{
    private static TrainingPhase<T>[] Phases<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
        [new(new Adam<T>(LearningRate.Exponential(0.05, 0.2, 30)), 30, ResampleEvery: 1), new(new Lbfgs<T>(), 10, ResampleEvery: 0)];

    private static TrainingPhase<double>[] Phases() => Phases<double>();

    [Fact]
    public void TrainingRunsPhasesAndLowersTheLoss()
    {
        var objective = new PolynomialFit<double>();
        var progress = new List<TrainingProgress>();
        var trainer = new Trainer<double>(objective, new double[3], Phases(), new TrainerOptions<double> { Progress = progress.Add, ProgressEvery = 5, Error = t => Math.Abs(t[1] + 1), ErrorEvery = 10 });
        var result = trainer.Run();
        Assert.Equal(TrainingStop.Completed, result.Stop);
        Assert.True(trainer.IsComplete);
        Assert.True(result.History[^1].Loss < 1e-6 * result.History[0].Loss, $"loss {result.History[0].Loss} → {result.History[^1].Loss}");
        // Adam resamples every step (draws 0..29); L-BFGS draws once, at its first step (30).
        Assert.Equal([.. Enumerable.Range(0, 31).Select(i => (long)i)], objective.Draws);
        Assert.Equal(2.0, trainer.Parameters[2], 1e-4);
        Assert.Contains(progress, p => p.PhaseName == "lbfgs");
        Assert.Equal(result.Steps, progress[^1].Step);
        Assert.NotNull(result.Error);
        Assert.Equal(result.History.Count(h => h.Error is not null), result.History.Where(h => h.Step % 10 == 0 || h.Step == result.Steps).Count());
    }

    [Fact]
    public void ResumingFromACheckpointContinuesExactlyWhereTrainingStopped()
    {
        var straight = new Trainer<double>(new PolynomialFit<double>(), new double[3], Phases());
        straight.Run();

        var path = Path.Combine(Path.GetTempPath(), $"jetsharp-resume-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var cancel = new CancellationTokenSource();
            // Stop in the middle of the Adam phase (cancellation is checked before each step).
            var first = new Trainer<double>(new PolynomialFit<double>(), new double[3], Phases(), new TrainerOptions<double>
            {
                CheckpointPath = path,
                Cancellation = cancel.Token,
                Progress = p => { if (p.Step == 17) cancel.Cancel(); },
                ProgressEvery = 1,
            });
            var stopped = first.Run();
            Assert.Equal(TrainingStop.Cancelled, stopped.Stop);
            Assert.Equal(17, stopped.Steps);

            var objective = new PolynomialFit<double>();
            var second = new Trainer<double>(objective, new double[3], Phases());
            second.Restore(path);
            Assert.Equal(17, second.Step);
            var result = second.Run();
            Assert.Equal(straight.Step, result.Steps);
            Assert.Equal(straight.Step - 17, result.StepsThisRun);
            Assert.Equal(17, objective.Draws[0]);      // the draws continue with the same seeds
            Assert.Equal(straight.Parameters, second.Parameters);
            Assert.Equal(straight.History.Select(h => h.Loss), result.History.Select(h => h.Loss));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void ResumingInsideTheLbfgsPhaseRedrawsItsFixedPoints()
    {
        var straight = new Trainer<double>(new PolynomialFit<double>(), new double[3], Phases());
        straight.Run();
        using var cancel = new CancellationTokenSource();
        var first = new Trainer<double>(new PolynomialFit<double>(), new double[3], Phases(), new TrainerOptions<double> { Cancellation = cancel.Token, Progress = p => { if (p.Step == 34) cancel.Cancel(); }, ProgressEvery = 1 });
        first.Run();
        var objective = new PolynomialFit<double>();
        var second = new Trainer<double>(objective, new double[3], Phases());
        second.Restore(first.ToCheckpoint(0));
        second.Run();
        Assert.Equal(30, objective.Draws.Single());   // the L-BFGS phase's points, drawn at its start (step 30)
        for (int i = 0; i < 3; i++) Assert.Equal(straight.Parameters[i], second.Parameters[i], 1e-12);
    }

    [Fact]
    public void TimeBudgetStopsTraining()
    {
        var slow = new SlowObjective();
        var result = new Trainer<double>(slow, new double[3], [new TrainingPhase<double>(new Adam<double>(0.01), 1000)], new TrainerOptions<double> { TimeBudget = TimeSpan.FromMilliseconds(60) }).Run();
        Assert.Equal(TrainingStop.TimeBudget, result.Stop);
        Assert.InRange(result.Steps, 1, 100);
    }

    private sealed class SlowObjective : IObjective<double>
    {
        private readonly PolynomialFit<double> _inner = new();
        public string Architecture => _inner.Architecture;
        public IReadOnlyList<Shape> ParameterShapes => _inner.ParameterShapes;
        public void Resample(long step, double[] theta) => _inner.Resample(step, theta);
        public double Evaluate(double[] theta, double[] gradient) { Thread.Sleep(5); return _inner.Evaluate(theta, gradient); }
    }

    [Fact]
    public void NonFiniteLossStopsAndKeepsTheLastGoodParameters()
    {
        var objective = new NanAfter(3);
        var trainer = new Trainer<double>(objective, [0.5, 0.5, 0.5], [new TrainingPhase<double>(new Adam<double>(0.1), 20)]);
        var result = trainer.Run();
        Assert.Equal(TrainingStop.NonFinite, result.Stop);
        Assert.Equal(3, result.Steps);
        Assert.All(trainer.Parameters, v => Assert.True(double.IsFinite(v)));
    }

    private sealed class NanAfter(int good, bool nanGradient = false) : IObjective<double>
    {
        private int _calls;
        public string Architecture => "nan";
        public IReadOnlyList<Shape> ParameterShapes => [new Shape(3)];
        public void Resample(long step, double[] theta) { }
        public double Evaluate(double[] theta, double[] gradient)
        {
            bool bad = ++_calls > good;
            gradient.AsSpan().Fill(bad && nanGradient ? double.NaN : 1);
            return bad ? double.NaN : 1;
        }
    }

    [Fact]
    public void WithoutRollBackANonFiniteStepStopsAndLeavesThePeriodicCheckpoint()
    {
        // No copy of θ is kept: the stop leaves θ as the NaN step made it, and the checkpoint on disk stays the periodic
        // one of step 2 (the stop writes none); with RollBack the same run ends on finite parameters (the test above).
        var path = Path.Combine(Path.GetTempPath(), $"jetsharp-norollback-{Guid.NewGuid():N}.safetensors");
        try
        {
            var trainer = new Trainer<double>(new NanAfter(3, nanGradient: true), [0.5, 0.5, 0.5], [new TrainingPhase<double>(new Adam<double>(0.1), 20)],
                new TrainerOptions<double> { CheckpointPath = path, CheckpointEvery = 2, RollBack = false });
            var result = trainer.Run();
            Assert.Equal(TrainingStop.NonFinite, result.Stop);
            Assert.Equal(3, result.Steps);
            Assert.All(trainer.Parameters, v => Assert.True(double.IsNaN(v)));
            var c = Checkpoint.Load(path);
            Assert.Equal(2, c.Step);
            Assert.All(ParameterVector.Flatten<double>(c.Parameters), v => Assert.True(double.IsFinite(v)));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void RollBackOrNotTheSameSeededRunGivesTheSameParameters()
    {
        double[] Train(bool rollBack)
        {
            var trainer = new Trainer<double>(new PolynomialFit<double>(), [0.1, -0.2, 0.3], [new TrainingPhase<double>(new Adam<double>(0.05), 30)],
                new TrainerOptions<double> { RollBack = rollBack, Seed = 3 });
            trainer.Run();
            return trainer.Parameters;
        }
        Assert.Equal(Train(true), Train(false));
    }

    [Fact]
    public void ANonFiniteStopStillWritesACheckpointThatResumes()
    {
        // The NaN gradient poisons Adam's moments; the checkpoint keeps the last good parameters and leaves the state out.
        var path = Path.Combine(Path.GetTempPath(), $"jetsharp-nan-{Guid.NewGuid():N}.safetensors");
        try
        {
            var trainer = new Trainer<double>(new NanAfter(3, nanGradient: true), [0.5, 0.5, 0.5], [new TrainingPhase<double>(new Adam<double>(0.1), 20)], new TrainerOptions<double> { CheckpointPath = path });
            Assert.Equal(TrainingStop.NonFinite, trainer.Run().Stop);
            var c = Checkpoint.Load(path);
            Assert.Equal(3, c.Step);
            Assert.Null(c.Optimizer);
            Assert.Equal(trainer.Parameters, ParameterVector.Flatten<double>(c.Parameters));
            var resumed = new Trainer<double>(new NanAfter(100), [0, 0, 0], [new TrainingPhase<double>(new Adam<double>(0.1), 20)]);
            resumed.Restore(path);
            Assert.Equal(20, resumed.Run().Steps);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void MismatchedInputsAreRejected()
    {
        Assert.Contains("quadratic polynomial", Assert.Throws<ShapeException>(() => new Trainer<double>(new PolynomialFit<double>(), new double[4], Phases())).Message);
        Assert.Contains("no training phases", Assert.Throws<ArgumentException>(() => new Trainer<double>(new PolynomialFit<double>(), new double[3], [])).Message);
        var adam = new Adam<double>(0.1);
        Assert.Contains("own optimizer", Assert.Throws<ArgumentException>(() => new Trainer<double>(new PolynomialFit<double>(), new double[3], [new(adam, 2), new(adam, 2)])).Message);
    }
}
