using JetSharp.Runtime;
using JetSharp.Transforms;

namespace JetSharp.Tests.LinearAlgebra;

/// <summary>
/// Derivative checks for matrix functions in float64: JVPs and VJPs against central finite
/// differences (one compiled executable, re-run at perturbed points), Taylor coefficients against
/// nested JVPs, and plain matrix helpers on tensors.
/// </summary>
internal static class LinalgCheck
{
    /// <summary>‖a − b‖∞ / ‖b‖∞ (a genuinely relative error; b must not vanish).</summary>
    public static double Rel(NDArray<double> a, NDArray<double> b)
    {
        Assert.Equal(b.Shape, a.Shape);
        double d = 0, s = 0;
        for (int i = 0; i < a.Size; i++) { d = Math.Max(d, Math.Abs(a.Data[i] - b.Data[i])); s = Math.Max(s, Math.Abs(b.Data[i])); }
        return d / s;
    }


    /// <summary>Relative error of the JVP of f at xs along vs against a central difference.</summary>
    public static double JvpError(Func<Node[], Node> f, NDArray<double>[] xs, NDArray<double>[] vs, double h = 1e-5)
    {
        var g = Tracer.Function(f, [.. xs.Select(x => x.Shape)]);
        var exe = Executable.Compile(g);
        var plus = exe.Run<double>([.. xs.Select((x, i) => TestUtil.Axpy(x, h, vs[i]))])[0];
        var minus = exe.Run<double>([.. xs.Select((x, i) => TestUtil.Axpy(x, -h, vs[i]))])[0];
        var fd = new NDArray<double>(plus.Shape);
        for (int i = 0; i < fd.Size; i++) fd.Data[i] = (plus.Data[i] - minus.Data[i]) / (2 * h);
        var jvp = Executable.Compile(Jvp.Transform(g)).Run<double>([.. xs, .. vs]);
        return Rel(jvp[1], fd);
    }

    /// <summary>
    /// Relative error of the gradient of ⟨w, f(x)⟩ (reverse mode) against central differences in every
    /// coordinate of every input.
    /// </summary>
    public static double VjpError(Func<Node[], Node> f, NDArray<double>[] xs, long seed, double h = 1e-5)
    {
        var g = Tracer.Function(f, [.. xs.Select(x => x.Shape)]);
        var w = TestUtil.Randn(seed, [.. g.Outputs[0].Shape]);
        Node Scalar(Node[] ins) => Fn.Sum(f(ins) * ins[0].Graph.Constant(w));
        var sg = Tracer.Function(Scalar, [.. xs.Select(x => x.Shape)]);
        var grads = Executable.Compile(Vjp.Grad(sg)).Run<double>(xs)[1..];
        var exe = Executable.Compile(sg);
        double worst = 0;
        for (int input = 0; input < xs.Length; input++)
        {
            var fd = new NDArray<double>(xs[input].Shape);
            for (int e = 0; e < fd.Size; e++)
            {
                var shifted = xs.Select(x => x.Clone()).ToArray();
                shifted[input].Data[e] += h;
                double p = exe.Run<double>(shifted)[0].Data[0];
                shifted[input].Data[e] -= 2 * h;
                double m = exe.Run<double>(shifted)[0].Data[0];
                fd.Data[e] = (p - m) / (2 * h);
            }
            worst = Math.Max(worst, Rel(grads[input], fd));
        }
        return worst;
    }

    /// <summary>The graph (x, v) ↦ dᴷ/dtᴷ f(x + t·v) at t = 0 by K nested JVPs (a reference for Taylor rules).</summary>
    public static Graph NestedDirectional(Func<Node, Node> f, Shape shape, int order)
    {
        var h = new Graph(DType.Float64);
        {
            var x = h.Input(shape, "x");
            h.Input(shape, "v");
            h.SetOutputs(f(x));
        }
        for (int k = 1; k <= order; k++)
        {
            var next = new Graph(DType.Float64);
            var x = next.Input(shape, "x");
            var v = next.Input(shape, "v");
            var (_, tangents) = Jvp.Apply(h, [x, v], [v, null]);
            next.SetOutputs(tangents[0] ?? Fn.Zeros(next, h.Outputs[0].Shape));
            h = next;
        }
        return h;
    }

