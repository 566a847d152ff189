using System.Numerics;
using System.Runtime.InteropServices;

namespace JetSharp.Nn;

/// <summary>
/// Whole-vector passes over parameter-sized arrays (θ, moments, gradients), <see cref="Vector{T}"/> lanes at a time and,
/// for long vectors, in parallel chunks. Every lane does exactly the scalar operations of the reference loop, in the same
/// order (IEEE add, multiply, divide and square root are correctly rounded lane by lane, and nothing is fused into an FMA),
/// so the results are bitwise those of the scalar code, whatever the chunking.
/// </summary>
internal static class VectorMath
{
    /// <summary>Vectors at least this long are split over the cores (below it a thread hand-off costs more than it saves).</summary>
    public const int ParallelThreshold = 1 << 18;

    /// <summary>Chunks of this many elements (a multiple of every vector width) per parallel work item.</summary>
    private const int Chunk = 1 << 16;

    /// <summary>True when every element is finite (no NaN, no ±∞): x − x is 0 exactly for finite x and NaN otherwise.</summary>
    public static bool AllFinite<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<T>.Count)
        {
            var all = Vector<T>.Zero;
            var vs = MemoryMarshal.Cast<T, Vector<T>>(values);
            for (int k = 0; k < vs.Length; k++)
            {
                var v = vs[k];
                all += v - v;   // stays 0 while every element is finite; NaN from the first that is not
            }
            if (!Vector.EqualsAll(all, Vector<T>.Zero)) return false;
            i = vs.Length * Vector<T>.Count;
        }
        for (; i < values.Length; i++)
            if (!T.IsFinite(values[i])) return false;
        return true;
    }

    /// <summary>
    /// Runs <paramref name="body"/>(start, length) over [0, <paramref name="length"/>): once when short, else over chunks in parallel.
    /// </summary>
    public static void For(int length, Action<int, int> body)
    {
        if (length < ParallelThreshold) { body(0, length); return; }
        int chunks = (length + Chunk - 1) / Chunk;
        // On the runtime's workers (the GEMM's pool, claimed chunk by chunk) rather than the .NET thread pool: these passes
        // (parameter copies, optimizer updates) run right before and after a graph, whose GEMM worker polls for its next job
        // for a while after each product and would otherwise compete with the thread pool's threads for the cores.
        JetSharp.Backend.Parallelism.Run(chunks, c =>
        {
            int start = c * Chunk;
            body(start, Math.Min(Chunk, length - start));
        });
    }
}
