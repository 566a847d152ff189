using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// Keeps computation off axes that a broadcast only repeats: f(broadcast x) → broadcast f(x) for an
/// elementwise function, so values that do not depend on the directions (x₀ and everything computed
/// from it) are computed once rather than once per direction.
/// </summary>
public sealed class SinkBroadcastThroughUnary : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op.IsElementwise && inputs.Length == 1 && inputs[0].Op is BroadcastToOp;

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var b = inputs[0];
        return Fn.BroadcastTo(b.Graph.Apply(op, b.Inputs[0]), b.Shape);
    }
}

/// <summary>broadcast(x) ⊕ y → broadcast(x ⊕ y) (or with both operands narrowed) when the narrowed result is smaller and broadcasts to the original.</summary>
public sealed class SinkBroadcastThroughBinary : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op.IsElementwise && inputs.Length == 2 && (inputs[0].Op is BroadcastToOp || inputs[1].Op is BroadcastToOp) &&
        Narrowed(op, inputs) is not null;

    private static Node[]? Narrowed(Primitive op, Node[] inputs)
    {
        var result = op.InferShape(inputs);
        Node Inner(Node n) => n.Op is BroadcastToOp ? n.Inputs[0] : n;
        Node[][] candidates = [[Inner(inputs[0]), Inner(inputs[1])], [Inner(inputs[0]), inputs[1]], [inputs[0], Inner(inputs[1])]];
        foreach (var narrowed in candidates)
        {
            if (narrowed[0] == inputs[0] && narrowed[1] == inputs[1]) continue;
            if (!Shape.TryBroadcast(narrowed[0].Shape, narrowed[1].Shape, out var shape)) continue;
            if (shape.Size < result.Size && shape.BroadcastsTo(result)) return narrowed;
        }
        return null;
    }

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var narrowed = Narrowed(op, inputs)!;
        return Fn.BroadcastTo(inputs[0].Graph.Apply(op, narrowed), op.InferShape(inputs));
    }
}

/// <summary>
/// broadcast(A)·B → broadcast(A·B) when the broadcast leaves the contracted axis alone (it repeats
/// batch axes, rows of A or columns of B): e.g. the basis directions e_d, broadcast over the data,
/// are multiplied by the first weight matrix once instead of once per datum.
/// </summary>
public sealed class SinkBroadcastThroughMatMul : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op is MatMulOp && Narrowed((MatMulOp)op, inputs) is not null;

    private static Node[]? Narrowed(MatMulOp op, Node[] inputs)
    {
        var result = op.InferShape(inputs);
        for (int side = 0; side < 2; side++)
        {
            if (inputs[side].Op is not BroadcastToOp) continue;
            var inner = inputs[side].Inputs[0];
            bool contractedIsLast = side == 0 ? !op.TransposeA : op.TransposeB;
            int contracted = contractedIsLast ? 1 : 2;
            if (inner.Rank < 2 || inner.Shape[^contracted] != inputs[side].Shape[^contracted]) continue;
            var narrowed = (Node[])inputs.Clone();
            narrowed[side] = inner;
            var shape = op.InferShape(narrowed);
            if (shape.Size < result.Size && shape.BroadcastsTo(result)) return narrowed;
        }
        return null;
    }

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var narrowed = Narrowed((MatMulOp)op, inputs)!;
        return Fn.BroadcastTo(inputs[0].Graph.Apply(op, narrowed), op.InferShape(inputs));
    }
}
