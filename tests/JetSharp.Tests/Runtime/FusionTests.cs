using JetSharp.Nn;
using JetSharp.Runtime;

namespace JetSharp.Tests;

public class FusionTests
{
    private static (NDArray<double>[] Fused, NDArray<double>[] Plain, Executable FusedExe, Executable PlainExe) RunBoth(Graph g, params NDArray<double>[] inputs)
    {
        var fused = new Executable(g, fuse: true);
        var plain = new Executable(g, fuse: false);
        return (fused.Run(inputs), plain.Run(inputs), fused, plain);
    }

    [Theory]
    [InlineData(3, 5, 7)]          // small, one chunk
    [InlineData(37, 29, 11)]       // [N, H] period 319 wraps inside 1024-element chunks
    [InlineData(40, 60, 70)]       // 168 000 elements: the parallel path
    public void ArithmeticTreesWithScalarAndTrailingAxisLeavesMatchTheUnfusedExecutor(int r, int n, int h)
    {
        // The shape of a tanh Taylor rule: d1·x2 + d2·(x1·x1), plus a scalar, a bias row, a division and a negation.
        var g = Tracer.Function(xs =>
        {
            var (x1, x2, d1, d2, bias) = (xs[0], xs[1], xs[2], xs[3], xs[4]);
            return -(d1 * x2 + d2 * (x1 * x1)) / (2.5 + bias * bias) - 0.5 * x1;
        }, [new Shape(r, n, h), new Shape(r, n, h), new Shape(n, h), new Shape(n, h), new Shape(h)]);
        var inputs = new[] { TestUtil.Randn(1, r, n, h), TestUtil.Randn(2, r, n, h), TestUtil.Randn(3, n, h), TestUtil.Randn(4, n, h), TestUtil.Randn(5, h) };
        var (fused, plain, exe, _) = RunBoth(g, inputs);
        Assert.Equal(plain[0].Data, fused[0].Data);
        Assert.True(exe.Fusion.Kernels >= 1 && exe.Fusion.Nodes >= 6, $"fusion {exe.Fusion}");
    }

    [Theory]
    [InlineData(50, 16, 24, false)]    // [N, H] leaves of the output's own shape (never overwritten in place)
    [InlineData(7, 33, 40, true)]      // keepdims; 1320 outputs, two chunks
    [InlineData(20, 64, 64, false)]    // 81,920 terms: chunks shared between cores (the GEMM's worker threads)
    public void SumsOverLeadingAxesOfArithmeticTreesRunInOnePassAndMatchTheUnfusedExecutor(int r, int n, int h, bool keepDims)
    {
        // The collapsed second-order tanh rule: d1·x2 + d2·Σ_r x1², with the squares summed over the direction axis.
        var g = Tracer.Function(xs =>
        {
            var (x1, d2) = (xs[0], xs[1]);
            var terms = Fn.Sum(d2 * (x1 * x1), 0, keepDims);
            return [terms, Fn.Sum(x1 - 0.5 * x1 * x1, [0, 1], keepDims)];
        }, [new Shape(r, n, h), new Shape(n, h)]);
        var inputs = new[] { TestUtil.Randn(11, r, n, h), TestUtil.Randn(12, n, h) };
        var (fused, plain, exe, _) = RunBoth(g, inputs);
        Assert.True(exe.Fusion.Kernels >= 1 && exe.Fusion.Nodes >= 3, $"fusion {exe.Fusion}");
        var x1 = inputs[0].Data;
        var d2 = inputs[1].Data;
        var expected = new double[n * h];
        for (int k = 0; k < r; k++)
            for (int j = 0; j < n * h; j++) expected[j] += d2[j] * x1[k * n * h + j] * x1[k * n * h + j];
        for (int j = 0; j < n * h; j++)
        {
            Assert.Equal(expected[j], fused[0].Data[j], 1e-12);
            Assert.Equal(plain[0].Data[j], fused[0].Data[j], 1e-12);
        }
        for (int j = 0; j < fused[1].Size; j++) Assert.Equal(plain[1].Data[j], fused[1].Data[j], 1e-12);
    }

