using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Runtime;
using JetSharp.Tracing;

namespace JetSharp.Jacobians;

/// <summary>
/// A traced function together with the program that evaluates its local partial derivatives: from it,
/// <see cref="Structure"/> (the linearized graph without numbers, all an elimination order needs) and
/// <see cref="At"/> (the labels at a batch of points).
/// <para><b>Representation.</b> The function takes n nodes and returns m nodes, and is traced on
/// [N]-batched inputs: input i is the column x[:, i] of the points, shape [N], and every value that depends
/// on an input must again have shape [N] — one scalar per point. So each active graph node is one vertex,
/// and each edge label is a vector over the N points. Values that do not depend on the inputs (constants
/// and what is computed from them alone) are not vertices; they only enter the labels. We chose columns
/// over rank-0 tensors because the same trace then evaluates all points in one run of the executor.</para>
/// <para><b>Local partials.</b> They come from the primitives' own first-order Taylor rules (a JVP per
/// edge): for node v and each distinct input u that depends on x, the rule is evaluated with tangent 1 on
/// every occurrence of u and no tangent on the other inputs, which gives ∂v/∂u (for v = u·u, the rule sees
/// both occurrences and returns 2u). A rule that returns a structurally zero tangent (null) gives no edge.
/// There is no second table of derivatives.</para>
/// <para><b>Outputs.</b> A dependent has no successors and is never eliminated. An output node that is also
/// an input, repeats an earlier output, or is used by another active node therefore stays where it is and
/// the dependent becomes a copy of it, joined by an edge with label 1 (which the plain cost model counts
/// like any other edge). Outputs that do not depend on the inputs are dependents without edges (zero rows).</para>
/// </summary>
public sealed class LinearizedFunction
{
    private readonly Executable _partials;

    private LinearizedFunction(Graph primal, Graph partials, LinearizedGraph structure, int points)
    {
        Primal = primal;
        Partials = partials;
        Structure = structure;
        PointCount = points;
        _partials = Executable.Compile(partials);
    }

    /// <summary>The traced function: n inputs of shape [N], m outputs.</summary>
    public Graph Primal { get; }

    /// <summary>The graph (x_0..x_{n−1}) → (label of each edge of <see cref="Structure"/>, in edge order).</summary>
    public Graph Partials { get; }

    /// <summary>The linearized graph without labels.</summary>
    public LinearizedGraph Structure { get; }

    /// <summary>N, the number of points the function was traced for.</summary>
    public int PointCount { get; }

    /// <summary>n, the number of scalar inputs (columns of the points passed in).</summary>
    public int InputCount => Structure.Independents;
    /// <summary>m, the number of scalar outputs (rows of each point's Jacobian).</summary>
    public int OutputCount => Structure.Dependents;

    /// <summary>Traces <paramref name="f"/> on <paramref name="inputs"/> columns of <paramref name="points"/> points each.</summary>
    public static LinearizedFunction Trace(Func<Node[], Node[]> f, int inputs, int points)
    {
        ArgumentNullException.ThrowIfNull(f);
        if (inputs < 1) throw new ArgumentException($"linearize: the function needs at least one input, got {inputs}.");
        if (points < 1) throw new ArgumentException($"linearize: the number of points must be at least 1, got {points}.");
        var shapes = Enumerable.Repeat(new Shape(points), inputs).ToArray();
        return FromGraph(Tracer.Function(f, shapes, DType.Float64, [.. Enumerable.Range(0, inputs).Select(i => $"x{i}")]));
    }

