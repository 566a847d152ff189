using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Runtime;

/// <summary>
/// Nodes that run together as one step of the schedule: a product with its consumers in the GEMM's epilogue
/// (<see cref="EpilogueGroup"/>), the trees over one value in one pass over it (<see cref="SharedReadPass"/>), or
/// products by one shared operand run as one GEMM (<see cref="ProductStack"/>).
/// </summary>
internal interface IGroupStep
{
    /// <summary>The scheduled node that runs the step.</summary>
    Node Primary { get; }
    /// <summary>The other nodes the step computes; scheduled right after the primary, they find their values there.</summary>
    Node[] Companions { get; }
    /// <summary>Everything the step reads.</summary>
    Node[] Leaves { get; }
    /// <summary>Nodes of the order the step absorbs: never scheduled, never stored as values.</summary>
    Node[] Absorbed { get; }
    /// <summary>
    /// A leaf whose buffer the primary takes over when the leaf dies at this step (it writes over it element by element
    /// after the step has read it), or null.
    /// </summary>
    Node? Overwrites => null;
    /// <summary>The shape of a buffer the step needs while it runs and then releases, or null.</summary>
    Shape? Scratch { get; }
    /// <summary>How a schedule listing or profile marks the step.</summary>
    string Label { get; }

    /// <summary>
    /// Runs the step. <paramref name="valueOf"/> gives each leaf's value and the output buffer of the primary and each
    /// companion (allocated by the caller); <paramref name="scratch"/> is a buffer of <see cref="Scratch"/>'s shape, or null.
    /// </summary>
    void Execute<T>(Func<Node, NDArray<T>> valueOf, NDArray<T>? scratch) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>Planning shared by the kinds of <see cref="IGroupStep"/>: whether a group can run as one step, and the order that makes it one.</summary>
internal static class GroupSteps
{
    /// <summary>The consumers of each node of <paramref name="order"/> and each node's position in it.</summary>
    public static (Dictionary<Node, List<Node>> Consumers, Dictionary<Node, int> Position) Index(IReadOnlyList<Node> order, Func<Node, Node[]> inputsOf)
    {
        var position = new Dictionary<Node, int>(order.Count);
        var consumers = new Dictionary<Node, List<Node>>(order.Count);
        for (int k = 0; k < order.Count; k++)
        {
            position[order[k]] = k;
            consumers[order[k]] = [];
        }
        foreach (var n in order)
            foreach (var i in inputsOf(n)) consumers[i].Add(n);
        return (consumers, position);
    }

    /// <summary>
    /// Whether a path leads from one of the group's members (<paramref name="roots"/>) to one of its leaves (then the
    /// group could not run as one step). Such a path ends before the last member in the order, so the walk stops there.
    /// <paramref name="scheduled"/> maps a leaf to the node of the order that computes it (the primary of an earlier step's member).
    /// </summary>
    public static bool FeedsItself(IGroupStep group, IEnumerable<Node> roots, Dictionary<Node, List<Node>> consumers, Dictionary<Node, int> position,
        Func<Node, Node> scheduled)
    {
        var leaves = group.Leaves.Select(scheduled).ToHashSet();
        var start = roots.ToList();
        int last = start.Max(r => position[r]);
        var seen = new HashSet<Node>(start);
        var work = new Stack<Node>(start);
        while (work.Count > 0)
        {
            var n = work.Pop();
            if (leaves.Contains(n)) return true;
            foreach (var c in consumers[n])
                if (position[c] < last && seen.Add(c)) work.Push(c);
        }
        return false;
    }

    /// <summary>
    /// A topological order of <paramref name="order"/> with each group as one vertex (its absorbed nodes dropped, its
    /// primary then its companions), dropping the last groups of <paramref name="groups"/> until contracting the rest
    /// leaves the graph acyclic (two groups can feed each other even when neither feeds itself). <paramref name="inputsOf"/>
    /// gives the inputs of a node of the order as nodes of the order; <paramref name="scheduled"/> maps a group's leaf to one.
    /// </summary>
    public static List<Node> Contract<TGroup>(IReadOnlyList<Node> order, List<TGroup> groups, Func<Node, Node[]> inputsOf, Dictionary<Node, int> position,
        Func<Node, Node> scheduled)
        where TGroup : IGroupStep
    {
        while (true)
        {
            if (TryContract(order, groups, inputsOf, position, scheduled) is { } contracted) return contracted;
            groups.RemoveAt(groups.Count - 1);
        }
    }

    /// <summary>
    /// The contracted order, keeping the given order where it can (a group sits where its first member was, or later
    /// when a leaf comes later); null when the groups make a cycle.
    /// </summary>
    private static List<Node>? TryContract<TGroup>(IReadOnlyList<Node> order, List<TGroup> groups, Func<Node, Node[]> inputsOf, Dictionary<Node, int> position,
        Func<Node, Node> scheduled)
        where TGroup : IGroupStep
    {
        var vertexOf = new Dictionary<Node, Node>();   // a group's members → its primary
        var groupOf = new Dictionary<Node, IGroupStep>();
        var absorbed = new HashSet<Node>();
        foreach (var g in groups)
        {
            groupOf[g.Primary] = g;
            absorbed.UnionWith(g.Absorbed);
            foreach (var m in g.Companions.Append(g.Primary)) vertexOf[m] = g.Primary;
        }
        Node Vertex(Node n) => vertexOf.GetValueOrDefault(n, n);
        var vertices = order.Where(n => !absorbed.Contains(n) && Vertex(n) == n).ToList();
        // A group as early as its leaves allow: where its first member was (a sum the transform emitted at the end may be its last).
        var priority = vertices.ToDictionary(v => v, v => groupOf.TryGetValue(v, out var g) ? g.Companions.Append(g.Primary).Min(m => position[m]) : position[v]);
        var waiting = new Dictionary<Node, int>(vertices.Count);
        var dependents = vertices.ToDictionary(v => v, _ => new List<Node>());
        foreach (var v in vertices)
        {
            var ins = (groupOf.TryGetValue(v, out var g) ? g.Leaves.Select(scheduled) : inputsOf(v)).Select(Vertex).Distinct().ToArray();
            waiting[v] = ins.Length;
            foreach (var i in ins) dependents[i].Add(v);
        }
        var ready = new PriorityQueue<Node, int>();
        foreach (var v in vertices)
            if (waiting[v] == 0) ready.Enqueue(v, priority[v]);
        var result = new List<Node>(order.Count);
        int emitted = 0;
        while (ready.TryDequeue(out var v, out _))
        {
            emitted++;
            result.Add(v);
            if (groupOf.TryGetValue(v, out var g)) result.AddRange(g.Companions);
            foreach (var d in dependents[v])
                if (--waiting[d] == 0) ready.Enqueue(d, priority[d]);
        }
        return emitted == vertices.Count ? result : null;
    }

    /// <summary>Puts each group's companions just after its primary in a schedule made without them.</summary>
    public static Node[] KeepCompanionsWithPrimary(Node[] schedule, Dictionary<Node, IGroupStep> groups)
    {
        if (groups.Count == 0) return schedule;
        var result = new List<Node>(schedule.Length);
        foreach (var n in schedule)
        {
            result.Add(n);
            if (groups.TryGetValue(n, out var g)) result.AddRange(g.Companions);
        }
        return [.. result];
    }
}
