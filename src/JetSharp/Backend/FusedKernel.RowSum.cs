using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using JetSharp.Tensors;

namespace JetSharp.Backend;

internal static partial class FusedKernel
{
    /// <summary>
    /// output[q] = Σ_j program(q·inner + j) over j &lt; <paramref name="inner"/>: the program's result (of shape [rows…, inner…])
    /// summed over its trailing axes chunk by chunk and never stored — ‖x‖² of an [N, D] batch in one read of x. Each chunk
    /// is summed in T, the chunks' sums in float64, in order, so a long row (D = 10⁶ terms that cancel) keeps the accuracy a
    /// float32 running sum loses. Rows are shared between cores; a few long rows are each cut into pieces whose count
    /// depends on the sizes only, their partial sums added in piece order, so the result does not depend on the core count.
    /// A product of two tensors on top is summed as their dot product (one pass over the chunk, not a product written out
    /// and summed): the stde envelope's fused sum at D = 10⁵, [100, 10⁵] float32, measured 2.2 → 1.7 and 2.1 → 1.6 ms
    /// (minima of 25 interleaved runs; medians 3.0 → 2.3 and 2.3 → 1.9 ms; load 9.5). When each factor is a leaf or a leaf
    /// plus or minus a scalar leaf (the envelope's (x − a)(x + a)), the factors are formed in registers inside that one pass
    /// (<see cref="AffineDot{T}"/>) instead of written to the chunk's buffers by passes of their own.
    /// </summary>
    public static void RunRowSum<T>(FusedStep[] program, NDArray<T>[] leaves, NDArray<T> output, int inner) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = output.Size;
        int pieces = rows >= 2 * Environment.ProcessorCount ? 1 : Parallelism.DeterministicPieces((long)inner, max: 16);
        int chunksPerRow = (inner + Chunk - 1) / Chunk;
        pieces = Math.Min(pieces, chunksPerRow);
        int tasks = rows * pieces;
        var partial = new double[tasks];
        // A product on top (the stde envelope's (x − a)(x + a)): its operands' dot product per chunk, one pass instead of a
        // product written out and summed.
        var top = program[^1];
        bool dot = top.Arithmetic is { Binary: BinaryOp.Mul };
        var affineA = dot ? AffineFactor<T>.Of(program, top.A, leaves) : null;
        var affineB = dot ? AffineFactor<T>.Of(program, top.B, leaves) : null;
        // Only where 512-bit vectors are native: elsewhere the passes below (TensorPrimitives, vectorised on any hardware) are
        // as fast as a one-pass loop of narrower vectors would be, and there is one vector loop to maintain, not two.
        bool affine = Vector512.IsHardwareAccelerated && affineA is not null && affineB is not null;
        void Tasks(int from, int to)
        {
            var scratch = Scratch<T>.ForThread(program.Length + 1);
            var term = scratch.Buffers[^1];   // past the program's registers, as AccumulateChunk's term
            for (int t = from; t < to; t++)
            {
                int q = t / pieces, p = t % pieces;
                int c0 = (int)Parallelism.Start(chunksPerRow, pieces, p), c1 = (int)Parallelism.Start(chunksPerRow, pieces, p + 1);
                double acc = 0;
                for (int c = c0; c < c1; c++)
                {
                    int j = c * Chunk, length = Math.Min(Chunk, inner - j);
                    if (affine)
                    {
                        var fa = affineA!.Value; var fb = affineB!.Value;
                        var xa = Load(leaves[fa.Leaf], q * inner + j, length, scratch.Buffers[0]);
                        var xb = Load(leaves[fb.Leaf], q * inner + j, length, scratch.Buffers[1]);
                        acc += double.CreateTruncating(AffineDot(Span(xa, length), fa, Span(xb, length), fb));
                        continue;
                    }
                    if (dot)
                    {
                        RunChunk(program, q * inner + j, length, leaves, term, 0, scratch, program.Length - 1);
                        Value<T> a = scratch.Values[top.A], b = scratch.Values[top.B];
                        if (!a.IsScalar && !b.IsScalar)
                        {
                            acc += double.CreateTruncating(TensorPrimitives.Dot<T>(a.Array.AsSpan(a.Offset, length), b.Array.AsSpan(b.Offset, length)));
                            continue;
                        }
                        Binary(BinaryOp.Mul, a, b, term.AsSpan(0, length), length);   // a scalar factor: the product's last step only
                    }
                    else RunChunk(program, q * inner + j, length, leaves, term, 0, scratch);
                    acc += double.CreateTruncating(TensorPrimitives.Sum<T>(term.AsSpan(0, length)));
                }
                partial[t] = acc;
            }
        }
        ForChunks(tasks, (long)rows * inner, ParallelThreshold, Tasks);
        for (int q = 0; q < rows; q++)
        {
            double sum = partial[q * pieces];
            for (int p = 1; p < pieces; p++) sum += partial[q * pieces + p];
            output.Data[q] = T.CreateTruncating(sum);
        }
    }

    /// <summary>
    /// A factor σ·leaf + s of a product (σ = ±1, s a scalar leaf's value or 0): a tensor leaf itself, or a step adding a scalar
    /// leaf to it, subtracting one from it or subtracting it from one. σ·x + s rounds as the step does (x + s, x − a = x + (−a)
    /// and a − x = (−x) + a are the same IEEE operations), so forming it in a register changes no bit of the factor (a bare
    /// leaf gets s = 0, which only turns −0 into +0: the same sum).
    /// </summary>
    internal readonly record struct AffineFactor<T>(int Leaf, bool Negated, T Shift) where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static AffineFactor<T>? Of(FusedStep[] program, int step, NDArray<T>[] leaves)
        {
            var s = program[step];
            if (s.IsLoad) return leaves[s.Leaf].Size > 1 ? new AffineFactor<T>(s.Leaf, false, T.Zero) : null;
            if (s.Arithmetic is not { Binary: BinaryOp.Add or BinaryOp.Sub } op) return null;
            FusedStep a = program[s.A], b = program[s.B];
            if (!a.IsLoad || !b.IsLoad) return null;
            bool aScalar = leaves[a.Leaf].Size == 1, bScalar = leaves[b.Leaf].Size == 1;
            if (aScalar == bScalar) return null;
            T scalar = aScalar ? leaves[a.Leaf].Data[0] : leaves[b.Leaf].Data[0];
            int tensor = aScalar ? b.Leaf : a.Leaf;
            return op.Binary == BinaryOp.Add ? new AffineFactor<T>(tensor, false, scalar)
                : bScalar ? new AffineFactor<T>(tensor, false, -scalar)      // x − a
                : new AffineFactor<T>(tensor, true, scalar);                 // a − x
        }

        /// <summary>σ as a number: the factor is x·σ + s, and x·σ is exact.</summary>
        public T Sign => Negated ? -T.One : T.One;
    }

    /// <summary>
    /// Σ_j (σ_a·a_j + s_a)(σ_b·b_j + s_b) in <typeparamref name="T"/>: one pass with four accumulators of 512-bit vectors (with
    /// <see cref="Vector{T}"/>, 256 bits wide on AVX-512 machines, this pass measured slower than the three 512-bit
    /// TensorPrimitives passes it replaces), element by element without them. The products are rounded before they are
    /// added, as a product step and a sum would.
    /// </summary>
    internal static T AffineDot<T>(ReadOnlySpan<T> a, AffineFactor<T> fa, ReadOnlySpan<T> b, AffineFactor<T> fb) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.Length != b.Length) throw new ArgumentException($"FusedKernel.AffineDot: operands of {a.Length} and {b.Length} elements.");
        int n = a.Length, i = 0;
        T total = T.Zero;
        ref T ra = ref MemoryMarshal.GetReference(a), rb = ref MemoryMarshal.GetReference(b);
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            int w = Vector512<T>.Count;
            Vector512<T> ma = Vector512.Create(fa.Sign), sa = Vector512.Create(fa.Shift), mb = Vector512.Create(fb.Sign), sb = Vector512.Create(fb.Shift);
            Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default;
            // Inlined by request: the jetsharp tool compiles optimised code on first call (no tiering, so no profile to tell
            // the JIT that this call is hot), where a call per vector made the stde envelope's sum 3–5× slower (one thread,
            // [100, 10⁵] float32: 3.0–6.5 ms called, 1.15–1.35 ms inlined).
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            Vector512<T> Term(ref T x, ref T y, int at) =>
                (Vector512.LoadUnsafe(ref x, (nuint)at) * ma + sa) * (Vector512.LoadUnsafe(ref y, (nuint)at) * mb + sb);
            for (; i + 4 * w <= n; i += 4 * w)
            {
                s0 += Term(ref ra, ref rb, i); s1 += Term(ref ra, ref rb, i + w);
                s2 += Term(ref ra, ref rb, i + 2 * w); s3 += Term(ref ra, ref rb, i + 3 * w);
            }
            for (; i + w <= n; i += w) s0 += Term(ref ra, ref rb, i);
            total = Vector512.Sum((s0 + s1) + (s2 + s3));
        }
        T signA = fa.Sign, signB = fb.Sign;
        for (; i < n; i++) total += (a[i] * signA + fa.Shift) * (b[i] * signB + fb.Shift);
        return total;
    }
}
