using JetSharp.Runtime;

namespace JetSharp.Tests;

internal static class TestUtil
{
    public static NDArray<double> T(params double[] v) => NDArray.FromArray(v);
    public static NDArray<double> T(double[,] v) => NDArray.FromArray(v);
    public static NDArray<double> Randn(long seed, params int[] shape) => NDArray.RandomNormal<double>(new Shape(shape), seed);
    public static NDArray<double> Rand(long seed, double lo, double hi, params int[] shape) => NDArray.RandomUniform<double>(new Shape(shape), seed, lo, hi);

    public static NDArray<double>[] Run(Graph g, params NDArray<double>[] inputs) => Executable.Compile(g).Run(inputs);

    /// <summary><paramref name="length"/> values uniform in [−1, 1) from <paramref name="seed"/>, as raw arrays for kernel tests.</summary>
    public static T[] Uniform<T>(int seed, int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        var x = new T[length];
        for (int i = 0; i < length; i++) x[i] = T.CreateChecked(rng.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>
    /// Runs <paramref name="exe"/> and the node-by-node executor (no fusion, no group steps) of its graph on the inputs:
    /// every output the same bits, and the run's peak the one <see cref="Executable.PlannedPeakBytes"/> predicted.
    /// </summary>
    public static void AssertReferenceBits(Executable exe, params NDArray<double>[] inputs)
    {
        var got = exe.Run(inputs);
        var want = new Executable(exe.Graph, fuse: false).Run(inputs);
        for (int o = 0; o < want.Length; o++) Assert.Equal(want[o].Data, got[o].Data);
        Assert.Equal(exe.PlannedPeakBytes(), exe.LastRun.PeakLiveBytes);
    }

    /// <summary>Evaluates a traced function at concrete inputs.</summary>
    public static NDArray<double> Eval(Func<Node[], Node> f, params NDArray<double>[] xs)
    {
        var g = Tracer.Function(f, [.. xs.Select(x => x.Shape)]);
        return Run(g, xs)[0];
    }

    public static NDArray<double> Axpy(NDArray<double> x, double a, NDArray<double> v)
    {
        var r = new NDArray<double>(x.Shape);
        for (int i = 0; i < x.Size; i++) r.Data[i] = x.Data[i] + a * v.Data[i];
        return r;
    }

    public static double Dot(NDArray<double> a, NDArray<double> b)
    {
        Assert.Equal(a.Shape, b.Shape);
        double s = 0;
        for (int i = 0; i < a.Size; i++) s += a.Data[i] * b.Data[i];
        return s;
    }

    public static double MaxAbs(NDArray<double> a) => a.Data.Length == 0 ? 0 : a.Data.Max(Math.Abs);

    /// <summary>max |a − b| / max(1, max|b|).</summary>
    public static double RelErr(NDArray<double> a, NDArray<double> b)
    {
        Assert.Equal(b.Shape, a.Shape);
        double m = 0;
        for (int i = 0; i < a.Size; i++) m = Math.Max(m, Math.Abs(a.Data[i] - b.Data[i]));
        return m / Math.Max(1, MaxAbs(b));
    }

    public static void Close(NDArray<double> expected, NDArray<double> actual, double tol)
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
    public static NDArray<double> CentralDifference(Func<Node[], Node> f, NDArray<double>[] xs, NDArray<double>[] vs, double h = 1e-5)
    {
        var plus = Eval(f, [.. xs.Select((x, i) => Axpy(x, h, vs[i]))]);
        var minus = Eval(f, [.. xs.Select((x, i) => Axpy(x, -h, vs[i]))]);
        var r = new NDArray<double>(plus.Shape);
        for (int i = 0; i < r.Size; i++) r.Data[i] = (plus.Data[i] - minus.Data[i]) / (2 * h);
        return r;
    }

    /// <summary>x [N, 3n] with the coordinates of particles <paramref name="i"/> and <paramref name="j"/> exchanged in every row (a copy).</summary>
    public static NDArray<double> SwapParticles(NDArray<double> x, int i, int j)
    {
        var y = x.Clone();
        int width = x.Shape[1];
        for (int n = 0; n < x.Shape[0]; n++)
            for (int d = 0; d < 3; d++)
                (y.Data[width * n + 3 * i + d], y.Data[width * n + 3 * j + d]) = (x.Data[width * n + 3 * j + d], x.Data[width * n + 3 * i + d]);
        return y;
    }
}
