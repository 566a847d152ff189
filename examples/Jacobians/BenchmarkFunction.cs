using JetSharp.Jacobians;
namespace JetSharp.Examples.Jacobians;

/// <summary>
/// A benchmark function for Jacobian accumulation: f : ℝⁿ → ℝᵐ written with one node per scalar (see
/// <see cref="LinearizedFunction"/>), and a sampler of points inside the domain where f is smooth.
/// </summary>
/// <param name="Name">Short command-line name.</param>
/// <param name="Title">Human-readable name.</param>
/// <param name="Inputs">n.</param>
/// <param name="Outputs">m.</param>
/// <param name="Function">The function: n columns of shape [N] in, m columns out.</param>
/// <param name="SamplePoints">(N, seed) → points [N, n], reproducible.</param>
/// <param name="Source">Where the definition comes from.</param>
public sealed record BenchmarkFunction(string Name, string Title, int Inputs, int Outputs, Func<Node[], Node[]> Function,
    Func<int, long, NDArray<double>> SamplePoints, string Source)
{
    public override string ToString() => $"{Title} ({Inputs} → {Outputs})";

    /// <summary>Points whose column i is uniform on [lo_i, hi_i).</summary>
    internal static NDArray<double> Uniform(int points, long seed, (double Lo, double Hi)[] ranges)
    {
        if (points < 1) throw new ArgumentException($"sample points: need at least one point, got {points}.");
        var u = NDArray.RandomUniform<double>(new Shape(points, ranges.Length), seed);
        for (int k = 0; k < points; k++)
            for (int i = 0; i < ranges.Length; i++)
            {
                ref double x = ref u.Data[k * ranges.Length + i];
                x = ranges[i].Lo + (ranges[i].Hi - ranges[i].Lo) * x;
            }
        return u;
    }
}

/// <summary>The four benchmark functions of the Jacobian-accumulation literature implemented here.</summary>
public static class JacobianBenchmarks
{
    public static IReadOnlyList<BenchmarkFunction> All { get; } =
        [RoeFlux.Benchmark, RobotArm.Benchmark, HumanHeartDipole.Benchmark, PropaneCombustion.Benchmark];

    /// <summary>The benchmark called <paramref name="name"/> (case-insensitive).</summary>
    public static BenchmarkFunction Get(string name) =>
        All.FirstOrDefault(b => string.Equals(b.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"jacobian benchmarks: no function named '{name}'; known: {string.Join(", ", All.Select(b => b.Name))}.");
}
