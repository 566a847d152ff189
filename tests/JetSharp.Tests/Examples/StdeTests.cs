using JetSharp.Examples;
using JetSharp.Ir;
using JetSharp.Operators;
using JetSharp.Primitives;
using JetSharp.Tensors;
using System.Numerics;
using System.Runtime.Intrinsics;

namespace JetSharp.Tests.Examples;

/// <summary>The stde example: its source term against the library's exact Laplacian, its fast sampler, and the shape of its graph.</summary>
public class StdeTests
{
    [Fact]
    public void TheSourceIsTheLaplacianOfTheExactSolutionPlusTheReaction()
    {
        // Δu* by the library's exact collapsed Laplacian of u* written as a graph, against the hand-derived formula.
        const int d = 5;
        var problem = new StdeAllenCahn.Problem<double>(d, 4, 2, 3, seed: 3);
        var c = problem.Coefficients;
        Node Exact(Node x)
        {
            Node psi = null!;
            for (int i = 0; i < d - 1; i++)
            {
                var xi = Fn.Slice(x, 1, i, 1); var xj = Fn.Slice(x, 1, i + 1, 1);
                var term = Fn.Sin(xi + Fn.Cos(xj) + xj * Fn.Cos(xi)) * c[i];
                psi = i == 0 ? term : psi + term;
            }
            return (1.0 - Fn.Sum(x * x, 1, keepDims: true)) * psi;
        }
        var raw = NDArray.RandomNormal<double>(new Shape(4, d), 7).Data;
        var points = NDArray.FromArray(Array.ConvertAll(raw, v => 0.4 * v), new Shape(4, d));
        NDArray<double> lap = DifferentialOperator.Laplacian().Apply<double>(Exact, points);
        for (int n = 0; n < 4; n++)
        {
            var (g, u) = problem.SourceAt(points.Data.AsSpan(n * d, d));
            Assert.Equal(lap.Data[n] + u - u * u * u, g, 1e-10 * Math.Max(1, Math.Abs(g)));
        }
    }

    [Fact]
    public void TheFastSamplerDrawsBallPointsAndAgreesWithTheFloat64Source()
    {
        const int d = 37;
        var problem = new StdeAllenCahn.Problem<float>(d, 4, 2, 3, seed: 5);
        var radii = new List<double>();
        for (int i = 0; i < 200; i++)
        {
            var p = problem.PointOf(11, i);
            double r = Math.Sqrt(p.Sum(v => (double)v * v));
            Assert.True(r <= 1 + 1e-6, $"point {i} has radius {r}");
            radii.Add(Math.Pow(r, d));                   // uniform on (0, 1) for uniform points of the ball
            var (fast, fu) = problem.FastSourceAt(p);
            var (exact, eu) = problem.SourceAt(Array.ConvertAll(p, v => (double)v));
            Assert.Equal(exact, fast, 1e-4 * Math.Abs(exact) + 1e-4);
            Assert.Equal(eu, fu, 1e-4 * Math.Abs(eu) + 1e-6);
        }
        Assert.InRange(radii.Average(), 0.5 - 4 * 0.289 / Math.Sqrt(200), 0.5 + 4 * 0.289 / Math.Sqrt(200));
        Assert.Equal(problem.PointOf(11, 3), problem.PointOf(11, 3));
        Assert.NotEqual(problem.PointOf(11, 3), problem.PointOf(12, 3));
    }

    [Theory]
    [InlineData(1024)]    // whole lane groups of coordinates; the last pair in a scalar tail
    [InlineData(2049)]    // one scalar coordinate after the lane groups; pairs end on a group boundary
    [InlineData(2500)]    // scalar tails of coordinates and of pairs
    public void TheFastSourceAgreesWithTheFloat64SourceInLongerRows(int d)
    {
        // Rows with many float32 partial-sum flushes (every 256 coordinates) and the vector/scalar seams, against the float64
        // formulas on the same float32 points.
        var problem = new StdeAllenCahn.Problem<float>(d, 4, 2, 3, seed: 6);
        for (int i = 0; i < 6; i++)
        {
            var p = problem.PointOf(13, i);
            var (fast, fu) = problem.FastSourceAt(p);
            var (exact, eu) = problem.SourceAt(Array.ConvertAll(p, v => (double)v));
            Assert.Equal(exact, fast, 1e-4 * Math.Abs(exact) + 1e-4);
            Assert.Equal(eu, fu, 1e-4 * Math.Abs(eu) + 1e-6);
        }
    }

