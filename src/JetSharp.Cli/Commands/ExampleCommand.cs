using System.CommandLine;
using System.Text;
using JetSharp.Examples;
using JetSharp.Nn;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary>
/// <c>jetsharp example NAME</c>: trains one of the example problems (examples/NAME) with live progress,
/// prints its error against the exact solution and its run time, and writes the figures, a summary and
/// a checkpoint into the output folder. Ctrl+C stops training and saves the checkpoint;
/// <c>--resume</c> continues from it.
/// </summary>
public static class ExampleCommand
{
    /// <summary>What <c>jetsharp example</c> was asked to do.</summary>
    public sealed record Settings(string? Name, bool Fast, string? Out, string? Checkpoint, bool Resume, long Seed, double Scale, double? BudgetSeconds, bool NoCompare,
        PinnOptimizer? Optimizer = null, int? Dimension = null, int? Steps = null);

    /// <summary>The spellings of <c>--optimizer</c> and what each trains with.</summary>
    public static IReadOnlyList<(string Key, PinnOptimizer Optimizer)> Optimizers { get; } =
        [("adam-lbfgs", PinnOptimizer.AdamLbfgs), ("engd", PinnOptimizer.Engd), ("spring", PinnOptimizer.Spring), ("lm", PinnOptimizer.LevenbergMarquardt)];

