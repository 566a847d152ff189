using JetSharp.Primitives;
using JetSharp.Runtime;
using JetSharp.Transforms;

namespace JetSharp.Tests;

public class FixedPointTests
{
    /// <summary>dx*/dθ of a scalar fixed point, by reverse mode (grad) and forward mode (JVP).</summary>
    private static (double Value, double Reverse, double Forward, FixedPointProblem Problem) Derivative(
        Func<Node, Node, Node> f, double theta, double x0, double tol, int maxIt, FixedPointMode mode, bool require = true)
    {
        FixedPointProblem? problem = null;
        var g = Tracer.Function(xs =>
        {
            var r = FixedPoint.Solve(f, xs[0], xs[0].Graph.Constant(NDArray.Scalar(x0)), tol, maxIt, mode, require);
            problem = r.Problem;
            return r.Value;
        }, [Shape.Scalar]);
        var th = NDArray.Scalar(theta);
        var grad = Executable.Compile(Vjp.Grad(g)).Run(th);
        var jvp = Executable.Compile(Jvp.Transform(g)).Run(th, NDArray.Scalar(1.0));
        return (((NDArray<double>)grad[0]).Data[0], ((NDArray<double>)grad[1]).Data[0], ((NDArray<double>)jvp[1]).Data[0], problem!);
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void LinearMapOneStepErrorIsRhoOverOneMinusRho(double rho)
    {
        Node F(Node x, Node t) => rho * x + t;
        double exact = 1 / (1 - rho);
        var oneStep = Derivative(F, 1.0, 0.0, 1e-14, 2000, FixedPointMode.OneStep);
        var implicitD = Derivative(F, 1.0, 0.0, 1e-14, 2000, FixedPointMode.Implicit);
        Assert.Equal(rho / (1 - rho), exact - oneStep.Reverse, 10);
        Assert.Equal(rho / (1 - rho), exact - oneStep.Forward, 10);
        Assert.Equal(exact, implicitD.Reverse, 10);
        Assert.Equal(exact, implicitD.Forward, 10);
    }

    [Fact]
    public void NewtonOneStepErrorTracksThePreviousIterate()
    {
        // F(x, θ) = (x + θ/x)/2 for x² = θ, θ = 4, x₀ = 3; exact derivative 1/(2√θ) = 0.25.
        Node F(Node x, Node t) => 0.5 * (x + t / x);
        double[] expected = [8.3e-2, 1.9e-2, 8.0e-4, 1.3e-6];
        double xPrev = 3;
        for (int k = 1; k <= 4; k++)
        {
            var r = Derivative(F, 4.0, 3.0, 0.0, k, FixedPointMode.OneStep, require: false);
            double error = Math.Abs(r.Reverse - 0.25);
            // One-step derivative 1/(2x_(k−1)); its error |2 − x_(k−1)|/(4x_(k−1)) ≈ |x_(k−1) − 2|/8 near the root.
            Assert.Equal(Math.Abs(2 - xPrev) / (4 * xPrev), error, 12);
            Assert.InRange(error, expected[k - 1] * 0.9, expected[k - 1] * 1.1);
            Assert.Equal(r.Reverse, r.Forward, 14);
            xPrev = r.Value;
        }
    }

    [Fact]
    public void HalfSineFixedPointAndItsDerivatives()
    {
        Node F(Node x, Node t) => 0.5 * Fn.Sin(x) + t;
        var implicitD = Derivative(F, 1.0, 0.0, 1e-15, 500, FixedPointMode.Implicit);
        var unrolled = Derivative(F, 1.0, 0.0, 1e-15, 500, FixedPointMode.Unrolled);
        var oneStep = Derivative(F, 1.0, 0.0, 1e-15, 500, FixedPointMode.OneStep);
        Assert.Equal(1.498701133518, implicitD.Value, 12);
        Assert.Equal(1.037362021894, implicitD.Reverse, 12);
        Assert.Equal(1.037362021894, implicitD.Forward, 12);
        Assert.Equal(0.037362021894, implicitD.Reverse - oneStep.Reverse, 12);
        Assert.InRange(Math.Abs(unrolled.Reverse - implicitD.Reverse), 0, 1e-10);
        Assert.InRange(Math.Abs(unrolled.Forward - implicitD.Forward), 0, 1e-10);
        Assert.True(implicitD.Problem.LastIterations > 10);
        Assert.InRange(implicitD.Problem.LastResidual, 0, 1e-15);
    }

    [Fact]
    public void NonConvergenceIsAnErrorNotASilentResult()
    {
        Node F(Node x, Node t) => 2.0 * x + t; // expanding: diverges
        var e = Assert.Throws<FixedPointException>(() => Derivative(F, 1.0, 0.0, 1e-12, 50, FixedPointMode.Implicit));
        Assert.Contains("did not converge in 50 iterations", e.Message);
    }

    [Fact]
    public void ReverseModeMemoryOfImplicitAndOneStepDoesNotGrowWithIterations()
    {
        // A vector fixed point x = ρ x + θ with a slowly contracting ρ; the iteration count is set by maxIterations.
        long Peak(FixedPointMode mode, int iterations)
        {
            var g = Tracer.Function(xs =>
            {
                var x0 = Fn.Zeros(xs[0].Graph, xs[0].Shape);
                var r = FixedPoint.Solve((x, t) => 0.999 * x + t, xs[0], x0, 0.0, iterations, mode, requireConvergence: false);
                return Fn.Sum(r.Value);
            }, [new Shape(4096)]);
            var exe = Executable.Compile(Vjp.Grad(g));
            exe.Run(NDArray.Ones<double>(new Shape(4096)));
            return exe.LastRun.PeakLiveBytes;
        }
        foreach (var mode in new[] { FixedPointMode.Implicit, FixedPointMode.OneStep })
            Assert.Equal(Peak(mode, 10), Peak(mode, 100));
        Assert.True(Peak(FixedPointMode.Unrolled, 100) > 5 * Peak(FixedPointMode.Unrolled, 10));
    }
}

public class FixedPointCompositionTests
{
    // x* = ½ tanh(A x*) + θ elementwise-coupled through A, inside a larger function of θ.
    private static readonly NDArray<double> A = NDArray.RandomNormal<double>(new Shape(3, 3), 5);

