using System.CommandLine;
using JetSharp.Benchmarks;

namespace JetSharp.Cli.Commands;

/// <summary>`jetsharp bench layers`: collapsed vs standard Laplacian of a residual LayerNorm network and an attention network, and fused vs node-by-node building blocks.</summary>
public static class LayerBenchCommand
{
    public static Command Create(Option<bool> quick)
    {
        var repeats = Options.Int("--repeats", "Timed runs per point; the best is kept.", 10);
        var command = new Command("layers", "Exact Laplacian of a residual LayerNorm/RMSNorm network and of a self-attention network: collapsed/standard time against the vector ratio (2 + D)/(1 + 2D), and the collapsed Laplacian with the building blocks' elementwise parts fused vs node by node.")
        {
            repeats,
        };
        command.SetAction(p =>
        {
            bool q = p.GetValue(quick);
            Console.Write(LayerBenchmark.Run(q, q ? 1 : p.GetValue(repeats), Console.WriteLine));
            return 0;
        });
        return command;
    }
}
