using System.CommandLine;
using JetSharp.Benchmarks;
using JetSharp.Nn;
using JetSharp.Runtime;

namespace JetSharp.Cli.Commands;

/// <summary>
/// <c>jetsharp bench memory</c>: peak live bytes of the exact Laplacian of the reference tanh MLP (D = 50) in the three
/// strategies, inference and training, with the buffers live at each inference peak (where the memory goes).
/// </summary>
public static class MemoryBenchCommand
{
    public static Command Create()
    {
        var batch = Options.Int("--batch", "Batch size N.", 16);
        var top = Options.Int("--top", "Live buffers listed per strategy.", 8);
        var listing = Options.Flag("--listing", "Also print each strategy's schedule with the live bytes at every step.");
        var command = new Command("memory", "Peak live bytes of the exact Laplacian (D = 50) per strategy, inference and training, and the buffers live at the inference peak.")
        {
            batch, top, listing,
        };
        command.SetAction(p => Run(p.GetValue(batch), p.GetValue(top), p.GetValue(listing)));
        return command;
    }

    public static int Run(int n, int top, bool listing)
    {
        const int d = OperatorBenchmark.ReferenceDimension;
        var net = Mlp.Create(d, OperatorBenchmark.Hidden, 1, Activation.Tanh, seed: 0);
        var x = NDArray.RandomNormal<double>(new Shape(n, d), seed: 1);
        var op = DifferentialOperator.Laplacian();
        var peaks = new Dictionary<Strategy, (long Inference, long Training)>();
        foreach (var s in StrategyComparison.Strategies)
        {
            var exe = new Executable(op.Build(Tracer.Function(v => net.Apply(v), x.Shape), s));
            exe.Run(x);
            long inference = exe.LastRun.PeakLiveBytes, training = OperatorBenchmark.TrainingPeak(op, net, s, x);
            peaks[s] = (inference, training);
            Console.WriteLine($"{s}: inference peak {Measure.Bytes(inference)} (planned {Measure.Bytes(exe.PlannedPeakBytes())}), training peak {Measure.Bytes(training)}; live at the inference peak:");
            if (listing) Console.Write(exe.PlanListing());
            foreach (var (node, bytes) in exe.LiveAtPlannedPeak().Take(top))
                Console.WriteLine($"  {Measure.Bytes(bytes),10}  {node.Op} {node.Shape}  (%{node.Id})");
        }
        var (nested, collapsed) = (peaks[Strategy.NestedFirstOrder], peaks[Strategy.Collapsed]);
        Console.WriteLine($"collapsed/nested: inference {(double)collapsed.Inference / nested.Inference:0.00}, training {(double)collapsed.Training / nested.Training:0.00} " +
            $"(standard/nested: inference {(double)peaks[Strategy.StandardTaylor].Inference / nested.Inference:0.00}, training {(double)peaks[Strategy.StandardTaylor].Training / nested.Training:0.00}); N = {n}, float64");
        return 0;
    }
}
