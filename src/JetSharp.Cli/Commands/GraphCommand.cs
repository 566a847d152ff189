using System.Diagnostics;
using JetSharp.Nn;
using JetSharp.Simplify;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary>
/// Shows what collapsing does to a graph: the standard-Taylor Laplacian of a small tanh MLP before
/// and after simplification, with node and vector counts, the rules that fired, DOT files and,
/// when Graphviz is installed, SVG renderings.
/// </summary>
public static class GraphCommand
{
    public static int Run(Args args)
    {
        string outDir = args.Value("out") ?? "graph-out";
        int d = args.Int("dim", 2), n = args.Int("batch", 4);
        Directory.CreateDirectory(outDir);
        var net = Mlp.Create(d, [3, 3], 1, Activation.Tanh, seed: 0);
        var standard = DifferentialOperator.Laplacian().Build(Trace.Function(net.Apply, new Shape(n, d)), Strategy.StandardTaylor, simplify: false);
        var simplifier = Simplifier.Standard();
        var collapsed = simplifier.Run(standard);

        foreach (var (title, g) in new[] { ("before (standard Taylor)", standard), ("after (collapsed)", collapsed) })
        {
            var stats = GraphStats.Of(g, n);
            AnsiConsole.Write(new Rule($"[bold]{title}[/]: {stats.NodeCount} nodes, {stats.TotalVectors:0.##} vectors").LeftJustified());
            AnsiConsole.WriteLine(g.ToString());
            AnsiConsole.WriteLine(stats.Listing());
        }
        AnsiConsole.MarkupLine("[bold]rules fired:[/] " + string.Join(", ", simplifier.Log.GroupBy(f => f.Rule).Select(gr => $"{gr.Key} ×{gr.Count()}")));

        string before = Path.Combine(outDir, "laplacian-standard.dot"), after = Path.Combine(outDir, "laplacian-collapsed.dot");
        File.WriteAllText(before, standard.ToDot("Laplacian, standard Taylor"));
        File.WriteAllText(after, collapsed.ToDot("Laplacian, collapsed"));
        if (RenderSvg(before) && RenderSvg(after))
            AnsiConsole.MarkupLine($"SVG written: {Markup.Escape(Path.ChangeExtension(before, ".svg"))}, {Markup.Escape(Path.ChangeExtension(after, ".svg"))}");
        else
            AnsiConsole.MarkupLine($"DOT written to {Markup.Escape(outDir)}. Graphviz's [bold]dot[/] was not found: install it (Debian/Ubuntu: [bold]apt-get install graphviz[/]) to get SVG files.");
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
