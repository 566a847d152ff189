using System.Diagnostics;

namespace JetSharp.Benchmarks;

/// <summary>The timing convention of every harness here: one untimed warm-up run, then the best of several.</summary>
public static class Timing
{
    /// <summary>
    /// Runs <paramref name="action"/> once untimed (JIT, buffer pools), then <paramref name="repeats"/> times,
    /// and returns the shortest wall time in seconds.
    /// </summary>
    public static double BestSeconds(Action action, int repeats)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentOutOfRangeException.ThrowIfLessThan(repeats, 1);
        action();
        double best = double.MaxValue;
        for (int r = 0; r < repeats; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            action();
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        return best;
    }
}
