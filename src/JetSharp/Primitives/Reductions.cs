using JetSharp.Backend;
using JetSharp.Ir;
using JetSharp.Tensors;

namespace JetSharp.Primitives;

/// <summary>Shared shape rule of the reductions over a set of axes (sorted, distinct, non-negative).</summary>
public abstract class AxesReductionOp(int[] axes, bool keepDims) : Primitive
{
    /// <summary>The reduced axes: sorted, distinct, non-negative.</summary>
    public int[] Axes { get; } = axes;
    /// <summary>Whether reduced axes stay as size-1 axes.</summary>
    public bool KeepDims { get; } = keepDims;
    /// <inheritdoc/>
    public override string Attributes => $"axes=[{string.Join(",", Axes)}]{(KeepDims ? ", keepdims" : "")}";

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        foreach (var ax in Axes)
        {
            if (ax < 0 || ax >= s.Rank) throw new ShapeException($"{Name}: axis {ax} is out of range for shape {s}.");
            if (s[ax] == 0) throw new ShapeException($"{Name}: axis {ax} of {s} is empty; the reduction has no identity.");
        }
        return SumOp.ReducedShape(s, Axes, KeepDims);
    }

    /// <summary><paramref name="y"/> (the reduced shape) with the reduced axes kept as size 1, so that it broadcasts against the input.</summary>
    protected Node Kept(Node y, Shape input) => KeepDims ? y : Fn.Reshape(y, SumOp.ReducedShape(input, Axes, true).ToArray());

    /// <summary>The reduced axes of a coefficient with <paramref name="prefixRank"/> leading direction axes.</summary>
    protected int[] Shifted(int prefixRank) => [.. Axes.Select(a => a + prefixRank)];
}

/// <summary>
/// Max (or min) over axes. Differentiable once: the derivative is shared evenly by the elements that attain
/// the extremum (<see cref="ExtremumWeightsOp"/>); a second derivative raises <see cref="NotSmoothException"/>.
/// </summary>
public sealed class ReduceExtremumOp(int[] axes, bool keepDims, bool isMax) : AxesReductionOp(axes, keepDims)
{
    /// <summary>True for max, false for min.</summary>
    public bool IsMax { get; } = isMax;
    /// <inheritdoc/>
    public override string Name => IsMax ? "reduce_max" : "reduce_min";
    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) =>
        AxisKernels.Reduce(IsMax ? Reduction.Max : Reduction.Min, inputs[0], Axes, output);

    private Node Weights(Node x) => Fn.Apply(new ExtremumWeightsOp(Axes, IsMax), x);

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        var x = node.Inputs[0];
        return [Fn.BroadcastTo(Kept(ct, x.Shape), x.Shape) * Weights(x)];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        var w = Weights(a.Primals[0]);
        var y = new Node?[a.Order + 1];
        for (int k = 1; k <= a.Order; k++)
        {
            // y_k needs the second derivative as soon as a lower coefficient moves the point (y_k = f″·x₁² + …).
            for (int j = 1; j < k; j++)
                if (a.X(0, j) is not null)
                    throw new NotSmoothException(a.Source, k, $"{Name} has no derivatives of order ≥ 2 (its derivative jumps where the extremum changes hands)");
            if (a.X(0, k) is { } xk) y[k] = Fn.Sum(w * xk, Shifted(a.PrefixRank), KeepDims);
        }
        return y;
    }
}

/// <summary>
/// The derivative of max (min) over axes: 1/c at the c elements that attain the extremum of their row, 0
/// elsewhere. Piecewise constant with jumps; differentiating it means a second derivative of the extremum,
/// which is refused.
/// </summary>
public sealed class ExtremumWeightsOp(int[] axes, bool isMax) : Primitive
{
    /// <summary>The reduced axes.</summary>
    public int[] Axes { get; } = axes;
    /// <summary>True for max, false for min.</summary>
    public bool IsMax { get; } = isMax;
    /// <inheritdoc/>
    public override string Name => IsMax ? "max_weights" : "min_weights";
    /// <inheritdoc/>
    public override string Attributes => $"axes=[{string.Join(",", Axes)}]";
    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        foreach (var ax in Axes)
            if (ax < 0 || ax >= inputs[0].Rank) throw new ShapeException($"{Name}: axis {ax} is out of range for shape {inputs[0].Shape}.");
        return inputs[0].Shape;
    }
    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) =>
        AxisKernels.ExtremumWeights(IsMax, inputs[0], Axes, output);
    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) =>
        throw new NotSmoothException(node, 2, $"{Name} is the derivative of a max/min reduction, which has no derivatives of order ≥ 2");
    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) => a.AllZero() ? new Node?[a.Order + 1] :
        throw new NotSmoothException(a.Source, a.Order + 1, $"{Name} is the derivative of a max/min reduction, which has no derivatives of order ≥ 2");
}

/// <summary>
/// Product over axes. Taylor rule through the logarithmic derivative: with s = Σ ln|x| over the axes
/// (each ln|x| jet by Faà di Bruno), y′ = y·s′ (<see cref="TaylorMath.ExpRecurrence"/>); O(K²) products
/// plus one jet of ln per element. The rules divide by the factors: where a factor is exactly zero the
/// derivatives are not computed (NaN), although they exist.
/// </summary>
public sealed class ProdOp(int[] axes, bool keepDims) : AxesReductionOp(axes, keepDims)
{
    /// <inheritdoc/>
    public override string Name => "prod";
    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) =>
        AxisKernels.Reduce(Reduction.Prod, inputs[0], Axes, output);

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        var x = node.Inputs[0];
        return [Fn.BroadcastTo(Kept(ct * node, x.Shape), x.Shape) / x];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        var x0 = a.Primals[0];
        var log = TaylorMath.FaaDiBruno(k => a.X(0, k), a.Order, m => LogOp.Instance.Derivative(x0, x0, m));
        var axes = Shifted(a.PrefixRank);
        return TaylorMath.ExpRecurrence(a.Output0, k => log[k] is { } l ? Fn.Sum(l, axes, KeepDims) : null, a.Order);
    }
}

/// <summary>Cumulative sum along one axis (from the far end when <see cref="Reverse"/>). Linear; its VJP is the reverse cumulative sum.</summary>
public sealed class CumSumOp(int axis, bool reverse) : Primitive
{
    /// <summary>The (non-negative) axis summed along.</summary>
    public int Axis { get; } = axis;
    /// <summary>Whether the sums run from the last element backwards.</summary>
    public bool Reverse { get; } = reverse;
    /// <inheritdoc/>
    public override string Name => "cumsum";
    /// <inheritdoc/>
    public override string Attributes => $"axis={Axis}{(Reverse ? ", reverse" : "")}";
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.Linear;

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        if (Axis < 0 || Axis >= inputs[0].Rank) throw new ShapeException($"cumsum: axis {Axis} is out of range for shape {inputs[0].Shape}.");
        return inputs[0].Shape;
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => AxisKernels.CumSum(inputs[0], Axis, Reverse, output);
    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) => [Fn.Apply(new CumSumOp(Axis, !Reverse), ct)];
    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) => a.MapLinear(x => Fn.Apply(new CumSumOp(Axis + a.PrefixRank, Reverse), x));
}
