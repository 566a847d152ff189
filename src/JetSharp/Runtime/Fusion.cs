using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

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
/// </summary>
internal sealed class FusedTree
{
    private readonly FusedStep[] _program;

    private FusedTree(Node root, Node[] leaves, FusedStep[] program)
    {
        Root = root;
        Leaves = leaves;
        _program = program;
    }

    public Node Root { get; }
    public Node[] Leaves { get; }
    public int Size => _program.Count(i => !i.IsLoad);

    public static bool IsFusable(Node n) =>
        n.Op.Arithmetic is { } op && FusedKernel.Supports(op) && n.InputArray.All(i => LeafFits(i.Shape, n.Shape));

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
            var program = new List<FusedStep>();
            int Emit(Node n)
            {
                if (n != root && !JoinsConsumer(n))
                {
                    int leaf = leaves.IndexOf(n);
                    if (leaf < 0) { leaf = leaves.Count; leaves.Add(n); }
                    program.Add(FusedStep.Load(leaf));
                    return program.Count - 1;
                }
                var op = n.Op.Arithmetic!.Value;
                int a = Emit(n.InputArray[0]);
                int b = op.Arity == 1 ? -1 : Emit(n.InputArray[1]);
                program.Add(FusedStep.Apply(op, a, b));
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

    public void Execute<T>(NDArray<T>[] leaves, NDArray<T> output) where T : unmanaged, IFloatingPointIeee754<T> =>
        FusedKernel.Run(_program, leaves, output);
}
