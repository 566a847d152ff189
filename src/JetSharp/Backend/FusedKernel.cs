using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using JetSharp.Tensors;

namespace JetSharp.Backend;

/// <summary>
/// One step of a fused elementwise program: load leaf <see cref="Leaf"/>, or apply
/// <see cref="Arithmetic"/> to the values of the earlier steps <see cref="A"/> (and <see cref="B"/>).
/// </summary>
internal readonly record struct FusedStep(ElementwiseArithmetic? Arithmetic, int A, int B, int Leaf)
{
    public static FusedStep Load(int leaf) => new(null, -1, -1, leaf);
    public static FusedStep Apply(ElementwiseArithmetic arithmetic, int a, int b) => new(arithmetic, a, b, -1);
    public bool IsLoad => Arithmetic is null;
}

/// <summary>
/// Runs a fused tree of elementwise arithmetic — a program of <see cref="FusedStep"/>s whose last step
/// is the output — in one pass: it walks the output in chunks that stay in cache, running the program
/// on each chunk with <see cref="TensorPrimitives"/>, so the tree reads its leaves once and writes one
/// output; chunks are shared between cores for large outputs. Leaves have the output's shape, a single
/// element, or the output's trailing axes (repeated along the leading ones). <see cref="RunGroup{T}"/> runs a program
/// whose values feed several steps and writes several of them.
/// </summary>
internal static partial class FusedKernel
{
    internal const int Chunk = 1024;

    /// <summary>
    /// The chunk of the summing passes (<see cref="RunSum{T}"/>, <see cref="RunShared{T}"/>), which run their program once per
    /// summed position and chunk: 50 directions of a [50, 128, 768] tangent are 4,800 interpreted calls per unit at
    /// <see cref="Chunk"/>, 1,200 at this size. Only the grouping of the calls changes, not what any element computes: every
    /// sum still adds its terms in order r = 0, 1, … (exact Laplacian, N = 128, in-process alternation against 1,024: 0.5–1.3 %
    /// faster, float32 and float64, the same bits; docs/fusion.md).
    /// </summary>
    internal const int SumChunk = 4096;
    internal const int ParallelThreshold = 1 << 16;

    /// <summary>
    /// The arithmetic a fused tree may use: the four binary operations and negation. (<see cref="RunGroup{T}"/> also runs the
    /// other unary functions: it keeps their spans long enough to give their own kernels' bits, which the chunk loops of the
    /// trees' sums do not.)
    /// </summary>
    public static bool Supports(ElementwiseArithmetic op) => op.Binary is not null || op.Unary == UnaryOp.Neg;

    public static void Run<T>(FusedStep[] program, NDArray<T>[] leaves, NDArray<T> output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int size = output.Size;
        int chunks = (size + Chunk - 1) / Chunk;
        void Chunks(int from, int to)
        {
            var scratch = Scratch<T>.ForThread(program.Length);
            for (int c = from; c < to; c++)
            {
                int start = c * Chunk;
                RunChunk(program, start, Math.Min(Chunk, size - start), leaves, output.Data, start, scratch);
            }
        }
        ForChunks(chunks, size, ParallelThreshold, Chunks);
    }

    /// <summary>
    /// output[b·inner + j] = Σ_r program((b·outer + r)·inner + j) for the <paramref name="batch"/> blocks b of inner = output's
    /// size / batch elements, over the <paramref name="outer"/> summed positions: the program's result (of shape
    /// [batch…, outer…, inner…]) is summed over its middle axes (its leading ones when batch = 1) chunk by chunk and never
    /// stored. Each output element adds its terms in order r = 0, 1, …; cores share the output's chunks.
    /// </summary>
    public static void RunSum<T>(FusedStep[] program, NDArray<T>[] leaves, NDArray<T> output, int outer, int batch = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (batch < 1 || output.Size % batch != 0)
            throw new ArgumentException($"FusedKernel.RunSum: {batch} blocks do not divide an output of {output.Size} elements.", nameof(batch));
        int inner = output.Size / batch;
        int perBlock = (inner + SumChunk - 1) / SumChunk, chunks = batch * perBlock;
        void Chunks(int from, int to)
        {
            var scratch = Scratch<T>.ForThread(program.Length + 1, SumChunk);   // + AccumulateChunk's term
            for (int c = from; c < to; c++)
            {
                int b = c / perBlock, j = c % perBlock * SumChunk, length = Math.Min(SumChunk, inner - j);
                var sum = output.Data.AsSpan(b * inner + j, length);
                sum.Clear();
                for (int r = 0; r < outer; r++) AccumulateChunk(program, (b * outer + r) * inner + j, length, leaves, sum, scratch);
            }
        }
        ForChunks(chunks, (long)output.Size * outer, ParallelThreshold, Chunks);
    }

