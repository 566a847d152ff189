using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Runtime;

/// <summary>
/// Plans the fusion of trees of elementwise arithmetic of one shape into a single kernel, so the tree
/// reads its inputs once and writes one output, instead of a pass over memory (and a materialised
/// intermediate) per operation — the several products and sums of a Taylor rule on [R, N, H]
/// coefficients, for instance. A node is fusable when its primitive declares an
/// <see cref="Primitive.Arithmetic"/> that <see cref="FusedKernel"/> supports (add, sub, mul, div, neg).
/// It joins its consumer's tree when it is that consumer's only use, has the same shape, and is not a
/// graph output. Tree leaves may have the output's shape, be a single element, or have the output's
/// trailing axes (an [N, H] factor of an [R, N, H] tree). <see cref="FusedKernel"/> runs the tree.
/// A sum over leading axes whose operand is such a tree (the Σ_r x₁,r² of a second-order Taylor rule) is the
/// root of a reducing tree: the kernel sums the tree's values chunk by chunk and never stores the [R, N, H] terms.
/// So is a sum over contiguous axes after some kept ones, block by block (Σ_b x[a, b, …] of an [A, B, N, H] tree, which
/// nested Taylor rules make: the directions of an outer transform of an inner one's).
/// So is a sum over trailing axes (‖x‖² of an [N, D] batch, the rows summed in float64: <see cref="FusedKernel.RunRowSum"/>).
/// </summary>
internal sealed class FusedTree
{
    private readonly FusedStep[] _program;

    private readonly int _outer;   // > 0: the tree's values are summed over this many positions of the summed axes (per block)
    private readonly int _batch;   // blocks summed separately: the positions of the kept axes before the summed ones (1: a leading sum)
    private readonly int _inner;   // > 0: the tree's values are summed over this many trailing positions

    private FusedTree(Node root, Node[] leaves, FusedStep[] program, (int Batch, int Outer) block, int inner)
    {
        Root = root;
        Leaves = leaves;
        _program = program;
        (_batch, _outer) = block;
        _inner = inner;
    }

    public Node Root { get; }
    public Node[] Leaves { get; }
    /// <summary>Graph nodes the tree replaces (its arithmetic, and the sum of a reducing tree).</summary>
    public int Size => _program.Count(i => !i.IsLoad) + (IsElementwise ? 0 : 1);
    /// <summary>Output element i depends only on element i of each leaf (false for a reducing tree).</summary>
    public bool IsElementwise => _outer == 0 && _inner == 0;
    /// <summary>The program, over the leaves; its last step is the tree's value (the summed term, for a reducing tree).</summary>
    internal FusedStep[] Program => _program;
    /// <summary>Positions of the summed axes a reducing tree sums over (in each block); 0 for an elementwise or trailing-sum tree.</summary>
    internal int Outer => _outer;
    /// <summary>Blocks a sum over axes after the first summed separately (the positions of the kept axes before them); 1 for a leading sum.</summary>
    internal int Batch => _batch;
    /// <summary>Trailing positions a reducing tree sums over; 0 for an elementwise or leading-sum tree.</summary>
    internal int Inner => _inner;
    /// <summary>The shape the program runs over: the root's, or the summed operand's for a reducing tree.</summary>
    internal Shape Domain => IsElementwise ? Root.Shape : Root.InputArray[0].Shape;

    /// <summary>A fusable node (<see cref="IsFusable"/>) on its own, as a one-step program over its inputs.</summary>
    internal static FusedTree Single(Node n) =>
        IsFusable(n) ? Build(n, _ => false) : throw new ArgumentException($"FusedTree.Single: {n} is not fusable arithmetic.", nameof(n));

