using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Primitives.LinearAlgebra;

/// <summary>
/// Triangular solve X = op(T)⁻¹·B, where T = tri(A) is the <see cref="Lower"/> (or upper) triangle of
/// A [..., n, n] including the diagonal (the other triangle is never read, so it gets no derivative) and
/// op(T) = Tᵀ when <see cref="Transpose"/>. B is [..., n, k]; batch axes broadcast NumPy-style, which is
/// also what lets the rules solve direction-carrying coefficients against a direction-free T₀. A zero
/// pivot gives IEEE infinities, not an exception (as LAPACK's trsm).
/// <para>Rules, from op(T)·X = B: JVP dX = op(T)⁻¹(dB − op(tri dA)·X); Taylor (any order)
/// X_k = op(T₀)⁻¹(B_k − Σ_{j=1..k} C(k,j)·op(tri A_j)·X_{k−j}), the matrix analogue of the division
/// recurrence; VJP B̄ = op(T)⁻ᵀ·X̄ and Ā = −tri(B̄·Xᵀ) (or −tri(X·B̄ᵀ) when transposed).</para>
/// </summary>
public sealed class TriangularSolveOp(bool lower, bool transpose) : Primitive
{
    /// <summary>True to use the lower triangle of A, false for the upper one.</summary>
    public bool Lower { get; } = lower;
    /// <summary>True to solve with Tᵀ instead of T.</summary>
    public bool Transpose { get; } = transpose;
    /// <inheritdoc/>
    public override string Name => "trisolve";
    /// <inheritdoc/>
    public override string Attributes => (Lower ? "lower" : "upper") + (Transpose ? ",Tᵀ" : "");

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 2, Name);
        Shape a = inputs[0].Shape, b = inputs[1].Shape;
        if (a.Rank < 2 || b.Rank < 2)
            throw new ShapeException($"trisolve: the matrix and the right-hand side need rank ≥ 2, got {a} and {b}.");
        if (a[^1] != a[^2]) throw new ShapeException($"trisolve: the triangular matrix must be square, got {a}.");
        if (b[^2] != a[^1])
            throw new ShapeException($"trisolve: the right-hand side {b} has {b[^2]} rows; the matrix {a} needs {a[^1]}.");
        var batch = Shape.Broadcast(new Shape(a.ToArray()[..^2]), new Shape(b.ToArray()[..^2]), "trisolve (batch axes)");
        return new Shape([.. batch, b[^2], b[^1]]);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        NDArray<T> t = inputs[0], b = inputs[1];
        int n = output.Shape[^2], k = output.Shape[^1];
        var ta = DenseKernels.BroadcastBatchIndex(t.Shape, output.Shape);
        var tb = DenseKernels.BroadcastBatchIndex(b.Shape, output.Shape);
        for (int i = 0; i < ta.Length; i++)
            DenseKernels.SolveTriangular<T>(t.Data.AsSpan(ta[i] * n * n, n * n), b.Data.AsSpan(tb[i] * n * k, n * k), n, k,
                Lower, Transpose, output.Data.AsSpan(i * n * k, n * k));
    }

    private Node Tri(Node x) => Lower ? Linalg.Tril(x) : Linalg.Triu(x);

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        Node a = node.Inputs[0], b = node.Inputs[1], x = node;
        var bBar = Linalg.SolveTriangular(a, ct, Lower, !Transpose);
        var aBar = -Tri(Transpose ? Fn.MatMul(x, bBar, transposeB: true) : Fn.MatMul(bBar, x, transposeB: true));
        return [Fn.SumToShape(aBar, a.Shape), Fn.SumToShape(bBar, b.Shape)];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        int rank = a.Output0.Rank;
        var y = new Node?[a.Order + 1];
        for (int k = 1; k <= a.Order; k++)
        {
            var terms = new List<Node?> { a.Lifted(1, k, rank) };
            for (int j = 1; j <= k; j++)
            {
                var xkj = k - j == 0 ? a.Output0 : y[k - j];
                if (a.Lifted(0, j, rank) is { } tj && xkj is not null)
                    terms.Add(TaylorMath.Scale(-TaylorMath.Binomial(k, j), Fn.MatMul(Tri(tj), xkj, transposeA: Transpose)));
            }
            if (TaylorMath.Sum(terms) is { } rhs) y[k] = Linalg.SolveTriangular(a.Primals[0], rhs, Lower, Transpose);
        }
        return y;
    }
}
