namespace JetSharp.Tests;

/// <summary>Helpers shared by the operator tests: strategy lists and per-row references computed in plain C#.</summary>
internal static class OperatorTestUtil
{
    public static readonly Strategy[] AllStrategies = [Strategy.Collapsed, Strategy.StandardTaylor, Strategy.NestedFirstOrder];

    /// <summary>The strategies by name (theory data must be serializable for xUnit to list one case per strategy); map back with <see cref="Strategy.FromName"/>.</summary>
    public static TheoryData<string> Strategies => [.. AllStrategies.Select(s => s.Name)];

    /// <summary>Row n of x as a double[] (references are written per datum, independent of the library).</summary>
    public static double[] Row(NDArray<double> x, int n)
    {
        int d = x.Shape[1];
        return x.Data.AsSpan(n * d, d).ToArray();
    }

    /// <summary>[N, 1] tensor of a per-row reference value.</summary>
    public static NDArray<double> PerRow(NDArray<double> x, Func<double[], double> f)
    {
        int n = x.Shape[0];
        var r = new NDArray<double>(new Shape(n, 1));
        for (int i = 0; i < n; i++) r.Data[i] = f(Row(x, i));
        return r;
    }

    /// <summary>A [rows, cols] matrix node from a C# array.</summary>
    public static Node Matrix(Graph g, double[,] m) => g.Constant(NDArray.FromArray(m));

    /// <summary>A column vector [D, 1] constant, for x·a.</summary>
    public static Node Column(Graph g, double[] a) => g.Constant(NDArray.FromArray(a, new Shape(a.Length, 1)));

    public static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>Σ_{i,j} M_ij H_ij.</summary>
    public static double Contract(double[,] m, double[,] h)
    {
        double s = 0;
        for (int i = 0; i < m.GetLength(0); i++)
            for (int j = 0; j < m.GetLength(1); j++) s += m[i, j] * h[i, j];
        return s;
    }

    /// <summary>σσᵀ for σ [D, R].</summary>
    public static double[,] Gram(double[,] sigma)
    {
        int d = sigma.GetLength(0), r = sigma.GetLength(1);
        var a = new double[d, d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                for (int k = 0; k < r; k++) a[i, j] += sigma[i, k] * sigma[j, k];
        return a;
    }

    public static double[,] RandomMatrix(int rows, int cols, int seed, double scale = 1)
    {
        var rng = new System.Random(seed);
        var m = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) m[i, j] = scale * (2 * rng.NextDouble() - 1);
        return m;
    }

    public static double[] RandomVector(int n, int seed, double scale = 1)
    {
        var rng = new System.Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => scale * (2 * rng.NextDouble() - 1))];
    }
}
