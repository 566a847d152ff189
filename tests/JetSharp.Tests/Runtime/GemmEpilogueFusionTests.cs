using JetSharp.Backend;
using JetSharp.Nn;
using JetSharp.Runtime;

namespace JetSharp.Tests;

/// <summary>
/// Products run with their elementwise consumers and leading-axis sums in the GEMM's epilogue (GemmEpilogueFusion):
/// the same values as the executor without it, on hand-written and random graphs, and the fusion fires where it should.
/// </summary>
public class GemmEpilogueFusionTests
{
    private static void AssertClose(NDArray<double> expected, NDArray<double> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        double scale = expected.Data.Select(Math.Abs).DefaultIfEmpty(0).Max() + 1e-300;
        for (int i = 0; i < expected.Size; i++)
            Assert.True(Math.Abs(expected.Data[i] - actual.Data[i]) <= tolerance * scale,
                $"{what}: element {i}: {actual.Data[i]} vs {expected.Data[i]} (scale {scale})");
    }

    /// <summary>The two consumers of a Taylor rule's tangent z₁ = x₁W: f′·z₁ broadcast over the direction axis, and Σ_r g·z₁².</summary>
    private static Graph TaylorLayer(int r, int n, int k, int h, DType dtype = DType.Float64) => Tracer.Function(xs =>
    {
        var (x1, w, d1, d2) = (xs[0], xs[1], xs[2], xs[3]);
        var z1 = Fn.MatMul(x1, w);
        var y1 = d1 * z1;
        var top = Fn.Sum(d2 * (z1 * z1), 0);
        return [Fn.MatMul(y1, w, transposeB: true), top];
    }, [new Shape(r, n, k), new Shape(k, h), new Shape(n, h), new Shape(n, h)], dtype);

    [Theory]
    [InlineData(3, 2, 5, 7)]          // rows and columns below one register tile
    [InlineData(50, 4, 64, 96)]       // several row slivers, split between threads
    [InlineData(7, 3, 300, 37)]       // two k blocks (only the last runs the epilogue), ragged columns
    [InlineData(16, 8, 40, 1100)]     // rows longer than the epilogue's 1024-element chunk
    public void TheTaylorRuleOfATangentInTheEpilogueMatchesTheUnfusedExecutorAndTheClosedForm(int r, int n, int k, int h)
    {
        var g = TaylorLayer(r, n, k, h);
        var inputs = new[] { TestUtil.Randn(1, r, n, k), TestUtil.Randn(2, k, h), TestUtil.Randn(3, n, h), TestUtil.Randn(4, n, h) };
        var fused = new Executable(g, fuseEpilogues: true);
        var plain = new Executable(g, fuse: false);
        Assert.Equal(1, fused.EpilogueFusion.Products);
        var a = fused.Run(inputs);
        var b = plain.Run(inputs);
        for (int o = 0; o < 2; o++) AssertClose(b[o], a[o], 1e-12, $"output {o}");

        // The sum against a direct evaluation of Σ_r d2·(x1 W)².
        var (x1, w, d2) = (inputs[0].Data, inputs[1].Data, inputs[3].Data);
        var top = new double[n * h];
        for (int t = 0; t < r; t++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < h; j++)
                {
                    double z = 0;
                    for (int p = 0; p < k; p++) z += x1[(t * n + i) * k + p] * w[p * h + j];
                    top[i * h + j] += d2[i * h + j] * z * z;
                }
        AssertClose(new NDArray<double>(new Shape(n, h), top), a[1], 1e-12, "Σ_r d2·z1²");
    }

    [Fact]
    public void EpilogueSumsGiveTheSameBitsForEveryBatchSize()
    {
        // The sums' row ranges are fixed by the summed positions (r) alone: the first 3 data of a batch of 6 get the same sums alone
        // (both batches have sums of at least FusedTree.MinReducedSize outputs, so both run them in the epilogue).
        const int r = 40, k = 50, h = 128, full = 6, part = 3;
        var x1 = TestUtil.Randn(41, r, full, k);
        var x1Part = new NDArray<double>(new Shape(r, part, k));
        for (int t = 0; t < r; t++)
            for (int i = 0; i < part; i++)
                for (int p = 0; p < k; p++) x1Part[t, i, p] = x1[t, i, p];
        var (w, d1, d2) = (TestUtil.Randn(42, k, h), TestUtil.Randn(43, full, h), TestUtil.Randn(44, full, h));
        NDArray<double> First(NDArray<double> a) => new(new Shape(part, h), a.Data[..(part * h)]);
        var big = new Executable(TaylorLayer(r, full, k, h), fuseEpilogues: true).Run(x1, w, d1, d2)[1];
        var small = new Executable(TaylorLayer(r, part, k, h), fuseEpilogues: true).Run(x1Part, w, First(d1), First(d2))[1];
        Assert.Equal(First(big).Data, small.Data);
    }

