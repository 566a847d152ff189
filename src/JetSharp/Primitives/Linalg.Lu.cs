using JetSharp.Ir;
using JetSharp.Primitives.LinearAlgebra;
using JetSharp.Tensors;

namespace JetSharp.Primitives;

// General (LU-based) linear algebra and small matrix helpers: solve, inverse, determinants, trace, diag.
public static partial class Linalg
{
    /// <summary>X = A⁻¹·B for square A [..., n, n] and B [..., n, k] (a vector B [n] gives a vector); batch axes broadcast. LU with partial pivoting.</summary>
    public static Node Solve(Node a, Node b)
    {
        if (b.Rank == 1) return Fn.Reshape(Solve(a, Fn.ExpandDims(b, -1)), [.. a.Shape.ToArray()[..^2], b.Shape[0]]);
        return Fn.Apply(SolveOp.Instance, a, b);
    }

    /// <summary>A⁻¹ for square A [..., n, n] (a solve against the identity).</summary>
    public static Node Inverse(Node a)
    {
        if (a.Rank < 2 || a.Shape[^1] != a.Shape[^2]) throw new ShapeException($"inverse: expected square matrices [..., n, n], got {a.Shape}.");
        return Solve(a, Eye(a.Graph, a.Shape[^1]));
    }

    /// <summary>det A of square matrices [..., n, n] → [...], by LU.</summary>
    public static Node Det(Node a) => a.Graph.Apply(new DeterminantOp(DeterminantPart.Det), a);

    /// <summary>(sign det A, ln |det A|) of square matrices, by LU: the log-magnitude neither overflows nor underflows.</summary>
    public static (Node Sign, Node LogAbsDet) Slogdet(Node a) =>
        (a.Graph.Apply(new DeterminantOp(DeterminantPart.Sign), a), LogAbsDet(a));

    /// <summary>ln |det A| of square matrices [..., n, n] → [...].</summary>
    public static Node LogAbsDet(Node a) => a.Graph.Apply(new DeterminantOp(DeterminantPart.LogAbs), a);

    /// <summary>The trace Σ_i A_ii of square matrices [..., n, n] → [...] (a product with the identity and a sum).</summary>
    public static Node Trace(Node a)
    {
        if (a.Rank < 2 || a.Shape[^1] != a.Shape[^2]) throw new ShapeException($"trace: expected square matrices [..., n, n], got {a.Shape}.");
        return Fn.Sum(a * Eye(a.Graph, a.Shape[^1]), [-2, -1]);
    }

    /// <summary>The diagonal matrices [..., n, n] with the vectors v [..., n] on their diagonals.</summary>
    public static Node Diag(Node v)
    {
        if (v.Rank < 1) throw new ShapeException($"diag: expected vectors [..., n], got {v.Shape}.");
        return Fn.ExpandDims(v, -1) * Eye(v.Graph, v.Shape[^1]);
    }
}
