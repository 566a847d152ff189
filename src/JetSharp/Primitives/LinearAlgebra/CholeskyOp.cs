using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Primitives.LinearAlgebra;

/// <summary>
/// Lower Cholesky factor L of the symmetric part S = ½(A + Aᵀ) of each square matrix A [..., n, n]:
/// L·Lᵀ = S, diag(L) &gt; 0. Factoring the symmetric part (as JAX does) makes the function and its
/// derivatives defined for every square input, and the derivative with respect to a symmetric A is the
/// usual one. A matrix whose symmetric part is not positive definite raises
/// <see cref="SingularMatrixException"/> at run time.
/// <para><b>Taylor rule</b> (derivative convention, any order): differentiating L·Lᵀ = S k times gives
/// L₀·L_kᵀ + L_k·L₀ᵀ = E_k with E_k = S_k − Σ_{0&lt;j&lt;k} C(k,j)·L_j·L_{k−j}ᵀ (symmetric). Since L₀⁻¹L_k is
/// lower triangular, L₀⁻¹·E_k·L₀⁻ᵀ = X + Xᵀ with X = L₀⁻¹L_k, and Φ (strict lower triangle plus half the
/// diagonal) recovers X: L_k = L₀·Φ(L₀⁻¹·E_k·L₀⁻ᵀ). Order 1 is the JVP dL = L·Φ(L⁻¹·dS·L⁻ᵀ).</para>
/// <para><b>VJP</b>: ⟨L̄, L·Φ(L⁻¹·dS·L⁻ᵀ)⟩ = ⟨L⁻ᵀ·Φ(Lᵀ·L̄)·L⁻¹, dS⟩ (Φ is a self-adjoint mask), and dS is
/// the symmetric part of dA, so Ā = sym(L⁻ᵀ·Φ(Lᵀ·L̄)·L⁻¹).</para>
/// </summary>
public sealed class CholeskyOp : Primitive
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly CholeskyOp Instance = new();
    /// <inheritdoc/>
    public override string Name => "cholesky";

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        if (s.Rank < 2) throw new ShapeException($"cholesky: expected a square matrix or a batch of them (rank ≥ 2), got {s}.");
        if (s[^1] != s[^2]) throw new ShapeException($"cholesky: the matrix must be square, got {s} ({s[^2]}×{s[^1]}).");
        return s;
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        int n = output.Shape[^1];
        for (int b = 0; b < DenseKernels.BatchCount(output.Shape); b++)
        {
            int pivot = DenseKernels.Cholesky<T>(inputs[0].Data.AsSpan(b * n * n, n * n), n, output.Data.AsSpan(b * n * n, n * n));
            if (pivot >= 0)
                throw new SingularMatrixException(
                    $"cholesky: matrix {b} of the batch {inputs[0].Shape} is not positive definite (pivot {pivot} is not positive).");
        }
    }

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        var l = node;
        var p = Linalg.Phi(Fn.MatMul(l, ct, transposeA: true));
        var x = Linalg.SolveTriangularRight(Linalg.SolveTriangular(l, p, lower: true, transpose: true), l, lower: true);
        return [(x + Linalg.MatrixTranspose(x)) * 0.5];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        var s = new Node?[a.Order + 1];
        for (int k = 1; k <= a.Order; k++)
            if (a.X(0, k) is { } ak) s[k] = (ak + Linalg.MatrixTranspose(ak)) * 0.5;
        return Series(a.Output0, s, a.Order);
    }

    /// <summary>
    /// The Cholesky Taylor recursion: given L₀ and the coefficients S_1..S_K of a symmetric matrix path
    /// (null = zero), returns L_1..L_K with L(t)·L(t)ᵀ = S(t). Entries of <paramref name="preset"/> that are
    /// set are used as they are (tria supplies its own, rank-robust, first coefficient).
    /// </summary>
    internal static Node?[] Series(Node l0, Node?[] s, int order, Node?[]? preset = null)
    {
        var l = new Node?[order + 1];
        for (int k = 1; k <= order; k++)
        {
            if (preset is not null && k < preset.Length && preset[k] is { } given) { l[k] = given; continue; }
            var terms = new List<Node?> { s[k] };
            for (int j = 1; j < k; j++)
                if (l[j] is { } lj && l[k - j] is { } lkj)
                    terms.Add(TaylorMath.Scale(-TaylorMath.Binomial(k, j), Fn.MatMul(lj, lkj, transposeB: true)));
            if (TaylorMath.Sum(terms) is not { } e) continue;
            var z = Linalg.SolveTriangularRight(Linalg.SolveTriangular(l0, e, lower: true), l0, lower: true, transpose: true);
            l[k] = Fn.MatMul(l0, Linalg.Phi(z));
        }
        return l;
    }
}
