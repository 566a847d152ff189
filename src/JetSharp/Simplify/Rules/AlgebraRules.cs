using static JetSharp.Simplify.Broadcasting;
using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Simplify.Rules;

/// <summary>Recognises constants that are all zeros or all ones (scalars, broadcast scalars, small constant tensors).</summary>
internal static class Constants
{
    public static bool IsZero(Node n) => IsAll(n, 0);
    public static bool IsOne(Node n) => IsAll(n, 1);

    private static bool IsAll(Node n, double value)
    {
        // Through any chain of broadcasts and reshapes (a loop: such chains may be long before they are composed).
        while (n.Op is BroadcastToOp or ReshapeOp) n = n.InputArray[0];
        return n.Op switch
        {
            ConstantOp { ScalarValue: { } v } => v == value,
            ConstantOp { Value: { } t } => t.Size <= 4096 && Enumerable.Range(0, t.Size).All(i => t.GetDouble(i) == value),
            _ => false,
        };
    }

    public static bool IsIdentityMatrix(Node n)
    {
        if (n.Op is not ConstantOp { Value: { } t } || t.Rank != 2 || t.Shape[0] != t.Shape[1] || t.Size > 1 << 16) return false;
        int d = t.Shape[0];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                if (t.GetDouble(i * d + j) != (i == j ? 1 : 0)) return false;
        return true;
    }
}

/// <summary>
/// x·0 → 0 and 0 / x → 0 (the zero broadcast to the result's shape): an elementwise binary op with a
/// zero in an input it is <see cref="Linearity.Linear"/> in.
/// </summary>
public sealed class MultiplyByZero : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op.IsElementwise && inputs.Length == 2 &&
        ((op.LinearityIn(0) == Linearity.Linear && Constants.IsZero(inputs[0])) ||
         (op.LinearityIn(1) == Linearity.Linear && Constants.IsZero(inputs[1])));

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context) =>
        Fn.Zeros(inputs[0].Graph, op.InferShape(inputs));
}

/// <summary>x + 0 → x, 0 + x → x, x − 0 → x, 0 − x → −x (broadcast to the result's shape when needed).</summary>
public sealed class AddZero : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op.Arithmetic?.Binary is BinaryOp.Add or BinaryOp.Sub && (Constants.IsZero(inputs[0]) || Constants.IsZero(inputs[1]));

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var shape = op.InferShape(inputs);
        if (Constants.IsZero(inputs[1])) return Conform(inputs[0], shape);
        return Conform(op.Arithmetic?.Binary == BinaryOp.Sub ? -inputs[1] : inputs[1], shape);
    }
}

/// <summary>x·1 → x, 1·x → x, x / 1 → x.</summary>
public sealed class MultiplyByOne : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op.Arithmetic?.Binary switch
        {
            BinaryOp.Mul => Constants.IsOne(inputs[0]) || Constants.IsOne(inputs[1]),
            BinaryOp.Div => Constants.IsOne(inputs[1]),
            _ => false,
        };

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context) =>
        Conform(Constants.IsOne(inputs[1]) ? inputs[0] : inputs[1], op.InferShape(inputs));
}

/// <summary>A·I → A and I·B → B for a constant identity matrix (no transposes).</summary>
public sealed class MatMulByIdentity : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op is MatMulOp { TransposeA: false, TransposeB: false } &&
        ((Constants.IsIdentityMatrix(inputs[1]) && op.InferShape(inputs) == inputs[0].Shape) ||
         (Constants.IsIdentityMatrix(inputs[0]) && op.InferShape(inputs) == inputs[1].Shape));

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context) =>
        Constants.IsIdentityMatrix(inputs[1]) && op.InferShape(inputs) == inputs[0].Shape ? inputs[0] : inputs[1];
}

