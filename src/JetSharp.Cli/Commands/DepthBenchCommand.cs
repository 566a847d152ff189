using System.CommandLine;
using JetSharp.Benchmarks;

namespace JetSharp.Cli.Commands;

/// <summary>`jetsharp bench depth`: build time per node of the collapsed and standard Laplacian of sin nested N times.</summary>
public static class DepthBenchCommand
{
    public static Command Create(Option<bool> quick)
    {
        var command = new Command("depth", "Build time per node of the collapsed and standard-Taylor Laplacian of sin∘…∘sin (N = 1k…32k; --quick: 1k…4k), with the log-log slope.");
        command.SetAction(p =>
        {
            int[] depths = p.GetValue(quick) ? [1000, 2000, 4000] : [.. DepthScaling.DefaultDepths];
            var rows = DepthScaling.Measure(depths, Console.WriteLine);
            Console.Write(DepthScaling.Format(rows));
            return 0;
        });
        return command;
    }
}
