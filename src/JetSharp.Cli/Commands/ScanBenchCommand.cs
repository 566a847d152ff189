using System.CommandLine;
using JetSharp.Benchmarks;

namespace JetSharp.Cli.Commands;

/// <summary>`jetsharp bench scan`: the collapsed Laplacian of a residual network as a scan versus unrolled, and reverse-mode memory through a long scan.</summary>
public static class ScanBenchCommand
{
    public static Command Create(Option<bool> quick)
    {
        var blocks = Options.Int("--blocks", "Residual blocks L of the network.", 20);
        var command = new Command("scan", "Collapsed Laplacian of an L-block residual network as one scan vs unrolled (nodes, build and run time), and peak memory of reverse mode through a 1,000-step scan with and without checkpointing (--quick: 200 steps, 1 repeat).")
        {
            blocks,
        };
        command.SetAction(p =>
        {
            bool q = p.GetValue(quick);
            Console.Write(ControlFlowBenchmark.Run(p.GetValue(blocks), dimension: 8, hidden: 32, batch: 64, repeats: q ? 1 : 5, steps: q ? 200 : 1000, Console.WriteLine));
            return 0;
        });
        return command;
    }
}
