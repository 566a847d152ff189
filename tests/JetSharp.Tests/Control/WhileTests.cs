using JetSharp.Runtime;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.ControlFlow;

public class WhileTests
{
    // One step of the loop: x grows by between 0 and 0.2 per entry, s accumulates a weighted Σx².
    private static Node[] Step(Node x, Node s, Node theta) =>
        [x + 0.1 * (1.0 + Fn.Sin(x * theta)), s + 0.1 * Fn.Sum(x * x * theta)];

    /// <summary>while Σx &lt; 3: step; returns x·s. The trip count depends on the data.</summary>
    private static Node Looped(Node x0, Node theta, Action<WhileLoop>? loop = null, LoopCheckpointing checkpointing = default)
    {
        var r = Tracer.While((c, k) => 3.0 - Fn.Sum(c[0]), (c, k) => Step(c[0], c[1], k[0]), [x0, Fn.Zeros(x0.Graph, Shape.Scalar)], [theta],
            checkpointing: checkpointing);
        loop?.Invoke(r.Loop);
        return r.Values[0] * r.Values[1];
    }

    /// <summary>The same computation with the trip count fixed at trace time (straight-line code).</summary>
    private static Node Unrolled(Node x0, Node theta, int trips)
    {
        Node x = x0, s = Fn.Zeros(x0.Graph, Shape.Scalar);
        for (int i = 0; i < trips; i++) (x, s) = (Step(x, s, theta)[0], Step(x, s, theta)[1]);
        return x * s;
    }

    private static readonly NDArray<double> X0 = T(0.1, 0.3, -0.2), Theta = T(0.8, -0.5, 1.3);
    private static readonly Shape[] Shapes = [new Shape(3), new Shape(3)];

    private static int Trips()
    {
        WhileLoop? loop = null;
        var g = Tracer.Function(xs => Looped(xs[0], xs[1], l => loop = l), Shapes);
        Run(g, X0, Theta);
        return loop!.LastIterations;
    }

