using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>
/// Elementwise function y = f(x). A subclass supplies its kernel and its derivative table
/// f⁽ᵐ⁾(x₀), written in terms of x₀ and y₀; the VJP (ct·f′) and the Taylor rule (Faà di Bruno,
/// see <see cref="TaylorMath.FaaDiBruno"/>) follow from the table.
/// Why Faà di Bruno rather than per-function recurrences: it skips every partition that involves a
/// zero coefficient (with x₂..x_K = 0, y_k is the single product f⁽ᵏ⁾(x₀)·x₁ᵏ), and it exposes the
/// highest coefficient as the linear term f′(x₀)·x_K that collapsing pulls sums through.
/// </summary>
public abstract class ElementwiseUnaryOp : Primitive
{
    /// <inheritdoc/>
    public override bool IsElementwise => true;

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        return inputs[0].Shape;
    }

    /// <summary>f⁽ᵐ⁾(x₀) for m ≥ 1, or null when it is identically zero.</summary>
    public abstract Node? Derivative(Node x0, Node y0, int m);

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) =>
        [Derivative(node.Inputs[0], node, 1) is { } d ? ct * d : null];

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        return TaylorMath.FaaDiBruno(k => a.X(0, k), a.Order, m => Derivative(a.Primals[0], a.Output0, m));
    }
}

/// <summary>An elementwise function computed by one <see cref="Elementwise.Unary{T}"/> kernel.</summary>
public abstract class KernelUnaryOp(UnaryOp kernel) : ElementwiseUnaryOp
{
    private readonly UnaryOp _kernel = Enum.IsDefined(kernel) ? kernel
        : throw new ArgumentOutOfRangeException(nameof(kernel), kernel, $"KernelUnaryOp: {(int)kernel} is not a unary operation.");

    /// <inheritdoc/>
    public override string Name => _kernel.ToString().ToLowerInvariant();
    /// <inheritdoc/>
    public override ElementwiseArithmetic? Arithmetic => _kernel;
    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => Elementwise.Unary(_kernel, inputs[0], output);
}

/// <summary>−x. Linear.</summary>
public sealed class NegOp() : KernelUnaryOp(UnaryOp.Neg)
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly NegOp Instance = new();
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.Linear;
    /// <inheritdoc/>
    public override Node? Derivative(Node x0, Node y0, int m) => m == 1 ? Fn.BroadcastTo(x0.Graph.Scalar(-1), x0.Shape) : null;
    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) => [-ct];
    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) => a.MapLinear(x => -x);
}

/// <summary>eˣ: every derivative is y₀.</summary>
public sealed class ExpOp() : KernelUnaryOp(UnaryOp.Exp)
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly ExpOp Instance = new();
    /// <inheritdoc/>
    public override Node? Derivative(Node x0, Node y0, int m) => y0;
}

/// <summary>ln x: f⁽ᵐ⁾ = (−1)^(m−1)(m−1)!·x^(−m).</summary>
public sealed class LogOp() : KernelUnaryOp(UnaryOp.Log)
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly LogOp Instance = new();
    /// <inheritdoc/>
    public override Node? Derivative(Node x0, Node y0, int m) =>
        TaylorMath.Scale((m % 2 == 1 ? 1 : -1) * TaylorMath.Factorial(m - 1), Fn.Pow(x0, -m));
}

/// <summary>sin x: derivatives cycle cos, −sin, −cos, sin.</summary>
public sealed class SinOp() : KernelUnaryOp(UnaryOp.Sin)
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly SinOp Instance = new();
    /// <inheritdoc/>
    public override Node? Derivative(Node x0, Node y0, int m) => (m % 4) switch
    {
        1 => Fn.Cos(x0),
        2 => -y0,
        3 => -Fn.Cos(x0),
        _ => y0,
    };
}

/// <summary>cos x: derivatives cycle −sin, −cos, sin, cos.</summary>
public sealed class CosOp() : KernelUnaryOp(UnaryOp.Cos)
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly CosOp Instance = new();
    /// <inheritdoc/>
    public override Node? Derivative(Node x0, Node y0, int m) => (m % 4) switch
    {
        1 => -Fn.Sin(x0),
        2 => -y0,
        3 => Fn.Sin(x0),
        _ => y0,
    };
}

/// <summary>
/// An elementwise function whose derivatives are polynomials in y: f′ = Q(y) and
/// f⁽ᵐ⁺¹⁾ = P_m′(y)·Q(y). tanh: Q = 1 − y²; sigmoid: Q = y − y².
/// </summary>
public abstract class PolynomialDerivativeOp(UnaryOp kernel, double[] firstDerivative) : KernelUnaryOp(kernel)
{
    private readonly List<double[]> _table = [firstDerivative];

    /// <summary>Coefficients (lowest degree first) of f⁽ᵐ⁾ as a polynomial in y.</summary>
    public double[] DerivativePolynomial(int m)
    {
        lock (_table)
        {
            while (_table.Count < m) _table.Add(TaylorMath.DerivativeTimes(_table[^1], firstDerivative));
            return _table[m - 1];
        }
    }

    /// <inheritdoc/>
    public override Node? Derivative(Node x0, Node y0, int m) => TaylorMath.Polynomial(DerivativePolynomial(m), y0);
}

