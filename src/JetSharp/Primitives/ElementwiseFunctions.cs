using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>
/// The built-in <see cref="ElementwiseFunction"/>s (applied through <see cref="Fn"/>: <c>Fn.Erf(x)</c>, …).
/// Each is a kernel plus a derivative table from one of the recurrence families of
/// <see cref="DerivativeTables"/>, so its VJP and Taylor rule of any order follow from the table.
/// <para>Conventions at kinks and jumps. Piecewise-constant functions (sign, floor, ceil, round, step)
/// have zero derivatives of every order (their derivative almost everywhere). Functions with a kink
/// (abs, leaky relu, elu with α ≠ 1, selu) have a first derivative that jumps: they are differentiable
/// once, with the value of the derivative at the kink fixed below, and any use of a second derivative (a jet
/// of order ≥ 2 with a non-zero first coefficient, or differentiating the VJP) raises
/// <see cref="NotSmoothException"/>, as relu does.</para>
/// </summary>
public static class ElementwiseFunctions
{
    private static ElementwiseFunction Define(string name, MathFunction kernel, DerivativeTable table, int maxOrder = int.MaxValue, string? convention = null) =>
        new(name, new MathKernel(kernel), table, maxOrder, convention, builtIn: true);

    private static ElementwiseFunction Define(string name, Func<double, double> kernel, DerivativeTable table, int maxOrder = int.MaxValue, string? convention = null) =>
        new(name, UnaryKernel.FromScalar(kernel), table, maxOrder, convention, builtIn: true);

    private const double TwoOverSqrtPi = 1.1283791670955126;
    private const double InvSqrtTwoPi = 0.3989422804014327;

    // ---- piecewise constant: zero derivatives ----

    /// <summary>sign x ∈ {−1, 0, 1}; derivatives zero.</summary>
    public static readonly ElementwiseFunction Sign = Define("sign", MathFunction.Sign, DerivativeTables.Zero);
    /// <summary>⌊x⌋; derivatives zero.</summary>
    public static readonly ElementwiseFunction Floor = Define("floor", MathFunction.Floor, DerivativeTables.Zero);
    /// <summary>⌈x⌉; derivatives zero.</summary>
    public static readonly ElementwiseFunction Ceil = Define("ceil", MathFunction.Ceil, DerivativeTables.Zero);
    /// <summary>Round half to even; derivatives zero.</summary>
    public static readonly ElementwiseFunction Round = Define("round", MathFunction.Round, DerivativeTables.Zero);

    // ---- kinks: first derivative only ----

    /// <summary>The derivative of abs, sign x (0 at the kink); not differentiable (its jump at 0 is abs's missing second derivative).</summary>
    public static readonly ElementwiseFunction AbsGrad = Define("abs_grad", MathFunction.Sign, DerivativeTables.Zero, maxOrder: 0,
        convention: "abs′ = sign x, taken as 0 at the kink");

    /// <summary>|x|: f′ = sign x (0 at x = 0); second derivatives refused.</summary>
    public static readonly ElementwiseFunction Abs = Define("abs", MathFunction.Abs, ElementwiseFunction.Derivative(AbsGrad), maxOrder: 1,
        convention: "abs′ = sign x, taken as 0 at the kink");

    /// <summary>Leaky relu with slope α for x ≤ 0: f′ = 1 for x &gt; 0, α otherwise (α at the kink); second derivatives refused.</summary>
    public static ElementwiseFunction LeakyRelu(double slope)
    {
        var grad = Define($"leaky_relu_grad[{Format(slope)}]", x => x > 0 ? 1 : slope, DerivativeTables.Zero, maxOrder: 0,
            convention: "the derivative at 0 is the left slope α");
        return Define($"leaky_relu[{Format(slope)}]", x => x > 0 ? x : slope * x, ElementwiseFunction.Derivative(grad), maxOrder: 1,
            convention: "the derivative at 0 is the left slope α");
    }

