using System.CommandLine;
using JetSharp.Benchmarks;

namespace JetSharp.Cli.Commands;

/// <summary>`jetsharp bench sparsity`: pair-sparse vs one-owner sparse vs dense collapsed vs nested Laplacian of a FermiNet-style network, n = 2…32 electrons.</summary>
public static class SparsityBenchCommand
{
    public static Command Create(Option<bool> quick)
    {
        var twoStream = Options.Flag("--two-stream", "Use the two-stream network (pooled means after the first layer) instead of the one-stream one.");
        var orbitals = Options.Flag("--orbitals", "Use the one-stream network without its pairwise Jastrow factor (determinants are the only mixing step).");
        var report = Options.Flag("--report", "Print the densification report (nodes, source lines, reasons) for the largest n.");
        var command = new Command("sparsity", "Speed-up of declared particle sparsity (with pair tangents, and with them off) in the collapsed forward Laplacian against dense collapsed and nested AD, FermiNet-style log|ψ|, n = 2…32 electrons (--quick: 2…8, one repeat).")
        {
            twoStream, orbitals, report,
        };
        command.SetAction(p =>
        {
            bool isQuick = p.GetValue(quick);
            var kind = p.GetValue(twoStream) ? ElectronNetwork.TwoStream : p.GetValue(orbitals) ? ElectronNetwork.Orbitals : ElectronNetwork.OneStream;
            int[] electrons = isQuick ? [2, 4, 8] : [.. ParticleSparsityBenchmark.DefaultElectrons];
            const int batch = 8;
            var rows = ParticleSparsityBenchmark.Measure(kind, electrons, batch, isQuick ? 1 : 5, progress: Console.WriteLine);
            Console.Write(ParticleSparsityBenchmark.Format(kind, rows, batch));
            if (p.GetValue(report)) Console.Write(ParticleSparsityBenchmark.Report(kind, electrons[^1]));
            return 0;
        });
        return command;
    }
}
