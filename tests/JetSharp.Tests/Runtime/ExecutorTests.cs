using JetSharp.Nn;
using JetSharp.Runtime;
using static JetSharp.Tests.Numeric;

namespace JetSharp.Tests;

/// <summary>
/// The executor's memory plan: buffers are released at their last use and reused, views share
/// storage and keep it alive, the pool persists across runs, and none of this changes the results.
/// </summary>
public class ExecutorTests
{
    private const int Width = 256, Batch = 64, Layers = 10;
    private const long LayerBytes = (long)Batch * Width * sizeof(double);

    private static Mlp DeepNet() => Mlp.Create(Width, [.. Enumerable.Repeat(Width, Layers - 1)], Width, Activation.Tanh, seed: 9);

    [Fact]
    public void PeakLiveBytesOfADeepMlpIsFarBelowTheSumOfItsIntermediates()
    {
        var net = DeepNet();
        var g = Tracer.Function(x => net.Apply(x), new Shape(Batch, Width));
        var exe = Executable.Compile(g);
        exe.Run(Randn(300, Batch, Width));
        var stats = exe.LastRun;

        // Every layer computes matmul, + bias and (except the last) tanh: 3·10 − 1 tensors of [64, 256]. A hidden layer's
        // bias and tanh run as one pass (ElementwisePass) that never stores the sum: 2·10 tensors are produced.
        Assert.Equal(3 * Layers - 1, g.Nodes.Count(n => n.Op.Name is "matmul" or "add" or "tanh"));
        Assert.Equal(Layers - 1, exe.ElementwisePasses.Passes);
        int produced = 2 * Layers;
        Assert.Equal(produced * LayerBytes, stats.ProducedBytes);
        // A chain needs at most an operand and a result alive at once (parameters and x are the caller's).
        Assert.True(stats.PeakLiveBytes <= 2 * LayerBytes, $"peak {stats.PeakLiveBytes} B > two layer activations ({2 * LayerBytes} B)");
        Assert.True(stats.ProducedBytes >= 10 * stats.PeakLiveBytes, $"produced {stats.ProducedBytes} B is not ≥ 10× the peak {stats.PeakLiveBytes} B");
        Assert.True(stats.AllocatedBytes <= 2 * LayerBytes, $"first run allocated {stats.AllocatedBytes} B; the pool should recycle all but ~2 buffers");
    }

    [Fact]
    public void ASecondRunReusesThePoolForEveryIntermediate()
    {
        // The only buffers a rerun may allocate are its outputs: the previous run's outputs were handed
        // to the caller and cannot be recycled (see OutputsAreCorrectAfterBufferReuseAndEarlierOutputsSurvive).
        // A final reduction makes the output tiny, so any intermediate allocation would show.
        // (A narrower 10-layer network than above keeps the test fast with the interim reference GEMM.)
        var net = Mlp.Create(64, [.. Enumerable.Repeat(64, Layers - 1)], 64, Activation.Tanh, seed: 8);
        var exe = Executable.Compile(Tracer.Function(x => Fn.Sum(net.Apply(x)), new Shape(16, 64)));
        exe.Run(Randn(301, 16, 64));
        Assert.True(exe.LastRun.AllocatedBytes >= 16 * 64 * sizeof(double));
        var y = exe.Run(Randn(302, 16, 64));
        Assert.Equal(y[0].Bytes, exe.LastRun.AllocatedBytes);

        var views = Executable.Compile(Tracer.Function(xs => ViewGraph(xs[0]), [new Shape(2, 3)]));
        views.Run(Randn(303, 2, 3));
        var outs = views.Run(Randn(304, 2, 3));
        // Output 0 is a view of u; u's and w + u's buffers and the transpose's are new, and output 2 (a
        // view of the input) is copied, since a result never shares the caller's storage.
        Assert.Equal(4 * 6 * sizeof(double), views.LastRun.AllocatedBytes);
    }

