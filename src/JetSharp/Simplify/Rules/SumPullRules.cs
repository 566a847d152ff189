using static JetSharp.Simplify.Broadcasting;
using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// Base of the collapsing rules: a sum over axes A of a node that is linear in the input carrying
/// those axes equals the node applied to the summed input. Moving the sum towards the inputs means
/// the summed quantity (one vector) is propagated instead of the R terms of the sum (METHOD.md §3).
/// </summary>
public abstract class PullSumRule<TInner> : RewriteRule where TInner : Primitive
{
    /// <inheritdoc/>
    public sealed override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op is SumOp sum && sum.Axes.Length > 0 && inputs[0].Op is TInner inner && CanPull(sum, inputs[0], inner, context);

    /// <inheritdoc/>
    public sealed override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var sum = (SumOp)op;
        var x = inputs[0];
        var reduced = SumOp.ReducedShape(x.Shape, sum.Axes, sum.KeepDims);
        return Conform(Pull(sum, x, (TInner)x.Op, reduced), reduced);
    }

    /// <summary>Guard: whether the sum may move through <paramref name="x"/> = inner(...).</summary>
    protected abstract bool CanPull(SumOp sum, Node x, TInner inner, RewriteContext context);

    /// <summary>The replacement; <see cref="Conform"/> fixes its shape to <paramref name="reduced"/> afterwards.</summary>
    protected abstract Node Pull(SumOp sum, Node x, TInner inner, Shape reduced);
}

/// <summary>
/// Σ(a + b) → Σa + Σb, and Σ(a − b) → Σa − Σb (an operand broadcast along a summed axis is scaled by its
/// extent): any elementwise binary op <see cref="Linearity.JointlyLinear"/> in both inputs.
/// </summary>
public sealed class PullSumThroughAddSub : PullSumRule<Primitive>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, Primitive inner, RewriteContext context) =>
        inner.IsElementwise && x.Inputs.Count == 2 &&
        inner.LinearityIn(0) == Linearity.JointlyLinear && inner.LinearityIn(1) == Linearity.JointlyLinear;

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, Primitive inner, Shape reduced)
    {
        var a = SumOfBroadcast(x.Inputs[0], x.Shape, sum.Axes, sum.KeepDims);
        var b = SumOfBroadcast(x.Inputs[1], x.Shape, sum.Axes, sum.KeepDims);
        return Fn.Apply(inner, a, b);
    }
}

/// <summary>Σ(−x) → −Σx.</summary>
public sealed class PullSumThroughNeg : PullSumRule<NegOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, NegOp inner, RewriteContext context) => true;
    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, NegOp inner, Shape reduced) => -Fn.Sum(x.Inputs[0], sum.Axes, sum.KeepDims);
}

/// <summary>
/// Σ(a·c) → (Σa)·c and Σ(a / c) → (Σa) / c when c does not carry any summed axis (it is the same
/// for every term of the sum): any elementwise binary op <see cref="Linearity.Linear"/> in the summed
/// operand. An operand that carries a summed axis blocks the pull.
/// </summary>
public sealed class PullSumThroughScaling : PullSumRule<Primitive>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, Primitive inner, RewriteContext context) =>
        FreeOperand(sum, x, inner) >= 0;

    /// <summary>
    /// Index of the operand that carries no summed axis while the op is linear in the other one (the
    /// second operand first: for division only the divisor qualifies), or −1.
    /// </summary>
    private static int FreeOperand(SumOp sum, Node x, Primitive inner)
    {
        if (!inner.IsElementwise || x.Inputs.Count != 2) return -1;
        foreach (int free in (ReadOnlySpan<int>)[1, 0])
            if (inner.LinearityIn(1 - free) == Linearity.Linear && !CarriesAny(x.Inputs[free].Shape, x.Shape, sum.Axes))
                return free;
        return -1;
    }

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, Primitive inner, Shape reduced)
    {
        int free = FreeOperand(sum, x, inner);
        var c = sum.KeepDims ? x.Inputs[free] : DropAxes(x.Inputs[free], x.Shape, sum.Axes);
        var summed = SumOfBroadcast(x.Inputs[1 - free], x.Shape, sum.Axes, sum.KeepDims);
        return free == 1 ? Fn.Apply(inner, summed, c) : Fn.Apply(inner, c, summed);
    }
}

/// <summary>Σ_batch(A·B) → (Σ_batch A)·B over batch axes that B does not carry (or the mirror image).</summary>
public sealed class PullSumThroughMatMul : PullSumRule<MatMulOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, MatMulOp inner, RewriteContext context) =>
        sum.Axes.All(a => a < x.Rank - 2) && FreeOperand(sum, x) >= 0;

    private static int FreeOperand(SumOp sum, Node x)
    {
        if (!CarriesAny(BatchShape(x.Inputs[1]), BatchShape(x), sum.Axes)) return 1;
        if (!CarriesAny(BatchShape(x.Inputs[0]), BatchShape(x), sum.Axes)) return 0;
        return -1;
    }

    private static Shape BatchShape(Node n) => new(n.Shape.ToArray()[..^2]);

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, MatMulOp inner, Shape reduced)
    {
        int free = FreeOperand(sum, x);
        var summedIn = x.Inputs[1 - free];
        var outFor = new Shape([.. BatchShape(x), summedIn.Shape[^2], summedIn.Shape[^1]]);
        var summed = SumOfBroadcast(summedIn, outFor, sum.Axes, keepDims: true);
        var c = x.Inputs[free];
        var product = free == 1 ? Fn.MatMul(summed, c, inner.TransposeA, inner.TransposeB) : Fn.MatMul(c, summed, inner.TransposeA, inner.TransposeB);
        return sum.KeepDims ? product : DropAxes(product, new Shape([.. product.Shape]), sum.Axes);
    }
}

