using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Runtime;

/// <summary>
/// Nodes that share an operand and run as one kernel call: the products of a layer's Taylor coefficients by its weight
/// ([N, H] primal, [R, N, H] tangents and the collapsed [1, N, H] sum, each times one [H, H′] matrix) as one GEMM that
/// packs the weight once and spreads all their rows over the cores, instead of three GEMMs of which two are too short to
/// keep two cores busy. Each member's result is the one its own kernel gives (the primitive guarantees it).
/// </summary>
/// <remarks>
/// Found by <see cref="Plan"/> from the <see cref="Primitive.StackKey"/> trait: nodes with equal keys form a stack.
/// </remarks>
internal sealed class ProductStack : IGroupStep
{
    private readonly Node[] _members;

    private ProductStack(Node[] members)
    {
        _members = members;
        Leaves = [.. members.SelectMany(m => m.InputArray).Distinct()];
    }

    /// <inheritdoc/>
    public Node Primary => _members[0];
    /// <inheritdoc/>
    public Node[] Companions => _members[1..];
    /// <inheritdoc/>
    public Node[] Leaves { get; }
    /// <inheritdoc/>
    public Node[] Absorbed => [];
    /// <inheritdoc/>
    public Shape? Scratch => null;
    /// <inheritdoc/>
    public string Label => $"stacked({_members.Length})";

    /// <inheritdoc/>
    public void Execute<T>(Func<Node, NDArray<T>> valueOf, NDArray<T>? scratch) where T : unmanaged, IFloatingPointIeee754<T> =>
        Primary.Op.ExecuteStacked([.. _members.Select(m => m.InputArray.Select(valueOf).ToArray())], [.. _members.Select(valueOf)]);

    /// <summary>Whether executables stack products by default: unless the environment sets <c>JETSHARP_STACK=0</c>.</summary>
    internal static bool Enabled { get; } = Environment.GetEnvironmentVariable("JETSHARP_STACK") != "0";

    /// <summary>
    /// The stacks among <paramref name="order"/> (a topological order of scheduled nodes whose inputs <paramref name="inputsOf"/>
    /// gives as nodes of the order, as <paramref name="scheduled"/> maps any node) and the order with each stack as one
    /// step. Nodes of one primitive type with equal keys join the first stack of their key that none of them feeds (in
    /// the order given), so a product computed from another one by the same weight starts a stack of its own. A stack has
    /// at least two members and one of more than <see cref="TransposedProduct.MaxRows"/> rows: products that are all that
    /// short run transposed instead, reading the weight in place.
    /// </summary>
    public static (List<ProductStack> Stacks, List<Node> Order) Plan(IReadOnlyList<Node> order, Func<Node, Node[]> inputsOf, Func<Node, Node> scheduled)
    {
        var byKey = new Dictionary<(Type, object), List<Node>>();
        foreach (var n in order)
            if (n.Op.StackKey(n) is { } key)
            {
                var typed = (n.Op.GetType(), key);
                if (!byKey.TryGetValue(typed, out var members)) byKey[typed] = members = [];
                members.Add(n);
            }
        static bool Tall(Node n) => n.Shape.Size / Math.Max(1, n.Shape[^1]) > TransposedProduct.MaxRows;
        var candidates = byKey.Values.Where(m => m.Count > 1 && m.Any(Tall)).ToList();
        if (candidates.Count == 0) return ([], [.. order]);
        var (consumers, position) = GroupSteps.Index(order, inputsOf);
        var stacks = new List<ProductStack>();
        foreach (var members in candidates)
        {
            var open = new List<List<Node>>();
            foreach (var m in members)
            {
                var home = open.FirstOrDefault(s => !GroupSteps.FeedsItself(new ProductStack([.. s, m]), [.. s, m], consumers, position, scheduled));
                if (home is null) open.Add([m]);
                else home.Add(m);
            }
            stacks.AddRange(open.Where(s => s.Count > 1 && s.Any(Tall)).Select(s => new ProductStack([.. s])));
        }
        return (stacks, GroupSteps.Contract(order, stacks, inputsOf, position, scheduled));
    }
}
