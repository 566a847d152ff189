namespace JetSharp.Runtime;

/// <summary>
/// Live and peak tensor bytes of one run. Runs nest: an executable run from inside a primitive's
/// kernel (a fixed-point solve, say) gets a meter whose allocations also count in every enclosing
/// run's meter, so the outer peak includes what the inner computation held. Kernels that keep
/// buffers of their own (e.g. stored iterates) report them through <see cref="Current"/>.
/// </summary>
public sealed class MemoryMeter
{
    [ThreadStatic] private static MemoryMeter? _current;
    private readonly MemoryMeter? _parent;

    private MemoryMeter(MemoryMeter? parent) { _parent = parent; }

    /// <summary>The meter of the run in progress on this thread, if any.</summary>
    public static MemoryMeter? Current => _current;

    public long LiveBytes { get; private set; }
    public long PeakBytes { get; private set; }

    public void Allocate(long bytes)
    {
        for (var m = this; m is not null; m = m._parent)
        {
            m.LiveBytes += bytes;
            m.PeakBytes = Math.Max(m.PeakBytes, m.LiveBytes);
        }
    }

    public void Release(long bytes)
    {
        for (var m = this; m is not null; m = m._parent) m.LiveBytes -= bytes;
    }

    /// <summary>Makes a meter nested in the current one the current meter until the scope is disposed.</summary>
    internal static Scope Enter() => new(new MemoryMeter(_current));

    internal readonly struct Scope : IDisposable
    {
        private readonly MemoryMeter? _previous;

        public Scope(MemoryMeter meter)
        {
            Meter = meter;
            _previous = _current;
            _current = meter;
        }

        public MemoryMeter Meter { get; }

        public void Dispose() => _current = _previous;
    }
}
