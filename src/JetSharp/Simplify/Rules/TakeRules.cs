using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// take(f(x, s…)) → f(take(x), s…) for an elementwise f whose other operands are single elements, when the take
/// shrinks its operand: the arithmetic runs on the gathered elements only, and f(x, s…) loses a consumer. In the
/// stde graph the envelope's terms (x − a)(x + a) of an [N, D] batch are also gathered at the 16 sampled coordinates;
/// with the gather moved onto x, x − a and x + a feed only the sum, which then runs as one fused pass over x
/// (a reducing tree) instead of materialising two [N, D] tensors.
/// </summary>
public sealed class SinkTakeThroughScalarArithmetic : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context)
    {
        if (op is not TakeOp || inputs[0] is not { Op.IsElementwise: true, Op.IsRandom: false } f) return false;
        if (op.InferShape(inputs).Size >= f.Shape.Size) return false;
        int full = 0;
        foreach (var x in f.Inputs)
        {
            if (x.Shape == f.Shape) full++;
            else if (x.Shape.Size != 1) return false;
        }
        return full == 1;
    }

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var f = inputs[0];
        var g = f.Graph;
        return g.Apply(f.Op, [.. f.Inputs.Select(x => x.Shape == f.Shape ? g.Apply(op, x) : x)]);
    }
}
