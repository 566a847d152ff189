using JetSharp.Benchmarks;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Runtime;
using JetSharp.Simplify;
using JetSharp.Simplify.Rules;
using JetSharp.Transforms;
using static JetSharp.Tests.SimplifyTestUtil;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Build cost against depth (issue 15, defect 8). The collapsed Laplacian of h ← sin(h) nested N times
/// pulls one sum through all N levels, a cascade of about 3N rewrites. The simplifier must do work
/// proportional to the graph (counted in <see cref="Simplifier.Visits"/>, not timed), and every stage —
/// simplifier, jet, compilation with fusion — must handle depths of 50 000 without recursion.
/// </summary>
public class DepthScalingTests
{
    /// <summary>A graph built without <see cref="Tracer"/> (no origin stack walks).</summary>
    private static Graph Build(Shape[] shapes, Func<Node[], Node> f)
    {
        var g = new Graph(DType.Float64);
        var inputs = shapes.Select(s => g.Input(s)).ToArray();
        g.SetOutputs(f(inputs));
        return g;
    }

    private static Graph SinChain(int depth, Shape shape) => Build([shape], xs =>
    {
        var h = xs[0];
        for (int i = 0; i < depth; i++) h = Fn.Sin(h);
        return h;
    });

    /// <summary>(h, h′, h″) of sin nested <paramref name="depth"/> times at x, by the scalar chain rule.</summary>
    private static (double H, double D1, double D2) SinChainDerivatives(double x, int depth)
    {
        double h = x, d1 = 1, d2 = 0;
        for (int i = 0; i < depth; i++)
        {
            double c = Math.Cos(h), s = Math.Sin(h);
            d2 = c * d2 - s * d1 * d1;
            d1 = c * d1;
            h = s;
        }
        return (h, d1, d2);
    }

