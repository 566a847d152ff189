using System.Threading;
using JetSharp.Backend;
using JetSharp.Ir;
using JetSharp.Tensors;

namespace JetSharp.Primitives;

/// <summary>
/// The m-th derivative f⁽ᵐ⁾(x₀) (m ≥ 1) of an elementwise function as graph nodes, written in terms of the
/// input x₀ and the output y₀ = f(x₀) (both of the same shape), or null when it is identically zero.
/// </summary>
/// <param name="x0">The primal input.</param>
/// <param name="y0">The primal output f(x₀).</param>
/// <param name="m">The order, m ≥ 1.</param>
public delegate Node? DerivativeTable(Node x0, Node y0, int m);

/// <summary>
/// An elementwise function y = f(x) defined by data: a kernel and a derivative table (f⁽ᵐ⁾(x₀) as nodes
/// for every m). This is both how the built-in functions of <see cref="Fn"/> (abs, erf, asin, gelu, …) are
/// defined and the public way to add one: every rule follows from the table — the VJP is ct·f′(x₀) and the
/// Taylor rule is Faà di Bruno's formula (<see cref="TaylorMath.FaaDiBruno"/>), so the function works in
/// every transform (JVP, VJP, jets of any order), every strategy, and through collapsing (the highest
/// coefficient enters as f′(x₀)·x_K, a product the simplifier pulls sums through).
/// <para><see cref="MaxOrder"/> declares how far the table goes: a function with a kink (abs, leaky relu)
/// has a first derivative that jumps, so its second derivative does not exist at the kink; it sets
/// MaxOrder = 1, and a jet or a nested derivative that needs order 2 raises <see cref="NotSmoothException"/>
/// naming the node and the user's line. Its first derivative must then itself be a function with
/// MaxOrder = 0 (see <see cref="Derivative"/>), so that differentiating the VJP raises too.</para>
/// </summary>
public sealed class ElementwiseFunction
{
    private static long _nextId;

    /// <summary>Defines an elementwise function.</summary>
    /// <param name="name">Short lower-case name used in listings and error messages.</param>
    /// <param name="kernel">Computes f on spans (see <see cref="UnaryKernel.FromScalar"/> for a scalar delegate).</param>
    /// <param name="derivatives">f⁽ᵐ⁾(x₀) for m = 1 … <paramref name="maxOrder"/> (null entries are zeros).</param>
    /// <param name="maxOrder">Highest order of derivative that exists everywhere; int.MaxValue for a smooth function.</param>
    /// <param name="convention">Words for the documentation and error messages: how the function is differentiated at its kinks, if it has any.</param>
    public ElementwiseFunction(string name, UnaryKernel kernel, DerivativeTable derivatives, int maxOrder = int.MaxValue, string? convention = null)
        : this(name, kernel, derivatives, maxOrder, convention, builtIn: false) { }

