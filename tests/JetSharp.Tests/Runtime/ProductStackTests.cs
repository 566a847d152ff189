using JetSharp.Backend;
using JetSharp.Nn;
using JetSharp.Runtime;

namespace JetSharp.Tests;

/// <summary>
/// Products by one shared operand run as one GEMM (Gemm.MultiplyStacked, ProductStack): each item gets the bits of its
/// own product on every kernel path and thread count, against the definition; the executor stacks a collapsed
/// Laplacian's per-layer products, leaves alone products that feed each other, and its memory plan stays exact.
/// </summary>
public class ProductStackTests
{
    public static TheoryData<string, bool> PathsAndTransposes()
    {
        var data = new TheoryData<string, bool>();
        foreach (var path in new[] { GemmKernelPath.Vector512, GemmKernelPath.Vector256, GemmKernelPath.Portable })
            foreach (bool tb in new[] { false, true })
                data.Add(path.ToString(), tb);
        return data;
    }

    [Theory]
    [MemberData(nameof(PathsAndTransposes))]
    public void EachItemGetsTheBitsOfItsOwnProduct(string kernel, bool transB)
    {
        var path = Enum.Parse<GemmKernelPath>(kernel);
        // Rows that are and are not whole slivers (MR ∈ {4, 6, 8, 12}), one row, and a right edge (n = 50) with long and short k.
        int[] rows = [130, 1, 13, 77];
        foreach (var (n, k) in new[] { (50, 40), (64, 300) })
        {
            Check<float>(path, rows, n, k, transB);
            Check<double>(path, rows, n, k, transB);
        }
    }

    private static void Check<T>(GemmKernelPath path, int[] rows, int n, int k, bool transB) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var b = TestUtil.Uniform<T>(1, k * n);
        var items = rows.Select((m, i) => new StackedRows<T>(TestUtil.Uniform<T>(10 + i, m * k), m, new T[m * n])).ToArray();
        int saved = ManagedGemm.MaxThreads;
        foreach (int threads in new[] { 1, Environment.ProcessorCount })
        {
            ManagedGemm.MaxThreads = threads;
            try
            {
                foreach (var item in items) Array.Fill(item.C, T.NaN);
                ManagedGemm.MultiplyStacked(path, transB, n, k, b, transB ? k : n, items);
                foreach (var item in items)
                {
                    var own = new T[item.M * n];
                    Gemm.Execute(GemmProvider.Managed, path, 1, false, transB, item.M, n, k, T.One, item.A, 0, k, 0, b, 0, transB ? k : n, 0, T.Zero, own, 0, n, 0);
                    Assert.Equal(own, item.C);
                    for (int i = 0; i < item.M; i++)
                        for (int j = 0; j < n; j++)
                        {
                            double s = 0;
                            for (int p = 0; p < k; p++) s += double.CreateChecked(item.A[i * k + p]) * double.CreateChecked(transB ? b[j * k + p] : b[p * n + j]);
                            double tol = (typeof(T) == typeof(float) ? 1e-5 : 1e-13) * (1 + k);
                            Assert.True(Math.Abs(double.CreateChecked(item.C[i * n + j]) - s) <= tol, $"{typeof(T).Name} {path} item of {item.M} rows, ({i}, {j}): {item.C[i * n + j]} vs {s}");
                        }
                }
            }
            finally { ManagedGemm.MaxThreads = saved; }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void AnUnchangingWeightIsPackedOnceAndKeptWithTheSameBits(int threads)
    {
        // The same B (130 + 700 + 13 rows by 300 × 64, float32 and float64) in three stacked products marked unchanging: the
        // first packs it and keeps the packed form, the next ones read it from there; every product has the bits of the one
        // that packs B itself. The same array read with another shape (transposed, 64 × 300) is packed anew.
        CheckKept<float>(threads);
        CheckKept<double>(threads);
    }

    private static void CheckKept<T>(int threads) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int n = 64, k = 300;
        var path = GemmKernelPath.Vector256;
        var b = TestUtil.Uniform<T>(1, k * n);
        StackedRows<T>[] Items(int seed, int width) => [.. new[] { 130, 700, 13 }.Select((m, i) => new StackedRows<T>(TestUtil.Uniform<T>(seed + i, m * k), m, new T[m * width]))];
        int saved = ManagedGemm.MaxThreads;
        ManagedGemm.MaxThreads = threads;
        try
        {
            Assert.False(GemmDriver<T, Vector256Kernel<T>>.Keeps(b));
            for (int call = 0; call < 3; call++)
            {
                var own = Items(10 * call, n);
                var kept = Items(10 * call, n);
                ManagedGemm.MultiplyStacked(path, false, n, k, b, n, own);
                ManagedGemm.MultiplyStacked(path, false, n, k, b, n, kept, unchangingB: true);
                Assert.True(GemmDriver<T, Vector256Kernel<T>>.Keeps(b));
                for (int i = 0; i < own.Length; i++) Assert.Equal(own[i].C, kept[i].C);
            }
            // b as a 64 × 300 matrix, transposed: op(B) is 300 × 64 again but read with other strides.
            var ownT = Items(50, n);
            var keptT = Items(50, n);
            ManagedGemm.MultiplyStacked(path, true, n, k, b, k, ownT);
            ManagedGemm.MultiplyStacked(path, true, n, k, b, k, keptT, unchangingB: true);
            for (int i = 0; i < ownT.Length; i++) Assert.Equal(ownT[i].C, keptT[i].C);
        }
        finally { ManagedGemm.MaxThreads = saved; }
    }

