using JetSharp.Runtime;

namespace JetSharp.Tests;

/// <summary>
/// Consumers of one large value that are trees over its shape run as one pass over it (SharedReadPass): the bits of
/// the node-by-node executor and the values by the definition, the last elementwise consumer writing over the value
/// where it dies, and no pass where one consumer reads another's result.
/// </summary>
public class SharedReadPassTests
{
    // z = tanh(x) of [R, N, H]; Σ_r z² (a leading-axis sum, kept dims) and f ⊙ z (f of [N, H], broadcast over r).
    private static (Graph Graph, Node Sum, Node Product) SecondOrderRule(DType dtype, int r, int n, int h, bool productReadsSum = false)
    {
        var g = new Graph(dtype);
        var x = g.Input(new Shape(r, n, h));
        var f = g.Input(new Shape(n, h));
        var z = Fn.Tanh(x);
        var s = Fn.Sum(z * z, 0, keepDims: true);
        var y = productReadsSum ? z * s : f * z;
        g.SetOutputs(s, y);
        return (g, s, y);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheSumOfSquaresAndTheScaledTangentsRunAsOnePassWithTheirOwnBits(bool float32)
    {
        const int r = 7, n = 40, h = 300;   // 84,000 elements, ragged against the pass's 4,096-element chunks
        var dtype = float32 ? DType.Float32 : DType.Float64;
        var (g, _, _) = SecondOrderRule(dtype, r, n, h);
        var x = TestUtil.Randn(1, r, n, h);
        var f = TestUtil.Randn(2, n, h);
        NDArray[] inputs = float32 ? [x.To<float>(), f.To<float>()] : [x, f];
        var exe = new Executable(g);
        Assert.Contains("one pass(2 trees", exe.PlanListing());
        var got = exe.Run(inputs).Select(o => o.To<double>()).ToArray();
        var want = new Executable(g, fuse: false).Run(inputs).Select(o => o.To<double>()).ToArray();
        Assert.Equal(want[0].Data, got[0].Data);
        Assert.Equal(want[1].Data, got[1].Data);

        // By the definition, in double.
        double tol = float32 ? 1e-5 : 1e-13;
        for (int i = 0; i < n * h; i++)
        {
            double sum = 0;
            for (int k = 0; k < r; k++)
            {
                double z = Math.Tanh(x.Data[k * n * h + i]);
                sum += z * z;
                Assert.True(Math.Abs(got[1].Data[k * n * h + i] - f.Data[i] * z) <= tol * (1 + Math.Abs(f.Data[i])), $"f·z at ({k}, {i})");
            }
            Assert.True(Math.Abs(got[0].Data[i] - sum) <= tol * r, $"Σ z² at {i}: {got[0].Data[i]} vs {sum}");
        }

        // z dies at the pass, so f ⊙ z is written over it: the run holds z and Σ z², never a second [R, N, H] buffer.
        long element = float32 ? 4 : 8;
        Assert.Equal((r * n * h + n * h) * element, exe.PlannedPeakBytes());
        Assert.Equal(exe.PlannedPeakBytes(), exe.LastRun.PeakLiveBytes);
    }

    [Theory]
    [InlineData(4096 + 904)]       // two chunks, the second ragged
    [InlineData(3 * 4096)]         // whole chunks only
    public void TheSummingKernelsRunOnAThreadThatRanNoOtherFusedKernel(int inner)
    {
        // A thread's first fused kernel allocates its scratch registers: they must be of the summing passes' chunk
        // (FusedKernel.SumChunk, longer than the elementwise kernels'), whichever kernel came first. Below 65,536 elements
        // the kernels run on the calling thread, here a new one. Both programs, Σ_r (z·z)·f and f·z + z, keep an
        // intermediate in a register.
        const int r = 3;
        var z = TestUtil.Randn(5, r, inner);
        var f = TestUtil.Randn(6, inner);
        var (sum, shared, product) = (new double[inner], new double[inner], new double[r * inner]);
        Backend.FusedStep[] square =
        [
            Backend.FusedStep.Load(0), Backend.FusedStep.Apply(Backend.BinaryOp.Mul, 0, 0),
            Backend.FusedStep.Load(1), Backend.FusedStep.Apply(Backend.BinaryOp.Mul, 1, 2),
        ];
        Backend.FusedStep[] scale =
        [
            Backend.FusedStep.Load(0), Backend.FusedStep.Load(1),
            Backend.FusedStep.Apply(Backend.BinaryOp.Mul, 0, 1), Backend.FusedStep.Apply(Backend.BinaryOp.Add, 2, 1),
        ];
        OnNewThread(() => Backend.FusedKernel.RunSum(square, [z, f], new NDArray<double>(new Shape(inner), sum), r));
        OnNewThread(() => Backend.FusedKernel.RunShared<double>(
        [
            new(square, [z, f], new NDArray<double>(new Shape(inner), shared), Sums: true),
            new(scale, [f, z], new NDArray<double>(new Shape(r, inner), product), Sums: false),
        ], r, r * inner));
        for (int i = 0; i < inner; i++)
        {
            double want = 0;
            for (int k = 0; k < r; k++)
            {
                double x = z.Data[k * inner + i];
                want += x * x * f.Data[i];
                Assert.Equal(f.Data[i] * x + x, product[k * inner + i]);
            }
            Assert.Equal(want, sum[i], 1e-14);
            Assert.Equal(sum[i], shared[i]);
        }
    }

    private static void OnNewThread(Action body)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                body();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        Assert.Null(failure);
    }

    [Fact]
    public void NoPassWhenOneConsumerReadsTheOthersResult()
    {
        // z ⊙ Σ_r z² needs the sum finished first: the two cannot share a pass.
        var (g, _, _) = SecondOrderRule(DType.Float64, 4, 64, 300, productReadsSum: true);
        var exe = new Executable(g);
        Assert.DoesNotContain("one pass", exe.PlanListing());
        TestUtil.AssertReferenceBits(exe, TestUtil.Randn(1, 4, 64, 300), TestUtil.Randn(2, 64, 300));
    }

    [Fact]
    public void SmallValuesAreLeftToTheirOwnKernels()
    {
        // Below 65,536 elements a second read comes from cache: no pass.
        var (g, _, _) = SecondOrderRule(DType.Float64, 4, 16, 300);
        Assert.DoesNotContain("one pass", new Executable(g).PlanListing());
    }
}
