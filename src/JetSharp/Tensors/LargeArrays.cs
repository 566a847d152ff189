using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace JetSharp.Tensors;

/// <summary>
/// Storage for large tensors, buffers and optimizer state: arrays of at least <see cref="Threshold"/> bytes are asked onto
/// transparent huge pages (2 MiB) where Linux offers them on request (<c>/sys/kernel/mm/transparent_hugepage/enabled</c>
/// set to <c>madvise</c>, the Debian default), by <c>madvise(MADV_HUGEPAGE)</c> on the whole 2 MiB pages inside the
/// array before its pages are first touched. A pass that streams tens of megabytes (the stde example's [100, 10⁵] batch
/// and its [10⁵, 128] first layer, gradient and Adam moments) then needs one TLB entry per 2 MiB instead of per 4 KiB;
/// a product that reads 100 rows 400 KB apart (xᵀ·δ there) touches 100 pages per block either way, but finds their
/// translations cached. Nothing changes but where the memory comes from: the advice is a hint the kernel may ignore
/// (THP off, no free huge page, another OS), failures are ignored, and small arrays take the plain path.
/// </summary>
internal static class LargeArrays
{
    /// <summary>Arrays from this many bytes on are advised (at least one whole 2 MiB page lies inside them).</summary>
    public const long Threshold = 4L << 20;

    private const long HugePage = 2L << 20;
    private const int MadvHugePage = 14;   // MADV_HUGEPAGE in <asm-generic/mman-common.h>

    /// <summary>A zero-filled array (as <c>new T[length]</c>).</summary>
    public static T[] Zeroed<T>(int length) where T : unmanaged
    {
        if (!Applies<T>(length)) return new T[length];
        var array = Uninitialized<T>(length);
        Array.Clear(array);   // after the advice: these writes fault the pages in, as huge pages where the kernel has them
        return array;
    }

    /// <summary>An array whose elements are not initialised (as <see cref="GC.AllocateUninitializedArray{T}"/>).</summary>
    public static T[] Uninitialized<T>(int length) where T : unmanaged
    {
        var array = GC.AllocateUninitializedArray<T>(length);
        if (Applies<T>(length)) Advise(array);
        return array;
    }

    private static bool Applies<T>(int length) where T : unmanaged =>
        s_enabled && (long)length * Unsafe.SizeOf<T>() >= Threshold;

    /// <summary>Whether the advice is attempted at all: Linux, and not turned off by <c>JETSHARP_HUGEPAGES=0</c>.</summary>
    private static bool s_enabled = OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("JETSHARP_HUGEPAGES") != "0";

    /// <summary>
    /// madvise on the whole huge pages inside the array's storage. The array is not pinned: a compacting collection may
    /// later move it to memory without the advice, which costs speed only. Pages already touched (memory the collector
    /// reuses) stay small until the kernel's background collapse, if ever.
    /// </summary>
    private static unsafe void Advise<T>(T[] array) where T : unmanaged
    {
        fixed (T* data = array)
        {
            long start = (long)data, end = start + (long)array.Length * sizeof(T);
            long first = (start + HugePage - 1) & ~(HugePage - 1), last = end & ~(HugePage - 1);
            if (last <= first) return;
            // A benign race: threads that see the library missing at once all turn the advice off.
            try { _ = madvise((nint)first, (nuint)(last - first), MadvHugePage); }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { s_enabled = false; }
        }
    }

    /// <summary>Whether a huge-page advice was attempted for <paramref name="array"/>'s size (for the tests).</summary>
    internal static bool WouldAdvise<T>(T[] array) where T : unmanaged => Applies<T>(array.Length);

    [DllImport("libc", SetLastError = true)]
    private static extern int madvise(nint address, nuint length, int advice);
}
