using JetSharp.Runtime;

namespace JetSharp.Tests;

internal static class TestUtil
{
    public static Tensor<double> T(params double[] v) => Tensor.FromArray(v);
    public static Tensor<double> T(double[,] v) => Tensor.FromArray(v);
    public static Tensor<double> Randn(long seed, params int[] shape) => Tensor.RandomNormal<double>(new Shape(shape), seed);
    public static Tensor<double> Rand(long seed, double lo, double hi, params int[] shape) => Tensor.RandomUniform<double>(new Shape(shape), seed, lo, hi);

    public static Tensor<double>[] Run(Graph g, params Tensor<double>[] inputs) => Executable.Compile(g).Run(inputs);

    /// <summary>Evaluates a traced function at concrete inputs.</summary>
    public static Tensor<double> Eval(Func<Node[], Node> f, params Tensor<double>[] xs)
    {
        var g = Trace.Function(f, [.. xs.Select(x => x.Shape)]);
        return Run(g, xs)[0];
    }

    public static Tensor<double> Axpy(Tensor<double> x, double a, Tensor<double> v)
    {
        var r = new Tensor<double>(x.Shape);
        for (int i = 0; i < x.Size; i++) r.Data[i] = x.Data[i] + a * v.Data[i];
        return r;
    }

    public static double Dot(Tensor<double> a, Tensor<double> b)
    {
        Assert.Equal(a.Shape, b.Shape);
        double s = 0;
        for (int i = 0; i < a.Size; i++) s += a.Data[i] * b.Data[i];
        return s;
    }

    public static double MaxAbs(Tensor<double> a) => a.Data.Length == 0 ? 0 : a.Data.Max(Math.Abs);

    /// <summary>max |a − b| / max(1, max|b|).</summary>
    public static double RelErr(Tensor<double> a, Tensor<double> b)
    {
        Assert.Equal(b.Shape, a.Shape);
        double m = 0;
        for (int i = 0; i < a.Size; i++) m = Math.Max(m, Math.Abs(a.Data[i] - b.Data[i]));
        return m / Math.Max(1, MaxAbs(b));
    }

    public static void Close(Tensor<double> expected, Tensor<double> actual, double tol)
    {
        double e = RelErr(actual, expected);
        Assert.True(e <= tol, $"relative error {e:E3} > {tol:E1}\nexpected {expected}\nactual   {actual}");
    }

    public static void Close(double expected, double actual, double tol)
    {
        double e = Math.Abs(expected - actual) / Math.Max(1, Math.Abs(expected));
        Assert.True(e <= tol, $"expected {expected:R}, got {actual:R} (relative error {e:E3} > {tol:E1})");
    }

    /// <summary>Central finite difference of f along v: (f(x + hv) − f(x − hv)) / 2h for every input at once.</summary>
    public static Tensor<double> CentralDifference(Func<Node[], Node> f, Tensor<double>[] xs, Tensor<double>[] vs, double h = 1e-5)
    {
        var plus = Eval(f, [.. xs.Select((x, i) => Axpy(x, h, vs[i]))]);
        var minus = Eval(f, [.. xs.Select((x, i) => Axpy(x, -h, vs[i]))]);
        var r = new Tensor<double>(plus.Shape);
        for (int i = 0; i < r.Size; i++) r.Data[i] = (plus.Data[i] - minus.Data[i]) / (2 * h);
        return r;
    }
}
