using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// x ⊕ broadcast(y) → x ⊕ y for an elementwise binary op when broadcasting y implicitly gives the same
/// result shape: the explicit broadcast only materialises a larger copy the op would read anyway. (When
/// the narrowed result is smaller, <see cref="SinkBroadcastThroughBinary"/> moves the broadcast out instead.)
/// </summary>
public sealed class BroadcastImplicitlyInBinary : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) => Operand(op, inputs) >= 0;

    /// <summary>The input that is a broadcast the op can do without, or −1.</summary>
    private static int Operand(Primitive op, Node[] inputs)
    {
        if (!op.IsElementwise || inputs.Length != 2 || (inputs[0].Op is not BroadcastToOp && inputs[1].Op is not BroadcastToOp)) return -1;
        var result = op.InferShape(inputs);
        for (int i = 0; i < 2; i++)
        {
            if (inputs[i].Op is not BroadcastToOp) continue;
            var inner = inputs[i].InputArray[0];
            if (Shape.TryBroadcast(inner.Shape, inputs[1 - i].Shape, out var shape) && shape == result) return i;
        }
        return -1;
    }

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        int i = Operand(op, inputs);
        var narrowed = (Node[])inputs.Clone();
        narrowed[i] = inputs[i].InputArray[0];
        return inputs[0].Graph.Apply(op, narrowed);
    }
}
