using System.CommandLine;
using JetSharp.Examples.Kalman;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary><c>jetsharp kalman</c>: renders <see cref="KalmanDemo"/> (maximum-likelihood fit through a square-root Kalman filter).</summary>
public static class KalmanCommand
{
    public static Command Create()
    {
        var defaults = new KalmanOptions();
        var series = Options.Int("--series", "Independent series B simulated from the true model.", defaults.Series);
        var steps = Options.Int("--steps", "Time steps T per series.", defaults.Steps, min: 2);
        var iterations = Options.Int("--iterations", "Gradient-ascent iterations.", defaults.Iterations);
        var seed = Options.Int("--seed", "Seed of the simulated noise.", defaults.Seed, min: int.MinValue);
        var lr = Options.Positive("--lr", "Adam's learning rate (scaled by a cosine schedule).", defaults.LearningRate);
        var outDir = Options.Path("--out", "Directory for the SVG plots.", "kalman-out");
        var command = new Command("kalman", "Fit a linear-Gaussian state-space model by gradient ascent through a square-root Kalman filter.")
        {
            series, steps, iterations, seed, lr, outDir,
        };
        command.SetAction(p => Run(new KalmanOptions
        {
            Series = p.GetValue(series), Steps = p.GetValue(steps), Iterations = p.GetValue(iterations), Seed = p.GetValue(seed), LearningRate = p.GetValue(lr),
        }, p.GetValue(outDir)!));
        return command;
    }

    public static int Run(KalmanOptions options, string outDir)
    {
        OutputPaths.EnsureWritableDirectory(outDir, "--out");
        var demo = new KalmanDemo(options);

        AnsiConsole.Write(new Rule("[bold]Square-root Kalman filter: maximum-likelihood fit[/]").LeftJustified());
        AnsiConsole.MarkupLine($"damped oscillator, dt = {KalmanDemo.Dt}; {options.Series} series × {options.Steps} steps; observed: position; " +
                               "process noise on the velocity only (L_Q singular); initial state known exactly (L₀ = 0)");
        var (bad, total) = demo.QrGradientCheck();
        AnsiConsole.MarkupLine($"at the initial point, a filter whose tria is differentiated through QR gives [red]{bad}/{total} non-finite gradient entries[/]; " +
                               "the Gramian rule's are all finite");
        KalmanResult? result = null;
        AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("gradient ascent", maxValue: options.Iterations);
                result = demo.Fit(step =>
                {
                    task.Description = $"gradient ascent  log-lik/obs {step.LogLikelihood:F4}";
                    task.Increment(1);
                });
            });
        var r = result!;

        var table = new Table().Border(TableBorder.Rounded).AddColumns("parameter", "true", "initial", "fitted", "fitted, velocity unit with F₁₂ = dt");
        foreach (var p in r.Parameters)
            table.AddRow(p.Name, $"{p.True:F3}", $"{p.Initial:F3}", $"{p.Fitted:F3}", $"{p.FittedInTrueUnit:F3}");
        AnsiConsole.Write(table);
        var (trueMod, trueArg) = r.TrueEigenvalues;
        var (fitMod, fitArg) = r.FittedEigenvalues;
        AnsiConsole.MarkupLine($"eigenvalues of F (unit-free): true |λ| = {trueMod:F4}, arg λ = ±{trueArg:F4}; fitted |λ| = {fitMod:F4}, arg λ = ±{fitArg:F4}");
        AnsiConsole.MarkupLine($"log-likelihood per observation: initial {r.InitialLogLikelihood:F4}, fitted {r.FittedLogLikelihood:F4}, at the true parameters {r.TrueLogLikelihood:F4}");
        AnsiConsole.MarkupLine($"graph: {demo.ObjectiveNodes} nodes, gradient graph {demo.GradientNodes} nodes, built and compiled in {demo.CompileSeconds:F2} s; " +
                               $"{options.Iterations} gradient evaluations in {r.FitSeconds:F2} s ({1e3 * r.FitSeconds / options.Iterations:F1} ms each)");
        var plots = demo.WritePlots(r, outDir);
        AnsiConsole.MarkupLine($"plots written to {Markup.Escape(plots[0])} and {Markup.Escape(plots[1])}");
        AnsiConsole.MarkupLine(r.ReachesTrueLikelihood ? "[green]The fit reaches (at least) the likelihood of the true parameters.[/]" : "[red]The fit stayed below the likelihood of the true parameters.[/]");
        return r.ReachesTrueLikelihood ? 0 : 1;
    }
}
