using JetSharp.Backend;
using JetSharp.Ir;
using JetSharp.Tensors;

namespace JetSharp.Primitives;

/// <summary>An elementwise function of two operands that broadcast NumPy-style, computed by a <see cref="MathBinary"/> kernel.</summary>
public abstract class BroadcastBinaryOp(MathBinary kernel) : Primitive
{
    /// <summary>The backend kernel.</summary>
    public MathBinary Kernel { get; } = kernel;
    /// <inheritdoc/>
    public override string Name => Kernel.ToString().ToLowerInvariant();
    /// <inheritdoc/>
    public override bool IsElementwise => true;

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 2, Name);
        return Shape.Broadcast(inputs[0].Shape, inputs[1].Shape, Name);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) =>
        BroadcastKernels.Binary(Kernel, inputs[0], inputs[1], output);

    /// <summary>Coefficient k of input i lifted to the output's rank (k = 0: the primal).</summary>
    protected static Func<int, Node?> Coefficients(JetRuleArgs a, int input) => k => a.Lifted(input, k);
}

/// <summary>
/// aᵇ with a tensor exponent. Taylor rule: with s = b·ln a (Leibniz on b and the jet of ln a), y′ = y·s′
/// (<see cref="TaylorMath.ExpRecurrence"/>). Derivatives need a &gt; 0 (a ≠ 0 when only a varies); for a
/// constant exponent use <see cref="Fn.Pow(Node, double)"/>, which is exact at a ≤ 0.
/// </summary>
public sealed class PowerOp() : BroadcastBinaryOp(MathBinary.Pow)
{
    /// <summary>The shared instance.</summary>
    public static readonly PowerOp Instance = new();

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        Node a = node.Inputs[0], b = node.Inputs[1];
        return [Fn.SumToShape(ct * b * node / a, a.Shape), Fn.SumToShape(ct * node * Fn.Log(a), b.Shape)];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        var a0 = a.Primals[0];
        var logA = TaylorMath.FaaDiBruno(Coefficients(a, 0), a.Order, m => LogOp.Instance.Derivative(a0, a0, m));
        Func<int, Node?> log = k => k == 0 ? Fn.Log(a0) : logA[k];
        Func<int, Node?> b = Coefficients(a, 1);
        return TaylorMath.ExpRecurrence(a.Output0, k => TaylorMath.LeibnizAt(b, log, k, (p, q) => p * q), a.Order);
    }
}

/// <summary>
/// atan2(a, b), the angle of the point (b, a). Taylor rule from y′ = (b·a′ − a·b′)/(a² + b²): the numerator
/// and denominator by Leibniz, their quotient by the division recurrence, y_k = (y′)_(k−1). Not defined at
/// the origin.
/// </summary>
public sealed class Atan2Op() : BroadcastBinaryOp(MathBinary.Atan2)
{
    /// <summary>The shared instance.</summary>
    public static readonly Atan2Op Instance = new();

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        Node a = node.Inputs[0], b = node.Inputs[1];
        var scaled = ct / (a * a + b * b);
        return [Fn.SumToShape(scaled * b, a.Shape), Fn.SumToShape(-(scaled * a), b.Shape)];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        var x = Coefficients(a, 0);
        var z = Coefficients(a, 1);
        Node? Numerator(int j) =>
            TaylorMath.Sum([TaylorMath.LeibnizAt(z, i => x(i + 1), j, (p, q) => p * q),
                            TaylorMath.LeibnizAt(x, i => z(i + 1), j, (p, q) => -(p * q))]);
        Node? Denominator(int j) =>
            TaylorMath.Sum([TaylorMath.LeibnizAt(x, x, j, (p, q) => p * q), TaylorMath.LeibnizAt(z, z, j, (p, q) => p * q)]);
        var q = TaylorMath.Quotient(Numerator, Denominator, a.Order - 1);
        var y = new Node?[a.Order + 1];
        for (int k = 1; k <= a.Order; k++) y[k] = q[k - 1];
        return y;
    }
}

/// <summary>
/// √(a² + b²) (overflow-safe kernel). Taylor rule: r = a² + b² by Leibniz, then y·y = r
/// (<see cref="TaylorMath.SqrtRecurrence"/>). Not differentiable where a = b = 0 (a cone point).
/// </summary>
public sealed class HypotOp() : BroadcastBinaryOp(MathBinary.Hypot)
{
    /// <summary>The shared instance.</summary>
    public static readonly HypotOp Instance = new();

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        Node a = node.Inputs[0], b = node.Inputs[1];
        var scaled = ct / node;
        return [Fn.SumToShape(scaled * a, a.Shape), Fn.SumToShape(scaled * b, b.Shape)];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        var x = Coefficients(a, 0);
        var z = Coefficients(a, 1);
        return TaylorMath.SqrtRecurrence(a.Output0, k =>
            TaylorMath.Sum([TaylorMath.LeibnizAt(x, x, k, (p, q) => p * q), TaylorMath.LeibnizAt(z, z, k, (p, q) => p * q)]), a.Order);
    }
}

/// <summary>
/// max(a, b) or min(a, b). Differentiable once: the derivative goes to the larger (smaller) operand, split
/// ½–½ at ties (the convention at the kink); a second derivative (a jet of order ≥ 2 with non-zero lower
/// coefficients, or differentiating the VJP) raises <see cref="NotSmoothException"/>.
/// </summary>
public sealed class ExtremumOp(bool isMax) : BroadcastBinaryOp(isMax ? MathBinary.Maximum : MathBinary.Minimum)
{
    /// <summary>max(a, b).</summary>
    public static readonly ExtremumOp Max = new(true);
    /// <summary>min(a, b).</summary>
    public static readonly ExtremumOp Min = new(false);
    /// <summary>True for maximum, false for minimum.</summary>
    public bool IsMax { get; } = isMax;
    /// <inheritdoc/>
    public override string Attributes => IsMax ? "max" : "min";