    [Fact]
    public void Float32MatchesFloat64WithinTheRoundingOfTheProducts()
    {
        const int r = 20, n = 6, k = 96, h = 80;
        var inputs = new[] { TestUtil.Randn(5, r, n, k), TestUtil.Randn(6, k, h), TestUtil.Randn(7, n, h), TestUtil.Randn(8, n, h) };
        var exact = new Executable(TaylorLayer(r, n, k, h), fuse: false).Run(inputs);
        var single = new Executable(TaylorLayer(r, n, k, h, DType.Float32), fuseEpilogues: true);
        Assert.Equal(1, single.EpilogueFusion.Products);
        var got = single.Run([.. inputs.Select(x => x.To<float>())]);
        // Products of k = 96 terms of size ~1 in float32: relative error a few 1e-7 of the largest value.
        for (int o = 0; o < 2; o++) AssertClose(exact[o], got[o].To<double>(), 2e-5, $"output {o}");
    }

    [Fact]
    public void AProductConsumedOnlyBySumsRunsIntoScratchAndMatches()
    {
        const int r = 9, n = 5, k = 33, h = 70;
        var g = Tracer.Function(xs => [Fn.Sum(xs[2] * (Fn.MatMul(xs[0], xs[1]) * Fn.MatMul(xs[0], xs[1])), 0)],
            [new Shape(r, n, k), new Shape(k, h), new Shape(n, h)]);
        var inputs = new[] { TestUtil.Randn(9, r, n, k), TestUtil.Randn(10, k, h), TestUtil.Randn(11, n, h) };
        var fused = new Executable(g, fuseEpilogues: true);
        Assert.Equal(1, fused.EpilogueFusion.Products);
        AssertClose(new Executable(g, fuse: false).Run(inputs)[0], fused.Run(inputs)[0], 1e-12, "sum");
        Assert.Equal(fused.PlannedPeakBytes(), fused.LastRun.PeakLiveBytes);
    }

    [Fact]
    public void ProductsThatAreOutputsOrHaveOtherConsumersAreNotFused()
    {
        var g = Tracer.Function(xs =>
        {
            var z = Fn.MatMul(xs[0], xs[1]);
            var w = Fn.MatMul(xs[0], xs[1] * 2.0);
            return [z, xs[2] * z, Fn.Exp(w), w * xs[2]];   // z is an output; exp is not fusable arithmetic
        }, [new Shape(4, 3, 8), new Shape(8, 5), new Shape(3, 5)]);
        var inputs = new[] { TestUtil.Randn(12, 4, 3, 8), TestUtil.Randn(13, 8, 5), TestUtil.Randn(14, 3, 5) };
        var fused = new Executable(g, fuseEpilogues: true);
        Assert.Equal(0, fused.EpilogueFusion.Products);
        var a = fused.Run(inputs);
        var b = new Executable(g, fuse: false).Run(inputs);
        for (int o = 0; o < 4; o++) AssertClose(b[o], a[o], 1e-12, $"output {o}");
    }