    /// <summary>Linearizes a traced graph whose inputs all have shape [N] (see the class remarks).</summary>
    public static LinearizedFunction FromGraph(Graph g)
    {
        const string op = "linearize";
        ArgumentNullException.ThrowIfNull(g);
        if (g.DType != DType.Float64)
            throw new ArgumentException($"{op}: Jacobian accumulation works in float64; the graph is {g.DType.Name()}.");
        if (g.Inputs.Count == 0) throw new ArgumentException($"{op}: the function has no inputs.");
        if (g.Outputs.Count == 0) throw new ArgumentException($"{op}: the function has no outputs.");
        var first = g.Inputs[0].Shape;
        if (first.Rank != 1 || first[0] < 1)
            throw new ShapeException($"{op}: input 0 has shape {first}; inputs must be columns of shape [N] (one scalar per point).");
        int n = first[0];
        var column = new Shape(n);
        for (int i = 0; i < g.Inputs.Count; i++)
            if (g.Inputs[i].Shape != column)
                throw new ShapeException($"{op}: input {i} has shape {g.Inputs[i].Shape}; every input must be a column of shape {column} like input 0.");

        // Active = depends on an input. Only nodes some output reaches matter.
        var reachable = GraphWalk.Reachable(g);
        var active = new HashSet<Node>(g.Inputs);
        foreach (var node in reachable)
        {
            if (node.Op is InputOp || !node.InputArray.Any(active.Contains)) continue;
            if (node.Shape != column)
                throw new ShapeException($"{op}: %{node.Id} {node.Op.Name}{(node.Origin is null ? "" : $" (from {node.Origin})")} has shape {node.Shape} " +
                    $"but depends on the inputs; every such value must be one scalar per point, shape {column}. Write the function with one node per scalar " +
                    "(no sums over points, reshapes, concatenations or slices of values that depend on the inputs).");
            active.Add(node);
        }

        // Which outputs can be dependents themselves, and which need a unit-edge copy (see remarks).
        var usedByActive = new HashSet<Node>();
        foreach (var node in reachable)
            if (active.Contains(node))
                foreach (var x in node.InputArray)
                    if (active.Contains(x)) usedByActive.Add(x);
        var occurrences = g.Outputs.GroupBy(o => o).ToDictionary(gr => gr.Key, gr => gr.Count());
        var isDependent = new Dictionary<Node, int>();
        var copyOf = new Node?[g.Outputs.Count];
        for (int j = 0; j < g.Outputs.Count; j++)
        {
            var o = g.Outputs[j];
            if (!active.Contains(o)) continue;
            if (o.Op is InputOp || occurrences[o] > 1 || usedByActive.Contains(o)) copyOf[j] = o;
            else isDependent[o] = j;
        }

        // Numbering: independents, intermediates in topological order, dependents in output order.
        int nIn = g.Inputs.Count;
        var vertex = new Dictionary<Node, int>();
        var names = new List<string>();
        for (int i = 0; i < nIn; i++) { vertex[g.Inputs[i]] = i; names.Add(GraphWalk.InputName(g.Inputs[i])); }
        foreach (var node in reachable)
            if (active.Contains(node) && node.Op is not InputOp && !isDependent.ContainsKey(node))
            {
                vertex[node] = names.Count;
                names.Add($"%{node.Id} {node.Op.Name}");
            }
        int p = names.Count - nIn;
        for (int j = 0; j < g.Outputs.Count; j++)
        {
            var o = g.Outputs[j];
            names.Add(copyOf[j] is null && active.Contains(o) ? $"%{o.Id} {o.Op.Name} (y{j})" : $"y{j} = copy of {(active.Contains(o) ? $"%{o.Id}" : "a constant")}");
        }
        foreach (var (node, j) in isDependent) vertex[node] = nIn + p + j;

        // The partials program: the primal computation copied, plus one label per edge.
        var pg = new Graph(DType.Float64);
        var map = new Dictionary<Node, Node>();
        for (int i = 0; i < nIn; i++) map[g.Inputs[i]] = pg.Input(column, GraphWalk.InputName(g.Inputs[i]));
        var ones = Fn.BroadcastTo(pg.Scalar(1), column);
        var edges = new List<Edge>();
        var labels = new List<Node>();
        GraphWalk.ForEachNode(reachable, pg, node =>
        {
            var primalIns = node.InputArray.Select(x => map[x]).ToArray();
            var y0 = pg.Apply(node.Op, primalIns);
            map[node] = y0;
            if (!active.Contains(node)) return;
            foreach (var u in node.InputArray.Distinct().Where(active.Contains))
            {
                var jets = node.InputArray.Select((x, i) => new Node?[] { primalIns[i], x == u ? ones : null }).ToArray();
                var tangent = node.Op.Taylor(new JetRuleArgs(node, primalIns, jets, y0, 1, default))[1];
                if (tangent is null) continue; // structurally zero partial: no edge
                edges.Add(new Edge(vertex[u], vertex[node]));
                labels.Add(ToColumn(tangent, column, node));
            }
        });
        for (int j = 0; j < g.Outputs.Count; j++)
            if (copyOf[j] is { } o)
            {
                edges.Add(new Edge(vertex[o], nIn + p + j));
                labels.Add(ones);
            }
        pg.SetOutputs([.. labels]);
        if (labels.Count == 0) pg.SetOutputs(ones); // an executable needs an output; no edges means no labels to read

        var structure = LinearizedGraph.Create(nIn, p, g.Outputs.Count, edges, names: names);
        return new LinearizedFunction(g, pg, structure, n);
    }

    /// <summary>
    /// The linearized graph with labels evaluated at the rows of <paramref name="x"/> ([N, n], N as traced).
    /// </summary>
    public LinearizedGraph At(NDArray<double> x)
    {
        var columns = Columns(x, InputCount, PointCount, "linearize");
        if (Structure.Edges.Count == 0) return Structure.WithLabels([], PointCount);
        var outs = _partials.Run(columns);
        return Structure.WithLabels([.. outs.Select(t => t.Data)], PointCount);
    }

    /// <summary>Throws unless x has shape [N, n] = [<paramref name="points"/>, <paramref name="inputs"/>].</summary>
    internal static void CheckPoints(NDArray<double> x, int inputs, int points, string op)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 2 || x.Shape[1] != inputs || x.Shape[0] != points)
            throw new ShapeException($"{op}: points have shape {x.Shape}; expected [N, n] = [{points}, {inputs}] (N points as traced, one column per input).");
    }

    /// <summary>The n columns of points x [N, n] as tensors of shape [N] (copies).</summary>
    internal static NDArray<double>[] Columns(NDArray<double> x, int inputs, int points, string op)
    {
        CheckPoints(x, inputs, points, op);
        var cols = new NDArray<double>[inputs];
        for (int i = 0; i < inputs; i++)
        {
            var c = new double[points];
            for (int k = 0; k < points; k++) c[k] = x.Data[k * inputs + i];
            cols[i] = new NDArray<double>(new Shape(points), c);
        }
        return cols;
    }

    private static Node ToColumn(Node partial, Shape column, Node source)
    {
        if (partial.Shape == column) return partial;
        if (partial.Shape.BroadcastsTo(column)) return Fn.BroadcastTo(partial, column);
        throw new InvalidOperationException($"linearize: the Taylor rule of '{source.Op.Name}' (%{source.Id}) returned a partial of shape {partial.Shape}; expected {column}.");
    }
}