    [Fact]
    public void RunsUntilTheConditionFails()
    {
        int trips = Trips();
        Assert.InRange(trips, 5, 40);
        Close(Eval(xs => Unrolled(xs[0], xs[1], trips), X0, Theta), Eval(xs => Looped(xs[0], xs[1]), X0, Theta), 0);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void JetOfWhileIsTheJetOfTheUnrolledLoop(int order)
    {
        int trips = Trips();
        var loop = Tracer.Function(xs => Looped(xs[0], xs[1]), Shapes);
        var straight = Tracer.Function(xs => Unrolled(xs[0], xs[1], trips), Shapes);
        var prefix = new Shape(2);
        var inputs = new List<NDArray<double>> { X0, Theta };
        for (int input = 0; input < 2; input++)
            for (int k = 1; k <= order; k++) inputs.Add(Axpy(new NDArray<double>(new Shape(2, 3)), 0.3, Randn(10 * input + k, 2, 3)));
        var expected = Run(Jet.Transform(straight, order, prefix), [.. inputs]);
        var actual = Run(Jet.Transform(loop, order, prefix), [.. inputs]);
        for (int k = 0; k <= order; k++) Close(expected[k], actual[k], 1e-12);
    }

    [Fact]
    public void VjpMatchesCentralDifferencesAndTheUnrolledGradient()
    {
        int trips = Trips();
        Func<Node[], Node> loss = xs => Fn.Sum(Looped(xs[0], xs[1]));
        var grads = Run(Vjp.Grad(Tracer.Function(loss, Shapes)), X0, Theta);
        var unrolled = Run(Vjp.Grad(Tracer.Function(xs => Fn.Sum(Unrolled(xs[0], xs[1], trips)), Shapes)), X0, Theta);
        Close(unrolled[1], grads[1], 1e-12);
        Close(unrolled[2], grads[2], 1e-12);
        var (vx, vt) = (Randn(3, 3), Randn(4, 3));
        double fd = CentralDifference(loss, [X0, Theta], [vx, vt], 1e-6).Data[0];
        Close(fd, Dot(grads[1], vx) + Dot(grads[2], vt), 1e-7);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ForwardOverReverseMatchesTheUnrolledLoop(int order)
    {
        // The jet of the gradient: Hessian-vector products (order 1) and third derivatives (order 2) through the reverse sweep.
        int trips = Trips();
        var grad = Vjp.Grad(Tracer.Function(xs => Fn.Sum(Looped(xs[0], xs[1])), Shapes));
        var gradUnrolled = Vjp.Grad(Tracer.Function(xs => Fn.Sum(Unrolled(xs[0], xs[1], trips)), Shapes));
        var inputs = new List<NDArray<double>> { X0, Theta };
        for (int input = 0; input < 2; input++)
            for (int k = 1; k <= order; k++) inputs.Add(Randn(20 * input + k, 3));
        var expected = Run(Jet.Transform(gradUnrolled, order), [.. inputs]);
        var actual = Run(Jet.Transform(grad, order), [.. inputs]);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Close(expected[i], actual[i], 1e-11);
    }

    [Fact]
    public void ReverseModeStoresOneCarryPerTrip()
    {
        int trips = Trips();
        var grad = Executable.Compile(Vjp.Grad(Tracer.Function(xs => Fn.Sum(Looped(xs[0], xs[1])), Shapes)));
        var meter = new MemoryMeter();
        grad.Run([X0, Theta], new RunContext(GraphRunner.Instance, meter: meter));
        // The sweep holds trips carries (x [3] and s [], 4 doubles each) at once, on top of the graph's own buffers.
        Assert.True(meter.PeakBytes >= trips * 4 * sizeof(double), $"peak {meter.PeakBytes} bytes for {trips} trips");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(-1)]   // LoopCheckpointing.SqrtLength
    public void CheckpointedReverseModeGivesTheUnrolledGradientAndItsJet(int stride)
    {
        int trips = Trips();
        var checkpointing = new LoopCheckpointing(stride);
        var grad = Vjp.Grad(Tracer.Function(xs => Fn.Sum(Looped(xs[0], xs[1], checkpointing: checkpointing)), Shapes));
        var gradUnrolled = Vjp.Grad(Tracer.Function(xs => Fn.Sum(Unrolled(xs[0], xs[1], trips)), Shapes));
        var expected = Run(gradUnrolled, X0, Theta);
        var actual = Run(grad, X0, Theta);
        for (int i = 0; i < expected.Length; i++) Close(expected[i], actual[i], 1e-12);
        // Forward over the checkpointed reverse sweep (Hessian-vector products).
        NDArray<double>[] inputs = [X0, Theta, Randn(1, 3), Randn(21, 3)];
        var hvp = Run(Jet.Transform(grad, 1), inputs);
        var hvpUnrolled = Run(Jet.Transform(gradUnrolled, 1), inputs);
        for (int i = 0; i < hvp.Length; i++) Close(hvpUnrolled[i], hvp[i], 1e-11);
    }

    [Fact]
    public void CheckpointingCutsTheSweepsMemoryToAboutTwoRootTripsCarries()
    {
        // 1000 trips of a [64] carry: stored, every carry is kept (≥ 1000 · 65 doubles); with ⌈√1000⌉ = 32 the sweep
        // holds ≤ 32 checkpoints and one 32-step segment.
        const int trips = 1000;
        long Peak(LoopCheckpointing checkpointing)
        {
            var g = Vjp.Grad(Tracer.Function(xs =>
            {
                var r = Tracer.While((c, k) => trips - 0.5 - c[1], (c, k) => [c[0] + 0.001 * Fn.Sin(c[0] * k[0]), c[1] + 1.0],
                    [xs[0], Fn.Zeros(xs[0].Graph, Shape.Scalar)], [xs[1]], maxIterations: 2 * trips, checkpointing: checkpointing);
                return Fn.Sum(r.Values[0]);
            }, [new Shape(64), new Shape(64)]));
            var meter = new MemoryMeter();
            Executable.Compile(g).Run([Randn(5, 64), Randn(6, 64)], new RunContext(GraphRunner.Instance, meter: meter));
            return meter.PeakBytes;
        }
        long stored = Peak(LoopCheckpointing.None), checkpointed = Peak(LoopCheckpointing.SqrtLength);
        long carry = 65 * sizeof(double);
        Assert.True(stored >= trips * carry, $"stored: peak {stored} bytes");
        Assert.True(checkpointed <= 2 * 32 * carry + (stored - trips * carry), $"checkpointed: peak {checkpointed} bytes (stored {stored})");
        Assert.Throws<ArgumentOutOfRangeException>(() => Tracer.Function(x =>
            Tracer.While((c, k) => Fn.Sum(c[0]), (c, k) => [c[0] * 0.5], [x], checkpointing: new LoopCheckpointing(-2)).Values[0], new Shape(2)));
    }

    [Fact]
    public void TheIterationLimitIsEnforcedWithAClearError()
    {
        var g = Tracer.Function(x => Tracer.While((c, _) => 10.0 - Fn.Sum(c[0]), (c, _) => [c[0] + 1.0], [x], maxIterations: 5).Values[0], new Shape(1));
        Close(T(10.0), Run(g, T(5.0))[0], 0);
        var e = Assert.Throws<WhileLoopException>(() => Run(g, T(0.0)));
        Assert.Contains("maxIterations = 5", e.Message);
    }

    [Fact]
    public void BadBodiesAndConditionsAreRejectedWithNamedErrors()
    {
        var e1 = Assert.Throws<ShapeException>(() => Tracer.Function(x => Tracer.While((c, _) => Fn.Sum(c[0]), (c, _) => [Fn.Sum(c[0])], [x]).Values[0], new Shape(3)));
        Assert.Contains("carry 0", e1.Message);
        Assert.Contains("[3]", e1.Message);
        var e2 = Assert.Throws<ShapeException>(() => Tracer.Function(x => Tracer.While((c, _) => c[0], (c, _) => [c[0]], [x]).Values[0], new Shape(3)));
        Assert.Contains("condition", e2.Message);
        var e3 = Assert.Throws<ShapeException>(() => Tracer.Function(x => Tracer.While((c, _) => Fn.Sum(c[0]), (c, _) => [c[0], c[0]], [x]).Values[0], new Shape(3)));
        Assert.Contains("returns 2 value(s) for a carry of 1", e3.Message);
        // A body that uses a node of an unrelated trace (values of the enclosing trace are closures: ClosureTests).
        var foreign = Tracer.Function(y => y * 2.0, new Shape(3)).Outputs[0];
        var e4 = Assert.Throws<ArgumentException>(() => Tracer.Function(x => Tracer.While((c, _) => Fn.Sum(c[0]), (c, _) => [c[0] * foreign], [x]).Values[0], new Shape(3)));
        Assert.Contains("while (body)", e4.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Tracer.Function(x => Tracer.While((c, _) => Fn.Sum(c[0]), (c, _) => [c[0]], [x], maxIterations: 0).Values[0], new Shape(3)));
    }

    [Fact]
    public void RecursionWithATracedBaseCaseLowersToWhile()
    {
        // pow(x, n) = n ≤ 0 ? acc : pow(x, n − 1) with acc·x — n is traced, so the depth is decided at run time.
        Func<Node[], Node> pow = xs => Tracer.Recurse(
            (s, _) => 0.5 - s[0],
            (s, k) => [s[0] - 1.0, s[1] * k[0]],
            [xs[1], xs[0].Graph.Scalar(1.0)], [xs[0]]).Values[1];
        var g = Tracer.Function(pow, [Shape.Scalar, Shape.Scalar]);
        double x = 1.3;
        Close(Math.Pow(x, 5), Run(g, NDArray.Scalar(x), NDArray.Scalar(5.0))[0].Data[0], 1e-15);
        Close(Math.Pow(x, 2), Run(g, NDArray.Scalar(x), NDArray.Scalar(2.0))[0].Data[0], 1e-15);
        // d/dx and d³/dx³ of x⁵ by Taylor mode (n's coefficients zero).
        var jet = Run(Jet.Transform(g, 3), NDArray.Scalar(x), NDArray.Scalar(5.0), NDArray.Scalar(1.0), NDArray.Scalar(0.0), NDArray.Scalar(0.0),
            NDArray.Scalar(0.0), NDArray.Scalar(0.0), NDArray.Scalar(0.0));
        Close(5 * Math.Pow(x, 4), jet[1].Data[0], 1e-13);
        Close(20 * Math.Pow(x, 3), jet[2].Data[0], 1e-13);
        Close(60 * x * x, jet[3].Data[0], 1e-13);
        var grad = Run(Vjp.Grad(g), NDArray.Scalar(x), NDArray.Scalar(5.0));
        Close(5 * Math.Pow(x, 4), grad[1].Data[0], 1e-13);
        var deep = Tracer.Function(xs => Tracer.Recurse((s, _) => 0.5 - s[0], (s, _) => [s[0] - 1.0], [xs[0]], maxDepth: 3).Values[0], [Shape.Scalar]);
        Assert.Throws<WhileLoopException>(() => Run(deep, NDArray.Scalar(10.0)));
    }

    // A loop whose body branches: the step switches from sin to a square once Σx passes 1.
    private static Node BranchyStep(Node x, Node theta) =>
        x + 0.1 * Tracer.Cond(Fn.Sum(x) - 1.0, a => Fn.Square(a[0]) * a[1] + 0.5, a => Fn.Sin(a[0]) * a[1] + 1.0, x, theta);

    private static Node BranchyLoop(Node x0, Node theta, Action<WhileLoop>? loop = null)
    {
        var r = Tracer.While((c, _) => 3.0 - Fn.Sum(c[0]), (c, k) => [BranchyStep(c[0], k[0])], [x0], [theta]);
        loop?.Invoke(r.Loop);
        return r.Values[0];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void CondInsideAWhileBodyMatchesTheUnrolledProgram(int order)
    {
        WhileLoop? l = null;
        var loop = Tracer.Function(xs => BranchyLoop(xs[0], xs[1], w => l = w), Shapes);
        var theta = T(0.6, 0.9, 0.4);
        Run(loop, X0, theta);
        int trips = l!.LastIterations;
        Assert.InRange(trips, 4, 40);
        var straight = Tracer.Function(xs =>
        {
            var x = xs[0];
            for (int i = 0; i < trips; i++) x = BranchyStep(x, xs[1]);
            return x;
        }, Shapes);
        var inputs = new List<NDArray<double>> { X0, theta };
        for (int input = 0; input < 2; input++)
            for (int k = 1; k <= order; k++) inputs.Add(Randn(30 * input + k, 2, 3));
        var expected = Run(Jet.Transform(straight, order, new Shape(2)), [.. inputs]);
        var actual = Run(Jet.Transform(loop, order, new Shape(2)), [.. inputs]);
        for (int k = 0; k <= order; k++) Close(expected[k], actual[k], 1e-12);
        Func<Node[], Node> loss = xs => Fn.Sum(BranchyLoop(xs[0], xs[1]));
        var grads = Run(Vjp.Grad(Tracer.Function(loss, Shapes)), X0, theta);
        var (vx, vt) = (Randn(5, 3), Randn(6, 3));
        Close(CentralDifference(loss, [X0, theta], [vx, vt], 1e-6).Data[0], Dot(grads[1], vx) + Dot(grads[2], vt), 1e-7);
    }
}
