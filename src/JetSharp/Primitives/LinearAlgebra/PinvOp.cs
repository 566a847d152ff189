using System.Globalization;
using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Primitives.LinearAlgebra;

/// <summary>
/// Moore–Penrose pseudoinverse X = A⁺ [..., n, m] of A [..., m, n], by one-sided Jacobi SVD.
/// Singular values at or below rcond·σ_max are treated as zero; the default rcond is 10·max(m, n)·ε of
/// the dtype, which absorbs the rounding-level "zeros" a rank-deficient triangular factor carries.
/// It is the helper of the Gramian rule of <see cref="TriaOp"/>. A NaN or infinite entry raises
/// <see cref="NotFiniteNumberException"/> at run time, naming the matrix and the entry.
/// <para><b>Derivatives</b> hold where the rank is locally constant (Golub and Pereyra):
/// dX = −X·dA·X + X·Xᵀ·dAᵀ·(I − A·X) + (I − X·A)·dAᵀ·Xᵀ·X, and its adjoint
/// Ā = −Xᵀ·X̄·Xᵀ + (I − A·X)·X̄ᵀ·X·Xᵀ + Xᵀ·X·X̄ᵀ·(I − X·A). The Taylor rule is first-order only (what
/// forward-over-reverse through a tria gradient needs); higher orders raise
/// <see cref="UndefinedDerivativeException"/>.</para>
/// </summary>
public sealed class PinvOp(double? rcond) : Primitive
{
    /// <summary>Relative cutoff for small singular values; null for the default 10·max(m, n)·ε.</summary>
    public double? RCond { get; } = rcond;
    /// <inheritdoc/>
    public override string Name => "pinv";
    /// <inheritdoc/>
    public override string Attributes => RCond is { } r ? "rcond=" + r.ToString("R", CultureInfo.InvariantCulture) : "";

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        if (s.Rank < 2) throw new ShapeException($"pinv: expected a matrix or a batch of matrices (rank ≥ 2), got {s}.");
        if (RCond is { } r && !(r >= 0 && r < 1)) throw new ArgumentException($"pinv: rcond must be in [0, 1), got {r}.");
        return new Shape([.. s.ToArray()[..^2], s[^1], s[^2]]);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var a = inputs[0];
        int m = a.Shape[^2], n = a.Shape[^1];
        double rcond = RCond ?? 10 * Math.Max(m, n) * DenseKernels.MachineEpsilon<T>();
        for (int b = 0; b < DenseKernels.BatchCount(a.Shape); b++)
        {
            // The SVD has no meaning for NaN or infinite entries (and its rotations would fail on them): say which.
            var block = a.Data.AsSpan(b * m * n, m * n);
            for (int i = 0; i < block.Length; i++)
                if (!T.IsFinite(block[i]))
                    throw new NotFiniteNumberException(
                        $"pinv: matrix {b} of the batch {a.Shape} has entry [{i / n}, {i % n}] = {double.CreateTruncating(block[i]).ToString(CultureInfo.InvariantCulture)}; the pseudoinverse needs finite entries.",
                        double.CreateTruncating(block[i]));
            DenseKernels.Pinv<T>(a.Data.AsSpan(b * m * n, m * n), m, n, rcond, output.Data.AsSpan(b * m * n, m * n));
        }
    }

    /// <summary>(I − A·X) and (I − X·A) written as differences, so no identity constant is needed.</summary>
    private static Node LeftResidual(Node a, Node x, Node y) => y - Fn.MatMul(a, Fn.MatMul(x, y));

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        Node a = node.Inputs[0], x = node;
        var ctT = Linalg.MatrixTranspose(ct);
        var t1 = -Fn.MatMul(Fn.MatMul(x, ct, transposeA: true), x, transposeB: true);
        var t2 = Fn.MatMul(LeftResidual(a, x, ctT), Fn.MatMul(x, x, transposeB: true));      // (I − AX)·X̄ᵀ·X·Xᵀ
        var xtx = Fn.MatMul(x, x, transposeA: true);
        var t3 = Fn.MatMul(xtx, ctT - Fn.MatMul(Fn.MatMul(ctT, x), a));                      // XᵀX·X̄ᵀ·(I − XA)
        return [t1 + t2 + t3];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        for (int k = 2; k <= a.Order; k++)
            if (a.X(0, k) is not null || a.X(0, 1) is not null)
                throw new UndefinedDerivativeException(
                    $"pinv: {UndefinedDerivativeException.Describe(a.Source)} has a first-order rule only; a jet of order {a.Order} was requested.");
        Node x = a.Output0, a0 = a.Primals[0];
        return a.MapLinear(da =>
        {
            var daT = Linalg.MatrixTranspose(da);
            var t1 = -Fn.MatMul(Fn.MatMul(x, da), x);
            var t2 = Fn.MatMul(Fn.MatMul(x, x, transposeB: true), daT - Fn.MatMul(Fn.MatMul(daT, a0), x));   // X·Xᵀ·dAᵀ·(I − AX)
            var t3 = LeftResidual(x, a0, Fn.MatMul(daT, Fn.MatMul(x, x, transposeA: true)));               // (I − XA)·dAᵀ·XᵀX
            return t1 + t2 + t3;
        });
    }
}
