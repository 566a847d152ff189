using JetSharp.Backend;
using JetSharp.CodeGen;
using JetSharp.Nn;
using JetSharp.Runtime;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Large element loops of compiled code run in ranges on the runtime's workers (<see cref="EmittedKernels.ForRanges"/>):
/// the ranges cover every element once, are cut at whole grains (so each element gets the code it gets in one pass), fork
/// only from the interpreter's thresholds, surface a failing range's exception, and leave every result bit as the
/// single-threaded run computes it.
/// </summary>
public class EmittedRangesTests
{
    public static TheoryData<int, int> Lengths => new()
    {
        { 0, 1 }, { 1, 1 }, { 7, 1 }, { 50, 1 }, { 1023, 1024 }, { 1024, 1024 }, { 2047, 1024 }, { 2048, 1024 }, { 2051, 1024 },
        { 65535, 1024 }, { 65536, 1024 }, { 65537, 1024 }, { 84003, 1024 }, { 100_003, 1024 }, { 614_400, 1024 }, { 12288, 1024 },
    };

    [Theory]
    [MemberData(nameof(Lengths))]
    public void RangesCoverEveryElementOnceAtWholeGrains(int length, int grain)
    {
        foreach (long work in new long[] { length, 1 << 20 })
        {
            var count = new int[length];
            var ranges = new List<(int From, int To)>();
            EmittedKernels.ForRanges(length, grain, work, false, (from, to) =>
            {
                lock (ranges) ranges.Add((from, to));
                for (int i = from; i < to; i++) Interlocked.Increment(ref count[i]);
            });
            Assert.All(count, c => Assert.Equal(1, c));
            int expected = EmittedKernels.RangeCount(length, grain, work, false);
            Assert.Equal(length == 0 ? 0 : expected, ranges.Count);
            ranges.Sort();
            for (int r = 0; r < ranges.Count; r++)
            {
                Assert.True(ranges[r].To > ranges[r].From, $"empty range {ranges[r]}");
                Assert.Equal(0, ranges[r].From % grain);
                if (r + 1 < ranges.Count) Assert.Equal(ranges[r].To, ranges[r + 1].From);
            }
            // The last range holds at least a whole grain once the run is cut, so its vector loop and tail are those of one pass.
            if (ranges.Count > 1) Assert.True(ranges[^1].To - ranges[^1].From >= grain);
            if (ranges.Count > 0) Assert.Equal(length, ranges[^1].To);
        }
    }

    [Fact]
    public void RangesForkFromTheInterpretersThresholds()
    {
        // Arithmetic from the fused kernels' 2¹⁶ elements, transcendental functions from Parallelism.ComputeThreshold.
        Assert.Equal(1, EmittedKernels.RangeCount(1 << 20, 1024, (1 << 16) - 1, false));
        Assert.Equal(1, EmittedKernels.RangeCount(1 << 20, 1024, Parallelism.ComputeThreshold - 1, true));
        if (Environment.ProcessorCount > 1)
        {
            Assert.True(EmittedKernels.RangeCount(1 << 16, 1024, 1 << 16, false) > 1);
            Assert.True(EmittedKernels.RangeCount(1 << 15, 1024, Parallelism.ComputeThreshold, true) > 1);
            // Never more ranges than whole grains.
            Assert.Equal(1, EmittedKernels.RangeCount(2047, 1024, 1 << 20, false));
            Assert.Equal(2, EmittedKernels.RangeCount(2048, 1024, 1 << 20, false));
        }
        // The emitter writes the ranged form only from the same thresholds: a fused chain at 2¹⁶ − 1 and 2¹⁶ elements, a tanh at 32K − 1 and 32K.
        static string Chain(int n) => CSharpEmitter.Emit(Tracer.Function(x => x * x + x, new Shape(n)), new EmitOptions { UseLibraryKernels = true });
        static string Tanh(int n) => CSharpEmitter.Emit(Tracer.Function(Fn.Tanh, new Shape(n)), new EmitOptions { UseLibraryKernels = true });
        Assert.DoesNotContain("ForRanges", Chain((1 << 16) - 1));
        Assert.Contains("EmittedKernels.ForRanges(65536, EmittedKernels.RangeGrain, 65536, false, (from, to) =>", Chain(1 << 16));
        Assert.DoesNotContain("ForRanges", Tanh(Parallelism.ComputeThreshold - 1));
        Assert.Contains("ForRanges(32768, EmittedKernels.RangeGrain, 32768, true,", Tanh(Parallelism.ComputeThreshold));
        // Exported (standalone) code never calls the library.
        Assert.DoesNotContain("ForRanges", CSharpEmitter.Emit(Tracer.Function(x => x * x + x, new Shape(1 << 17))));
    }

