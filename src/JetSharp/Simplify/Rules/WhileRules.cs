using System.Runtime.CompilerServices;
using JetSharp.Control;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Tensors;
using JetSharp.Transforms;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// Collapsing through a while loop: Σ_P of a top (order-K) carry coefficient of a loop over jets, read from the
/// loop's packed result (reshape(slice(while …)) with the direction axes P leading) → the same component of a loop
/// that carries the sum. The argument is <see cref="PullSumIntoScan"/>'s: the top coefficients enter the body's
/// outputs only through the top coefficients, linearly, with the Jacobian at the primal values (no P), and the
/// condition reads the primal only, so Σ_P y_K is unchanged when every top input x_K,r is replaced by (Σ_P x_K)/|P|,
/// and the loop makes the same trips. The collapsed body takes the summed top coefficients s, feeds
/// broadcast(s)/|P| to the jet body and returns Σ_P of its top carries; the simplifier, reaching into the new body,
/// pulls those sums down to the broadcast, so the loop carries one summed vector where it carried |P|.
/// </summary>
public sealed class PullSumIntoWhile : RewriteRule
{
    /// <summary>Collapsed loops by jet loop, [without, with] kept dims: a loop collapsed twice is one loop (one trip count, one node after CSE).</summary>
    private static readonly ConditionalWeakTable<WhileLoop, WhileLoop?[]> Collapsed = [];

    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) => Find(op, inputs) is not null;

    /// <summary>The loop node and which of its carries the summed node reads, or null when the pattern does not hold.</summary>
    private static (Node Loop, int Carry)? Find(Primitive op, Node[] inputs)
    {
        if (op is not SumOp sum) return null;
        var x = inputs[0];
        var packed = x.Op is ReshapeOp ? x.InputArray[0] : x;   // no reshape when the component is flat already
        int offset = 0, size = packed.Shape.Size;
        if (packed.Op is SliceOp slice && packed.Rank == 1)
        {
            (offset, size) = (slice.Starts[0], slice.Sizes[0]);
            packed = packed.InputArray[0];
        }
        if (packed.Op is not WhileOp { Jet: { } jet } w) return null;
        int pr = jet.Prefix.Rank;
        if (pr == 0 || !sum.Axes.SequenceEqual(Enumerable.Range(0, pr)) || x.Rank < pr || new Shape(x.Shape.ToArray()[..pr]) != jet.Prefix) return null;
        var shapes = w.Loop.CarryShapes;
        for (int c = 0, at = 0; c < shapes.Count; at += shapes[c].Size, c++)
            if (at == offset && shapes[c].Size == size) return jet.IsTop(c) ? (packed, c) : null;
        return null;
    }

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var sum = (SumOp)op;
        var (node, carry) = Find(op, inputs)!.Value;
        var w = (WhileOp)node.Op;
        var jet = w.Jet!;
        var prefixAxes = Enumerable.Range(0, jet.Prefix.Rank).ToArray();
        var loop = Collapse(w.Loop, jet, sum.KeepDims);
        var args = node.Inputs.Select((input, i) => jet.IsTop(i) ? Fn.Sum(input, prefixAxes, sum.KeepDims) : input).ToArray();
        var collapsed = node.Graph.Apply(new WhileOp(loop), args);
        var reduced = SumOp.ReducedShape(inputs[0].Shape, sum.Axes, sum.KeepDims);
        return Fn.Reshape(SubgraphJets.Component(collapsed, loop.CarryShapes, carry), reduced.ToArray());
    }

    private static WhileLoop Collapse(WhileLoop loop, WhileJetInfo jet, bool keepDims)
    {
        var variants = Collapsed.GetValue(loop, _ => new WhileLoop?[2]);
        lock (variants)
            return variants[keepDims ? 1 : 0] ??= loop.Derive(
                CollapsedLoopBody.Build(loop.Condition, jet.IsTop, _ => false, loop.Condition.Outputs.Count, jet.Prefix, keepDims),
                CollapsedLoopBody.Build(loop.Body, jet.IsTop, c => c < loop.CarryCount && jet.IsTop(c), loop.Body.Outputs.Count, jet.Prefix, keepDims),
                loop.CarryCount);
    }
}