/// <summary>tanh x, with f′ = 1 − y².</summary>
public sealed class TanhOp() : PolynomialDerivativeOp(UnaryOp.Tanh, [1, 0, -1])
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly TanhOp Instance = new();
}

/// <summary>σ(x) = 1/(1 + e⁻ˣ), with σ′ = σ − σ².</summary>
public sealed class SigmoidOp() : PolynomialDerivativeOp(UnaryOp.Sigmoid, [0, 1, -1])
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly SigmoidOp Instance = new();
}

/// <summary>softplus x = ln(1 + eˣ): f′ = σ(x), and f⁽ᵐ⁺¹⁾ = σ⁽ᵐ⁾(x), a polynomial in σ(x).</summary>
public sealed class SoftplusOp() : KernelUnaryOp(UnaryOp.Softplus)
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly SoftplusOp Instance = new();

    /// <inheritdoc/>
    public override Node? Derivative(Node x0, Node y0, int m)
    {
        var s = Fn.Sigmoid(x0);
        return m == 1 ? s : TaylorMath.Polynomial(SigmoidOp.Instance.DerivativePolynomial(m - 1), s);
    }
}

/// <summary>√x: f⁽ᵐ⁾ = (½)(½−1)…(½−m+1)·x^(½−m).</summary>
public sealed class SqrtOp() : KernelUnaryOp(UnaryOp.Sqrt)
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly SqrtOp Instance = new();
    /// <inheritdoc/>
    public override Node? Derivative(Node x0, Node y0, int m) => PowOp.PowerDerivative(x0, 0.5, m);
}

/// <summary>
/// xᵖ for a real exponent p. f⁽ᵐ⁾ = p(p−1)…(p−m+1)·x^(p−m); for a non-negative integer p the
/// derivatives above order p are structurally zero, so integer powers stay exact at x = 0.
/// </summary>
/// <exception cref="ArgumentOutOfRangeException">The exponent is NaN or infinite.</exception>
public sealed class PowOp(double exponent) : ElementwiseUnaryOp
{
    /// <summary>The real exponent p (finite).</summary>
    public double Exponent { get; } = double.IsFinite(exponent) ? exponent
        : throw new ArgumentOutOfRangeException(nameof(exponent), exponent, $"pow: the exponent must be finite, got {exponent}.");
    /// <inheritdoc/>
    public override string Name => "pow";
    /// <inheritdoc/>
    public override string Attributes => Exponent.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => Elementwise.Pow(inputs[0], Exponent, output);
    /// <inheritdoc/>
    public override Node? Derivative(Node x0, Node y0, int m) => PowerDerivative(x0, Exponent, m);

    /// <summary>
    /// The m-th derivative of xᵖ at <paramref name="x0"/>: p(p−1)…(p−m+1)·x0^(p−m), or null when the
    /// coefficient is zero (a non-negative integer p with m &gt; p).
    /// </summary>
    public static Node? PowerDerivative(Node x0, double p, int m)
    {
        double c = 1;
        for (int i = 0; i < m; i++) c *= p - i;
        if (c == 0) return null;
        double e = p - m;
        return e == 0 ? Fn.BroadcastTo(x0.Graph.Scalar(c), x0.Shape) : TaylorMath.Scale(c, e == 1 ? x0 : Fn.Pow(x0, e));
    }
}

/// <summary>
/// max(x, 0). First-order only: its derivative is the step 1[x &gt; 0] (<see cref="ReluGradOp"/>), which has
/// no derivative at 0, so any second-order use — a jet of order ≥ 2, or differentiating the derivative
/// (an HVP, grad of grad) — raises <see cref="NotSmoothException"/>.
/// </summary>
public sealed class ReluOp() : KernelUnaryOp(UnaryOp.Relu)
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly ReluOp Instance = new();
    /// <inheritdoc/>
    public override Node? Derivative(Node x0, Node y0, int m) => m == 1 ? x0.Graph.Apply(ReluGradOp.Instance, x0) : null;

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        for (int k = 2; k <= a.Order; k++)
            if (a.X(0, 1) is not null || a.X(0, k) is not null)
                throw new NotSmoothException(a.Source, a.Order, "relu has no derivatives of order ≥ 2");
        return base.Taylor(a);
    }
}

/// <summary>The derivative of relu, 1[x &gt; 0]. Differentiating it again means a second derivative of relu, which is refused.</summary>
public sealed class ReluGradOp() : KernelUnaryOp(UnaryOp.Step)
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly ReluGradOp Instance = new();
    /// <inheritdoc/>
    public override string Name => "relu_grad";
    /// <inheritdoc/>
    public override Node? Derivative(Node x0, Node y0, int m) => null;
    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) => throw new NotSmoothException(node, 2, "relu_grad is the derivative of relu, which has no derivatives of order ≥ 2");

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) => a.AllZero() ? new Node?[a.Order + 1] : throw new NotSmoothException(a.Source, a.Order + 1, "relu_grad is the derivative of relu, which has no derivatives of order ≥ 2");
}

/// <summary>1[x &gt; 0]: piecewise constant, so all its derivatives are zero.</summary>
public sealed class StepOp() : KernelUnaryOp(UnaryOp.Step)
{
    /// <summary>The shared instance (the primitive has no attributes).</summary>
    public static readonly StepOp Instance = new();
    /// <inheritdoc/>
    public override Node? Derivative(Node x0, Node y0, int m) => null;
}
