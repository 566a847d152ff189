using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Transforms;

/// <summary>
/// Reverse mode as a graph transformation (no tape): the forward computation is copied, then the
/// nodes are visited in reverse order and each primitive's VJP rule emits the cotangents of its
/// inputs, which are summed where a value has several users. The result is an ordinary graph, so it
/// can be transformed again (grad of grad, JVP of grad).
/// </summary>
public static class Vjp
{
    /// <summary>
    /// Emits into the graph of <paramref name="primals"/> the outputs of g and the cotangents of the
    /// inputs selected by <paramref name="wrt"/>, given output cotangents (null = zero).
    /// </summary>
    public static (Node[] Outputs, Node?[] InputCotangents) Apply(Graph g, IReadOnlyList<Node> primals, IReadOnlyList<Node?> outputCotangents, bool[]? wrt = null)
    {
        ArgumentNullException.ThrowIfNull(g);
        GraphWalk.CheckInputs(g, primals, "vjp");
        ArgumentNullException.ThrowIfNull(outputCotangents);
        if (outputCotangents.Count != g.Outputs.Count)
            throw new ArgumentException($"vjp: {outputCotangents.Count} cotangent(s) for {g.Outputs.Count} output(s).");
        wrt = Selection(wrt, g, "vjp");

        var target = primals.Count > 0 ? primals[0].Graph : throw new ArgumentException("vjp: the function has no inputs.");
        var map = GraphWalk.Copy(g, target, primals);
        var order = GraphWalk.Reachable(g);

        // Only values that depend on a selected input need cotangents.
        var active = new HashSet<Node>(g.Inputs.Where((_, i) => wrt[i]));
        foreach (var node in order)
            if (node.InputArray.Any(active.Contains)) active.Add(node);

        var ct = new Dictionary<Node, Node>();
        for (int o = 0; o < g.Outputs.Count; o++)
        {
            if (outputCotangents[o] is not { } c) continue;
            var output = g.Outputs[o];
            if (c.Shape != output.Shape)
                throw new ShapeException($"vjp: cotangent of output {o} has shape {c.Shape}; the output has shape {output.Shape}.");
            Accumulate(ct, output, c);
        }

        for (int n = order.Count - 1; n >= 0; n--)
        {
            var node = order[n];
            if (node.Op is InputOp || !active.Contains(node) || !ct.TryGetValue(node, out var cotangent)) continue;
            var copy = map[node];
            if (copy.Op != node.Op)
                throw new InvalidOperationException($"vjp: the target graph rewrote '{node.Op.Name}'; differentiate before simplifying.");
            Node?[] inputCts = [];
            GraphWalk.WithOrigin(target, node, () => inputCts = node.Op.Vjp(copy, cotangent));
            for (int j = 0; j < node.InputArray.Length; j++)
                if (inputCts[j] is { } cj && active.Contains(node.InputArray[j]))
                    Accumulate(ct, node.InputArray[j], cj);
        }

        var outputs = g.Outputs.Select(o => map[o]).ToArray();
        var inputCotangents = g.Inputs.Select((x, i) => wrt[i] && ct.TryGetValue(x, out var c) ? c : null).ToArray();
        return (outputs, inputCotangents);
    }

    /// <summary>The input selection: every input when null, else one flag per input of g.</summary>
    private static bool[] Selection(bool[]? wrt, Graph g, string op)
    {
        if (wrt is null) return [.. g.Inputs.Select(_ => true)];
        if (wrt.Length != g.Inputs.Count)
            throw new ArgumentException($"{op}: the selection has {wrt.Length} flag(s); the function has {g.Inputs.Count} input(s).", nameof(wrt));
        return wrt;
    }

    private static void Accumulate(Dictionary<Node, Node> ct, Node node, Node c)
    {
        if (c.Shape != node.Shape)
            throw new InvalidOperationException($"vjp: the rule of '{node.Op.Name}' produced a cotangent of shape {c.Shape} for a value of shape {node.Shape}.");
        ct[node] = ct.TryGetValue(node, out var existing) ? existing + c : c;
    }

    /// <summary>
    /// The gradient graph of a function with one scalar (single-element) output: inputs as g, outputs
    /// (value, ∂/∂input for each selected input). Unselected inputs get no output.
    /// </summary>
    public static Graph Grad(Graph g, bool[]? wrt = null)
    {
        ArgumentNullException.ThrowIfNull(g);
        if (g.Outputs.Count != 1 || g.Outputs[0].Shape.Size != 1)
            throw new ShapeException($"grad: the function must return one scalar; it returns {string.Join(", ", g.Outputs.Select(o => o.Shape.ToString()))}.");
        wrt = Selection(wrt, g, "grad");
        var gg = new Graph(g.DType);
        var primals = GraphWalk.MirrorInputs(g, gg);
        var seed = Fn.BroadcastTo(gg.Scalar(1), g.Outputs[0].Shape);
        var (outs, cts) = Apply(g, primals, [seed], wrt);
        var results = new List<Node> { outs[0] };
        for (int i = 0; i < primals.Length; i++)
            if (wrt[i]) results.Add(cts[i] ?? Fn.Zeros(gg, primals[i].Shape));
        gg.SetOutputs([.. results]);
        return gg;
    }
}
