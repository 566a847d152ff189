using System.Diagnostics;
using JetSharp.Primitives;
using JetSharp.Runtime;
using JetSharp.Transforms;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary>
/// Hypergradient of an L2-regularised logistic regression: w*(λ) = argmin_w L(w) + λ/2‖w‖², and the
/// derivative of a validation loss V(w*(λ)) with respect to λ, with w* found by Newton's method
/// (superlinear) and by gradient descent (linear), each differentiated unrolled, implicitly and by one step.
/// </summary>
public static class FixedPointCommand
{
    public static int Run(Args args)
    {
        int n = args.Int("data", 200);
        double lambda = 0.05;
        var (xTrain, yTrain) = Data(n, seed: 1);
        var (xVal, yVal) = Data(n, seed: 2);
        AnsiConsole.Write(new Rule("[bold]Differentiating a fixed point: logistic-regression hypergradient dV/dλ[/]").LeftJustified());
        AnsiConsole.MarkupLine($"{n} training and {n} validation points, 2 weights (intercept, slope), λ = {lambda}");

        var reference = Hypergradient(Solver.Newton, FixedPointMode.Implicit, xTrain, yTrain, xVal, yVal, lambda, 1e-14, 100).Value;
        var table = new Table().Border(TableBorder.Rounded).AddColumns("solver", "mode", "iterations", "dV/dλ", "|error|", "time", "peak memory");
        foreach (var solver in new[] { Solver.Newton, Solver.GradientDescent })
            foreach (var mode in new[] { FixedPointMode.Unrolled, FixedPointMode.Implicit, FixedPointMode.OneStep })
            {
                int maxIt = solver == Solver.Newton ? 50 : 20000;
                var r = Hypergradient(solver, mode, xTrain, yTrain, xVal, yVal, lambda, 1e-10, maxIt);
                table.AddRow(solver.ToString(), mode.ToString(), r.Iterations.ToString(), r.Value.ToString("G12"),
                    Math.Abs(r.Value - reference).ToString("0.0e0"), Measure.Time(r.Seconds), Measure.Bytes(r.PeakBytes));
            }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"Reference: Newton to 1e-14 with the implicit derivative, dV/dλ = {reference:G12}. " +
            "One-step differentiation is accurate for Newton (superlinear) and not for gradient descent (linear); " +
            "unrolled memory grows with the iterations, implicit and one-step memory does not.");
        return 0;
    }

    public enum Solver { Newton, GradientDescent }

    public readonly record struct Result(double Value, int Iterations, double Seconds, long PeakBytes);

    /// <summary>dV/dλ by reverse mode through the fixed point of the chosen solver.</summary>
    public static Result Hypergradient(Solver solver, FixedPointMode mode, Tensor<double> x, Tensor<double> y,
        Tensor<double> xVal, Tensor<double> yVal, double lambda, double tolerance, int maxIterations)
    {
        FixedPointProblem? problem = null;
        var g = Trace.Function(inputs =>
        {
            var lam = inputs[0];
            var graph = lam.Graph;
            var (cx, cy) = (graph.Constant(x), graph.Constant(y));
            Node Step(Node w, Node l) => solver == Solver.Newton ? NewtonStep(w, l, cx, cy) : w - Gradient(w, l, cx, cy);
            var r = FixedPoint.Solve(Step, lam, Fn.Zeros(graph, new Shape(2, 1)), tolerance, maxIterations, mode);
            problem = r.Problem;
            return Loss(r.Value, graph.Constant(xVal), graph.Constant(yVal));
        }, [Shape.Scalar]);
        var exe = Executable.Compile(Vjp.Grad(g));
        exe.Run(Tensor.Scalar(lambda));
        var clock = Stopwatch.StartNew();
        var outs = exe.Run(Tensor.Scalar(lambda));
        double seconds = clock.Elapsed.TotalSeconds;
        return new(((Tensor<double>)outs[1]).Data[0], problem!.LastIterations, seconds, exe.LastRun.PeakLiveBytes);
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
    public static (Tensor<double> X, Tensor<double> Y) Data(int n, long seed)
    {
        var t = Tensor.RandomNormal<double>(new Shape(n), seed);
        var noise = Tensor.RandomNormal<double>(new Shape(n), seed + 1000);
        var x = new Tensor<double>(new Shape(n, 2));
        var y = new Tensor<double>(new Shape(n, 1));
        for (int i = 0; i < n; i++)
        {
            x[i, 0] = 1;
            x[i, 1] = t.Data[i];
            y[i, 0] = 1.5 * t.Data[i] - 0.3 + noise.Data[i] > 0 ? 1 : -1;
        }
        return (x, y);
    }
}
