using System.CommandLine;
using System.Diagnostics;
using JetSharp.Examples.CollapsedGraph;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary>
/// Shows what collapsing does to a graph: the standard-Taylor Laplacian of a small tanh MLP before
/// and after simplification, with node and vector counts, the rules that fired, DOT files and,
/// when Graphviz is installed, SVG renderings.
/// </summary>
public static class GraphCommand
{
    public static Command Create()
    {
        var outDir = Options.Path("--out", "Directory for the DOT (and, with Graphviz, SVG) files.", "graph-out");
        var dim = Options.Int("--dim", "Input dimension D of the small MLP.", 2);
        var batch = Options.Int("--batch", "Batch size N.", 4);
        var scan = Options.Int("--scan", "Instead: a residual network of this many blocks written as one scan, and its collapsed Laplacian, listed with the loop bodies nested (0: the MLP).", 0);
        var command = new Command("graph", "The Laplacian graph of a small MLP before and after collapsing: listing, vector counts, rules fired, DOT and SVG.")
        {
            outDir, dim, batch, scan,
        };
        command.SetAction(p => p.GetValue(scan) > 0
            ? RunScan(p.GetValue(outDir)!, p.GetValue(scan), p.GetValue(dim), p.GetValue(batch))
            : Run(p.GetValue(outDir)!, p.GetValue(dim), p.GetValue(batch)));
        return command;
    }

    public static int Run(string outDir, int d, int n)
    {
        OutputPaths.EnsureWritableDirectory(outDir, "--out");
        var result = CollapsedGraphDemo.Build(d, n);
        foreach (var (title, g, stats) in new[] { result.Standard, result.Collapsed })
        {
            AnsiConsole.Write(new Rule($"[bold]{title}[/]: {stats.NodeCount} nodes, {stats.TotalVectors:0.##} vectors").LeftJustified());
            AnsiConsole.WriteLine(g.ToString());
            AnsiConsole.WriteLine(stats.Listing());
        }
        AnsiConsole.MarkupLine("[bold]rules fired:[/] " + string.Join(", ", result.RulesFired.Select(r => $"{r.Rule} ×{r.Count}")));

        string before = Path.Combine(outDir, "laplacian-standard.dot"), after = Path.Combine(outDir, "laplacian-collapsed.dot");
        File.WriteAllText(before, result.Standard.Graph.ToDot("Laplacian, standard Taylor"));
        File.WriteAllText(after, result.Collapsed.Graph.ToDot("Laplacian, collapsed"));
        if (RenderSvg(before) && RenderSvg(after))
            AnsiConsole.MarkupLine($"SVG written: {Markup.Escape(Path.ChangeExtension(before, ".svg"))}, {Markup.Escape(Path.ChangeExtension(after, ".svg"))}");
        else
            AnsiConsole.MarkupLine($"DOT written to {Markup.Escape(outDir)}. Graphviz's [bold]dot[/] was not found: install it (Debian/Ubuntu: [bold]apt-get install graphviz[/]) to get SVG files.");
        return 0;
    }

    /// <summary>A residual network whose blocks are one scan, and its collapsed Laplacian: listings with nested bodies, node counts, DOT.</summary>
    public static int RunScan(string outDir, int blocks, int d, int n)
    {
        OutputPaths.EnsureWritableDirectory(outDir, "--out");
        var model = new JetSharp.Benchmarks.ResidualScanModel(blocks, d, Hidden: 4);
        var shape = new Shape(n, d);
        var traced = Tracer.Function(model.Scan, shape);
        var laplacian = Pde.LaplacianGraph(model.Scan, shape, DType.Float64, Strategy.Collapsed);
        var unrolled = Pde.LaplacianGraph(model.Unrolled, shape, DType.Float64, Strategy.Collapsed);
        AnsiConsole.Write(new Rule($"[bold]{blocks}-block residual network as a scan[/]").LeftJustified());
        AnsiConsole.WriteLine(traced.ToString());
        AnsiConsole.Write(new Rule($"[bold]its collapsed Laplacian[/]: {JetSharp.Benchmarks.ControlFlowBenchmark.CountNodes(laplacian)} nodes (bodies included); unrolled: {JetSharp.Benchmarks.ControlFlowBenchmark.CountNodes(unrolled)}").LeftJustified());
        AnsiConsole.WriteLine(laplacian.ToString());
        string model1 = Path.Combine(outDir, "scan-model.dot"), lap = Path.Combine(outDir, "scan-laplacian.dot");
        File.WriteAllText(model1, traced.ToDot("residual network as a scan"));
        File.WriteAllText(lap, laplacian.ToDot("collapsed Laplacian through a scan"));
        AnsiConsole.MarkupLine(RenderSvg(model1) && RenderSvg(lap) ? $"SVG written to {Markup.Escape(outDir)}." : $"DOT written to {Markup.Escape(outDir)}.");
        return 0;
    }

    private static bool RenderSvg(string dotFile)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("dot", ["-Tsvg", dotFile, "-o", Path.ChangeExtension(dotFile, ".svg")]) { RedirectStandardError = true });
            if (p is null) return false;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
