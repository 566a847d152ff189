using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Operators;

/// <summary>
/// Checks the per-datum contract of the operators on a traced function f: [N, D] → [N, …]: row n of the
/// output may depend on row n of x only. The operators differentiate every row along its own
/// directions at once, so a function that couples rows (a sum or a matrix product over the batch axis,
/// a shift of rows, …) would get a wrong result, not an error; this analysis turns that into an error.
/// <para>
/// It follows the batch axis through the graph: x carries it on axis 0, parameters and constants carry
/// none, and each structural primitive maps it to an axis of its output (elementwise ops by
/// broadcasting alignment, sum, reshape, transpose, broadcast, slice, pad, concat, matmul) or violates the
/// contract by reducing, contracting, slicing, padding or concatenating along it, or by aligning two
/// different axes of data. Primitives it does not know (linear algebra, fixed points), and reshapes
/// that merge the batch axis with another, end the analysis for what depends on them: it never refuses
/// a function it cannot follow, so it finds coupling where it is structural, not everywhere.
/// With N = 1 there is nothing to couple and nothing is checked.
/// </para>
/// </summary>
internal static class PerDatum
{
    /// <summary>The value does not depend on x (the same for every datum).</summary>
    private const int None = -1;
    /// <summary>The value depends on x in a way the analysis does not follow.</summary>
    private const int Unknown = -2;

    /// <summary>Throws <see cref="ArgumentException"/> (parameter "f") when f's graph couples the rows of x.</summary>
    public static void Check(Graph f, string op)
    {
        var x = f.Inputs[0];
        int n = x.Shape[0];
        if (n <= 1) return;
        var axis = new Dictionary<Node, int>();
        foreach (var node in GraphWalk.Reachable(f))
        {
            if (node.InputArray.Length == 0) { axis[node] = node == x ? 0 : None; continue; }
            var ins = node.InputArray.Select(i => axis[i]).ToArray();
            if (ins.All(a => a == None)) { axis[node] = None; continue; }
            if (ins.Any(a => a == Unknown)) { axis[node] = Unknown; continue; }
            var (a, why) = Propagate(node, ins, n);
            if (why is not null) throw Violation(op, f, node, why);
            axis[node] = a;
        }
        var y = f.Outputs[0];
        if (axis[y] > 0)
            throw Violation(op, f, y, $"the output {y.Shape} holds the data along axis {axis[y]}, not axis 0");
    }

    /// <summary>The output's batch axis (or <see cref="Unknown"/>), or a reason why <paramref name="node"/> couples data.</summary>
    private static (int Axis, string? Why) Propagate(Node node, int[] ins, int n)
    {
        var inputs = node.InputArray;
        int rank = node.Rank;
        switch (node.Op)
        {
            case var p when p.IsElementwise || p is StopGradientOp:
                return Agree(ins.Select((a, i) => a < 0 ? a : a + rank - inputs[i].Rank), "combines different data elementwise (the batch axes of its operands are not aligned)");
            case SumOp s:
                return s.Axes.Contains(ins[0]) ? (0, "sums over the batch axis")
                    : (s.KeepDims ? ins[0] : ins[0] - s.Axes.Count(ax => ax < ins[0]), null);
            case ReshapeOp:
                return (Reshaped(inputs[0].Shape, ins[0], node.Shape, n), null);
            case TransposeOp t:
                return (Array.IndexOf(t.Perm, ins[0]), null);
            case BroadcastToOp:
                return (ins[0] + rank - inputs[0].Rank, null);
            case SliceOp s:
                return s.Starts[ins[0]] != 0 || s.Sizes[ins[0]] != n ? (0, "takes a slice of the batch axis (rows moved to other positions or dropped)") : (ins[0], null);
            case PadOp p:
                return p.Before[ins[0]] != 0 || p.After[ins[0]] != 0 ? (0, "pads the batch axis (rows moved to other positions)") : (ins[0], null);
            case ConcatOp c:
            {
                var (a, why) = Agree(ins, "concatenates tensors whose data lie on different axes");
                return why is null && a == c.Axis ? (0, "concatenates along the batch axis") : (a, why);
            }
            case MatMulOp m:
            {
                var mapped = new int[2];
                for (int side = 0; side < 2; side++)
                {
                    int a = ins[side], r = inputs[side].Rank;
                    bool transposed = side == 0 ? m.TransposeA : m.TransposeB;
                    // A is [.., m, k] and B is [.., k, n] after their transposes.
                    int contracted = side == 0 ? (transposed ? r - 2 : r - 1) : (transposed ? r - 1 : r - 2);
                    int kept = side == 0 ? (transposed ? r - 1 : r - 2) : (transposed ? r - 2 : r - 1);
                    if (a < 0) { mapped[side] = a; continue; }
                    if (a == contracted) return (0, "contracts over the batch axis (a matrix product across data)");
                    mapped[side] = a == kept ? rank - 2 + side : a + rank - r;
                }
                return Agree(mapped, "multiplies data of one datum with data of another (x·xᵀ-like)");
            }
            default:
                return (Unknown, null);
        }
    }

    /// <summary>The common batch axis of the operands that carry one, or a violation when they differ.</summary>
    private static (int Axis, string? Why) Agree(IEnumerable<int> axes, string why)
    {
        var carried = axes.Where(a => a >= 0).Distinct().ToArray();
        return carried.Length == 1 ? (carried[0], null) : (0, why);
    }

    /// <summary>
    /// Where a reshape puts the batch axis: a reshape keeps the row-major order, so the batch axis (extent N
    /// with <c>inner</c> elements after it) survives as the output axis with extent N and the same number of
    /// elements after it; when no such axis exists it was merged with another, and the analysis stops.
    /// </summary>
    private static int Reshaped(Shape from, int axis, Shape to, int n)
    {
        long inner = 1;
        for (int i = axis + 1; i < from.Rank; i++) inner *= from[i];
        long after = 1;
        for (int i = to.Rank - 1; i >= 0; i--)
        {
            if (after == inner && to[i] == n) return i;
            after *= to[i];
        }
        return Unknown;
    }

    private static ArgumentException Violation(string op, Graph f, Node node, string why)
    {
        var x = f.Inputs[0];
        string shapes = string.Join(", ", node.InputArray.Select(i => i.Shape.ToString()));
        string origin = node.Origin is { } o ? $" (at {o})" : "";
        return new ArgumentException(
            $"{op}: the function is not per-datum: {node.Op.Name}({shapes}) → {node.Shape}{origin} {why}, so row n of f(x) " +
            $"depends on other rows of x {x.Shape}. The operators need f: [N, D] → [N, …] with row n of the output a function of " +
            $"row n of the input only (each datum is differentiated along its own directions, all data at once); a function " +
            $"that couples rows would get a wrong result. Apply the function to one datum's row at a time, or compute what couples " +
            $"the data outside the operator and pass it in as a parameter.", "f");
    }
}
