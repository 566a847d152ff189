using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// slice(concat(a₁…aₙ)) → slice(a_i) when the slice's range along the concatenation axis lies within one part:
/// reading back a piece of what was joined (a loop's packed result unpacked, a coefficient of several values
/// packed and then split) needs neither the join nor the other parts.
/// </summary>
public sealed class SliceOfConcat : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op is SliceOp slice && inputs[0].Op is ConcatOp concat && Part(slice, inputs[0], concat.Axis) >= 0;

    /// <summary>The part holding the sliced range along <paramref name="axis"/>, or −1 when the range spans several.</summary>
    private static int Part(SliceOp slice, Node concat, int axis)
    {
        int start = slice.Starts[axis], end = start + slice.Sizes[axis];
        for (int i = 0, at = 0; i < concat.InputArray.Length; at += concat.InputArray[i].Shape[axis], i++)
            if (start >= at && end <= at + concat.InputArray[i].Shape[axis]) return i;
        return -1;
    }

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var slice = (SliceOp)op;
        int axis = ((ConcatOp)inputs[0].Op).Axis;
        int part = Part(slice, inputs[0], axis);
        int offset = inputs[0].InputArray.Take(part).Sum(p => p.Shape[axis]);
        var starts = (int[])slice.Starts.Clone();
        starts[axis] -= offset;
        return Fn.Slice(inputs[0].InputArray[part], starts, slice.Sizes);
    }
}
