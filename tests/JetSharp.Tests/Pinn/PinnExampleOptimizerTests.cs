using JetSharp.Benchmarks;
using JetSharp.Examples;

namespace JetSharp.Tests.Pinn;

/// <summary>The examples train with ENGD, SPRING and LM (fast sizes), and the comparison draws one figure for all.</summary>
public class PinnExampleOptimizerTests
{
    public static TheoryData<string> Examples => ["poisson2d", "heat", "plate", "poisson-highdim"];

    [Theory]
    [MemberData(nameof(Examples))]
    public void ExampleTrainsWithEngdAndLowersItsLoss(string name)
    {
        var example = (PinnExample)ExampleCatalog.Find(name);
        var result = example.Run(new ExampleOptions { Fast = true, Seed = 1 }, PinnOptimizer.Engd);
        Assert.Equal(3, result.Training.Steps);
        var h = result.Training.History;
        Assert.True(double.IsFinite(result.Error));
        Assert.True(h[^1].Loss < h[0].Loss, $"{name}: loss {h[0].Loss:e3} → {h[^1].Loss:e3}");
    }

    [Fact]
    public void FiveDimensionalModeUsesTheExactLaplacian()
    {
        var example = new PoissonHighDim { SpaceDimension = 5 };
        Assert.Equal("poisson5d", example.Name);
        Assert.Equal(0, example.Config(fast: false).Samples);
        Assert.Equal(1e-5, example.Config(fast: false).SecondOrderTarget);
        var result = example.Run(new ExampleOptions { Fast = true }, PinnOptimizer.LevenbergMarquardt);
        Assert.True(double.IsFinite(result.Error));
    }

    [Fact]
    public void ComparisonDrawsAllOptimizersInOneFigure()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"jetsharp-pinn-compare-{Guid.NewGuid():N}");
        try
        {
            var (results, figure) = new Poisson2d().Compare(new ExampleOptions { Fast = true, OutputDirectory = dir },
                PinnOptimizer.AdamLbfgs, PinnOptimizer.Spring, PinnOptimizer.LevenbergMarquardt);
            Assert.Equal(3, results.Count);
            var svg = File.ReadAllText(figure!);
            Assert.Contains("AdamLbfgs: relative L2 error", svg);
            Assert.Contains("Spring: relative L2 error", svg);
            Assert.Contains("LevenbergMarquardt: loss", svg);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void BenchmarkProblemMatchesTheExampleSizes()
    {
        var (problem, theta) = JacobianBenchmark.Poisson2d();
        Assert.Equal(320, problem.ResidualCount);
        Assert.Equal(1185, problem.ParameterCount);
        Assert.Equal(1185, theta.Length);
    }

    [Fact]
    public void SecondOrderOptimizersRefuseFloat32BeforeAnyWork()
    {
        var example = new Poisson2d();
        foreach (var o in new[] { PinnOptimizer.Engd, PinnOptimizer.Spring, PinnOptimizer.LevenbergMarquardt })
        {
            var e = Assert.Throws<NotSupportedException>(() => example.Run(new ExampleOptions { Fast = true, Precision = DType.Float32 }, o));
            Assert.Contains("float32", e.Message);
            Assert.Contains(o.ToString(), e.Message);
        }
        var config = example.Config(fast: true);
        var problem = example.Build<float>(config, Strategy.Collapsed, seed: 0);
        Assert.Contains("float32", Assert.Throws<NotSupportedException>(() => config.Phases(1, problem, PinnOptimizer.Engd)).Message);
        Assert.Equal(2, config.Phases(1, example.Build<double>(config, Strategy.Collapsed, seed: 0), PinnOptimizer.AdamLbfgs).Count + (config.LbfgsSteps > 0 ? 0 : 1));
    }
}