    [Fact]
    public void TheGradientGraphGathersRowsAndHoldsNoDenseDirections()
    {
        const int d = 3000, s = 4, n = 5;
        var problem = new StdeAllenCahn.Problem<float>(d, 8, s, n, seed: 1);
        var g = problem.GradientGraph;
        Assert.Contains(g.Nodes, x => x.Op is TakeOp { Indices.IsSampled: true });
        // The gathered rows' gradient is added into the dense xᵀ·δ (one scatter_add_into, no zeroed [D, 8] scatter and sum).
        var into = Assert.Single(GraphWalk.Reachable(g), x => x.Op is ScatterAddIntoOp { Indices.IsSampled: true });
        Assert.Equal(new Shape(d, 8), into.Shape);
        Assert.IsType<MatMulOp>(into.Inputs[0].Op);
        Assert.DoesNotContain(GraphWalk.Reachable(g), x => x.Op is ScatterAddOp && x.Shape == new Shape(d, 8));
        Assert.DoesNotContain(GraphWalk.Reachable(g), x => x.Op is AddOp && x.Shape == new Shape(d, 8));
        Assert.DoesNotContain(g.Nodes, x => x.Op is SelectionMatrixOp);
        // Nothing of the size of the directions [S, N, D]: the largest tensors are x [N, D] and W₁ or its gradient [D, 8].
        Assert.All(g.Nodes, x => Assert.True(x.Shape.Size <= Math.Max(n, 8) * d, $"%{x.Id} {x.Op} {x.Shape}"));
        // One dense product each way with x: the forward x·W₁ and the gradient xᵀ·δ (u and Δ̂u share them; the loss is
        // simplified before it is differentiated, so their cotangents are summed before the product, not after).
        var live = GraphWalk.Reachable(g);
        Assert.Single(live, x => x.Op is MatMulOp && x.Shape == new Shape(n, 8) && x.Inputs[0] == g.Inputs[0]);
        Assert.Single(live, x => x.Op is MatMulOp && x.Shape == new Shape(d, 8));
    }

    [Fact]
    public void TheFloat32EnvelopeMatchesOneMinusTheSquaredNormInFloat64AtAMillionDimensions()
    {
        // Uniform ball points at D = 10⁶ have φ = 1 − ‖x‖² ~ 2·10⁻⁶. The float32 graph must give it to a small fraction of
        // itself (the reference: a float64 sum over the same float32 coordinates). Without the k correction the error is
        // D·ã² − 1 ≈ 9.5·10⁻⁸ on every point (several % of φ); with a float32 running sum, about 10⁻³ of φ.
        const int d = 1_000_000, n = 4;
        var graph = Tracer.Function(xs => StdeAllenCahn.Problem<float>.Envelope(xs[0], DType.Float32), [new Shape(n, d)], DType.Float32);
        var exe = new JetSharp.Runtime.Executable(JetSharp.Simplify.Simplifier.Simplify(graph));
        var x = new NDArray<float>(new Shape(n, d));
        var exact = new double[n];
        for (int i = 0; i < n; i++)
        {
            var p = StdeAllenCahn.Problem<float>.BallPoint(d, 21, i);
            p.CopyTo(x.Data, i * d);
            exact[i] = 1 - p.Sum(v => (double)v * v);
        }
        var phi = exe.Run<float>([x])[0];
        for (int i = 0; i < n; i++)
        {
            Assert.InRange(exact[i], 1e-9, 1e-4);
            Assert.True(Math.Abs(phi.Data[i] - exact[i]) <= 1e-3 * exact[i], $"point {i}: φ = {phi.Data[i]:E4} in float32, {exact[i]:E4} in float64");
        }
    }

    [Fact]
    public void TheSamplersPolynomialLogSinAndCosAgreeWithTheFloat64FunctionsOnTheirRanges()
    {
        // Each function on 16-lane batches over its range, against Math in float64 (absolute error; ln relative to max(1, |ln u|)).
        void Check(Func<Vector512<float>, (Vector512<float>, Vector512<float>)> f, double lo, double hi, Func<double, (double, double)> exact, double tolerance, string name)
        {
            const int count = 1 << 14;
            var buffer = new float[16];
            for (int b = 0; b < count / 16; b++)
            {
                for (int l = 0; l < 16; l++) buffer[l] = (float)(lo + (hi - lo) * (b * 16 + l) / (count - 1));
                var (p, q) = f(Vector512.Create(buffer));
                for (int l = 0; l < 16; l++)
                {
                    var (ep, eq) = exact(buffer[l]);
                    Assert.True(Math.Abs(p[l] - ep) <= tolerance && Math.Abs(q[l] - eq) <= tolerance,
                        $"{name}({buffer[l]:R}) = ({p[l]:R}, {q[l]:R}), float64 ({ep:R}, {eq:R})");
                }
            }
        }
        Check(FastSampler.SinCosQuarter, 0, Math.PI / 4, Math.SinCos, 2.5e-7, "SinCosQuarter");
        Check(FastSampler.SinCosUnit, -1, 1, Math.SinCos, 2.5e-7, "SinCosUnit");
        Check(FastSampler.SinCos, -1.6, 3.2, Math.SinCos, 3e-7, "SinCos");
        // ln on (0, 1]: geometric steps down to half the sampler's least uniform, 2⁻²⁵.
        var us = new float[16];
        for (int b = 0; b < 1024; b++)
        {
            for (int l = 0; l < 16; l++) us[l] = (float)Math.Pow(2, -25.0 * (b * 16 + l) / (1024 * 16 - 1));
            var ln = FastSampler.Log(Vector512.Create(us));
            for (int l = 0; l < 16; l++)
                Assert.True(Math.Abs(ln[l] - Math.Log(us[l])) <= 2e-7 * Math.Max(1, -Math.Log(us[l])), $"Log({us[l]:R}) = {ln[l]:R}, float64 {Math.Log(us[l]):R}");
        }
    }

