using System.Globalization;
using JetSharp.Tensors;

namespace JetSharp.Ir;

/// <summary>A graph input (a placeholder filled at run time). Transforms map inputs themselves.</summary>
public sealed class InputOp(string name, int index) : Primitive
{
    /// <summary>The name given to <see cref="Graph.Input"/> (<c>in0</c>, <c>in1</c>, … by default).</summary>
    public string InputName { get; } = name;
    /// <summary>Position of the input in <see cref="Graph.Inputs"/>.</summary>
    public int Index { get; } = index;
    /// <inheritdoc/>
    public override string Name => "input";
    /// <inheritdoc/>
    public override string Attributes => $"{InputName}#{Index}";
    /// <summary>Always throws: inputs are created by <see cref="Graph.Input"/>, never applied.</summary>
    /// <exception cref="InvalidOperationException">Always.</exception>
    public override Shape InferShape(IReadOnlyList<Node> inputs) =>
        throw new InvalidOperationException("input: created by Graph.Input, never applied.");
    /// <summary>Always throws: the executor fills inputs with the values passed to the run.</summary>
    /// <exception cref="InvalidOperationException">Always.</exception>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) =>
        throw new InvalidOperationException("input: filled by the executor.");
    /// <summary>No operands, so no cotangents: an empty array.</summary>
    public override Node?[] Vjp(Node node, Node cotangent) => [];
    /// <summary>All coefficients null: transforms seed input jets themselves and never call this rule for them.</summary>
    public override Node?[] Taylor(JetRuleArgs args) => new Node?[args.Order + 1];
}

/// <summary>A constant tensor baked into the graph (a scalar constant is rank 0 and broadcasts).</summary>
public sealed class ConstantOp : Primitive
{
    private readonly int _contentHash;

    /// <summary>A rank-0 constant; it takes the dtype of the graph it is applied in.</summary>
    public ConstantOp(double scalar)
    {
        ScalarValue = scalar;
        Shape = Shape.Scalar;
    }

    /// <summary>
    /// A tensor constant of element type <paramref name="dtype"/> (<paramref name="value"/> is converted
    /// when its dtype differs, and shared otherwise: do not modify it afterwards). Each tensor constant
    /// compares by content: two tensor constants of the same dtype, shape and bits are equal, so common-
    /// subexpression elimination merges constants that rewrites (e.g. constant folding) make twice.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined value.</exception>
    public ConstantOp(NDArray value, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(value);
        DTypes.Check(dtype);
        Value = value.DType == dtype ? value : dtype == DType.Float32 ? value.To<float>() : value.To<double>();
        Shape = value.Shape;
        var hash = new HashCode();
        hash.AddBytes(Bytes(Value));
        _contentHash = hash.ToHashCode();
    }

    private static ReadOnlySpan<byte> Bytes(NDArray value) => value switch
    {
        NDArray<double> d => System.Runtime.InteropServices.MemoryMarshal.AsBytes(d.Data.AsSpan()),
        NDArray<float> f => System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.Data.AsSpan()),
        _ => throw new NotSupportedException($"constant of dtype {value.DType}"),
    };

    /// <summary>The value of a scalar constant; null for a tensor constant.</summary>
    public double? ScalarValue { get; }
    /// <summary>The value of a tensor constant; null for a scalar constant.</summary>
    public NDArray? Value { get; }
    /// <summary>The constant's shape (<see cref="Shape.Scalar"/> for a scalar constant).</summary>
    public Shape Shape { get; }

    /// <inheritdoc/>
    public override string Name => "const";
    /// <summary>The scalar value (round-trip format), or <c>tensor#hash shape</c> for a tensor constant (hash of its content).</summary>
    public override string Attributes => ScalarValue is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : $"tensor#{(uint)_contentHash:x8} {Shape}";

    /// <summary>Equal attributes, and for tensor constants equal contents (bit for bit).</summary>
    public override bool Equals(Primitive? other) =>
        base.Equals(other) && (ScalarValue is not null || Bytes(Value!).SequenceEqual(Bytes(((ConstantOp)other!).Value!)));
    /// <summary>Returns <see cref="Shape"/>; a constant takes no inputs.</summary>
    /// <exception cref="ShapeException">Inputs were given.</exception>
    public override Shape InferShape(IReadOnlyList<Node> inputs) { Arity(inputs, 0, Name); return Shape; }

    /// <summary>The value as a tensor of element type T (shared; do not modify).</summary>
    public NDArray<T> Get<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
        Value as NDArray<T> ?? NDArray.Scalar(T.CreateTruncating(ScalarValue!.Value));

    /// <summary>Copies the value into <paramref name="output"/>.</summary>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => Get<T>().Data.CopyTo(output.Data, 0);
    /// <summary>No operands, so no cotangents: an empty array.</summary>
    public override Node?[] Vjp(Node node, Node cotangent) => [];
    /// <summary>A constant has zero derivatives: every coefficient of order ≥ 1 is null.</summary>
    public override Node?[] Taylor(JetRuleArgs args) => new Node?[args.Order + 1];
}
