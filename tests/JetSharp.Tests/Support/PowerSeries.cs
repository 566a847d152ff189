namespace JetSharp.Tests;

/// <summary>
/// A truncated power series a(t) = Σ_{k=0..K} c_k·tᵏ with normalized (Taylor) coefficients, and the
/// classical O(K²) recurrences of Taylor arithmetic (Griewank &amp; Walther, ch. 13), each obtained
/// from a first-order ODE the function satisfies (e.g. y = eᵃ ⇒ y′ = y·a′ ⇒ k·y_k = Σ_j j·a_j·y_{k−j}).
/// This is the test's independent reference for the library's jets, which use the derivative
/// convention and Faà di Bruno's formula instead; conversion between the two is by k!.
/// </summary>
internal sealed class PowerSeries
{
    public PowerSeries(double[] c) { C = c; }

    public double[] C { get; }
    public int Order => C.Length - 1;
    public double this[int k] => C[k];

    /// <summary>From coefficients in the derivative convention x_k = dᵏx/dtᵏ(0): c_k = x_k / k!.</summary>
    public static PowerSeries FromDerivatives(IReadOnlyList<double> d) => new([.. d.Select((v, k) => v / Factorial(k))]);

    /// <summary>To the derivative convention: k!·c_k.</summary>
    public double[] ToDerivatives() => [.. C.Select((v, k) => v * Factorial(k))];

    public static double Factorial(int k)
    {
        double r = 1;
        for (int i = 2; i <= k; i++) r *= i;
        return r;
    }

    public static PowerSeries Constant(double v, int order)
    {
        var c = new double[order + 1];
        c[0] = v;
        return new(c);
    }

    public static PowerSeries operator +(PowerSeries a, PowerSeries b) => new([.. a.C.Select((v, k) => v + b.C[k])]);
    public static PowerSeries operator -(PowerSeries a, PowerSeries b) => new([.. a.C.Select((v, k) => v - b.C[k])]);
    public static PowerSeries operator -(PowerSeries a) => new([.. a.C.Select(v => -v)]);
    public static PowerSeries operator +(PowerSeries a, double b) => a + Constant(b, a.Order);
    public static PowerSeries operator -(double a, PowerSeries b) => Constant(a, b.Order) - b;

    /// <summary>Cauchy product.</summary>
    public static PowerSeries operator *(PowerSeries a, PowerSeries b)
    {
        var y = new double[a.C.Length];
        for (int k = 0; k < y.Length; k++)
            for (int j = 0; j <= k; j++) y[k] += a.C[j] * b.C[k - j];
        return new(y);
    }

    /// <summary>q = a/b from q·b = a: q_k = (a_k − Σ_{j≥1} b_j q_{k−j}) / b₀.</summary>
    public static PowerSeries operator /(PowerSeries a, PowerSeries b)
    {
        var q = new double[a.C.Length];
        for (int k = 0; k < q.Length; k++)
        {
            double s = a.C[k];
            for (int j = 1; j <= k; j++) s -= b.C[j] * q[k - j];
            q[k] = s / b.C[0];
        }
        return new(q);
    }

    /// <summary>Solves y′ = g·a′ for y given y₀, where g's coefficient k−j only depends on y up to k−j: k·y_k = Σ_{j=1..k} j·a_j·g_{k−j}.</summary>
    private PowerSeries Integrate(double y0, Func<double[], int, double> g)
    {
        var y = new double[C.Length];
        y[0] = y0;
        for (int k = 1; k < y.Length; k++)
        {
            double s = 0;
            for (int j = 1; j <= k; j++) s += j * C[j] * g(y, k - j);
            y[k] = s / k;
        }
        return new(y);
    }

    private static double Conv(double[] a, double[] b, int k)
    {
        double s = 0;
        for (int j = 0; j <= k; j++) s += a[j] * b[k - j];
        return s;
    }

    public PowerSeries Exp() => Integrate(Math.Exp(C[0]), (y, i) => y[i]);

    /// <summary>y = ln a from a·y′ = a′: k·a₀·y_k = k·a_k − Σ_{j=1..k−1} (k−j)·a_j·y_{k−j}.</summary>
    public PowerSeries Log()
    {
        var y = new double[C.Length];
        y[0] = Math.Log(C[0]);
        for (int k = 1; k < y.Length; k++)
        {
            double s = k * C[k];
            for (int j = 1; j < k; j++) s -= (k - j) * C[j] * y[k - j];
            y[k] = s / (k * C[0]);
        }
        return new(y);
    }

    /// <summary>(sin a, cos a) together: s′ = c·a′, c′ = −s·a′.</summary>
    public (PowerSeries Sin, PowerSeries Cos) SinCos()
    {
        var s = new double[C.Length];
        var c = new double[C.Length];
        s[0] = Math.Sin(C[0]);
        c[0] = Math.Cos(C[0]);
        for (int k = 1; k < s.Length; k++)
        {
            double ds = 0, dc = 0;
            for (int j = 1; j <= k; j++) { ds += j * C[j] * c[k - j]; dc -= j * C[j] * s[k - j]; }
            s[k] = ds / k;
            c[k] = dc / k;
        }
        return (new(s), new(c));
    }

    public PowerSeries Sin() => SinCos().Sin;
    public PowerSeries Cos() => SinCos().Cos;

    /// <summary>y = tanh a: y′ = (1 − y²)·a′.</summary>
    public PowerSeries Tanh() => Integrate(Math.Tanh(C[0]), (y, i) => (i == 0 ? 1 : 0) - Conv(y, y, i));

    /// <summary>y = σ(a): y′ = (y − y²)·a′.</summary>
    public PowerSeries Sigmoid() => Integrate(1 / (1 + Math.Exp(-C[0])), (y, i) => y[i] - Conv(y, y, i));

    /// <summary>y = ln(1 + eᵃ): y′ = σ(a)·a′.</summary>
    public PowerSeries Softplus()
    {
        var s = Sigmoid();
        return Integrate(Math.Log(1 + Math.Exp(C[0])), (_, i) => s.C[i]);
    }

    /// <summary>y = √a from y·y = a: y_k = (a_k − Σ_{j=1..k−1} y_j·y_{k−j}) / (2y₀).</summary>
    public PowerSeries Sqrt()
    {
        var y = new double[C.Length];
        y[0] = Math.Sqrt(C[0]);
        for (int k = 1; k < y.Length; k++)
        {
            double s = C[k];
            for (int j = 1; j < k; j++) s -= y[j] * y[k - j];
            y[k] = s / (2 * y[0]);
        }
        return new(y);
    }

    /// <summary>y = aᵖ (a₀ &gt; 0) from a·y′ = p·y·a′: k·a₀·y_k = Σ_{j=1..k} (p·j − (k − j))·a_j·y_{k−j}.</summary>
    public PowerSeries Pow(double p)
    {
        var y = new double[C.Length];
        y[0] = p == 0 ? 1 : Math.Pow(C[0], p);
        for (int k = 1; k < y.Length; k++)
        {
            double s = 0;
            for (int j = 1; j <= k; j++) s += (p * j - (k - j)) * C[j] * y[k - j];
            y[k] = s / (k * C[0]);
        }
        return new(y);
    }
}