    [Theory]
    [InlineData(3, 4, 300)]         // one worker, one chunk per row
    [InlineData(100, 1, 5000)]      // rows shared between cores, several chunks per row
    [InlineData(2, 5, 200_000)]     // two long rows, each cut into pieces
    public void SumsOverTrailingAxesOfArithmeticTreesRunInOnePassAndMatchAFloat64Loop(int rows, int m, int d)
    {
        // Σ_d (x − a)(x + a)·w_d per row (the stde envelope with a weight row), over the last axis and over the last two.
        var inputs = new[] { TestUtil.Randn(21, rows, m, d), TestUtil.Randn(22, d) };
        NDArray<double> Run(int[] axes)
        {
            var g = Tracer.Function(xs => Fn.Sum((xs[0] - 0.25) * (xs[0] + 0.25) * xs[1], axes, keepDims: axes.Length == 1),
                [new Shape(rows, m, d), new Shape(d)]);
            var (fused, plain, exe, _) = RunBoth(g, inputs);
            Assert.Equal((1, 5), exe.Fusion);   // sub, add, two products and the sum: one kernel
            for (int q = 0; q < fused[0].Size; q++) Assert.Equal(plain[0].Data[q], fused[0].Data[q], 1e-10 * Math.Sqrt(d * m));
            return fused[0];
        }
        var x = inputs[0].Data; var w = inputs[1].Data;
        var perRow = new double[rows * m];
        for (int q = 0; q < rows * m; q++)
            for (int j = 0; j < d; j++) { double v = x[q * d + j]; perRow[q] += (v - 0.25) * (v + 0.25) * w[j]; }
        var lastAxis = Run([2]);
        for (int q = 0; q < rows * m; q++) Assert.Equal(perRow[q], lastAxis.Data[q], 1e-10 * Math.Sqrt(d));
        var lastTwo = Run([1, 2]);
        for (int r = 0; r < rows; r++) Assert.Equal(perRow.Skip(r * m).Take(m).Sum(), lastTwo.Data[r], 1e-10 * Math.Sqrt(m * d));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TrailingSumsOfProductsWithAScalarOrOfTwoInputsMatchAFloat64Loop(bool scalar)
    {
        // The top product is summed per chunk as a dot product when both operands are tensors, and as a product pass and a
        // sum when one is a scalar; both against a plain loop, rows long enough for several chunks.
        const int rows = 7, d = 3000;
        var inputs = new[] { TestUtil.Randn(31, rows, d), TestUtil.Randn(32, rows, d) };
        var g = Tracer.Function(xs => Fn.Sum(scalar ? (xs[0] + xs[1]) * 0.75 : (xs[0] + 0.5) * xs[1], [1], keepDims: true), [new Shape(rows, d), new Shape(rows, d)]);
        var (fused, _, exe, _) = RunBoth(g, inputs);
        Assert.Equal(1, exe.Fusion.Kernels);
        for (int q = 0; q < rows; q++)
        {
            double expected = 0;
            for (int j = 0; j < d; j++)
            {
                double x = inputs[0].Data[q * d + j], y = inputs[1].Data[q * d + j];
                expected += scalar ? (x + y) * 0.75 : (x + 0.5) * y;
            }
            Assert.Equal(expected, fused[0].Data[q], 1e-10 * Math.Sqrt(d));
        }
    }

    [Fact]
    public void NodesWithOtherUsersOrThatAreOutputsStayMaterialised()
    {
        var g = Tracer.Function(xs =>
        {
            var shared = xs[0] * xs[1];           // used twice: a leaf of both trees, not absorbed
            return [shared + 1.0, shared * xs[0] - xs[1], xs[0] + xs[1]];
        }, [new Shape(50, 30), new Shape(50, 30)]);
        var inputs = new[] { TestUtil.Randn(6, 50, 30), TestUtil.Randn(7, 50, 30) };
        var (fused, plain, _, _) = RunBoth(g, inputs);
        for (int i = 0; i < 3; i++) Assert.Equal(plain[i].Data, fused[i].Data);
    }

    [Fact]
    public void StandardTaylorLaplacianIsFusedIdenticalAndMaterialisesFewerBytes()
    {
        var net = Mlp.Create(6, [64, 64, 64], 1, Activation.Tanh, seed: 3);
        var graph = Pde.LaplacianGraph(net.Apply, new Shape(32, 6), DType.Float64, Strategy.StandardTaylor);
        var x = TestUtil.Randn(8, 32, 6);
        var (fused, plain, fusedExe, plainExe) = RunBoth(graph, x);
        Assert.Equal(plain[0].Data, fused[0].Data);
        Assert.True(fusedExe.Fusion.Kernels > 0);
        // Fusion saves passes over memory and intermediates, not necessarily peak memory: a tree keeps its
        // leaves alive until its one output exists, where the unfused run may free some earlier.
        Assert.True(fusedExe.LastRun.ProducedBytes < plainExe.LastRun.ProducedBytes,
            $"fused produced {fusedExe.LastRun.ProducedBytes} vs unfused {plainExe.LastRun.ProducedBytes}");
    }
}
