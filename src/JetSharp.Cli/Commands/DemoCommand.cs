using System.CommandLine;
using JetSharp.Benchmarks;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary><c>jetsharp demo</c>: renders <see cref="StrategyComparison"/> (every operator of the reference tanh MLP in the three strategies: agreement, time, memory).</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var batch = Options.Int("--batch", "Batch size N of the 50-dimensional inputs (the biharmonic cases use N/4).", 16);
        var repeats = Options.Int("--repeats", "Timed runs per strategy after a warm-up; the minimum is reported.", 2);
        var command = new Command("demo", "Every operator of the reference tanh MLP in three strategies: agreement, time and memory, and a finite-difference check.")
        {
            batch, repeats,
        };
        command.SetAction(p => Run(p.GetValue(batch), p.GetValue(repeats)));
        return command;
    }

    public static int Run(int batch, int repeats)
    {
        AnsiConsole.Write(new Rule("[bold]JetSharp demo[/]").LeftJustified());
        AnsiConsole.MarkupLine($"tanh MLP D → 768 → 768 → 512 → 512 → 1, float64, batch N = {batch}, GEMM: {JetSharp.Backend.Gemm.Provider}");

        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("operator", "nested", "standard", "collapsed", "time c/s", "time c/n", "memory c/n", "max rel. diff");
        bool allAgree = true;
        AnsiConsole.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                foreach (var c in StrategyComparison.Cases(batch))
                {
                    var task = ctx.AddTask(c.Name, maxValue: StrategyComparison.Strategies.Count);
                    var r = StrategyComparison.Run(c, repeats, _ => task.Increment(1));
                    allAgree &= r.Agree;
                    var (nest, std, col) = (r.Results[Strategy.NestedFirstOrder], r.Results[Strategy.StandardTaylor], r.Results[Strategy.Collapsed]);
                    double diff = r.MaxRelativeDifference;
                    table.AddRow(c.Name, Measure.Time(nest.Seconds), Measure.Time(std.Seconds), Measure.Time(col.Seconds),
                        $"{col.Seconds / std.Seconds:0.00}×", $"{col.Seconds / nest.Seconds:0.00}×",
                        $"{(double)col.PeakLiveBytes / nest.PeakLiveBytes:0.00}×", r.Agree ? $"[green]{diff:0.0e0}[/]" : $"[red]{diff:0.0e0}[/]");
                }
            });
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("Times: minimum over repeats after a warm-up. c/s = collapsed / standard Taylor, c/n = collapsed / nested first-order; memory = peak live tensor bytes of one run.");

        var check = StrategyComparison.FiniteDifferenceCheck();
        AnsiConsole.MarkupLine($"Finite-difference check of datum 0 of the exact Laplacian: AD {check.Ad:R}, second differences {check.Fd:R} (relative difference {check.Rel:0.0e0})");
        bool ok = allAgree && check.Rel < 1e-4;
        AnsiConsole.MarkupLine(ok ? "[green]All strategies agree.[/]" : "[red]Disagreement found.[/]");
        return ok ? 0 : 1;
    }
}
