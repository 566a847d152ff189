using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace JetSharp.Backend;

/// <summary>
/// Packing routines. Packing turns an arbitrarily strided (and possibly transposed) block into the
/// exact order in which the micro-kernel streams it, so the kernel's inner loop only ever walks
/// forward through contiguous, 64-byte aligned memory, and tiles past the matrix edge read zeros
/// instead of needing their own code path.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs rows [0, mc) × steps [0, kc) of an operand addressed as src[r*rs + p*cs] into slivers of
    /// <paramref name="mr"/> rows: sliver s holds, for each p, the mr values of rows s*mr.. s*mr+mr-1
    /// (zero past mc). Used for A (rows = m) and, with rows/columns swapped, for B (rows = n).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackSlivers<T>(T* src, nint rs, nint cs, int mc, int kc, int mr, T* dst)
        where T : unmanaged
    {
        if (rs == 1)
        {
            PackStepContiguous(src, cs, mc, kc, mr, dst);
            return;
        }
        for (int s = 0; s < mc; s += mr)
        {
            int rows = Math.Min(mr, mc - s);
            T* from = src + s * rs;
            if (cs == 1) TransposeSliver(from, rs, kc, rows, mr, dst);
            else GatherSliver(from, rs, cs, kc, rows, mr, dst);
            dst += (nint)mr * kc;
        }
    }

    // The mc values of each step are adjacent in the source (row-major B, transposed A). Walk the
    // source one step (one source row) at a time and deal its values out to all slivers: every
    // source row is read once, front to back. Going sliver by sliver instead would touch kc
    // different rows (and pages) for only mr values each.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackStepContiguous<T>(T* src, nint cs, int mc, int kc, int mr, T* dst) where T : unmanaged
    {
        int full = mc / mr * mr, rest = mc - full;
        nint sliver = (nint)mr * kc;
        nint bytes = (nint)mr * sizeof(T);
        // A sliver's mr values are copied with 32-byte vectors, the last one ending at the sliver's last byte (it may
        // overlap the one before: 48 bytes, a 12-row float32 A sliver, are copied as bytes 0–31 and 16–47), or with
        // 16-byte vectors for 16–31 bytes. Element by element, a 12-row A sliver cost a sixth of a cached 1020×100×128
        // product with A stored transposed.
        int vec = Vector256.IsHardwareAccelerated && bytes >= 32 ? 32 : Vector128.IsHardwareAccelerated && bytes >= 16 ? 16 : 0;
        nint last = bytes - vec;
        for (int p = 0; p < kc; p++)
        {
            T* s = src + p * cs;
            T* d = dst + (nint)p * mr;
            int i = 0;
            if (vec == 32)
            {
                for (; i < full; i += mr, d += sliver)
                {
                    byte* from = (byte*)(s + i), to = (byte*)d;
                    for (nint o = 0; o < last; o += 32) Vector256.Store(Vector256.Load(from + o), to + o);
                    Vector256.Store(Vector256.Load(from + last), to + last);
                }
            }
            else if (vec == 16)
            {
                for (; i < full; i += mr, d += sliver)
                {
                    byte* from = (byte*)(s + i), to = (byte*)d;
                    Vector128.Store(Vector128.Load(from), to);
                    Vector128.Store(Vector128.Load(from + last), to + last);
                }
            }
            else
            {
                for (; i < full; i += mr, d += sliver)
                    for (int r = 0; r < mr; r++) d[r] = s[i + r];
            }
            if (rest > 0)
            {
                int r = 0;
                for (; r < rest; r++) d[r] = s[i + r];
                for (; r < mr; r++) d[r] = default;
            }
        }
    }

    // Source rows are contiguous along k (row-major A, transposed B): read each row forward and
    // scatter it with stride mr; the destination sliver (mr·kc elements) is small enough to stay in
    // L1 while it is being filled, so the strided stores are cheap.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeSliver<T>(T* src, nint rs, int kc, int rows, int mr, T* dst) where T : unmanaged
    {
        int r = 0;
        // Four rows at a time: four independent load streams and one pass over dst per four rows.
        for (; r + 4 <= rows; r += 4)
        {
            T* s0 = src + r * rs, s1 = s0 + rs, s2 = s1 + rs, s3 = s2 + rs;
            T* d = dst + r;
            for (int p = 0; p < kc; p++)
            {
                d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]; d[3] = s3[p];
                d += mr;
            }
        }
        for (; r < rows; r++)
        {
            T* s = src + r * rs;
            T* d = dst + r;
            for (int p = 0; p < kc; p++) { *d = s[p]; d += mr; }
        }
        ZeroPad(dst, kc, rows, mr);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GatherSliver<T>(T* src, nint rs, nint cs, int kc, int rows, int mr, T* dst) where T : unmanaged
    {
        T* d = dst;
        for (int p = 0; p < kc; p++)
        {
            T* s = src + p * cs;
            for (int r = 0; r < rows; r++) d[r] = s[r * rs];
            d += mr;
        }
        ZeroPad(dst, kc, rows, mr);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ZeroPad<T>(T* dst, int kc, int rows, int mr) where T : unmanaged
    {
        if (rows == mr) return;
        for (int p = 0; p < kc; p++)
        {
            T* d = dst + (nint)p * mr;
            for (int r = rows; r < mr; r++) d[r] = default;
        }
    }
}

