using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Backend;

namespace JetSharp.Runtime;

/// <summary>
/// Nodes that share an operand and run as one kernel call: the products of a layer's Taylor coefficients by its weight
/// ([N, H] primal, [R, N, H] tangents and the collapsed [1, N, H] sum, each times one [H, H′] matrix) as one GEMM that
/// packs the weight once and spreads all their rows over the cores, instead of three GEMMs of which two are too short to
/// keep two cores busy. Each member's result is the one its own kernel gives (the primitive guarantees it).
/// <para>
/// A member may read one input as a product formed in the kernel (<see cref="Primitive.FactoredInput"/>): the first
/// layer's f′(z₁) ⊙ W₁ rows, [R, N, H] from a [N, H] and an [R, 1, H] operand, that only this product reads, is never
/// stored; the GEMM multiplies its rows sliver by sliver in L1 (the step absorbs the multiplication). Such a product runs
/// as a step of its own when it stacks with no other.
/// </para>
/// </summary>
/// <remarks>
/// Found by <see cref="Plan"/> from the <see cref="Primitive.StackKey"/> trait: nodes with equal keys form a stack. The
/// products to factor are chosen first (<see cref="Factored"/>), so the passes planned before the stacks leave their
/// multiplications alone.
/// </remarks>
internal sealed class ProductStack : IGroupStep
{
    private readonly Node[] _members;
    private readonly Node?[] _factored;   // per member: the product its FactoredInput reads, formed in the kernel, or null
    private readonly bool[] _unchanging;  // per input position: a graph constant in every member (the kernel may keep what it derives)

    private ProductStack(Node[] members, IReadOnlyDictionary<Node, Node> factored)
    {
        _members = members;
        _factored = [.. members.Select(m => factored.GetValueOrDefault(m))];
        Leaves = [.. members.SelectMany((m, i) => _factored[i] is { } q ? m.InputArray.Where(x => x != q).Concat(q.InputArray) : m.InputArray).Distinct()];
        Absorbed = [.. _factored.OfType<Node>()];
        _unchanging = [.. members[0].InputArray.Select((_, j) => members.All(m => m.InputArray[j].Op is ConstantOp))];
    }

    /// <inheritdoc/>
    public Node Primary => _members[0];
    /// <inheritdoc/>
    public Node[] Companions => _members[1..];
    /// <inheritdoc/>
    public Node[] Leaves { get; }
    /// <inheritdoc/>
    public Node[] Absorbed { get; }
    /// <inheritdoc/>
    public Shape? Scratch => null;
    /// <inheritdoc/>
    public string Label => (_members.Length > 1 ? $"stacked({_members.Length})" : "one product") + (Absorbed.Length > 0 ? $", {Absorbed.Length} factored" : "");

    /// <inheritdoc/>
    public void Execute<T>(Func<Node, NDArray<T>> valueOf, NDArray<T>? scratch) where T : unmanaged, IFloatingPointIeee754<T> =>
        Primary.Op.ExecuteStacked(
            [.. _members.Select((m, i) => m.InputArray.Select(x => valueOf(x == _factored[i] ? x.InputArray[0] : x)).ToArray())],
            [.. _factored.Select(q => q is null ? null : valueOf(q.InputArray[1]))],
            [.. _members.Select(valueOf)],
            _unchanging);

    /// <summary>Whether executables stack products by default: unless the environment sets <c>JETSHARP_STACK=0</c>.</summary>
    internal static bool Enabled { get; } = Environment.GetEnvironmentVariable("JETSHARP_STACK") != "0";

    /// <summary>Whether products form a factored input in the kernel: unless the environment sets <c>JETSHARP_FACTOR=0</c>.</summary>
    internal static bool FactorEnabled { get; } = Environment.GetEnvironmentVariable("JETSHARP_FACTOR") != "0";

    private static bool Tall(Node n) => n.Shape.Size / Math.Max(1, n.Shape[^1]) > TransposedProduct.MaxRows;

