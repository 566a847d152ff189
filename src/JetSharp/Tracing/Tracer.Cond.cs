using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Control;

namespace JetSharp.Tracing;

public static partial class Tracer
{
    /// <summary>
    /// <c>predicate &gt; 0 ? then(operands) : otherwise(operands)</c> as one node: both branches are traced
    /// (for the operands' shapes) and must return a node of the same shape; only the taken branch runs.
    /// The predicate is a traced single-element node; it is not differentiated, so derivatives are those of
    /// the taken branch (at p = 0 the else branch's). A NaN predicate makes the run throw.
    /// </summary>
    /// <param name="predicate">A node with one element (any shape of size 1); &gt; 0 takes <paramref name="then"/>.</param>
    /// <param name="then">The branch for a positive predicate, over the operands; values of the enclosing trace it uses besides them (a closure) become extra operands.</param>
    /// <param name="otherwise">The branch for a predicate ≤ 0, over the same operands.</param>
    /// <param name="operands">Nodes of the predicate's graph passed to the branch (differentiable).</param>
    /// <exception cref="ArgumentNullException">An argument or operand is null.</exception>
    /// <exception cref="ArgumentException">An operand belongs to another graph, or a branch uses a node of a trace that does not enclose it.</exception>
    /// <exception cref="ShapeException">The predicate has more than one element, or the branches return different shapes.</exception>
    public static Node Cond(Node predicate, Func<Node[], Node> then, Func<Node[], Node> otherwise, params Node[] operands)
    {
        ArgumentNullException.ThrowIfNull(then);
        ArgumentNullException.ThrowIfNull(otherwise);
        return Cond(predicate, xs => [then(xs)], xs => [otherwise(xs)], operands)[0];
    }

    /// <summary>
    /// Several results selected by one predicate: one cond node per output, each running the taken branch's
    /// computation of that output. Output i must have the same shape in both branches.
    /// </summary>
    /// <inheritdoc cref="Cond(Node, Func{Node[], Node}, Func{Node[], Node}, Node[])"/>
    public static Node[] Cond(Node predicate, Func<Node[], Node[]> then, Func<Node[], Node[]> otherwise, params Node[] operands)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        ArgumentNullException.ThrowIfNull(then);
        ArgumentNullException.ThrowIfNull(otherwise);
        ArgumentNullException.ThrowIfNull(operands);
        for (int i = 0; i < operands.Length; i++)
        {
            if (operands[i] is null) throw new ArgumentNullException(nameof(operands), $"cond: operand {i} is null.");
            if (operands[i].Graph != predicate.Graph) throw new ArgumentException($"cond: operand {i} {operands[i].Shape} belongs to another graph than the predicate.", nameof(operands));
        }
        if (predicate.Shape.Size != 1)
            throw new ShapeException($"cond: the predicate must be a single element (a scalar test such as Fn.Sum(x) - 1), got shape {predicate.Shape}.");
        var shapes = operands.Select(o => o.Shape).ToArray();
        var (branches, captured) = TraceBodies(predicate.Graph, [(then, "cond (then branch)"), (otherwise, "cond (else branch)")],
            shapes, [.. shapes.Select((_, i) => $"a{i}")]);
        var (thenGraph, elseGraph) = (branches[0], branches[1]);
        if (thenGraph.Outputs.Count != elseGraph.Outputs.Count)
            throw new ShapeException($"cond: the then branch returns {thenGraph.Outputs.Count} output(s), the else branch {elseGraph.Outputs.Count}.");
        for (int o = 0; o < thenGraph.Outputs.Count; o++)
            if (thenGraph.Outputs[o].Shape != elseGraph.Outputs[o].Shape)
                throw new ShapeException($"cond: output {o} has shape {thenGraph.Outputs[o].Shape} in the then branch but {elseGraph.Outputs[o].Shape} in the else branch; both branches must return the same shapes.");
        var results = new Node[thenGraph.Outputs.Count];
        for (int o = 0; o < results.Length; o++)
        {
            var op = new CondOp(SelectOutput(thenGraph, o), SelectOutput(elseGraph, o));
            results[o] = predicate.Graph.Apply(op, [predicate, .. operands, .. captured]);
        }
        return results;
    }

    private static Graph SelectOutput(Graph g, int output)
    {
        if (g.Outputs.Count == 1) return g;
        var c = new Graph(g.DType);
        var map = GraphWalk.Copy(g, c, GraphWalk.MirrorInputs(g, c));
        c.SetOutputs(map[g.Outputs[output]]);
        return c;
    }
}