/// <summary>
/// Per-thread packing storage. Buffers grow to the largest block seen and are then reused, so a
/// steady stream of GEMM calls allocates nothing. They live on the pinned object heap: no pinning
/// per call, 64-byte alignment by offsetting into the array, and the GC reclaims them when the
/// owning thread dies (a native allocation held in a [ThreadStatic] would leak).
/// </summary>
internal sealed unsafe class GemmPackBuffers
{
    [ThreadStatic] private static GemmPackBuffers? t_current;

    private byte[]? _a, _rows, _b, _scratch, _sharedB;
    private (long Call, int Jc, int Pc, int Nc) _bHolds;   // what B holds: a block of product Call (0: nothing reusable)
    private static long s_calls;

    public static GemmPackBuffers Current => t_current ??= new GemmPackBuffers();

    public void* A(nint bytes) => Ensure(ref _a, bytes);
    /// <summary>A sliver of a factored left operand's rows, multiplied out (<see cref="GemmFactorRows{T}"/>).</summary>
    public void* Rows(nint bytes) => Ensure(ref _rows, bytes);
    public void* B(nint bytes)
    {
        var before = _b;
        void* b = Ensure(ref _b, bytes);
        if (!ReferenceEquals(before, _b)) _bHolds = default;   // a new buffer holds nothing yet
        return b;
    }

    /// <summary>A number for one parallel product, never 0 and never repeated: its parts may share what <see cref="B"/> holds.</summary>
    public static long NextCall() => Interlocked.Increment(ref s_calls);

    /// <summary>
    /// Whether <see cref="B"/> holds the packed block (k from <paramref name="pc"/>, <paramref name="nc"/> columns from
    /// <paramref name="jc"/>) of product <paramref name="call"/>, packed by an earlier part on this thread. Call 0 (a product
    /// run as one range) never matches.
    /// </summary>
    public bool HoldsB(long call, int jc, int pc, int nc) => call != 0 && _bHolds == (call, jc, pc, nc);

    /// <summary>Records what was just packed into <see cref="B"/> (call 0: nothing to reuse).</summary>
    public void PackedB(long call, int jc, int pc, int nc) => _bHolds = (call, jc, pc, nc);

    public void* Scratch(nint bytes) => Ensure(ref _scratch, bytes);
    /// <summary>All of B̃ for a product whose row parts run on several threads (read by the workers, owned by the caller).</summary>
    public void* SharedB(nint bytes) => Ensure(ref _sharedB, bytes);

