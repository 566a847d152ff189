using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Primitives.LinearAlgebra;

/// <summary>Which factor of the QR decomposition a <see cref="QrOp"/> node returns.</summary>
public enum QrPart
{
    /// <summary>The orthonormal factor Q [..., m, k].</summary>
    Q,
    /// <summary>The upper-triangular factor R [..., k, n] with non-negative diagonal.</summary>
    R,
}

/// <summary>
/// Reduced Householder QR, A = Q·R with k = min(m, n): Q [..., m, k] has orthonormal columns, R
/// [..., k, n] is upper triangular with diag(R) ≥ 0 (the sign convention that makes the factors unique
/// for full column rank, hence differentiable).
/// <para><b>Design.</b> A graph node has one output, so QR is one primitive with a <see cref="Part"/>
/// attribute: <c>qr[Q](A)</c> and <c>qr[R](A)</c> are two nodes that each run the decomposition (cheap at
/// state-space sizes; the simplifier's CSE cannot merge them since their attributes differ, and that is
/// the price of every node holding one plain matrix, with no packing convention to decode). The VJP is
/// linear in (Q̄, R̄), so each node contributes its own term and the transform's accumulation adds them.
/// The Taylor rules of both parts run the same recursion and keep their factor.</para>
/// <para><b>Derivatives</b> need m ≥ n and R invertible (full column rank). With C = Q₀ᵀ·B_k·R₀⁻¹, where
/// B_k = A_k − Σ_{0&lt;j&lt;k} C(k,j)·Q_j·R_{k−j} and S_k = Σ_{0&lt;j&lt;k} C(k,j)·Q_jᵀ·Q_{k−j}:
/// Ω_k = Q₀ᵀQ_k = low(C) − low(C)ᵀ − Φ(S_k)ᵀ (skew up to S_k, from QᵀQ = I), R_k = (C − Ω_k)·R₀ and
/// Q_k = B_k·R₀⁻¹ − Q₀·(C − Ω_k). At order 1 (S = 0) this is the usual JVP. VJP:
/// Ā = (Q̄ + Q·H)·R⁻ᵀ with H = triu(G) + striu(G)ᵀ, G = R̄·Rᵀ − Qᵀ·Q̄. For a wide A the factorization is
/// not differentiable in this form (the trailing columns are not determined by the leading block's
/// derivative alone) and rank-deficient A makes R⁻¹ diverge: use <see cref="TriaOp"/> when only A·Aᵀ
/// matters.</para>
/// </summary>
/// <exception cref="ArgumentOutOfRangeException">The part is not a defined <see cref="QrPart"/>.</exception>
public sealed class QrOp(QrPart part) : Primitive
{
    /// <summary>The factor this node returns.</summary>
    public QrPart Part { get; } = Enum.IsDefined(part) ? part
        : throw new ArgumentOutOfRangeException(nameof(part), part, $"qr: {(int)part} is not a factor; use QrPart.Q or QrPart.R.");
    /// <inheritdoc/>
    public override string Name => "qr";
    /// <inheritdoc/>
    public override string Attributes => Part.ToString();

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        if (s.Rank < 2) throw new ShapeException($"qr: expected a matrix or a batch of matrices (rank ≥ 2), got {s}.");
        int m = s[^2], n = s[^1], k = Math.Min(m, n);
        var batch = s.ToArray()[..^2];
        return Part == QrPart.Q ? new Shape([.. batch, m, k]) : new Shape([.. batch, k, n]);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var a = inputs[0];
        int m = a.Shape[^2], n = a.Shape[^1], k = Math.Min(m, n);
        var q = new T[m * k];
        var r = new T[k * n];
        for (int b = 0; b < DenseKernels.BatchCount(a.Shape); b++)
        {
            DenseKernels.Householder<T>(a.Data.AsSpan(b * m * n, m * n), m, n, Part == QrPart.Q ? q : [], r);
            if (Part == QrPart.Q) q.CopyTo(output.Data, b * m * k);
            else r.CopyTo(output.Data, b * k * n);
        }
    }

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        var a = node.Inputs[0];
        RequireTall(node, a);
        var (q, r) = Part == QrPart.Q ? (node, Linalg.QrR(a)) : (Linalg.QrQ(a), node);
        var g = Part == QrPart.Q ? -Fn.MatMul(q, ct, transposeA: true) : Fn.MatMul(ct, r, transposeB: true);
        var h = Linalg.Triu(g) + Linalg.MatrixTranspose(Linalg.Triu(g, strict: true));
        var x = Part == QrPart.Q ? ct + Fn.MatMul(q, h) : Fn.MatMul(q, h);
        return [Linalg.SolveTriangularRight(x, r, lower: false, transpose: true)];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        RequireTall(a.Source, a.Source.Inputs[0]);
        var (q, r) = Series(a);
        return Part == QrPart.Q ? q : r;
    }

    /// <summary>Q_k and R_k for k = 1..K by the recursion in the class summary (null where zero).</summary>
    private static (Node?[] Q, Node?[] R) Series(JetRuleArgs a)
    {
        var a0 = a.Primals[0];
        var q0 = a.Source.Op is QrOp { Part: QrPart.Q } ? a.Output0 : Linalg.QrQ(a0);
        var r0 = a.Source.Op is QrOp { Part: QrPart.R } ? a.Output0 : Linalg.QrR(a0);
        var q = new Node?[a.Order + 1];
        var r = new Node?[a.Order + 1];
        for (int k = 1; k <= a.Order; k++)
        {
            var bTerms = new List<Node?> { a.X(0, k) };
            var sTerms = new List<Node?>();
            for (int j = 1; j < k; j++)
            {
                double c = TaylorMath.Binomial(k, j);
                if (q[j] is { } qj && r[k - j] is { } rkj) bTerms.Add(TaylorMath.Scale(-c, Fn.MatMul(qj, rkj)));
                if (q[j] is { } qj2 && q[k - j] is { } qkj) sTerms.Add(TaylorMath.Scale(c, Fn.MatMul(qj2, qkj, transposeA: true)));
            }
            var bk = TaylorMath.Sum(bTerms);
            var sk = TaylorMath.Sum(sTerms);
            if (bk is null && sk is null) continue;
            // W = B_k·R₀⁻¹ and C = Q₀ᵀ·W; D = C − Ω_k = triu(C) + low(C)ᵀ + Φ(S)ᵀ is R_k·R₀⁻¹ (upper triangular).
            Node? w = bk is null ? null : Linalg.SolveTriangularRight(bk, r0, lower: false);
            Node? d = null;
            if (w is not null)
            {
                var c = Fn.MatMul(q0, w, transposeA: true);
                d = Linalg.Triu(c) + Linalg.MatrixTranspose(Linalg.Tril(c, strict: true));
            }
            if (sk is not null)
            {
                var phiT = Linalg.MatrixTranspose(Linalg.Phi(sk));
                d = d is null ? phiT : d + phiT;
            }
            r[k] = Fn.MatMul(d!, r0);
            var qd = Fn.MatMul(q0, d!);
            q[k] = w is null ? -qd : w - qd;
        }
        return (q, r);
    }

    private static void RequireTall(Node node, Node a)
    {
        int m = a.Shape[^2], n = a.Shape[^1];
        if (m < n)
            throw new UndefinedDerivativeException(
                $"qr: {UndefinedDerivativeException.Describe(node)} factors a wide matrix {a.Shape} (m = {m} < n = {n}); its QR " +
                "derivative is not defined by the rule for full column rank. If only A·Aᵀ (or AᵀA) matters downstream, use Linalg.Tria, " +
                "whose Gramian derivative is defined for every shape and rank.");
    }
}
