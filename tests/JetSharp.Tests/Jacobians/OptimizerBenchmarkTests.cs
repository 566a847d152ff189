using JetSharp.Jacobians;
using JetSharp.Examples.Jacobians;

namespace JetSharp.Tests.Jacobians;

public class OptimizerBenchmarkTests
{
    /// <summary>
    /// The acceptance bar: ≥ 10 % fewer multiplications than the best of forward, reverse and Markowitz. With
    /// an evaluation budget (10 000 orders per chain, two chains: a fraction of a second in Release) the search is reproducible;
    /// `jetsharp jacobian` runs the same search for a wall-clock budget.
    /// </summary>
    [Theory]
    [InlineData("roe")]
    [InlineData("robot")]
    public void AnnealingSavesAtLeastTenPercentOverTheBestHeuristic(string name)
    {
        var bench = JacobianBenchmarks.Get(name);
        var g = LinearizedFunction.Trace(bench.Function, bench.Inputs, 1).Structure;
        Assert.True(g.Intermediates > new OptimizerOptions().ExhaustiveLimit, "the benchmark should exercise the search, not the exact method");
        var result = OrderOptimizer.Optimize(g, new OptimizerOptions { MaxEvaluations = 10_000, Threads = 2, Seed = 1 });
        long bestHeuristic = OrderOptimizer.Heuristics(g).Min(h => h.Multiplications);
        Assert.Equal(bestHeuristic, result.BestHeuristic);
        Assert.Equal(result.Multiplications, Elimination.Count(g, result.Order));
        Assert.True(result.Multiplications <= 0.9 * bestHeuristic,
            $"{name}: optimized {result.Multiplications} vs best heuristic {bestHeuristic} ({result.BestHeuristicName}): saving {result.Saving:P1} < 10 %");
    }
}
