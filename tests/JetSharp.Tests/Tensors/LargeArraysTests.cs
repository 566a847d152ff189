using System.Globalization;
using JetSharp.Tensors;
using Xunit.Abstractions;

namespace JetSharp.Tests.Tensors;

/// <summary>
/// Large arrays are asked onto transparent huge pages (<see cref="LargeArrays"/>); the values must be exactly those of the
/// plain allocation, and on Linux with THP available the advice must reach the kernel (the mapping that holds the array
/// carries the <c>hg</c> flag, MADV_HUGEPAGE, in /proc/self/smaps).
/// </summary>
public class LargeArraysTests(ITestOutputHelper output)
{
    private const int Large = (int)(LargeArrays.Threshold / sizeof(float)) * 3;   // 12 MiB: five whole 2 MiB pages inside

    [Fact]
    public void ZeroedArraysAreZeroAndHaveTheLengthAskedFor()
    {
        // Dirty memory first, so that a collector reusing it would show through a missing clear.
        for (int round = 0; round < 3; round++)
        {
            var dirty = LargeArrays.Uninitialized<double>(Large / 2);
            dirty.AsSpan().Fill(double.NaN);
            GC.KeepAlive(dirty);
        }
        GC.Collect();
        foreach (int n in new[] { 0, 1, 1000, Large, Large + 7 })
        {
            var a = LargeArrays.Zeroed<float>(n);
            Assert.Equal(n, a.Length);
            Assert.Equal(-1, a.AsSpan().IndexOfAnyExcept(0f));
            var t = new NDArray<double>(new Shape(n));
            Assert.Equal(-1, t.Data.AsSpan().IndexOfAnyExcept(0.0));
        }
    }

    [Fact]
    public void OnlyArraysFromTheThresholdOnAreAdvised()
    {
        Assert.False(LargeArrays.WouldAdvise(new float[1000]));
        Assert.False(LargeArrays.WouldAdvise(new float[LargeArrays.Threshold / sizeof(float) - 1]));
        Assert.Equal(OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("JETSHARP_HUGEPAGES") != "0",
            LargeArrays.WouldAdvise(new double[LargeArrays.Threshold / sizeof(double)]));
    }

    [Fact]
    public unsafe void TheKernelRecordsTheAdviceOnTheArraysMapping()
    {
        const string setting = "/sys/kernel/mm/transparent_hugepage/enabled";
        if (!OperatingSystem.IsLinux() || !File.Exists(setting) || File.ReadAllText(setting).Contains("[never]")
            || Environment.GetEnvironmentVariable("JETSHARP_HUGEPAGES") == "0")
        {
            output.WriteLine("skipped: no transparent huge pages here (not Linux, THP set to never, or JETSHARP_HUGEPAGES=0).");
            return;
        }
        var array = LargeArrays.Zeroed<float>(Large);
        fixed (float* p = array)
        {
            ulong middle = (ulong)(p + Large / 2);
            var flags = VmFlagsAt(middle);
            output.WriteLine($"array at 0x{(ulong)p:x}; the mapping holding 0x{middle:x} has VmFlags: {flags}");
            Assert.NotNull(flags);
            Assert.Contains("hg", flags!.Split(' '));
        }
        GC.KeepAlive(array);
    }

    /// <summary>The VmFlags line of the mapping in /proc/self/smaps that contains <paramref name="address"/>.</summary>
    private static string? VmFlagsAt(ulong address)
    {
        bool inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, null, out ulong from)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, null, out ulong to))
                inside = from <= address && address < to;
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
                return line["VmFlags:".Length..].Trim();
        }
        return null;
    }
}