    /// <summary>Runs <paramref name="body"/> on a thread with the given stack, rethrowing its exception here.</summary>
    private static T OnThread<T>(int stackBytes, Func<T> body)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try { result = body(); }
            catch (Exception e) { error = e; }
        }, stackBytes);
        thread.Start();
        thread.Join();
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
        return result;
    }

    [Fact]
    public void CollapsingADeepChainTakesOnePassAndWorkLinearInItsSize()
    {
        // Before the fix a pass stopped cascading at 1000 nested rewrites and the next pass copied the whole
        // graph again to go on: passes grew with depth, and the work per node with them (quadratic in all).
        const int n = 2, d = 2;
        var perNode = new List<double>();
        foreach (int depth in (int[])[250, 2000])
        {
            var raw = DifferentialOperator.Laplacian().Build(SinChain(depth, new Shape(n, d)), Strategy.Collapsed, simplify: false);
            var simplifier = Simplifier.Standard();
            var simplified = simplifier.Run(raw);
            Assert.Equal(2, simplifier.Passes);                          // one that rewrites, one that finds nothing left
            Assert.All(simplifier.Log, f => Assert.Equal(1, f.Pass));
            perNode.Add(simplifier.Visits / (double)raw.Nodes.Count);

            // The nested sines act entry by entry, so the Laplacian is h″ at each entry.
            var x = Randn(depth, n, d);
            var lap = Run(simplified, x)[0];
            for (int i = 0; i < x.Size; i++)
            {
                double expected = SinChainDerivatives(x.Data[i], depth).D2;
                Assert.True(Math.Abs(lap.Data[i] - expected) <= 1e-10 * Math.Max(1, Math.Abs(expected)), $"depth {depth}, entry {i}: {lap.Data[i]} vs {expected}");
            }
        }
        // Work per node does not grow with depth (8× deeper: within 10 %), and it is a few visits per node.
        Assert.True(perNode[1] <= 1.1 * perNode[0], $"visits per node grew from {perNode[0]:F2} to {perNode[1]:F2}");
        Assert.True(perNode[1] < 4, $"{perNode[1]:F2} visits per node");
    }

    [Fact]
    public void AFiftyThousandStepCascadeCompletesInOnePassOnASmallStack()
    {
        // Σ_r a_r·c·c·…·c with 50 000 factors: the sum travels 50 000 steps to reach a, on a 256 KiB stack.
        const int length = 50_000;
        var g = Build([new Shape(2, 3, 2), new Shape(3, 2)], xs =>
        {
            var y = xs[0];
            for (int i = 0; i < length; i++) y = y * xs[1];
            return Fn.Sum(y, 0);
        });
        var simplifier = new Simplifier([new PullSumThroughScaling()]);
        var simplified = OnThread(256 << 10, () => simplifier.Run(g));
        Assert.Equal(length, simplifier.Log.Count);
        Assert.Equal(2, simplifier.Passes);
        var sum = Assert.Single(LiveOf<SumOp>(simplified));
        Assert.IsType<InputOp>(sum.Inputs[0].Op);

        // Compiling and running the 50 000-deep product (fused in bounded trees) also needs no deep stack.
        var a = Randn(1, 2, 3, 2);
        var c = Rand(2, 0.9999, 1.0001, 3, 2);
        var (result, kernels) = OnThread(256 << 10, () =>
        {
            var exe = Executable.Compile(simplified);
            return (exe.Run(a, c)[0], exe.Fusion.Kernels);
        });
        Assert.True(kernels >= length / FusedTree.MaxTreeNodes, $"{kernels} fused kernels for a chain of {length} products");
        for (int i = 0; i < 6; i++)
        {
            double expected = (a.Data[i] + a.Data[i + 6]) * Math.Pow(c.Data[i], length);
            Assert.True(Math.Abs(result.Data[i] - expected) <= 1e-9 * Math.Abs(expected), $"entry {i}: {result.Data[i]} vs {expected}");
        }
    }

    [Fact]
    public void TheJetOfAFiftyThousandDeepChainIsBuiltAndRunOnASmallStack()
    {
        // First order (a JVP) keeps the graph at 150 000 nodes; the walk, the Taylor rules and compilation are the same at any order.
        const int depth = 50_000;
        var f = SinChain(depth, new Shape(3));
        var x = Rand(3, -1, 1, 3);
        var v = T(1, -2, 0.5);
        var (y, y1) = OnThread(256 << 10, () =>
        {
            var g = new Graph(DType.Float64);
            var x0 = g.Input(new Shape(3));
            var x1 = g.Input(new Shape(3));
            var jet = Jet.Apply(f, [x0], [[x1]], 1, default)[0];
            g.SetOutputs(jet[0]!, jet[1]!);
            var outs = Executable.Compile(g).Run(x, v);
            return (outs[0], outs[1]);
        });
        for (int i = 0; i < 3; i++)
        {
            var (h, d1, _) = SinChainDerivatives(x.Data[i], depth);
            Assert.Equal(h, y.Data[i], 12);
            Assert.Equal(d1 * v.Data[i], y1.Data[i], 12);
        }
    }

    [Fact]
    public void TheBenchmarkFitsTheLogLogSlopeAndPrintsATable()
    {
        // Synthetic rows (the harness itself times builds, which a test must not): linear and quadratic growth.
        static DepthScalingRow Row(int n, double seconds) => new(n, n + 1, seconds, seconds / 3, 9 * n, 8 * n, 60_000L * n, 3L * 8 * n, 8 * n);
        int[] depths = [1000, 2000, 4000, 8000];
        var linear = depths.Select(n => Row(n, 1e-4 * n)).ToList();
        var quadratic = depths.Select(n => Row(n, 1e-8 * n * n)).ToList();
        Assert.Equal(1.0, DepthScaling.Slope(linear, r => r.CollapsedSeconds), 12);
        Assert.Equal(2.0, DepthScaling.Slope(quadratic, r => r.CollapsedSeconds), 12);
        Assert.Equal(1.0, DepthScaling.Slope(linear, r => r.SimplifierVisits), 12);
        Assert.True(double.IsNaN(DepthScaling.Slope(linear.Take(1).ToList(), r => r.CollapsedSeconds)));
        var table = DepthScaling.Format(linear);
        Assert.Contains("| 8000 | 0.800 | 100.0 | 0.267 | 33.3 | 3.00 | 480 | 3.00 | 72000, 64000 |", table);
        Assert.Contains("collapsed 1.00, standard 1.00", table);
        Assert.Throws<ArgumentException>(() => DepthScaling.Measure([1000, 0]));
    }
}
