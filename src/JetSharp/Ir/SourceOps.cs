using System.Globalization;
using JetSharp.Tensors;

namespace JetSharp.Ir;

/// <summary>A graph input (a placeholder filled at run time). Transforms map inputs themselves.</summary>
public sealed class InputOp(string name, int index) : Primitive
{
    public string InputName { get; } = name;
    public int Index { get; } = index;
    public override string Name => "input";
    public override string Attributes => $"{InputName}#{Index}";
    public override Shape InferShape(IReadOnlyList<Node> inputs) =>
        throw new InvalidOperationException("input: created by Graph.Input, never applied.");
    public override void Execute<T>(Tensor<T>[] inputs, Tensor<T> output, RunContext context) =>
        throw new InvalidOperationException("input: filled by the executor.");
    public override Node?[] Vjp(Node node, Node cotangent) => [];
    public override Node?[] Taylor(JetRuleArgs args) => new Node?[args.Order + 1];
}

/// <summary>A constant tensor baked into the graph (a scalar constant is rank 0 and broadcasts).</summary>
public sealed class ConstantOp : Primitive
{
    private static long _nextId;
    private readonly long _id;

    public ConstantOp(double scalar)
    {
        ScalarValue = scalar;
        Shape = Shape.Scalar;
    }

    public ConstantOp(Tensor value, DType dtype)
    {
        Value = value.DType == dtype ? value : dtype == DType.Float32 ? value.To<float>() : value.To<double>();
        Shape = value.Shape;
        _id = Interlocked.Increment(ref _nextId);
    }

    /// <summary>The value of a scalar constant; null for a tensor constant.</summary>
    public double? ScalarValue { get; }
    public Tensor? Value { get; }
    public Shape Shape { get; }

    public override string Name => "const";
    public override string Attributes => ScalarValue is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : $"tensor#{_id} {Shape}";
    public override Shape InferShape(IReadOnlyList<Node> inputs) { Arity(inputs, 0, Name); return Shape; }

    /// <summary>The value as a tensor of element type T (shared; do not modify).</summary>
    public Tensor<T> Get<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
        Value as Tensor<T> ?? Tensor.Scalar(T.CreateTruncating(ScalarValue!.Value));

    public override void Execute<T>(Tensor<T>[] inputs, Tensor<T> output, RunContext context) => Get<T>().Data.CopyTo(output.Data, 0);
    public override Node?[] Vjp(Node node, Node cotangent) => [];
    public override Node?[] Taylor(JetRuleArgs args) => new Node?[args.Order + 1];
}