    /// <summary>One program of <see cref="RunShared{T}"/>: its leaves, its output, and whether it sums over the leading positions.</summary>
    internal readonly record struct SharedUnit<T>(FusedStep[] Program, NDArray<T>[] Leaves, NDArray<T> Output, bool Sums) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>
    /// Several programs over one domain of <paramref name="outer"/> × inner elements in one pass: for each chunk of the inner
    /// positions, for r = 0, 1, …, every unit in the order given runs on elements r·inner + chunk — an elementwise unit
    /// writes them to its output (as <see cref="Run{T}"/>), a summing one adds them into its output's chunk (as
    /// <see cref="RunSum{T}"/> with one block, the same terms in the same order). So leaves the units share (the [R, N, H]
    /// tangents both Σ_r z₁,r² and f′(z₀)·z₁ read) pass through memory once. An elementwise unit may write over a leaf of
    /// the domain's shape if it comes last: every unit has read those elements by then. Cores share the chunks.
    /// </summary>
    public static void RunShared<T>(SharedUnit<T>[] units, int outer, int domain) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (outer < 1 || domain % outer != 0)
            throw new ArgumentException($"FusedKernel.RunShared: {outer} summed positions do not divide a domain of {domain} elements.", nameof(outer));
        int inner = domain / outer;
        int chunks = (inner + SumChunk - 1) / SumChunk;
        int registers = units.Max(u => u.Program.Length) + 1;
        void Chunks(int from, int to)
        {
            var scratch = Scratch<T>.ForThread(registers, SumChunk);
            for (int c = from; c < to; c++)
            {
                int j = c * SumChunk, length = Math.Min(SumChunk, inner - j);
                foreach (var u in units)
                    if (u.Sums) u.Output.Data.AsSpan(j, length).Clear();
                for (int r = 0; r < outer; r++)
                    foreach (var u in units)
                    {
                        if (u.Sums) AccumulateChunk(u.Program, r * inner + j, length, u.Leaves, u.Output.Data.AsSpan(j, length), scratch);
                        else RunChunk(u.Program, r * inner + j, length, u.Leaves, u.Output.Data, r * inner + j, scratch);
                    }
            }
        }
        ForChunks(chunks, domain, ParallelThreshold, Chunks);
    }

    internal sealed class Scratch<T>(int registers, int length = Chunk)
    {
        public readonly T[][] Buffers = [.. Enumerable.Range(0, registers).Select(_ => new T[length])];
        public readonly Value<T>[] Values = new Value<T>[registers];

        [ThreadStatic] private static Scratch<T>? t_cached;

        /// <summary>
        /// This thread's registers, at least <paramref name="registers"/> of them and each at least <paramref name="length"/>
        /// elements long (extra ones are never read: a program reads
        /// the registers of its own steps, and <see cref="AccumulateChunk{T}"/> its last one as the term), reused by every
        /// fused kernel the thread runs, so a kernel cut into many pieces does not allocate them per piece. Kernels never run
        /// another fused kernel inside a piece, so one set per thread is enough.
        /// </summary>
        public static Scratch<T> ForThread(int registers, int length = Chunk)
        {
            var s = t_cached;
            if (s is null || s.Buffers.Length < registers || s.Buffers[0].Length < length)
                t_cached = s = new Scratch<T>(Math.Max(registers, s?.Buffers.Length ?? 0), Math.Max(length, s?.Buffers[0].Length ?? 0));
            return s;
        }
    }

    /// <summary>A register: a scalar, or <c>Length</c> elements of an array from <c>Offset</c>.</summary>
    internal readonly record struct Value<T>(bool IsScalar, T Scalar, T[]? Array, int Offset);

    /// <summary>
    /// sum[j] += program(start + j) for j &lt; length (at most the scratch registers' length). A product as the last step is
    /// added with one multiply-add pass (x·y + sum), not a product pass and an addition pass.
    /// </summary>
    internal static void AccumulateChunk<T>(FusedStep[] program, int start, int length, NDArray<T>[] leaves, Span<T> sum, Scratch<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var top = program[^1];
        if (top.Arithmetic is { Binary: BinaryOp.Mul })
        {
            RunChunk(program, start, length, leaves, s.Buffers[^1], 0, s, program.Length - 1);
            Value<T> a = s.Values[top.A], b = s.Values[top.B];
            if (a.IsScalar && b.IsScalar) TensorPrimitives.Add(sum, a.Scalar * b.Scalar, sum);
            else if (a.IsScalar || b.IsScalar) TensorPrimitives.MultiplyAdd(Span(a.IsScalar ? b : a, length), a.IsScalar ? a.Scalar : b.Scalar, sum, sum);
            else TensorPrimitives.MultiplyAdd(Span(a, length), Span(b, length), sum, sum);
            return;
        }
        RunChunk(program, start, length, leaves, s.Buffers[^1], 0, s);
        TensorPrimitives.Add(sum, s.Buffers[^1].AsSpan(0, length), sum);
    }

    /// <summary>
    /// Runs the first <paramref name="steps"/> steps of the program (all by default) on elements [start, start + length) of its
    /// domain; the last of them writes destination[offset…].
    /// </summary>
    internal static void RunChunk<T>(FusedStep[] program, int start, int length, NDArray<T>[] leaves, T[] destination, int offset, Scratch<T> s, int steps = -1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (steps < 0) steps = program.Length;
        for (int i = 0; i < steps; i++)
            RunStep(program, i, start, length, leaves, i == steps - 1 ? destination : null, offset, s);
    }

    /// <summary>
    /// Step <paramref name="i"/> of the program on elements [start, start + length) of its domain: a load, or an operation whose
    /// values go to <paramref name="destination"/>[offset…] or, when that is null, to the step's register.
    /// </summary>
    private static void RunStep<T>(FusedStep[] program, int i, int start, int length, NDArray<T>[] leaves, T[]? destination, int offset, Scratch<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var step = program[i];
        if (step.Arithmetic is not { } op)
        {
            s.Values[i] = Load(leaves[step.Leaf], start, length, s.Buffers[i]);
            return;
        }
        if (destination is null) (destination, offset) = (s.Buffers[i], 0);
        Apply(op, s.Values[step.A], step.B < 0 ? default : s.Values[step.B], destination.AsSpan(offset, length), length);
        s.Values[i] = new Value<T>(false, default, destination, offset);
    }

    /// <summary>Runs body(from, to) over [0, chunks): on the calling thread below <paramref name="parallelAbove"/> elements, else in ranges the cores claim.</summary>
    private static void ForChunks(int chunks, long elements, int parallelAbove, Action<int, int> body)
    {
        if (elements < parallelAbove || Environment.ProcessorCount == 1 || chunks == 1) body(0, chunks);
        else Parallelism.RunRanges(chunks, Parallelism.Ranges(chunks), body);
    }

    /// <summary>
    /// dest = op(a[, b]) over <paramref name="length"/> elements: any binary operation, or any unary one (a transcendental
    /// function on the whole span, which the caller keeps at least <see cref="Elementwise.MinSpan"/> long when it can).
    /// </summary>
    private static void Apply<T>(ElementwiseArithmetic op, Value<T> a, Value<T> b, Span<T> dest, int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (op.Binary is { } binary) Binary(binary, a, b, dest, length);
        else if (op.Unary == UnaryOp.Neg)
        {
            if (a.IsScalar) dest.Fill(-a.Scalar); else TensorPrimitives.Negate(Span(a, length), dest);
        }
        else if (op.Unary is { } unary)
        {
            if (!a.IsScalar) { Elementwise.ApplyUnary(unary, Span(a, length), dest); return; }
            // A single-element operand: computed as its own one-element kernel would compute it.
            Span<T> one = [a.Scalar];
            Elementwise.ApplyUnary(unary, one, one);
            dest.Fill(one[0]);
        }
        else throw new NotSupportedException($"FusedKernel: {op} is not fusable.");
    }

    /// <summary>
    /// Runs an elementwise program whose steps may each feed several later ones (a DAG of one domain's values, any unary
    /// function among its steps) and writes several of its values: chunk by chunk, step i's values go to output
    /// <paramref name="outputOf"/>[i] (where later steps read them back from cache) or, when that is −1, to a chunk-sized
    /// register. So a layer's activation and its derivatives are computed in one pass, each intermediate read from cache.
    /// The outputs have the domain's shape; only the last step's may share storage with a leaf (it reads element i before
    /// writing it, after every other step has read the chunk). Chunks never end shorter than <see cref="Elementwise.MinSpan"/>
    /// (see there): every value has the bits its own kernel gives. Cores share the chunks from <paramref name="parallelAbove"/> elements.
    /// </summary>
    public static void RunGroup<T>(FusedStep[] program, int[] outputOf, NDArray<T>[] leaves, NDArray<T>[] outputs, int parallelAbove)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int size = outputs[0].Size;
        int chunks = (size + Chunk - 1) / Chunk;
        void Chunks(int from, int to)
        {
            var s = Scratch<T>.ForThread(program.Length);
            for (int c = from; c < to; c++)
            {
                int start = Elementwise.ChunkStart(c, size, Chunk), length = Elementwise.ChunkStart(c + 1, size, Chunk) - start;
                for (int i = 0; i < program.Length; i++)
                    RunStep(program, i, start, length, leaves, outputOf[i] >= 0 ? outputs[outputOf[i]].Data : null, start, s);
            }
        }
        ForChunks(chunks, size, parallelAbove, Chunks);
    }

    private static Value<T> Load<T>(NDArray<T> leaf, int start, int length, T[] buffer) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int period = leaf.Size;
        if (period == 1) return new Value<T>(true, leaf.Data[0], null, 0);
        int offset = start % period;
        if (offset + length <= period) return new Value<T>(false, default, leaf.Data, offset);
        // The chunk wraps around the end of a trailing-axes leaf: copy the pieces.
        for (int done = 0; done < length;)
        {
            int n = Math.Min(length - done, period - offset);
            Array.Copy(leaf.Data, offset, buffer, done, n);
            done += n;
            offset = 0;
        }
        return new Value<T>(false, default, buffer, 0);
    }

    private static ReadOnlySpan<T> Span<T>(Value<T> v, int length) => v.Array.AsSpan(v.Offset, length);

    private static void Binary<T>(BinaryOp op, Value<T> a, Value<T> b, Span<T> dest, int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.IsScalar && b.IsScalar)
        {
            dest.Fill(op switch { BinaryOp.Add => a.Scalar + b.Scalar, BinaryOp.Sub => a.Scalar - b.Scalar, BinaryOp.Mul => a.Scalar * b.Scalar, _ => a.Scalar / b.Scalar });
            return;
        }
        switch (op)
        {
            case BinaryOp.Add when b.IsScalar: TensorPrimitives.Add(Span(a, length), b.Scalar, dest); break;
            case BinaryOp.Add when a.IsScalar: TensorPrimitives.Add(Span(b, length), a.Scalar, dest); break;
            case BinaryOp.Add: TensorPrimitives.Add(Span(a, length), Span(b, length), dest); break;
            case BinaryOp.Sub when b.IsScalar: TensorPrimitives.Subtract(Span(a, length), b.Scalar, dest); break;
            case BinaryOp.Sub when a.IsScalar: TensorPrimitives.Subtract(a.Scalar, Span(b, length), dest); break;
            case BinaryOp.Sub: TensorPrimitives.Subtract(Span(a, length), Span(b, length), dest); break;
            case BinaryOp.Mul when b.IsScalar: TensorPrimitives.Multiply(Span(a, length), b.Scalar, dest); break;
            case BinaryOp.Mul when a.IsScalar: TensorPrimitives.Multiply(Span(b, length), a.Scalar, dest); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(Span(a, length), Span(b, length), dest); break;
            case BinaryOp.Div when b.IsScalar: TensorPrimitives.Divide(Span(a, length), b.Scalar, dest); break;
            case BinaryOp.Div when a.IsScalar: TensorPrimitives.Divide(a.Scalar, Span(b, length), dest); break;
            default: TensorPrimitives.Divide(Span(a, length), Span(b, length), dest); break;
        }
    }
}
