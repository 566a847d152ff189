using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Runtime;

/// <summary>
/// Fuses trees of elementwise arithmetic (add, sub, mul, div, neg) of one shape into a single kernel,
/// so the tree reads its inputs once and writes one output, instead of a pass over memory (and a
/// materialised intermediate) per operation — the several products and sums of a Taylor rule on
/// [R, N, H] coefficients, for instance. A node joins its consumer's tree when it is that consumer's
/// only use, has the same shape, and is not a graph output. Tree leaves may have the output's shape,
/// be a single element, or have the output's trailing axes (an [N, H] factor of an [R, N, H] tree).
/// The kernel walks the output in chunks that stay in cache, running the tree on each chunk with
/// <see cref="TensorPrimitives"/>; chunks are shared between cores for large outputs.
/// </summary>
internal sealed class FusedTree
{
    private const int Chunk = 1024;
    private const int ParallelThreshold = 1 << 16;

    private enum Kind { Leaf, Add, Sub, Mul, Div, Neg }

    private readonly record struct Instruction(Kind Kind, int A, int B, int Leaf);

    private readonly Instruction[] _program;

    private FusedTree(Node root, Node[] leaves, Instruction[] program)
    {
        Root = root;
        Leaves = leaves;
        _program = program;
    }

    public Node Root { get; }
    public Node[] Leaves { get; }
    public int Size => _program.Count(i => i.Kind != Kind.Leaf);

    public static bool IsFusable(Node n) =>
        n.Op is AddOp or SubOp or MulOp or DivOp or NegOp && n.InputArray.All(i => LeafFits(i.Shape, n.Shape));

    /// <summary>Same shape, a single element, or the output's trailing axes.</summary>
    private static bool LeafFits(Shape leaf, Shape output) =>
        leaf == output || leaf.Size == 1 ||
        (leaf.Rank <= output.Rank && leaf.SequenceEqual(output.Skip(output.Rank - leaf.Rank)));

    /// <summary>
    /// Groups of the schedule to fuse (trees of ≥ 2 nodes), keyed by root, and the set of absorbed nodes.
    /// <paramref name="uses"/> counts each node's consumers in the schedule plus its output slots.
    /// </summary>
    public static (Dictionary<Node, FusedTree> Trees, HashSet<Node> Absorbed) Plan(IReadOnlyList<Node> schedule, IReadOnlyDictionary<Node, int> uses)
    {
        var consumers = new Dictionary<Node, Node>();
        foreach (var n in schedule)
            foreach (var i in n.InputArray) consumers[i] = n;
        bool JoinsConsumer(Node x) =>
            IsFusable(x) && uses[x] == 1 && consumers.TryGetValue(x, out var c) && IsFusable(c) &&
            c.Shape == x.Shape && c.InputArray.Count(i => i == x) == 1;

        var trees = new Dictionary<Node, FusedTree>();
        var absorbed = new HashSet<Node>();
        foreach (var root in schedule)
        {
            if (!IsFusable(root) || JoinsConsumer(root)) continue;
            var leaves = new List<Node>();
            var program = new List<Instruction>();
            int Emit(Node n)
            {
                if (n != root && !JoinsConsumer(n))
                {
                    int leaf = leaves.IndexOf(n);
                    if (leaf < 0) { leaf = leaves.Count; leaves.Add(n); }
                    program.Add(new Instruction(Kind.Leaf, -1, -1, leaf));
                    return program.Count - 1;
                }
                var kind = n.Op switch { AddOp => Kind.Add, SubOp => Kind.Sub, MulOp => Kind.Mul, DivOp => Kind.Div, _ => Kind.Neg };
                int a = Emit(n.InputArray[0]);
                int b = kind == Kind.Neg ? -1 : Emit(n.InputArray[1]);
                program.Add(new Instruction(kind, a, b, -1));
                return program.Count - 1;
            }
            Emit(root);
            var tree = new FusedTree(root, [.. leaves], [.. program]);
            if (tree.Size < 2) continue;
            trees[root] = tree;
            foreach (var n in Members(root, JoinsConsumer)) if (n != root) absorbed.Add(n);
        }
        return (trees, absorbed);
    }

    private static IEnumerable<Node> Members(Node root, Func<Node, bool> joins)
    {
        yield return root;
        foreach (var i in root.InputArray)
            if (joins(i))
                foreach (var m in Members(i, joins)) yield return m;
    }

