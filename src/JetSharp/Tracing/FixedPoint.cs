using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Control;

namespace JetSharp.Tracing;

/// <summary>A fixed point in a graph: its value node and the problem, which reports iterations and residual after a run.</summary>
public sealed record FixedPointResult(Node Value, FixedPointProblem Problem);

/// <summary>Fixed points x* = F(x*, θ) inside a traced function, differentiable with respect to θ.</summary>
public static class FixedPoint
{
    /// <summary>
    /// x* = F(x*, θ), iterating x_k = F(x_(k−1), θ) from x₀ until max|x_k − x_(k−1)| ≤ tolerance, at most
    /// <paramref name="maxIterations"/> applications of F. The result is then checked: F is applied once more
    /// and max|F(x, θ) − x| must also be within the tolerance (a map that does not contract can take a small
    /// step away from a point that is not a fixed point). Without convergence, or when that check fails,
    /// running the graph throws <see cref="FixedPointException"/> naming the iteration count and the residual,
    /// unless <paramref name="requireConvergence"/> is false (then exactly the iterations run are used, e.g.
    /// to study k steps of a method, and nothing is checked). The derivative with respect to θ follows
    /// <paramref name="mode"/>, in forward and reverse mode; x₀ is a constant. Taylor mode is first order
    /// only (JVP), except in <see cref="FixedPointMode.OneStep"/> mode.
    /// </summary>
    /// <param name="f">F(x, θ), traced once for the shapes of <paramref name="x0"/> and <paramref name="theta"/>; it must return a node of x's shape.</param>
    /// <param name="theta">The parameters, a node of the graph being traced.</param>
    /// <param name="x0">The starting iterate, a node of the same graph.</param>
    /// <param name="tolerance">Convergence threshold on max|x_k − x_(k−1)| and on max|F(x, θ) − x|: finite and &gt; 0.
    /// 0 is accepted only with <paramref name="requireConvergence"/> false, where it runs exactly <paramref name="maxIterations"/> steps.</param>
    /// <param name="maxIterations">The most applications of F in the iteration (≥ 1); the check adds one. In one-step mode the
    /// last application is the differentiated one, and the check is made on the iterate before it.</param>
    /// <param name="mode">How the derivative with respect to θ is computed: a defined <see cref="FixedPointMode"/>.</param>
    /// <param name="requireConvergence">Whether a run that reaches <paramref name="maxIterations"/> unconverged, or whose result fails the check, throws.</param>
    /// <exception cref="ArgumentNullException"><paramref name="f"/>, <paramref name="theta"/> or <paramref name="x0"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tolerance"/> is NaN, infinite, negative, or 0 while convergence is
    /// required; <paramref name="maxIterations"/> &lt; 1; or <paramref name="mode"/> is not a defined <see cref="FixedPointMode"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="theta"/> and <paramref name="x0"/> belong to different graphs.</exception>
    /// <exception cref="ShapeException">F does not return a node of x's shape.</exception>
    public static FixedPointResult Solve(Func<Node, Node, Node> f, Node theta, Node x0, double tolerance, int maxIterations,
        FixedPointMode mode, bool requireConvergence = true)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(x0);
        if (!double.IsFinite(tolerance) || tolerance < 0 || (tolerance == 0 && requireConvergence))
            throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance,
                $"FixedPoint: tolerance must be finite and > 0 (0 only with requireConvergence: false, to run exactly maxIterations steps), got {tolerance}.");
        if (maxIterations < 1)
            throw new ArgumentOutOfRangeException(nameof(maxIterations), maxIterations, $"FixedPoint: maxIterations must be ≥ 1, got {maxIterations}.");
        if (!Enum.IsDefined(mode))
            throw new ArgumentOutOfRangeException(nameof(mode), mode,
                $"FixedPoint: mode {(int)mode} is not a FixedPointMode (expected {string.Join(", ", Enum.GetNames<FixedPointMode>())}).");
        if (theta.Graph != x0.Graph) throw new ArgumentException("FixedPoint: θ and x₀ belong to different graphs.");
        var fGraph = Tracer.Function(xs => [f(xs[0], xs[1])], [x0.Shape, theta.Shape], x0.DType, ["x", "theta"]);
        if (fGraph.Outputs[0].Shape != x0.Shape)
            throw new ShapeException($"FixedPoint: F maps x {x0.Shape} to {fGraph.Outputs[0].Shape}; a fixed point needs F(x, θ) of x's shape.");
        var problem = new FixedPointProblem(fGraph, tolerance, maxIterations, requireConvergence);
        var g = x0.Graph;
        if (mode != FixedPointMode.OneStep)
            return new(g.Apply(new FixedPointOp(problem, mode, maxIterations), x0, theta), problem);
        // One-step: iterate without derivatives, then apply F once more; only that application is differentiated.
        var settled = g.Apply(new FixedPointOp(problem, mode, maxIterations - 1), x0, theta);
        var last = Transforms.Inline.Apply(fGraph, [g.Apply(StopGradientOp.Instance, settled), theta])[0];
        return new(last, problem);
    }
}
