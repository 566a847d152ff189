using JetSharp.Transforms;
using static JetSharp.Tests.Numeric;

namespace JetSharp.Tests;

/// <summary>
/// Nested first-order AD (grad of grad, JVP of grad, HVPs with several directions, a third
/// derivative by three reverse passes) against analytic gradients, Hessians and third derivatives
/// of f(x) = Σ sin(x_i)·exp(−x_i²) and of the Rosenbrock function.
/// </summary>
public class HigherOrderAdTests
{
    private const double Tol = 1e-12;

    // ---- the functions and their closed-form derivatives -----------------------------------------

    private static Node SinExp(Node x) => Fn.Sum(Fn.Sin(x) * Fn.Exp(-x * x));

    // g(x) = sin x·e^(−x²): g′ = e^(−x²)(cos x − 2x sin x), g″ = e^(−x²)((4x² − 3) sin x − 4x cos x),
    // g‴ = e^(−x²)((18x − 8x³) sin x + (12x² − 7) cos x).
    private static double G1(double x) => Math.Exp(-x * x) * (Math.Cos(x) - 2 * x * Math.Sin(x));
    private static double G2(double x) => Math.Exp(-x * x) * ((4 * x * x - 3) * Math.Sin(x) - 4 * x * Math.Cos(x));
    private static double G3(double x) => Math.Exp(-x * x) * ((18 * x - 8 * x * x * x) * Math.Sin(x) + (12 * x * x - 7) * Math.Cos(x));

    /// <summary>Σ_{i&lt;D−1} 100(x_{i+1} − x_i²)² + (1 − x_i)², written with slices of one vector.</summary>
    private static Node Rosenbrock(Node x)
    {
        int d = x.Shape[0];
        var a = Fn.Slice(x, 0, 0, d - 1);
        var b = Fn.Slice(x, 0, 1, d - 1);
        return Fn.Sum(100.0 * Fn.Square(b - a * a) + Fn.Square(1.0 - a));
    }

    private static double[] RosenbrockGrad(double[] x)
    {
        int d = x.Length;
        var g = new double[d];
        for (int i = 0; i < d; i++)
        {
            if (i < d - 1) g[i] += -400 * x[i] * (x[i + 1] - x[i] * x[i]) - 2 * (1 - x[i]);
            if (i > 0) g[i] += 200 * (x[i] - x[i - 1] * x[i - 1]);
        }
        return g;
    }

    private static double[,] RosenbrockHessian(double[] x)
    {
        int d = x.Length;
        var h = new double[d, d];
        for (int i = 0; i < d; i++)
        {
            if (i < d - 1)
            {
                h[i, i] += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
                h[i, i + 1] = h[i + 1, i] = -400 * x[i];
            }
            if (i > 0) h[i, i] += 200;
        }
        return h;
    }

    private static double[,] SinExpHessian(double[] x)
    {
        var h = new double[x.Length, x.Length];
        for (int i = 0; i < x.Length; i++) h[i, i] = G2(x[i]);
        return h;
    }

    public static TheoryData<string> Functions => ["sinexp", "rosenbrock"];

    private static (Func<Node, Node> F, Func<double[], double[]> Grad, Func<double[], double[,]> Hess, NDArray<double> X) Problem(string name) => name switch
    {
        "sinexp" => (SinExp, x => [.. x.Select(G1)], SinExpHessian, Randn(11, 5)),
        // Near the curved valley, where the Hessian is far from diagonal.
        _ => (Rosenbrock, RosenbrockGrad, RosenbrockHessian, Uniform(12, -1.2, 1.5, 5)),
    };

