using JetSharp.Examples;
using JetSharp.Nn;

namespace JetSharp.Tests.Examples;

/// <summary>The fast configurations of every example: a few training steps, gradients against finite differences, strategies agreeing.</summary>
public class ExampleTests
{
    public static TheoryData<string> Names => [.. ExampleCatalog.All.Select(e => e.Name)];

    public static TheoryData<string> PinnNames => [.. ExampleCatalog.All.OfType<PinnExample>().Select(e => e.Name)];

    [Theory, MemberData(nameof(Names))]
    public void AFewTrainingStepsRunAndLowerTheLoss(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"jetsharp-example-{name}-{Guid.NewGuid():N}");
        try
        {
            var r = ExampleCatalog.Find(name).Run(new ExampleOptions { Fast = true, OutputDirectory = dir, CompareStrategies = true });
            var h = r.Training.History;
            Assert.True(h.Count >= 5, $"{h.Count} steps");
            Assert.Equal(TrainingStop.Completed, r.Training.Stop);
            // Fast PINN runs keep their points fixed and VMC is noisy: compare the first and last steps.
            Assert.True(h[^1].Loss < h[0].Loss, $"{name}: loss {h[0].Loss} → {h[^1].Loss}");
            Assert.True(double.IsFinite(r.Error), $"error {r.Error}");
            Assert.NotEmpty(r.Figures);
            Assert.All(r.Figures, f => Assert.StartsWith("<svg", File.ReadAllText(f)));
            Assert.Contains(r.Figures, f => Path.GetFileName(f) == "loss.svg");
            Assert.Equal(2, r.Timings.Count);
            Assert.All(r.Timings, t => Assert.True(t.SecondsPerStep > 0));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }

    [Theory, MemberData(nameof(PinnNames))]
    public void LossGradientMatchesCentralDifferences(string name)
    {
        var example = ExampleCatalog.Find(name);
        var objective = example.CreateObjective(fast: true);
        var theta = example.InitialParameters(fast: true);
        objective.Resample(3, theta);
        var grad = new double[theta.Length];
        objective.Evaluate(theta, grad);
        CheckAgainstDifferences(theta, grad, t => objective.Evaluate(t, new double[t.Length]), name);
    }

    /// <summary>A few parameters spread over every layer: (f(θ + h e_k) − f(θ − h e_k)) / 2h against ∂f/∂θ_k.</summary>
    internal static void CheckAgainstDifferences(double[] theta, double[] grad, Func<double[], double> f, string name)
    {
        const double h = 1e-5;
        foreach (int k in new[] { 0, 1, theta.Length / 3, theta.Length / 2, theta.Length - 2, theta.Length - 1 }.Distinct())
        {
            var p = (double[])theta.Clone();
            p[k] += h;
            double fp = f(p);
            p[k] -= 2 * h;
            double fm = f(p);
            double fd = (fp - fm) / (2 * h);
            double scale = Math.Max(1e-3, grad.Max(Math.Abs));
            Assert.True(Math.Abs(fd - grad[k]) <= 1e-6 * scale + 1e-6 * Math.Abs(fd),
                $"{name}: ∂/∂θ[{k}] = {grad[k]:R} by reverse mode, {fd:R} by differences");
        }
    }

    [Theory, MemberData(nameof(Names))]
    public void CollapsedAndNestedGiveTheSameLossAndGradient(string name)
    {
        var example = ExampleCatalog.Find(name);
        var theta = example.InitialParameters(fast: true);
        var results = new List<(double Loss, double[] Grad)>();
        foreach (var s in new[] { Strategy.Collapsed, Strategy.NestedFirstOrder })
        {
            var o = example.CreateObjective(fast: true, s);
            o.Resample(5, theta);
            var g = new double[theta.Length];
            results.Add((o.Evaluate(theta, g), g));
        }
        Assert.Equal(results[0].Loss, results[1].Loss, 1e-9 * Math.Max(1, Math.Abs(results[0].Loss)));
        double scale = results[0].Grad.Max(Math.Abs);
        for (int i = 0; i < theta.Length; i++) Assert.Equal(results[0].Grad[i], results[1].Grad[i], 1e-9 * Math.Max(1, scale));
    }

    [Fact]
    public void AnExampleStoppedAndResumedEndsWhereAnUninterruptedRunEnds()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"jetsharp-resume-example-{Guid.NewGuid():N}");
        try
        {
            var path = Path.Combine(dir, "checkpoint.json");
            var example = ExampleCatalog.Find("poisson2d");
            using var cancel = new CancellationTokenSource();
            var stopped = example.Run(new ExampleOptions
            {
                Fast = true, CheckpointPath = path, Cancellation = cancel.Token,
                Progress = p => { if (p.Step == 3) cancel.Cancel(); },
            });
            Assert.Equal(TrainingStop.Cancelled, stopped.Training.Stop);
            Assert.Equal(3, stopped.Training.Steps);
            var rest = example.Run(new ExampleOptions { Fast = true, CheckpointPath = path, Resume = true });
            Assert.Equal(3, rest.Training.StepsThisRun);
            var full = example.Run(new ExampleOptions { Fast = true });
            Assert.Equal(full.Training.Steps, rest.Training.Steps);
            Assert.Equal(full.Training.History.Select(x => x.Loss), rest.Training.History.Select(x => x.Loss));
            Assert.Equal(full.Error, rest.Error);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void UnknownExampleNamesTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => ExampleCatalog.Find("poisson3d"));
        Assert.Contains("poisson2d", e.Message);
        Assert.Contains("vmc-oscillator", e.Message);
    }
}
