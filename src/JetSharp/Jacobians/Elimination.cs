using System.Numerics.Tensors;

namespace JetSharp.Jacobians;

/// <summary>
/// One vertex elimination: <see cref="Predecessors"/> × <see cref="Successors"/> products of edge labels
/// (the cost), of which <see cref="FillIn"/> created a new edge and the rest were added into an existing one.
/// </summary>
public readonly record struct EliminationStep(int Vertex, int Predecessors, int Successors, int FillIn)
{
    /// <summary>The step's cost in the plain model: one multiplication per predecessor × successor pair.</summary>
    public int Multiplications => Predecessors * Successors;
}

/// <summary>The log of an elimination and, when the graph had labels, the Jacobian it accumulated.</summary>
public sealed class EliminationResult
{
    internal EliminationResult(LinearizedGraph graph, EliminationStep[] steps, Dictionary<int, double[]?>[] finalSuccessors)
    {
        Graph = graph;
        Steps = steps;
        Multiplications = steps.Sum(s => (long)s.Multiplications);
        _final = finalSuccessors;
    }

    private readonly Dictionary<int, double[]?>[] _final;

    public LinearizedGraph Graph { get; }

    /// <summary>The steps in the order they were taken.</summary>
    public IReadOnlyList<EliminationStep> Steps { get; }

    /// <summary>Σ of the step costs: multiplications of edge labels, per point.</summary>
    public long Multiplications { get; }

    /// <summary>
    /// The Jacobian, [N, m, n]: after every intermediate is gone, the label of edge x_i → y_j is ∂y_j/∂x_i
    /// (the sum over all paths of the products of their labels); a missing edge is a zero.
    /// </summary>
    public Tensor<double> Jacobian()
    {
        if (!Graph.HasLabels)
            throw new InvalidOperationException("elimination: the graph carries structure only, so there is no Jacobian to read; evaluate the labels at points first.");
        int n = Graph.Independents, m = Graph.Dependents, first = n + Graph.Intermediates, points = Graph.PointCount;
        var j = new Tensor<double>(new Shape(points, m, n));
        for (int i = 0; i < n; i++)
            foreach (var (to, label) in _final[i])
            {
                int row = to - first;
                for (int k = 0; k < points; k++) j.Data[(k * m + row) * n + i] = label![k];
            }
        return j;
    }
}

/// <summary>
/// Vertex elimination on a linearized graph (Griewank &amp; Walther, ch. 9–10). Eliminating an intermediate
/// vertex j connects every predecessor i to every successor k with the label c_ki += c_kj · c_ji (a new edge
/// when there was none: "fill-in"), then removes j. Eliminating all intermediates, in any order, leaves a
/// bipartite graph whose labels are the Jacobian entries.
/// <para><b>Cost model</b> (the literature's plain count): a step costs |pred(j)| · |succ(j)| multiplications,
/// one per pair, counted per point (with labels over N points each counts N scalar products). Additions are
/// not counted, and neither is whether a label happens to be ±1: a unit edge costs the same as any other.
/// Dependents are never eliminated.</para>
/// </summary>
public static class Elimination
{
    /// <summary>
    /// Eliminates the intermediates in <paramref name="order"/> (every intermediate exactly once), on the
    /// labels when the graph has them and on the structure alone otherwise, logging every step.
    /// The graph is not modified (labels are copied before any arithmetic).
    /// </summary>
    public static EliminationResult Run(LinearizedGraph graph, IReadOnlyList<int> order)
    {
        EliminationOrder.Validate(graph, order, "elimination");
        int v = graph.VertexCount, points = graph.PointCount;
        var pred = new Dictionary<int, double[]?>[v];
        var succ = new Dictionary<int, double[]?>[v];
        for (int i = 0; i < v; i++) { pred[i] = []; succ[i] = []; }
        for (int e = 0; e < graph.Edges.Count; e++)
        {
            var (from, to) = graph.Edges[e];
            var label = graph.HasLabels ? (double[])graph.Label(e).Clone() : null;
            succ[from][to] = label;
            pred[to][from] = label;
        }

        var steps = new EliminationStep[order.Count];
        for (int s = 0; s < order.Count; s++)
        {
            int j = order[s];
            int fill = 0;
            foreach (var (i, cji) in pred[j])
            {
                var succI = succ[i];
                foreach (var (k, ckj) in succ[j])
                {
                    if (succI.TryGetValue(k, out var cki))
                    {
                        if (cki is not null) TensorPrimitives.MultiplyAdd<double>(ckj, cji, cki, cki);
                    }
                    else
                    {
                        double[]? product = null;
                        if (ckj is not null)
                        {
                            product = new double[points];
                            TensorPrimitives.Multiply<double>(ckj, cji, product);
                        }
                        succI[k] = product;
                        pred[k][i] = product;
                        fill++;
                    }
                }
                succI.Remove(j);
            }
            foreach (var k in succ[j].Keys) pred[k].Remove(j);
            steps[s] = new EliminationStep(j, pred[j].Count, succ[j].Count, fill);
            pred[j].Clear();
            succ[j].Clear();
        }
        return new EliminationResult(graph, steps, succ);
    }

