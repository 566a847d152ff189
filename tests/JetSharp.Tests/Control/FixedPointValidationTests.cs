using JetSharp.Runtime;
using JetSharp.Transforms;

namespace JetSharp.Tests;

/// <summary>
/// Issue 15, defect 5: settings that cannot give a fixed point are refused when the graph is built, and what
/// a run returns is checked to be a fixed point within the tolerance, or the run fails naming the iterations
/// and the residual.
/// </summary>
public class FixedPointValidationTests
{
    private static Graph Trace(Func<Node, Node, Node> f, double x0, double tol, int maxIt, FixedPointMode mode, bool require = true) =>
        Tracer.Function(xs => FixedPoint.Solve(f, xs[0], xs[0].Graph.Constant(NDArray.Scalar(x0)), tol, maxIt, mode, require).Value, [Shape.Scalar]);

    private static Node Expanding(Node x, Node t) => 2.0 * x + t;     // fixed point −θ, repelling
    private static Node Contracting(Node x, Node t) => 0.5 * x + t;   // fixed point 2θ

    [Theory]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NaN)]
    [InlineData(-1e-6)]
    [InlineData(0.0)]
    public void ToleranceMustBeFiniteAndPositive(double tolerance)
    {
        // Before: +∞ accepted the first iterate of x = 2x + θ (1 for θ = 1, x₀ = 0) with dx/dθ = −1.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Trace(Expanding, 0, tolerance, 50, FixedPointMode.Implicit));
        Assert.Equal("tolerance", e.ParamName);
        Assert.Contains("finite and > 0", e.Message);
    }

    [Fact]
    public void ZeroToleranceRunsExactlyMaxIterationsWhenConvergenceIsNotRequired()
    {
        var g = Trace(Contracting, 0, 0.0, 3, FixedPointMode.Implicit, require: false);
        // x₃ of x ← x/2 + 1 from 0: 1, 1.5, 1.75.
        Assert.Equal(1.75, ((NDArray<double>)Executable.Compile(g).Run(NDArray.Scalar(1.0))[0]).Data[0], 15);
    }

    [Theory]
    [InlineData(9)]
    [InlineData(-1)]
    public void UndefinedModesAreRefused(int mode)
    {
        // Before: (FixedPointMode)9 fell through to "no derivative", a silent dx/dθ = 0.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Trace(Contracting, 0, 1e-12, 100, (FixedPointMode)mode));
        Assert.Equal("mode", e.ParamName);
        Assert.Contains("not a FixedPointMode", e.Message);
    }

    [Fact]
    public void MaxIterationsMustBePositive()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Trace(Contracting, 0, 1e-12, 0, FixedPointMode.Implicit));
        Assert.Equal("maxIterations", e.ParamName);
    }

    [Fact]
    public void NullArgumentsAreRefused()
    {
        Assert.Throws<ArgumentNullException>(() => Tracer.Function(xs => FixedPoint.Solve(null!, xs[0], xs[0], 1e-9, 10, FixedPointMode.Implicit).Value, [Shape.Scalar]));
        Assert.Throws<ArgumentNullException>(() => Tracer.Function(xs => FixedPoint.Solve(Contracting, null!, xs[0], 1e-9, 10, FixedPointMode.Implicit).Value, [Shape.Scalar]));
        Assert.Throws<ArgumentNullException>(() => Tracer.Function(xs => FixedPoint.Solve(Contracting, xs[0], null!, 1e-9, 10, FixedPointMode.Implicit).Value, [Shape.Scalar]));
    }

    [Theory]
    [InlineData(FixedPointMode.Implicit)]
    [InlineData(FixedPointMode.Unrolled)]
    [InlineData(FixedPointMode.OneStep)]
    public void ASmallStepAwayFromAPointThatIsNotAFixedPointIsAnError(FixedPointMode mode)
    {
        // x ← 2x + θ from x₀ = −θ + 0.75·tol: the first step has length 0.75·tol ≤ tol, but the iterate it reaches,
        // −θ + 1.5·tol, has residual |F(x) − x| = 3·tol. Before: returned silently as "the fixed point".
        const double tol = 1e-3, theta = 1.0;
        var g = Trace(Expanding, -theta + 0.75 * tol, tol, 50, mode);
        var e = Assert.Throws<FixedPointException>(() => Executable.Compile(g).Run(NDArray.Scalar(theta)));
        Assert.Contains("not a fixed point", e.Message);
        Assert.Contains("after 1 iterations", e.Message);
        Assert.Contains("F does not contract", e.Message);
    }

    [Fact]
    public void OneStepWithASingleApplicationChecksThatTheStartIsAlreadyConverged()
    {
        // maxIterations = 1 in one-step mode is F applied once to x₀: accepted only when x₀ is a fixed point within the tolerance.
        var far = Trace(Contracting, 0, 1e-9, 1, FixedPointMode.OneStep);
        var e = Assert.Throws<FixedPointException>(() => Executable.Compile(far).Run(NDArray.Scalar(1.0)));
        Assert.Contains("max|F(x, θ) − x| = 1", e.Message);

        // Started at the fixed point 2θ: value 2θ, one-step derivative ∂_θF = 1 (the implicit one is 2).
        var at = Trace(Contracting, 2.0, 1e-9, 1, FixedPointMode.OneStep);
        var grad = Executable.Compile(Vjp.Grad(at)).Run(NDArray.Scalar(1.0));
        Assert.Equal(2.0, ((NDArray<double>)grad[0]).Data[0], 15);
        Assert.Equal(1.0, ((NDArray<double>)grad[1]).Data[0], 15);
    }

    [Fact]
    public void TheReportedResidualIsThatOfTheReturnedPoint()
    {
        FixedPointProblem? problem = null;
        var g = Tracer.Function(xs =>
        {
            var r = FixedPoint.Solve(Contracting, xs[0], xs[0].Graph.Constant(NDArray.Scalar(0.0)), 1e-6, 100, FixedPointMode.Implicit);
            problem = r.Problem;
            return r.Value;
        }, [Shape.Scalar]);
        double x = ((NDArray<double>)Executable.Compile(g).Run(NDArray.Scalar(1.0))[0]).Data[0];
        // x ← x/2 + 1 from 0: x_k = 2 − 2^(1−k); the first step ≤ 1e-6 is step 21 (2^−20), so x = x₂₁.
        Assert.Equal(21, problem!.LastIterations);
        Assert.Equal(2 - Math.Pow(2, -20), x, 15);
        Assert.Equal(Math.Abs(0.5 * x + 1 - x), problem.LastResidual, 15);
    }
}
