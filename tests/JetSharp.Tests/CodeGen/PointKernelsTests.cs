using JetSharp.CodeGen;

namespace JetSharp.Tests;

/// <summary>
/// The register-blocked products of per-point regions (<see cref="PointKernels.MatMulRows{T}"/>,
/// <see cref="PointKernels.AddTransposedProduct{T}"/>) against naive triple loops, on sizes that reach every tile
/// and remainder: 1, 3, 5 and 17 rows (4-row tiles and single rows), columns below, at and past whole vectors
/// (1, 3, 7, 8, 13, 16, 33, 64, 70: the scalar column tail, 1-vector and 4-vector tiles for 8 doubles or 16 floats),
/// in float64 and float32.
/// </summary>
public class PointKernelsTests
{
    public static TheoryData<int, int, int> Sizes()
    {
        var data = new TheoryData<int, int, int>();
        foreach (int rows in new[] { 1, 3, 5, 17 })
            foreach (int k in new[] { 1, 2, 32 })
                foreach (int n in new[] { 1, 3, 7, 8, 13, 16, 33, 64, 70 })
                    data.Add(rows, k, n);
        return data;
    }

    private static T[] Random<T>(int size, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, size).Select(_ => T.CreateTruncating(rng.NextDouble() * 2 - 1))];
    }

    private static void Close<T>(T[] expected, T[] actual, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = double.CreateTruncating(expected[i]), a = double.CreateTruncating(actual[i]);
            Assert.True(Math.Abs(e - a) <= tolerance * (1 + Math.Abs(e)), $"element {i}: expected {e}, got {a}");
        }
    }

    private static void MatMulRowsAgreesWithTripleLoop<T>(int rows, int k, int n, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Random<T>(rows * k, 1);
        var w = Random<T>(k * n, 2);
        var c = Random<T>(rows * n + 5, 3);   // overwritten; the extra elements stay untouched
        var expected = (T[])c.Clone();
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++)
            {
                T s = T.Zero;
                for (int p = 0; p < k; p++) s += a[r * k + p] * w[p * n + j];
                expected[r * n + j] = s;
            }
        PointKernels.MatMulRows(a, rows, k, w, n, c);
        Close(expected, c, tolerance);
    }

    private static void AddTransposedProductAgreesWithTripleLoop<T>(int rows, int m, int n, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = Random<T>(rows * m, 4);
        var y = Random<T>(rows * n, 5);
        var acc = Random<T>(m * n + 5, 6);   // accumulated into; the extra elements stay untouched
        var expected = (T[])acc.Clone();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                T s = expected[i * n + j];
                for (int r = 0; r < rows; r++) s += x[r * m + i] * y[r * n + j];
                expected[i * n + j] = s;
            }
        PointKernels.AddTransposedProduct(x, rows, m, y, n, acc);
        Close(expected, acc, tolerance);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void MatMulRowsAgreesWithATripleLoop(int rows, int k, int n)
    {
        MatMulRowsAgreesWithTripleLoop<double>(rows, k, n, 1e-13);
        MatMulRowsAgreesWithTripleLoop<float>(rows, k, n, 1e-5);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void AddTransposedProductAgreesWithATripleLoop(int rows, int m, int n)
    {
        // m (the rows of the result) takes the sizes of k: 1, 2 (single-row tiles) and 32 (4-row tiles).
        AddTransposedProductAgreesWithTripleLoop<double>(rows, m, n, 1e-13);
        AddTransposedProductAgreesWithTripleLoop<float>(rows, m, n, 1e-5);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(64)]
    public void ForChunksRunsEveryChunkExactlyOnceWithTheCallersArrays(int chunks)
    {
        // The chunks of a per-point region run on the runtime's worker threads: each index once, none outside
        // [0, chunks), each call handed the caller's arrays themselves.
        var arrays = new[] { new double[3], new double[5] };
        var counts = new int[chunks + 1];
        int wrongArrays = 0;
        PointKernels.ForChunks<double>(chunks, (c, a) =>
        {
            Interlocked.Increment(ref counts[Math.Min(c, chunks)]);
            if (!ReferenceEquals(a, arrays)) Interlocked.Increment(ref wrongArrays);
        }, arrays);
        for (int c = 0; c < chunks; c++) Assert.Equal(1, counts[c]);
        Assert.Equal(0, counts[chunks]);
        Assert.Equal(0, wrongArrays);
    }

    [Fact]
    public void ForChunksRejectsANegativeCountAndSurfacesAChunksException()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PointKernels.ForChunks<double>(-1, (_, _) => { }, []));
        var e = Assert.Throws<InvalidOperationException>(() =>
            PointKernels.ForChunks<double>(4, (c, _) => { if (c == 2) throw new InvalidOperationException("chunk 2"); }, []));
        Assert.Equal("chunk 2", e.Message);
    }

    [Fact]
    public void ProductsRejectArraysTooShortForTheirSizes()
    {
        Assert.Throws<ArgumentException>(() => PointKernels.MatMulRows(new double[5], 2, 3, new double[12], 4, new double[8]));
        Assert.Throws<ArgumentException>(() => PointKernels.AddTransposedProduct(new double[6], 2, 3, new double[8], 4, new double[11]));
    }

    [Fact]
    public void VectorTanhAgreesWithTheScalarTanhAcrossItsBranches()
    {
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return;   // emitted code uses it only with 512-bit vectors
        double[] xs = [0.0, -0.0, 1e-300, -1e-10, 0.3, -0.6249, 0.625, -0.7, 1.5, -3, 10, -19.5, 20, 400, -800,
            double.PositiveInfinity, double.NegativeInfinity, double.NaN, 1e-5, -2.5e-3, 0.1, 5];
        for (int s = 0; s < xs.Length; s += 8)
        {
            var chunk = new double[8];
            Array.Copy(xs, s, chunk, 0, Math.Min(8, xs.Length - s));
            var d = PointKernels.Tanh(System.Runtime.Intrinsics.Vector512.Create(chunk));
            float[] both = [.. chunk.Select(x => (float)x), .. chunk.Select(x => (float)-x)];
            var f = PointKernels.Tanh(System.Runtime.Intrinsics.Vector512.Create(both));
            for (int i = 0; i < 8; i++)
            {
                double x = chunk[i];
                if (double.IsNaN(x)) { Assert.True(double.IsNaN(d[i]) && float.IsNaN(f[i])); continue; }
                Assert.True(Math.Abs(d[i] - Math.Tanh(x)) <= 4e-16 * Math.Max(Math.Abs(Math.Tanh(x)), 1e-300) + 1e-320, $"tanh({x}) = {d[i]}, expected {Math.Tanh(x)}");
                Assert.Equal(double.IsNegative(Math.Tanh(x)), double.IsNegative(d[i]));   // -0 stays -0
                Assert.True(Math.Abs(f[i] - MathF.Tanh((float)x)) <= 4e-7 * Math.Abs(MathF.Tanh((float)x)) + 1e-44, $"tanhf({x}) = {f[i]}");
                Assert.True(Math.Abs(f[i + 8] + f[i]) <= 4e-7 * Math.Abs(f[i]), "odd");
            }
        }
    }
    [Fact]
    public void VectorTanhIsAccurateAcrossTheRangeOfItsExponential()
    {
        // The double formula computes e^{2|x|} itself (argument reduction by ln 2, a Taylor polynomial, 2ⁿ in the exponent
        // bits) for |x| ≥ 0.625: a dense sweep of that branch and of the cap at 2|x| = 50, both signs, against Math.Tanh (the same bound as above; Vector512.Exp in its place reaches the same 3.8e-16), and the
        // float formula (its own exponential) on the same values and a third of them against MathF.Tanh.
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return;
        var rng = new Random(7);
        var xs = new List<double>();
        for (int k = 0; k < 40000; k++) xs.Add(0.62 + k * (26.0 - 0.62) / 40000);
        for (int k = 0; k < 20000; k++) xs.Add(rng.NextDouble() * 40 - 20);
        for (int n = 1; n <= 75; n++) { double m = n * Math.Log(2) / 2; xs.AddRange([m, Math.BitDecrement(m), Math.BitIncrement(m), m + Math.Log(2) / 4]); }
        double worst = 0, worstSingle = 0;
        for (int s = 0; s + 8 <= xs.Count; s += 8)
        {
            var chunk = xs.GetRange(s, 8).Select((x, i) => i % 2 == 0 ? x : -x).ToArray();
            var d = PointKernels.Tanh(System.Runtime.Intrinsics.Vector512.Create(chunk));
            for (int i = 0; i < 8; i++)
                worst = Math.Max(worst, Math.Abs(d[i] - Math.Tanh(chunk[i])) / Math.Abs(Math.Tanh(chunk[i])));
            float[] singles = [.. chunk.Select(x => (float)x), .. chunk.Select(x => (float)(x / 3))];
            var f = PointKernels.Tanh(System.Runtime.Intrinsics.Vector512.Create(singles));
            for (int i = 0; i < 16; i++)
                worstSingle = Math.Max(worstSingle, Math.Abs(f[i] - MathF.Tanh(singles[i])) / Math.Abs(MathF.Tanh(singles[i])));
        }
        Assert.True(worst <= 4e-16, $"largest relative error {worst:E2}");
        Assert.True(worstSingle <= 4e-7, $"largest relative error (float) {worstSingle:E2}");
    }
}
