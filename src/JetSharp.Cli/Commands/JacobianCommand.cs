using System.CommandLine;
using JetSharp.Examples.Jacobians;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary>
/// <c>jetsharp jacobian</c>: renders <see cref="JacobianDemo"/> (multiplication counts and run times of vertex-elimination orders).
/// <code>jetsharp jacobian [roe|robot|heart|propane] [--budget 10] [--points 10000] [--repeats 5] [--seed 1] [--threads N]</code>
/// </summary>
public static class JacobianCommand
{
    public static Command Create()
    {
        string[] names = [.. JacobianBenchmarks.All.Select(b => b.Name)];
        var functions = new Argument<string[]>("FUNCTION")
        {
            Description = $"Benchmark functions to run ({string.Join(", ", names)}) [default: all]",
            Arity = ArgumentArity.ZeroOrMore,
        };
        functions.Validators.Add(r =>
        {
            foreach (var t in r.Tokens)
                if (!names.Contains(t.Value, StringComparer.OrdinalIgnoreCase))
                    r.AddError($"no benchmark function named '{t.Value}'; the functions are {string.Join(", ", names)}.");
        });
        var budget = Options.Positive("--budget", "Time budget of the elimination-order search, in seconds.", 10, "SECONDS");
        var points = Options.Int("--points", "Points N the Jacobians are evaluated at.", 10000);
        var repeats = Options.Int("--repeats", "Timed runs; the best is reported.", 5);
        var seed = Options.Int("--seed", "Seed of the sample points and of the search.", 1, min: int.MinValue);
        var threads = Options.Int("--threads", "Threads of the order search (default: the number of cores).", Environment.ProcessorCount);
        var command = new Command("jacobian", "Jacobians by vertex elimination: multiplication counts and run times of forward, reverse, Markowitz and optimized orders.")
        {
            functions, budget, points, repeats, seed, threads,
        };
        command.SetAction(p => Run(
            new JacobianDemoOptions { BudgetSeconds = p.GetValue(budget), Points = p.GetValue(points), Repeats = p.GetValue(repeats), Seed = p.GetValue(seed), Threads = p.GetValue(threads) },
            p.GetValue(functions) ?? []));
        return command;
    }

    public static int Run(JacobianDemoOptions options, IReadOnlyList<string> names)
    {
        options.Validate();
        double budget = options.BudgetSeconds;
        var functions = names.Count == 0 ? JacobianBenchmarks.All : [.. names.Select(JacobianBenchmarks.Get)];

        AnsiConsole.Write(new Rule("[bold]Jacobians by vertex elimination[/]").LeftJustified());
        AnsiConsole.MarkupLine($"cost = multiplications of edge labels per point (each predecessor × successor pair of an eliminated vertex counts 1); " +
            $"optimizer: {budget:0.#} s, {options.Threads} thread(s), seed {options.Seed}; execution over N = {options.Points} points, best of {options.Repeats}");
        var results = JacobianDemo.Run(options, functions, (bench, intermediates) =>
            AnsiConsole.MarkupLine($"[bold]{bench.Name}[/]: {Markup.Escape(bench.Title)}, {bench.Inputs} → {bench.Outputs}, {intermediates} intermediates [grey]({Markup.Escape(bench.Source)})[/]"));

        var counts = new Table().Border(TableBorder.Rounded)
            .AddColumns("function", "n → m", "p", "edges", "forward", "reverse", "Markowitz", "optimized", "saving", "search");
        var times = new Table().Border(TableBorder.Rounded)
            .AddColumns("function", "labels", "forward", "reverse", "Markowitz", "optimized", "fwd AD", "rev AD", "max |Δ|");
        foreach (var r in results)
        {
            var (f, o) = (r.Function, r.Optimization);
            counts.AddRow(f.Name, $"{f.Inputs} → {f.Outputs}", $"{r.Intermediates}", $"{r.Edges}",
                $"{r.Orders[0].Multiplications}", $"{r.Orders[1].Multiplications}", $"{r.Orders[2].Multiplications}", $"[bold]{o.Multiplications}[/]",
                $"{o.Saving:P1} ({Markup.Escape(o.BestHeuristicName)})", $"{(o.Exact ? "DP" : "SA")} {Measure.Time(o.Elapsed.TotalSeconds)}");
            times.AddRow([f.Name, Measure.Time(r.LabelsSeconds), .. r.Orders.Select(x => Measure.Time(x.Seconds)),
                Measure.Time(r.ForwardAdSeconds), Measure.Time(r.ReverseAdSeconds),
                r.Agree ? $"[green]{r.MaxAbsDifference:0.0e0}[/]" : $"[red]{r.MaxAbsDifference:0.0e0}[/]"]);
        }
        bool ok = results.All(r => r.Agree);
        AnsiConsole.Write(counts);
        AnsiConsole.MarkupLine("p: intermediate vertices. saving: fewer multiplications than the best of forward, reverse and Markowitz (named). " +
            "search: DP = exact dynamic programming, SA = simulated annealing for the time budget.");
        AnsiConsole.Write(times);
        AnsiConsole.MarkupLine($"Times over N = {options.Points} points, best of the repeats. 'labels' evaluates every edge label (the local partials; shared by all orders); " +
            "each order's column is its elimination alone (measured in turns, into a reused result). 'fwd AD' and 'rev AD' are the library's forward mode (n JVPs in one pass) and reverse mode " +
            "(one VJP per output), run by the graph executor. max |Δ|: largest difference of any order's Jacobian from either.");
        AnsiConsole.MarkupLine(ok ? "[green]Every order agrees with forward- and reverse-mode AD.[/]" : "[red]Disagreement found.[/]");
        return ok ? 0 : 1;
    }
}