    /// <summary>
    /// λ·elu_α: λx for x &gt; 0, λα(eˣ − 1) otherwise. f⁽ᵐ⁾ = λα·eˣ on the left, λ·[m = 1] on the right (left value at 0).
    /// The m-th derivative is continuous at 0 only when both sides agree: with α = 1 the first is, so
    /// elu₁ is differentiable twice; otherwise once.
    /// </summary>
    public static ElementwiseFunction Elu(double alpha = 1, double scale = 1, string name = "elu")
    {
        string attrs = $"{name}[{Format(alpha)}{(scale == 1 ? "" : ", " + Format(scale))}]";
        const string convention = "derivatives at 0 are the left-hand ones";
        // The derivative of order m as a function of its own: λα·eˣ left, λ·[m = 1] right.
        ElementwiseFunction Order(int m)
        {
            bool continuous = m == 1 && alpha == 1;
            double right = m == 1 ? scale : 0;
            var next = new Lazy<ElementwiseFunction>(() => Order(m + 1));
            DerivativeTable table = (x0, y0, k) => ElementwiseFunction.Derivative(next.Value)(x0, y0, k);
            return Define($"{attrs}_d{m}", x => x > 0 ? right : scale * alpha * Math.Exp(x), table, maxOrder: continuous ? 1 : 0, convention);
        }
        return Define(attrs, x => x > 0 ? scale * x : scale * alpha * SpecialFunctions.Expm1(x), ElementwiseFunction.Derivative(Order(1)),
            maxOrder: alpha == 1 ? 2 : 1, convention);
    }

    /// <summary>elu with α = 1: differentiable twice (its second derivative jumps at 0).</summary>
    public static readonly ElementwiseFunction EluOne = Elu(1);

    /// <summary>SELU: λ·elu_α with α = 1.6732632423543772, λ = 1.0507009873554805 (differentiable once).</summary>
    public static readonly ElementwiseFunction Selu = Elu(1.6732632423543772, 1.0507009873554805, "selu");

    // ---- smooth ----

    /// <summary>eˣ − 1: every derivative is y + 1.</summary>
    public static readonly ElementwiseFunction Expm1 = Define("expm1", MathFunction.Expm1, DerivativeTables.OutputPlus(1));

    /// <summary>ln(1 + x): f⁽ᵐ⁾ = (−1)^(m−1)(m−1)!·(1 + x)^(−m).</summary>
    public static readonly ElementwiseFunction Log1p = Define("log1p", MathFunction.Log1p, DerivativeTables.PolynomialTimesPower([1, 1], 0, [1]));

    /// <summary>1/√x: f⁽ᵐ⁾ = (−½)(−3/2)…·x^(−½−m).</summary>
    public static readonly ElementwiseFunction Rsqrt = Define("rsqrt", MathFunction.Rsqrt, (x0, y0, m) => PowOp.PowerDerivative(x0, -0.5, m));

    /// <summary>Real cube root: f⁽ᵐ⁾ = (⅓)(⅓−1)…(⅓−m+1)·y·x^(−m) (valid for negative x too).</summary>
    public static readonly ElementwiseFunction Cbrt = Define("cbrt", MathFunction.Cbrt, (x0, y0, m) =>
    {
        double c = 1;
        for (int i = 0; i < m; i++) c *= 1.0 / 3 - i;
        return TaylorMath.Scale(c, y0 * Fn.Pow(x0, -m));
    });

    /// <summary>1/x: f′ = −y², so f⁽ᵐ⁾ = (−1)^m·m!·y^(m+1).</summary>
    public static readonly ElementwiseFunction Reciprocal = Define("reciprocal", MathFunction.Reciprocal, DerivativeTables.PolynomialInOutput([0, 0, -1]));

    /// <summary>tan x: f′ = 1 + y².</summary>
    public static readonly ElementwiseFunction Tan = Define("tan", MathFunction.Tan, DerivativeTables.PolynomialInOutput([1, 0, 1]));

    /// <summary>arcsin x: f′ = (1 − x²)^(−½).</summary>
    public static readonly ElementwiseFunction Asin = Define("asin", MathFunction.Asin, DerivativeTables.PolynomialTimesPower([1, 0, -1], 0.5, [1]));
    /// <summary>arccos x: f′ = −(1 − x²)^(−½).</summary>
    public static readonly ElementwiseFunction Acos = Define("acos", MathFunction.Acos, DerivativeTables.PolynomialTimesPower([1, 0, -1], 0.5, [-1]));
    /// <summary>arctan x: f′ = (1 + x²)^(−1).</summary>
    public static readonly ElementwiseFunction Atan = Define("atan", MathFunction.Atan, DerivativeTables.PolynomialTimesPower([1, 0, 1], 0, [1]));
    /// <summary>arsinh x: f′ = (1 + x²)^(−½).</summary>
    public static readonly ElementwiseFunction Asinh = Define("asinh", MathFunction.Asinh, DerivativeTables.PolynomialTimesPower([1, 0, 1], 0.5, [1]));
    /// <summary>arcosh x: f′ = (x² − 1)^(−½) (x &gt; 1).</summary>
    public static readonly ElementwiseFunction Acosh = Define("acosh", MathFunction.Acosh, DerivativeTables.PolynomialTimesPower([-1, 0, 1], 0.5, [1]));
    /// <summary>artanh x: f′ = (1 − x²)^(−1) (|x| &lt; 1).</summary>
    public static readonly ElementwiseFunction Atanh = Define("atanh", MathFunction.Atanh, DerivativeTables.PolynomialTimesPower([1, 0, -1], 0, [1]));

