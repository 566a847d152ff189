using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Runtime;

/// <summary>
/// The consumers of one large value that are trees over its shape — elementwise, or sums over its leading axes — run as
/// one pass over it (<see cref="FusedKernel.RunShared{T}"/>): a second-order Taylor rule's Σ_r z₁,r² and f′(z₀)·z₁ both
/// read the [R, N, H] tangents z₁, which then pass through memory once instead of once per consumer. Each consumer's
/// values are the bits its own kernel gives. When the value dies at this step, the last elementwise consumer (the
/// <see cref="Primary"/>) writes over it (<see cref="Overwrites"/>), as it would have run in place on its own.
/// </summary>
/// <remarks>Found by <see cref="Plan"/> from the fused trees (<see cref="FusedTree.UnitOver"/>), driven by the primitives' <see cref="Primitive.Arithmetic"/>.</remarks>
internal sealed class SharedReadPass : IGroupStep
{
    private readonly (Node Root, FusedTree Tree)[] _units;   // sums first, the primary last
    private readonly int _outer;

    private SharedReadPass(Node source, (Node Root, FusedTree Tree)[] units)
    {
        Source = source;
        _units = [.. units.Where(u => !u.Tree.IsElementwise), .. units.Where(u => u.Tree.IsElementwise)];
        _outer = units.Select(u => u.Tree.Outer).FirstOrDefault(o => o > 0, 1);
        Primary = _units[^1].Root;
        Companions = [.. _units[..^1].Select(u => u.Root)];
        Leaves = [.. _units.SelectMany(u => u.Tree.Leaves).Distinct()];
    }

    /// <summary>The value every unit reads.</summary>
    public Node Source { get; }
    /// <inheritdoc/>
    public Node Primary { get; }
    /// <inheritdoc/>
    public Node[] Companions { get; }
    /// <inheritdoc/>
    public Node[] Leaves { get; }
    /// <inheritdoc/>
    public Node[] Absorbed => [];
    /// <inheritdoc/>
    public Shape? Scratch => null;
    /// <inheritdoc/>
    public Node? Overwrites => _units[^1].Tree.IsElementwise ? Source : null;
    /// <inheritdoc/>
    public string Label => $"one pass({_units.Length} trees over {Source})";

    /// <inheritdoc/>
    public void Execute<T>(Func<Node, NDArray<T>> valueOf, NDArray<T>? scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var units = _units.Select(u => new FusedKernel.SharedUnit<T>(u.Tree.Program, [.. u.Tree.Leaves.Select(valueOf)], valueOf(u.Root), !u.Tree.IsElementwise)).ToArray();
        FusedKernel.RunShared(units, _outer, Source.Shape.Size);
    }

    /// <summary>Least size of a shared value: below it the value sits in cache and a second read costs little.</summary>
    internal const int MinSize = 1 << 16;

    /// <summary>
    /// The passes among <paramref name="order"/> (a topological order of scheduled nodes, <paramref name="inputsOf"/> giving
    /// their inputs as nodes of the order, as <paramref name="scheduled"/> maps any node; <paramref name="trees"/> the fused
    /// trees by root) and the order with each pass as one step. A value of at least <see cref="MinSize"/> elements gets a
    /// pass when at least two of its consumers are trees over its shape that no other step has <paramref name="taken"/>,
    /// with at least one sum among them (all sums over the same leading positions), none reading what another computes.
    /// </summary>
    public static (List<SharedReadPass> Passes, List<Node> Order) Plan(IReadOnlyList<Node> order, Func<Node, Node[]> inputsOf, Func<Node, Node> scheduled,
        Dictionary<Node, FusedTree> trees, Func<Node, bool> taken)
    {
        var (consumers, position) = GroupSteps.Index(order, inputsOf);
        var passes = new List<SharedReadPass>();
        var claimed = new HashSet<Node>();
        foreach (var source in order)
        {
            if (source.Shape.Size < MinSize || source.Op is InputOp or ConstantOp) continue;
            var units = consumers[source].Where(c => !claimed.Contains(c) && !taken(c))
                .Select(c => (Root: c, Tree: FusedTree.UnitOver(c, source.Shape, trees)))
                .Where(u => u.Tree is not null).Select(u => (u.Root, Tree: u.Tree!)).ToList();
            var outers = units.Select(u => u.Tree.Outer).Where(o => o > 0).Distinct().ToList();
            if (units.Count < 2 || outers.Count != 1) continue;
            var pass = new SharedReadPass(source, [.. units]);
            if (GroupSteps.FeedsItself(pass, units.Select(u => u.Root), consumers, position, scheduled)) continue;
            passes.Add(pass);
            foreach (var u in units) claimed.Add(u.Root);
        }
        return (passes, GroupSteps.Contract(order, passes, inputsOf, position, scheduled));
    }
}
