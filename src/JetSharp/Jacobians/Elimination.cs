using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using JetSharp.Tensors;

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
    internal EliminationResult(LinearizedGraph graph, EliminationProgram program)
    {
        Graph = graph;
        Program = program;
    }

    /// <summary>The graph that was eliminated (unchanged).</summary>
    public LinearizedGraph Graph { get; }

    /// <summary>The compiled elimination (reusable for labels at other points).</summary>
    public EliminationProgram Program { get; }

    /// <summary>The steps in the order they were taken.</summary>
    public IReadOnlyList<EliminationStep> Steps => Program.Steps;

    /// <summary>Σ of the step costs: multiplications of edge labels, per point.</summary>
    public long Multiplications => Program.Multiplications;

    /// <summary>The Jacobian [N, m, n] (see <see cref="EliminationProgram.Run"/>).</summary>
    public NDArray<double> Jacobian() => Program.Run(Graph);
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
    /// Eliminates the intermediates in <paramref name="order"/> (every intermediate exactly once), logging
    /// every step; when the graph has labels, <see cref="EliminationResult.Jacobian"/> gives the result.
    /// The graph is not modified.
    /// </summary>
    public static EliminationResult Run(LinearizedGraph graph, IReadOnlyList<int> order) =>
        new(graph ?? throw new ArgumentNullException(nameof(graph)), EliminationProgram.Compile(graph, order));

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
/// An elimination order compiled against a graph's structure into straight-line code: one instruction per
/// predecessor × successor pair, c ← a·b (fill-in) or c ← a·b + c. Running it on labels evaluated at N
/// points executes the elimination for all of them, so the work is exactly <see cref="Multiplications"/>
/// vector products. The original labels are read in place and never copied: the first accumulation into an
/// original edge writes a·b + c into a buffer slot, which from then on holds that edge. Slots of removed edges
/// are reused by later ones, and points are processed in blocks small enough for a block's slots to stay in cache.
/// </summary>
public sealed class EliminationProgram
{
    private const int Block = 256;

    private readonly Edge[] _edges;
    private readonly Instruction[] _code;
    private readonly (int Location, int Row, int Column)[] _jacobian;

    /// <summary>
    /// Target ← A·B (+ Addend when Addend ≥ 0). A location below the edge count E is an original label
    /// (read-only); location E + s is buffer slot s.
    /// </summary>
    private readonly record struct Instruction(int Target, int A, int B, int Addend);

    private EliminationProgram(LinearizedGraph structure, int[] order, EliminationStep[] steps, Instruction[] code,
        (int, int, int)[] jacobian, int slots)
    {
        Structure = structure;
        Order = order;
        Steps = steps;
        Multiplications = steps.Sum(s => (long)s.Multiplications);
        _edges = [.. structure.Edges];
        _code = code;
        _jacobian = jacobian;
        SlotCount = slots;
    }

    /// <summary>The graph structure the program was compiled against; labels it runs on must have this structure.</summary>
    public LinearizedGraph Structure { get; }
    /// <summary>The intermediate vertices in the order they are eliminated.</summary>
    public IReadOnlyList<int> Order { get; }
    /// <summary>One step per vertex of <see cref="Order"/>, with its cost and fill-in.</summary>
    public IReadOnlyList<EliminationStep> Steps { get; }

    /// <summary>Σ of the step costs; also the number of instructions.</summary>
    public long Multiplications { get; }

    /// <summary>Buffer slots (vectors of a block of points) the program needs at once.</summary>
    public int SlotCount { get; }

    /// <summary>Simulates the elimination on the structure of <paramref name="graph"/>, recording the instructions and the step log.</summary>
    public static EliminationProgram Compile(LinearizedGraph graph, IReadOnlyList<int> order)
    {
        EliminationOrder.Validate(graph, order, "elimination");
        int v = graph.VertexCount, edges = graph.Edges.Count;
        // pred[k][i] / succ[i][k]: where the label of edge i → k currently lives.
        var pred = new Dictionary<int, int>[v];
        var succ = new Dictionary<int, int>[v];
        for (int i = 0; i < v; i++) { pred[i] = []; succ[i] = []; }
        for (int e = 0; e < edges; e++)
        {
            var (from, to) = graph.Edges[e];
            succ[from][to] = e;
            pred[to][from] = e;
        }
        int slots = 0;
        var free = new Stack<int>();
        int NewSlot() => edges + (free.Count > 0 ? free.Pop() : slots++);
        var code = new List<Instruction>();
        var steps = new EliminationStep[order.Count];
        for (int s = 0; s < order.Count; s++)
        {
            int j = order[s], fill = 0;
            foreach (var (i, ji) in pred[j])
            {
                var succI = succ[i];
                foreach (var (k, kj) in succ[j])
                {
                    int target;
                    if (succI.TryGetValue(k, out int ki))
                    {
                        target = ki >= edges ? ki : NewSlot(); // an original label is read-only: accumulate into a copy
                        code.Add(new Instruction(target, kj, ji, ki));
                    }
                    else
                    {
                        target = NewSlot();
                        code.Add(new Instruction(target, kj, ji, -1));
                        fill++;
                    }
                    succI[k] = target;
                    pred[k][i] = target;
                }
                succI.Remove(j);
            }
            foreach (var k in succ[j].Keys) pred[k].Remove(j);
            steps[s] = new EliminationStep(j, pred[j].Count, succ[j].Count, fill);
            // j's edges are dead once the step is done; their buffer slots serve later edges.
            foreach (var location in pred[j].Values.Concat(succ[j].Values))
                if (location >= edges) free.Push(location - edges);
            pred[j].Clear();
            succ[j].Clear();
        }
        int first = graph.Independents + graph.Intermediates;
        var jacobian = new List<(int, int, int)>();
        for (int i = 0; i < graph.Independents; i++)
            foreach (var (k, location) in succ[i]) jacobian.Add((location, k - first, i));
        return new EliminationProgram(graph, [.. order], steps, [.. code], [.. jacobian], slots);
    }

