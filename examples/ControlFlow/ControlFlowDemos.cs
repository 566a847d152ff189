using JetSharp.Runtime;

namespace JetSharp.Examples.ControlFlow;

/// <summary>One point of <see cref="PiecewiseLaplacianDemo"/>: which side, the closed form, and the largest error over the three strategies.</summary>
/// <param name="Point">The point x.</param>
/// <param name="Inside">Whether |x| &lt; 1 (the sin(r²) branch).</param>
/// <param name="Exact">Δf in closed form.</param>
/// <param name="MaxError">max over strategies of |Δf − exact| / max(1, |exact|).</param>
public sealed record PiecewiseRow(double[] Point, bool Inside, double Exact, double MaxError);

/// <summary>
/// A piecewise-defined function through <c>cond</c>: f(x) = sin(r²) inside the unit ball and r⁴ outside
/// (r² = Σx²). Its Laplacian by each strategy against the closed forms 2D cos r² − 4r² sin r² and 4(D + 2) r².
/// The predicate 1 − r² is a single element, so each point is evaluated as a batch of one.
/// </summary>
public static class PiecewiseLaplacianDemo
{
    /// <summary>f for one point x [1, D].</summary>
    public static Node F(Node x) =>
        Tracer.Cond(1.0 - Fn.Sum(x * x), a => Fn.Sin(Fn.Sum(a[0] * a[0], 1)), a => Fn.Square(Fn.Sum(a[0] * a[0], 1)), x);

    /// <summary>Δf in closed form.</summary>
    public static double Exact(double[] x)
    {
        double r2 = x.Sum(v => v * v);
        return r2 < 1 ? 2 * x.Length * Math.Cos(r2) - 4 * r2 * Math.Sin(r2) : 4 * (x.Length + 2) * r2;
    }

    /// <summary>Δf at <paramref name="points"/> seeded points in dimension <paramref name="dimension"/>, half inside the ball and half outside.</summary>
    public static IReadOnlyList<PiecewiseRow> Run(int points = 6, int dimension = 4, long seed = 7)
    {
        var rows = new List<PiecewiseRow>();
        var directions = NDArray.RandomNormal<double>(new Shape(points, dimension), seed);
        for (int p = 0; p < points; p++)
        {
            var v = Enumerable.Range(0, dimension).Select(d => directions[p, d]).ToArray();
            double norm = Math.Sqrt(v.Sum(c => c * c));
            double radius = p % 2 == 0 ? 0.3 + 0.1 * p / points : 1.2 + 0.2 * p / points;
            var x = v.Select(c => c / norm * radius).ToArray();
            var input = NDArray.FromArray(x, new Shape(1, dimension));
            double exact = Exact(x), error = 0;
            foreach (var strategy in Strategy.All)
                error = Math.Max(error, Math.Abs(Pde.Laplacian(F, input, strategy).Data[0] - exact) / Math.Max(1, Math.Abs(exact)));
            rows.Add(new(x, radius < 1, exact, error));
        }
        return rows;
    }
}

/// <summary>The derivatives of <see cref="NewtonInModelDemo"/> and their largest relative errors.</summary>
/// <param name="Iterations">Newton iterations the while loop made.</param>
/// <param name="GradientVsImplicit">∇u through the while loop against the fixed-point primitive's implicit gradient.</param>
/// <param name="GradientVsExact">∇u through the while loop against the closed form.</param>
/// <param name="LaplacianVsExact">Δu (every strategy) against the closed form.</param>
/// <param name="LaplacianVsImplicitDifferences">Δu against central differences of the implicit gradient.</param>
/// <param name="HvpVsExact">∇²u·v (forward over reverse through the loop) against the closed form.</param>
/// <param name="HvpVsImplicitDifferences">∇²u·v (forward over reverse through the loop) against central differences of the implicit gradient.</param>
public sealed record NewtonDemoResult(int Iterations, double GradientVsImplicit, double GradientVsExact, double LaplacianVsExact,
    double LaplacianVsImplicitDifferences, double HvpVsExact, double HvpVsImplicitDifferences);

/// <summary>
/// A model with a Newton solve inside: u(x) = z where z³ + z = a(x), a(x) = Σx² + x₀/2 per point, z found by
/// Newton's method in a traced <c>while</c> loop (until Σ residual² ≤ 10⁻²⁸). Its first and second derivatives
/// are compared with the fixed-point primitive's implicit derivatives (FixedPoint.Solve, implicit mode, on the
/// Newton map) and with the closed forms z' = 1/(3z² + 1), z'' = −6z z'³.
/// </summary>
public static class NewtonInModelDemo
{
    private static Node Residual(Node z, Node a) => z * z * z + z - a;

