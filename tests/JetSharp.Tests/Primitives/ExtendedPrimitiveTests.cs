using JetSharp.Transforms;
using static JetSharp.Tests.Numeric;

namespace JetSharp.Tests;

/// <summary>
/// The extended primitive set (docs/primitives.md), each primitive against references that do not use its
/// rules: values against plain loops or System.Math; the JVP against Richardson-extrapolated central
/// differences; the VJP through the adjoint identity with J·v from differences; the K-jet (all K
/// coefficients random) against K nested JVPs of t ↦ f(Σ tᵏ/k!·x_k) (each JVP uses only first-order
/// rules, so the Taylor rules' recurrences are checked by an independent path); the Laplacian of a
/// per-datum function through the primitive in all three strategies; and, for the functions with a kink,
/// that every second-order use raises <see cref="NotSmoothException"/>.
/// </summary>
public class ExtendedPrimitiveTests
{
    private const double Tol = 1e-6;

    public static TheoryData<string> Names => [.. ExtendedCases.All.Keys];
    public static TheoryData<string> ValueNames => [.. ExtendedCases.All.Values.Where(c => c.Reference is not null).Select(c => c.Name)];
    public static TheoryData<string> HigherOrderNames => [.. ExtendedCases.All.Values.Where(c => c.MaxOrder >= 2).Select(c => c.Name)];
    public static TheoryData<string> KinkNames => [.. ExtendedCases.All.Values.Where(c => c.Kink).Select(c => c.Name)];
    public static TheoryData<string> PerDatumNames => [.. ExtendedCases.All.Values.Where(c => c.PerDatum is not null).Select(c => c.Name)];

    private static Graph Traced(ExtendedCase c) => Tracer.Function(c.F, c.Shapes);

    private static NDArray<double>[] Directions(ExtendedCase c, long seed) =>
        [.. c.Shapes.Select((s, i) => Scale(NDArray.RandomNormal<double>(s, seed * 37 + i), 0.5))];

    [Theory, MemberData(nameof(ValueNames))]
    public void ValueMatchesReference(string name)
    {
        var c = ExtendedCases.All[name];
        var xs = c.Points(1);
        AssertClose(c.Reference!(xs), Run(Traced(c), xs)[0], 1e-13, $"{name} value");
    }

    [Theory, MemberData(nameof(Names))]
    public void JvpMatchesCentralDifferences(string name)
    {
        var c = ExtendedCases.All[name];
        var g = Traced(c);
        var xs = c.Points(2);
        var vs = Directions(c, 2);
        var outs = Run(Jvp.Transform(g), [.. xs, .. vs]);
        AssertClose(Run(g, xs)[0], outs[0], 1e-14, $"{name} primal of the JVP graph");
        AssertClose(Directional(g, xs, vs), outs[1], Tol, $"{name} JVP");
    }

    [Theory, MemberData(nameof(Names))]
    public void VjpSatisfiesTheAdjointIdentity(string name)
    {
        var c = ExtendedCases.All[name];
        var g = Traced(c);
        var xs = c.Points(3);
        var vs = Directions(c, 3);
        var u = NDArray.RandomNormal<double>(g.Outputs[0].Shape, 303);
        var h = new Graph(DType.Float64);
        var inputs = g.Inputs.Select(i => h.Input(i.Shape)).ToArray();
        var ct = h.Input(g.Outputs[0].Shape, "u");
        var (_, cts) = Vjp.Apply(g, inputs, [ct]);
        h.SetOutputs([.. cts.Select((x, i) => x ?? Fn.Zeros(h, inputs[i].Shape))]);
        var vjps = Run(h, [.. xs, u]);
        double lhs = vjps.Select((w, i) => Dot(w, vs[i])).Sum();
        var jv = Directional(g, xs, vs);
        AssertClose(Dot(u, jv), lhs, Tol, $"{name}: Σ⟨vjp_i, v_i⟩ vs ⟨u, Jv⟩", scale: AbsDot(u, jv) + 1e-12);
    }

    [Theory, MemberData(nameof(HigherOrderNames))]
    public void JetMatchesNestedJvps(string name)
    {
        var c = ExtendedCases.All[name];
        // Nested JVP graphs grow about threefold per order: 4 keeps the suite fast; the elementwise functions
        // are checked at order 6 against power series (ExtendedPrimitiveSeriesTests).
        int order = Math.Min(c.MaxOrder, 4);
        var g = Traced(c);
        var x0 = c.Points(4);
        var coefficients = c.Shapes.Select((s, i) => Enumerable.Range(1, order)
            .Select(k => Scale(NDArray.RandomNormal<double>(s, 400 + 10 * i + k), 0.4)).ToArray()).ToArray();
        var jet = Run(Jet.Transform(g, order), [.. x0, .. coefficients.SelectMany(x => x)]);
        var nested = NestedAlongPath(g, x0, coefficients, order);
        double scale = nested.Max(MaxAbs);
        for (int k = 0; k <= order; k++)
        {
            double err = RelErr(nested[k], jet[k], floor: Math.Max(1e-3, scale * 1e-6));
            Assert.True(err <= 1e-8, $"{name}: coefficient {k} of the {order}-jet differs from {k} nested JVPs by {err:E2}\nnested {nested[k]}\njet    {jet[k]}");
        }
    }