/// <summary>
/// A linear map of zeros is zeros, read from <see cref="Primitive.LinearityIn"/>: a zero in an input the
/// op is <see cref="Linearity.Linear"/> in (sum, reshape, transpose, slice, pad, negation, a matmul
/// factor), or zeros in all its <see cref="Linearity.JointlyLinear"/> inputs (a concat of zeros).
/// Broadcasts are left alone (zeros are written as a broadcast scalar, see <c>Fn.Zeros</c>), and so are
/// scalar constants (constant folding's business).
/// </summary>
public sealed class LinearOfZero : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op is not BroadcastToOp && !inputs.Any(i => i.Op is ConstantOp { ScalarValue: not null }) && ZeroByLinearity(op, inputs);

    private static bool ZeroByLinearity(Primitive op, Node[] inputs)
    {
        bool joint = false, jointZero = true;
        for (int i = 0; i < inputs.Length; i++)
            switch (op.LinearityIn(i))
            {
                case Linearity.Linear when Constants.IsZero(inputs[i]): return true;
                case Linearity.JointlyLinear: joint = true; jointZero &= Constants.IsZero(inputs[i]); break;
            }
        return joint && jointZero;
    }

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context) =>
        Fn.Zeros(inputs[0].Graph, op.InferShape(inputs));
}

/// <summary>Sum over no axes, reshape to the same shape, transpose by the identity and broadcast to the same shape are the input itself.</summary>
public sealed class RemoveNoOp : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) => op switch
    {
        SumOp s => s.Axes.Length == 0,
        ReshapeOp r => r.Shape == inputs[0].Shape,
        TransposeOp t => t.Perm.Select((p, i) => p == i).All(b => b),
        BroadcastToOp b => b.Shape == inputs[0].Shape,
        SliceOp s => s.Starts.All(v => v == 0) && new Shape(s.Sizes) == inputs[0].Shape,
        PadOp p => p.Before.All(v => v == 0) && p.After.All(v => v == 0),
        ConcatOp => inputs.Length == 1,
        _ => false,
    };

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context) => inputs[0];
}

/// <summary>reshape(reshape x) → reshape x; broadcast(broadcast x) → broadcast x; transpose(transpose x) → one transpose; −(−x) → x.</summary>
public sealed class ComposeShapeOps : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) => inputs.Length == 1 && (op, inputs[0].Op) switch
    {
        (ReshapeOp, ReshapeOp) => true,
        (BroadcastToOp, BroadcastToOp) => true,
        (TransposeOp, TransposeOp) => true,
        (NegOp, NegOp) => true,
        _ => false,
    };

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var inner = inputs[0].Inputs[0];
        return (op, inputs[0].Op) switch
        {
            (ReshapeOp r, _) => Fn.Reshape(inner, r.Shape.ToArray()),
            (BroadcastToOp b, _) => Fn.BroadcastTo(inner, b.Shape),
            (TransposeOp outer, TransposeOp first) => Fn.Transpose(inner, [.. outer.Perm.Select(p => first.Perm[p])]),
            _ => inner,
        };
    }
}

/// <summary>
/// Evaluates a primitive whose inputs are all constants, when its result is no larger than its
/// largest input (folding never turns a cheap broadcast into a large stored constant). Random
/// sampling is never folded.
/// </summary>
public sealed class FoldConstants : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        inputs.Length > 0 && !op.IsRandom && inputs.All(i => i.Op is ConstantOp) &&
        op.InferShape(inputs).Size <= Math.Max(1, inputs.Max(i => i.Shape.Size));

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var g = inputs[0].Graph;
        return g.DType == DType.Float32 ? Evaluate<float>(op, inputs, g) : Evaluate<double>(op, inputs, g);
    }

    private static Node Evaluate<T>(Primitive op, Node[] inputs, Graph g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var values = inputs.Select(i => ((ConstantOp)i.Op).Get<T>()).ToArray();
        var result = new NDArray<T>(op.InferShape(inputs));
        op.Execute(values, result, RunContext.Detached());
        return result.Rank == 0 ? g.Scalar(double.CreateTruncating(result.Data[0])) : g.Constant(result);
    }
}
