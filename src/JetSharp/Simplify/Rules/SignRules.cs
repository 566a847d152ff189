using JetSharp.Backend;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Simplify.Rules;

// Rewrites of signs and doubled terms that differentiation leaves behind (the second-order terms of a collapsed
// Laplacian hold a·(−t) next to −(a·t), and x + x). Each is exact in floating point — negation and doubling only
// flip a sign bit or raise an exponent — so the simplified graph computes the same bits as before, and each lets
// common-subexpression elimination merge what was written twice.

/// <summary>
/// (−a)·b → −(a·b), a·(−b) → −(a·b), and the same for division: the negation moves out of the product, where it
/// meets the other terms of a sum (<see cref="AddOfNeg"/>) or the same product written without it. Products with
/// a scalar constant are left to the scalar-factor rules (<see cref="PullScalarFactorOut"/> moves the constant the
/// other way).
/// </summary>
public sealed class PullNegOutOfProduct : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op.Arithmetic?.Binary is BinaryOp.Mul or BinaryOp.Div && !ScalarFactor.IsScaling(op, inputs) &&
        (inputs[0].Op is NegOp || inputs[1].Op is NegOp);

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        static Node Positive(Node n) => n.Op is NegOp ? n.Inputs[0] : n;
        var product = op.Arithmetic?.Binary == BinaryOp.Mul ? Positive(inputs[0]) * Positive(inputs[1]) : Positive(inputs[0]) / Positive(inputs[1]);
        // (−a)·(−b) = a·b.
        return inputs[0].Op is NegOp && inputs[1].Op is NegOp ? product : -product;
    }
}

/// <summary>a + (−b) → a − b, (−a) + b → b − a, a − (−b) → a + b: one operation instead of two.</summary>
public sealed class AddOfNeg : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) => op.Arithmetic?.Binary switch
    {
        BinaryOp.Add => inputs[0].Op is NegOp || inputs[1].Op is NegOp,
        BinaryOp.Sub => inputs[1].Op is NegOp,
        _ => false,
    };

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var (a, b) = (inputs[0], inputs[1]);
        if (op.Arithmetic?.Binary == BinaryOp.Sub) return a + b.Inputs[0];
        return b.Op is NegOp ? a - b.Inputs[0] : b - a.Inputs[0];
    }
}

/// <summary>x + x → x·2: a scaling, which the scalar-factor rules combine with others and move out of linear maps.</summary>
public sealed class AddOfSelf : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op.Arithmetic?.Binary == BinaryOp.Add && inputs[0] == inputs[1];

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context) => inputs[0] * 2.0;
}