    private static NDArray<double> MatVec(double[,] h, NDArray<double> v)
    {
        int d = h.GetLength(0);
        var r = new NDArray<double>(v.Shape);
        int rows = v.Size / d;
        for (int s = 0; s < rows; s++)
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) r.Data[s * d + i] += h[i, j] * v.Data[s * d + j];
        return r;
    }

    /// <summary>The graph x ↦ (∇f(x))[index] for a gradient graph (outputs value, gradient).</summary>
    private static Graph GradComponent(Graph grad, int index)
    {
        var h = new Graph(DType.Float64);
        var x = h.Input(grad.Inputs[0].Shape, "x");
        var gx = Inline(grad, x)[1];
        h.SetOutputs(Fn.Sum(Fn.Slice(Fn.Reshape(gx, -1), 0, index, 1)));
        return h;
    }

    // ---- tests ----------------------------------------------------------------------------------

    [Theory, MemberData(nameof(Functions))]
    public void GradientMatchesClosedForm(string name)
    {
        var p = Problem(name);
        var g = Ad.Grad(p.F, p.X);
        AssertClose(NDArray.FromArray(p.Grad(p.X.Data)), g, Tol, $"∇{name}");
    }

    [Theory, MemberData(nameof(Functions))]
    public void GradOfGradGivesEveryHessianRow(string name)
    {
        var p = Problem(name);
        var grad = Vjp.Grad(Tracer.Function(p.F, p.X.Shape));
        var hess = p.Hess(p.X.Data);
        for (int i = 0; i < p.X.Size; i++)
        {
            var row = Run(Vjp.Grad(GradComponent(grad, i)), p.X)[1];
            var expected = NDArray.FromArray(Enumerable.Range(0, p.X.Size).Select(j => hess[i, j]).ToArray());
            AssertClose(expected, row, Tol, $"{name}: Hessian row {i} by grad of grad");
        }
    }

    [Theory, MemberData(nameof(Functions))]
    public void HessianTraceByGradOfGrad(string name)
    {
        var p = Problem(name);
        var grad = Vjp.Grad(Tracer.Function(p.F, p.X.Shape));
        var h = new Graph(DType.Float64);
        var x = h.Input(p.X.Shape, "x");
        var diag = Enumerable.Range(0, p.X.Size).Select(i =>
        {
            var row = Inline(Vjp.Grad(GradComponent(grad, i)), x)[1];
            return Fn.Sum(Fn.Slice(row, 0, i, 1));
        }).Aggregate((a, b) => a + b);
        h.SetOutputs(diag);
        var hess = p.Hess(p.X.Data);
        double expected = Enumerable.Range(0, p.X.Size).Sum(i => hess[i, i]);
        AssertClose(expected, Run(h, p.X)[0].ToScalar(), Tol, $"{name}: tr ∇²f");
    }

    [Fact]
    public void GradOfHessianTraceGivesThirdDerivatives()
    {
        // Three reverse passes: ∂_k tr∇²f = g‴(x_k) for the separable f = Σ sin(x_i)·e^(−x_i²).
        var xv = Randn(13, 4);
        var grad = Vjp.Grad(Tracer.Function(SinExp, xv.Shape));
        var h = new Graph(DType.Float64);
        var x = h.Input(xv.Shape, "x");
        h.SetOutputs(Enumerable.Range(0, 4)
            .Select(i => Fn.Sum(Fn.Slice(Inline(Vjp.Grad(GradComponent(grad, i)), x)[1], 0, i, 1)))
            .Aggregate((a, b) => a + b));
        var third = Run(Vjp.Grad(h), xv)[1];
        AssertClose(Naive.Map(xv, G3), third, Tol, "∇ tr∇²f");
    }

    [Theory, MemberData(nameof(Functions))]
    public void HvpMatchesAnalyticHessianTimesVector(string name)
    {
        var p = Problem(name);
        var v = Randn(21, p.X.Size);
        AssertClose(MatVec(p.Hess(p.X.Data), v), Ad.Hvp(p.F, p.X, v), Tol, $"{name}: ∇²f·v");
    }

    [Theory, MemberData(nameof(Functions))]
    public void HvpWithManyDirectionsAtOnce(string name)
    {
        const int R = 4;
        var p = Problem(name);
        var vs = Randn(22, R, p.X.Size);
        var hv = Ad.Hvp(p.F, p.X, vs);
        Assert.Equal(new Shape(R, p.X.Size), hv.Shape);
        AssertClose(MatVec(p.Hess(p.X.Data), vs), hv, Tol, $"{name}: ∇²f·v_r for R = {R}");
        for (int r = 0; r < R; r++)
            AssertClose(Ad.Hvp(p.F, p.X, Row(vs, r)), Row(hv, r), 1e-14, $"{name}: direction {r} vs a single HVP");
    }

    [Theory, MemberData(nameof(Functions))]
    public void JvpOfGradEqualsHvp(string name)
    {
        var p = Problem(name);
        var v = Randn(23, p.X.Size);
        // Jvp.Transform of the gradient graph: inputs (x, v), outputs (f, ∇f, ∂f·v, ∇²f·v).
        var outs = Run(Jvp.Transform(Vjp.Grad(Tracer.Function(p.F, p.X.Shape))), p.X, v);
        AssertClose(NDArray.FromArray(p.Grad(p.X.Data)), outs[1], Tol, $"{name}: ∇f from the JVP graph");
        AssertClose(Dot(NDArray.FromArray(p.Grad(p.X.Data)), v), outs[2].ToScalar(), Tol, $"{name}: directional derivative");
        AssertClose(MatVec(p.Hess(p.X.Data), v), outs[3], Tol, $"{name}: JVP of grad");
        AssertClose(Ad.Hvp(p.F, p.X, v), outs[3], 1e-14, $"{name}: JVP of grad vs Ad.Hvp");
    }

    [Fact]
    public void GradWithRespectToASubsetOfInputs()
    {
        // f(a, b, c) = Σ a·sin(b) (c unused): ∂f/∂b = a·cos(b); ∂f/∂c = 0; a is not selected.
        var a = Randn(26, 4);
        var b = Randn(27, 4);
        var c = Randn(28, 2);
        var g = Tracer.Function(xs => Fn.Sum(xs[0] * Fn.Sin(xs[1])), [a.Shape, b.Shape, c.Shape]);
        var outs = Run(Vjp.Grad(g, [false, true, true]), a, b, c);
        Assert.Equal(3, outs.Length);
        AssertClose(Combine(a, b, (p, q) => p * Math.Sin(q)).Data.Sum(), outs[0].ToScalar(), Tol, "f");
        AssertClose(Combine(a, b, (p, q) => p * Math.Cos(q)), outs[1], Tol, "∂f/∂b");
        AssertClose(new NDArray<double>(c.Shape), outs[2], 0, "∂f/∂c of an unused input");
        // Grad of that gradient with respect to a: ∂/∂a Σ_i (a_i cos b_i)·w_i = cos(b)·w.
        var w = Randn(29, 4);
        var h = new Graph(DType.Float64);
        var ins = new[] { h.Input(a.Shape), h.Input(b.Shape), h.Input(c.Shape) };
        h.SetOutputs(Fn.Sum(Inline(Vjp.Grad(g, [false, true, true]), ins)[1] * h.Constant(w)));
        AssertClose(Combine(b, w, (q, r) => Math.Cos(q) * r), Run(Vjp.Grad(h), a, b, c)[1], Tol, "∂/∂a ⟨∂f/∂b, w⟩");
    }

    [Fact]
    public void HvpOfABatchedInputShape()
    {
        // x of shape [2, 3]: the Hessian of the separable function is diag(g″) over all six entries.
        var x = Randn(24, 2, 3);
        var v = Randn(25, 3, 2, 3);
        var hv = Ad.Hvp(SinExp, x, v);
        var expected = new NDArray<double>(v.Shape);
        for (int i = 0; i < v.Size; i++) expected.Data[i] = G2(x.Data[i % 6]) * v.Data[i];
        AssertClose(expected, hv, Tol, "∇²f·v with x [2, 3], v [3, 2, 3]");
    }
}