    private static void* Ensure(ref byte[]? buffer, nint bytes)
    {
        const int Align = 64;
#if JETSHARP_CHECKED
        // Checked builds: a red zone right after the bytes asked for, checked by VerifyRedZones.
        bytes += RedZone;
#endif
        if (buffer is null || buffer.Length < bytes + Align)
        {
            // Grow geometrically so a slowly increasing problem size does not reallocate every call.
            nint size = Math.Max(bytes + Align, buffer is null ? 0 : (nint)buffer.Length * 3 / 2);
            buffer = GC.AllocateUninitializedArray<byte>(checked((int)size), pinned: true);
        }
        nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
#if JETSHARP_CHECKED
        nint aligned = (p + Align - 1) & ~(nint)(Align - 1);
        var zone = new Span<byte>((byte*)aligned + bytes - RedZone, RedZone);
        zone.Fill(RedZoneByte);
        RedZones.Add((buffer, (nint)((byte*)aligned + bytes - RedZone - (byte*)p)));
        return (void*)aligned;
#else
        return (void*)((p + Align - 1) & ~(nint)(Align - 1));
#endif
    }

#if JETSHARP_CHECKED
    private const int RedZone = 256;
    private const byte RedZoneByte = 0xA5;
    /// <summary>Checked builds: every red zone handed out on this thread (buffer, offset), most recent last.</summary>
    [ThreadStatic] private static List<(byte[] Buffer, nint Offset)>? t_redZones;
    private static List<(byte[] Buffer, nint Offset)> RedZones => t_redZones ??= [];

    /// <summary>
    /// Checked builds: the red zones of this thread's buffers are intact (a zone overwritten by a later, larger request of
    /// the same buffer is no longer checked: only the latest zone of each buffer counts).
    /// </summary>
    public static void VerifyRedZones(string where)
    {
        var zones = RedZones;
        var seen = new HashSet<byte[]>(ReferenceEqualityComparer.Instance);
        for (int z = zones.Count - 1; z >= 0; z--)
        {
            var (buffer, offset) = zones[z];
            if (!seen.Add(buffer)) continue;
            int bad = buffer.AsSpan((int)offset, RedZone).IndexOfAnyExcept(RedZoneByte);
            if (bad >= 0)
                throw new InvalidOperationException($"GemmPackBuffers (JETSHARP_CHECKED): {where} wrote byte {bad} past the end of a packing buffer region of {offset} bytes.");
        }
        zones.Clear();
    }
#endif
}

/// <summary>
/// Software prefetching for the macro-kernel. A region is a set of equal, evenly spaced runs of bytes (the A block the
/// next macro-kernel reads: rows of a row-major A, or k rows of a stored-transposed A); <see cref="Spread"/> divides
/// its cache lines over the kernel calls of the current macro-kernel and <see cref="Next"/>, called before each, issues
/// that call's share. Prefetches never fault and change no value, only when a line arrives.
/// </summary>
internal unsafe struct GemmPrefetch
{
    private const int Line = 64;
    private byte* _base;
    private nint _stride;
    private nint _line, _lastLine;
    private int _runs, _bytes, _perCall, _run;

    /// <summary>op(A) rows [i0, i0 + rows) × steps [p0, p0 + steps) of <paramref name="p"/>, or nothing for a gathered A.</summary>
    public static GemmPrefetch Region<T>(in GemmProblem<T> p, int i0, int rows, int p0, int steps) where T : unmanaged
        => Block(p.A + i0 * p.RsA + p0 * p.CsA, p.RsA, p.CsA, rows, steps);

    /// <summary>op(B) steps [p0, p0 + steps) × columns [j0, j0 + cols) of <paramref name="p"/>, or nothing for a gathered B.</summary>
    public static GemmPrefetch RegionB<T>(in GemmProblem<T> p, int p0, int steps, int j0, int cols) where T : unmanaged
        => Block(p.B + p0 * p.RsB + j0 * p.CsB, p.RsB, p.CsB, steps, cols);

