using JetSharp.Backend;
using JetSharp.Ir;
using JetSharp.Tensors;

namespace JetSharp.Primitives;

/// <summary>
/// scatter_add_into(target, updates): <paramref name="axis"/>-slices of updates added into a copy of target at the
/// positions <paramref name="indices"/> (repeated indices accumulate) — target + <see cref="ScatterAddOp"/>(updates) as
/// one operation. The updates have target's shape with the axis replaced by the indices' shape; the result has target's
/// shape. Jointly linear in both inputs.
/// <para>
/// In place (<see cref="Primitive.InPlaceInput"/> = 0): when target dies at this node the executor hands its buffer over
/// as the output, and the kernel only adds the slices (O(indices·slice) instead of a zeroed target-sized tensor and a
/// target-sized sum). The stde example's first-layer gradient is xᵀδ plus the gradient of 16 gathered rows: this
/// writes those 16 rows into xᵀδ's [D, 128] buffer. <c>AddOfScatterAdd</c> rewrites target + scatter_add(updates) into it.
/// </para>
/// </summary>
/// <param name="axis">The (non-negative) axis scattered along.</param>
/// <param name="indices">The positions along the axis (fixed, or sampled per run).</param>
public sealed class ScatterAddIntoOp(int axis, IndexList indices) : Primitive
{
    /// <summary>The (non-negative) axis scattered along.</summary>
    public int Axis { get; } = axis;
    /// <summary>The indices.</summary>
    public IndexList Indices { get; } = indices ?? throw new ArgumentNullException(nameof(indices));
    /// <inheritdoc/>
    public override string Name => "scatter_add_into";
    /// <summary>True for sampled indices (<see cref="IndexList.Sampled"/>): the result changes from run to run, so it is never folded or merged.</summary>
    public override bool IsRandom => Indices.IsSampled;
    /// <inheritdoc/>
    public override string Attributes => $"axis={Axis}, {Indices.Text}";
    /// <summary>Jointly linear: target + scatter(updates) is a linear map of both together, affine in each.</summary>
    public override Linearity LinearityIn(int input) => Linearity.JointlyLinear;
    /// <summary>The output may take over the target's buffer: the kernel then adds the slices where they are.</summary>
    public override int InPlaceInput => 0;

    /// <summary>The shape the updates must have for a target of shape <paramref name="target"/>.</summary>
    public Shape UpdatesShape(Shape target) => new([.. target.Take(Axis), .. Indices.Shape, .. target.Skip(Axis + 1)]);

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 2, Name);
        Shape t = inputs[0].Shape, u = inputs[1].Shape;
        if (Axis < 0 || Axis >= t.Rank)
            throw new ShapeException($"scatter_add_into: axis {Axis} is out of range for target {t}.");
        var expected = UpdatesShape(t);
        if (u != expected)
            throw new ShapeException($"scatter_add_into: updates {u} must be the target {t} with axis {Axis} replaced by the indices' shape {Indices.Shape}, i.e. {expected}.");
        Indices.Check(t[Axis], "scatter_add_into", Axis, t);
        return t;
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) =>
        AxisKernels.ScatterAddInto(inputs[0], inputs[1], Axis, Indices.Resolve(context), output);

    /// <summary>The target gets the cotangent itself, the updates its rows at the indices (take).</summary>
    public override Node?[] Vjp(Node node, Node ct) => [ct, Fn.Apply(new TakeOp(Axis, Indices), ct)];

    /// <summary>
    /// Linear, so coefficient k is the map of the inputs' coefficients k (the axis moved back by the direction prefix): both
    /// present, scatter_add_into of them; the target's alone, itself; the updates' alone, a scatter-add into zeros.
    /// </summary>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        ArgumentNullException.ThrowIfNull(a);
        int axis = Axis + a.PrefixRank, extent = a.Primals[0].Shape[Axis];
        var y = new Node?[a.Order + 1];
        for (int k = 1; k <= a.Order; k++)
            y[k] = (a.X(0, k), a.X(1, k)) switch
            {
                ({ } t, { } u) => Fn.Apply(new ScatterAddIntoOp(axis, Indices), t, u),
                ({ } t, null) => t,
                (null, { } u) => Fn.Apply(new ScatterAddOp(axis, Indices, extent), u),
                _ => null,
            };
        return y;
    }
}
