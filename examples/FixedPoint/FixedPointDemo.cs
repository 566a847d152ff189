using System.Diagnostics;
using JetSharp.Runtime;
// Inside JetSharp.Examples.FixedPoint the bare name FixedPoint means this namespace; the solver is the core's.
using CoreFixedPoint = JetSharp.Tracing.FixedPoint;

namespace JetSharp.Examples.FixedPoint;

/// <summary>The fixed-point solver of <see cref="FixedPointDemo"/>.</summary>
public enum FixedPointSolver
{
    /// <summary>Newton's method (superlinear convergence).</summary>
    Newton,

    /// <summary>Gradient descent with unit step (linear convergence).</summary>
    GradientDescent,
}

/// <summary>One hypergradient: its value, the solver's iterations, the wall time of one gradient run and its peak live bytes.</summary>
/// <param name="Value">dV/dλ.</param>
/// <param name="Iterations">Iterations the solver took in the last run.</param>
/// <param name="Seconds">Wall time of one run of the compiled gradient (after a warm-up).</param>
/// <param name="PeakBytes">Peak live tensor bytes of that run.</param>
public readonly record struct HypergradientResult(double Value, int Iterations, double Seconds, long PeakBytes);

/// <summary>One row of the comparison: solver, differentiation mode and result, with its error against the reference.</summary>
/// <param name="Solver">The fixed-point solver.</param>
/// <param name="Mode">How the fixed point is differentiated.</param>
/// <param name="Result">The hypergradient and its cost.</param>
/// <param name="Error">|dV/dλ − reference|.</param>
public sealed record FixedPointRow(FixedPointSolver Solver, FixedPointMode Mode, HypergradientResult Result, double Error);

/// <summary>Outcome of <see cref="FixedPointDemo.Run"/>.</summary>
/// <param name="Points">Training (and validation) points.</param>
/// <param name="Lambda">The regularisation weight λ.</param>
/// <param name="Reference">dV/dλ by Newton to 10⁻¹⁴ with the implicit derivative.</param>
/// <param name="Rows">Every solver × mode, Newton first, modes in the order unrolled, implicit, one-step.</param>
public sealed record FixedPointDemoResult(int Points, double Lambda, double Reference, IReadOnlyList<FixedPointRow> Rows);

/// <summary>
/// Hypergradient of an L2-regularised logistic regression: w*(λ) = argmin_w L(w) + λ/2‖w‖², and the
/// derivative of a validation loss V(w*(λ)) with respect to λ, with w* found by Newton's method
/// (superlinear) and by gradient descent (linear), each differentiated unrolled, implicitly and by one step.
/// </summary>
public static class FixedPointDemo
{
    /// <summary>Every solver with every mode on <paramref name="points"/> seeded training and validation points; <paramref name="onRow"/> is called as each row is done.</summary>
    public static FixedPointDemoResult Run(int points = 200, double lambda = 0.05, Action<FixedPointRow>? onRow = null)
    {
        if (points < 1) throw new ArgumentException($"--data must be at least 1, got {points}.");
        var (xTrain, yTrain) = Data(points, seed: 1);
        var (xVal, yVal) = Data(points, seed: 2);
        var reference = Hypergradient(FixedPointSolver.Newton, FixedPointMode.Implicit, xTrain, yTrain, xVal, yVal, lambda, 1e-14, 100).Value;
        var rows = new List<FixedPointRow>();
        foreach (var solver in new[] { FixedPointSolver.Newton, FixedPointSolver.GradientDescent })
            foreach (var mode in new[] { FixedPointMode.Unrolled, FixedPointMode.Implicit, FixedPointMode.OneStep })
            {
                int maxIt = solver == FixedPointSolver.Newton ? 50 : 20000;
                var r = Hypergradient(solver, mode, xTrain, yTrain, xVal, yVal, lambda, 1e-10, maxIt);
                var row = new FixedPointRow(solver, mode, r, Math.Abs(r.Value - reference));
                rows.Add(row);
                onRow?.Invoke(row);
            }
        return new FixedPointDemoResult(points, lambda, reference, rows);
    }

