using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using JetSharp.Tensors;

namespace JetSharp.Backend;

/// <summary>
/// The kernel of an elementwise function y = f(x): fills a span of outputs from a span of inputs of the
/// same length, for <c>float</c> and <c>double</c>. <see cref="Run{T}"/> cuts a tensor into pieces and
/// runs them in parallel. Built-in functions use TensorPrimitives (SIMD) where it has the function; a
/// user-defined function can start from a scalar delegate (<see cref="FromScalar"/>).
/// </summary>
public abstract class UnaryKernel
{
    /// <summary>Whether the function is expensive per element (transcendental): the tensor is then split into parallel pieces sooner.</summary>
    public virtual bool ComputeBound => true;

    /// <summary>r[i] = f(x[i]). <paramref name="r"/> may be the same memory as <paramref name="x"/>.</summary>
    public abstract void Apply<T>(ReadOnlySpan<T> x, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>A kernel that evaluates <paramref name="f"/> in double precision element by element (float inputs are widened and the result rounded).</summary>
    public static UnaryKernel FromScalar(Func<double, double> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        return new ScalarKernel(f);
    }

    /// <summary>result = f(x) elementwise over the whole tensor, in parallel pieces; the shapes must match.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public void Run<T>(NDArray<T> x, NDArray<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Shape != result.Shape)
            throw new ArgumentException($"UnaryKernel.Run: result shape {result.Shape} differs from input shape {x.Shape}.");
        T[] xs = x.Data, rs = result.Data;
        int n = xs.Length;
        if (n == 0) return;
        int pieces = Parallelism.Pieces(n, ComputeBound);
        Parallelism.Run(pieces, p =>
        {
            int s = (int)Parallelism.Start(n, pieces, p), e = (int)Parallelism.Start(n, pieces, p + 1);
            Apply<T>(xs.AsSpan(s, e - s), rs.AsSpan(s, e - s));
        });
    }

    private sealed class ScalarKernel(Func<double, double> f) : UnaryKernel
    {
        public override void Apply<T>(ReadOnlySpan<T> x, Span<T> r)
        {
            for (int i = 0; i < x.Length; i++) r[i] = T.CreateTruncating(f(double.CreateTruncating(x[i])));
        }
    }
}

/// <summary>The built-in elementwise functions of <see cref="MathKernel"/>.</summary>
public enum MathFunction
{
    /// <summary>|x|.</summary>
    Abs,
    /// <summary>sign x ∈ {−1, 0, 1} (NaN stays NaN).</summary>
    Sign,
    /// <summary>⌊x⌋.</summary>
    Floor,
    /// <summary>⌈x⌉.</summary>
    Ceil,
    /// <summary>Nearest integer, halves to even (as NumPy).</summary>
    Round,
    /// <summary>eˣ − 1, accurate near 0.</summary>
    Expm1,
    /// <summary>ln(1 + x), accurate near 0.</summary>
    Log1p,
    /// <summary>1/√x.</summary>
    Rsqrt,
    /// <summary>Real cube root (negative for negative x).</summary>
    Cbrt,
    /// <summary>1/x.</summary>
    Reciprocal,
    /// <summary>tan x.</summary>
    Tan,
    /// <summary>arcsin x.</summary>
    Asin,
    /// <summary>arccos x.</summary>
    Acos,
    /// <summary>arctan x.</summary>
    Atan,
    /// <summary>sinh x.</summary>
    Sinh,
    /// <summary>cosh x.</summary>
    Cosh,
    /// <summary>arsinh x.</summary>
    Asinh,
    /// <summary>arcosh x (x ≥ 1).</summary>
    Acosh,
    /// <summary>artanh x (|x| &lt; 1).</summary>
    Atanh,
    /// <summary>The error function.</summary>
    Erf,
    /// <summary>1 − erf x, without cancellation for large x.</summary>
    Erfc,
    /// <summary>x·Φ(x), Φ the standard normal distribution function (the exact GELU).</summary>
    Gelu,
    /// <summary>x·σ(x) (SiLU, swish).</summary>
    Silu,
    /// <summary>ln σ(x) = −softplus(−x).</summary>
    LogSigmoid,
    /// <summary>1 where x &gt; 0, else 0.</summary>
    Step,
    /// <summary>Standard normal density e^(−x²/2)/√(2π).</summary>
    NormalDensity,
}