    public static Command Create()
    {
        string[] names = [.. ExampleCatalog.All.Select(e => e.Name)];
        var name = new Argument<string?>("NAME")
        {
            Description = $"The example to run ({string.Join(", ", names)}); without a name, the list of examples.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        name.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && !names.Contains(r.Tokens[0].Value, StringComparer.OrdinalIgnoreCase))
                r.AddError($"no example named '{r.Tokens[0].Value}'; the examples are {string.Join(", ", names)}.");
        });
        var fast = Options.Flag("--fast", "Tiny sizes and a handful of steps: checks in seconds that training runs (not the documented accuracy).");
        var outDir = Options.OptionalPath("--out", "Directory for the figures, summary.md and the checkpoint [default: examples-out/NAME, or examples-out/NAME-fast with --fast]", "DIR");
        var checkpoint = Options.OptionalPath("--checkpoint", "Checkpoint file written when training stops and read by --resume [default: OUT/checkpoint.safetensors]");
        var resume = Options.Flag("--resume", "Continue from the checkpoint instead of starting afresh.");
        var seed = Options.Seed("--seed", "Seed of the network initialisation and of every sample drawn.", 0);
        var scale = Options.Positive("--scale", "Multiplies the number of steps of every training phase (e.g. 0.1 for a quick look).", 1);
        var budget = Options.OptionalPositive("--budget", "Stop training after this many seconds (--resume continues) [default: no limit]", "SECONDS");
        var noCompare = Options.Flag("--no-compare", "Skip timing a training step with the collapsed strategy against nested first-order AD.");
        var optimizer = new Option<PinnOptimizer?>("--optimizer")
        {
            Description = $"How a physics-informed example trains: {string.Join(", ", Optimizers.Select(o => o.Key))} (Adam then L-BFGS; energy natural gradient; ENGD with SPRING momentum; Levenberg–Marquardt) [default: adam-lbfgs]",
            HelpName = "NAME",
            CustomParser = r =>
            {
                string token = r.Tokens.Count == 1 ? r.Tokens[0].Value : string.Join(" ", r.Tokens.Select(t => t.Value));
                foreach (var (key, value) in Optimizers)
                    if (string.Equals(key, token, StringComparison.OrdinalIgnoreCase)) return value;
                r.AddError($"--optimizer: unknown optimizer '{token}'; the optimizers are {string.Join(", ", Optimizers.Select(o => o.Key))}.");
                return null;
            },
        };
        var dim = Options.OptionalInt("--dim", "The space dimension D, for examples whose dimension is free (stde) [default: the example's]", 2);
        var steps = Options.OptionalInt("--steps", "Training steps, for examples whose dimension is free (stde) [default: the example's]");
        var minutes = Options.OptionalPositive("--minutes", "Stop training after this many minutes (like --budget) [default: no limit]", "MINUTES");
        var command = new Command("example", "Train a physics-informed network or run variational Monte Carlo: error against the exact solution, run time, SVG figures, checkpoint (Ctrl+C stops, --resume continues).")
        {
            name, fast, outDir, checkpoint, resume, seed, scale, budget, noCompare, optimizer, dim, steps, minutes,
        };
        command.SetAction(p => Run(new Settings(p.GetValue(name), p.GetValue(fast), p.GetValue(outDir), p.GetValue(checkpoint), p.GetValue(resume),
            p.GetValue(seed), p.GetValue(scale), p.GetValue(minutes) is { } m ? Math.Min(m * 60, p.GetValue(budget) ?? double.MaxValue) : p.GetValue(budget), p.GetValue(noCompare),
            p.GetValue(optimizer), p.GetValue(dim), p.GetValue(steps))));
        return command;
    }

    public static int Run(Settings args)
    {
        if (args.Name is null)
        {
            AnsiConsole.MarkupLine("usage: [bold]jetsharp example[/] NAME [[options]] (see [bold]jetsharp example --help[/])");
            var list = new Table().Border(TableBorder.Rounded).AddColumns("name", "problem");
            foreach (var e in ExampleCatalog.All) list.AddRow(e.Name, Markup.Escape(e.Summary));
            AnsiConsole.Write(list);
            return 0;
        }
        var example = ExampleCatalog.Find(args.Name);
        if (args.Optimizer is not null && example is not PinnExample)
            throw new UsageException($"--optimizer applies to the physics-informed examples ({string.Join(", ", ExampleCatalog.All.OfType<PinnExample>().Select(e => e.Name))}); '{example.Name}' has its own optimiser.");
        if (args.Optimizer is { } chosen && example is PinnExample pinnExample && !pinnExample.Optimizers.Contains(chosen))
            throw new UsageException($"--optimizer: '{example.Name}' trains with {string.Join(", ", pinnExample.Optimizers.Select(o => Optimizers.First(x => x.Optimizer == o).Key))} only.");
        if ((args.Dimension is not null || args.Steps is not null) && example.DefaultDimension is null)
            throw new UsageException($"--dim and --steps are for examples whose dimension is free (stde); '{example.Name}' has a fixed one (use --scale).");
        bool fast = args.Fast;
        string outDir = args.Out ?? Path.Combine("examples-out", example.Name + (fast ? "-fast" : ""));
        string checkpoint = args.Checkpoint ?? Path.Combine(outDir, "checkpoint.safetensors");
        bool resume = args.Resume;
        double scale = args.Scale;
        TimeSpan? budget = args.BudgetSeconds is { } b ? TimeSpan.FromSeconds(b) : null;
        if (resume)
        {
            if (!File.Exists(checkpoint))
                throw new UsageException($"--resume needs the checkpoint '{checkpoint}', which does not exist (run without --resume first, or pass --checkpoint PATH).");
            Checkpoint.Load(checkpoint);   // a damaged or truncated file is reported now, before any setup
        }
        OutputPaths.EnsureWritableDirectory(outDir, "--out");
        OutputPaths.EnsureWritableFile(checkpoint, "--checkpoint");

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        AnsiConsole.Write(new Rule($"[bold]jetsharp example {example.Name}[/]{(fast ? " (fast)" : "")}").LeftJustified());

        ExampleResult? result = null;
        try
        {
            AnsiConsole.Progress().AutoClear(false).HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("setting up", maxValue: 1);
                    var options = new ExampleOptions
                    {
                        Fast = fast,
                        Seed = args.Seed,
                        Precision = example.Precisions[0],      // the example's own precision (float64 for all but stde, which trains in float32)
                        Dimension = args.Dimension,
                        Steps = args.Steps,
                        StepScale = scale,
                        TimeBudget = budget,
                        OutputDirectory = outDir,
                        CheckpointPath = checkpoint,
                        Resume = resume,
                        CompareStrategies = !args.NoCompare,
                        Cancellation = cancel.Token,
                        Log = line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]"),
                        Progress = p =>
                        {
                            task.MaxValue = Math.Max(1, p.TotalSteps);
                            task.Value = Math.Min(p.Step, p.TotalSteps);
                            string error = p.Error is { } e ? $" error {e:0.00e0}" : "";
                            task.Description = Markup.Escape($"step {p.Step}/{p.TotalSteps} {p.PhaseName,-6} loss {p.Loss:0.000e0}{error} {p.StepsPerSecond,5:0.0} steps/s");
                            ctx.Refresh();
                        },
                    };
                    result = example is PinnExample pinn ? pinn.Run(options, args.Optimizer ?? PinnOptimizer.AdamLbfgs) : example.Run(options);
                    task.Value = task.MaxValue;
                });
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }

        var r = result!;
        var table = new Table().Border(TableBorder.Rounded).AddColumns("", "");
        string colour = r.TargetReached ? "[green]" : fast ? "[yellow]" : "[red]";
        table.AddRow(Markup.Escape(r.ErrorName), $"{colour}{r.Error:0.000e0}[/] (target ≤ {r.Target:0.0e0}{(fast ? " for the full run; --fast only checks that training runs" : "")})");
        table.AddRow("steps", $"{r.Training.Steps} ({r.Training.StepsThisRun} in this run, stopped: {r.Training.Stop})");
        table.AddRow("training time", Measure.Time(r.Training.Elapsed.TotalSeconds) + (r.Training.Steps > r.Training.StepsThisRun ? $" ({Measure.Time(r.Training.ElapsedThisRun.TotalSeconds)} in this run)" : ""));
        table.AddRow("wall time (this run)", Measure.Time(r.WallTime.TotalSeconds));
        table.AddRow("final loss", $"{r.Training.Loss:0.000e0}");
        foreach (var (name, value) in r.Details) table.AddRow(Markup.Escape(name), Markup.Escape(value));
        foreach (var t in r.Timings)
            table.AddRow($"step time, {t.Strategy.Description}", Milliseconds(t.SecondsPerStep));
        if (r.Timings.Count == 2)
            table.AddRow("collapsed / nested", $"{r.Timings[0].SecondsPerStep / r.Timings[1].SecondsPerStep:0.00}×");
        AnsiConsole.Write(table);
        var summary = Path.Combine(outDir, "summary.md");
        File.WriteAllText(summary, Summary(r, fast));
        AnsiConsole.MarkupLine($"figures: {Markup.Escape(string.Join(", ", r.Figures))}");
        AnsiConsole.MarkupLine($"summary: {Markup.Escape(summary)}; checkpoint: {Markup.Escape(checkpoint)}");
        if (r.Training.Stop is TrainingStop.Cancelled or TrainingStop.TimeBudget)
        {
            string again = $"jetsharp example {example.Name}{(fast ? " --fast" : "")}{(args.Optimizer is { } o2 ? $" --optimizer {Optimizers.First(x => x.Optimizer == o2).Key}" : "")}{(args.Out is { } o ? $" --out {o}" : "")}{(args.Checkpoint is { } c ? $" --checkpoint {c}" : "")} --resume";
            AnsiConsole.MarkupLine($"[yellow]training stopped early ({r.Training.Stop}); continue with[/] {Markup.Escape(again)}");
        }
        return r.TargetReached || fast ? 0 : 1;
    }

    /// <summary>Three significant digits in milliseconds (steps take from a fraction of a millisecond to seconds).</summary>
    private static string Milliseconds(double seconds)
    {
        double ms = seconds * 1e3;
        return ms >= 100 ? $"{ms:0} ms" : ms >= 10 ? $"{ms:0.0} ms" : ms >= 1 ? $"{ms:0.00} ms" : $"{ms:0.000} ms";
    }

    /// <summary>The result as a Markdown table (what docs/examples/NAME.md quotes).</summary>
    private static string Summary(ExampleResult r, bool fast)
    {
        static string Cell(string s) => s.Replace("|", "\\|");   // a literal bar inside a Markdown table cell
        var sb = new StringBuilder();
        sb.AppendLine($"# {r.Name}{(fast ? " (fast)" : "")}").AppendLine();
        sb.AppendLine("| quantity | value |").AppendLine("|---|---|");
        sb.AppendLine($"| {Cell(r.ErrorName)} | {r.Error:0.000e0} (target ≤ {r.Target:0.0e0}, {(r.TargetReached ? "reached" : "not reached")}) |");
        sb.AppendLine($"| steps | {r.Training.Steps} ({r.Training.Stop}) |");
        sb.AppendLine($"| training time | {r.Training.Elapsed.TotalSeconds:0.0} s |");
        sb.AppendLine($"| wall time of the run | {r.WallTime.TotalSeconds:0.0} s |");
        sb.AppendLine($"| final loss | {r.Training.Loss:0.000e0} |");
        foreach (var (name, value) in r.Details) sb.AppendLine($"| {Cell(name)} | {Cell(value)} |");
        foreach (var t in r.Timings) sb.AppendLine($"| time per step, {t.Strategy.Description} | {Milliseconds(t.SecondsPerStep)} |");
        if (r.Timings.Count == 2) sb.AppendLine($"| collapsed / nested | {r.Timings[0].SecondsPerStep / r.Timings[1].SecondsPerStep:0.00}× |");
        sb.AppendLine($"| machine | {Environment.ProcessorCount} cores, .NET {Environment.Version} |");
        if (r.TimingSweep.Count > 0)
        {
            var strategies = r.TimingSweep[0].Timings.Select(t => t.Strategy).ToList();
            sb.AppendLine().AppendLine("Time per training step (loss and gradient; minimum over timed steps):").AppendLine();
            sb.AppendLine($"| {r.TimingSizeName} | {string.Join(" | ", strategies.Select(s => s.Description))} | collapsed / nested |");
            sb.AppendLine($"|---|{string.Concat(strategies.Select(_ => "---|"))}---|");
            foreach (var (size, ts) in r.TimingSweep)
                sb.AppendLine($"| {size} | {string.Join(" | ", ts.Select(t => Milliseconds(t.SecondsPerStep)))} | {ts[0].SecondsPerStep / ts[^1].SecondsPerStep:0.00}× |");
        }
        return sb.ToString();
    }
}