    /// <summary>
    /// y = exp(x) is last used directly by a reshape r, but r is used later: y's buffer must stay alive
    /// until r dies. If it were released early, s = sin(x) (same size) would take it over and r would
    /// read sines. Outputs include a view of an intermediate and a view of the caller's input.
    /// </summary>
    private static Node[] ViewGraph(Node x)
    {
        var y = Fn.Exp(x);
        var r = Fn.Reshape(y, 3, 2);
        var s = Fn.Sin(x);
        var t = Fn.Reshape(s, 3, 2);
        var u = r * t;
        var w = Fn.Cos(x);
        return [Fn.Reshape(u, 6), w + Fn.Reshape(u, 2, 3), Fn.Reshape(x, 6), Fn.Transpose(Fn.Reshape(w, 3, 2))];
    }

    private static NDArray<double>[] ViewExpected(NDArray<double> x)
    {
        var es = Naive.Map(x, v => Math.Exp(v) * Math.Sin(v));
        return
        [
            new(new Shape(6), es.Data),
            Combine(Naive.Map(x, Math.Cos), es, (a, b) => a + b),
            new(new Shape(6), x.Data),
            Naive.Transpose(new NDArray<double>(new Shape(3, 2), Naive.Map(x, Math.Cos).Data), [1, 0]),
        ];
    }

    [Fact]
    public void ReshapeViewsShareStorageAndKeepItAlive()
    {
        var g = Tracer.Function(xs => ViewGraph(xs[0]), [new Shape(2, 3)]);
        var exe = Executable.Compile(g);
        var x = Randn(310, 2, 3);
        var outs = exe.Run(x);
        var expected = ViewExpected(x);
        for (int i = 0; i < outs.Length; i++) AssertClose(expected[i], outs[i], 1e-15, $"output {i}");
        // The reshape of the input is a view inside the run, but the caller gets a copy it owns.
        Assert.NotSame(x.Data, outs[2].Data);
        // Views produce no bytes: exp, sin, mul, cos, add, transpose, and the copy of output 2.
        Assert.Equal(7 * 6 * sizeof(double), exe.LastRun.ProducedBytes);
    }

    [Fact]
    public void OutputsAreCorrectAfterBufferReuseAndEarlierOutputsSurvive()
    {
        var g = Tracer.Function(xs => ViewGraph(xs[0]), [new Shape(2, 3)]);
        var exe = Executable.Compile(g);
        var x1 = Randn(320, 2, 3);
        var first = exe.Run(x1);
        var firstCopy = first.Select(t => t.Clone()).ToArray();
        var x2 = Randn(321, 2, 3);
        var second = exe.Run(x2);
        var third = exe.Run(x1);

        var fresh = Executable.Compile(g).Run(x2);
        var expected = ViewExpected(x2);
        for (int i = 0; i < second.Length; i++)
        {
            AssertClose(expected[i], second[i], 1e-15, $"second run, output {i} vs hand-computed");
            AssertClose(fresh[i], second[i], 0, $"second run, output {i} vs a fresh executable");
            // Tensors handed to the caller belong to the caller: later runs must not write into them.
            AssertClose(firstCopy[i], first[i], 0, $"first run's output {i} after two more runs");
            AssertClose(firstCopy[i], third[i], 0, $"third run (same input as the first), output {i}");
        }
    }

    [Fact]
    public void OutputsThatAreConstantsAreTheCallersToModify()
    {
        // A constant output (or a view of one) must not hand out the graph's own storage: a caller
        // writing into its result would otherwise change the compiled graph for every later run.
        var c = NDArray.FromArray([1.0, 2.0, 3.0]);
        var g = Tracer.Function(xs => new[] { xs[0] + 1.0, xs[0].Graph.Constant(c), Fn.Reshape(xs[0].Graph.Constant(c), 3, 1) }, [new Shape(3)]);
        var exe = Executable.Compile(g);
        var first = exe.Run(Randn(325, 3));
        first[1].Data[0] = 100;
        first[2].Data[1] = 200;
        var second = exe.Run(Randn(326, 3));
        AssertClose(c, second[1], 0, "constant output after the caller wrote into the previous one");
        AssertClose(new NDArray<double>(new Shape(3, 1), [1.0, 2.0, 3.0]), second[2], 0, "reshaped constant output");
        AssertClose(NDArray.FromArray([1.0, 2.0, 3.0]), c, 0, "the tensor the constant was made from");
    }

