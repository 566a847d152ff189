using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace JetSharp.CodeGen;

/// <summary>
/// Arrays whose first element lies on a 64-byte boundary (a cache line, and the width of a
/// <see cref="System.Runtime.Intrinsics.Vector512{T}"/>): the per-thread buffers of compiled code. .NET places an
/// array's elements 16 bytes after an 8-byte aligned object, so an ordinary array starts at any multiple of 8 mod 64,
/// decided by where the allocator happens to be — once per process for buffers kept across calls. At an offset of
/// 8, 16, … every vector load and store of the emitted loops straddles two cache lines; on the benchmark machine
/// (Zen 4) that made the poisson2d step about 10 % slower in some processes than in others, run alone
/// (docs/codegen.md).
/// <para>
/// The arrays are allocated on the pinned object heap, so they never move; a candidate that lands misaligned is
/// followed by a small filler array sized to put the next allocation on a boundary (the heap allocates pinned
/// objects one after another as long as it has room at its end), and the allocation retried. Alignment is a
/// matter of speed only: after <see cref="Attempts"/> tries the last candidate is returned as it is.
/// </para>
/// </summary>
public static class AlignedArrays
{
    /// <summary>The alignment in bytes of the first element.</summary>
    public const int Alignment = 64;

    /// <summary>
    /// How many candidates <see cref="Allocate{T}"/> tries before it returns one that is not aligned. A try misses when
    /// the candidate or its filler went into a hole of the heap (freed earlier fillers among them) or another thread
    /// allocated in between; in the test suite's busiest moments a few arrays in a hundred needed more than 8. Misses
    /// feed themselves: the candidates a call drops become, after a collection, holes of exactly that size at misaligned
    /// addresses, which the next call of the same size fills first. In the tests' pattern (hundreds of arrays of two
    /// dozen recurring sizes, the whole suite running in parallel) 6–11 % of the arrays missed; a compiled graph
    /// allocates its buffers once per thread, and missed 0–7 %.
    /// </summary>
    public const int Attempts = 32;

    /// <summary>Smallest size of an object on the heap (header, method table, length of an empty array), in bytes.</summary>
    private const int MinObject = 24;

    /// <summary>
    /// A new zeroed array of <paramref name="length"/> elements, pinned for its lifetime, whose first element is
    /// <see cref="Alignment"/>-byte aligned (almost always: see the class remarks).
    /// </summary>
    public static T[] Allocate<T>(int length) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var candidate = GC.AllocateArray<T>(length, pinned: true);
        for (int attempt = 1; attempt < Attempts && Offset(candidate) != 0; attempt++)
        {
            // The next object would start where the candidate ends (objects are 8-byte multiples); a filler of
            // `gap` bytes (at least an object's minimum) moves it forward to a boundary.
            int size = (MinObject + length * Unsafe.SizeOf<T>() + 7) & ~7;
            int gap = (Alignment - (Offset(candidate) + size) % Alignment) % Alignment;
            if (gap < MinObject) gap += Alignment;
            _ = GC.AllocateArray<byte>(gap - MinObject, pinned: true);
            candidate = GC.AllocateArray<T>(length, pinned: true);
        }
        return candidate;
    }

    /// <summary>True when the first element of <paramref name="array"/> is <see cref="Alignment"/>-byte aligned.</summary>
    public static bool IsAligned<T>(T[] array) where T : unmanaged => Offset(array) == 0;

    /// <summary>The address of the first element mod <see cref="Alignment"/> (meaningful for pinned arrays only: others may move).</summary>
    public static unsafe int Offset<T>(T[] array) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(array);
        return (int)((nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array)) % Alignment);
    }
}
