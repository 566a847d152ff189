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
    [InlineData(3, 4, 1, 256, false)]   // blocks of 256 elements (the least fused), one chunk each
    [InlineData(2, 5, 7, 300, true)]    // keepdims, blocks of 2100: chunks that end inside a block
    [InlineData(6, 7, 16, 512, false)]  // 344,064 terms: chunks shared between cores
    public void SumsOverMiddleAxesOfArithmeticTreesRunInOnePassPerBlockAndMatchTheUnfusedExecutor(int a, int b, int n, int h, bool keepDims)
    {
        // A nested Taylor rule's Σ_b x[a, b]·y[a, b]·d over the inner directions b, for each outer direction a; and a sum over
        // two middle axes (b and n) with a leaf broadcast over the trailing axes.
        var g = Tracer.Function(xs =>
        {
            var (x, y, d) = (xs[0], xs[1], xs[2]);
            return [Fn.Sum(x * y * d, 1, keepDims), Fn.Sum(x * x - 0.5 * d, [1, 2], keepDims)];
        }, [new Shape(a, b, n, h), new Shape(a, b, n, h), new Shape(n, h)]);
        var inputs = new[] { TestUtil.Randn(21, a, b, n, h), TestUtil.Randn(22, a, b, n, h), TestUtil.Randn(23, n, h) };
        var (fused, plain, exe, _) = RunBoth(g, inputs);
        Assert.True(exe.Fusion.Kernels == 2 && exe.Fusion.Nodes == 6, $"fusion {exe.Fusion}");   // both sums with their trees
        double[] x = inputs[0].Data, y = inputs[1].Data, d = inputs[2].Data;
        int m = n * h;
        for (int i = 0; i < a; i++)
            for (int j = 0; j < m; j++)
            {
                double sum = 0;   // in order over b, as both executors add
                for (int k = 0; k < b; k++) sum += x[(i * b + k) * m + j] * y[(i * b + k) * m + j] * d[j];
                Assert.Equal(sum, fused[0].Data[i * m + j], 1e-12);
                Assert.Equal(plain[0].Data[i * m + j], fused[0].Data[i * m + j]);
            }
        for (int i = 0; i < a; i++)
            for (int j = 0; j < h; j++)
            {
                double sum = 0;
                for (int k = 0; k < b * n; k++) sum += x[(i * b * n + k) * h + j] * x[(i * b * n + k) * h + j] - 0.5 * d[k % n * h + j];
                Assert.Equal(sum, fused[1].Data[i * h + j], 1e-10);
            }
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

    [Theory]
    [InlineData(0, 3000)]     // (x − a)(x + a): the stde envelope's two factors of one leaf
    [InlineData(1, 3000)]     // (a − x)·y: a scalar minus a leaf, times a plain leaf
    [InlineData(2, 1500)]     // (b + y)(x − a) with y a trailing-axes leaf [d] whose period wraps inside 1 024-element chunks
    [InlineData(3, 70_000)]   // (a − x)(y − b): long rows, cut into pieces on two cores
    public void TrailingSumsOfProductsOfLeavesPlusOrMinusScalarsRunInOnePassAndMatchAFloat64Loop(int form, int d)
    {
        // Each factor is formed in registers inside the summing pass (FusedKernel.AffineDot), not written out by a pass of its
        // own; the sums must still be those of the plain products: float64 inputs against a float64 loop (and the unfused
        // executor), float32 inputs against the float64 loop over the same float32 values.
        const int rows = 5;
        const double a = 0.375, b = -1.25;
        Shape yShape = form == 2 ? new Shape(d) : new Shape(rows, d);
        Node F(Node x, Node y) => form switch
        {
            0 => (x - a) * (x + a),
            1 => (a - x) * y,
            2 => (b + y) * (x - a),
            _ => (a - x) * (y - b),
        };
        double Term(double x, double y) => form switch
        {
            0 => (x - a) * (x + a),
            1 => (a - x) * y,
            2 => (b + y) * (x - a),
            _ => (a - x) * (y - b),
        };
        var inputs = new[] { TestUtil.Randn(41, rows, d), TestUtil.Randn(42, form == 2 ? [d] : [rows, d]) };
        double Y(int q, int j) => inputs[1].Data[form == 2 ? j : q * d + j];
        var expected = new double[rows];
        for (int q = 0; q < rows; q++)
            for (int j = 0; j < d; j++) expected[q] += Term(inputs[0].Data[q * d + j], Y(q, j));

        var g = Tracer.Function(xs => Fn.Sum(F(xs[0], xs[1]), [1], keepDims: true), [new Shape(rows, d), yShape]);
        var (fused, plain, exe, _) = RunBoth(g, inputs);
        Assert.Equal(1, exe.Fusion.Kernels);
        for (int q = 0; q < rows; q++)
        {
            Assert.Equal(expected[q], fused[0].Data[q], 1e-11 * Math.Sqrt(d));
            Assert.Equal(plain[0].Data[q], fused[0].Data[q], 1e-11 * Math.Sqrt(d));
        }

        var g32 = Tracer.Function(xs => Fn.Sum(F(xs[0], xs[1]), [1], keepDims: true), [new Shape(rows, d), yShape], DType.Float32);
        var in32 = inputs.Select(t => t.To<float>()).ToArray();
        var out32 = new Executable(g32).Run(in32)[0];
        for (int q = 0; q < rows; q++)
        {
            double exact = 0;
            for (int j = 0; j < d; j++) exact += Term(in32[0].Data[q * d + j], in32[1].Data[form == 2 ? j : q * d + j]);
            // Float32 factors and chunk sums of ≤ 1 024 terms of order one (float64 across chunks): about 10⁻⁶·√d expected.
            Assert.True(Math.Abs(out32.Data[q] - exact) <= 1e-5 * Math.Sqrt(d), $"row {q}: float32 {out32.Data[q]:R}, float64 {exact:R}");
        }
    }

    [Fact]
    public void FactorsOfLeavesPlusOrMinusAScalarAreRecognisedAndOthersAreNot()
    {
        // Program: x, a (scalar), y; x − a, a − x, x + a, x·a, x + y, (x − a) − a.
        var leaves = new[] { new NDArray<double>(new Shape(4), [1, 2, 3, 4]), new NDArray<double>(new Shape(1), [0.5]), new NDArray<double>(new Shape(4), [5, 6, 7, 8]) };
        Backend.FusedStep[] program =
        [
            Backend.FusedStep.Load(0), Backend.FusedStep.Load(1), Backend.FusedStep.Load(2),
            Backend.FusedStep.Apply(Backend.BinaryOp.Sub, 0, 1), Backend.FusedStep.Apply(Backend.BinaryOp.Sub, 1, 0), Backend.FusedStep.Apply(Backend.BinaryOp.Add, 0, 1),
            Backend.FusedStep.Apply(Backend.BinaryOp.Mul, 0, 1), Backend.FusedStep.Apply(Backend.BinaryOp.Add, 0, 2), Backend.FusedStep.Apply(Backend.BinaryOp.Sub, 3, 1),
        ];
        Backend.FusedKernel.AffineFactor<double>? Of(int step) => Backend.FusedKernel.AffineFactor<double>.Of(program, step, leaves);
        Assert.Equal(new(0, false, 0.0), Of(0));
        Assert.Null(Of(1));                                  // a scalar alone is not a tensor factor
        Assert.Equal(new(0, false, -0.5), Of(3));            // x − a = x + (−a)
        Assert.Equal(new(0, true, 0.5), Of(4));              // a − x = −x + a
        Assert.Equal(new(0, false, 0.5), Of(5));
        Assert.Null(Of(6)); Assert.Null(Of(7)); Assert.Null(Of(8));
        // And the one-pass sum of such factors against a loop: Σ (x − a)(a − y) with a length that leaves a scalar tail.
        var x = TestUtil.Randn(51, 1003).Data; var y = TestUtil.Randn(52, 1003).Data;
        double expected = 0;
        for (int j = 0; j < x.Length; j++) expected += (x[j] - 0.5) * (0.5 - y[j]);
        Assert.Equal(expected, Backend.FusedKernel.AffineDot<double>(x, new(0, false, -0.5), y, new(1, true, 0.5)), 1e-11);
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
