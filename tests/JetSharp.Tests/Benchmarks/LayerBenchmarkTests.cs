using JetSharp.Benchmarks;
using Xunit.Abstractions;

namespace JetSharp.Tests;

/// <summary>Keeps `jetsharp bench layers` runnable on its small networks; asserts agreement, never a timing.</summary>
public class LayerBenchmarkTests(ITestOutputHelper output)
{
    [Fact]
    public void CollapsedAndStandardAgreeAndFusedAndNodeByNodeAgreeOnBothNetworks()
    {
        foreach (var net in LayerBenchmark.Networks(quick: true))
        {
            var ratio = LayerBenchmark.Ratio(net, [3, 5], repeats: 1);
            var fusion = LayerBenchmark.Fusion(net, 4, repeats: 1);
            output.WriteLine($"{ratio}\n{fusion}");
            Assert.True(ratio.MaxRelativeDifference <= 1e-12, $"{net.Name}: collapsed vs standard differ by {ratio.MaxRelativeDifference}");
            Assert.True(fusion.MaxRelativeDifference <= 1e-13, $"{net.Name}: fused vs node by node differ by {fusion.MaxRelativeDifference}");
            Assert.True(fusion.FusedKernels.Kernels > 0, $"{net.Name}: nothing was fused");
            Assert.Equal((2.0 + net.Dimension) / (1 + 2.0 * net.Dimension), ratio.VectorRatio);
        }
    }
}
