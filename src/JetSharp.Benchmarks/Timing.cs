using System.Diagnostics;
using System.Runtime.InteropServices;

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

    /// <summary>
    /// The 1-, 5- and 15-minute load averages from /proc/loadavg (the first <paramref name="count"/> of them), printed beside
    /// every timing so a reader can tell a quiet machine from a shared one; "n/a" where the file cannot be read.
    /// </summary>
    public static string LoadAverage(int count = 1)
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(count)); }
        catch (IOException) { return "n/a"; }
        catch (UnauthorizedAccessException) { return "n/a"; }
    }

    /// <summary>CPU time of this process, all threads (CLOCK_PROCESS_CPUTIME_ID, nanosecond resolution); NaN off Linux.</summary>
    public static double ProcessCpuSeconds()
    {
        if (!OperatingSystem.IsLinux()) return double.NaN;
        try { return ClockGetTime(2, out var t) == 0 ? t.Seconds + 1e-9 * t.Nanoseconds : double.NaN; }
        catch (DllNotFoundException) { return double.NaN; }
        catch (EntryPointNotFoundException) { return double.NaN; }
    }

    /// <summary>
    /// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID): the time it actually ran, so other processes on a shared
    /// machine do not count (their cache and memory traffic still does); NaN off Linux.
    /// </summary>
    public static double ThreadCpuSeconds()
    {
        if (!OperatingSystem.IsLinux()) return double.NaN;
        try { return ClockGetTime(3, out var t) == 0 ? t.Seconds + 1e-9 * t.Nanoseconds : double.NaN; }
        catch (DllNotFoundException) { return double.NaN; }
        catch (EntryPointNotFoundException) { return double.NaN; }
    }

    /// <summary>The median of <paramref name="xs"/> (the mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec { public long Seconds, Nanoseconds; }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);
}
