using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>Elementwise binary operation with NumPy broadcasting.</summary>
public abstract class ElementwiseBinaryOp(BinaryOp kernel) : Primitive
{
    /// <summary>The backend kernel that executes this operation (a defined <see cref="BinaryOp"/>).</summary>
    public BinaryOp Kernel { get; } = Enum.IsDefined(kernel) ? kernel
        : throw new ArgumentOutOfRangeException(nameof(kernel), kernel, $"ElementwiseBinaryOp: {(int)kernel} is not a binary operation.");
    /// <inheritdoc/>
    public override string Name => Kernel.ToString().ToLowerInvariant();
    /// <inheritdoc/>
    public override ElementwiseArithmetic? Arithmetic => Kernel;

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 2, Name);
        return Shape.Broadcast(inputs[0].Shape, inputs[1].Shape, Name);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => Elementwise.Binary(Kernel, inputs[0], inputs[1], output);
}

/// <summary>a + b. Linear in both inputs.</summary>
public sealed class AddOp() : ElementwiseBinaryOp(BinaryOp.Add)
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly AddOp Instance = new();
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.JointlyLinear;

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) =>
        [Fn.SumToShape(ct, node.Inputs[0].Shape), Fn.SumToShape(ct, node.Inputs[1].Shape)];

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        var y = new Node?[a.Order + 1];
        for (int k = 1; k <= a.Order; k++)
            y[k] = (a.Lifted(0, k), a.Lifted(1, k)) switch
            {
                ({ } p, { } q) => p + q,
                (var p, var q) => p ?? q,
            };
        return y;
    }
}

/// <summary>a − b. Linear in both inputs.</summary>
public sealed class SubOp() : ElementwiseBinaryOp(BinaryOp.Sub)
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly SubOp Instance = new();
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.JointlyLinear;

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) =>
        [Fn.SumToShape(ct, node.Inputs[0].Shape), Fn.SumToShape(-ct, node.Inputs[1].Shape)];

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        var y = new Node?[a.Order + 1];
        for (int k = 1; k <= a.Order; k++)
            y[k] = (a.Lifted(0, k), a.Lifted(1, k)) switch
            {
                ({ } p, { } q) => p - q,
                ({ } p, null) => p,
                (null, { } q) => -q,
                _ => null,
            };
        return y;
    }
}

/// <summary>a · b elementwise. Linear in each input separately; Taylor rule: Leibniz.</summary>
public sealed class MulOp() : ElementwiseBinaryOp(BinaryOp.Mul)
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly MulOp Instance = new();
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.Linear;

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) =>
        [Fn.SumToShape(ct * node.Inputs[1], node.Inputs[0].Shape), Fn.SumToShape(ct * node.Inputs[0], node.Inputs[1].Shape)];

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) =>
        TaylorMath.Leibniz(k => a.Lifted(0, k), k => a.Lifted(1, k), a.Order, (p, q) => p * q);
}

/// <summary>
/// a / b elementwise. Taylor rule: the O(K²) division recurrence
/// y_k = (a_k − Σ_{j=1..k} C(k, j) b_j y_{k−j}) / b₀, which needs no extra node for 1/b and keeps
/// a_K and b_K linear with direction-free factors.
/// </summary>
public sealed class DivOp() : ElementwiseBinaryOp(BinaryOp.Div)
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly DivOp Instance = new();
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => input == 0 ? Linearity.Linear : Linearity.Nonlinear;

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        var b = node.Inputs[1];
        var ctOverB = ct / b;
        return [Fn.SumToShape(ctOverB, node.Inputs[0].Shape), Fn.SumToShape(-(ctOverB * node), b.Shape)];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        var y = new Node?[a.Order + 1];
        var b0 = a.Primals[1];
        for (int k = 1; k <= a.Order; k++)
        {
            var terms = new List<Node?> { a.Lifted(0, k) };
            for (int j = 1; j <= k; j++)
            {
                var yPrev = k - j == 0 ? a.Output0 : y[k - j];
                if (a.Lifted(1, j) is { } bj && yPrev is not null)
                    terms.Add(TaylorMath.Scale(-TaylorMath.Binomial(k, j), bj * yPrev));
            }
            y[k] = TaylorMath.Sum(terms) is { } numerator ? numerator / b0 : null;
        }
        return y;
    }
}
