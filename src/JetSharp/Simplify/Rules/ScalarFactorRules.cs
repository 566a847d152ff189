using JetSharp.Backend;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// A node scaled by a scalar constant: x·c, c·x or x / c. The factor is kept as a fraction (numerator,
/// denominator), so that a scale and its inverse cancel exactly instead of through a rounded reciprocal.
/// </summary>
internal readonly record struct ScalarFactor(Node X, double Numerator, double Denominator)
{
    /// <summary>The scalar factor of <paramref name="n"/>, or null when n is not a scaling by a scalar constant (or is a constant itself).</summary>
    public static ScalarFactor? Of(Node n) => Of(n.Op, n.InputArray);

    /// <summary>The scalar factor of <paramref name="op"/>(<paramref name="inputs"/>), or null.</summary>
    public static ScalarFactor? Of(Primitive op, Node[] inputs) => op.Arithmetic?.Binary switch
    {
        BinaryOp.Mul when Scalar(inputs[1]) is { } c && !IsConstant(inputs[0]) => new(inputs[0], c, 1),
        BinaryOp.Mul when Scalar(inputs[0]) is { } c && !IsConstant(inputs[1]) => new(inputs[1], c, 1),
        BinaryOp.Div when Scalar(inputs[1]) is { } c && !IsConstant(inputs[0]) => new(inputs[0], 1, c),
        _ => null,
    };

    /// <summary>True when <paramref name="op"/>(<paramref name="inputs"/>) multiplies or divides by a scalar constant.</summary>
    public static bool IsScaling(Primitive op, Node[] inputs) => op.Arithmetic?.Binary switch
    {
        BinaryOp.Mul => Scalar(inputs[0]) is not null || Scalar(inputs[1]) is not null,
        BinaryOp.Div => Scalar(inputs[1]) is not null,
        _ => false,
    };

    private static double? Scalar(Node n) => n.Op is ConstantOp { ScalarValue: { } v } && n.Rank == 0 ? v : null;

    private static bool IsConstant(Node n) => n.Op is ConstantOp;

    /// <summary>y scaled by this factor: y·n, y / d, y·(n / d), or y itself when n = d.</summary>
    public Node Apply(Node y)
    {
        if (Numerator == Denominator) return y;
        if (Denominator == 1) return y * Numerator;
        if (Numerator == 1) return y / Denominator;
        return y * (Numerator / Denominator);
    }

    /// <summary>This factor followed by <paramref name="other"/>.</summary>
    public ScalarFactor Then(ScalarFactor other) => this with { Numerator = Numerator * other.Numerator, Denominator = Denominator * other.Denominator };
}

/// <summary>
/// (x∘c₁)∘c₂ → x∘(c₁c₂) for ∘ multiplication or division by scalar constants, and x when the factors
/// cancel: (x / c)·c → x, (x·c) / c → x. Collapsing produces such pairs, e.g. a summed coefficient
/// divided by the number of directions on entry to a loop body and multiplied by it again when the sum
/// over directions reaches the broadcast.
/// </summary>
public sealed class CombineScalarFactors : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        ScalarFactor.Of(op, inputs) is { } outer && ScalarFactor.Of(outer.X) is not null;

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var outer = ScalarFactor.Of(op, inputs)!.Value;
        var inner = ScalarFactor.Of(outer.X)!.Value;
        return inner.Then(outer).Apply(inner.X);
    }
}

/// <summary>
/// f(…, x∘c, …) → f(…, x, …)∘c for a scalar constant c and an input f is <see cref="Linearity.Linear"/> in
/// (a matmul factor, either factor of a product, a numerator, a sum, reshape, transpose, slice…), when f's
/// result is no larger than x (the scaling never moves onto a broadcast). Scalar factors thus move towards
/// the outputs, where <see cref="CombineScalarFactors"/> merges or cancels them: Σ_r over a loop's summed top
/// coefficient s/|P| comes back as |P|·(J·(s/|P|)) and becomes J·s.
/// </summary>
public sealed class PullScalarFactorOut : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) => Scaled(op, inputs) >= 0;

    /// <summary>The input of <paramref name="op"/> that is a scaled node whose factor may move out, or −1.</summary>
    private static int Scaled(Primitive op, Node[] inputs)
    {
        if (op.IsRandom || op is ISubgraphOp || inputs.Length == 0 || ScalarFactor.IsScaling(op, inputs)) return -1;
        for (int i = 0; i < inputs.Length; i++)
            if (op.LinearityIn(i) == Linearity.Linear && ScalarFactor.Of(inputs[i]) is not null &&
                op.InferShape(inputs).Size <= inputs[i].Shape.Size)
                return i;
        return -1;
    }

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        int i = Scaled(op, inputs);
        var factor = ScalarFactor.Of(inputs[i])!.Value;
        var unscaled = (Node[])inputs.Clone();
        unscaled[i] = factor.X;
        return factor.Apply(inputs[0].Graph.Apply(op, unscaled));
    }
}
