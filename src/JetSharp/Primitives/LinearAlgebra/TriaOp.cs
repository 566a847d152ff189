using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Primitives.LinearAlgebra;

/// <summary>
/// Triangularization tria(A): for A [..., m, n] of any shape and rank, a lower-triangular R [..., m, m]
/// with R·Rᵀ = A·Aᵀ. Computed as the transposed R-factor of a Householder QR of Aᵀ (zero-padded to m
/// columns when A is tall), with diag(R) ≥ 0; when A has full row rank, R = chol(A·Aᵀ).
/// <para><b>Gramian derivative.</b> Let Q = Aᵀ·R⁺ᵀ, so that A = R·Qᵀ (R·R⁺ projects onto range(R) =
/// range(A)); with Householder's Q this is the same matrix when R is invertible. With K = R⁺·dA·Q:
/// dM = tril(K + Kᵀ) − diag(K) = Φ(K + Kᵀ) and dR = R·dM + (I − R·R⁺)·dA·Q = dA·Q + R·(dM − K).
/// Then dR·Rᵀ + R·dRᵀ = dA·Aᵀ + A·dAᵀ exactly, for every shape and rank: R(K + Kᵀ)Rᵀ supplies the part of
/// dA·Aᵀ + A·dAᵀ seen through the projector P = R·R⁺ and (I − P)·dA·Q the rest. Nothing in it divides by
/// a small pivot (R⁺ drops the null directions instead), so it stays finite where the QR derivative's R⁻¹
/// diverges. For full-row-rank A it is the Cholesky derivative of A·Aᵀ, hence the exact derivative of R.
/// For tall (m &gt; n) or rank-deficient A, R itself is not a differentiable function of A (its trailing
/// columns are arbitrary up to rotation); the rule is then exact for every consumer that depends on R only
/// through R·Rᵀ = A·Aᵀ (covariances, likelihoods, next filter steps) and only for those.</para>
/// <para><b>VJP</b>, the adjoint of dA ↦ dR: with W = Rᵀ·R̄ and S = Φ(W) + Φ(W)ᵀ,
/// Ā = (R̄ + R⁺ᵀ·(S − W))·Qᵀ. <b>Taylor rule</b>: the first coefficient is always the Gramian rule
/// (so a JVP is rank-robust); coefficients of order ≥ 2 run the Cholesky recursion on the Gramian
/// G_k = Σ_j C(k,j)·A_j·A_{k−j}ᵀ, which needs R full rank: a tall A is refused when the rule is built,
/// a rank-deficient square or wide one raises <see cref="SingularMatrixException"/> at run time.</para>
/// </summary>
public sealed class TriaOp : Primitive
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly TriaOp Instance = new();
    /// <inheritdoc/>
    public override string Name => "tria";

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        if (s.Rank < 2) throw new ShapeException($"tria: expected a matrix or a batch of matrices (rank ≥ 2), got {s}.");
        return new Shape([.. s.ToArray()[..^2], s[^2], s[^2]]);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var a = inputs[0];
        int m = a.Shape[^2], n = a.Shape[^1], k = Math.Min(m, n);
        var at = new T[n * m];
        var u = new T[k * m];
        for (int b = 0; b < DenseKernels.BatchCount(a.Shape); b++)
        {
            var src = a.Data.AsSpan(b * m * n, m * n);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) at[j * m + i] = src[i * n + j];
            DenseKernels.Householder<T>(at, n, m, [], u);
            // R = [Uᵀ, 0]: column c of R is row c of U (U is k×m upper trapezoidal), zero for c ≥ k.
            var r = output.Data.AsSpan(b * m * m, m * m);
            for (int i = 0; i < m; i++)
                for (int c = 0; c < m; c++) r[i * m + c] = c < k ? u[c * m + i] : T.Zero;
        }
    }

    /// <summary>R⁺ and Q = Aᵀ·R⁺ᵀ, the primal quantities both rules share.</summary>
    private static (Node RPinv, Node Q) Factors(Node a, Node r)
    {
        var rp = Linalg.Pinv(r);
        return (rp, Fn.MatMul(a, rp, transposeA: true, transposeB: true));
    }

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        Node a = node.Inputs[0], r = node;
        var (rp, q) = Factors(a, r);
        var w = Fn.MatMul(r, ct, transposeA: true);
        var phi = Linalg.Phi(w);
        var s = phi + Linalg.MatrixTranspose(phi);
        var x = ct + Fn.MatMul(rp, s - w, transposeA: true);
        return [Fn.MatMul(x, q, transposeB: true)];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        Node a0 = a.Primals[0], r0 = a.Output0;
        var y = new Node?[a.Order + 1];
        if (a.X(0, 1) is { } a1)
        {
            var (rp, q) = Factors(a0, r0);
            var dq = Fn.MatMul(a1, q);                     // dA·Q
            var kk = Fn.MatMul(rp, dq);                    // K = R⁺·dA·Q
            var dm = Linalg.Phi(kk + Linalg.MatrixTranspose(kk));
            y[1] = dq + Fn.MatMul(r0, dm - kk);
        }
        if (a.Order < 2) return y;

        int m = a0.Shape[^2], n = a0.Shape[^1];
        if (m > n)
            throw new UndefinedDerivativeException(
                $"tria: {UndefinedDerivativeException.Describe(a.Source)} has a tall input {a0.Shape} (m = {m} > n = {n}), so R is " +
                $"rank-deficient and has no Taylor coefficients of order ≥ 2 (requested order {a.Order}). Order 1 (JVP/VJP) is available.");
        var g = TaylorMath.Leibniz(k => a.X(0, k), k => a.X(0, k), a.Order, (p, q) => Fn.MatMul(p, q, transposeB: true));
        var checkedR0 = a.Graph.Apply(new FullRankCheckOp("tria: Taylor coefficients of order ≥ 2 need A of full row rank"), r0);
        return CholeskyOp.Series(checkedR0, g, a.Order, preset: y);
    }
}