/// <summary>
/// Kernels of the built-in <see cref="MathFunction"/>s. TensorPrimitives (SIMD) computes every function it
/// has; erf, erfc and GELU, which it lacks, are computed per element in double precision by
/// <see cref="SpecialFunctions"/>.
/// </summary>
public sealed class MathKernel(MathFunction function) : UnaryKernel
{
    /// <summary>The function computed.</summary>
    public MathFunction Function { get; } = function;

    /// <inheritdoc/>
    public override bool ComputeBound => Function is not (MathFunction.Abs or MathFunction.Sign or MathFunction.Floor or MathFunction.Ceil
        or MathFunction.Round or MathFunction.Reciprocal or MathFunction.Step);

    /// <inheritdoc/>
    public override void Apply<T>(ReadOnlySpan<T> x, Span<T> r)
    {
        switch (Function)
        {
            case MathFunction.Abs: TensorPrimitives.Abs(x, r); break;
            case MathFunction.Sign: Map(x, r, static v => T.IsNaN(v) ? v : T.CreateTruncating(T.Sign(v))); break;
            case MathFunction.Floor: TensorPrimitives.Floor(x, r); break;
            case MathFunction.Ceil: TensorPrimitives.Ceiling(x, r); break;
            case MathFunction.Round: Map(x, r, static v => T.Round(v, MidpointRounding.ToEven)); break;
            case MathFunction.Expm1: Map(x, r, static v => T.CreateTruncating(SpecialFunctions.Expm1(double.CreateTruncating(v)))); break;
            case MathFunction.Log1p: Map(x, r, static v => T.CreateTruncating(SpecialFunctions.Log1p(double.CreateTruncating(v)))); break;
            case MathFunction.Rsqrt:
                TensorPrimitives.Sqrt(x, r);
                TensorPrimitives.Reciprocal(r, r);
                break;
            case MathFunction.Cbrt: TensorPrimitives.Cbrt(x, r); break;
            case MathFunction.Reciprocal: TensorPrimitives.Reciprocal(x, r); break;
            case MathFunction.Tan: TensorPrimitives.Tan(x, r); break;
            case MathFunction.Asin: TensorPrimitives.Asin(x, r); break;
            case MathFunction.Acos: TensorPrimitives.Acos(x, r); break;
            case MathFunction.Atan: TensorPrimitives.Atan(x, r); break;
            case MathFunction.Sinh: TensorPrimitives.Sinh(x, r); break;
            case MathFunction.Cosh: TensorPrimitives.Cosh(x, r); break;
            case MathFunction.Asinh: TensorPrimitives.Asinh(x, r); break;
            case MathFunction.Acosh: TensorPrimitives.Acosh(x, r); break;
            case MathFunction.Atanh: TensorPrimitives.Atanh(x, r); break;
            case MathFunction.Erf: Map(x, r, static v => T.CreateTruncating(SpecialFunctions.Erf(double.CreateTruncating(v)))); break;
            case MathFunction.Erfc: Map(x, r, static v => T.CreateTruncating(SpecialFunctions.Erfc(double.CreateTruncating(v)))); break;
            case MathFunction.Gelu: Map(x, r, static v => T.CreateTruncating(SpecialFunctions.Gelu(double.CreateTruncating(v)))); break;
            case MathFunction.Silu:
                // σ(x) into scratch, then x·σ(x): r may be x itself.
                Span<T> s = stackalloc T[Elementwise.Chunk];
                for (int i = 0; i < x.Length; i += Elementwise.Chunk)
                {
                    int len = Math.Min(Elementwise.Chunk, x.Length - i);
                    TensorPrimitives.Sigmoid(x.Slice(i, len), s[..len]);
                    TensorPrimitives.Multiply(x.Slice(i, len), s[..len], r.Slice(i, len));
                }
                break;
            case MathFunction.LogSigmoid:
                // ln σ(x) = −softplus(−x) = min(x, 0) − log1p(e^−|x|): no overflow, no loss for large |x|.
                Map(x, r, static v => T.CreateTruncating(SpecialFunctions.LogSigmoid(double.CreateTruncating(v))));
                break;
            case MathFunction.Step: Map(x, r, static v => v > T.Zero ? T.One : T.Zero); break;
            case MathFunction.NormalDensity: Map(x, r, static v => T.CreateTruncating(SpecialFunctions.NormalDensity(double.CreateTruncating(v)))); break;
            default: throw new ArgumentOutOfRangeException(nameof(Function), Function, "MathKernel: unknown function.");
        }
    }

