using System.Diagnostics;
using JetSharp.Runtime;

namespace JetSharp.Cli.Commands;

/// <summary>One timed evaluation: minimum wall time over repeats after a warm-up, and the run's peak live bytes.</summary>
public readonly record struct Measurement(double Seconds, long PeakLiveBytes, Tensor Result);

public static class Measure
{
    public static Measurement Run(Executable exe, Tensor[] inputs, int repeats)
    {
        var result = exe.Run(inputs)[0]; // warm-up: JIT, buffer pool
        double best = double.MaxValue;
        long peak = 0;
        for (int i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            result = exe.Run(inputs)[0];
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
            peak = exe.LastRun.PeakLiveBytes;
        }
        return new(best, peak, result);
    }

    public static string Bytes(double b) => b switch
    {
        >= 1 << 30 => $"{b / (1 << 30):0.00} GiB",
        >= 1 << 20 => $"{b / (1 << 20):0.0} MiB",
        >= 1 << 10 => $"{b / (1 << 10):0.0} KiB",
        _ => $"{b:0} B",
    };

    public static string Time(double s) => s >= 1 ? $"{s:0.00} s" : $"{s * 1e3:0.0} ms";
}