    internal ElementwiseFunction(string name, UnaryKernel kernel, DerivativeTable derivatives, int maxOrder, string? convention, bool builtIn)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(derivatives);
        if (maxOrder < 0) throw new ArgumentOutOfRangeException(nameof(maxOrder), $"elementwise function '{name}': maxOrder must be ≥ 0, got {maxOrder}.");
        Name = name;
        Kernel = kernel;
        Derivatives = derivatives;
        MaxOrder = maxOrder;
        Convention = convention;
        // Equality of primitives is by type and attributes: a user's function gets a unique key, so two
        // definitions that share a name are never merged by common-subexpression elimination.
        Key = builtIn ? name : $"{name}#{Interlocked.Increment(ref _nextId)}";
    }

    /// <summary>The name shown in listings.</summary>
    public string Name { get; }
    /// <summary>The kernel.</summary>
    public UnaryKernel Kernel { get; }
    /// <summary>The derivative table.</summary>
    public DerivativeTable Derivatives { get; }
    /// <summary>Highest order of derivative that exists everywhere (int.MaxValue: smooth).</summary>
    public int MaxOrder { get; }
    /// <summary>How the function is differentiated at its kinks (null for a smooth function).</summary>
    public string? Convention { get; }
    internal string Key { get; }

    /// <summary>f applied elementwise to <paramref name="x"/>.</summary>
    public Node Apply(Node x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Graph.Apply(new ElementwiseFunctionOp(this), x);
    }

    /// <summary>
    /// A derivative table whose first derivative is the function <paramref name="derivative"/> applied to x₀
    /// and whose higher derivatives are that function's own table (f⁽ᵐ⁾ = (f′)⁽ᵐ⁻¹⁾). Use it for a function
    /// whose derivative is a kernel of its own, in particular for a kink: f′ with MaxOrder 0 refuses to be
    /// differentiated, which makes nested first-order derivatives refuse exactly where jets do.
    /// </summary>
    public static DerivativeTable Derivative(ElementwiseFunction derivative)
    {
        ArgumentNullException.ThrowIfNull(derivative);
        return (x0, y0, m) =>
        {
            var d1 = derivative.Apply(x0);
            return m == 1 ? d1 : derivative.Derivatives(x0, d1, m - 1);
        };
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>The primitive of an <see cref="ElementwiseFunction"/>: f applied elementwise.</summary>
public sealed class ElementwiseFunctionOp(ElementwiseFunction function) : ElementwiseUnaryOp
{
    /// <summary>The function applied.</summary>
    public ElementwiseFunction Function { get; } = function;
    /// <inheritdoc/>
    public override string Name => Function.Name;
    /// <inheritdoc/>
    public override string Attributes => Function.Key == Function.Name ? "" : Function.Key;
    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => Function.Kernel.Run(inputs[0], output);

    /// <inheritdoc/>
    public override Node? Derivative(Node x0, Node y0, int m) =>
        m > Function.MaxOrder ? throw new NotSmoothException(y0, m, Reason(m)) : Function.Derivatives(x0, y0, m);

    private string Reason(int m) =>
        $"{Function.Name} has no derivative of order {m} at its kinks{(Function.Convention is null ? "" : $" ({Function.Convention})")}";

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        if (Function.MaxOrder < 1) throw new NotSmoothException(node, 1, Reason(1));
        return base.Vjp(node, ct);
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) =>
        TaylorMath.FaaDiBruno(k => a.X(0, k), a.Order, m =>
            m > Function.MaxOrder ? throw new NotSmoothException(a.Source, m, Reason(m)) : Function.Derivatives(a.Primals[0], a.Output0, m));
}

/// <summary>
/// Builders of <see cref="DerivativeTable"/>s for the families of functions whose derivatives follow a
/// closed recurrence (each table is computed once per order and cached):
/// <list type="bullet">
/// <item><see cref="PolynomialInOutput"/>: f′ = Q(y), so f⁽ᵐ⁾ = P_m(y) with P_(m+1) = P_m′·Q (tan, tanh, σ, 1/x, eˣ).</item>
/// <item><see cref="PolynomialTimesPower"/>: f⁽ᵐ⁾ = P_m(x)·q(x)^(β−m) (arcsin, arctan, arsinh, ln(1+x), …).</item>
/// <item><see cref="PolynomialTimesExp"/>: f⁽ᵐ⁾ = P_m(x)·e^(h(x)) (erf, erfc, the Gaussian part of GELU).</item>
/// </list>
/// Polynomials are given lowest degree first.
/// </summary>
public static class DerivativeTables
{
    /// <summary>f⁽ᵐ⁾ = P_m(y) for f′ = Q(y) (<paramref name="firstDerivative"/> = Q).</summary>
    public static DerivativeTable PolynomialInOutput(double[] firstDerivative)
    {
        var table = new PolynomialSequence(firstDerivative, p => TaylorMath.DerivativeTimes(p, firstDerivative));
        return (x0, y0, m) => TaylorMath.Polynomial(table[m], y0);
    }