    /// <summary>
    /// The Jacobian [N, m, n] at the N points of <paramref name="labelled"/> (a graph with this program's
    /// structure and labels): after every intermediate is gone, the label of x_i → y_j is ∂y_j/∂x_i, the sum
    /// over all paths of the products of their labels; a missing edge is a zero.
    /// </summary>
    public NDArray<double> Run(LinearizedGraph labelled)
    {
        ArgumentNullException.ThrowIfNull(labelled);
        if (!labelled.HasLabels)
            throw new InvalidOperationException("elimination: the graph carries structure only, so there is no Jacobian to compute; evaluate the labels at points first.");
        var jacobian = new NDArray<double>(new Shape(labelled.PointCount, Structure.Dependents, Structure.Independents));
        RunInto(labelled, jacobian);
        return jacobian;
    }

    /// <summary>As <see cref="Run"/>, writing into <paramref name="jacobian"/> ([N, m, n]; every entry is overwritten), e.g. to time runs without allocating.</summary>
    public void RunInto(LinearizedGraph labelled, NDArray<double> jacobian)
    {
        ArgumentNullException.ThrowIfNull(labelled);
        ArgumentNullException.ThrowIfNull(jacobian);
        if (!labelled.HasLabels)
            throw new InvalidOperationException("elimination: the graph carries structure only, so there is no Jacobian to compute; evaluate the labels at points first.");
        if (labelled.Independents != Structure.Independents || labelled.Intermediates != Structure.Intermediates
            || labelled.Dependents != Structure.Dependents || !labelled.Edges.SequenceEqual(_edges))
            throw new ArgumentException($"elimination: the labelled graph ({labelled}) does not have the structure the order was compiled for ({Structure}).");
        int n = Structure.Independents, m = Structure.Dependents, points = labelled.PointCount, edges = _edges.Length;
        if (jacobian.Shape != new Shape(points, m, n))
            throw new ShapeException($"elimination: the result has shape {jacobian.Shape}; expected [N, m, n] = [{points}, {m}, {n}].");
        var buffer = new double[Math.Max(1, SlotCount) * Block];
        var labels = Enumerable.Range(0, edges).Select(labelled.Label).ToArray();
        var targets = _jacobian.Select(t => t.Row * n + t.Column).ToArray();
        var sources = new double[_jacobian.Length][];
        var sourceOffsets = new int[_jacobian.Length];
        for (int start = 0; start < points; start += Block)
        {
            int len = Math.Min(Block, points - start);
            Span<double> At(int location) =>
                location < edges ? labels[location].AsSpan(start, len) : buffer.AsSpan((location - edges) * Block, len);
            foreach (var op in _code)
            {
                var target = At(op.Target);
                if (op.Addend >= 0) TensorPrimitives.MultiplyAdd(At(op.A), At(op.B), At(op.Addend), target);
                else TensorPrimitives.Multiply(At(op.A), At(op.B), target);
            }
            // Point-major write-out: each point's m × n block of the result is written contiguously.
            for (int q = 0; q < _jacobian.Length; q++)
            {
                var (location, _, _) = _jacobian[q];
                (sources[q], sourceOffsets[q]) = location < edges ? (labels[location], start) : (buffer, (location - edges) * Block);
            }
            for (int k = 0; k < len; k++)
            {
                var row = jacobian.Data.AsSpan((start + k) * m * n, m * n);
                if (_jacobian.Length < m * n) row.Clear(); // entries without an edge are zeros
                for (int q = 0; q < _jacobian.Length; q++) row[targets[q]] = sources[q][sourceOffsets[q] + k];
            }
        }
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