    [Fact]
    public void ReductionsRunEarlyAndDyingOperandsAreOverwrittenInPlace()
    {
        // a = x·W, p = a ∘ c, q = Σ_rows a∘a (created last, as the Taylor transform emits Σ x₁²), y = tanh(p·W).
        // Run in creation order, a∘a would stay live across p·W: three [M, H] buffers. With the sum run as soon
        // as a∘a exists, and a∘a written over a (its last use), at most two are live at once.
        const int m = 96, h = 32;
        var g = Tracer.Function(v =>
        {
            var a = Fn.MatMul(v[0], v[1]);
            var p = a * v[2];
            var sq = a * a;
            var y = Fn.Tanh(Fn.MatMul(p, v[1]));
            return [y, Fn.Sum(sq, 0)];
        }, [new Shape(m, h), new Shape(h, h), new Shape(h)]);
        var exe = Executable.Compile(g);
        NDArray<double> x = Randn(350, m, h), w = Randn(351, h, h), c = Randn(352, h);
        var outs = exe.Run(x, w, c);

        var a = Naive.MatMul(x, w);
        var p = new NDArray<double>(new Shape(m, h));
        var q = new NDArray<double>(new Shape(h));
        for (int i = 0; i < m; i++)
            for (int j = 0; j < h; j++)
            {
                p[i, j] = a[i, j] * c[j];
                q[j] += a[i, j] * a[i, j];
            }
        AssertClose(Naive.Map(Naive.MatMul(p, w), Math.Tanh), outs[0], 1e-13, "tanh(p·W)");
        AssertClose(q, outs[1], 1e-12, "Σ a∘a");

        long buffer = (long)m * h * sizeof(double);
        Assert.True(exe.LastRun.PeakLiveBytes <= 2 * buffer + h * sizeof(double), $"peak {exe.LastRun.PeakLiveBytes} B > two [{m}, {h}] buffers and the sum");
        Assert.Equal(exe.PlannedPeakBytes(), exe.LastRun.PeakLiveBytes);
        AssertClose(outs[0], exe.Run(x, w, c)[0], 0, "second run (buffers from the pool)");
    }

    [Fact]
    public void DeepMlpOutputIsUnchangedByBufferReuse()
    {
        // A narrower deep network, checked against a hand-written forward pass on every run.
        var net = Mlp.Create(16, [.. Enumerable.Repeat(16, 9)], 4, Activation.Tanh, seed: 10);
        var exe = Executable.Compile(Tracer.Function(x => net.Apply(x), new Shape(8, 16)));
        for (int run = 0; run < 3; run++)
        {
            var x = Randn(330 + run, 8, 16);
            var h = x;
            for (int l = 0; l < net.LayerCount; l++)
            {
                h = Naive.Zip(Naive.MatMul(h, (NDArray<double>)net.Parameters[2 * l]), (NDArray<double>)net.Parameters[2 * l + 1], (a, b) => a + b);
                if (l + 1 < net.LayerCount) h = Naive.Map(h, Math.Tanh);
            }
            AssertClose(h, exe.Run(x)[0], 1e-13, $"run {run}");
        }
    }

    [Fact]
    public void Float32GraphsRunWithTheirOwnPool()
    {
        var net64 = Mlp.Create(5, [7, 7], 2, Activation.Sin, seed: 11);
        var net32 = Mlp.Create(5, [7, 7], 2, Activation.Sin, seed: 11, dtype: DType.Float32);
        var x = Randn(340, 3, 5);
        var y64 = Executable.Compile(Tracer.Function(v => net64.Apply(v), x.Shape)).Run(x)[0];
        var exe32 = Executable.Compile(Tracer.Function(v => net32.Apply(v), x.Shape, DType.Float32));
        var y32 = exe32.Run(x.To<float>())[0];
        AssertClose(y64, y32.To<double>(), 1e-5, "float32 vs float64");
        Assert.Equal(DType.Float32, y32.DType);
        // Byte counts are in float32 units: matmul and sin of two hidden layers ([3, 7]; the bias is added in the sine's pass,
        // never stored) and matmul, add of the last ([3, 2]).
        Assert.Equal((4 * 3 * 7 + 2 * 3 * 2) * sizeof(float), exe32.LastRun.ProducedBytes);
    }
}