    /// <summary>A rows × cols block at <paramref name="origin"/> (element strides rs, cs): runs along whichever stride is 1; nothing when neither is.</summary>
    private static GemmPrefetch Block<T>(T* origin, nint rs, nint cs, int rows, int cols) where T : unmanaged
    {
        if (!Sse.IsSupported || rows <= 0 || cols <= 0) return default;
        if (cs == 1) return Make((byte*)origin, rs * sizeof(T), rows, cols * sizeof(T));
        if (rs == 1) return Make((byte*)origin, cs * sizeof(T), cols, rows * sizeof(T));
        return default;
    }

    private static GemmPrefetch Make(byte* start, nint stride, int runs, int bytes)
    {
        var r = new GemmPrefetch { _base = start, _stride = stride, _runs = runs, _bytes = bytes };
        r.StartRun();
        return r;
    }

    /// <summary>Positions at the first line of run <see cref="_run"/>: whole lines from the one holding its first byte to the one holding its last.</summary>
    private void StartRun()
    {
        if (_run >= _runs) return;
        nint first = (nint)(_base + _run * _stride);
        _line = first & ~(nint)(Line - 1);
        _lastLine = (first + _bytes - 1) & ~(nint)(Line - 1);
    }

    /// <summary>Sets each call's share so that <paramref name="calls"/> calls of <see cref="Next"/> cover the region.</summary>
    public void Spread(int calls)
    {
        // Runs not aligned to lines touch ⌈bytes/64⌉ or one more line each; count the larger.
        long total = (long)_runs * ((_bytes + Line - 1) / Line + 1);
        if (_runs == 0) total = 0;
        _perCall = calls <= 0 ? 0 : (int)Math.Min(int.MaxValue, (total + calls - 1) / calls);
    }

    /// <summary>Lines issued per call of <see cref="Next"/> (for tests).</summary>
    internal readonly int PerCall => _perCall;

    /// <summary>Prefetches the next share of the region into L2 (and L1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Next()
    {
        for (int n = _perCall; n > 0 && TryAdvance(out byte* line); n--) Sse.Prefetch1(line);
    }

    /// <summary>The next line of the region, in order (runs one after another, each front to back); false once all are taken.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryAdvance(out byte* line)
    {
        if (_run >= _runs) { line = null; return false; }
        line = (byte*)_line;
        if (_line == _lastLine) { _run++; StartRun(); }
        else _line += Line;
        return true;
    }

    /// <summary>
    /// Whether a product's first k block prefetches C's next tile (later k blocks, and β ≠ 0, read C and always do): when
    /// the range of C a thread writes, <paramref name="rows"/> × <paramref name="cols"/>, is larger than L2, so every store
    /// misses. A C that stays in L2 is only written, and the store buffer hides it (see RunRange).
    /// </summary>
    public static bool FirstBlockPrefetchesC<T>(long rows, long cols) where T : unmanaged
        => rows * cols * sizeof(T) > CacheSizes.Current.L2;

    /// <summary>
    /// The C tile written after the one at column <paramref name="jr"/> of the row sliver starting at <paramref name="sliver"/>:
    /// the next column tile, else the first one of the next sliver (<paramref name="nextSliver"/> rows on) when there is
    /// one, else null. The full-tile kernels prefetch it while they compute.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T* NextTile<T>(T* sliver, int jr, int nr, int fullCols, T* nextSliver) where T : unmanaged
        => jr + nr < fullCols ? sliver + jr + nr : nextSliver;