    /// <summary>
    /// The consumer <paramref name="c"/> of a value of shape <paramref name="domain"/> as a tree over that domain — its fused
    /// tree, or itself as a one-step program — when it is elementwise over the domain or sums it over leading axes (not
    /// trailing ones, which cut the domain's rows, nor after kept axes, which interleave its blocks); null otherwise.
    /// What a GEMM's epilogue and a shared read pass can run piece by piece.
    /// </summary>
    internal static FusedTree? UnitOver(Node c, Shape domain, Dictionary<Node, FusedTree> trees)
    {
        if (trees.TryGetValue(c, out var tree)) return tree.Inner == 0 && tree.Batch <= 1 && tree.Domain == domain ? tree : null;
        return IsFusable(c) && c.Shape == domain ? Single(c) : null;
    }

    /// <summary>Least output size of a reducing tree: below it, per-chunk overhead outweighs the saved pass.</summary>
    internal const int MinReducedSize = 256;

    /// <summary>
    /// When <paramref name="n"/> sums a fusable node over contiguous axes j…k−1 (ascending) with at least one axis after
    /// them kept: the positions of the axes before them (Batch, 1 for a leading sum, j = 0) and of the summed ones
    /// (Outer), so that output block b, of at least <see cref="MinReducedSize"/> elements, sums Outer blocks of the operand.
    /// (0, 0) otherwise.
    /// </summary>
    private static (int Batch, int Outer) BlockSum(Node n)
    {
        if (n.Op is not SumOp sum || sum.Axes.Length == 0 || !IsFusable(n.InputArray[0])) return (0, 0);
        var x = n.InputArray[0].Shape;
        int first = sum.Axes[0], end = first + sum.Axes.Length;
        for (int k = 0; k < sum.Axes.Length; k++)
            if (sum.Axes[k] != first + k) return (0, 0);
        if (end >= x.Rank) return (0, 0);   // nothing kept after the summed axes: a trailing sum
        long batch = 1, outer = 1;
        for (int k = 0; k < first; k++) batch *= x[k];
        for (int k = first; k < end; k++) outer *= x[k];
        long block = batch == 0 ? 0 : n.Shape.Size / batch;
        return block >= MinReducedSize && outer <= int.MaxValue ? ((int)batch, (int)outer) : (0, 0);
    }

    private static bool IsBlockSum(Node n) => BlockSum(n).Outer > 0;

    /// <summary>
    /// The number of trailing positions summed when <paramref name="n"/> is a sum over the trailing axes k…r−1 (k ≥ 0) of a
    /// fusable node of rank r, at least <see cref="MinReducedSize"/> of them, and not a sum over leading axes; 0 otherwise.
    /// </summary>
    private static int TrailingSum(Node n)
    {
        if (n.Op is not SumOp sum || sum.Axes.Length == 0 || IsBlockSum(n) || !IsFusable(n.InputArray[0])) return 0;
        var x = n.InputArray[0].Shape;
        int first = x.Rank - sum.Axes.Length;
        long inner = 1;
        for (int k = 0; k < sum.Axes.Length; k++)
        {
            if (sum.Axes[k] != first + k) return 0;
            inner *= x[first + k];
        }
        return inner >= MinReducedSize && inner <= int.MaxValue ? (int)inner : 0;
    }

    private static bool IsReducing(Node n) => IsBlockSum(n) || TrailingSum(n) > 0;

    public static bool IsFusable(Node n) =>
        n.Op.Arithmetic is { } op && FusedKernel.Supports(op) && n.InputArray.All(i => LeafFits(i.Shape, n.Shape));

    /// <summary>Same shape, a single element, or the output's trailing axes.</summary>
    internal static bool LeafFits(Shape leaf, Shape output) =>
        leaf == output || leaf.Size == 1 ||
        (leaf.Rank <= output.Rank && leaf.SequenceEqual(output.Skip(output.Rank - leaf.Rank)));

    /// <summary>
    /// Most arithmetic nodes in one tree. The kernel keeps a chunk-sized register per step, so an unbounded
    /// tree (a chain of products through thousands of layers) would cost memory per run in proportion to
    /// the graph's depth; past this size the chain is split into several trees.
    /// </summary>
    internal const int MaxTreeNodes = 64;

