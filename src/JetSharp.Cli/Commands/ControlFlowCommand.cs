using System.CommandLine;
using JetSharp.Examples.ControlFlow;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary><c>jetsharp controlflow</c>: renders the cond and while demos (piecewise Laplacian, Newton solve in a model, reverse-mode memory).</summary>
public static class ControlFlowCommand
{
    public static Command Create()
    {
        var steps = Options.Int("--steps", "Trips of the loop in the reverse-mode memory comparison.", 1000);
        var command = new Command("controlflow", "Derivatives through cond and while: a piecewise Laplacian, a Newton solve inside a model, reverse-mode memory.") { steps };
        command.SetAction(p => Run(p.GetValue(steps)));
        return command;
    }

    public static int Run(int steps)
    {
        AnsiConsole.Write(new Rule("[bold]cond: Laplacian of sin(r²) inside the unit ball, r⁴ outside[/]").LeftJustified());
        var rows = new Table().Border(TableBorder.Rounded).AddColumns("|x|²", "side", "Δf exact", "max error (3 strategies)");
        foreach (var r in PiecewiseLaplacianDemo.Run())
            rows.AddRow(r.Point.Sum(c => c * c).ToString("F3"), r.Inside ? "inside" : "outside", r.Exact.ToString("G10"), r.MaxError.ToString("0.0e0"));
        AnsiConsole.Write(rows);

        AnsiConsole.Write(new Rule("[bold]while: Newton's method for z³ + z = a(x) inside a model[/]").LeftJustified());
        var n = NewtonInModelDemo.Run();
        var table = new Table().Border(TableBorder.Rounded).AddColumns("quantity", "relative error");
        table.AddRow("∇u vs fixed point (implicit)", n.GradientVsImplicit.ToString("0.0e0"));
        table.AddRow("∇u vs closed form", n.GradientVsExact.ToString("0.0e0"));
        table.AddRow("Δu (3 strategies) vs closed form", n.LaplacianVsExact.ToString("0.0e0"));
        table.AddRow("Δu vs differences of the implicit gradient", n.LaplacianVsImplicitDifferences.ToString("0.0e0"));
        table.AddRow("∇²u·v vs closed form", n.HvpVsExact.ToString("0.0e0"));
        table.AddRow("∇²u·v vs differences of the implicit gradient", n.HvpVsImplicitDifferences.ToString("0.0e0"));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"Newton iterations: {n.Iterations}");

        AnsiConsole.Write(new Rule($"[bold]Reverse mode through {steps} steps: while vs unrolled[/]").LeftJustified());
        var m = WhileMemoryDemo.Run(steps);
        AnsiConsole.MarkupLine($"peak memory: while {Measure.Bytes(m.WhileBytes)} (every carry stored), {Measure.Bytes(m.CheckpointedBytes)} " +
            $"(a checkpoint every ⌈√{steps}⌉ trips), unrolled {Measure.Bytes(m.UnrolledBytes)}; gradients differ by {m.GradientDifference:0.0e0}");
        return 0;
    }
}