    [Fact]
    public void AWeightTooLargeToShareRunsEachItemOnItsOwn()
    {
        // B̃ of 1100 × 2016 float32 (8.9 MB) is above the stack's limit: each item runs as its own product, same bits.
        const int n = 2000, k = 1100;
        Assert.True((long)k * n * sizeof(float) > GemmDriver<float, Vector256Kernel<float>>.MaxStackedPackBytes);
        var b = TestUtil.Uniform<float>(1, k * n);
        var items = new[] { 70, 130, 5 }.Select((m, i) => new StackedRows<float>(TestUtil.Uniform<float>(20 + i, m * k), m, new float[m * n])).ToArray();
        Gemm.MultiplyStacked(false, n, k, b, n, items);
        foreach (var item in items)
        {
            var own = new float[item.M * n];
            Gemm.Multiply(false, false, item.M, n, k, 1f, item.A, 0, k, b, 0, n, 0f, own, 0, n);
            Assert.Equal(own, item.C);
        }
    }

    [Fact]
    public void AnItemOfTheWrongSizeIsRefusedBeforeAnyWork()
    {
        var b = new double[40 * 50];
        var good = new StackedRows<double>(new double[3 * 40], 3, new double[3 * 50]);
        var bad = new StackedRows<double>(new double[5 * 40], 5, new double[4 * 50]);
        var e = Assert.Throws<ArgumentException>(() => Gemm.MultiplyStacked(false, 50, 40, b, 50, [good, bad]));
        Assert.Contains("C needs 250 elements", e.Message);
        Assert.All(good.C, x => Assert.Equal(0, x));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ACollapsedLaplacianStacksEachLayersProductsAndKeepsItsBits(bool float32)
    {
        // Tanh MLP 6 → 96 → 80 → 80 → 1, N = 100 (rows above the transposed products' limit): layers 2 and 3 multiply the
        // primal, the six tangents and the collapsed sum by one weight (layer 1's tangents are its weight's rows, and the
        // last layer multiplies only the collapsed sum). Layer 2's tangent product reads f′(z₁) ⊙ W₁'s rows, [6, 100, 96]
        // from a [100, 96] and a [6, 1, 96] operand, as a factored operand (never stored); the later layers' f′ ⊙ z₁ have a
        // full-size operand and stay stored.
        var dtype = float32 ? DType.Float32 : DType.Float64;
        var net = Mlp.Create(6, [96, 80, 80], 1, Activation.Tanh, seed: 3, dtype);
        var x = TestUtil.Randn(5, 100, 6);
        NDArray input = float32 ? x.To<float>() : x;
        var graph = DifferentialOperator.Laplacian().Build(Tracer.Function(v => net.Apply(v), input.Shape, dtype), Strategy.Collapsed);
        var stacked = new Executable(graph);
        Assert.Equal(2, stacked.StackedProducts.Steps);
        Assert.Equal(6, stacked.StackedProducts.Products);
        Assert.Contains("stacked(3), 1 factored", stacked.PlanListing());
        Assert.Equal(1, stacked.FactoredProducts);
        var stored = new Executable(graph, fuse: true, fuseEpilogues: false, stackProducts: true, elementwisePasses: true, factorInputs: false);
        Assert.Equal(0, stored.FactoredProducts);
        Assert.True(stacked.PlannedPeakBytes() < stored.PlannedPeakBytes(), $"{stacked.PlannedPeakBytes()} vs {stored.PlannedPeakBytes()}");
        var y = stacked.Run(input)[0].To<double>();
        Assert.Equal(stacked.PlannedPeakBytes(), stacked.LastRun.PeakLiveBytes);
        // The reference executor runs node by node: the same bits, with the first-layer tangents stored or not.
        Assert.Equal(new Executable(graph, fuse: false).Run(input)[0].To<double>().Data, y.Data);
        Assert.Equal(stored.Run(input)[0].To<double>().Data, y.Data);
        // A second run reads the weights' packed forms kept from the first (the stacks' weights are graph constants).
        Assert.Equal(y.Data, stacked.Run(input)[0].To<double>().Data);

        // And the Laplacian itself, against nested first-order AD.
        var nested = DifferentialOperator.Laplacian().Build(Tracer.Function(v => net.Apply(v), input.Shape, dtype), Strategy.NestedFirstOrder);
        var reference = new Executable(nested).Run(input)[0].To<double>();
        for (int i = 0; i < y.Size; i++)
            Assert.True(Math.Abs(y.Data[i] - reference.Data[i]) <= (float32 ? 1e-3 : 1e-10) * (1 + Math.Abs(reference.Data[i])), $"datum {i}: {y.Data[i]} vs nested {reference.Data[i]}");
    }

    [Fact]
    public void ProductsThatFeedEachOtherDoNotStack()
    {
        // W·tanh(W·x) and W·x: the second product by W reads the first one's result, so they cannot run together;
        // a third, independent product by W (of another input) stacks with the first.
        var g = new Graph(DType.Float64);
        var x = g.Input(new Shape(100, 70));
        var z = g.Input(new Shape(90, 70));
        var w = g.Constant(TestUtil.Randn(2, 70, 70));
        var first = Fn.MatMul(x, w);
        var second = Fn.MatMul(Fn.Tanh(first), w);
        var third = Fn.MatMul(z, w);
        g.SetOutputs(second, third);
        var exe = new Executable(g);
        Assert.Equal((1, 2), exe.StackedProducts);
        TestUtil.AssertReferenceBits(exe, TestUtil.Randn(3, 100, 70), TestUtil.Randn(4, 90, 70));
    }

    [Fact]
    public void ProductsOfAnotherStepsValuesStackWithIt()
    {
        // z = tanh(x) [R, N, H]; Σ_r z² and f ⊙ z run as one pass (SharedReadPass), and both results are multiplied by W:
        // the stack's operands are that pass's primary and its companion. (The biharmonic's nested Laplacian made this.)
        var g = new Graph(DType.Float64);
        var x = g.Input(new Shape(3, 100, 300));
        var f = g.Input(new Shape(100, 300));
        var w = g.Constant(TestUtil.Randn(2, 300, 80));
        var z = Fn.Tanh(x);
        var s = Fn.Sum(z * z, 0, keepDims: true);
        g.SetOutputs(Fn.MatMul(s, w), Fn.MatMul(f * z, w));
        var exe = new Executable(g);
        Assert.Equal((1, 2), exe.StackedProducts);
        Assert.Contains("one pass(2 trees", exe.PlanListing());
        TestUtil.AssertReferenceBits(exe, TestUtil.Randn(3, 3, 100, 300), TestUtil.Randn(4, 100, 300));
    }

    [Fact]
    public void ShortProductsAloneStayTransposed()
    {
        // Two 32-row products by one weight: both run transposed (reading the weight in place), not stacked.
        var g = new Graph(DType.Float64);
        var a = g.Input(new Shape(32, 40));
        var b = g.Input(new Shape(32, 40));
        var w = g.Constant(TestUtil.Randn(2, 40, 96));
        g.SetOutputs(Fn.MatMul(a, w), Fn.MatMul(b, w));
        var exe = new Executable(g);
        Assert.Equal((0, 0), exe.StackedProducts);
        Assert.Equal(2, exe.TransposedProducts);
    }
}