    /// <summary>
    /// dᵏ/dtᵏ g(x(t)) at t = 0 for k = 0..K along x(t) = x₀ + Σ_k tᵏ/k!·x_k, by differentiating the
    /// scalar-parameter graph K times with <see cref="Jvp.Apply"/> (tangent 1 on t, none elsewhere).
    /// </summary>
    internal static NDArray<double>[] NestedAlongPath(Graph g, NDArray<double>[] x0, NDArray<double>[][] coefficients, int order)
    {
        Graph Fresh(out Node[] inputs)
        {
            var h = new Graph(DType.Float64);
            var t = h.Input(Shape.Scalar, "t");
            inputs = [t, .. x0.Select((x, i) => h.Input(x.Shape, $"x{i}")), .. coefficients.SelectMany((cs, i) => cs.Select((c, k) => h.Input(c.Shape, $"x{i}_{k + 1}")))];
            return h;
        }
        var cur = Fresh(out var ins);
        var path = x0.Select((_, i) =>
        {
            var p = ins[1 + i];
            for (int k = 1; k <= order; k++)
                p += ins[1 + x0.Length + i * order + k - 1] * (Fn.Pow(ins[0], k) * (1 / PowerSeries.Factorial(k)));
            return p;
        }).ToArray();
        cur.SetOutputs(Inline(g, path)[0]);
        NDArray<double>[] feeds = [NDArray.Scalar(0.0), .. x0, .. coefficients.SelectMany(c => c)];
        var results = new List<NDArray<double>> { Run(cur, feeds)[0] };
        for (int k = 1; k <= order; k++)
        {
            var h = Fresh(out var hin);
            var (_, tangents) = Jvp.Apply(cur, hin, [h.Scalar(1), .. hin.Skip(1).Select(_ => (Node?)null)]);
            h.SetOutputs(tangents[0] ?? Fn.Zeros(h, cur.Outputs[0].Shape));
            cur = h;
            results.Add(Run(cur, feeds)[0]);
        }
        return [.. results];
    }

    [Theory, MemberData(nameof(KinkNames))]
    public void OrdersBeyondTheKinkAreRefusedNamingTheNode(string name)
    {
        var c = ExtendedCases.All[name];
        int order = c.MaxOrder + 1;
        var g = Traced(c);
        var e = Assert.Throws<NotSmoothException>(() => Jet.Transform(g, order));
        Assert.Contains($"primitive '{e.Node.Op.Name}' (%{e.Node.Id}", e.Message);
        // Nested first-order: differentiate the VJP (forward over reverse) when the function is differentiable once.
        if (c.MaxOrder == 1)
        {
            var grad = Vjp.Grad(Tracer.Function(xs => Fn.Sum(c.F(xs)), c.Shapes));
            Assert.Throws<NotSmoothException>(() => Jvp.Transform(grad));
        }
    }

    /// <summary>A user function the JIT may not inline, so that its line is on the stack when the graph is traced.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static Node UserFunction(Node x) => Fn.Sum(Fn.Abs(Fn.Sin(x)), -1, keepDims: true);

    [Fact]
    public void TheRefusalNamesTheUsersLine()
    {
        var x = NDArray.RandomNormal<double>(new Shape(2, 3), 1);
        foreach (var s in Strategy.All)
        {
            var e = Assert.Throws<NotSmoothException>(() => Pde.Laplacian(UserFunction, x, s));
            Assert.Contains("abs", e.Message);
            Assert.Contains("ExtendedPrimitiveTests.cs", e.Message);
        }
    }

    [Theory, MemberData(nameof(PerDatumNames))]
    public void LaplacianAgreesInAllStrategies(string name)
    {
        var c = ExtendedCases.All[name];
        var x = Scale(NDArray.RandomNormal<double>(new Shape(3, 4), 77), 0.6);
        if (c.Kink && c.MaxOrder < 2)
        {
            foreach (var s in Strategy.All)
                Assert.Throws<NotSmoothException>(() => Pde.Laplacian(c.PerDatum!, x, s));
            return;
        }
        var reference = Pde.Laplacian(c.PerDatum!, x, Strategy.Collapsed);
        Assert.True(reference.Data.All(double.IsFinite), $"{name}: collapsed Laplacian not finite: {reference}");
        foreach (var s in new[] { Strategy.StandardTaylor, Strategy.NestedFirstOrder })
        {
            var other = Pde.Laplacian(c.PerDatum!, x, s);
            double err = RelErr(reference, other, floor: 1e-6);
            Assert.True(err <= 1e-9, $"{name} in {s}: relative error {err:E2} vs collapsed\n{reference}\n{other}");
        }
        // And against second differences of the plain function, summed over the coordinates.
        var g = Tracer.Function(c.PerDatum!, x.Shape);
        var fd = new NDArray<double>(reference.Shape);
        for (int d = 0; d < x.Shape[1]; d++)
        {
            var e = new NDArray<double>(x.Shape);
            for (int n = 0; n < x.Shape[0]; n++) e.Data[n * x.Shape[1] + d] = 1;
            var second = SecondAlongPath(g, [x], [e], [new NDArray<double>(x.Shape)]);
            for (int i = 0; i < fd.Size; i++) fd.Data[i] += second.Data[i];
        }
        AssertClose(fd, reference, 1e-5, $"{name}: Laplacian vs second differences");
    }
}
