using System.CommandLine;
using JetSharp.Benchmarks;
using JetSharp.Examples;
using JetSharp.Nn;
using JetSharp.Nn.Pinn;

namespace JetSharp.Cli.Commands;

/// <summary>
/// <c>jetsharp bench pinn-jacobian</c>: the per-sample residual Jacobian J of the PINN examples against one loss-and-gradient
/// evaluation (issue target: ≤ 5× on poisson2d), in one run: poisson2d (256 + 64 points, 2→32→32→1) and heat, plate and
/// poisson5d in the configuration their ENGD/LM runs train (<see cref="PinnConfig.SecondOrder"/> where set).
/// </summary>
public static class PinnJacobianBenchCommand
{
    public static Command Create()
    {
        var repeats = Options.OptionalInt("--repeats", "Timed runs of each operation per round; the best is kept [default: 10]");
        var rounds = Options.OptionalInt("--rounds", "Rounds per example (each times the loss-gradient and J back to back); the median ratio is reported [default: 5]");
        var command = new Command("pinn-jacobian", "Time of the per-sample residual Jacobian J over one loss-and-gradient evaluation on poisson2d, heat, plate and poisson5d (target ≤ 5×).")
        {
            repeats, rounds,
        };
        command.SetAction(p =>
        {
            int r = p.GetValue(repeats) ?? 10, k = p.GetValue(rounds) ?? 5;
            Console.WriteLine($"J / (loss + gradient), float64, {Environment.ProcessorCount} cores, {k} rounds of best-of-{r} (load average at start: {Timing.LoadAverage()})");
            foreach (var (name, problem, theta) in Problems())
                Console.WriteLine(JacobianBenchmark.Ratio(name, problem, theta, r, k));
            Console.WriteLine($"load average at end: {Timing.LoadAverage()}");
            return 0;
        });
        return command;
    }

    /// <summary>The four problems with their seeded initial parameters and points drawn.</summary>
    private static IEnumerable<(string Name, PinnProblem<double> Problem, double[] Theta)> Problems()
    {
        var (poisson, theta) = JacobianBenchmark.Poisson2d();
        yield return ("poisson2d", poisson, theta);
        foreach (var example in new PinnExample[] { new Heat(), new Plate(), new PoissonHighDim { SpaceDimension = 5 } })
        {
            var config = example.Config(fast: false);
            config = config.SecondOrder ?? config;
            var problem = example.Build<double>(config, Strategy.Collapsed, seed: 0);
            var t = ParameterVector.Flatten<double>(Mlp.Create(config.Dimension, config.Hidden, 1, Activation.Tanh, seed: 0).Parameters);
            problem.Resample(0, t);
            yield return (example.Name, problem, t);
        }
    }
}
