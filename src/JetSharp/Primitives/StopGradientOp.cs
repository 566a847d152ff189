using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>The identity whose derivative is declared zero: no cotangent flows back, every Taylor coefficient is zero.</summary>
public sealed class StopGradientOp : Primitive
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly StopGradientOp Instance = new();
    /// <inheritdoc/>
    public override string Name => "stop_gradient";
    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs) { Arity(inputs, 1, Name); return inputs[0].Shape; }
    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => inputs[0].Data.CopyTo(output.Data, 0);
    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node cotangent) => [null];
    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs args) => new Node?[args.Order + 1];
}
