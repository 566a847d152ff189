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
        var shapes = new Option<GemmNamedShape[]?>("--shapes")
        {
            Description = "Measure exactly these products, M×K×N each, instead of the sweep and the named shapes, e.g. 8192x768x50,256x768x768; " +
                "a suffix t reads A stored transposed (K×M), + accumulates into C (beta 1): 100000x100x128t is the stde example's xᵀ·δ " +
                "[default: the M×K×N sweep and the named shapes].",
            HelpName = "MxKxN[t][+],...",
            CustomParser = r =>
            {
                string token = string.Join(",", r.Tokens.Select(t => t.Value));
                var list = new List<GemmNamedShape>();
                foreach (string item in token.Split(',', StringSplitOptions.RemoveEmptyEntries))
                {
                    string dims = item.TrimEnd('t', 'T', '+');
                    string suffix = item[dims.Length..].ToLowerInvariant();
                    var d = dims.Split('x', '×', 'X');
                    if (d.Length != 3 || !int.TryParse(d[0], out int m) || !int.TryParse(d[1], out int k) || !int.TryParse(d[2], out int n)
                        || m < 1 || k < 1 || n < 1 || suffix.Length > 2 || suffix.Distinct().Count() != suffix.Length)
                    {
                        r.AddError($"--shapes expects M×K×N products such as 8192x768x50 or 100000x100x128t+, got '{item}'.");
                        return null;
                    }
                    list.Add(new GemmNamedShape(suffix.Length == 0 ? "" : item, m, k, n, TransA: suffix.Contains('t'), Beta: suffix.Contains('+') ? 1 : 0));
                }
                return list.ToArray();
            },
        };
        var dtypes = Options.Subset("--dtypes", "Element types to measure [default: float32,float64].", ["float32", "float64"]);
        var managedOnly = Options.Flag("--managed-only", "Measure only the managed provider (no OpenBLAS, no naive loop).");
        var repeats = Options.OptionalInt("--timed-samples", "Timed samples per shape; the minimum is reported [default: 5, or 3 with --quick].");
        command.Options.Add(shapes);
        command.Options.Add(dtypes);
        command.Options.Add(managedOnly);
        command.Options.Add(repeats);
        var cpuTime = Options.Flag("--cpu-time", "One thread, timed by its CPU clock (peak and products): A/B comparisons on a loaded machine.");
        command.Options.Add(cpuTime);
        var kernelBound = Options.Flag("--kernel-bound",
            "Also time the managed micro-kernel alone on each plain product's full tiles, storing into an L1 tile and into C: " +
            "how far the product is from the kernel's own rate, and how much of that is C's memory traffic.");
        command.Options.Add(kernelBound);
        command.SetAction(p => Run(p.GetValue(quick), p.GetList(shapes), p.GetList(dtypes), p.GetValue(managedOnly), p.GetValue(repeats),
            p.GetValue(cpuTime), p.GetValue(kernelBound)));
        return command;
    }

    public static int Run(bool quick, GemmNamedShape[]? shapes = null, string[]? dtypes = null, bool managedOnly = false, int? repeats = null, bool cpuTime = false,
        bool kernelBound = false)
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
            var o = quick ? GemmBenchmarkOptions.Quick(OnResult) : new GemmBenchmarkOptions { OnResult = OnResult };
            o = new GemmBenchmarkOptions
            {
                Ms = o.Ms, Ks = o.Ks, Ns = o.Ns,
                Shapes = shapes?.Where(s => s.Name.Length == 0).Select(s => (s.M, s.K, s.N)).ToArray(),
                DTypes = dtypes is null ? o.DTypes : dtypes.Select(d => d == "float32" ? DType.Float32 : DType.Float64).ToArray(),
                Named = shapes is null ? o.Named : shapes.Where(s => s.Name.Length > 0).ToArray(),
                Providers = managedOnly ? [JetSharp.Backend.GemmProvider.Managed] : o.Providers,
                NaiveMaxM = o.NaiveMaxM, Repeats = repeats ?? o.Repeats, MinSampleSeconds = o.MinSampleSeconds,
                PeakSeconds = o.PeakSeconds, CpuTime = cpuTime, KernelBound = kernelBound, OnResult = OnResult,
            };
            report = GemmBenchmark.Run(o);
        });
        var env = report!.Environment;
        AnsiConsole.WriteLine($"load average {Timing.LoadAverage(3)} after the run{(cpuTime ? "; one thread, thread CPU time" : "")}");
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
        if (shapes is not null)
            foreach (var r in report.Results)   // one line per product, easy to collect from A/B runs
                AnsiConsole.WriteLine(FormattableString.Invariant($"shape {r.Provider} {r.DType.Name()} {r.Name ?? $"{r.M}x{r.K}x{r.N}"}: {r.Milliseconds:0.000} ms, {r.GFlops:0.0} GFLOP/s, {100 * r.FractionOfPeak:0.0} % of peak{KernelText(r)}"));
        foreach (var r in report.Results.Where(r => r.Provider == JetSharp.Backend.GemmProvider.Managed && r.Name is not null))
            AnsiConsole.MarkupLine(Markup.Escape($"managed {r.DType.Name()} {r.Name} ({r.M}×{r.K}×{r.N}): {r.Milliseconds:0.00} ms, {r.FractionOfPeak:P0} of peak{KernelText(r)}"));
        if (shapes is null && kernelBound)
            foreach (var r in report.Results.Where(r => r.Kernel is not null && r.Name is null))
                AnsiConsole.WriteLine(FormattableString.Invariant($"kernel bound {r.DType.Name()} {r.M}x{r.K}x{r.N}: product {100 * r.FractionOfPeak:0.0} % of peak{KernelText(r)}"));
        return 0;
    }

    private static string KernelText(GemmBenchmarkResult r) => r.Kernel is { } k
        ? FormattableString.Invariant($"; kernel alone {100 * k.InL1:0.0} % storing into L1, {100 * k.IntoC:0.0} % storing into C")
        : "";
}