    [Fact]
    public void AConsumerThatReadsAnotherConsumersResultKeepsTheProductOutOfTheEpilogue()
    {
        // u = d·z feeds t = Σ_r u², and v = z·t reads t: running u and v in z's epilogue would need t before it exists.
        var g = Tracer.Function(xs =>
        {
            var z = Fn.MatMul(xs[0], xs[1]);
            var u = xs[2] * z;
            var t = Fn.Sum(u * u, 0);
            return [u, z * t];
        }, [new Shape(6, 3, 8), new Shape(8, 5), new Shape(3, 5)]);
        var inputs = new[] { TestUtil.Randn(15, 6, 3, 8), TestUtil.Randn(16, 8, 5), TestUtil.Randn(17, 3, 5) };
        var fused = new Executable(g, fuseEpilogues: true);
        Assert.Equal(0, fused.EpilogueFusion.Products);
        var a = fused.Run(inputs);
        var b = new Executable(g, fuse: false).Run(inputs);
        for (int o = 0; o < 2; o++) AssertClose(b[o], a[o], 1e-12, $"output {o}");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public void RandomConsumersOfRandomProductsMatchTheUnfusedExecutor(int seed)
    {
        var rng = new Random(seed);
        int r = rng.Next(1, 12), n = rng.Next(1, 9), k = rng.Next(1, 70), h = rng.Next(1, 90);
        int consumers = rng.Next(1, 4);
        var kinds = Enumerable.Range(0, consumers).Select(_ => rng.Next(3)).ToArray();   // 0, 1: elementwise; 2: Σ over axis 0
        var depths = Enumerable.Range(0, consumers).Select(_ => rng.Next(1, 4)).ToArray();
        var choices = Enumerable.Range(0, 64).Select(_ => rng.Next(1000)).ToArray();
        var g = Tracer.Function(xs =>
        {
            var z = Fn.MatMul(xs[0], xs[1]);
            Node[] leaves = [z, xs[2], xs[3], xs[4]];   // the product, an [N, H] factor, an [H] row, an [R, N, H] operand
            int c = 0;
            Node Pick() => leaves[choices[c++ % choices.Length] % 4];
            Node Tree(int depth)
            {
                var a = depth <= 1 ? z : Tree(depth - 1);
                var b = Pick();
                return (choices[c++ % choices.Length] % 5) switch
                {
                    0 => a + b,
                    1 => a - b,
                    2 => a * b,
                    3 => 0.5 * a / (b * b + 1.0),
                    _ => -(a * (b * b + 1.0)),
                };
            }
            return [.. Enumerable.Range(0, consumers).Select(i => kinds[i] == 2 ? Fn.Sum(Tree(depths[i]), 0) : Tree(depths[i]))];
        }, [new Shape(r, n, k), new Shape(k, h), new Shape(n, h), new Shape(h), new Shape(r, n, h)]);
        var inputs = new[] { TestUtil.Randn(seed + 20, r, n, k), TestUtil.Randn(seed + 21, k, h), TestUtil.Randn(seed + 22, n, h), TestUtil.Randn(seed + 23, h), TestUtil.Randn(seed + 24, r, n, h) };
        var fused = new Executable(g, fuseEpilogues: true);
        Assert.Equal(1, fused.EpilogueFusion.Products);
        var a = fused.Run(inputs);
        var b = new Executable(g, fuse: false).Run(inputs);
        for (int o = 0; o < consumers; o++) AssertClose(b[o], a[o], 1e-12, $"seed {seed}, output {o}");
        Assert.Equal(fused.PlannedPeakBytes(), fused.LastRun.PeakLiveBytes);
    }

    private static Graph CollapsedLaplacian(int d, int n, DType dtype) =>
        DifferentialOperator.Laplacian().Build(Tracer.Function(v => Mlp.Create(d, [48, 40, 32], 1, Activation.Tanh, seed: 3, dtype).Apply(v), new Shape(n, d), dtype), Strategy.Collapsed);

    [Fact]
    public void TheCollapsedLaplacianOfATanhMlpRunsItsHiddenTangentsInEpiloguesAndMatches()
    {
        const int d = 10, n = 6;
        var x = NDArray.RandomNormal<double>(new Shape(n, d), seed: 4);
        var graph = CollapsedLaplacian(d, n, DType.Float64);
        var fused = new Executable(graph, fuseEpilogues: true);
        // Layers 2 and 3 multiply the [D, N, width] tangent by a weight matrix (the first layer's tangent is a broadcast row of W₁).
        Assert.True(fused.EpilogueFusion.Products >= 2, $"epilogue fusion {fused.EpilogueFusion}");
        var got = fused.Run(x)[0];
        AssertClose(new Executable(graph, fuse: false).Run(x)[0], got, 1e-12, "Laplacian, epilogues vs node by node");
        AssertClose(new Executable(graph, fuse: true, fuseEpilogues: false).Run(x)[0], got, 1e-12, "Laplacian, epilogues vs fused trees only");

        var single = new Executable(CollapsedLaplacian(d, n, DType.Float32), fuseEpilogues: true);
        Assert.Equal(fused.EpilogueFusion, single.EpilogueFusion);
        AssertClose(got, single.Run(x.To<float>())[0].To<double>(), 1e-4, "float32 Laplacian vs float64");
    }
}

/// <summary>The epilogue on every managed micro-kernel and after a provider without epilogues; these set process-wide GEMM settings.</summary>
[Collection(nameof(GemmProviderCollection))]
public class GemmEpilogueProviderTests
{
    [Theory]
    [InlineData(GemmProvider.Managed, "Vector512")]
    [InlineData(GemmProvider.Managed, "Vector256")]
    [InlineData(GemmProvider.Managed, "Portable")]
    [InlineData(GemmProvider.Naive, "Auto")]
    public void EveryKernelAndProviderGivesTheUnfusedValues(GemmProvider provider, string kernel)
    {
        var path = Enum.Parse<GemmKernelPath>(kernel);
        const int r = 13, n = 5, k = 70, h = 45;   // 65 rows: ragged slivers for MR = 8, 6 and 4
        var g = Tracer.Function(xs =>
        {
            var z1 = Fn.MatMul(xs[0], xs[1]);
            return [xs[2] * z1 - 0.25 * z1, Fn.Sum(xs[3] * (z1 * z1), 0)];
        }, [new Shape(r, n, k), new Shape(k, h), new Shape(n, h), new Shape(n, h)]);
        var inputs = new[] { TestUtil.Randn(31, r, n, k), TestUtil.Randn(32, k, h), TestUtil.Randn(33, n, h), TestUtil.Randn(34, n, h) };
        var expected = new Executable(g, fuse: false).Run(inputs);
        var (savedProvider, savedPath) = (Gemm.Provider, ManagedGemm.DefaultPath);
        try
        {
            Gemm.Provider = provider;
            ManagedGemm.DefaultPath = path;
            var fused = new Executable(g, fuseEpilogues: true);
            Assert.Equal(1, fused.EpilogueFusion.Products);
            var got = fused.Run(inputs);
            for (int o = 0; o < 2; o++)
                for (int i = 0; i < got[o].Size; i++)
                    Assert.Equal(expected[o].Data[i], got[o].Data[i], 1e-11);
        }
        finally
        {
            Gemm.Provider = savedProvider;
            ManagedGemm.DefaultPath = savedPath;
        }
    }
}
