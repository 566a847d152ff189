using JetSharp.Nn;
using JetSharp.Nn.Pinn;

namespace JetSharp.Benchmarks;

/// <summary>One row of <see cref="JacobianBenchmark"/>: best seconds of each operation and the ratios the issue asks for.</summary>
public sealed record JacobianTiming(int Points, int Parameters, double LossGradient, double Jacobian, double Residual, double AdamStep, double EngdStep, double LmStep)
{
    /// <summary>Time of J over time of one loss-and-gradient evaluation (target ≤ 5).</summary>
    public double JacobianRatio => Jacobian / LossGradient;

    /// <summary>The measurements as aligned text lines.</summary>
    public override string ToString() =>
        $"poisson2d residual, M = {Points} rows, P = {Parameters} parameters\n" +
        $"  loss + gradient        {LossGradient * 1e3,9:0.000} ms\n" +
        $"  residual only          {Residual * 1e3,9:0.000} ms\n" +
        $"  Jacobian J [M, P]      {Jacobian * 1e3,9:0.000} ms   ({JacobianRatio:0.00}× loss + gradient; target ≤ 5×)\n" +
        $"  Adam step              {AdamStep * 1e3,9:0.000} ms\n" +
        $"  ENGD step (Woodbury)   {EngdStep * 1e3,9:0.000} ms   ({EngdStep / AdamStep:0.0}× Adam)\n" +
        $"  LM step                {LmStep * 1e3,9:0.000} ms   ({LmStep / AdamStep:0.0}× Adam)";
}

/// <summary>
/// J against one loss-and-gradient evaluation on one problem, measured in <c>Rounds</c> rounds that each time both
/// (best of the repeats), one after the other, so that both see the same machine load; the ratio of each round is kept.
/// </summary>
public sealed record JacobianRatio(string Name, int Points, int Parameters, double[] LossGradient, double[] Jacobian)
{
    /// <summary>J / (loss + gradient) of each round.</summary>
    public double[] Ratios => [.. LossGradient.Select((g, i) => Jacobian[i] / g)];

    /// <summary>The median of <see cref="Ratios"/> (target ≤ 5).</summary>
    public double Median => Middle(Ratios);

    /// <summary>The smallest ratio of a round (the least disturbed one).</summary>
    public double Best => Ratios.Min();

    private static double Middle(double[] xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>One aligned line.</summary>
    public override string ToString() =>
        $"{Name,-10} M = {Points,5}  P = {Parameters,5}  loss + gradient {Middle(LossGradient) * 1e3,8:0.000} ms  J {Middle(Jacobian) * 1e3,8:0.000} ms  " +
        $"J / (loss + gradient): median {Median:0.00}×, best {Best:0.00}× (rounds: {string.Join(", ", Ratios.Select(r => r.ToString("0.00")))})";
}

/// <summary>
/// The cost of the per-sample Jacobian of the poisson2d residual (−Δu = f on the unit square, u = 0 on the boundary,
/// a 2→32→32→1 tanh MLP, P = 1185; 256 interior + 64 boundary points) against one loss-and-gradient evaluation,
/// and the time of an ENGD and an LM step against an Adam step. Best of several runs after a warm-up
/// (<see cref="Timing.BestSeconds"/>).
/// </summary>
public static class JacobianBenchmark
{
    /// <summary>The poisson2d problem of the example, built with the library's PINN API.</summary>
    public static (PinnProblem<double> Problem, double[] Theta) Poisson2d(int interior = 256, int boundary = 64, int[]? hidden = null, long seed = 0)
    {
        var net = Mlp.Create(2, hidden ?? [32, 32], 1, Activation.Tanh, seed);
        var square = Box.UnitCube(2);
        var laplacian = DifferentialOperator.Laplacian();
        double scale = 2 * Math.PI * Math.PI;
        var terms = new List<PinnTerm>
        {
            new()
            {
                Name = "interior",
                Points = interior,
                Sample = s => square.Interior<double>(interior, s),
                Residual = c => (c.Apply(laplacian) + Fn.Sin(c.Coordinate(0) * Math.PI) * Fn.Sin(c.Coordinate(1) * Math.PI) * scale) * (1 / scale),
            },
            new() { Name = "boundary", Points = boundary, Sample = s => square.Boundary<double>(boundary, s), Residual = c => c.U },
        };
        var problem = new PinnProblem<double>(net.Architecture, net.ParameterShapes, net.Apply, 2, terms, seed: seed);
        var theta = ParameterVector.Flatten<double>(net.Parameters);
        problem.Resample(0, theta);
        return (problem, theta);
    }

    /// <summary>
    /// Times J (<see cref="PinnProblem{T}.Linearize"/>) against one loss-and-gradient evaluation on <paramref name="problem"/> at
    /// <paramref name="theta"/> (its points drawn): <paramref name="rounds"/> rounds, each the best of <paramref name="repeats"/>
    /// of both (see <see cref="JacobianRatio"/>).
    /// </summary>
    public static JacobianRatio Ratio(string name, PinnProblem<double> problem, double[] theta, int repeats = 10, int rounds = 5)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        var g = new double[problem.ParameterCount];
        var r = new double[problem.ResidualCount];
        var lossGradient = new double[rounds];
        var jacobian = new double[rounds];
        for (int i = 0; i < rounds; i++)
        {
            lossGradient[i] = Timing.BestSeconds(() => problem.Evaluate(theta, g), repeats);
            jacobian[i] = Timing.BestSeconds(() => problem.Linearize(theta, r, out _), repeats);
        }
        return new JacobianRatio(name, problem.ResidualCount, problem.ParameterCount, lossGradient, jacobian);
    }

    /// <summary>Times the operations (best of <paramref name="repeats"/>).</summary>
    public static JacobianTiming Run(int interior = 256, int boundary = 64, int repeats = 20)
    {
        var (problem, theta) = Poisson2d(interior, boundary);
        var g = new double[problem.ParameterCount];
        var r = new double[problem.ResidualCount];
        double lossGradient = Timing.BestSeconds(() => problem.Evaluate(theta, g), repeats);
        double residual = Timing.BestSeconds(() => problem.Residuals(theta, r), repeats);
        double jacobian = Timing.BestSeconds(() => problem.Linearize(theta, r, out _), repeats);

        // Steps from copies of θ, so every timed step starts from the same point.
        double StepTime(IOptimizer<double> o) => Timing.BestSeconds(() => o.Step((double[])theta.Clone(), problem.Evaluate), Math.Max(3, repeats / 4));
        double adam = StepTime(new Adam<double>(1e-3));
        double engd = StepTime(new Engd(problem));
        double lm = StepTime(new LevenbergMarquardt(problem));
        return new JacobianTiming(problem.ResidualCount, problem.ParameterCount, lossGradient, jacobian, residual, adam, engd, lm);
    }
}