    private static void Map<T>(ReadOnlySpan<T> x, Span<T> r, Func<T, T> f) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) r[i] = f(x[i]);
    }
}

/// <summary>
/// Scalar special functions in double precision that neither <see cref="Math"/> nor TensorPrimitives offers.
/// </summary>
public static class SpecialFunctions
{
    private const double TwoOverSqrtPi = 1.1283791670955126;
    private const double InvSqrtTwoPi = 0.3989422804014327;

    /// <summary>
    /// erf x. For |x| &lt; 2.5 the everywhere-positive series erf x = (2/√π)·e^(−x²)·Σ_n 2ⁿx^(2n+1)/(1·3·…·(2n+1))
    /// (no cancellation; at most ~60 terms); beyond, 1 − erfc |x| with the sign restored.
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double ax = Math.Abs(x);
        if (ax >= 2.5) return Math.CopySign(1 - ErfcContinuedFraction(ax), x);
        double x2 = x * x, term = ax, sum = ax;
        for (int n = 1; n < 200 && term > 1e-17 * sum; n++)
        {
            term *= 2 * x2 / (2 * n + 1);
            sum += term;
        }
        return Math.CopySign(TwoOverSqrtPi * Math.Exp(-x2) * sum, x);
    }

    /// <summary>
    /// erfc x = 1 − erf x. For x &lt; 2.5 computed as 1 − erf x (relative error below ~3e-13, the worst case
    /// at x = 2.5 where erfc is 4e-4); for x ≥ 2.5 by Laplace's continued fraction, accurate to rounding
    /// even where erfc underflows towards 0.
    /// </summary>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x)) return x;
        return x >= 2.5 ? ErfcContinuedFraction(x) : 1 - Erf(x);
    }

    /// <summary>
    /// erfc x = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated from the tail (x ≥ 2.5:
    /// 80 levels are far more than double precision needs there).
    /// </summary>
    private static double ErfcContinuedFraction(double x)
    {
        if (x > 27) return 0;
        double f = x;
        for (int n = 80; n >= 1; n--) f = x + n / 2.0 / f;
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }

    /// <summary>x·Φ(x) with Φ(x) = erfc(−x/√2)/2 (erfc keeps the small tail for negative x accurate).</summary>
    public static double Gelu(double x) => x * 0.5 * Erfc(-x / Math.Sqrt(2));

    /// <summary>The standard normal density φ(x) = e^(−x²/2)/√(2π).</summary>
    public static double NormalDensity(double x) => InvSqrtTwoPi * Math.Exp(-0.5 * x * x);

    /// <summary>ln σ(x) = min(x, 0) − ln(1 + e^(−|x|)).</summary>
    public static double LogSigmoid(double x) => Math.Min(x, 0) - Log1p(Math.Exp(-Math.Abs(x)));

    /// <summary>eˣ − 1 without cancellation near 0 (a short series below |x| = 1e-5, else the identity e^x−1 = 2·e^(x/2)·sinh(x/2)).</summary>
    public static double Expm1(double x)
    {
        if (Math.Abs(x) < 1e-5) return x + x * x / 2 + x * x * x / 6;
        if (Math.Abs(x) > 0.5) return Math.Exp(x) - 1;
        return 2 * Math.Exp(x / 2) * Math.Sinh(x / 2);
    }

    /// <summary>ln(1 + x) without cancellation near 0 (the classic correction: u = 1 + x, ln u · x / (u − 1)).</summary>
    public static double Log1p(double x)
    {
        double u = 1 + x;
        if (u == 1) return x;
        return Math.Log(u) * x / (u - 1);
    }
}
