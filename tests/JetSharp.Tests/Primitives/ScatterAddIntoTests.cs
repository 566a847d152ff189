using JetSharp.CodeGen;
using JetSharp.Runtime;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// scatter_add_into(target, updates): values against the unfused target + scatter_add(updates) and a plain loop, the
/// executor's in-place hand-over of the target's buffer (taken only when the target dies there), bad input, and the
/// emitted code. Its derivatives (JVP against central differences, VJP adjoint identity, jets to order 6 against nested
/// JVPs, the Laplacian in every strategy) are checked by the extended primitive tables: <c>Fn.ScatterAdd</c> builds it.
/// </summary>
public class ScatterAddIntoTests
{
    private static readonly int[] Repeated = [2, 0, 2, 1];

    /// <summary>result[o, idx[j], i] += u[o, j, i] over a copy of t, by loops (the independent reference).</summary>
    private static NDArray<double> Loop(NDArray<double> t, NDArray<double> u, int[] idx)
    {
        var r = t.Clone();
        int outer = t.Shape[0], n = t.Shape[1], inner = t.Shape[2];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < idx.Length; j++)
                for (int i = 0; i < inner; i++)
                    r.Data[(o * n + idx[j]) * inner + i] += u.Data[(o * idx.Length + j) * inner + i];
        return r;
    }

    [Fact]
    public void FnScatterAddBuildsTheOneOperation()
    {
        var g = Tracer.Function(xs => Fn.ScatterAdd(xs[0], Repeated, xs[1], 1), [new Shape(2, 3, 5), new Shape(2, 4, 5)]);
        var op = Assert.IsType<ScatterAddIntoOp>(g.Outputs[0].Op);
        Assert.Equal(1, op.Axis);
        Assert.Equal(Linearity.JointlyLinear, op.LinearityIn(0));
        Assert.Equal(Linearity.JointlyLinear, op.LinearityIn(1));
        Assert.Equal(0, op.InPlaceInput);
    }

    [Fact]
    public void MatchesTheUnfusedFormAndALoopWithRepeatedIndices()
    {
        var shapes = new[] { new Shape(2, 3, 5), new Shape(2, 4, 5) };
        var fused = Tracer.Function(xs => Fn.Apply(new ScatterAddIntoOp(1, new IndexList(Repeated)), Fn.Sin(xs[0]), xs[1]), shapes);
        var unfused = Tracer.Function(xs => Fn.Sin(xs[0]) + Fn.Apply(new ScatterAddOp(1, new IndexList(Repeated), 3), xs[1]), shapes);
        NDArray<double>[] inputs = [Randn(1, 2, 3, 5), Randn(2, 2, 4, 5)];
        var expected = Run(unfused, inputs)[0];
        var actual = Run(fused, inputs)[0];
        Close(expected, actual, 1e-12);
        Close(Loop(Naive.Map(inputs[0], Math.Sin), inputs[1], Repeated), actual, 1e-12);
    }

    [Fact]
    public void RunsInTheTargetsBufferWhenTheTargetDiesThere()
    {
        // t = sin(x) dies at the scatter: the plan holds one target-sized buffer (the unfused form holds two: t and the
        // zeroed scatter, which the add then reuses), and repeated runs from the pool give the same values.
        var shapes = new[] { new Shape(4, 50, 6), new Shape(4, 4, 6) };
        var fused = Executable.Compile(Tracer.Function(xs => Fn.Apply(new ScatterAddIntoOp(1, new IndexList([7, 0, 49, 7])), Fn.Sin(xs[0]), xs[1]), shapes));
        var unfused = Executable.Compile(Tracer.Function(xs => Fn.Sin(xs[0]) + Fn.Apply(new ScatterAddOp(1, new IndexList([7, 0, 49, 7]), 50), xs[1]), shapes));
        long target = 4 * 50 * 6 * sizeof(double), updates = 4 * 4 * 6 * sizeof(double);
        Assert.Equal(target, fused.PlannedPeakBytes());
        Assert.Equal(2 * target, unfused.PlannedPeakBytes());
        NDArray<double>[] inputs = [Randn(3, 4, 50, 6), Randn(4, 4, 4, 6)];
        var before = inputs.Select(x => x.Data.ToArray()).ToArray();
        var expected = unfused.Run(inputs)[0];
        for (int run = 0; run < 3; run++)
        {
            var actual = fused.Run(inputs)[0];
            Close(expected, actual, 1e-12);
            Assert.Equal(target, fused.LastRun.PeakLiveBytes);
            fused.Recycle([actual]);
        }
        for (int i = 0; i < inputs.Length; i++) Assert.Equal(before[i], inputs[i].Data);
        Assert.True(updates < target);
    }

    [Fact]
    public void LeavesATargetThatIsStillNeededOrBelongsToTheCallerUntouched()
    {
        var shapes = new[] { new Shape(2, 3, 5), new Shape(2, 4, 5) };
        var op = new ScatterAddIntoOp(1, new IndexList(Repeated));
        // t is used again after the scatter: the scatter must not write into it.
        var g = Tracer.Function(xs =>
        {
            var t = Fn.Sin(xs[0]);
            var y = Fn.Apply(op, t, xs[1]);
            return [y, t * 2.0];
        }, shapes);
        NDArray<double>[] inputs = [Randn(5, 2, 3, 5), Randn(6, 2, 4, 5)];
        var outs = Run(g, inputs);
        var sin = Naive.Map(inputs[0], Math.Sin);
        Close(Loop(sin, inputs[1], Repeated), outs[0], 1e-12);
        Close(Naive.Map(sin, v => 2 * v), outs[1], 1e-12);
        // The target is a graph input: the caller's tensor is not written and the result is a tensor of its own.
        var direct = Tracer.Function(xs => Fn.Apply(op, xs[0], xs[1]), shapes);
        var x = inputs[0].Data.ToArray();
        var r = Run(direct, inputs)[0];
        Assert.Equal(x, inputs[0].Data);
        Assert.NotSame(inputs[0].Data, r.Data);
        Close(Loop(inputs[0], inputs[1], Repeated), r, 1e-12);
        // The target is also the updates' source (a gather of itself, computed before): against the unfused form.
        Node Self(Node[] xs, bool into)
        {
            var t = Fn.Sin(xs[0]);
            var u = Fn.Take(t, Repeated, 1);
            return into ? Fn.Apply(op, t, u) : t + Fn.Apply(new ScatterAddOp(1, new IndexList(Repeated), 3), u);
        }
        Close(Run(Tracer.Function(xs => Self(xs, false), [shapes[0]]), inputs[0])[0], Run(Tracer.Function(xs => Self(xs, true), [shapes[0]]), inputs[0])[0], 1e-12);
    }

    [Fact]
    public void BadInputIsRefusedNamingTheOperationAndTheShapes()
    {
        var g = new Graph(DType.Float64);
        var t = g.Input(new Shape(2, 3, 5));
        var e = Assert.Throws<ShapeException>(() => Fn.Apply(new ScatterAddIntoOp(1, new IndexList(Repeated)), t, g.Input(new Shape(2, 3, 5))));
        Assert.Contains("scatter_add_into", e.Message);
        Assert.Contains("(2, 4, 5)", e.Message.Replace("[", "(").Replace("]", ")"));
        e = Assert.Throws<ShapeException>(() => Fn.Apply(new ScatterAddIntoOp(3, new IndexList(Repeated)), t, g.Input(new Shape(2, 3, 5))));
        Assert.Contains("axis 3", e.Message);
        e = Assert.Throws<ShapeException>(() => Fn.Apply(new ScatterAddIntoOp(1, new IndexList([0, 3])), t, g.Input(new Shape(2, 2, 5))));
        Assert.Contains("scatter_add_into", e.Message);
        Assert.Contains("index 3", e.Message);
        Assert.Throws<ShapeException>(() => Fn.Apply(new ScatterAddIntoOp(1, IndexList.Sampled(4, 2, false, 1)), t, g.Input(new Shape(2, 2, 5))));
        Assert.Throws<ShapeException>(() => Fn.Apply(new ScatterAddIntoOp(1, new IndexList([0])), t));
    }

    [Fact]
    public void SampledIndicesAreTheRunsDrawSharedWithTheGather()
    {
        // take and scatter_add_into with one sampled list see the same draw in a run: scattering the gathered slices
        // back doubles exactly the drawn slices; another seed offset draws others.
        var list = IndexList.Sampled(9, 3, withReplacement: false, seed: 4);
        var g = Tracer.Function(xs => Fn.Apply(new ScatterAddIntoOp(1, list), xs[0], Fn.Take(xs[0], list, 1)), [new Shape(2, 9)]);
        var x = Randn(8, 2, 9);
        var exe = Executable.Compile(g);
        for (long offset = 0; offset < 3; offset++)
        {
            var y = exe.Run([x], offset)[0];
            int[] drawn = new int[3];
            IndexList.Draw(9, false, 4 + offset, drawn);
            for (int o = 0; o < 2; o++)
                for (int c = 0; c < 9; c++)
                    Assert.Equal(x.Data[o * 9 + c] * (drawn.Contains(c) ? 2 : 1), y.Data[o * 9 + c], 14);
        }
    }

    [Fact]
    public void StandaloneEmittedCodeAgreesWithTheInterpreter()
    {
        var g = Tracer.Function(xs => [Fn.Apply(new ScatterAddIntoOp(1, new IndexList(Repeated)), Fn.Sin(xs[0]), xs[1]),
                                       Fn.Apply(new ScatterAddIntoOp(0, new IndexList([1, 1])), xs[0], Fn.Take(xs[1], [0, 3, 1], 1))],
            [new Shape(2, 3, 5), new Shape(2, 4, 5)]);
        NDArray<double>[] inputs = [Randn(7, 2, 3, 5), Randn(8, 2, 4, 5)];
        var standalone = EmittedGraph.Compile(g, new EmitOptions { UseLibraryKernels = false });
        Assert.Contains("scatter_add_into", standalone.Source);
        Assert.DoesNotContain("own kernel", standalone.Source);
        var expected = Executable.Compile(g).Run(inputs);
        var actual = standalone.Run(inputs);
        for (int i = 0; i < 2; i++) Close(expected[i], actual[i], 1e-14);
        Close(Loop(Naive.Map(inputs[0], Math.Sin), inputs[1], Repeated), actual[0], 1e-12);
    }
}
