using System.CommandLine;
using JetSharp.Benchmarks;
using JetSharp.Examples;
using JetSharp.Examples.Jacobians;

namespace JetSharp.Cli.Commands;

/// <summary>
/// <c>jetsharp bench codegen</c>: interpreter against emitted C# in one run — the training step (loss and
/// gradient) of the poisson2d, heat and plate networks, the forward-mode Jacobian of each function of
/// <c>jetsharp jacobian</c>, and the paper's large MLP Laplacian — medians per call.
/// </summary>
public static class CodeGenBenchCommand
{
    public static Command Create(Option<bool> quick)
    {
        var samples = Options.Int("--samples", "Timed samples per backend (each about 20 ms of calls); the median is reported", 15);
        var command = new Command("codegen", "Interpreter vs emitted C# (Roslyn): PINN training steps, jetsharp jacobian's functions, the large MLP Laplacian (--quick: fewer samples, no large MLP).") { samples };
        command.SetAction(p =>
        {
            bool isQuick = p.GetValue(quick);
            int n = isQuick ? 3 : p.GetValue(samples);
            Console.WriteLine($"{Environment.ProcessorCount} cores, load average {Timing.LoadAverage(3)}, medians of {n} samples per backend");
            foreach (var name in new[] { "poisson2d", "heat", "plate" })
            {
                var example = (PinnExample)ExampleCatalog.Find(name);
                var problem = example.Build<double>(example.Config(false), Strategy.Collapsed, 0);
                var theta = example.InitialParameters<double>(false);
                problem.Resample(0, theta);
                Console.WriteLine(CodeGenBenchmark.TrainingStep(name, problem, theta, n));
            }
            foreach (var f in JacobianBenchmarks.All)
                Console.WriteLine(CodeGenBenchmark.ForwardJacobian(f.Name, f.Function, f.SamplePoints(256, 1), n));
            if (!isQuick) Console.WriteLine(CodeGenBenchmark.LargeMlpLaplacian(16, Math.Max(3, n / 3)));
            Console.WriteLine($"load average after: {Timing.LoadAverage(3)}");
            return 0;
        });
        return command;
    }
}