    /// <summary>
    /// f⁽ᵐ⁾ = P_m(x)·q(x)^(β−m) for m ≥ 1, from P₁ = <paramref name="first"/>: differentiating gives
    /// P_(m+1) = P_m′·q + (β − m)·q′·P_m. For example arcsin: q = 1 − x², β = ½, P₁ = 1.
    /// </summary>
    public static DerivativeTable PolynomialTimesPower(double[] q, double beta, double[] first)
    {
        var dq = Derivative(q);
        var table = new PolynomialSequence(first, (p, m) => Add(Multiply(Derivative(p), q), Multiply(Scale(dq, beta - m), p)));
        return (x0, y0, m) =>
        {
            if (TaylorMath.Polynomial(table[m], x0) is not { } pm) return null;
            double e = beta - m;
            if (e == 0) return pm;
            var qx = TaylorMath.Polynomial(q, x0)!;
            return pm * (e == 1 ? qx : Fn.Pow(qx, e));
        };
    }

    /// <summary>
    /// f⁽ᵐ⁾ = P_m(x)·e^(h(x)) for m ≥ <paramref name="firstOrder"/>, from P at that order = <paramref name="first"/>:
    /// P_(m+1) = P_m′ + h′·P_m. Orders below <paramref name="firstOrder"/> come from <paramref name="lower"/>.
    /// For example erf: h = −x², P₁ = 2/√π.
    /// </summary>
    public static DerivativeTable PolynomialTimesExp(double[] h, double[] first, int firstOrder = 1, DerivativeTable? lower = null)
    {
        if (firstOrder > 1 && lower is null) throw new ArgumentException("PolynomialTimesExp: orders below firstOrder need a lower table.", nameof(lower));
        var dh = Derivative(h);
        var table = new PolynomialSequence(first, p => Add(Derivative(p), Multiply(dh, p)));
        return (x0, y0, m) =>
        {
            if (m < firstOrder) return lower!(x0, y0, m);
            if (TaylorMath.Polynomial(table[m - firstOrder + 1], x0) is not { } pm) return null;
            return pm * Fn.Exp(TaylorMath.Polynomial(h, x0)!);
        };
    }

    /// <summary>The derivatives of the function eˣ-like y′ = y + c: every f⁽ᵐ⁾ is y₀ + <paramref name="c"/>.</summary>
    public static DerivativeTable OutputPlus(double c) => (x0, y0, m) => c == 0 ? y0 : y0 + c;

    /// <summary>Zero derivatives of every order (piecewise-constant functions, by the almost-everywhere convention).</summary>
    public static DerivativeTable Zero { get; } = (x0, y0, m) => null;

    // ---- small polynomial arithmetic (lowest degree first) ----

    internal static double[] Derivative(double[] p) => p.Length <= 1 ? [0] : [.. p.Skip(1).Select((c, i) => c * (i + 1))];

    internal static double[] Multiply(double[] a, double[] b)
    {
        var r = new double[a.Length + b.Length - 1];
        for (int i = 0; i < a.Length; i++)
            for (int j = 0; j < b.Length; j++) r[i + j] += a[i] * b[j];
        return r;
    }

    internal static double[] Add(double[] a, double[] b)
    {
        var r = new double[Math.Max(a.Length, b.Length)];
        for (int i = 0; i < a.Length; i++) r[i] += a[i];
        for (int i = 0; i < b.Length; i++) r[i] += b[i];
        return r;
    }

    internal static double[] Scale(double[] a, double s) => [.. a.Select(c => c * s)];

    /// <summary>P₁, P₂, … generated on demand by a step P_m → P_(m+1) (thread-safe).</summary>
    private sealed class PolynomialSequence
    {
        private readonly List<double[]> _items;
        private readonly Func<double[], int, double[]> _next;

        public PolynomialSequence(double[] first, Func<double[], double[]> next) : this(first, (p, _) => next(p)) { }

        public PolynomialSequence(double[] first, Func<double[], int, double[]> next)
        {
            _items = [first];
            _next = next;
        }

        /// <summary>P_m (m ≥ 1).</summary>
        public double[] this[int m]
        {
            get
            {
                lock (_items)
                {
                    while (_items.Count < m) _items.Add(_next(_items[^1], _items.Count));
                    return _items[m - 1];
                }
            }
        }
    }
}
