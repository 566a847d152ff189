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

/// <summary>
/// slice(broadcast x) → broadcast x to the slice's shape, when the slice only narrows axes the broadcast repeats
/// (x has extent 1 there, or the axis is new) and takes every other axis whole. The per-sample parameters of a
/// problem with several terms are one broadcast θ sliced into each term's rows; seeing through the slice lets
/// <see cref="MatMulByBroadcastMatrix"/> run each term's products with the shared weights as single GEMMs.
/// </summary>
public sealed class SliceOfBroadcast : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context)
    {
        if (op is not SliceOp slice || inputs[0].Op is not BroadcastToOp) return false;
        var inner = inputs[0].Inputs[0].Shape;
        int offset = inputs[0].Rank - inner.Rank;
        for (int i = offset; i < inputs[0].Rank; i++)
            if (inner[i - offset] != 1 && (slice.Starts[i] != 0 || slice.Sizes[i] != inner[i - offset])) return false;
        return true;
    }

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context) =>
        Fn.BroadcastTo(inputs[0].Inputs[0], new Shape(((SliceOp)op).Sizes));
}

/// <summary>
/// pad(a) + pad(b) → pad(concat(a, b)) (or concat(a, b) when nothing is left to pad) when both are padded along one
/// axis only and a's rows end where b's begin. The reverse of slicing one per-sample parameter into the rows of
/// several terms: each term's block of J is written once instead of being padded to all rows and added (three terms
/// take two firings: the first pair becomes one padded block).
/// </summary>
public sealed class AddOfAdjacentPads : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) => Order(op, inputs) is not null;

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var (first, second, axis) = Order(op, inputs)!.Value;
        var joined = Fn.Concat(axis, first.Inputs[0], second.Inputs[0]);
        int before = ((PadOp)first.Op).Before[axis], after = ((PadOp)second.Op).After[axis];
        if (before == 0 && after == 0) return joined;
        var b = new int[first.Rank];
        var a = new int[first.Rank];
        b[axis] = before;
        a[axis] = after;
        return Fn.Pad(joined, b, a);
    }

    private static (Node First, Node Second, int Axis)? Order(Primitive op, Node[] inputs)
    {
        if (op is not AddOp || inputs[0].Op is not PadOp pa || inputs[1].Op is not PadOp pb || inputs[0].Shape != inputs[1].Shape) return null;
        int axis = PaddedAxis(pa);
        if (axis < 0 || axis != PaddedAxis(pb)) return null;
        int endA = pa.Before[axis] + inputs[0].Inputs[0].Shape[axis], endB = pb.Before[axis] + inputs[1].Inputs[0].Shape[axis];
        if (endA == pb.Before[axis]) return (inputs[0], inputs[1], axis);
        if (endB == pa.Before[axis]) return (inputs[1], inputs[0], axis);
        return null;
    }

    /// <summary>The one axis <paramref name="pad"/> widens, or −1 when it widens none or several.</summary>
    private static int PaddedAxis(PadOp pad)
    {
        int axis = -1;
        for (int i = 0; i < pad.Before.Length; i++)
        {
            if (pad.Before[i] == 0 && pad.After[i] == 0) continue;
            if (axis >= 0) return -1;
            axis = i;
        }
        return axis;
    }
}

/// <summary>
/// A₁ᵀ·B₁ + A₂ᵀ·B₂ → [A₁; A₂]ᵀ·[B₁; B₂]: two products of the same form and the same batch, added, become one
/// product whose contraction runs over both (the operands are joined along their contracted axis). This folds the
/// several contributions to one weight's per-sample gradient (through the value, the first-order and the summed
/// second-order Taylor coefficients of the collapsed operator) into one batched product, which writes the
/// [N, k, n] block once instead of once per contribution plus the additions.
/// </summary>
public sealed class FoldAddedProductsIntoContraction : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context)
    {
        if (op is not AddOp || inputs[0].Op is not MatMulOp m1 || inputs[1].Op is not MatMulOp m2) return false;
        if (m1.TransposeA != m2.TransposeA || m1.TransposeB != m2.TransposeB || inputs[0].Shape != inputs[1].Shape) return false;
        Shape a1 = inputs[0].Inputs[0].Shape, b1 = inputs[0].Inputs[1].Shape, a2 = inputs[1].Inputs[0].Shape, b2 = inputs[1].Inputs[1].Shape;
        int rank = inputs[0].Rank;
        if (a1.Rank != rank || b1.Rank != rank || a2.Rank != rank || b2.Rank != rank) return false;
        // Every axis but the contracted one must agree (batch axes included: no broadcasting between the products).
        int ka = m1.TransposeA ? rank - 2 : rank - 1, kb = m1.TransposeB ? rank - 1 : rank - 2;
        for (int i = 0; i < rank; i++)
            if ((i != ka && a1[i] != a2[i]) || (i != kb && b1[i] != b2[i]) || (i < rank - 2 && a1[i] != b1[i])) return false;
        return true;
    }

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var m = (MatMulOp)inputs[0].Op;
        int rank = inputs[0].Rank;
        int ka = m.TransposeA ? rank - 2 : rank - 1, kb = m.TransposeB ? rank - 1 : rank - 2;
        var a = Fn.Concat(ka, inputs[0].Inputs[0], inputs[1].Inputs[0]);
        var b = Fn.Concat(kb, inputs[0].Inputs[1], inputs[1].Inputs[1]);
        return Fn.MatMul(a, b, m.TransposeA, m.TransposeB);
    }
}

/// <summary>
/// concat(…, concat(a, b), …) along one axis → concat(…, a, b, …): one copy instead of two. The chains
/// <see cref="FoldAddedProductsIntoContraction"/> and <see cref="AddOfAdjacentPads"/> build (one operand per
/// contribution, one block per term) become single concatenations.
/// </summary>
public sealed class FlattenNestedConcat : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op is ConcatOp c && inputs.Any(x => x.Op is ConcatOp inner && inner.Axis == c.Axis);

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        int axis = ((ConcatOp)op).Axis;
        return Fn.Concat(axis, [.. inputs.SelectMany(x => x.Op is ConcatOp inner && inner.Axis == axis ? x.Inputs : [x])]);
    }
}