    [Fact]
    public void TheSamplersNormalsHaveTheMomentsAndQuantilesOfAStandardNormal()
    {
        // 64 points × 4099 coordinates (a tail that is not a multiple of 32): 262 336 draws. Mean, variance, fourth moment,
        // the CDF at five points, and the Box–Muller pairs (lanes k and k + 16 of a block) uncorrelated, also in their squares.
        const int d = 4099, points = 64;
        var all = new List<float>();
        double pair = 0, pairSquares = 0; long pairs = 0;
        for (int i = 0; i < points; i++)
        {
            var row = new float[d];
            double norm2 = FastSampler.Normals(3, i, row);
            Assert.Equal(row.Sum(v => (double)v * v), norm2, 1e-6 * norm2);
            all.AddRange(row);
            for (int k = 0; k + 32 <= d; k += 32)
                for (int l = 0; l < 16; l++) { pair += row[k + l] * row[k + 16 + l]; pairSquares += (double)row[k + l] * row[k + l] * row[k + 16 + l] * row[k + 16 + l]; pairs++; }
        }
        int n = all.Count;
        double mean = all.Average(v => (double)v), variance = all.Average(v => (double)v * v), fourth = all.Average(v => Math.Pow(v, 4));
        Assert.InRange(mean, -4 / Math.Sqrt(n), 4 / Math.Sqrt(n));
        Assert.InRange(variance, 1 - 4 * Math.Sqrt(2.0 / n), 1 + 4 * Math.Sqrt(2.0 / n));
        Assert.InRange(fourth, 3 - 4 * Math.Sqrt(96.0 / n), 3 + 4 * Math.Sqrt(96.0 / n));
        foreach (var (t, phi) in new[] { (-2.0, 0.022750131948179), (-1.0, 0.158655253931457), (0.0, 0.5), (0.5, 0.691462461274013), (1.5, 0.933192798731142) })
        {
            double below = all.Count(v => v < t) / (double)n;
            Assert.InRange(below, phi - 4 * Math.Sqrt(phi * (1 - phi) / n), phi + 4 * Math.Sqrt(phi * (1 - phi) / n));
        }
        Assert.InRange(pair / pairs, -4 / Math.Sqrt(pairs), 4 / Math.Sqrt(pairs));
        Assert.InRange(pairSquares / pairs, 1 - 4 * Math.Sqrt(8.0 / pairs), 1 + 4 * Math.Sqrt(8.0 / pairs));
    }

    [Fact]
    public void TheSamplersDrawsAreBitwiseThoseOfTheRecordedStream()
    {
        // Pins the stream (points and source of seed 0, D = 2 049 — coordinate and pair tails — draw 12 345, points 0–4) to
        // values recorded from the sampler as of the stde5 round (main at 50c56e8), before its polynomials and the
        // xoshiro step were inlined: that change was meant to keep every bit, and a later one that changes the draws (and
        // so what a resumed checkpoint continues with) has to say so here.
        var problem = new StdeAllenCahn.Problem<float>(2049, 4, 2, 3, seed: 0);
        ulong hash = 1469598103934665603UL;
        var sources = new List<(double G, double U)>();
        for (int i = 0; i < 5; i++)
        {
            var x = problem.PointOf(12345, i);
            foreach (var v in x) { hash ^= BitConverter.SingleToUInt32Bits(v); hash *= 1099511628211UL; }
            sources.Add(problem.FastSourceAt(x));
        }
        Assert.Equal(0x17FCBE753BDE027EUL, hash);
        (double G, double U)[] recorded =
        [
            (-115220.25828273834, 0.04723950661232592), (-116658.15055007456, 0.026944006490547696), (-112425.17787109985, 0.00533508809188986),
            (-116038.18327601561, 0.0132125093158819), (-114579.09223425087, 0.010258179234246595),
        ];
        Assert.Equal(recorded, sources);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ResampleFillsEveryRowOfTheBatchWithItsOwnPointAndSource(bool float64)
    {
        // The batch is drawn in parallel (one piece per point on the runtime's workers, scratch rows shared through a pool):
        // every row must be the point of its own index and g the source there, as the one-point path computes them.
        if (float64) Check<double>(); else Check<float>();

        static void Check<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            const int d = 1000, points = 24;
            var problem = new StdeAllenCahn.Problem<T>(d, 4, 2, points, seed: 9);
            for (long step = 3; step <= 4; step++)
            {
                problem.Resample(step, problem.InitialParameters());
                var (x, g) = problem.Batch;
                long seed = problem.DrawSeed(step);
                for (int i = 0; i < points; i++)
                {
                    var p = problem.PointOf(seed, i);
                    for (int k = 0; k < d; k++) Assert.Equal(T.CreateTruncating(p[k]), x.Data[i * d + k]);
                    Assert.Equal(T.CreateTruncating(problem.FastSourceAt(p).Source), g.Data[i]);
                }
            }
        }
    }
}