    /// <summary>a(x) = Σ_d x_d² + x₀/2 for x [N, D] → [N].</summary>
    public static Node A(Node x) => Fn.Sum(x * x, 1) + 0.5 * Fn.Reshape(Fn.Slice(x, 1, 0, 1), x.Shape[0]);

    /// <summary>The root of z³ + z = a by Newton's method in a while loop (starting from 0).</summary>
    public static WhileResult SolveByWhile(Node a) => Tracer.While(
        (c, k) => Fn.Sum(Fn.Square(Residual(c[0], k[0]))) - 1e-28,
        (c, k) => [c[0] - Residual(c[0], k[0]) / (3.0 * c[0] * c[0] + 1.0)],
        [Fn.Zeros(a.Graph, a.Shape)], [a], maxIterations: 100);

    /// <summary>The same root as a fixed point of the Newton map, differentiated implicitly.</summary>
    public static Node SolveByFixedPoint(Node a) => JetSharp.Tracing.FixedPoint.Solve(
        (z, t) => z - Residual(z, t) / (3.0 * z * z + 1.0), a, Fn.Zeros(a.Graph, a.Shape), 1e-14, 100, FixedPointMode.Implicit).Value;

    /// <summary>Runs every comparison at <paramref name="points"/> seeded points in dimension <paramref name="dimension"/>.</summary>
    public static NewtonDemoResult Run(int points = 4, int dimension = 3, long seed = 3)
    {
        var x = NDArray.RandomNormal<double>(new Shape(points, dimension), seed);
        var v = NDArray.RandomNormal<double>(new Shape(points, dimension), seed + 1);
        WhileLoop? loop = null;
        Node U(Node xs) { var r = SolveByWhile(A(xs)); loop = r.Loop; return r.Values[0]; }
        Node UFixed(Node xs) => SolveByFixedPoint(A(xs));

        var grad = Ad.Grad(xs => Fn.Sum(U(xs)), x);
        var gradImplicit = Ad.Grad(xs => Fn.Sum(UFixed(xs)), x);
        int iterations = loop!.LastIterations;

        // Closed forms per point: ∇u = z'∇a, Δu = z''|∇a|² + z'Δa, ∇²u·v = z''(∇a·v)∇a + 2z'v.
        var z = Executable.Compile(Tracer.Function(UFixed, x.Shape)).Run(x)[0];
        var gradExact = new NDArray<double>(x.Shape);
        var lapExact = new NDArray<double>(new Shape(points));
        var hvpExact = new NDArray<double>(x.Shape);
        for (int n = 0; n < points; n++)
        {
            double zn = z.Data[n], z1 = 1 / (3 * zn * zn + 1), z2 = -6 * zn * z1 * z1 * z1;
            var da = Enumerable.Range(0, dimension).Select(d => 2 * x[n, d] + (d == 0 ? 0.5 : 0)).ToArray();
            double daV = Enumerable.Range(0, dimension).Sum(d => da[d] * v[n, d]);
            for (int d = 0; d < dimension; d++)
            {
                gradExact[n, d] = z1 * da[d];
                hvpExact[n, d] = z2 * daV * da[d] + 2 * z1 * v[n, d];
            }
            lapExact.Data[n] = z2 * da.Sum(c => c * c) + z1 * 2 * dimension;
        }

        double lapError = 0;
        foreach (var strategy in Strategy.All) lapError = Math.Max(lapError, RelErr(Pde.Laplacian(U, x, strategy), lapExact));
        var hvp = Ad.Hvp(xs => Fn.Sum(U(xs)), x, v);

        // Central differences of the implicit gradient (the fixed point's derivatives are first order only).
        const double h = 1e-5;
        NDArray<double> ImplicitGrad(NDArray<double> at) => Ad.Grad(xs => Fn.Sum(UFixed(xs)), at);
        NDArray<double> Shift(NDArray<double> at, NDArray<double> dir, double s)
        {
            var r = new NDArray<double>(at.Shape);
            for (int i = 0; i < r.Size; i++) r.Data[i] = at.Data[i] + s * dir.Data[i];
            return r;
        }
        var lapFd = new NDArray<double>(new Shape(points));
        for (int d = 0; d < dimension; d++)
        {
            var e = new NDArray<double>(x.Shape);
            for (int n = 0; n < points; n++) e[n, d] = 1;
            var (plus, minus) = (ImplicitGrad(Shift(x, e, h)), ImplicitGrad(Shift(x, e, -h)));
            for (int n = 0; n < points; n++) lapFd.Data[n] += (plus[n, d] - minus[n, d]) / (2 * h);
        }
        var (gp, gm) = (ImplicitGrad(Shift(x, v, h)), ImplicitGrad(Shift(x, v, -h)));
        var hvpFd = new NDArray<double>(x.Shape);
        for (int i = 0; i < hvpFd.Size; i++) hvpFd.Data[i] = (gp.Data[i] - gm.Data[i]) / (2 * h);

        return new(iterations, RelErr(grad, gradImplicit), RelErr(grad, gradExact), lapError,
            RelErr(Pde.Laplacian(U, x), lapFd), RelErr(hvp, hvpExact), RelErr(hvp, hvpFd));
    }

