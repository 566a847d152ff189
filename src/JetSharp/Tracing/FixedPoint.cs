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
    /// <paramref name="maxIterations"/> applications of F. Without convergence it throws
    /// <see cref="FixedPointException"/>, unless <paramref name="requireConvergence"/> is false (then exactly
    /// the iterations run are used, e.g. to study k steps of a method). The derivative with respect to θ
    /// follows <paramref name="mode"/>, in forward and reverse mode; x₀ is a constant. Taylor mode is
    /// first order only (JVP), except in <see cref="FixedPointMode.OneStep"/> mode.
    /// </summary>
    /// <param name="f">F(x, θ), traced once for the shapes of <paramref name="x0"/> and <paramref name="theta"/>; it must return a node of x's shape.</param>
    /// <param name="theta">The parameters, a node of the graph being traced.</param>
    /// <param name="x0">The starting iterate, a node of the same graph.</param>
    /// <param name="tolerance">Convergence threshold on max|x_k − x_(k−1)| (≥ 0).</param>
    /// <param name="maxIterations">The most applications of F (≥ 1).</param>
    /// <param name="mode">How the derivative with respect to θ is computed.</param>
    /// <param name="requireConvergence">Whether a run that reaches <paramref name="maxIterations"/> unconverged throws.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tolerance"/> is negative or NaN, or <paramref name="maxIterations"/> &lt; 1.</exception>
    /// <exception cref="ArgumentException"><paramref name="theta"/> and <paramref name="x0"/> belong to different graphs.</exception>
    /// <exception cref="ShapeException">F does not return a node of x's shape.</exception>
    public static FixedPointResult Solve(Func<Node, Node, Node> f, Node theta, Node x0, double tolerance, int maxIterations,
        FixedPointMode mode, bool requireConvergence = true)
    {
        if (tolerance < 0 || double.IsNaN(tolerance)) throw new ArgumentOutOfRangeException(nameof(tolerance), $"FixedPoint: tolerance must be ≥ 0, got {tolerance}.");
        if (maxIterations < 1) throw new ArgumentOutOfRangeException(nameof(maxIterations), $"FixedPoint: maxIterations must be ≥ 1, got {maxIterations}.");
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
