using System.Text;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Simplify;

/// <summary>Vectors propagated through one linear layer (all matrix products with one weight matrix).</summary>
public readonly record struct LayerVectors(Node Weight, double Vectors);

/// <summary>
/// Cost inspection of a graph in the unit of METHOD.md §3: "vectors", the number of per-datum
/// slices a node holds. A node of shape [..., N, F] on a batch of N data holds Size / (N·F) vectors
/// ([N, F]: 1; [R, N, F]: R). Nodes without a data axis (weights, constants, direction-only values
/// such as a basis times a weight matrix) hold none per datum.
/// </summary>
public sealed class GraphStats
{
    private GraphStats(Graph graph, int batch)
    {
        Graph = graph;
        Batch = batch;
        var live = GraphWalk.Reachable(graph);
        NodeCount = live.Count;
        PerNode = [.. live.Where(n => n.Op is not InputOp).Select(n => (n, VectorsOf(n, batch)))];
        TotalVectors = PerNode.Sum(p => p.Vectors);
        MatMulFlops = live.Where(n => n.Op is MatMulOp).Sum(MatMulFlopsOf);
        PerLayer = [.. live.Where(n => n.Op is MatMulOp)
            .Select(n => (weight: Weight(n, batch), vectors: VectorsOf(n, batch)))
            .Where(p => p.weight is not null)
            .GroupBy(p => p.weight!)
            .Select(g => new LayerVectors(g.Key, g.Sum(p => p.vectors)))
            .OrderBy(l => l.Weight.Id)];
    }

    /// <summary>Statistics of <paramref name="graph"/> evaluated on a batch of <paramref name="batch"/> data.</summary>
    public static GraphStats Of(Graph graph, int batch) => new(graph, batch);

    /// <summary>The inspected graph.</summary>
    public Graph Graph { get; }
    /// <summary>Batch size N: the extent of the data axis (second to last).</summary>
    public int Batch { get; }
    /// <summary>Nodes reachable from the outputs (inputs included).</summary>
    public int NodeCount { get; }
    /// <summary>Sum of <see cref="PerNode"/>: the vectors held by all reachable nodes but the inputs.</summary>
    public double TotalVectors { get; }
    /// <summary>Vectors held by each reachable non-input node, in graph order.</summary>
    public IReadOnlyList<(Node Node, double Vectors)> PerNode { get; }

    /// <summary>Vectors through each weight matrix, in graph order (layer 1 first).</summary>
    public IReadOnlyList<LayerVectors> PerLayer { get; }

    /// <summary>Floating-point operations of all matrix products (2·m·n·k each): the bulk of the work of an operator on a network.</summary>
    public double MatMulFlops { get; }

    private static double MatMulFlopsOf(Node n)
    {
        var op = (MatMulOp)n.Op;
        var a = n.Inputs[0].Shape;
        double k = op.TransposeA ? a[^2] : a[^1];
        return 2.0 * n.Shape.Size * k;
    }

    /// <summary>
    /// Vectors held by <paramref name="n"/>: Size / (N·F) for a node of shape [..., N, F] with N = <paramref name="batch"/>,
    /// else 0 (no data axis).
    /// </summary>
    public static double VectorsOf(Node n, int batch) =>
        n.Rank >= 2 && n.Shape[^2] == batch && n.Shape[^1] > 0 ? n.Shape.Size / ((double)batch * n.Shape[^1]) : 0;

    /// <summary>The weight operand of a matrix product: a rank-2 constant or graph input without the data axis.</summary>
    private static Node? Weight(Node matmul, int batch) =>
        matmul.Inputs.FirstOrDefault(i => i.Rank == 2 && i.Op is ConstantOp or InputOp && i.Shape[0] != batch);

    /// <summary>A listing of every node with its vector count, then the per-layer totals.</summary>
    public string Listing()
    {
        var sb = new StringBuilder();
        foreach (var (n, v) in PerNode)
            sb.Append($"  %{n.Id,-5} {n.Op,-28} {n.Shape,-18} {(v > 0 ? $"{v:0.##} vectors" : "")}\n");
        sb.Append($"  {NodeCount} nodes, {TotalVectors:0.##} vectors in all\n");
        for (int l = 0; l < PerLayer.Count; l++)
            sb.Append($"  layer {l + 1} (weight %{PerLayer[l].Weight.Id} {PerLayer[l].Weight.Shape}): {PerLayer[l].Vectors:0.##} vectors\n");
        return sb.ToString();
    }
}
