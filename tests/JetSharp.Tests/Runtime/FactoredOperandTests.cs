using JetSharp.Backend;
using JetSharp.Runtime;

namespace JetSharp.Tests;

/// <summary>
/// A product's left operand given as an elementwise product of two broadcast operands (GemmFactor, ProductStack.Factored):
/// the GEMM multiplies each sliver where it reads it, with the bits of a GEMM on the stored product, on every kernel path,
/// thread count and row map; the row maps that shapes give; the refusals; and which multiplications the executor forms in
/// a product (ProductStackTests runs a collapsed Laplacian whose first-layer tangents f′(z₁) ⊙ W₁ rows are formed so).
/// </summary>
public class FactoredOperandTests
{
    /// <summary>Row i of the left operand, written out element by element: a[mapA(i)] · y[mapY(i)].</summary>
    private static T[] Multiplied<T>(T[] a, GemmRowMap mapA, T[] y, GemmRowMap mapY, int m, int k) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new T[m * k];
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++) result[i * k + p] = a[(i / mapA.Div % mapA.Mod) * k + p] * y[(i / mapY.Div % mapY.Mod) * k + p];
        return result;
    }

    public static TheoryData<string> Paths() => [.. new[] { GemmKernelPath.Vector512, GemmKernelPath.Vector256, GemmKernelPath.Portable }.Select(p => p.ToString())];

    [Theory]
    [MemberData(nameof(Paths))]
    public void AFactoredLeftOperandGivesTheBitsOfTheStoredProduct(string kernel)
    {
        var path = Enum.Parse<GemmKernelPath>(kernel);
        // [R, N, k] operands with R = 7, N = 13 (91 rows: whole slivers and a partial one for every MR), and N = 2 (14 rows):
        // W₁'s rows times f′ (the first layer), z₁ times f′ (a full operand), one row times f′; a right edge (n = 50) and
        // none (64); k in one block, and 1100 (two k blocks in float32 and float64).
        foreach (var (r, n0) in new[] { (7, 13), (7, 2) })
            foreach (var (n, k) in new[] { (50, 40), (64, 300), (50, 1100) })
                foreach (var (mapA, rowsA) in new[] { (new GemmRowMap(n0, r), r), (GemmRowMap.Identity, r * n0), (new GemmRowMap(r * n0, 1), 1) })
                {
                    Check<float>(path, r * n0, n, k, mapA, rowsA, new GemmRowMap(1, n0), n0);
                    Check<double>(path, r * n0, n, k, mapA, rowsA, new GemmRowMap(1, n0), n0);
                }
    }

    private static void Check<T>(GemmKernelPath path, int m, int n, int k, GemmRowMap mapA, int rowsA, GemmRowMap mapY, int rowsY)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var b = TestUtil.Uniform<T>(1, k * n);
        var a = TestUtil.Uniform<T>(2, rowsA * k);
        var y = TestUtil.Uniform<T>(3, rowsY * k);
        var stored = Multiplied(a, mapA, y, mapY, m, k);
        var want = new T[m * n];
        Gemm.Execute(GemmProvider.Managed, path, 1, false, false, m, n, k, T.One, stored, 0, k, 0, b, 0, n, 0, T.Zero, want, 0, n, 0);
        int saved = ManagedGemm.MaxThreads;
        foreach (int threads in new[] { 1, Environment.ProcessorCount })
        {
            ManagedGemm.MaxThreads = threads;
            try
            {
                // Alone (one product, split as Gemm.Multiply splits it) and in a stack with a stored operand.
                var alone = new StackedRows<T>(a, m, new T[m * n]) { Factor = new GemmFactor<T>(mapA, y, mapY) };
                Array.Fill(alone.C, T.NaN);
                ManagedGemm.MultiplyStacked(path, false, n, k, b, n, [alone]);
                Assert.Equal(want, alone.C);
                var other = new StackedRows<T>(TestUtil.Uniform<T>(4, 30 * k), 30, new T[30 * n]);
                var factored = alone with { C = new T[m * n] };
                ManagedGemm.MultiplyStacked(path, false, n, k, b, n, [other, factored]);
                Assert.Equal(want, factored.C);
            }
            finally { ManagedGemm.MaxThreads = saved; }
        }
        // And the values themselves, against a plain sum of products in double.
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += double.CreateChecked(stored[i * k + p]) * double.CreateChecked(b[p * n + j]);
                double tol = (typeof(T) == typeof(float) ? 1e-5 : 1e-13) * (1 + k);
                Assert.True(Math.Abs(double.CreateChecked(want[i * n + j]) - s) <= tol, $"{typeof(T).Name} {path} ({i}, {j}): {want[i * n + j]} vs {s}");
            }
    }

    [Fact]
    public void ProductsTheManagedKernelsDoNotRunMultiplyTheOperandOutFirst()
    {
        // k = 40 000 for 20 rows takes the long-k split, which reads a stored A: the factored operand is multiplied out
        // and the product has the bits of the stored one.
        const int r = 4, n0 = 5, m = r * n0, n = 8, k = 40_000;
        Assert.True(LongKGemm.Applies(1, m, n, k, false));
        var a = TestUtil.Uniform<float>(1, r * k);
        var y = TestUtil.Uniform<float>(2, n0 * k);
        var b = TestUtil.Uniform<float>(3, k * n);
        var (mapA, mapY) = (new GemmRowMap(n0, r), new GemmRowMap(1, n0));
        var item = new StackedRows<float>(a, m, new float[m * n]) { Factor = new GemmFactor<float>(mapA, y, mapY) };
        Gemm.MultiplyStacked(false, n, k, b, n, [item]);
        var want = new float[m * n];
        Gemm.Multiply(false, false, m, n, k, 1f, Multiplied(a, mapA, y, mapY, m, k), 0, k, b, 0, n, 0f, want, 0, n);
        Assert.Equal(want, item.C);
    }

    [Fact]
    public void AFactorTooShortOrARowMapOutOfRangeIsRefusedBeforeAnyWork()
    {
        var b = new double[40 * 50];
        var good = new StackedRows<double>(Enumerable.Repeat(1.0, 3 * 40).ToArray(), 3, new double[3 * 50]);
        // 12 rows reading rows i mod 5 of a factor that has 4.
        var shortFactor = new StackedRows<double>(new double[3 * 40], 12, new double[12 * 50])
        {
            Factor = new GemmFactor<double>(new GemmRowMap(4, 3), new double[4 * 40], new GemmRowMap(1, 5)),
        };
        var e = Assert.Throws<ArgumentException>(() => Gemm.MultiplyStacked(false, 50, 40, b, 50, [good, shortFactor]));
        Assert.Contains("A (second factor) needs 200 elements", e.Message);
        var zeroDiv = shortFactor with { Factor = new GemmFactor<double>(new GemmRowMap(0, 3), new double[5 * 40], new GemmRowMap(1, 5)) };
        e = Assert.Throws<ArgumentException>(() => Gemm.MultiplyStacked(false, 50, 40, b, 50, [good, zeroDiv]));
        Assert.Contains("Div ≥ 1", e.Message);
        Assert.All(good.C, x => Assert.Equal(0, x));
    }

    [Fact]
    public void RowMapsFollowTheBroadcastAxes()
    {
        Shape full = new(7, 13, 40);
        Assert.Equal(new GemmRowMap(13, 7), MatMulKernel.RowMapOf(new Shape(7, 1, 40), full));
        Assert.Equal(new GemmRowMap(1, 13), MatMulKernel.RowMapOf(new Shape(13, 40), full));
        Assert.Equal(new GemmRowMap(1, 91), MatMulKernel.RowMapOf(full, full));
        Assert.Equal(new GemmRowMap(91, 1), MatMulKernel.RowMapOf(new Shape(40), full));
        // Axes of length 1 in the result neither keep nor break a run.
        Assert.Equal(new GemmRowMap(13, 7), MatMulKernel.RowMapOf(new Shape(7, 1, 1, 40), new Shape(7, 1, 13, 40)));
        // Kept axes that are not adjacent, and a last axis that differs, have no row map.
        Assert.Null(MatMulKernel.RowMapOf(new Shape(2, 1, 13, 40), new Shape(2, 5, 13, 40)));
        Assert.Null(MatMulKernel.RowMapOf(new Shape(7, 13, 1), full));
        // Each map reads the rows the broadcast reads.
        var map = MatMulKernel.RowMapOf(new Shape(5, 1, 40), new Shape(2, 5, 13, 40))!.Value;
        for (int i = 0; i < 2 * 5 * 13; i++) Assert.Equal(i / 13 % 5, map.Row(i));
    }

    [Fact]
    public void OnlyAProductReadByTheProductAloneIsFormedThere()
    {
        // f ⊙ w [4, 100, 60] from [100, 60] and [4, 1, 60], times W: formed in the product (alone, as a step of one product).
        static Graph Build(bool alsoRead, bool asOutput)
        {
            var g = new Graph(DType.Float64);
            var f = g.Input(new Shape(100, 60));
            var w = g.Input(new Shape(4, 1, 60));
            var q = f * w;
            var product = Fn.MatMul(q, g.Constant(TestUtil.Randn(2, 60, 70)));
            g.SetOutputs([product, .. alsoRead ? [Fn.Sum(q, 0, keepDims: true)] : Array.Empty<Node>(), .. asOutput ? [q] : Array.Empty<Node>()]);
            return g;
        }
        var inputs = new[] { TestUtil.Randn(3, 100, 60), TestUtil.Randn(4, 4, 1, 60) };
        var alone = new Executable(Build(false, false));
        Assert.Equal(1, alone.FactoredProducts);
        Assert.Contains("one product, 1 factored", alone.PlanListing());
        TestUtil.AssertReferenceBits(alone, inputs);
        foreach (var (read, output) in new[] { (true, false), (false, true) })
        {
            var exe = new Executable(Build(read, output));
            Assert.Equal(0, exe.FactoredProducts);
            TestUtil.AssertReferenceBits(exe, inputs);
        }
        // A full-size operand (z ⊙ f with z [4, 100, 60]) is not formed in the product: read from memory sliver by sliver it
        // measured slower than the stored product.
        var g2 = new Graph(DType.Float64);
        var z = g2.Input(new Shape(4, 100, 60));
        var f2 = g2.Input(new Shape(100, 60));
        g2.SetOutputs(Fn.MatMul(z * f2, g2.Constant(TestUtil.Randn(2, 60, 70))));
        Assert.Equal(0, new Executable(g2).FactoredProducts);
    }
}
