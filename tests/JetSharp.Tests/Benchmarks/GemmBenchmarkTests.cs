using JetSharp.Backend;
using JetSharp.Benchmarks;

namespace JetSharp.Tests;

/// <summary>Keeps `jetsharp bench gemm --kernel-bound` wired: which products get a kernel bound; asserts no timing.</summary>
public class GemmBenchmarkTests
{
    [Fact]
    public void KernelBound_IsMeasuredForPlainManagedProductsWithAFullTile_Only()
    {
        var report = GemmBenchmark.Run(new GemmBenchmarkOptions
        {
            Shapes = [(48, 50, 64), (5, 50, 64)],
            Named = [new GemmNamedShape("transposed A", 48, 50, 64, TransA: true)],
            DTypes = [DType.Float32],
            Providers = [GemmProvider.Managed],
            Repeats = 1, MinSampleSeconds = 0.001, PeakSeconds = 0.02,
            KernelBound = true,
        });
        var byShape = report.Results.ToDictionary(r => (r.M, r.Name));
        bool vector = ManagedGemm.DefaultPath != GemmKernelPath.Portable;
        var full = byShape[(48, null)].Kernel;
        Assert.Equal(vector, full is not null);
        if (full is not null)
            Assert.True(full.InL1 > 0 && full.IntoC > 0 && double.IsFinite(full.InL1) && double.IsFinite(full.IntoC), $"{full}");
        Assert.Null(byShape[(5, null)].Kernel);               // fewer rows than a sliver: no full tile
        Assert.Null(byShape[(48, "transposed A")].Kernel);     // A stored transposed is packed by the driver: not the bound's loop
    }
}
