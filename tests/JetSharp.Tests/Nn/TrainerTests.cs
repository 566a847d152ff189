using JetSharp.Nn;

namespace JetSharp.Tests.Nn;

/// <summary>Least squares fit of y = θ₀ + θ₁x + θ₂x² to ½ − x + 2x² on 32 points drawn per step (a cheap objective with resampling, minimum 0).</summary>
internal sealed class PolynomialFit : IObjective
{
    private readonly double[] _x = new double[32];
    public List<long> Draws { get; } = [];
    public string Architecture { get; init; } = "quadratic polynomial";
    public IReadOnlyList<Shape> ParameterShapes => [new Shape(3)];

    public void Resample(long step, double[] theta)
    {
        Draws.Add(step);
        for (int i = 0; i < _x.Length; i++) _x[i] = -1 + 2 * SeededRandom.Uniform(step + 1000, i);
    }

    public double Evaluate(double[] theta, double[] gradient)
    {
        Array.Clear(gradient);
        double loss = 0;
        foreach (var x in _x)
        {
            double r = theta[0] + theta[1] * x + theta[2] * x * x - (0.5 - x + 2 * x * x);
            loss += r * r / _x.Length;
            gradient[0] += 2 * r / _x.Length;
            gradient[1] += 2 * r * x / _x.Length;
            gradient[2] += 2 * r * x * x / _x.Length;
        }
        return loss;
    }
}

public class TrainerTests
{
    private static TrainingPhase[] Phases() =>
        [new(new Adam(LearningRate.Exponential(0.05, 0.2, 30)), 30, ResampleEvery: 1), new(new Lbfgs(), 10, ResampleEvery: 0)];

    [Fact]
    public void TrainingRunsPhasesAndLowersTheLoss()
    {
        var objective = new PolynomialFit();
        var progress = new List<TrainingProgress>();
        var trainer = new Trainer(objective, new double[3], Phases(), new TrainerOptions { Progress = progress.Add, ProgressEvery = 5, Error = t => Math.Abs(t[1] + 1), ErrorEvery = 10 });
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
        var straight = new Trainer(new PolynomialFit(), new double[3], Phases());
        straight.Run();

        var path = Path.Combine(Path.GetTempPath(), $"jetsharp-resume-{Guid.NewGuid():N}.json");
        try
        {
            using var cancel = new CancellationTokenSource();
            // Stop in the middle of the Adam phase (cancellation is checked before each step).
            var first = new Trainer(new PolynomialFit(), new double[3], Phases(), new TrainerOptions
            {
                CheckpointPath = path,
                Cancellation = cancel.Token,
                Progress = p => { if (p.Step == 17) cancel.Cancel(); },
                ProgressEvery = 1,
            });
            var stopped = first.Run();
            Assert.Equal(TrainingStop.Cancelled, stopped.Stop);
            Assert.Equal(17, stopped.Steps);

            var objective = new PolynomialFit();
            var second = new Trainer(objective, new double[3], Phases());
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
        var straight = new Trainer(new PolynomialFit(), new double[3], Phases());
        straight.Run();
        using var cancel = new CancellationTokenSource();
        var first = new Trainer(new PolynomialFit(), new double[3], Phases(), new TrainerOptions { Cancellation = cancel.Token, Progress = p => { if (p.Step == 34) cancel.Cancel(); }, ProgressEvery = 1 });
        first.Run();
        var objective = new PolynomialFit();
        var second = new Trainer(objective, new double[3], Phases());
        second.Restore(first.ToCheckpoint(0));
        second.Run();
        Assert.Equal(30, objective.Draws.Single());   // the L-BFGS phase's points, drawn at its start (step 30)
        for (int i = 0; i < 3; i++) Assert.Equal(straight.Parameters[i], second.Parameters[i], 1e-12);
    }

    [Fact]
    public void TimeBudgetStopsTraining()
    {
        var slow = new SlowObjective();
        var result = new Trainer(slow, new double[3], [new TrainingPhase(new Adam(0.01), 1000)], new TrainerOptions { TimeBudget = TimeSpan.FromMilliseconds(60) }).Run();
        Assert.Equal(TrainingStop.TimeBudget, result.Stop);
        Assert.InRange(result.Steps, 1, 100);
    }

    private sealed class SlowObjective : IObjective
    {
        private readonly PolynomialFit _inner = new();
        public string Architecture => _inner.Architecture;
        public IReadOnlyList<Shape> ParameterShapes => _inner.ParameterShapes;
        public void Resample(long step, double[] theta) => _inner.Resample(step, theta);
        public double Evaluate(double[] theta, double[] gradient) { Thread.Sleep(5); return _inner.Evaluate(theta, gradient); }
    }

    [Fact]
    public void NonFiniteLossStopsAndKeepsTheLastGoodParameters()
    {
        var objective = new NanAfter(3);
        var trainer = new Trainer(objective, [0.5, 0.5, 0.5], [new TrainingPhase(new Adam(0.1), 20)]);
        var result = trainer.Run();
        Assert.Equal(TrainingStop.NonFinite, result.Stop);
        Assert.Equal(3, result.Steps);
        Assert.All(trainer.Parameters, v => Assert.True(double.IsFinite(v)));
    }

    private sealed class NanAfter(int good) : IObjective
    {
        private int _calls;
        public string Architecture => "nan";
        public IReadOnlyList<Shape> ParameterShapes => [new Shape(3)];
        public void Resample(long step, double[] theta) { }
        public double Evaluate(double[] theta, double[] gradient)
        {
            gradient.AsSpan().Fill(1);
            return ++_calls > good ? double.NaN : 1;
        }
    }

    [Fact]
    public void MismatchedInputsAreRejected()
    {
        Assert.Contains("quadratic polynomial", Assert.Throws<ShapeException>(() => new Trainer(new PolynomialFit(), new double[4], Phases())).Message);
        Assert.Contains("no training phases", Assert.Throws<ArgumentException>(() => new Trainer(new PolynomialFit(), new double[3], [])).Message);
        var adam = new Adam(0.1);
        Assert.Contains("own optimizer", Assert.Throws<ArgumentException>(() => new Trainer(new PolynomialFit(), new double[3], [new(adam, 2), new(adam, 2)])).Message);
    }
}