    /// <summary>sinh x: derivatives alternate cosh x, sinh x.</summary>
    public static readonly ElementwiseFunction Sinh = Define("sinh", MathFunction.Sinh, (x0, y0, m) => m % 2 == 1 ? Cosh!.Apply(x0) : y0);
    /// <summary>cosh x: derivatives alternate sinh x, cosh x.</summary>
    public static readonly ElementwiseFunction Cosh = Define("cosh", MathFunction.Cosh, (x0, y0, m) => m % 2 == 1 ? Sinh.Apply(x0) : y0);

    /// <summary>erf x: f⁽ᵐ⁾ = P_m(x)·e^(−x²), P₁ = 2/√π, P_(m+1) = P_m′ − 2x·P_m (Hermite polynomials).</summary>
    public static readonly ElementwiseFunction Erf = Define("erf", MathFunction.Erf, DerivativeTables.PolynomialTimesExp([0, 0, -1], [TwoOverSqrtPi]));
    /// <summary>erfc x = 1 − erf x: the derivatives of erf negated.</summary>
    public static readonly ElementwiseFunction Erfc = Define("erfc", MathFunction.Erfc, DerivativeTables.PolynomialTimesExp([0, 0, -1], [-TwoOverSqrtPi]));

    /// <summary>
    /// GELU, exact form x·Φ(x): f′ = Φ(x) + x·φ(x), and for m ≥ 2 f⁽ᵐ⁾ = P_m(x)·e^(−x²/2) with
    /// P₂ = (2 − x²)/√(2π) and P_(m+1) = P_m′ − x·P_m.
    /// </summary>
    public static readonly ElementwiseFunction Gelu = Define("gelu", MathFunction.Gelu, DerivativeTables.PolynomialTimesExp(
        [0, 0, -0.5], [2 * InvSqrtTwoPi, 0, -InvSqrtTwoPi], firstOrder: 2,
        lower: (x0, y0, m) => Erfc.Apply(x0 * (-Math.Sqrt(0.5))) * 0.5 + x0 * Fn.Exp(Fn.Square(x0) * -0.5) * InvSqrtTwoPi));

    /// <summary>SiLU x·σ(x): f⁽ᵐ⁾ = x·σ⁽ᵐ⁾ + m·σ⁽ᵐ⁻¹⁾, each σ⁽ʲ⁾ a polynomial in σ(x).</summary>
    public static readonly ElementwiseFunction Silu = Define("silu", MathFunction.Silu, (x0, y0, m) =>
    {
        var s = Fn.Sigmoid(x0);
        return x0 * SigmoidDerivative(s, m) + TaylorMath.Scale(m, SigmoidDerivative(s, m - 1));
    });

    /// <summary>ln σ(x): f′ = 1 − σ(x), f⁽ᵐ⁾ = −σ⁽ᵐ⁻¹⁾(x) for m ≥ 2.</summary>
    public static readonly ElementwiseFunction LogSigmoid = Define("log_sigmoid", MathFunction.LogSigmoid, (x0, y0, m) =>
    {
        var s = Fn.Sigmoid(x0);
        return m == 1 ? 1.0 - s : -SigmoidDerivative(s, m - 1);
    });

    /// <summary>σ⁽ʲ⁾ as a polynomial in s = σ(x) (j = 0: s itself).</summary>
    private static Node SigmoidDerivative(Node s, int j) =>
        j == 0 ? s : TaylorMath.Polynomial(SigmoidOp.Instance.DerivativePolynomial(j), s)!;

    private static string Format(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Every built-in function (for documentation and tests), the parameterised ones at their defaults.</summary>
    public static IReadOnlyList<ElementwiseFunction> All { get; } =
    [
        Sign, Floor, Ceil, Round, Abs, AbsGrad, LeakyRelu(0.01), EluOne, Selu, Expm1, Log1p, Rsqrt, Cbrt, Reciprocal, Tan,
        Asin, Acos, Atan, Asinh, Acosh, Atanh, Sinh, Cosh, Erf, Erfc, Gelu, Silu, LogSigmoid,
    ];
}
