using JetSharp.Benchmarks;

namespace JetSharp.Tests;

/// <summary>Keeps `jetsharp bench epilogue` runnable; asserts agreement and that the epilogues fire, never a timing.</summary>
public class EpilogueBenchmarkTests
{
    [Fact]
    public void TheReferenceLaplacianRunsItsTangentsInEpiloguesAndAgreesWithFusedTreesOnly()
    {
        var point = Assert.Single(EpilogueBenchmark.Run([DType.Float64], [2], repeats: 1));
        // Three hidden layers multiply a [50, N, width] tangent by a weight matrix.
        Assert.True(point.Epilogues.Products >= 3, $"epilogues {point.Epilogues}");
        Assert.True(point.MaxRelativeDifference <= 1e-12, $"differ by {point.MaxRelativeDifference}");
        Assert.True(point.EpilogueSeconds > 0 && point.TreesSeconds > 0);
    }
}
