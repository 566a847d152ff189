using System.CommandLine;
using JetSharp.Benchmarks;

namespace JetSharp.Cli.Commands;

/// <summary>`jetsharp bench sparsity`: particle-sparse vs dense collapsed vs nested Laplacian of a FermiNet-style network, n = 2…32 electrons.</summary>
public static class SparsityBenchCommand
{
    public static Command Create(Option<bool> quick)
    {
        var twoStream = Options.Flag("--two-stream", "Use the two-stream network (pooled means after the first layer) instead of the one-stream one.");
        var report = Options.Flag("--report", "Print the densification report (nodes, source lines, reasons) for the largest n.");
        var command = new Command("sparsity", "Speed-up of declared particle sparsity in the collapsed forward Laplacian against dense collapsed and nested AD, FermiNet-style log|ψ|, n = 2…32 electrons (--quick: 2…8, one repeat).")
        {
            twoStream, report,
        };
        command.SetAction(p =>
        {
            bool isQuick = p.GetValue(quick);
            var kind = p.GetValue(twoStream) ? ElectronNetwork.TwoStream : ElectronNetwork.OneStream;
            int[] electrons = isQuick ? [2, 4, 8] : [.. ParticleSparsityBenchmark.DefaultElectrons];
            const int batch = 8;
            var rows = ParticleSparsityBenchmark.Measure(kind, electrons, batch, isQuick ? 1 : 3, progress: Console.WriteLine);
            Console.Write(ParticleSparsityBenchmark.Format(kind, rows, batch));
            if (p.GetValue(report)) Console.Write(ParticleSparsityBenchmark.Report(kind, electrons[^1]));
            return 0;
        });
        return command;
    }
}
