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