    /// <summary>The multiplication count of <paramref name="order"/> (structure only; fast, no log).</summary>
    public static long Count(LinearizedGraph graph, IReadOnlyList<int> order)
    {
        EliminationOrder.Validate(graph, order, "elimination count");
        var state = new BitElimination(graph);
        long total = 0;
        foreach (var j in order) total += state.Eliminate(j);
        return total;
    }
}

/// <summary>
/// The structure of a linearized graph under elimination, as predecessor and successor bit sets: the
/// counting engine of the heuristics and the optimizer, which evaluate millions of orders. A step costs
/// O((|pred| + |succ|) · V/64) word operations.
/// </summary>
internal sealed class BitElimination
{
    private readonly ulong[] _pred0, _succ0;
    private readonly ulong[] _pred, _succ;

    public BitElimination(LinearizedGraph graph)
    {
        VertexCount = graph.VertexCount;
        Words = (VertexCount + 63) / 64;
        _pred0 = new ulong[VertexCount * Words];
        _succ0 = new ulong[VertexCount * Words];
        foreach (var (from, to) in graph.Edges)
        {
            _succ0[from * Words + (to >> 6)] |= 1UL << (to & 63);
            _pred0[to * Words + (from >> 6)] |= 1UL << (from & 63);
        }
        _pred = (ulong[])_pred0.Clone();
        _succ = (ulong[])_succ0.Clone();
    }

    public int VertexCount { get; }
    public int Words { get; }

    /// <summary>Back to the original graph.</summary>
    public void Reset()
    {
        _pred0.AsSpan().CopyTo(_pred);
        _succ0.AsSpan().CopyTo(_succ);
    }

    public void CopyFrom(BitElimination other)
    {
        other._pred.AsSpan().CopyTo(_pred);
        other._succ.AsSpan().CopyTo(_succ);
    }

    public int PredecessorCount(int j) => PopCount(_pred.AsSpan(j * Words, Words));
    public int SuccessorCount(int j) => PopCount(_succ.AsSpan(j * Words, Words));

    /// <summary>The Markowitz degree |pred(j)| · |succ(j)|: what eliminating j now would cost.</summary>
    public int Markowitz(int j) => PredecessorCount(j) * SuccessorCount(j);

    /// <summary>Eliminates j and returns its cost.</summary>
    public int Eliminate(int j)
    {
        int w = Words, bj = j * w;
        var pj = _pred.AsSpan(bj, w);
        var sj = _succ.AsSpan(bj, w);
        int np = 0, ns = 0;
        ulong clearWord = ~(1UL << (j & 63));
        int jWord = j >> 6;
        for (int a = 0; a < w; a++)
        {
            ulong bits = pj[a];
            while (bits != 0)
            {
                int i = (a << 6) | BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                np++;
                var si = _succ.AsSpan(i * w, w);
                for (int b = 0; b < w; b++) si[b] |= sj[b];
                si[jWord] &= clearWord;
            }
        }
        for (int a = 0; a < w; a++)
        {
            ulong bits = sj[a];
            while (bits != 0)
            {
                int k = (a << 6) | BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                ns++;
                var pk = _pred.AsSpan(k * w, w);
                for (int b = 0; b < w; b++) pk[b] |= pj[b];
                pk[jWord] &= clearWord;
            }
        }
        pj.Clear();
        sj.Clear();
        return np * ns;
    }

    /// <summary>
    /// Total cost of eliminating <paramref name="order"/> from the original graph, or −1 as soon as the
    /// running total exceeds <paramref name="limit"/> (costs only grow, so the rest cannot bring it back).
    /// </summary>
    public long Count(ReadOnlySpan<int> order, long limit = long.MaxValue)
    {
        Reset();
        long total = 0;
        foreach (var j in order)
        {
            total += Eliminate(j);
            if (total > limit) return -1;
        }
        return total;
    }

    private static int PopCount(ReadOnlySpan<ulong> words)
    {
        int c = 0;
        foreach (var x in words) c += BitOperations.PopCount(x);
        return c;
    }
}
