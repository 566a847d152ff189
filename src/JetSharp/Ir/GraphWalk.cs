using JetSharp.Tensors;

namespace JetSharp.Ir;

/// <summary>
/// Walking and copying graphs: the loop every graph-to-graph function shares. A transform copies the
/// nodes an output needs, in topological order, into a target graph; while it handles a node, nodes it
/// appends inherit that node's origin (the user's line), so errors raised later still point there.
/// </summary>
public static class GraphWalk
{
    /// <summary>Nodes from which an output can be reached, in topological order.</summary>
    public static List<Node> Reachable(Graph g)
    {
        ArgumentNullException.ThrowIfNull(g);
        return Reachable(g.Nodes, g.Outputs);
    }

    /// <summary>Nodes of <paramref name="nodes"/> (topologically ordered) from which a root can be reached, in order.</summary>
    public static List<Node> Reachable(IReadOnlyList<Node> nodes, IEnumerable<Node> roots)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(roots);
        var live = new HashSet<Node>(roots);
        for (int i = nodes.Count - 1; i >= 0; i--)
            if (live.Contains(nodes[i]))
                foreach (var x in nodes[i].InputArray) live.Add(x);
        return [.. nodes.Where(live.Contains)];
    }

    /// <summary>The name of a graph input (as given to <see cref="Graph.Input"/>); "in{id}" for any other node.</summary>
    public static string InputName(Node input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input.Op is InputOp op ? op.InputName : $"in{input.Id}";
    }

    /// <summary>New inputs of <paramref name="target"/> with the shapes and names of <paramref name="source"/>'s inputs.</summary>
    public static Node[] MirrorInputs(Graph source, Graph target)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        return [.. source.Inputs.Select(i => target.Input(i.Shape, InputName(i)))];
    }

    /// <summary>
    /// Checks that <paramref name="primals"/> can stand for the inputs of <paramref name="g"/> (count,
    /// shapes, dtype); <paramref name="transform"/> names the caller in the message.
    /// </summary>
    public static void CheckInputs(Graph g, IReadOnlyList<Node> primals, string transform)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(primals);
        for (int i = 0; i < primals.Count; i++)
            if (primals[i] is null) throw new ArgumentNullException(nameof(primals), $"{transform}: input {i} is null.");
        if (primals.Count != g.Inputs.Count)
            throw new ArgumentException($"{transform}: {primals.Count} input(s) given to a function of {g.Inputs.Count} input(s).");
        for (int i = 0; i < primals.Count; i++)
        {
            if (primals[i].Shape != g.Inputs[i].Shape)
                throw new ShapeException($"{transform}: input {i} has shape {primals[i].Shape}; the function was traced for {g.Inputs[i].Shape}.");
            // Copied nodes keep their ops, and a constant holds a tensor of the traced dtype: the result could not run.
            if (primals[i].DType != g.DType)
                throw new ShapeException($"{transform}: mixed dtypes, input {i} is {primals[i].DType.Name()} {primals[i].Shape}; the function was traced as {g.DType.Name()}.");
        }
    }

    /// <summary>
    /// Calls <paramref name="visit"/> on every non-input node of <paramref name="source"/> that an output
    /// needs, in topological order, with <paramref name="target"/>'s new nodes inheriting that node's
    /// origin. The target's previous origin is restored afterwards, also when <paramref name="visit"/> throws.
    /// </summary>
    public static void ForEachNode(Graph source, Graph target, Action<Node> visit) =>
        ForEachNode(Reachable(source), target, visit);

    /// <inheritdoc cref="ForEachNode(Graph, Graph, Action{Node})"/>
    public static void ForEachNode(IReadOnlyList<Node> order, Graph target, Action<Node> visit)
    {
        ArgumentNullException.ThrowIfNull(order);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(visit);
        var outer = target.InheritedOrigin;
        try
        {
            foreach (var node in order)
            {
                if (node.Op is InputOp) continue;
                target.InheritedOrigin = node.Origin;
                visit(node);
            }
        }
        finally { target.InheritedOrigin = outer; }
    }

    /// <summary>Runs <paramref name="action"/> with new nodes of <paramref name="target"/> inheriting <paramref name="source"/>'s origin.</summary>
    public static void WithOrigin(Graph target, Node source, Action action)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(action);
        var outer = target.InheritedOrigin;
        target.InheritedOrigin = source.Origin;
        try { action(); }
        finally { target.InheritedOrigin = outer; }
    }

    /// <summary>
    /// Copies the computation of <paramref name="source"/> onto <paramref name="inputs"/> (nodes of the
    /// target graph standing for source's inputs) through <see cref="Graph.Apply"/> (so an interceptor
    /// sees every node). Returns the map from source nodes to their copies.
    /// </summary>
    public static Dictionary<Node, Node> Copy(Graph source, Graph target, IReadOnlyList<Node> inputs) =>
        Copy(source, target, inputs, (op, args) => target.Apply(op, args));

    internal static Dictionary<Node, Node> Copy(Graph source, Graph target, IReadOnlyList<Node> inputs, Func<Primitive, Node[], Node> apply)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        CheckInputs(source, inputs, "copy");
        if (inputs.Any(i => i.Graph != target))
            throw new ArgumentException("copy: the inputs must be nodes of the target graph.");
        var map = new Dictionary<Node, Node>();
        for (int i = 0; i < inputs.Count; i++) map[source.Inputs[i]] = inputs[i];
        ForEachNode(source, target, node => map[node] = apply(node.Op, [.. node.InputArray.Select(x => map[x])]));
        return map;
    }
}