    /// <summary>
    /// Prefetches one row of a C tile, <paramref name="bytes"/> (64 or 128) from <paramref name="row"/>, into L1: the line
    /// holding its first byte and the next one or two (a row off a line boundary, as in .NET's arrays, touches one line
    /// more than it fills). The full-tile kernels issue the next tile's rows one per k step instead of all before the call
    /// (<see cref="Tile{T}"/>): with a C too large for the caches, the burst left the stores waiting on their lines
    /// (8192×50×768 float32 on two cores 4–6 % faster spread; docs/gemm.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TileRow(void* row, int bytes)
    {
        if (!Sse.IsSupported) return;
        byte* q = (byte*)((nint)row & ~(nint)(Line - 1));
        Sse.Prefetch0(q);
        Sse.Prefetch0(q + Line);
        if (bytes > Line) Sse.Prefetch0(q + 2 * Line);
    }

    /// <summary>Prefetches <paramref name="rows"/> rows of <paramref name="bytes"/> bytes from <paramref name="c"/> (row stride <paramref name="ld"/> elements) into L1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile<T>(T* c, nint ld, int rows, int bytes) where T : unmanaged
    {
        if (!Sse.IsSupported) return;
        for (int r = 0; r < rows; r++, c += ld)
        {
            byte* row = (byte*)c;
            byte* end = row + bytes - 1;
            for (byte* q = (byte*)((nint)row & ~(nint)(Line - 1)); q <= end; q += Line) Sse.Prefetch0(q);
        }
    }
}

/// <summary>
/// The slivers of a factored left operand (<see cref="GemmProblem{T}.A2"/>) multiplied out row-major (kc wide) into a buffer
/// right before each sliver's micro-kernels read it; each element is the one <c>a * a2</c> gives.
/// </summary>
/// <remarks>
/// The runtime factors only operands broadcast over rows (f′(z₀) and W₁'s rows), which stay cached. A factor read row by
/// row from memory made the product slower than reading a stored product in place (float32 [6656, 768]·[768, 512], two
/// cores: 2–7 % slower multiplied a sliver at a time, 5–10 % with the next sliver's rows multiplied between the current
/// one's kernel calls): the B̃ slivers streaming past each sliver push the factor's rows out of L2.
/// </remarks>
internal unsafe struct GemmFactorRows<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T* _a, _a2, _buffer;
    private readonly GemmRowMap _mapA, _mapA2;
    private readonly nint _ld;
    private readonly int _p0, _kc;

    /// <summary>Steps [p0, p0 + kc) of <paramref name="p"/>'s factored A, into <paramref name="buffer"/> (MR·kc elements).</summary>
    public GemmFactorRows(in GemmProblem<T> p, int p0, int kc, T* buffer) : this(p.A, p.MapA, p.A2, p.MapA2, p.RsA, p0, kc, buffer) { }

    /// <summary>
    /// Rows a[mapA(i)] ⊙ a2[mapA2(i)], each factor's rows <paramref name="ld"/> apart, steps [p0, p0 + kc), into
    /// <paramref name="buffer"/> (kc apart).
    /// </summary>
    public GemmFactorRows(T* a, GemmRowMap mapA, T* a2, GemmRowMap mapA2, nint ld, int p0, int kc, T* buffer)
    {
        _a = a;
        _a2 = a2;
        _buffer = buffer;
        (_mapA, _mapA2, _ld, _p0, _kc) = (mapA, mapA2, ld, p0, kc);
    }

    /// <summary>Rows [<paramref name="row"/>, <paramref name="row"/> + <paramref name="rows"/>) multiplied out, kc apart.</summary>
    public readonly T* Form(int row, int rows)
    {
        for (int r = 0; r < rows; r++)
            System.Numerics.Tensors.TensorPrimitives.Multiply<T>(
                new ReadOnlySpan<T>(_a + _mapA.Row(row + r) * _ld + _p0, _kc),
                new ReadOnlySpan<T>(_a2 + _mapA2.Row(row + r) * _ld + _p0, _kc),
                new Span<T>(_buffer + (nint)r * _kc, _kc));
        return _buffer;
    }
}