    /// <summary>y_1..y_K of the K-jet of f at x with x₁ = v, x₂ = … = 0.</summary>
    public static NDArray<double>[] JetCoefficients(Func<Node, Node> f, NDArray<double> x, NDArray<double> v, int order, NDArray<double>?[]? higher = null)
    {
        var g = Tracer.Function(f, x.Shape);
        var jet = Executable.Compile(Jet.Transform(g, order));
        var coefs = new NDArray<double>[order];
        coefs[0] = v;
        for (int k = 2; k <= order; k++) coefs[k - 1] = higher?[k - 1] ?? new NDArray<double>(x.Shape);
        return jet.Run<double>([x, .. coefs])[1..];
    }

    // ---- plain matrix helpers on (batched) row-major tensors ----

    public static NDArray<double> MatMul(NDArray<double> a, NDArray<double> b, bool ta = false, bool tb = false) =>
        TestUtil.Eval(xs => Fn.MatMul(xs[0], xs[1], ta, tb), a, b);

    public static NDArray<double> Transpose(NDArray<double> a) => TestUtil.Eval(xs => Linalg.MatrixTranspose(xs[0]), a);

    /// <summary>Largest |entry| strictly above (upper = true) or below the diagonal.</summary>
    public static double OffTriangle(NDArray<double> a, bool upper)
    {
        int m = a.Shape[^2], n = a.Shape[^1];
        double worst = 0;
        for (int i = 0; i < a.Size; i++)
        {
            int r = i / n % m, c = i % n;
            if (upper ? c > r : c < r) worst = Math.Max(worst, Math.Abs(a.Data[i]));
        }
        return worst;
    }

    public static double MinDiagonal(NDArray<double> a)
    {
        int m = a.Shape[^2], n = a.Shape[^1];
        double min = double.PositiveInfinity;
        for (int i = 0; i < a.Size; i++)
            if (i / n % m == i % n) min = Math.Min(min, a.Data[i]);
        return min;
    }

    /// <summary>Batched identity of the given shape [..., n, n].</summary>
    public static NDArray<double> Eye(params int[] shape)
    {
        var t = new NDArray<double>(new Shape(shape));
        int n = shape[^1];
        for (int i = 0; i < t.Size; i++) if (i / n % n == i % n) t.Data[i] = 1;
        return t;
    }

    /// <summary>A well-conditioned lower (or upper) triangular matrix: random off-diagonal, diagonal in [1.5, 2.5], other triangle zero unless <paramref name="garbage"/>.</summary>
    public static NDArray<double> Triangular(long seed, bool lower, bool garbage, params int[] shape)
    {
        var t = TestUtil.Randn(seed, shape);
        var d = TestUtil.Rand(seed + 1000, 1.5, 2.5, shape);
        int n = shape[^1];
        for (int i = 0; i < t.Size; i++)
        {
            int r = i / n % n, c = i % n;
            if (r == c) t.Data[i] = d.Data[i];
            else if ((c > r) == lower) t.Data[i] = garbage ? 1e3 * t.Data[i] : 0;
            else t.Data[i] *= 0.5;
        }
        return t;
    }

    /// <summary>A symmetric positive-definite matrix B·Bᵀ/n + I.</summary>
    public static NDArray<double> Spd(long seed, params int[] shape)
    {
        var b = TestUtil.Randn(seed, shape);
        var g = MatMul(b, b, tb: true);
        int n = shape[^1];
        for (int i = 0; i < g.Size; i++) g.Data[i] = g.Data[i] / n + (i / n % n == i % n ? 1 : 0);
        return g;
    }
}