    /// <summary>
    /// The products among <paramref name="order"/> (scheduled nodes, <paramref name="inputsOf"/> giving their inputs as nodes
    /// of the order) that will form an input in the kernel, each with that input: a plain elementwise multiplication (not a
    /// fused tree, not an output, not <paramref name="taken"/>) read by that product alone, whose operands the primitive
    /// accepts (<see cref="Primitive.FactoredInput"/>), for a product of more than <see cref="TransposedProduct.MaxRows"/> rows.
    /// Both operands must be smaller than the multiplication (broadcast over some of its rows), so they stay cached: a
    /// full-size operand, read from memory sliver by sliver, slowed the product by more than not storing it saved
    /// (docs/fusion.md).
    /// </summary>
    public static Dictionary<Node, Node> Factored(IReadOnlyList<Node> order, Func<Node, Node[]> inputsOf, Func<Node, bool> taken,
        IReadOnlyDictionary<Node, FusedTree> trees, IEnumerable<Node> outputs)
    {
        var (consumers, _) = GroupSteps.Index(order, inputsOf);
        var outputSet = outputs.ToHashSet();
        var result = new Dictionary<Node, Node>();
        foreach (var m in order)
        {
            if (taken(m) || m.Shape.Rank == 0 || !Tall(m)) continue;
            for (int j = 0; j < m.InputArray.Length; j++)
            {
                var q = m.InputArray[j];
                if (q.Op.Arithmetic is not { Binary: BinaryOp.Mul } || q.InputArray.Length != 2 || trees.ContainsKey(q) || taken(q)
                    || outputSet.Contains(q) || !consumers.TryGetValue(q, out var readers) || readers.Count != 1 || readers[0] != m
                    || m.InputArray.Count(x => x == q) != 1
                    || q.InputArray.Any(x => x.Shape.Size >= q.Shape.Size)
                    || m.Op.FactoredInput(m, q.InputArray[0].Shape, q.InputArray[1].Shape) != j) continue;
                result[m] = q;
                break;
            }
        }
        return result;
    }

    /// <summary>
    /// The stacks among <paramref name="order"/> (a topological order of scheduled nodes whose inputs <paramref name="inputsOf"/>
    /// gives as nodes of the order, as <paramref name="scheduled"/> maps any node) and the order with each stack as one
    /// step. Nodes of one primitive type with equal keys join the first stack of their key that none of them feeds (in
    /// the order given), so a product computed from another one by the same weight starts a stack of its own. A stack has
    /// at least two members and one of more than <see cref="TransposedProduct.MaxRows"/> rows: products that are all that
    /// short run transposed instead, reading the weight in place. The <paramref name="factored"/> products (from
    /// <see cref="Factored"/>) form that input in the kernel, and those in no stack run as steps of one product.
    /// </summary>
    public static (List<ProductStack> Stacks, List<Node> Order) Plan(IReadOnlyList<Node> order, Func<Node, Node[]> inputsOf, Func<Node, Node> scheduled,
        IReadOnlyDictionary<Node, Node> factored)
    {
        var byKey = new Dictionary<(Type, object), List<Node>>();
        foreach (var n in order)
            if (n.Op.StackKey(n) is { } key)
            {
                var typed = (n.Op.GetType(), key);
                if (!byKey.TryGetValue(typed, out var members)) byKey[typed] = members = [];
                members.Add(n);
            }
        var candidates = byKey.Values.Where(m => m.Count > 1 && m.Any(Tall)).ToList();
        if (candidates.Count == 0 && factored.Count == 0) return ([], [.. order]);
        var (consumers, position) = GroupSteps.Index(order, inputsOf);
        var stacks = new List<ProductStack>();
        foreach (var members in candidates)
        {
            var open = new List<List<Node>>();
            foreach (var m in members)
            {
                var home = open.FirstOrDefault(s => !GroupSteps.FeedsItself(new ProductStack([.. s, m], factored), [.. s, m], consumers, position, scheduled));
                if (home is null) open.Add([m]);
                else home.Add(m);
            }
            stacks.AddRange(open.Where(s => s.Count > 1 && s.Any(Tall)).Select(s => new ProductStack([.. s], factored)));
        }
        var stacked = stacks.SelectMany(s => s._members).ToHashSet();
        stacks.AddRange(order.Where(m => factored.ContainsKey(m) && !stacked.Contains(m)).Select(m => new ProductStack([m], factored)));
        return (stacks, GroupSteps.Contract(order, stacks, inputsOf, position, scheduled));
    }
}
