using JetSharp.Runtime;

namespace JetSharp.Tests;

/// <summary>
/// Numerical references and comparisons for the AD tests. Derivatives here come from evaluating the
/// primal graph only (never a transformed graph), so they are independent of every VJP/Taylor rule.
/// </summary>
internal static class Numeric
{
    public static NDArray<double> Randn(long seed, params int[] shape) => NDArray.RandomNormal<double>(new Shape(shape), seed);
    public static NDArray<double> Uniform(long seed, double lo, double hi, params int[] shape) => NDArray.RandomUniform<double>(new Shape(shape), seed, lo, hi);

    public static NDArray<double>[] Run(Graph g, params NDArray<double>[] xs) => Executable.Compile(g).Run(xs);

    /// <summary>x + s·v (elementwise, same shapes).</summary>
    public static NDArray<double> Axpy(NDArray<double> x, double s, NDArray<double> v)
    {
        Assert.Equal(x.Shape, v.Shape);
        var r = new NDArray<double>(x.Shape);
        for (int i = 0; i < x.Size; i++) r.Data[i] = x.Data[i] + s * v.Data[i];
        return r;
    }

    public static NDArray<double> Combine(NDArray<double> a, NDArray<double> b, Func<double, double, double> f)
    {
        Assert.Equal(a.Shape, b.Shape);
        var r = new NDArray<double>(a.Shape);
        for (int i = 0; i < a.Size; i++) r.Data[i] = f(a.Data[i], b.Data[i]);
        return r;
    }

    public static NDArray<double> Scale(NDArray<double> a, double s) => Combine(a, a, (x, _) => s * x);

    public static double Dot(NDArray<double> a, NDArray<double> b)
    {
        Assert.Equal(a.Shape, b.Shape);
        double s = 0;
        for (int i = 0; i < a.Size; i++) s += a.Data[i] * b.Data[i];
        return s;
    }

    /// <summary>Σ|a_i·b_i|: the scale of a dot product, used to judge cancellation-prone scalar comparisons.</summary>
    public static double AbsDot(NDArray<double> a, NDArray<double> b)
    {
        double s = 0;
        for (int i = 0; i < a.Size; i++) s += Math.Abs(a.Data[i] * b.Data[i]);
        return s;
    }

    public static double MaxAbs(NDArray<double> a) => a.Size == 0 ? 0 : a.Data.Max(Math.Abs);

    /// <summary>Slice r of the leading (direction) axis, as a copy.</summary>
    public static NDArray<double> Row(NDArray<double> t, int r)
    {
        int inner = t.Size / t.Shape[0];
        return new NDArray<double>(t.Shape.Skip(1), t.Data[(r * inner)..((r + 1) * inner)]);
    }

    /// <summary>Stacks equally shaped tensors along a new leading axis.</summary>
    public static NDArray<double> Stack(params NDArray<double>[] ts) =>
        new(ts[0].Shape.Prepend(ts.Length), [.. ts.SelectMany(t => t.Data)]);

    /// <summary>max|actual − expected| / max(max|expected|, floor): relative to the size of the expected values.</summary>
    public static double RelErr(NDArray<double> expected, NDArray<double> actual, double floor = 1e-3)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        double m = 0;
        for (int i = 0; i < expected.Size; i++)
        {
            double d = Math.Abs(actual.Data[i] - expected.Data[i]);
            if (double.IsNaN(d)) return double.PositiveInfinity;
            m = Math.Max(m, d);
        }
        return m / Math.Max(MaxAbs(expected), floor);
    }

    public static void AssertClose(NDArray<double> expected, NDArray<double> actual, double tol, string what)
    {
        double e = RelErr(expected, actual);
        Assert.True(e <= tol, $"{what}: relative error {e:E3} > {tol:E1}\nexpected {expected}\nactual   {actual}");
    }

    public static void AssertClose(double expected, double actual, double tol, string what, double scale = 0)
    {
        double e = Math.Abs(expected - actual) / Math.Max(Math.Max(Math.Abs(expected), scale), 1e-300);
        Assert.True(e <= tol, $"{what}: expected {expected:R}, got {actual:R} (relative error {e:E3} > {tol:E1})");
    }

    /// <summary>
    /// d/ds g(xs + s·vs) at s = 0 for output <paramref name="output"/>: central differences at h and h/2
    /// combined by Richardson extrapolation (error O(h⁴)), so a 1e-6 tolerance leaves a wide margin
    /// over the discretisation error while still catching any wrong derivative.
    /// </summary>
    public static NDArray<double> Directional(Graph g, NDArray<double>[] xs, NDArray<double>[] vs, double h = 1e-3, int output = 0)
    {
        var exe = Executable.Compile(g);
        NDArray<double> F(double s) => exe.Run([.. xs.Select((x, i) => Axpy(x, s, vs[i]))])[output].Clone();
        NDArray<double> D(double s) => Combine(F(s), F(-s), (p, m) => (p - m) / (2 * s));
        return Combine(D(h / 2), D(h), (fine, coarse) => (4 * fine - coarse) / 3);
    }

    /// <summary>
    /// d²/dt² g(x(t)) at t = 0 along the path x(t) = x₀ + t·x₁ + t²/2·x₂: second differences at h and h/2
    /// with Richardson extrapolation. This is the order-2 jet coefficient in the derivative convention.
    /// </summary>
    public static NDArray<double> SecondAlongPath(Graph g, NDArray<double>[] x0, NDArray<double>[] x1, NDArray<double>[] x2, double h = 1e-2, int output = 0)
    {
        var exe = Executable.Compile(g);
        NDArray<double> F(double t) =>
            exe.Run([.. x0.Select((x, i) => Axpy(Axpy(x, t, x1[i]), t * t / 2, x2[i]))])[output].Clone();
        var f0 = F(0);
        NDArray<double> S(double t)
        {
            var p = F(t);
            var m = F(-t);
            var r = new NDArray<double>(p.Shape);
            for (int i = 0; i < r.Size; i++) r.Data[i] = (p.Data[i] - 2 * f0.Data[i] + m.Data[i]) / (t * t);
            return r;
        }
        return Combine(S(h / 2), S(h), (fine, coarse) => (4 * fine - coarse) / 3);
    }

    /// <summary>Copies a graph's computation into graph <paramref name="into"/> at the given inputs (an order-0 jet is a plain copy).</summary>
    public static Node[] Inline(Graph g, params Node[] inputs) =>
        [.. Transforms.Jet.Apply(g, inputs, [.. inputs.Select(_ => Array.Empty<Node?>())], 0, default).Select(j => j[0]!)];
}