    private static Node Outer(Node theta, FixedPointMode mode)
    {
        var a = theta.Graph.Constant(A);
        var r = FixedPoint.Solve((x, t) => 0.5 * Fn.Tanh(Fn.MatMul(a, x)) * 0.5 + t, theta, Fn.Zeros(theta.Graph, theta.Shape), 1e-14, 500, mode);
        return Fn.Sum(Fn.Sin(r.Value) * theta);
    }

    [Theory]
    [InlineData(FixedPointMode.Implicit)]
    [InlineData(FixedPointMode.Unrolled)]
    public void GradientThroughAFixedPointInsideALargerGraphMatchesFiniteDifferences(FixedPointMode mode)
    {
        var theta = NDArray.RandomNormal<double>(new Shape(3, 1), 6);
        var g = Tracer.Function(xs => Outer(xs[0], mode), [theta.Shape]);
        var grad = (NDArray<double>)Executable.Compile(Vjp.Grad(g)).Run(theta)[1];
        var f = Executable.Compile(g);
        double h = 1e-6;
        for (int i = 0; i < 3; i++)
        {
            var plus = theta.Clone(); plus.Data[i] += h;
            var minus = theta.Clone(); minus.Data[i] -= h;
            double fd = (((NDArray<double>)f.Run(plus)[0]).Data[0] - ((NDArray<double>)f.Run(minus)[0]).Data[0]) / (2 * h);
            Assert.Equal(fd, grad.Data[i], 7);
        }
    }

    [Theory]
    [InlineData(FixedPointMode.Implicit)]
    [InlineData(FixedPointMode.Unrolled)]
    public void ForwardModeWithSeveralDirectionsAtOnceMatchesReverseMode(FixedPointMode mode)
    {
        var theta = NDArray.RandomNormal<double>(new Shape(3, 1), 7);
        var g = Tracer.Function(xs => Outer(xs[0], mode), [theta.Shape]);
        var grad = (NDArray<double>)Executable.Compile(Vjp.Grad(g)).Run(theta)[1];
        var basis = new NDArray<double>(new Shape(3, 3, 1));
        for (int i = 0; i < 3; i++) basis[i, i, 0] = 1;
        var jvp = (NDArray<double>)Executable.Compile(Jvp.Transform(g, new Shape(3))).Run(theta, basis)[1];
        for (int i = 0; i < 3; i++) Assert.Equal(grad.Data[i], jvp.Data[i], 12);
    }

    [Fact]
    public void SecondOrderTaylorModeThroughAFixedPointIsRefusedClearly()
    {
        var g = Tracer.Function(xs => Outer(xs[0], FixedPointMode.Implicit), [new Shape(3, 1)]);
        var e = Assert.Throws<NotSupportedException>(() => Jet.Transform(g, 2));
        Assert.Contains("fixed_point", e.Message);
    }

    [Fact]
    public void StepFunctionsMayCaptureConstantsButNotOtherNodes()
    {
        var ok = Tracer.Function(xs =>
        {
            var c = xs[0].Graph.Constant(NDArray.Full(new Shape(2), 0.25));
            return FixedPoint.Solve((x, t) => c * x + t, xs[0], Fn.Zeros(xs[0].Graph, new Shape(2)), 1e-14, 200, FixedPointMode.Implicit).Value;
        }, [new Shape(2)]);
        var value = (NDArray<double>)Executable.Compile(ok).Run(NDArray.Ones<double>(new Shape(2)))[0];
        Assert.Equal(1 / 0.75, value.Data[0], 12);

        var e = Assert.Throws<ArgumentException>(() => Tracer.Function(xs =>
        {
            var outer = Fn.Sin(xs[0]);
            return FixedPoint.Solve((x, t) => outer * x + t, xs[0], Fn.Zeros(xs[0].Graph, new Shape(2)), 1e-14, 200, FixedPointMode.Implicit).Value;
        }, [new Shape(2)]));
        Assert.Contains("another graph", e.Message);
    }
}