    public void Execute<T>(Tensor<T>[] leaves, Tensor<T> output, RunContext context) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int size = output.Size;
        int chunks = (size + Chunk - 1) / Chunk;
        if (size < ParallelThreshold || Environment.ProcessorCount == 1)
        {
            var scratch = new Scratch<T>(_program.Length);
            for (int c = 0; c < chunks; c++) RunChunk(c, leaves, output, scratch);
            return;
        }
        int workers = Math.Min(Environment.ProcessorCount, chunks);
        Parallel.For(0, workers, w =>
        {
            var scratch = new Scratch<T>(_program.Length);
            for (int c = (int)((long)chunks * w / workers); c < (int)((long)chunks * (w + 1) / workers); c++)
                RunChunk(c, leaves, output, scratch);
        });
    }

    private sealed class Scratch<T>(int registers)
    {
        public readonly T[][] Buffers = [.. Enumerable.Range(0, registers).Select(_ => new T[Chunk])];
        public readonly Value<T>[] Values = new Value<T>[registers];
    }

    /// <summary>A register: a scalar, or <c>Length</c> elements of an array from <c>Offset</c>.</summary>
    private readonly record struct Value<T>(bool IsScalar, T Scalar, T[]? Array, int Offset);

    private void RunChunk<T>(int chunk, Tensor<T>[] leaves, Tensor<T> output, Scratch<T> s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int start = chunk * Chunk, length = Math.Min(Chunk, output.Size - start);
        for (int i = 0; i < _program.Length; i++)
        {
            var ins = _program[i];
            bool last = i == _program.Length - 1;
            if (ins.Kind == Kind.Leaf) { s.Values[i] = Load(leaves[ins.Leaf], start, length, s.Buffers[i]); continue; }
            var dest = last ? output.Data.AsSpan(start, length) : s.Buffers[i].AsSpan(0, length);
            var a = s.Values[ins.A];
            if (ins.Kind == Kind.Neg)
            {
                if (a.IsScalar) dest.Fill(-a.Scalar); else TensorPrimitives.Negate(Span(a, length), dest);
            }
            else Binary(ins.Kind, a, s.Values[ins.B], dest, length);
            s.Values[i] = new Value<T>(false, default, last ? output.Data : s.Buffers[i], last ? start : 0);
        }
    }

    private static Value<T> Load<T>(Tensor<T> leaf, int start, int length, T[] buffer) where T : unmanaged, IFloatingPointIeee754<T>
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

    private static void Binary<T>(Kind kind, Value<T> a, Value<T> b, Span<T> dest, int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.IsScalar && b.IsScalar)
        {
            dest.Fill(kind switch { Kind.Add => a.Scalar + b.Scalar, Kind.Sub => a.Scalar - b.Scalar, Kind.Mul => a.Scalar * b.Scalar, _ => a.Scalar / b.Scalar });
            return;
        }
        switch (kind)
        {
            case Kind.Add when b.IsScalar: TensorPrimitives.Add(Span(a, length), b.Scalar, dest); break;
            case Kind.Add when a.IsScalar: TensorPrimitives.Add(Span(b, length), a.Scalar, dest); break;
            case Kind.Add: TensorPrimitives.Add(Span(a, length), Span(b, length), dest); break;
            case Kind.Sub when b.IsScalar: TensorPrimitives.Subtract(Span(a, length), b.Scalar, dest); break;
            case Kind.Sub when a.IsScalar: TensorPrimitives.Subtract(a.Scalar, Span(b, length), dest); break;
            case Kind.Sub: TensorPrimitives.Subtract(Span(a, length), Span(b, length), dest); break;
            case Kind.Mul when b.IsScalar: TensorPrimitives.Multiply(Span(a, length), b.Scalar, dest); break;
            case Kind.Mul when a.IsScalar: TensorPrimitives.Multiply(Span(b, length), a.Scalar, dest); break;
            case Kind.Mul: TensorPrimitives.Multiply(Span(a, length), Span(b, length), dest); break;
            case Kind.Div when b.IsScalar: TensorPrimitives.Divide(Span(a, length), b.Scalar, dest); break;
            case Kind.Div when a.IsScalar: TensorPrimitives.Divide(a.Scalar, Span(b, length), dest); break;
            default: TensorPrimitives.Divide(Span(a, length), Span(b, length), dest); break;
        }
    }
}