    /// <summary>The weight of a: 1 where a wins, ½ at ties, 0 where b wins (a node that refuses to be differentiated).</summary>
    private Node WeightOfA(Node a, Node b) => IsMax ? Fn.Apply(KinkWeightOp.Instance, a, b) : Fn.Apply(KinkWeightOp.Instance, b, a);

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        Node a = node.Inputs[0], b = node.Inputs[1];
        var w = WeightOfA(a, b);
        return [Fn.SumToShape(ct * w, a.Shape), Fn.SumToShape(ct * (1.0 - w), b.Shape)];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        var w = WeightOfA(a.Primals[0], a.Primals[1]);
        var y = new Node?[a.Order + 1];
        for (int k = 1; k <= a.Order; k++)
        {
            // y_k needs the second derivative as soon as a lower coefficient moves the point (y_k = f″·x₁² + …).
            for (int j = 1; j < k; j++)
                if (a.X(0, j) is not null || a.X(1, j) is not null)
                    throw new NotSmoothException(a.Source, k, $"{Name} has no derivatives of order ≥ 2 (its derivative jumps where the operands are equal)");
            Node? p = a.Lifted(0, k), q = a.Lifted(1, k);
            if (p is null && q is null) continue;
            y[k] = TaylorMath.Sum([p is null ? null : w * p, q is null ? null : (1.0 - w) * q]);
        }
        return y;
    }
}

/// <summary>
/// The derivative of max(a, b) with respect to a: 1 if a &gt; b, ½ if a = b, 0 otherwise. Piecewise
/// constant with jumps; differentiating it means a second derivative of max, which is refused.
/// </summary>
public sealed class KinkWeightOp() : BroadcastBinaryOp(MathBinary.MaxWeight)
{
    /// <summary>The shared instance.</summary>
    public static readonly KinkWeightOp Instance = new();
    /// <inheritdoc/>
    public override string Name => "max_weight";

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) =>
        throw new NotSmoothException(node, 2, "max_weight is the derivative of max/min, which has no derivatives of order ≥ 2");

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) => a.AllZero() ? new Node?[a.Order + 1] :
        throw new NotSmoothException(a.Source, a.Order + 1, "max_weight is the derivative of max/min, which has no derivatives of order ≥ 2");
}

/// <summary>
/// A comparison (less, greater, equal, …) giving 1 or 0. Piecewise constant: every derivative is zero
/// (the derivative almost everywhere), in every mode.
/// </summary>
public sealed class CompareOp(MathBinary comparison) : BroadcastBinaryOp(Check(comparison))
{
    private static MathBinary Check(MathBinary c) =>
        c is MathBinary.Less or MathBinary.LessEqual or MathBinary.Greater or MathBinary.GreaterEqual or MathBinary.Equal or MathBinary.NotEqual
            ? c : throw new ArgumentException($"compare: {c} is not a comparison.", nameof(comparison));

    /// <inheritdoc/>
    public override string Name => Kernel switch
    {
        MathBinary.LessEqual => "less_equal",
        MathBinary.GreaterEqual => "greater_equal",
        MathBinary.NotEqual => "not_equal",
        _ => Kernel.ToString().ToLowerInvariant(),
    };
    /// <inheritdoc/>
    public override string Attributes => Name;
    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) => [null, null];
    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) => new Node?[a.Order + 1];
}

/// <summary>
/// where(cond, a, b) = a where cond ≠ 0, else b; all three broadcast together. The derivatives are those
/// of the selected operand (cond, a comparison's 0/1 output, gets none); jointly linear in (a, b).
/// </summary>
public sealed class WhereOp : Primitive
{
    /// <summary>The shared instance.</summary>
    public static readonly WhereOp Instance = new();
    /// <inheritdoc/>
    public override string Name => "where";
    /// <inheritdoc/>
    public override bool IsElementwise => true;
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => input == 0 ? Linearity.Nonlinear : Linearity.JointlyLinear;

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 3, Name);
        if (!Shape.TryBroadcast(inputs[0].Shape, inputs[1].Shape, out var s) || !Shape.TryBroadcast(s, inputs[2].Shape, out s))
            throw new ShapeException($"where: condition {inputs[0].Shape}, a {inputs[1].Shape} and b {inputs[2].Shape} cannot be broadcast together.");
        return s;
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) =>
        BroadcastKernels.Where(inputs[0], inputs[1], inputs[2], output);

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        Node c = node.Inputs[0], zero = node.Graph.Scalar(0);
        return [null, Fn.SumToShape(Fn.Where(c, ct, zero), node.Inputs[1].Shape), Fn.SumToShape(Fn.Where(c, zero, ct), node.Inputs[2].Shape)];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        var y = new Node?[a.Order + 1];
        var c = a.Primals[0];
        for (int k = 1; k <= a.Order; k++)
        {
            Node? p = a.Lifted(1, k), q = a.Lifted(2, k);
            if (p is null && q is null) continue;
            y[k] = Fn.Where(c, p ?? a.Graph.Scalar(0), q ?? a.Graph.Scalar(0));
        }
        return y;
    }
}