    /// <summary>max |a − b| / max(1, max |b|).</summary>
    private static double RelErr(NDArray<double> a, NDArray<double> b)
    {
        double m = 0, s = 1;
        for (int i = 0; i < a.Size; i++) { m = Math.Max(m, Math.Abs(a.Data[i] - b.Data[i])); s = Math.Max(s, Math.Abs(b.Data[i])); }
        return m / s;
    }
}

/// <summary>Peak live bytes of one gradient run through a loop written as <c>while</c> (every carry stored, and checkpointed) and as unrolled straight-line code.</summary>
/// <param name="Steps">Trips of the loop.</param>
/// <param name="Width">Size of the carried vector.</param>
/// <param name="WhileBytes">Peak bytes of the gradient through the while loop (its sweep stores one carry per trip).</param>
/// <param name="CheckpointedBytes">The same with a checkpoint every ⌈√steps⌉ trips (<see cref="LoopCheckpointing.SqrtLength"/>).</param>
/// <param name="UnrolledBytes">Peak bytes of the gradient of the unrolled program (the runtime keeps what the backward pass needs).</param>
/// <param name="GradientDifference">max |∇ through while − ∇ unrolled| / max(1, max |∇ unrolled|), the larger of the stored and checkpointed sweeps.</param>
public sealed record WhileMemoryResult(int Steps, int Width, long WhileBytes, long CheckpointedBytes, long UnrolledBytes, double GradientDifference);

/// <summary>Reverse mode through a while loop against the unrolled loop: x ← x + tanh(W x)/steps for a fixed number of steps (the count is the carry's second value).</summary>
public static class WhileMemoryDemo
{
    /// <summary>Measures the three gradients at seeded inputs.</summary>
    public static WhileMemoryResult Run(int steps = 1000, int width = 64, long seed = 11)
    {
        if (steps < 1 || width < 1) throw new ArgumentException($"steps and width must be ≥ 1, got {steps} and {width}.");
        var w = NDArray.RandomNormal<double>(new Shape(width, width), seed);
        var x0 = NDArray.RandomNormal<double>(new Shape(width, 1), seed + 1);
        double h = 1.0 / steps;
        Node Step(Node x, Node wm) => x + h * Fn.Tanh(Fn.MatMul(wm, x) * (1.0 / Math.Sqrt(width)));
        Graph WhileGrad(LoopCheckpointing checkpointing) => Vjp.Grad(Tracer.Function(xs =>
        {
            var r = Tracer.While((c, _) => steps - 0.5 - c[1], (c, k) => [Step(c[0], k[0]), c[1] + 1.0],
                [xs[0], xs[0].Graph.Scalar(0.0)], [xs[1]], maxIterations: steps, checkpointing: checkpointing);
            return Fn.Sum(r.Values[0] * r.Values[0]);
        }, [x0.Shape, w.Shape]));
        var unrolledGrad = Vjp.Grad(Tracer.Function(xs =>
        {
            var x = xs[0];
            for (int i = 0; i < steps; i++) x = Step(x, xs[1]);
            return Fn.Sum(x * x);
        }, [x0.Shape, w.Shape]));
        var (a, c, b) = (Executable.Compile(WhileGrad(LoopCheckpointing.None)), Executable.Compile(WhileGrad(LoopCheckpointing.SqrtLength)), Executable.Compile(unrolledGrad));
        var ga = a.Run(x0, w);
        var gc = c.Run(x0, w);
        var gb = b.Run(x0, w);
        double diff = 0, scale = 1;
        for (int i = 0; i < gb[2].Size; i++)
        {
            diff = Math.Max(diff, Math.Max(Math.Abs(ga[2].Data[i] - gb[2].Data[i]), Math.Abs(gc[2].Data[i] - gb[2].Data[i])));
            scale = Math.Max(scale, Math.Abs(gb[2].Data[i]));
        }
        return new(steps, width, a.LastRun.PeakLiveBytes, c.LastRun.PeakLiveBytes, b.LastRun.PeakLiveBytes, diff / scale);
    }
}