    /// <summary>dV/dλ by reverse mode through the fixed point of the chosen solver.</summary>
    public static HypergradientResult Hypergradient(FixedPointSolver solver, FixedPointMode mode, NDArray<double> x, NDArray<double> y,
        NDArray<double> xVal, NDArray<double> yVal, double lambda, double tolerance, int maxIterations)
    {
        FixedPointProblem? problem = null;
        var g = Tracer.Function(inputs =>
        {
            var lam = inputs[0];
            var graph = lam.Graph;
            var (cx, cy) = (graph.Constant(x), graph.Constant(y));
            Node Step(Node w, Node l) => solver == FixedPointSolver.Newton ? NewtonStep(w, l, cx, cy) : w - Gradient(w, l, cx, cy);
            var r = CoreFixedPoint.Solve(Step, lam, Fn.Zeros(graph, new Shape(2, 1)), tolerance, maxIterations, mode);
            problem = r.Problem;
            return Loss(r.Value, graph.Constant(xVal), graph.Constant(yVal));
        }, [Shape.Scalar]);
        var exe = Executable.Compile(Vjp.Grad(g));
        exe.Run(NDArray.Scalar(lambda));
        var clock = Stopwatch.StartNew();
        var outs = exe.Run(NDArray.Scalar(lambda));
        double seconds = clock.Elapsed.TotalSeconds;
        return new(((NDArray<double>)outs[1]).Data[0], problem!.LastIterations, seconds, exe.LastRun.PeakLiveBytes);
    }

    /// <summary>Mean logistic loss (labels ±1) of weights w [2, 1] on data X [N, 2].</summary>
    public static Node Loss(Node w, Node x, Node y) => Fn.Mean(Fn.Softplus(-(y * Fn.MatMul(x, w))));

    /// <summary>∇_w of Loss + λ/2‖w‖².</summary>
    public static Node Gradient(Node w, Node lambda, Node x, Node y)
    {
        int n = x.Shape[0];
        var s = Fn.Sigmoid(-(y * Fn.MatMul(x, w)));                       // [N, 1]
        return Fn.MatMul(x, y * s, transposeA: true) * (-1.0 / n) + lambda * w;
    }

    /// <summary>w − H⁻¹∇ with the 2×2 Hessian H = Xᵀ diag(σ(m)σ(−m)) X / N + λI inverted in closed form.</summary>
    public static Node NewtonStep(Node w, Node lambda, Node x, Node y)
    {
        int n = x.Shape[0];
        var g = Gradient(w, lambda, x, y);
        var s = Fn.Sigmoid(-(y * Fn.MatMul(x, w)));
        var h = Fn.MatMul(x * (s * (1.0 - s)), x, transposeA: true) * (1.0 / n);   // [2, 2]
        Node At(int i, int j) => Fn.Reshape(Fn.Slice(h, [i, j], [1, 1]), 1);
        var (a, b, c) = (At(0, 0) + lambda, At(0, 1), At(1, 1) + lambda);
        var (g0, g1) = (Fn.Reshape(Fn.Slice(g, 0, 0, 1), 1), Fn.Reshape(Fn.Slice(g, 0, 1, 1), 1));
        var det = a * c - b * b;
        var step = Fn.Concat(0, (c * g0 - b * g1) / det, (a * g1 - b * g0) / det);
        return w - Fn.Reshape(step, 2, 1);
    }

    /// <summary>Seeded data: x = (1, t) with t ~ N(0, 1), labels ±1 from a noisy threshold.</summary>
    public static (NDArray<double> X, NDArray<double> Y) Data(int n, long seed)
    {
        var t = NDArray.RandomNormal<double>(new Shape(n), seed);
        var noise = NDArray.RandomNormal<double>(new Shape(n), seed + 1000);
        var x = new NDArray<double>(new Shape(n, 2));
        var y = new NDArray<double>(new Shape(n, 1));
        for (int i = 0; i < n; i++)
        {
            x[i, 0] = 1;
            x[i, 1] = t.Data[i];
            y[i, 0] = 1.5 * t.Data[i] - 0.3 + noise.Data[i] > 0 ? 1 : -1;
        }
        return (x, y);
    }
}