    /// <summary>
    /// Groups of the schedule to fuse (trees of ≥ 2 nodes), keyed by root, and the set of absorbed nodes.
    /// <paramref name="uses"/> counts each node's consumers in the schedule plus its output slots.
    /// Linear in the schedule's length and without recursion, however deep the graph.
    /// </summary>
    public static (Dictionary<Node, FusedTree> Trees, HashSet<Node> Absorbed) Plan(IReadOnlyList<Node> schedule, IReadOnlyDictionary<Node, int> uses)
    {
        var consumers = new Dictionary<Node, Node>();
        foreach (var n in schedule)
            foreach (var i in n.InputArray) consumers[i] = n;
        bool JoinsConsumer(Node x) =>
            IsFusable(x) && uses[x] == 1 && consumers.TryGetValue(x, out var c) &&
            ((IsFusable(c) && c.Shape == x.Shape && c.InputArray.Count(i => i == x) == 1) || IsReducing(c));

        // Consumers come after their inputs, so walking the schedule backwards meets a tree's root first:
        // a node joins its consumer's tree while that tree has room, and starts a tree of its own otherwise.
        var rootOf = new Dictionary<Node, Node>();
        var size = new Dictionary<Node, int>();
        for (int k = schedule.Count - 1; k >= 0; k--)
        {
            var n = schedule[k];
            if (!IsFusable(n) && !IsReducing(n)) continue;
            if (JoinsConsumer(n) && rootOf.TryGetValue(consumers[n], out var r) && size[r] < MaxTreeNodes) { rootOf[n] = r; size[r]++; }
            else { rootOf[n] = n; size[n] = 1; }
        }

        var trees = new Dictionary<Node, FusedTree>();
        var absorbed = new HashSet<Node>();
        foreach (var (n, root) in rootOf)
            if (n != root) absorbed.Add(n);
        foreach (var (root, count) in size)
            if (count >= 2) trees[root] = Build(root, x => rootOf.TryGetValue(x, out var r) && r == root && x != root);
        return (trees, absorbed);
    }

    /// <summary>The program of the tree at <paramref name="root"/>: members in post-order (operands first), other inputs loaded as leaves.</summary>
    private static FusedTree Build(Node root, Func<Node, bool> isMember)
    {
        var block = BlockSum(root);
        int inner = TrailingSum(root);
        var top = block.Outer > 0 || inner > 0 ? root.InputArray[0] : root;   // a reducing tree's program computes the summed operand
        var leaves = new List<Node>();
        var leafIndex = new Dictionary<Node, int>();
        var program = new List<FusedStep>();
        var stepOf = new Dictionary<Node, int>();
        int Operand(Node x)
        {
            if (isMember(x)) return stepOf[x];
            if (!leafIndex.TryGetValue(x, out int leaf)) { leaf = leafIndex[x] = leaves.Count; leaves.Add(x); }
            program.Add(FusedStep.Load(leaf));
            return program.Count - 1;
        }
        var stack = new Stack<(Node Node, bool OperandsDone)>();
        stack.Push((top, false));
        while (stack.Count > 0)
        {
            var (n, operandsDone) = stack.Pop();
            if (!operandsDone)
            {
                stack.Push((n, true));
                for (int i = n.InputArray.Length - 1; i >= 0; i--)
                    if (isMember(n.InputArray[i])) stack.Push((n.InputArray[i], false));
                continue;
            }
            var op = n.Op.Arithmetic!.Value;
            int a = Operand(n.InputArray[0]);
            int b = op.Arity == 1 ? -1 : Operand(n.InputArray[1]);
            program.Add(FusedStep.Apply(op, a, b));
            stepOf[n] = program.Count - 1;
        }
        return new FusedTree(root, [.. leaves], [.. program], block, inner);
    }

    public void Execute<T>(NDArray<T>[] leaves, NDArray<T> output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (_outer > 0) FusedKernel.RunSum(_program, leaves, output, _outer, _batch);
        else if (_inner > 0) FusedKernel.RunRowSum(_program, leaves, output, _inner);
        else FusedKernel.Run(_program, leaves, output);
    }
}
