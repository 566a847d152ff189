using JetSharp.Nn;
using JetSharp.Runtime;

namespace JetSharp.Tests;

/// <summary>
/// Products of a few rows by a constant matrix run as Cᵀ = op(W)ᵀ·Aᵀ (TransposedProduct): the values of a direct
/// triple loop, which products qualify, the memory plan, and a collapsed Laplacian whose primal and collapsed products
/// run this way against nested first-order AD.
/// </summary>
public class TransposedProductTests
{
    /// <summary>C = A·op(W) by the definition, summed in double.</summary>
    private static double[] Direct(double[] a, double[] w, int rows, int k, int n, bool transposeB)
    {
        var c = new double[rows * n];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += a[i * k + p] * (transposeB ? w[j * k + p] : w[p * n + j]);
                c[i * n + j] = s;
            }
        return c;
    }

    private static (Graph Graph, NDArray<double> Weight) Product(Shape a, int n, bool transposeB, DType dtype, bool weightAsInput = false)
    {
        int k = a[^1];
        var weight = TestUtil.Randn(7, transposeB ? [n, k] : [k, n]);
        var g = new Graph(dtype);
        var x = g.Input(a);
        var w = weightAsInput ? g.Input(weight.Shape) : g.Constant(dtype == DType.Float64 ? weight : weight.To<float>());
        g.SetOutputs(Fn.Tanh(Fn.MatMul(x, w, transposeB: transposeB)));
        return (g, weight);
    }

    [Theory]
    [InlineData(new[] { 32, 40 }, 96, false)]        // one matrix of rows
    [InlineData(new[] { 1, 32, 48 }, 128, false)]    // a collapsed [1, N, width] operand
    [InlineData(new[] { 2, 4, 8, 20 }, 160, false)]  // batch axes folded into 64 rows (the most), ragged k
    [InlineData(new[] { 64, 33 }, 128, true)]        // W stored [n, k] and used transposed
    [InlineData(new[] { 32, 8 }, 64, true)]          // k just at its floor
    [InlineData(new[] { 32, 300 }, 768, false)]      // several row slivers of Wᵀ and a long k
    public void AFewRowsByAConstantRunTransposedAndMatchTheDefinition(int[] a, int n, bool transposeB)
    {
        var shape = new Shape(a);
        int k = a[^1], rows = (int)(shape.Size / k);
        var x = TestUtil.Randn(3, a);
        var (g64, weight) = Product(shape, n, transposeB, DType.Float64);
        var exe = new Executable(g64);
        Assert.Equal(1, exe.TransposedProducts);
        Assert.Contains("transposed ", exe.PlanListing());
        var direct = Direct(x.Data, weight.Data, rows, k, n, transposeB);
        var y = exe.Run(x)[0];
        for (int i = 0; i < direct.Length; i++)
            Assert.True(Math.Abs(Math.Tanh(direct[i]) - y.Data[i]) <= 1e-12, $"element {i}: {y.Data[i]} vs tanh({direct[i]})");
        Assert.Equal(exe.PlannedPeakBytes(), exe.LastRun.PeakLiveBytes);
        // The same bits as the product run untransposed (the reference executor).
        Assert.Equal(new Executable(g64, fuse: false).Run(x)[0].Data, y.Data);

        // float32: the same products in single precision, against the double-precision definition.
        var (g32, _) = Product(shape, n, transposeB, DType.Float32);
        var exe32 = new Executable(g32);
        Assert.Equal(1, exe32.TransposedProducts);
        var y32 = exe32.Run(x.To<float>())[0];
        Assert.Equal(new Executable(g32, fuse: false).Run(x.To<float>())[0].Data, y32.Data);
        for (int i = 0; i < direct.Length; i++)
            Assert.True(Math.Abs(Math.Tanh(direct[i]) - y32.Data[i]) <= 2e-5 * (1 + Math.Sqrt(k)), $"float32 element {i}: {y32.Data[i]} vs tanh({direct[i]})");

        // First runs of a fresh executable on several threads at once: each finds the weight's transposed layout made once.
        var fresh = new Executable(g64);
        var runs = Enumerable.Range(0, 4).AsParallel().WithDegreeOfParallelism(4).Select(_ => fresh.Run(x)[0].Data).ToArray();
        foreach (var r in runs) Assert.Equal(y.Data, r);
    }

    [Theory]
    [InlineData(new[] { 96, 40 }, 256, false, false)]   // more rows than the limit
    [InlineData(new[] { 64, 40 }, 96, false, false)]    // fewer than twice as many columns as rows
    [InlineData(new[] { 32, 7 }, 96, false, false)]     // k below its floor
    [InlineData(new[] { 30, 40 }, 96, false, false)]    // rows not a multiple of the alignment (edge kernels would round otherwise)
    [InlineData(new[] { 32, 40 }, 100, true, false)]    // columns not a multiple of the alignment
    [InlineData(new[] { 32, 40 }, 96, false, true)]     // the weight is an input, not a constant
    [InlineData(new[] { 32, JetSharp.Backend.LongKGemm.MinK }, 64, true, false)]   // k deep enough for the GEMM's split over k
    public void OtherProductsRunAsBefore(int[] a, int n, bool transposeB, bool weightAsInput)
    {
        var (g, _) = Product(new Shape(a), n, transposeB, DType.Float64, weightAsInput);
        Assert.Equal(0, new Executable(g).TransposedProducts);
    }

    [Fact]
    public void TheReferenceExecutorDoesNotTranspose()
    {
        var (g, _) = Product(new Shape(32, 24), 96, false, DType.Float64);
        Assert.Equal(1, new Executable(g).TransposedProducts);
        Assert.Equal(0, new Executable(g, fuse: false).TransposedProducts);
    }

    [Fact]
    public void ACollapsedLaplacianWithTransposedPrimalAndCollapsedProductsMatchesNestedAd()
    {
        // N = 32 points and widths of 64–96, so each layer's primal [N, width] and collapsed [1, N, width] products qualify
        // (when they do not stack with the layer's tangents, whose product by the same weight is 160 rows tall: ProductStackTests).
        var net = Mlp.Create(5, [96, 64, 64], 1, Activation.Tanh, seed: 2, DType.Float64);
        var x = TestUtil.Randn(9, 32, 5);
        var traced = Tracer.Function(v => net.Apply(v), x.Shape, DType.Float64);
        var collapsed = new Executable(DifferentialOperator.Laplacian().Build(traced, Strategy.Collapsed), fuse: true, fuseEpilogues: false, stackProducts: false);
        Assert.True(collapsed.TransposedProducts >= 4, $"{collapsed.TransposedProducts} products ran transposed");
        var nested = new Executable(DifferentialOperator.Laplacian().Build(traced, Strategy.NestedFirstOrder), fuse: false);
        var a = collapsed.Run(x)[0];
        var b = nested.Run(x)[0];
        double scale = b.Data.Max(Math.Abs);
        for (int i = 0; i < a.Size; i++) Assert.True(Math.Abs(a.Data[i] - b.Data[i]) <= 1e-12 * scale, $"datum {i}: collapsed {a.Data[i]} vs nested {b.Data[i]}");
        // And bit for bit the collapsed graph run without the transposition.
        var traced2 = Tracer.Function(v => net.Apply(v), x.Shape, DType.Float64);
        var reference = new Executable(DifferentialOperator.Laplacian().Build(traced2, Strategy.Collapsed), fuse: false).Run(x)[0];
        Assert.Equal(reference.Data, a.Data);
    }
}