    [Fact]
    public void AnExceptionInARangeSurfaces()
    {
        const int n = 1 << 18;
        var e = Assert.Throws<InvalidOperationException>(() => EmittedKernels.ForRanges(n, 1024, n, false, (from, to) =>
        {
            if (to == n) throw new InvalidOperationException("the last range failed");
        }));
        Assert.Equal("the last range failed", e.Message);
        // The workers are usable afterwards.
        long sum = 0;
        EmittedKernels.ForRanges(n, 1024, n, false, (from, to) => Interlocked.Add(ref sum, to - from));
        Assert.Equal(n, sum);
    }

    /// <summary>
    /// Every emitted form of a large loop: a transcendental span call, a fused chain (vector loop and scalar tail), a
    /// broadcast product cut by grains of its rows, a sum over the leading axis of a product computed in the sum's loop
    /// (accumulated per range), pow and a product
    /// with a short inner axis as scalar loops (cut by outer index); lengths not multiples of the vector width.
    /// </summary>
    private static Graph LargeElementwise() => Tracer.Function(xs =>
    {
        Node x = xs[0], b = xs[1], c = xs[2], e = xs[3];
        var y = Fn.Tanh(x);
        var z = y * y * x + x;
        return [z, y * b, Fn.Sum(z * z, 0), Fn.Pow(x * x + 0.5, 2.5), c * e, Fn.Sigmoid(c)];
    }, [new Shape(3, 28001), new Shape(28001), new Shape(25000, 3), new Shape(3)]);

    private static NDArray<double>[] LargeInputs() =>
        [Randn(1, 3, 28001), Randn(2, 28001), Randn(3, 25000, 3), Randn(4, 3)];

    [Fact]
    public void LargeElementwiseLoopsRunInRangesAndMatchTheInterpreterAndOnePass()
    {
        var g = LargeElementwise();
        var inputs = LargeInputs();
        var emitted = EmittedGraph.Compile(g);
        Assert.Contains("EmittedKernels.ForRanges(84003, EmittedKernels.RangeGrain, 84003, true,", emitted.Source);   // tanh
        Assert.Contains("int i = from;", emitted.Source);                                                          // the fused chain
        Assert.Contains("EmittedKernels.ForRanges(28001, EmittedKernels.RangeGrain, 84003, false,", emitted.Source); // y·b and the sum
        Assert.Contains("EmittedKernels.ForRanges(25000, 1, 75000, false,", emitted.Source);                         // c·e
        Assert.Contains("int i = from, at = s * 28001 + from;", emitted.Source);                                    // z·z summed in the sum's loop
        Assert.Contains("(fused: computed inside the loop of", emitted.Source);
        Assert.True(emitted.Source.Split("EmittedKernels.ForRanges(").Length - 1 >= 7, emitted.Source);
        var parallel = emitted.Run(inputs);
        NDArray<double>[] single;
        using (Parallelism.ScaleThresholdsForTesting(1e12)) single = emitted.Run(inputs);
        var interpreted = Executable.Compile(g).Run(inputs);
        for (int o = 0; o < parallel.Length; o++)
        {
            Assert.Equal(single[o].Data, parallel[o].Data);   // bitwise: the ranges compute each element as one pass does
            Close(interpreted[o], parallel[o], 1e-12);
        }
        // Elementwise outputs (not the sum, whose order the interpreter chooses) equal the interpreter's bit for bit.
        foreach (int o in new[] { 0, 1, 3, 4, 5 }) Assert.Equal(interpreted[o].Data, parallel[o].Data);
    }

    [Fact]
    public void TheCollapsedLaplacianOfALargeMlpIsTheSameInRangesAsInOnePass()
    {
        // D = 50, two 256-wide tanh layers, 16 points: its [D, N, H] direction tensors hold 204,800 elements (ranged).
        var net = Mlp.Create(50, [256, 256], 1, Activation.Tanh, seed: 1);
        var g = Pde.LaplacianGraph(net.Apply, new Shape(16, 50), DType.Float64, Strategy.Collapsed);
        var x = NDArray.RandomUniform<double>(new Shape(16, 50), seed: 2, -1, 1);
        var emitted = EmittedGraph.Compile(g);
        Assert.Contains("EmittedKernels.ForRanges(", emitted.Source);
        var parallel = emitted.Run(x)[0];
        NDArray<double> single;
        using (Parallelism.ScaleThresholdsForTesting(1e12)) single = emitted.Run(x)[0];
        Assert.Equal(single.Data, parallel.Data);
        Close(Executable.Compile(g).Run(x)[0], parallel, 1e-12);
        // Repeated runs (the workers reused, the buffers per thread) give the same bits.
        for (int r = 0; r < 3; r++) Assert.Equal(parallel.Data, emitted.Run(x)[0].Data);
    }
}
