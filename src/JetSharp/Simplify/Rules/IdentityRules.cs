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
