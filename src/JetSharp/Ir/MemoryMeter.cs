namespace JetSharp.Ir;

/// <summary>
/// Live and peak tensor bytes of one run. Runs nest: a graph run from inside a primitive's kernel (a
/// fixed-point solve, say) gets a meter whose allocations also count in every enclosing run's meter,
/// so the outer peak includes what the inner computation held. Kernels that keep buffers of their own
/// (e.g. stored iterates) report them through <see cref="RunContext.Meter"/>.
/// </summary>
/// <remarks>A meter belongs to one run and is not thread-safe; concurrent runs have meters of their own.</remarks>
public sealed class MemoryMeter
{
    private readonly MemoryMeter? _parent;

    /// <summary>A meter nested in <paramref name="parent"/> (null for a top-level run).</summary>
    public MemoryMeter(MemoryMeter? parent = null) { _parent = parent; }

    /// <summary>Bytes allocated and not yet released.</summary>
    public long LiveBytes { get; private set; }

    /// <summary>The largest value <see cref="LiveBytes"/> has had.</summary>
    public long PeakBytes { get; private set; }

    /// <summary>Counts <paramref name="bytes"/> as live here and in every enclosing meter.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is negative.</exception>
    public void Allocate(long bytes)
    {
        CheckBytes(bytes, "Allocate");
        for (var m = this; m is not null; m = m._parent)
        {
            m.LiveBytes += bytes;
            m.PeakBytes = Math.Max(m.PeakBytes, m.LiveBytes);
        }
    }

    /// <summary>Counts <paramref name="bytes"/> as no longer live here and in every enclosing meter.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is negative.</exception>
    public void Release(long bytes)
    {
        CheckBytes(bytes, "Release");
        for (var m = this; m is not null; m = m._parent) m.LiveBytes -= bytes;
    }

    private static void CheckBytes(long bytes, string what)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes), bytes, $"MemoryMeter.{what}: a byte count must be ≥ 0, got {bytes}.");
    }
}
