using System.CommandLine;
using JetSharp.Examples.FixedPoint;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary><c>jetsharp fixedpoint</c>: renders <see cref="FixedPointDemo"/> (hypergradient through a fixed point, unrolled, implicit and one-step).</summary>
public static class FixedPointCommand
{
    public static Command Create()
    {
        var data = Options.Int("--data", "Training points (and as many validation points) of the logistic regression.", 200);
        var command = new Command("fixedpoint", "Hypergradient through a fixed point: unrolled, implicit and one-step derivatives compared.") { data };
        command.SetAction(p => Run(p.GetValue(data)));
        return command;
    }

    public static int Run(int n)
    {
        const double lambda = 0.05;
        AnsiConsole.Write(new Rule("[bold]Differentiating a fixed point: logistic-regression hypergradient dV/dλ[/]").LeftJustified());
        AnsiConsole.MarkupLine($"{n} training and {n} validation points, 2 weights (intercept, slope), λ = {lambda}");
        var result = FixedPointDemo.Run(n, lambda);
        var table = new Table().Border(TableBorder.Rounded).AddColumns("solver", "mode", "iterations", "dV/dλ", "|error|", "time", "peak memory");
        foreach (var (solver, mode, r, error) in result.Rows)
            table.AddRow(solver.ToString(), mode.ToString(), r.Iterations.ToString(), r.Value.ToString("G12"),
                error.ToString("0.0e0"), Measure.Time(r.Seconds), Measure.Bytes(r.PeakBytes));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"Reference: Newton to 1e-14 with the implicit derivative, dV/dλ = {result.Reference:G12}. " +
            "One-step differentiation is accurate for Newton (superlinear) and not for gradient descent (linear); " +
            "unrolled memory grows with the iterations, implicit and one-step memory does not.");
        return 0;
    }
}
