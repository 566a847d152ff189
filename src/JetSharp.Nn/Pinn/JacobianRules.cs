using JetSharp.Simplify;

namespace JetSharp.Nn.Pinn;

// Rewrite rules used only for per-sample Jacobian graphs (PerSampleJacobian.Rules), outside the standard rule set:
// they are valid everywhere, but whether they pay off in other graphs has not been measured.

/// <summary>
/// A·broadcast(X) → A·X when X is one matrix ([k, n], or with size-1 batch axes) that the broadcast only
/// repeats along batch axes A already has: a rank-2 right operand is shared by every batch entry, so the
/// product runs as one GEMM with the batch folded into the rows instead of a batch of small products over a
/// materialised copy. This is the shape per-sample parameter copies take in the forward pass
/// (<see cref="PerSampleParameters"/>: every sample's copy holds the same values).
/// </summary>
public sealed class MatMulByBroadcastMatrix : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op is MatMulOp mm && Shared(mm, inputs) is not null;

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context) =>
        inputs[0].Graph.Apply(op, inputs[0], Shared((MatMulOp)op, inputs)!);

    private static Node? Shared(MatMulOp op, Node[] inputs)
    {
        if (inputs[1].Op is not BroadcastToOp) return null;
        var inner = inputs[1].Inputs[0];
        if (inner.Rank < 2 || inner.Shape[^1] != inputs[1].Shape[^1] || inner.Shape[^2] != inputs[1].Shape[^2]) return null;
        for (int i = 0; i < inner.Rank - 2; i++)
            if (inner.Shape[i] != 1) return null;
        var matrix = inner.Rank == 2 ? inner : Fn.Reshape(inner, inner.Shape[^2], inner.Shape[^1]);
        return op.InferShape([inputs[0], matrix]) == op.InferShape(inputs) ? matrix : null;
    }
}

/// <summary>
/// Σ_b Aᵀ_b·G_b over one batch axis b → one product with b folded into the contraction: transpose b next to
/// the rows and reshape, so Aᵀ·G contracts b·m terms at once. This is the sum over the Taylor directions of
/// the per-sample weight gradients h_rᵀ·ḡ_r, which otherwise materialises R·N outer products [k, n] before
/// adding them up.
/// </summary>
public sealed class FoldSummedBatchIntoContraction : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op is SumOp sum && sum.Axes.Length == 1 && inputs[0].Op is MatMulOp { TransposeA: true, TransposeB: false } &&
        inputs[0].Inputs[0].Shape.Rank == inputs[0].Rank && inputs[0].Inputs[1].Shape.Rank == inputs[0].Rank &&
        SameBatch(inputs[0]) && sum.Axes[0] < inputs[0].Rank - 2;

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var sum = (SumOp)op;
        var product = inputs[0];
        int axis = sum.Axes[0], rank = product.Rank;
        Node Fold(Node x)
        {
            // [.., b, .., m, c] → [.. without b .., b, m, c] → [.., b·m, c]
            var perm = Enumerable.Range(0, rank).Where(i => i != axis && i < rank - 2).Append(axis).Append(rank - 2).Append(rank - 1).ToArray();
            var t = Fn.Transpose(x, perm);
            var s = t.Shape.ToArray();
            return Fn.Reshape(t, [.. s[..(rank - 3)], s[rank - 3] * s[rank - 2], s[rank - 1]]);
        }
        var folded = Fn.MatMul(Fold(product.Inputs[0]), Fold(product.Inputs[1]), transposeA: true);
        return Fn.Reshape(folded, SumOp.ReducedShape(product.Shape, sum.Axes, sum.KeepDims).ToArray());
    }

    private static bool SameBatch(Node product)
    {
        Shape a = product.Inputs[0].Shape, b = product.Inputs[1].Shape;
        for (int i = 0; i < a.Rank - 2; i++)
            if (a[i] != b[i]) return false;
        return a[^2] == b[^2];
    }
}
