using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Runtime;

/// <summary>
/// A product whose consumers all run in its GEMM's epilogue (<see cref="GemmEpilogue{T}"/>): elementwise trees over its
/// output (f′(x₀)·x₁ of a first-order Taylor rule, broadcast over the direction axis) and sums of such trees over
/// leading axes (Σ_r x₁,r²), each a <see cref="FusedTree"/> or a single fusable node. The product's output is never a
/// value of its own: the GEMM writes it into the buffer of one elementwise consumer (the <see cref="Primary"/>), and
/// the epilogue reads each finished row sliver there, in L1, computes every consumer's piece, and overwrites the
/// sliver with the primary's. So the tangent of a layer is written once and read once. Without an elementwise
/// consumer, the product writes into a scratch buffer the step releases (<see cref="NeedsScratch"/>).
/// </summary>
/// <remarks>
/// The group runs as one step of the schedule, at <see cref="Primary"/>; the other consumers
/// (<see cref="Companions"/>) are scheduled right after it and find their values already there. Found by
/// <see cref="GemmEpilogueFusion.Plan"/> from traits: <see cref="Primitive.AcceptsEpilogue"/> on the product and
/// <see cref="Primitive.Arithmetic"/> on its consumers (through <see cref="FusedTree"/>).
/// </remarks>
internal sealed class EpilogueGroup : IGroupStep
{
    private readonly (Node Root, FusedTree Tree)[] _units;   // the primary last when it is elementwise

    internal EpilogueGroup(Node product, (Node Root, FusedTree Tree)[] units)
    {
        Product = product;
        var elementwise = units.Where(u => u.Tree.IsElementwise).Select(u => u.Root).FirstOrDefault();
        NeedsScratch = elementwise is null;
        Primary = elementwise ?? units[0].Root;
        _units = [.. units.Where(u => u.Root != Primary), .. units.Where(u => u.Root == Primary)];
        Companions = [.. _units.Select(u => u.Root).Where(r => r != Primary)];
        Leaves = [.. product.InputArray.Concat(units.SelectMany(u => u.Tree.Leaves)).Where(x => x != product).Distinct()];
    }

    /// <summary>The product (absorbed: not scheduled, never stored as a value).</summary>
    public Node Product { get; }
    /// <summary>The scheduled node that runs the group; an elementwise consumer (whose buffer holds the product's C) unless <see cref="NeedsScratch"/>.</summary>
    public Node Primary { get; }
    /// <summary>The other consumers the group computes.</summary>
    public Node[] Companions { get; }
    /// <summary>Everything the group reads: the product's operands and the consumers' other leaves.</summary>
    public Node[] Leaves { get; }
    /// <summary>No consumer is elementwise: the product's C goes to a scratch buffer of its size.</summary>
    public bool NeedsScratch { get; }
    /// <summary>Graph nodes the group replaces (the product and its consumers' nodes).</summary>
    public int Size => 1 + _units.Sum(u => u.Tree.Size);

    /// <inheritdoc/>
    public Node[] Absorbed => [Product];
    /// <inheritdoc/>
    public Shape? Scratch => NeedsScratch ? Product.Shape : (Shape?)null;
    /// <inheritdoc/>
    public string Label => $"gemm+epilogue({Size})";

    /// <summary>
    /// Runs the product into the primary's buffer (or <paramref name="scratch"/> when <see cref="NeedsScratch"/>) with the
    /// consumers as its epilogue. <paramref name="valueOf"/> gives each leaf's value and each consumer's output buffer.
    /// </summary>
    public void Execute<T>(Func<Node, NDArray<T>> valueOf, NDArray<T>? scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var c = NeedsScratch ? scratch ?? throw new ArgumentNullException(nameof(scratch), "EpilogueGroup: the product needs a scratch buffer.") : valueOf(Primary);
        var units = _units.Select(u => new FusedGemmEpilogue<T>.Unit(
            u.Tree.Program,
            [.. u.Tree.Leaves.Select(l => l == Product ? c : valueOf(l))],
            u.Root == Primary && !NeedsScratch ? c : valueOf(u.Root),
            u.Tree.Outer)).ToArray();
        var operands = Product.InputArray.Select(valueOf).ToArray();
        Product.Op.ExecuteWithEpilogue(operands, c, new FusedGemmEpilogue<T>(units, Product.Shape[^1]));
    }
}

/// <summary>
/// Finds the products to run with their consumers in the GEMM's epilogue (<see cref="EpilogueGroup"/>), and orders the
/// schedule so each group runs as one step. A product qualifies when its primitive accepts an epilogue for its shapes,
/// it is not a graph output, and every consumer is an elementwise tree of its shape or a leading-axis sum of such a
/// tree, not taken by another group, that reads nothing computed from the group's own outputs (the group must be able
/// to run once, after all its leaves).
/// </summary>
internal static class GemmEpilogueFusion
{
    /// <param name="order">A topological order of the nodes to run (fused trees' members already removed).</param>
    /// <param name="trees">The fused trees by root; trees that join a group are removed.</param>
    /// <param name="outputs">The graph's outputs.</param>
    /// <returns>The groups, and <paramref name="order"/> with each group's product removed and its consumers moved together.</returns>
    public static (List<EpilogueGroup> Groups, List<Node> Order) Plan(IReadOnlyList<Node> order, Dictionary<Node, FusedTree> trees, IEnumerable<Node> outputs)
    {
        Node[] InputsOf(Node n) => [.. (trees.TryGetValue(n, out var t) ? t.Leaves : n.InputArray).Distinct()];
        var (consumers, position) = GroupSteps.Index(order, InputsOf);
        var isOutput = outputs.ToHashSet();

        var groups = new List<EpilogueGroup>();
        var claimed = new HashSet<Node>();
        foreach (var product in order)
        {
            if (isOutput.Contains(product) || !product.Op.AcceptsEpilogue(product) || consumers[product].Count == 0) continue;
            var units = new List<(Node, FusedTree)>();
            foreach (var c in consumers[product])
            {
                if (claimed.Contains(c) || FusedTree.UnitOver(c, product.Shape, trees) is not { } tree) { units.Clear(); break; }
                units.Add((c, tree));
            }
            // Sums share one number of summed positions, each a whole number of C's rows (the GEMM cuts its parts there).
            var outers = units.Select(u => u.Item2.Outer).Where(o => o > 0).Distinct().ToList();
            if (units.Count == 0 || outers.Count > 1 || (outers.Count == 1 && product.Shape.Size / outers[0] % product.Shape[^1] != 0)) continue;
            var group = new EpilogueGroup(product, [.. units]);
            if (GroupSteps.FeedsItself(group, units.Select(u => u.Item1), consumers, position, n => n)) continue;
            groups.Add(group);
            foreach (var (root, _) in units) claimed.Add(root);
        }

        var contracted = GroupSteps.Contract(order, groups, InputsOf, position, n => n);
        foreach (var g in groups)
            foreach (var member in g.Companions.Append(g.Primary)) trees.Remove(member);
        return (groups, contracted);
    }
}
