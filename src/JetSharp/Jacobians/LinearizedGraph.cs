namespace JetSharp.Jacobians;

/// <summary>The role of a vertex of a <see cref="LinearizedGraph"/>.</summary>
public enum VertexKind
{
    /// <summary>An input x_i of the function (no predecessors).</summary>
    Independent,

    /// <summary>An intermediate value: what vertex elimination removes.</summary>
    Intermediate,

    /// <summary>An output y_j of the function (no successors; never eliminated).</summary>
    Dependent,
}

/// <summary>An edge u → v of a linearized graph; its label is the local partial ∂v/∂u.</summary>
public readonly record struct Edge(int From, int To)
{
    /// <summary>The edge as <c>From→To</c>, e.g. <c>2→5</c>.</summary>
    public override string ToString() => $"{From}→{To}";
}

/// <summary>
/// The linearized computational graph of a function ℝⁿ → ℝᵐ (Griewank &amp; Walther, ch. 9): a DAG whose
/// vertices are scalar values and whose edge u → v carries the local partial derivative ∂v/∂u, here
/// evaluated at N points at once (each label is a vector of length N, one entry per point).
/// <para>Vertices are numbered the way the literature numbers them, which is also a topological order:
/// the n independents are 0..n−1, the p intermediates n..n+p−1 (in the order they were computed), the
/// m dependents n+p..n+p+m−1 (output j is vertex n+p+j). Every edge goes from a lower to a higher
/// index, independents have no predecessors and dependents no successors.</para>
/// <para>A graph may carry structure only (<see cref="HasLabels"/> false): that is all the cost model and
/// the order optimizer need. Labels are required to compute a Jacobian.</para>
/// </summary>
public sealed class LinearizedGraph
{
    private readonly Edge[] _edges;
    private readonly double[]?[] _labels;
    private readonly int[][] _predecessors;
    private readonly int[][] _successors;
    private readonly string[] _names;

    private LinearizedGraph(int independents, int intermediates, int dependents, Edge[] edges, double[]?[] labels, int points, string[] names)
    {
        Independents = independents;
        Intermediates = intermediates;
        Dependents = dependents;
        _edges = edges;
        _labels = labels;
        PointCount = points;
        _names = names;
        var preds = Enumerable.Range(0, VertexCount).Select(_ => new List<int>()).ToArray();
        var succs = Enumerable.Range(0, VertexCount).Select(_ => new List<int>()).ToArray();
        foreach (var e in edges)
        {
            succs[e.From].Add(e.To);
            preds[e.To].Add(e.From);
        }
        _predecessors = [.. preds.Select(l => l.ToArray())];
        _successors = [.. succs.Select(l => l.ToArray())];
    }

    /// <summary>n, the number of inputs.</summary>
    public int Independents { get; }

    /// <summary>p, the number of intermediate vertices (the ones an elimination order lists).</summary>
    public int Intermediates { get; }

    /// <summary>m, the number of outputs.</summary>
    public int Dependents { get; }

    /// <summary>n + p + m, the number of vertices.</summary>
    public int VertexCount => Independents + Intermediates + Dependents;

    /// <summary>Number of points the labels were evaluated at (0 for a structure-only graph).</summary>
    public int PointCount { get; }

    /// <summary>True when the edges carry labels (<see cref="PointCount"/> &gt; 0), so a Jacobian can be computed.</summary>
    public bool HasLabels => PointCount > 0;

    /// <summary>The edges; an edge's index here is its label's index in <see cref="Label"/>.</summary>
    public IReadOnlyList<Edge> Edges => _edges;

    /// <summary>The vertex indices n..n+p−1, in topological order.</summary>
    public IEnumerable<int> IntermediateVertices => Enumerable.Range(Independents, Intermediates);

    /// <summary>Whether <paramref name="vertex"/> is an independent, an intermediate or a dependent.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="vertex"/> is not a vertex of the graph.</exception>
    public VertexKind Kind(int vertex)
    {
        CheckVertex(vertex, "Kind");
        return vertex < Independents ? VertexKind.Independent
            : vertex < Independents + Intermediates ? VertexKind.Intermediate
            : VertexKind.Dependent;
    }

    /// <summary>True when <paramref name="vertex"/> is in n..n+p−1 (false for any other index, including out-of-range ones).</summary>
    public bool IsIntermediate(int vertex) => vertex >= Independents && vertex < Independents + Intermediates;

    /// <summary>The vertices u with an edge u → <paramref name="vertex"/>, in edge order.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="vertex"/> is not a vertex of the graph.</exception>
    public IReadOnlyList<int> Predecessors(int vertex) { CheckVertex(vertex, "Predecessors"); return _predecessors[vertex]; }

    /// <summary>The vertices v with an edge <paramref name="vertex"/> → v, in edge order.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="vertex"/> is not a vertex of the graph.</exception>
    public IReadOnlyList<int> Successors(int vertex) { CheckVertex(vertex, "Successors"); return _successors[vertex]; }

    /// <summary>A human-readable name: for a traced function the node it came from (e.g. "%12 mul").</summary>
    public string Name(int vertex) { CheckVertex(vertex, "Name"); return _names[vertex]; }

