using JetSharp.Ir;
using JetSharp.Tensors;
using JetSharp.Primitives;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// I·B → B and A·I → A for the structural identity <see cref="IdentityMatrixOp"/>: row d of I·B is
/// e_d·B, row d of B. The identity may carry inserted unit axes (the standard basis as directions
/// [D, 1, D]): I [D, 1, D] · W [D, H] is W viewed as [D, 1, H]. This is how an operator along the
/// standard basis reaches a network's first layer without a dense D×D basis ever existing (with
/// <see cref="SinkBroadcastThroughMatMul"/>, which first moves the broadcast over the data off the product).
/// </summary>
public sealed class MatMulOfIdentity : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op is MatMulOp m && (LeftIdentity(m, inputs) || RightIdentity(m, inputs));

    /// <summary>I (unit axes allowed, not transposed: the contracted axis is its last) times a matrix B.</summary>
    private static bool LeftIdentity(MatMulOp m, Node[] inputs) =>
        !m.TransposeA && inputs[1].Rank == 2 &&
        IdentityMatrixOp.IsIdentity(inputs[0], out int d) && inputs[0].Shape[^1] == d;

    /// <summary>A (not transposed) times the plain [D, D] identity.</summary>
    private static bool RightIdentity(MatMulOp m, Node[] inputs) =>
        !m.TransposeA && inputs[1].Op is IdentityMatrixOp && m.InferShape(inputs) == inputs[0].Shape;

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var m = (MatMulOp)op;
        if (!LeftIdentity(m, inputs)) return inputs[0];
        // The identity's leading axes flatten to the row index d, so the product is B's rows in order.
        var b = m.TransposeB ? Fn.Transpose(inputs[1], 1, 0) : inputs[1];
        return Fn.Reshape(b, m.InferShape(inputs).ToArray());
    }
}

/// <summary>
/// P·B → rows of B for the structural selection <see cref="SelectionMatrixOp"/>: row s of P·B is
/// w_s·(row r_s of B), a gather of B's rows scaled by the weights. This is how coordinate-sampled directions
/// reach a network's first layer (or a constant factor such as σᵀ) without a dense [S, D] matrix of unit
/// vectors; <see cref="SinkBroadcastThroughMatMul"/> first moves the broadcast over the data off the product.
/// </summary>
public sealed class MatMulOfSelection : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op is MatMulOp { TransposeA: false } && inputs[0].Op is SelectionMatrixOp && inputs[1].Rank == 2;

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var m = (MatMulOp)op;
        var p = (SelectionMatrixOp)inputs[0].Op;
        var b = m.TransposeB ? Fn.Transpose(inputs[1], 1, 0) : inputs[1];
        var rows = Fn.Take(b, p.Rows, 0);                                   // [S, H] (rows drawn per run stay so)
        if (p.Weights is { } w)
        {
            var g = b.Graph;
            var column = g.Constant(NDArray.FromArray(w, new Shape(w.Length, 1)));
            rows = rows * Fn.BroadcastTo(column, rows.Shape);
        }
        return Fn.Reshape(rows, m.InferShape(inputs).ToArray());
    }
}

/// <summary>
/// Σ_d A[…, d]·P[s, …, d] → w_s·A[…, r_s] for a structural selection P (<see cref="SelectionMatrixOp"/>, row s = w_s·e_{r_s},
/// possibly broadcast over the data): the contraction of a tensor with unit vectors along their last axis is a gather of
/// that axis. This is what a directional derivative of an elementwise function of x looks like in a Taylor graph, e.g. the
/// first coefficient 2·Σ_d x_d·v_d of ‖x‖² along coordinate directions v = e_{r_s}: without the rule it is an [S, N, D]
/// product. A must not vary along the selection's axis 0 (it is shared by the directions, as x is); Σ_d P[s, d]² (both
/// factors the same selection) becomes the constant w_s².
/// </summary>
public sealed class SumOfProductWithSelection : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op is SumOp s && inputs[0].Rank >= 2 && s.Axes.SequenceEqual([inputs[0].Rank - 1]) && inputs[0].Op is MulOp &&
        Split(inputs[0]) is not null;

    /// <summary>The selection and the other factor of the product x (null when the pattern does not apply).</summary>
    private static (SelectionMatrixOp P, Node Other)? Split(Node product)
    {
        var shape = product.Shape;
        int r = shape.Rank;
        for (int k = 0; k < 2; k++)
        {
            if (Selection(product.Inputs[k]) is not { } p || p.Shape.Rank != r || p.Shape[0] != shape[0] || p.Size != shape[^1]) continue;
            var other = product.Inputs[1 - k];
            if (Selection(other) is { } q && q.Attributes == p.Attributes) return (p, other);        // Σ_d P² = w²
            // The other factor, right-aligned to the product, must be constant along axis 0 and full along the last
            // (a scalar is not: it is left to the scalar-factor rules).
            if (other.Rank == 0 || other.Rank > r || other.Shape[^1] != shape[^1]) continue;
            if (other.Rank == r && other.Shape[0] != 1) continue;
            return (p, other);
        }
        return null;
    }

    /// <summary>The selection behind a node (itself or a broadcast of it).</summary>
    private static SelectionMatrixOp? Selection(Node n) =>
        n.Op as SelectionMatrixOp ?? (n.Op is BroadcastToOp && n.Inputs[0].Op is SelectionMatrixOp p ? p : null);

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var sum = (SumOp)op;
        var product = inputs[0];
        var (p, other) = Split(product)!.Value;
        var g = product.Graph;
        var outShape = sum.InferShape(inputs);
        int r = product.Rank, s = product.Shape[0];
        var weights = p.Weights;
        Node result;
        if (Selection(other) is { } q && q.Attributes == p.Attributes)
        {
            var squares = new double[s];
            for (int i = 0; i < s; i++) squares[i] = weights is null ? 1 : weights[i] * weights[i];
            result = g.Constant(NDArray.FromArray(squares, new Shape([s, .. Enumerable.Repeat(1, r - 1)])));
        }
        else
        {
            // A padded to the product's rank: [1, m_1, …, m_{r−2}, D] → [M, D] → take the rows' columns → [M, S] → [S, m…, 1].
            int[] padded = [.. Enumerable.Repeat(1, r - other.Rank), .. other.Shape];
            int m = 1;
            for (int i = 1; i < r - 1; i++) m *= padded[i];
            var gathered = Fn.Take(Fn.Reshape(other, m, padded[^1]), p.Rows, 1);                   // [M, S]
            result = Fn.Reshape(Fn.Transpose(gathered, 1, 0), [s, .. padded[1..^1], 1]);
            if (weights is not null)
                result = result * g.Constant(NDArray.FromArray(weights, new Shape([s, .. Enumerable.Repeat(1, r - 1)])));
        }
        var kept = new Shape([.. product.Shape.Take(r - 1), 1]);
        if (result.Shape != kept) result = Fn.BroadcastTo(result, kept);
        return result.Shape == outShape ? result : Fn.Reshape(result, outShape.ToArray());
    }
}
