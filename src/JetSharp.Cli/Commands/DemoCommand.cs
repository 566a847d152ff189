using JetSharp.Nn;
using JetSharp.Runtime;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary>
/// The README's main job: every operator of the reference tanh MLP computed with the three
/// strategies on a small batch, checked against each other (and the Laplacian against finite
/// differences), with time and peak memory side by side.
/// </summary>
public static class DemoCommand
{
    private static readonly Strategy[] Strategies = [Strategy.NestedFirstOrder, Strategy.StandardTaylor, Strategy.Collapsed];

    public static int Run(Args args)
    {
        int batch = args.Int("batch", 16);
        int repeats = args.Int("repeats", 2);
        AnsiConsole.Write(new Rule("[bold]JetSharp demo[/]").LeftJustified());
        AnsiConsole.MarkupLine($"tanh MLP D → 768 → 768 → 512 → 512 → 1, float64, batch N = {batch}, GEMM: {JetSharp.Backend.Gemm.Provider}");

        var cases = new List<(string Name, int D, int N, DifferentialOperator Op)>
        {
            ("Δf, exact, D = 50", 50, batch, DifferentialOperator.Laplacian()),
            ("Δf, S = 16, D = 50", 50, batch, DifferentialOperator.Laplacian(Estimate.Stochastic(16, Distribution.Rademacher, seed: 7))),
            ("tr(σσᵀ∇²f), R = 25", 50, batch, DifferentialOperator.WeightedLaplacian(Tensor.RandomNormal<double>(new Shape(50, 25), seed: 3))),
            ("Δ²f, exact, D = 5", 5, Math.Max(1, batch / 4), DifferentialOperator.Biharmonic()),
            ("Δ²f, S = 8, D = 5", 5, Math.Max(1, batch / 4), DifferentialOperator.Biharmonic(Estimate.Stochastic(8, Distribution.Normal, seed: 7))),
        };

        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("operator", "nested", "standard", "collapsed", "time c/s", "time c/n", "memory c/n", "max rel. diff");
        bool allAgree = true;
        AnsiConsole.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                foreach (var (name, d, n, op) in cases)
                {
                    var task = ctx.AddTask(name, maxValue: Strategies.Length);
                    var net = Mlp.Create(d, [768, 768, 512, 512], 1, Activation.Tanh, seed: 0);
                    var x = Tensor.RandomNormal<double>(new Shape(n, d), seed: 1);
                    var results = new Dictionary<Strategy, Measurement>();
                    foreach (var s in Strategies)
                    {
                        var compiled = op.Compile(net.Apply, x.Shape, DType.Float64, s);
                        results[s] = Measure.Run(compiled.Executable, [x], repeats);
                        task.Increment(1);
                    }
                    double diff = MaxRelativeDifference(results.Values.Select(r => (Tensor<double>)r.Result).ToList());
                    allAgree &= diff < 1e-8;
                    var (nest, std, col) = (results[Strategy.NestedFirstOrder], results[Strategy.StandardTaylor], results[Strategy.Collapsed]);
                    table.AddRow(name, Measure.Time(nest.Seconds), Measure.Time(std.Seconds), Measure.Time(col.Seconds),
                        $"{col.Seconds / std.Seconds:0.00}×", $"{col.Seconds / nest.Seconds:0.00}×",
                        $"{(double)col.PeakLiveBytes / nest.PeakLiveBytes:0.00}×", diff < 1e-8 ? $"[green]{diff:0.0e0}[/]" : $"[red]{diff:0.0e0}[/]");
                }
            });
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("Times: minimum over repeats after a warm-up. c/s = collapsed / standard Taylor, c/n = collapsed / nested first-order; memory = peak live tensor bytes of one run.");

        var check = FiniteDifferenceCheck();
        AnsiConsole.MarkupLine($"Finite-difference check of datum 0 of the exact Laplacian: AD {check.Ad:R}, second differences {check.Fd:R} (relative difference {check.Rel:0.0e0})");
        bool ok = allAgree && check.Rel < 1e-4;
        AnsiConsole.MarkupLine(ok ? "[green]All strategies agree.[/]" : "[red]Disagreement found.[/]");
        return ok ? 0 : 1;
    }

    private static double MaxRelativeDifference(List<Tensor<double>> results)
    {
        double scale = Math.Max(1e-300, results[0].Data.Max(Math.Abs));
        double m = 0;
        foreach (var r in results.Skip(1))
            for (int i = 0; i < r.Size; i++) m = Math.Max(m, Math.Abs(r.Data[i] - results[0].Data[i]) / scale);
        return m;
    }

    /// <summary>Σ_d (f(x + h e_d) − 2 f(x) + f(x − h e_d)) / h² for datum 0 against the collapsed Laplacian.</summary>
    private static (double Ad, double Fd, double Rel) FiniteDifferenceCheck()
    {
        const int d = 50;
        var net = Mlp.Create(d, [768, 768, 512, 512], 1, Activation.Tanh, seed: 0);
        var x = Tensor.RandomNormal<double>(new Shape(1, d), seed: 1);
        double ad = Pde.Laplacian(net.Apply, x, Strategy.NestedFirstOrder).Data[0];
        var points = new Tensor<double>(new Shape(2 * d + 1, d));
        double h = 1e-3;
        for (int r = 0; r < 2 * d + 1; r++)
            for (int j = 0; j < d; j++) points[r, j] = x[0, j];
        for (int j = 0; j < d; j++) { points[2 * j + 1, j] += h; points[2 * j + 2, j] -= h; }
        var f = Executable.Compile(Trace.Function(net.Apply, points.Shape)).Run(points)[0];
        double fd = 0;
        for (int j = 0; j < d; j++) fd += (f.Data[2 * j + 1] - 2 * f.Data[0] + f.Data[2 * j + 2]) / (h * h);
        return (ad, fd, Math.Abs(ad - fd) / Math.Max(1e-12, Math.Abs(ad)));
    }
}
