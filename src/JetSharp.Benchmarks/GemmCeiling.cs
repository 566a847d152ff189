using JetSharp.Backend;

namespace JetSharp.Benchmarks;

/// <summary>
/// The GEMM ceiling for the collapsed Laplacian's dominant product, measured now: GFLOP/s of one
/// (rows × 768)·(768 × 768) product, next to the FMA peak.
/// </summary>
/// <param name="GemmGflops">GFLOP/s of the product.</param>
/// <param name="Rows">Rows of its left factor.</param>
/// <param name="FmaPeakGflops">The FMA peak measured with all cores.</param>
public sealed record GemmCeiling(double GemmGflops, int Rows, double FmaPeakGflops)
{
    /// <summary>Measures the ceiling for the rows of the largest collapsed-Laplacian run in <paramref name="results"/> (4096 when there is none; at most 16384).</summary>
    public static GemmCeiling Measure(DType dtype, IReadOnlyList<CaseResult> results)
    {
        var lap = results.FirstOrDefault(r => r.Case.Key == "laplacian");
        int rows = lap is null ? 4096 : (int)Math.Min(16384, lap.Of(Strategy.Collapsed).Points[^1].X * (2 + lap.Case.Dimension));
        double gemm = dtype == DType.Float32 ? MeasureGemm<float>(rows, 768, 768) : MeasureGemm<double>(rows, 768, 768);
        return new GemmCeiling(gemm, rows, GemmBenchmark.MeasureFmaPeak(dtype, Environment.ProcessorCount));
    }

    /// <summary>GFLOP/s of the best of three (m × k)·(k × n) products after a warm-up.</summary>
    public static double MeasureGemm<T>(int m, int k, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = NDArray.RandomNormal<T>(new Shape(m, k), 1).Data;
        var b = NDArray.RandomNormal<T>(new Shape(k, n), 2).Data;
        var c = new T[m * n];
        double best = Timing.BestSeconds(() => Gemm.Multiply(false, false, m, n, k, T.One, a, 0, k, b, 0, n, T.Zero, c, 0, n), repeats: 3);
        return 2.0 * m * n * k / best / 1e9;
    }
}
