using System.CommandLine;
using JetSharp.Benchmarks;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary><c>jetsharp bench gemm</c>: GFLOP/s of the GEMM providers on the reference MLP shapes next to the FMA peak measured in the same run.</summary>
public static class GemmBenchCommand
{
    /// <summary>The <c>gemm</c> subcommand of <c>bench</c>; <paramref name="quick"/> is bench's recursive <c>--quick</c>.</summary>
    public static Command Create(Option<bool> quick)
    {
        var command = new Command("gemm", "GFLOP/s of the managed GEMM, OpenBLAS (if installed) and a naive loop next to the measured FMA peak.");
        command.SetAction(p => Run(p.GetValue(quick)));
        return command;
    }

    public static int Run(bool quick)
    {
        AnsiConsole.Write(new Rule("[bold]GEMM benchmark[/]").LeftJustified());
        var table = new Table().Border(TableBorder.Rounded).AddColumns("provider", "dtype", "M", "K", "N", "GFLOP/s", "of FMA peak");
        GemmBenchmarkReport? report = null;
        AnsiConsole.Live(table).Start(ctx =>
        {
            void OnResult(GemmBenchmarkResult r)
            {
                table.AddRow(r.Provider.ToString(), r.DType.Name() + (r.Name is null ? "" : Markup.Escape($" ({r.Name})")),
                    $"{r.M}", $"{r.K}", $"{r.N}", $"{r.GFlops:0.0}", $"{r.FractionOfPeak:P0}");
                ctx.Refresh();
            }
            report = GemmBenchmark.Run(quick ? GemmBenchmarkOptions.Quick(OnResult) : new GemmBenchmarkOptions { OnResult = OnResult });
        });
        var env = report!.Environment;
        foreach (var p in report.Peaks)
            AnsiConsole.MarkupLine($"FMA peak {p.DType.Name()}: [bold]{p.GFlops:0.0} GFLOP/s[/] ({p.Threads} threads, {Markup.Escape(p.Instructions)})");
        AnsiConsole.MarkupLine($"managed kernel {Markup.Escape(env.ManagedKernel)} (MR×NR = {env.MR}×{env.NR}, MC/KC/NC = {env.MC}/{env.KC}/{env.NC}); " +
            $"OpenBLAS: {(env.OpenBlasAvailable ? Markup.Escape($"{env.OpenBlasLibrary}, core {env.OpenBlasCore}, {env.OpenBlasThreads} threads — {env.OpenBlasCoreTypeDecision}") : "not installed")}");
        foreach (var dtype in report.Peaks.Select(p => p.DType).Distinct())
        {
            var managed = report.Results.Where(r => r.Provider == JetSharp.Backend.GemmProvider.Managed && r.DType == dtype && r.Name is null).ToList();
            if (managed.Count > 0)
                AnsiConsole.MarkupLine($"managed {dtype.Name()}: best {managed.Max(r => r.FractionOfPeak):P0} of peak, on the largest shapes {managed.Where(r => r.M == managed.Max(q => q.M)).Average(r => r.FractionOfPeak):P0} (target ≥ 75%)");
        }
        foreach (var r in report.Results.Where(r => r.Provider == JetSharp.Backend.GemmProvider.Managed && r.Name is not null))
            AnsiConsole.MarkupLine(Markup.Escape($"managed {r.DType.Name()} {r.Name} ({r.M}×{r.K}×{r.N}): {r.Milliseconds:0.00} ms, {r.FractionOfPeak:P0} of peak"));
        return 0;
    }
}