/// <summary>Σ(reshape x) → reshape(Σx) when every summed axis is an axis of x that the reshape keeps whole.</summary>
public sealed class PullSumThroughReshape : PullSumRule<ReshapeOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, ReshapeOp inner, RewriteContext context) =>
        sum.Axes.All(a => SourceAxis(x.Inputs[0].Shape, x.Shape, a) >= 0);

    /// <summary>The input axis that output axis a is, or −1: same extent and the same number of elements before it.</summary>
    internal static int SourceAxis(Shape input, Shape output, int a)
    {
        long before = 1;
        for (int i = 0; i < a; i++) before *= output[i];
        long acc = 1;
        for (int j = 0; j < input.Rank; j++)
        {
            if (acc == before && input[j] == output[a]) return j;
            acc *= input[j];
            if (acc > before) return -1;
        }
        return -1;
    }

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, ReshapeOp inner, Shape reduced)
    {
        var source = x.Inputs[0];
        var axes = sum.Axes.Select(a => SourceAxis(source.Shape, x.Shape, a)).Distinct().ToArray();
        return Fn.Reshape(Fn.Sum(source, axes), reduced.ToArray());
    }
}

/// <summary>Σ(transpose x) → transpose(Σx) over the permuted axes.</summary>
public sealed class PullSumThroughTranspose : PullSumRule<TransposeOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, TransposeOp inner, RewriteContext context) => true;

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, TransposeOp inner, Shape reduced) =>
        Fn.Transpose(Fn.Sum(x.Inputs[0], [.. sum.Axes.Select(a => inner.Perm[a])], keepDims: true), inner.Perm);
}

/// <summary>Σ(broadcast x) → extent × x over stretched axes, Σx over the others, then broadcast.</summary>
public sealed class PullSumThroughBroadcast : PullSumRule<BroadcastToOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, BroadcastToOp inner, RewriteContext context) => true;

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, BroadcastToOp inner, Shape reduced) =>
        SumOfBroadcast(x.Inputs[0], x.Shape, sum.Axes, sum.KeepDims);
}

/// <summary>Σ(slice x) → slice(Σx) when the slice takes the summed axes whole.</summary>
public sealed class PullSumThroughSlice : PullSumRule<SliceOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, SliceOp inner, RewriteContext context) =>
        sum.Axes.All(a => inner.Starts[a] == 0 && inner.Sizes[a] == x.Inputs[0].Shape[a]);

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, SliceOp inner, Shape reduced)
    {
        var sizes = (int[])inner.Sizes.Clone();
        foreach (var a in sum.Axes) sizes[a] = 1;
        return Fn.Slice(Fn.Sum(x.Inputs[0], sum.Axes, keepDims: true), inner.Starts, sizes);
    }
}

/// <summary>Σ(pad x) → pad(Σx) when the summed axes are not padded.</summary>
public sealed class PullSumThroughPad : PullSumRule<PadOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, PadOp inner, RewriteContext context) =>
        sum.Axes.All(a => inner.Before[a] == 0 && inner.After[a] == 0);

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, PadOp inner, Shape reduced) =>
        Fn.Pad(Fn.Sum(x.Inputs[0], sum.Axes, keepDims: true), inner.Before, inner.After);
}

/// <summary>Σ(concat xs) → concat(Σx_i), or Σ_i Σx_i when the concatenation axis is summed.</summary>
public sealed class PullSumThroughConcat : PullSumRule<ConcatOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, ConcatOp inner, RewriteContext context) => true;

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, ConcatOp inner, Shape reduced)
    {
        var parts = x.Inputs.Select(p => Fn.Sum(p, sum.Axes, keepDims: true)).ToArray();
        if (!sum.Axes.Contains(inner.Axis)) return Fn.Concat(inner.Axis, parts);
        return parts.Skip(1).Aggregate(parts[0], (acc, p) => acc + p);
    }
}

/// <summary>
/// Σ_A(Σ_B x) → Σ_B(Σ_A x) when the sum over A can move further through x: the sums commute, and
/// the one over A continues towards the inputs.
/// </summary>
public sealed class PullSumThroughSum : PullSumRule<SumOp>
{
    /// <inheritdoc/>
    protected override bool CanPull(SumOp sum, Node x, SumOp inner, RewriteContext context)
    {
        var source = x.Inputs[0];
        return context.AnyRuleMatches(new SumOp(InnerAxes(sum, inner, source.Rank), true), [source], this);
    }

    /// <summary>The axes of the inner sum's input that the outer sum's axes are.</summary>
    private static int[] InnerAxes(SumOp outer, SumOp inner, int sourceRank)
    {
        var kept = Enumerable.Range(0, sourceRank).Where(i => inner.KeepDims || !inner.Axes.Contains(i)).ToArray();
        return [.. outer.Axes.Select(a => kept[a]).Order()];
    }

    /// <inheritdoc/>
    protected override Node Pull(SumOp sum, Node x, SumOp inner, Shape reduced)
    {
        var source = x.Inputs[0];
        var first = Fn.Sum(source, InnerAxes(sum, inner, source.Rank), keepDims: true);
        return Fn.Sum(first, inner.Axes, keepDims: true);
    }
}