    /// <summary>The label of edge <paramref name="edge"/> (index into <see cref="Edges"/>): ∂To/∂From at each point. Shared; do not modify.</summary>
    public double[] Label(int edge)
    {
        if ((uint)edge >= (uint)_edges.Length)
            throw new ArgumentOutOfRangeException(nameof(edge), $"LinearizedGraph.Label: edge {edge} is out of range (the graph has {_edges.Length} edges).");
        return _labels[edge] ?? throw new InvalidOperationException("LinearizedGraph.Label: this graph carries structure only (no edge labels); evaluate it at points first.");
    }

    /// <summary>
    /// Builds a graph from its edge list. <paramref name="labels"/>, when given, holds one vector per edge
    /// (all of the same length N ≥ 1, the number of points); without it the graph is structure only.
    /// <paramref name="points"/> states N explicitly (needed when there are no edges, checked otherwise).
    /// Throws on anything that breaks the numbering convention, before building anything.
    /// </summary>
    public static LinearizedGraph Create(int independents, int intermediates, int dependents, IEnumerable<Edge> edges,
        IReadOnlyList<double[]>? labels = null, IReadOnlyList<string>? names = null, int? points = null)
    {
        const string op = "LinearizedGraph.Create";
        ArgumentNullException.ThrowIfNull(edges);
        if (independents < 1 || intermediates < 0 || dependents < 1)
            throw new ArgumentException($"{op}: need n ≥ 1 independents, p ≥ 0 intermediates and m ≥ 1 dependents; got n = {independents}, p = {intermediates}, m = {dependents}.");
        var list = edges.ToArray();
        int v = independents + intermediates + dependents;
        var seen = new HashSet<Edge>();
        foreach (var e in list)
        {
            if (e.From < 0 || e.To >= v || e.From >= e.To)
                throw new ArgumentException($"{op}: edge {e} is not of the form u → v with 0 ≤ u < v < {v} (vertices are numbered in topological order).");
            if (e.From >= independents + intermediates)
                throw new ArgumentException($"{op}: edge {e} leaves dependent vertex {e.From}; dependents (vertices {independents + intermediates}..{v - 1}) have no successors.");
            if (e.To < independents)
                throw new ArgumentException($"{op}: edge {e} enters independent vertex {e.To}; independents (vertices 0..{independents - 1}) have no predecessors.");
            if (!seen.Add(e))
                throw new ArgumentException($"{op}: edge {e} appears twice (add the partials of parallel edges into one label).");
        }
        int pointCount = 0;
        if (labels is not null)
        {
            if (labels.Count != list.Length)
                throw new ArgumentException($"{op}: {labels.Count} labels for {list.Length} edges.");
            for (int i = 0; i < labels.Count; i++)
                if (labels[i] is null) throw new ArgumentNullException(nameof(labels), $"{op}: the label of edge {i} is null.");
            if (list.Length == 0 && points is null)
                throw new ArgumentException($"{op}: a labelled graph without edges needs the number of points stated.");
            pointCount = points ?? labels[0].Length;
            if (pointCount < 1) throw new ArgumentException($"{op}: labels must have at least one point, got {pointCount}.");
            for (int i = 0; i < list.Length; i++)
                if (labels[i].Length != pointCount)
                    throw new ArgumentException($"{op}: the label of edge {list[i]} has {labels[i].Length} points; expected {pointCount}.");
        }
        else if (points is not null)
            throw new ArgumentException($"{op}: {points} points stated but no labels given.");
        if (names is not null && names.Count != v)
            throw new ArgumentException($"{op}: {names.Count} vertex names for {v} vertices.");
        var nameArray = names?.ToArray() ?? [.. Enumerable.Range(0, v).Select(i => DefaultName(i, independents, intermediates))];
        return new LinearizedGraph(independents, intermediates, dependents, list,
            labels is null ? new double[]?[list.Length] : [.. labels], pointCount, nameArray);
    }

    /// <summary>The same structure without labels.</summary>
    public LinearizedGraph StructureOnly() =>
        new(Independents, Intermediates, Dependents, _edges, new double[]?[_edges.Length], 0, _names);

    /// <summary>The same structure with new labels (one vector of <paramref name="points"/> values per edge, in <see cref="Edges"/> order).</summary>
    public LinearizedGraph WithLabels(IReadOnlyList<double[]> labels, int points) =>
        Create(Independents, Intermediates, Dependents, _edges, labels, _names, points);

    /// <summary>A one-line summary: n, p, m, the edge count and whether labels are present.</summary>
    public override string ToString() =>
        $"linearized graph: n = {Independents}, p = {Intermediates}, m = {Dependents}, {_edges.Length} edges" +
        (HasLabels ? $", labels at {PointCount} point(s)" : ", structure only");

    private static string DefaultName(int i, int n, int p) => i < n ? $"x{i}" : i < n + p ? $"v{i}" : $"y{i - n - p}";

    private void CheckVertex(int vertex, string what)
    {
        if ((uint)vertex >= (uint)VertexCount)
            throw new ArgumentOutOfRangeException(nameof(vertex), $"LinearizedGraph.{what}: vertex {vertex} is out of range (the graph has {VertexCount} vertices).");
    }
}
