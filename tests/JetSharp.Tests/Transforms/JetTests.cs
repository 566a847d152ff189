using JetSharp.Nn;
using JetSharp.Transforms;
using static JetSharp.Tests.Numeric;

namespace JetSharp.Tests;

/// <summary>
/// Taylor mode (derivative convention: x(t) = Σ tᵏ/k!·x_k, y_k = dᵏy/dtᵏ at 0), checked against
/// references that do not use the library's Taylor rules: METHOD.md §2's test vectors, closed-form
/// series, an independent power-series implementation (<see cref="PowerSeries"/>), naive Leibniz
/// products, K-fold nested JVPs, finite differences, polarization identities and analytic Laplacians.
/// </summary>
public class JetTests
{
    // ---- helpers --------------------------------------------------------------------------------

    /// <summary>
    /// Runs the jet of output 0 of <paramref name="g"/> through <see cref="Jet.Apply"/>: a null
    /// coefficient stays structurally zero (no input is created for it). Returns y₀..y_K.
    /// </summary>
    private static NDArray<double>[] RunJet(Graph g, NDArray<double>[] x0, NDArray<double>?[][] coefficients, int order, Shape prefix = default, int output = 0)
    {
        var h = new Graph(DType.Float64);
        var primals = g.Inputs.Select(i => h.Input(i.Shape)).ToArray();
        var feeds = new List<NDArray<double>>(x0);
        var cs = coefficients.Select(list => list.Select(t =>
        {
            if (t is null) return (Node?)null;
            feeds.Add(t);
            return h.Input(t.Shape);
        }).ToArray()).ToArray();
        var y = Jet.Apply(g, primals, cs, order, prefix)[output];
        var shape = g.Outputs[output].Shape;
        h.SetOutputs([.. y.Select((c, k) => c ?? Fn.Zeros(h, k == 0 ? shape : new Shape([.. prefix, .. shape])))]);
        return Run(h, [.. feeds]);
    }

    /// <summary>Runs <see cref="Jet.Transform"/> (every coefficient an input) of a one-input graph on x₀..x_K.</summary>
    private static NDArray<double>[] RunJetTransform(Graph g, int order, params NDArray<double>[] x) =>
        Run(Jet.Transform(g, order), x);

    /// <summary>
    /// (x, v) ↦ ⟨∂ᴷf(x), v^⊗K⟩ by K nested JVPs: h₀ = f, and h_{j+1}(x, v) is the JVP of h_j in x along
    /// v with v held fixed — each a graph-to-graph transformation of the previous graph.
    /// </summary>
    private static Graph NestedDirectional(Graph f, int order, int output = 0)
    {
        var cur = new Graph(DType.Float64);
        var x0 = cur.Input(f.Inputs[0].Shape, "x");
        cur.Input(f.Inputs[0].Shape, "v");
        cur.SetOutputs(Inline(f, x0)[output]);
        for (int k = 1; k <= order; k++)
        {
            var h = new Graph(DType.Float64);
            var x = h.Input(f.Inputs[0].Shape, "x");
            var v = h.Input(f.Inputs[0].Shape, "v");
            var (_, t) = Jvp.Apply(cur, [x, v], [v, null]);
            h.SetOutputs(t[0] ?? Fn.Zeros(h, cur.Outputs[0].Shape));
            cur = h;
        }
        return cur;
    }

    /// <summary>Applies a series function to every element of jets given in the derivative convention.</summary>
    private static NDArray<double>[] SeriesReference(NDArray<double>[] x, Func<PowerSeries, PowerSeries> f)
    {
        var y = x.Select(t => new NDArray<double>(t.Shape)).ToArray();
        for (int e = 0; e < x[0].Size; e++)
        {
            var d = f(PowerSeries.FromDerivatives([.. x.Select(t => t.Data[e])])).ToDerivatives();
            for (int k = 0; k < y.Length; k++) y[k].Data[e] = d[k];
        }
        return y;
    }

    private static void AssertJet(NDArray<double>[] expected, NDArray<double>[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int k = 0; k < expected.Length; k++) AssertClose(expected[k], actual[k], tol, $"{what}, coefficient {k}");
    }

    private static Mlp Net(int inputs, Activation act, int outputs = 2, long seed = 3) => Mlp.Create(inputs, [6, 5], outputs, act, seed);

    public static TheoryData<Activation> SmoothActivations => [Activation.Tanh, Activation.Sigmoid, Activation.Softplus, Activation.Sin];

    // ---- METHOD.md §2 test vectors -----------------------------------------------------------------

    public static TheoryData<string, double[], double[]> MethodVectors => new()
    {
        { "sin", [0.3, 0.7, -0.2, 0.5, 1.1], [0.29552020666134, 0.668735542387924, -0.335872199089178, 0.274106315590483, 1.23437168113817] },
        { "tanh", [0.3, 0.7, -0.2, 0.5, 1.1], [0.291312612451591, 0.64059587327864, -0.444286512684038, 0.21354787536524, 1.8921950380995] },
        { "cube", [0.8, 0.7, -0.2, 0.5, 1.1], [0.512, 1.344, 1.968, 1.002, 5.88] },
        { "inverse square", [0.8, 0.7, -0.2, 0.5, 1.1], [1.5625, -2.734375, 7.958984375, -33.2275390625, 170.944213867187] },
    };

    [Theory, MemberData(nameof(MethodVectors))]
    public void FourJetsOfMethodDocument(string name, double[] x, double[] expected)
    {
        Func<Node, Node> f = name switch
        {
            "sin" => Fn.Sin,
            "tanh" => Fn.Tanh,
            "cube" => v => Fn.Pow(v, 3),
            _ => v => Fn.Pow(v, -2),
        };
        var y = RunJetTransform(Tracer.Function(f, Shape.Scalar), 4, [.. x.Select(v => NDArray.Scalar(v))]);
        for (int k = 0; k <= 4; k++)
            // The document quotes 15 significant digits.
            Assert.True(Math.Abs(y[k].ToScalar() - expected[k]) <= 1e-12 * Math.Max(1, Math.Abs(expected[k])),
                $"{name}: y_{k} = {y[k].ToScalar():R}, expected {expected[k]:R}");
    }

    // ---- closed-form series along a line ---------------------------------------------------------

    public static TheoryData<string> ClosedForms => ["exp", "log", "1/(1-x)"];

    [Theory, MemberData(nameof(ClosedForms))]
    public void SixJetsAlongALineMatchClosedForms(string name)
    {
        // x(t) = x₀ + t·v: y_k = f⁽ᵏ⁾(x₀)·vᵏ with f⁽ᵏ⁾ known in closed form.
        const int K = 6;
        var (f, x0, deriv) = name switch
        {
            "exp" => ((Func<Node, Node>)Fn.Exp, Randn(60, 5), (Func<double, int, double>)((x, k) => Math.Exp(x))),
            "log" => (Fn.Log, Uniform(61, 0.5, 2, 5), (x, k) => k == 0 ? Math.Log(x) : Math.Pow(-1, k - 1) * PowerSeries.Factorial(k - 1) / Math.Pow(x, k)),
            _ => (x => 1.0 / (1.0 - x), Uniform(62, -0.5, 0.5, 5), (x, k) => PowerSeries.Factorial(k) / Math.Pow(1 - x, k + 1)),
        };
        var v = Randn(63, 5);
        var g = Tracer.Function(f, x0.Shape);
        var expected = Enumerable.Range(0, K + 1).Select(k => NDArray.FromArray(x0.Data.Select((x, i) => deriv(x, k) * Math.Pow(v.Data[i], k)).ToArray())).ToArray();

        // Zero coefficients as structural nulls, and as explicit zero tensors: both must agree with the closed form.
        AssertJet(expected, RunJet(g, [x0], [[v, null, null, null, null, null]], K), 1e-12, $"{name} (null x₂..x₆)");
        AssertJet(expected, RunJetTransform(g, K, [x0, v, .. Enumerable.Range(0, K - 1).Select(_ => new NDArray<double>(x0.Shape))]), 1e-12, $"{name} (zero x₂..x₆)");
    }

    // ---- full random jets against the power-series reference -------------------------------------

    private static readonly Dictionary<string, (Func<Node, Node> F, Func<PowerSeries, PowerSeries> S, bool Positive)> UnaryFunctions = new()
    {
        ["exp"] = (Fn.Exp, s => s.Exp(), false),
        ["log"] = (Fn.Log, s => s.Log(), true),
        ["sin"] = (Fn.Sin, s => s.Sin(), false),
        ["cos"] = (Fn.Cos, s => s.Cos(), false),
        ["tanh"] = (Fn.Tanh, s => s.Tanh(), false),
        ["sigmoid"] = (Fn.Sigmoid, s => s.Sigmoid(), false),
        ["softplus"] = (Fn.Softplus, s => s.Softplus(), false),
        ["sqrt"] = (Fn.Sqrt, s => s.Sqrt(), true),
        ["neg"] = (Fn.Neg, s => -s, false),
        ["1/x"] = (x => 1.0 / x, s => PowerSeries.Constant(1, s.Order) / s, true),
        ["pow -2"] = (x => Fn.Pow(x, -2), s => s.Pow(-2), true),
        ["pow 0"] = (x => Fn.Pow(x, 0), s => s.Pow(0), true),
        ["pow 0.5"] = (x => Fn.Pow(x, 0.5), s => s.Pow(0.5), true),
        ["pow 1.5"] = (x => Fn.Pow(x, 1.5), s => s.Pow(1.5), true),
        ["pow 3"] = (x => Fn.Pow(x, 3), s => s.Pow(3), true),
        ["sin∘sin"] = (x => Fn.Sin(Fn.Sin(x)), s => s.Sin().Sin(), false),
        ["tanh∘tanh"] = (x => Fn.Tanh(Fn.Tanh(x)), s => s.Tanh().Tanh(), false),
        ["exp∘sin·x"] = (x => Fn.Exp(Fn.Sin(x)) * x, s => s.Sin().Exp() * s, false),
        ["log(1+x²)/(2+cos x)"] = (x => Fn.Log(1.0 + x * x) / (2.0 + Fn.Cos(x)), s => (s * s + 1).Log() / (PowerSeries.Constant(2, s.Order) + s.Cos()), false),
    };

    public static TheoryData<string, int> UnaryJets
    {
        get
        {
            var data = new TheoryData<string, int>();
            foreach (var name in UnaryFunctions.Keys)
                foreach (var k in new[] { 1, 2, 3, 6 })
                    data.Add(name, k);
            return data;
        }
    }

    [Theory, MemberData(nameof(UnaryJets))]
    public void FullRandomJetsMatchThePowerSeriesReference(string name, int order)
    {
        // Every coefficient x₁..x_K non-zero, so every partition of Faà di Bruno's formula contributes.
        var (f, s, positive) = UnaryFunctions[name];
        var x = new NDArray<double>[order + 1];
        x[0] = positive ? Uniform(70, 0.6, 2.0, 6) : Randn(70, 6);
        for (int k = 1; k <= order; k++) x[k] = Scale(Randn(70 + k, 6), 0.6);
        var y = RunJetTransform(Tracer.Function(f, x[0].Shape), order, x);
        AssertJet(SeriesReference(x, s), y, 1e-11, $"{name} at K = {order}");
    }

    public static TheoryData<string, string, string> BinaryJets
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (var op in new[] { "add", "sub", "mul", "div" })
                foreach (var (a, b) in new[] { ("2,1,4", "3,1"), ("3,4", ""), ("", "3,4"), ("4", "3,4") })
                    data.Add(op, a, b);
            return data;
        }
    }

    [Theory, MemberData(nameof(BinaryJets))]
    public void BinaryJetsWithBroadcastingMatchThePowerSeriesReference(string op, string shapeA, string shapeB)
    {
        const int K = 4;
        static Shape Parse(string s) => s.Length == 0 ? Shape.Scalar : new Shape([.. s.Split(',').Select(int.Parse)]);
        Shape sa = Parse(shapeA), sb = Parse(shapeB);
        Func<Node, Node, Node> f = op switch { "add" => (a, b) => a + b, "sub" => (a, b) => a - b, "mul" => (a, b) => a * b, _ => (a, b) => a / b };
        Func<PowerSeries, PowerSeries, PowerSeries> s = op switch { "add" => (a, b) => a + b, "sub" => (a, b) => a - b, "mul" => (a, b) => a * b, _ => (a, b) => a / b };
        var a = Enumerable.Range(0, K + 1).Select(k => Scale(Randn(80 + k, [.. sa]), k == 0 ? 1 : 0.6)).ToArray();
        var b = Enumerable.Range(0, K + 1).Select(k => k == 0 ? Uniform(90, 0.7, 2, [.. sb]) : Scale(Randn(90 + k, [.. sb]), 0.6)).ToArray();
        var g = Tracer.Function(xs => f(xs[0], xs[1]), [sa, sb]);
        var y = RunJet(g, [a[0], b[0]], [a[1..], b[1..]], K);

        var outShape = Naive.BroadcastShape(sa, sb);
        var expected = Enumerable.Range(0, K + 1).Select(_ => new NDArray<double>(outShape)).ToArray();
        foreach (var c in Naive.Coords(outShape))
        {
            int ia = Naive.BroadcastIndex(c, sa), ib = Naive.BroadcastIndex(c, sb);
            var r = s(PowerSeries.FromDerivatives([.. a.Select(t => t.Data[ia])]), PowerSeries.FromDerivatives([.. b.Select(t => t.Data[ib])])).ToDerivatives();
            for (int k = 0; k <= K; k++) expected[k].Data[Naive.Flat(c, outShape)] = r[k];
        }
        AssertJet(expected, y, 1e-12, $"{op} {sa}⊕{sb}");
    }

    public static TheoryData<string, string, bool, bool> MatMulJets => new()
    {
        { "3,4", "4,5", false, false },
        { "2,1,3,4", "3,4,5", false, false },
        { "3,4", "2,4,5", false, false },
        { "2,4,3", "2,5,4", true, true },
        { "4,3", "4,5", true, false },
    };

    [Theory, MemberData(nameof(MatMulJets))]
    public void MatMulJetsMatchTheLeibnizRule(string shapeA, string shapeB, bool ta, bool tb)
    {
        // y_k = Σ_j C(k, j)·op(A_j)·op(B_{k−j}), with the products computed by the naive reference.
        const int K = 3;
        Shape sa = new([.. shapeA.Split(',').Select(int.Parse)]), sb = new([.. shapeB.Split(',').Select(int.Parse)]);
        var a = Enumerable.Range(0, K + 1).Select(k => Randn(100 + k, [.. sa])).ToArray();
        var b = Enumerable.Range(0, K + 1).Select(k => Randn(110 + k, [.. sb])).ToArray();
        var g = Tracer.Function(xs => Fn.MatMul(xs[0], xs[1], ta, tb), [sa, sb]);
        var y = RunJet(g, [a[0], b[0]], [a[1..], b[1..]], K);
        for (int k = 0; k <= K; k++)
        {
            NDArray<double>? expected = null;
            for (int j = 0; j <= k; j++)
            {
                var term = Scale(Naive.MatMul(a[j], b[k - j], ta, tb), PowerSeries.Factorial(k) / (PowerSeries.Factorial(j) * PowerSeries.Factorial(k - j)));
                expected = expected is null ? term : Combine(expected, term, (p, q) => p + q);
            }
            AssertClose(expected!, y[k], 1e-13, $"matmul coefficient {k}");
        }
    }

    [Fact]
    public void IntegerPowersAreExactAtZeroAndForNegativeBases()
    {
        // Non-negative integer powers are polynomials: at x₀ = 0 along x(t) = t·v, x³ has y₃ = 6v³ and
        // every other coefficient zero (no 0·∞ from x^(p−m)); for negative x₀ the jets equal the Cauchy
        // products x·x·x and x·x, which the real-exponent series recurrence cannot evaluate there.
        var v = Randn(115, 4);
        var g3 = Tracer.Function(x => Fn.Pow(x, 3), new Shape(4));
        var y = RunJet(g3, [new NDArray<double>(new Shape(4))], [[v, null, null, null, null]], 5);
        for (int k = 0; k <= 5; k++)
            AssertClose(k == 3 ? Naive.Map(v, t => 6 * t * t * t) : new NDArray<double>(new Shape(4)), y[k], k == 3 ? 1e-15 : 0, $"x³ at 0, y_{k}");

        var x = Enumerable.Range(0, 5).Select(k => k == 0 ? Uniform(116, -2, -0.5, 4) : Randn(116 + k, 4)).ToArray();
        AssertJet(SeriesReference(x, s => s * s * s), RunJetTransform(g3, 4, x), 1e-12, "x³ at negative x₀");
        AssertJet(SeriesReference(x, s => s * s), RunJetTransform(Tracer.Function(Fn.Square, new Shape(4)), 4, x), 1e-12, "x² at negative x₀");
    }

    [Fact]
    public void JetOfOrderZeroIsTheFunction()
    {
        var net = Net(3, Activation.Softplus);
        var x = Randn(117, 4, 3);
        var g = Tracer.Function(xx => net.Apply(xx), x.Shape);
        var jg = Jet.Transform(g, 0);
        Assert.Single(jg.Inputs);
        AssertClose(Run(g, x)[0], Run(jg, x)[0], 0, "y₀ of a 0-jet");
    }

    [Fact]
    public void Float32JetsAgreeWithFloat64()
    {
        var net64 = Net(3, Activation.Tanh);
        var net32 = Mlp.Create(3, [6, 5], 2, Activation.Tanh, seed: 3, dtype: DType.Float32);
        var x = Enumerable.Range(0, 4).Select(k => Randn(118 + k, 4, 3)).ToArray();
        var y64 = RunJetTransform(Tracer.Function(xx => net64.Apply(xx), x[0].Shape), 3, x);
        var y32 = Runtime.Executable.Compile(Jet.Transform(Tracer.Function(xx => net32.Apply(xx), x[0].Shape, DType.Float32), 3))
            .Run([.. x.Select(t => t.To<float>())]);
        for (int k = 0; k <= 3; k++)
        {
            Assert.Equal(DType.Float32, y32[k].DType);
            AssertClose(y64[k], y32[k].To<double>(), 1e-5, $"float32 y_{k}");
        }
    }

    // ---- MLPs ------------------------------------------------------------------------------------

    public static TheoryData<Activation, int> MlpOrders
    {
        get
        {
            var data = new TheoryData<Activation, int>();
            foreach (var a in new[] { Activation.Tanh, Activation.Sigmoid, Activation.Softplus, Activation.Sin })
                for (int k = 1; k <= 4; k++) data.Add(a, k);
            return data;
        }
    }

    [Theory, MemberData(nameof(MlpOrders))]
    public void MlpJetAlongADirectionEqualsNestedJvps(Activation act, int order)
    {
        var net = Net(3, act);
        var x = Randn(120, 4, 3);
        var v = Randn(121, 4, 3);
        var g = Tracer.Function(xx => net.Apply(xx), x.Shape);
        var nested = Run(NestedDirectional(g, order), x, v)[0];

        var coefficients = new NDArray<double>?[order];
        coefficients[0] = v;
        var structural = RunJet(g, [x], [coefficients], order);
        AssertClose(nested, structural[order], 1e-10, $"{act} y_{order} with null x₂..x_K vs {order} nested JVPs");
        var dense = RunJetTransform(g, order, [x, v, .. Enumerable.Range(1, order - 1).Select(_ => new NDArray<double>(x.Shape))]);
        AssertClose(nested, dense[order], 1e-10, $"{act} y_{order} with zero tensors x₂..x_K vs {order} nested JVPs");
        for (int k = 0; k <= order; k++)
            AssertClose(structural[k], dense[k], 1e-13, $"{act} coefficient {k}: null vs zero-tensor coefficients");
    }

    [Theory, MemberData(nameof(SmoothActivations))]
    public void MlpJetWithAllCoefficientsMatchesDifferencesInT(Activation act)
    {
        // y₂ = d²/dt² f(x₀ + t·x₁ + t²/2·x₂) with x₁, x₂ both non-zero.
        var net = Net(3, act);
        var x0 = Randn(130, 4, 3);
        var x1 = Randn(131, 4, 3);
        var x2 = Randn(132, 4, 3);
        var g = Tracer.Function(xx => net.Apply(xx), x0.Shape);
        var y = RunJetTransform(g, 2, x0, x1, x2);
        AssertClose(Run(g, x0)[0], y[0], 1e-15, $"{act} y₀");
        AssertClose(Directional(g, [x0], [x1]), y[1], 1e-6, $"{act} y₁");
        AssertClose(SecondAlongPath(g, [x0], [x1], [x2]), y[2], 1e-6, $"{act} y₂");
    }

    public static TheoryData<int, int[]> Prefixes => new() { { 2, [3] }, { 3, [3] }, { 4, [2, 3] } };

    [Theory, MemberData(nameof(Prefixes))]
    public void JetsWithADirectionPrefixEqualSingleDirectionJets(int order, int[] prefix)
    {
        var net = Net(3, Activation.Tanh);
        var x0 = Randn(140, 4, 3);
        var g = Tracer.Function(xx => net.Apply(xx), x0.Shape);
        var p = new Shape(prefix);
        var coefs = Enumerable.Range(1, order).Select(k => Scale(Randn(140 + k, [.. prefix, 4, 3]), 0.7)).ToArray();
        var batched = Run(Jet.Transform(g, order, p), [x0, .. coefs]);
        var single = Jet.Transform(g, order);
        int count = p.Size;
        for (int r = 0; r < count; r++)
        {
            NDArray<double> Slice(NDArray<double> t) { int inner = t.Size / count; return new(t.Shape.Skip(p.Rank), t.Data[(r * inner)..((r + 1) * inner)]); }
            var y = Run(single, [x0, .. coefs.Select(Slice)]);
            AssertClose(y[0], batched[0], 1e-15, $"y₀ (no direction axes) for prefix {p}");
            for (int k = 1; k <= order; k++)
                AssertClose(y[k], Slice(batched[k]), 1e-13, $"y_{k}, direction {r} of prefix {p}");
        }
    }

    [Fact]
    public void PrimalIsNotReplicatedAlongTheDirectionAxis()
    {
        // In the jet graph, everything computed from x₀ alone (the primal pass and the derivative
        // tables f⁽ᵐ⁾(x₀)) must be computed once, without the direction axis. R = 7 differs from
        // every extent of the network, so an extent 7 in a shape can only be a direction axis.
        const int R = 7;
        var net = Mlp.Create(3, [5, 6], 2, Activation.Tanh, seed: 4);
        var g = Tracer.Function(xx => net.Apply(xx), new Shape(4, 3));
        var jg = Jet.Transform(g, 3, new Shape(R));

        var dependent = new HashSet<Node>(jg.Inputs.Skip(1));
        foreach (var n in jg.Nodes)
            if (n.Inputs.Any(dependent.Contains)) dependent.Add(n);
        var independent = jg.Nodes.Where(n => !dependent.Contains(n)).ToList();
        Assert.Contains(independent, n => n.Op.Name == "tanh");
        foreach (var n in independent)
            Assert.True(!n.Shape.Contains(R), $"node computed from x₀ alone carries the direction axis: {n}");
        foreach (var n in dependent)
            Assert.True(n.Rank > 0 && n.Shape[0] == R, $"node depending on a coefficient lacks the leading direction axis: {n}");
        // Activations are evaluated on primals only: as many tanh nodes as in the original graph.
        Assert.Equal(g.Nodes.Count(n => n.Op.Name == "tanh"), jg.Nodes.Count(n => n.Op.Name == "tanh"));
    }

    [Theory, MemberData(nameof(SmoothActivations))]
    public void GradOfAJetCoefficientWithRespectToParameters(Activation act)
    {
        // S(θ) = Σ ⟨∂²f_θ(x₀), v⊗v⟩ (the order-2 coefficient, as in a PINN loss); ∇_θ S by reverse mode
        // through the jet graph, against differences of S along random parameter directions.
        var net = Mlp.Create(3, [6, 5], 1, act, seed: 6);
        var x0 = Randn(150, 4, 3);
        var v = Randn(151, 4, 3);
        var shapes = net.ParameterShapes;
        var fg = Tracer.Function(xs => net.Apply(xs[..^1], xs[^1]), [.. shapes, x0.Shape]);

        var sg = new Graph(DType.Float64);
        var ps = shapes.Select(s => sg.Input(s)).ToArray();
        var coefs = ps.Select(_ => new Node?[2]).Append([sg.Constant(v), null]).ToArray();
        var y = Jet.Apply(fg, [.. ps, sg.Constant(x0)], coefs, 2, default)[0];
        sg.SetOutputs(Fn.Sum(y[2]!));

        var theta = net.Parameters.Cast<NDArray<double>>().ToArray();
        var grads = Run(Vjp.Grad(sg), theta)[1..];
        for (int i = 0; i < theta.Length; i++)
        {
            var dirs = theta.Select((t, j) => j == i ? Randn(160 + j, [.. t.Shape]) : new NDArray<double>(t.Shape)).ToArray();
            var fd = Directional(sg, theta, dirs).ToScalar();
            AssertClose(fd, Dot(grads[i], dirs[i]), 1e-6, $"{act}: ⟨∂S/∂θ_{i}, δ⟩", scale: AbsDot(grads[i], dirs[i]));
        }
    }

    [Theory, MemberData(nameof(SmoothActivations))]
    public void JetOfAGradientGraphEqualsNestedJvps(Activation act)
    {
        const int K = 3;
        var net = Mlp.Create(3, [6, 5], 1, act, seed: 7);
        var x = Randn(170, 4, 3);
        var v = Randn(171, 4, 3);
        var grad = Vjp.Grad(Tracer.Function(xx => Fn.Sum(net.Apply(xx)), x.Shape));
        var y = RunJet(grad, [x], [[v, null, null]], K, output: 1);
        for (int k = 1; k <= K; k++)
            AssertClose(Run(NestedDirectional(grad, k, output: 1), x, v)[0], y[k], 1e-10, $"{act}: ⟨∂^{k}∇f, v^{k}⟩");
    }

    [Theory, MemberData(nameof(SmoothActivations))]
    public void JetOfAJetAgreesWithTheOrderFourJet(Activation act)
    {
        // J(x₀, x₁, x₂) = (y₀, y₁, y₂) is the 2-jet graph. Its own 2-jet along x₀ → x₀ + s·u (x₁ = v and
        // x₂ = 0 held fixed) has ∂²_s y₂ = ⟨∂⁴f, u⊗u⊗v⊗v⟩ and ∂²_s y₁ = ⟨∂³f, u⊗u⊗v⟩. With F_K(w) = ⟨∂ᴷf, w^⊗K⟩
        // from direct jets, polarization gives T(u,u,v,v) = [F₄(u+v) + F₄(u−v) − 2F₄(u) − 2F₄(v)]/12 and
        // T(u,u,v) = [F₃(u+v) − F₃(u−v) − 2F₃(v)]/6.
        var net = Net(3, act);
        var x0 = Randn(180, 4, 3);
        var u = Randn(181, 4, 3);
        var v = Randn(182, 4, 3);
        var g = Tracer.Function(xx => net.Apply(xx), x0.Shape);
        var j2 = Jet.Transform(g, 2);

        var h = new Graph(DType.Float64);
        var X = h.Input(x0.Shape, "x0");
        var U = h.Input(u.Shape, "u");
        var V = h.Input(v.Shape, "v");
        var outer = Jet.Apply(j2, [X, V, Fn.Zeros(h, x0.Shape)], [[U, null], [null, null], [null, null]], 2, default);
        h.SetOutputs(outer[0][2]!, outer[1][2]!, outer[2][2]!, outer[2][0]!);
        var r = Run(h, x0, u, v);

        NDArray<double> F(int k, NDArray<double> w) { var c = new NDArray<double>?[k]; c[0] = w; return RunJet(g, [x0], [c], k)[k]; }
        var upv = Combine(u, v, (a, b) => a + b);
        var umv = Combine(u, v, (a, b) => a - b);
        var t4 = Combine(Combine(F(4, upv), F(4, umv), (a, b) => a + b), Combine(F(4, u), F(4, v), (a, b) => a + b), (a, b) => (a - 2 * b) / 12);
        var t3 = Combine(Combine(F(3, upv), F(3, umv), (a, b) => a - b), F(3, v), (a, b) => (a - 2 * b) / 6);

        AssertClose(F(2, u), r[0], 1e-12, $"{act}: ∂²_s y₀ = ⟨∂²f, u⊗u⟩");
        AssertClose(t3, r[1], 1e-10, $"{act}: ∂²_s y₁ = ⟨∂³f, u⊗u⊗v⟩");
        AssertClose(t4, r[2], 1e-10, $"{act}: ∂²_s y₂ = ⟨∂⁴f, u⊗u⊗v⊗v⟩");
        AssertClose(F(2, v), r[3], 1e-12, $"{act}: y₂ of the inner jet = ⟨∂²f, v⊗v⟩");
    }

    // ---- Laplacians --------------------------------------------------------------------------------

    public static TheoryData<int, Activation, int> LaplacianNets => new()
    {
        { 5, Activation.Tanh, 1 }, { 6, Activation.Sigmoid, 1 }, { 7, Activation.Softplus, 1 }, { 8, Activation.Sin, 1 },
        { 6, Activation.Tanh, 3 }, { 5, Activation.Sin, 2 },
    };

    [Theory, MemberData(nameof(LaplacianNets))]
    public void StandardTaylorLaplacianEqualsNestedLaplacian(int d, Activation act, int outputs)
    {
        var net = Mlp.Create(d, [12, 10], outputs, act, seed: d);
        var x = Randn(190 + d, 3, d);
        var standard = Pde.Laplacian(xx => net.Apply(xx), x, Strategy.StandardTaylor);
        var nested = Pde.Laplacian(xx => net.Apply(xx), x, Strategy.NestedFirstOrder);
        Assert.Equal(new Shape(3, outputs), standard.Shape);
        AssertClose(nested, standard, 1e-10, $"Δf, D = {d}, {act}, {outputs} output(s)");
    }

    [Fact]
    public void LaplacianOfAFunctionWithSeveralOutputAxes()
    {
        // f: [N, D] → [N, 2, 2]; every output entry gets its own Laplacian.
        var net = Mlp.Create(5, [8], 4, Activation.Tanh, seed: 12);
        Func<Node, Node> f = xx => Fn.Reshape(net.Apply(xx), 3, 2, 2);
        var x = Randn(195, 3, 5);
        var standard = Pde.Laplacian(f, x, Strategy.StandardTaylor);
        Assert.Equal(new Shape(3, 2, 2), standard.Shape);
        var flat = Pde.Laplacian(xx => net.Apply(xx), x, Strategy.NestedFirstOrder);
        AssertClose(new NDArray<double>(new Shape(3, 2, 2), flat.Data), standard, 1e-10, "Δf for f: [N, D] → [N, 2, 2]");
        AssertClose(standard, Pde.Laplacian(f, x, Strategy.NestedFirstOrder), 1e-10, "nested Δf for f: [N, D] → [N, 2, 2]");
    }

    [Fact]
    public void Float32LaplacianAgreesWithFloat64()
    {
        var net64 = Mlp.Create(6, [10], 1, Activation.Sigmoid, seed: 13);
        var net32 = Mlp.Create(6, [10], 1, Activation.Sigmoid, seed: 13, dtype: DType.Float32);
        var x = Randn(196, 3, 6);
        var lap64 = Pde.Laplacian(xx => net64.Apply(xx), x, Strategy.StandardTaylor);
        foreach (var strategy in new[] { Strategy.StandardTaylor, Strategy.NestedFirstOrder })
            AssertClose(lap64, Pde.Laplacian(xx => net32.Apply(xx), x.To<float>(), strategy).To<double>(), 1e-4, $"float32 Δf, {strategy}");
    }

    [Theory, MemberData(nameof(SmoothActivations))]
    public void StandardTaylorDirectionalSumEqualsNestedForRandomDirections(Activation act)
    {
        // Σ_r ⟨∂²f, v_r⊗v_r⟩ with per-datum random directions [R, N, D] (the weighted / stochastic form).
        var net = Mlp.Create(5, [9], 1, act, seed: 14);
        var fg = Tracer.Function(xx => net.Apply(xx), new Shape(3, 5));
        var h = new Graph(DType.Float64);
        var x = h.Input(new Shape(3, 5), "x");
        var v = h.Input(new Shape(4, 3, 5), "v");
        h.SetOutputs(Operators.DirectionalSums.StandardTaylor(fg, [x], v, 2), Operators.DirectionalSums.QuadraticForms(fg, [x], v));
        var r = Run(h, Randn(197, 3, 5), Randn(198, 4, 3, 5));
        AssertClose(r[1], r[0], 1e-10, $"{act}: Σ_r ⟨∂²f, v_r⊗v_r⟩, standard vs nested");
    }

    [Fact]
    public void FourthOrderDirectionalSumOfTheQuarticNorm()
    {
        // f = |x|⁴ per datum: along x + t·v, the t⁴ coefficient of |x + tv|⁴ is |v|⁴, so ⟨∂⁴f, v^⊗4⟩ = 24|v|⁴,
        // and over the basis Σ_d ⟨∂⁴f, e_d^⊗4⟩ = 24·D.
        const int D = 4;
        var fg = Tracer.Function(xx => Fn.Square(Fn.Sum(xx * xx, 1, keepDims: true)), new Shape(3, D));
        var h = new Graph(DType.Float64);
        var x = h.Input(new Shape(3, D), "x");
        var v = h.Input(new Shape(2, 3, D), "v");
        h.SetOutputs(
            Operators.DirectionalSums.StandardTaylor(fg, [x], Fn.BroadcastTo(Fn.Reshape(h.Constant(NDArray.Identity<double>(D)), D, 1, D), new Shape(D, 3, D)), 4),
            Operators.DirectionalSums.StandardTaylor(fg, [x], v, 4));
        var vs = Randn(199, 2, 3, D);
        var r = Run(h, Randn(200, 3, D), vs);
        AssertClose(NDArray.Full(new Shape(3, 1), 24.0 * D), r[0], 1e-13, "Σ_d ⟨∂⁴|x|⁴, e_d^⊗4⟩");
        var expected = new NDArray<double>(new Shape(3, 1));
        for (int n = 0; n < 3; n++)
            for (int s = 0; s < 2; s++)
            {
                double v2 = 0;
                for (int d = 0; d < D; d++) v2 += Math.Pow(vs[s, n, d], 2);
                expected.Data[n] += 24 * v2 * v2;
            }
        AssertClose(expected, r[1], 1e-13, "Σ_s ⟨∂⁴|x|⁴, v_s^⊗4⟩");
    }

    public static TheoryData<string, int> ClosedFormLaplacians => new()
    {
        { "Σ sin·exp", 5 }, { "Σ sin·exp", 8 }, { "exp(-|x|²)", 5 }, { "exp(-|x|²)", 7 }, { "|x|⁴", 6 }, { "|x|⁴", 8 },
    };

    [Theory, MemberData(nameof(ClosedFormLaplacians))]
    public void LaplacianMatchesClosedForm(string name, int d)
    {
        // Per-datum functions of x [N, D] (sums over axis 1 with keepDims), with Laplacians known exactly:
        // Σ g″(x_i) for g = sin·e^(−x²); e^(−r²)(4r² − 2D); (4D + 8)·r² for r⁴.
        var x = Scale(Randn(200 + d, 3, d), 0.6);
        Func<Node, Node> f = name switch
        {
            "Σ sin·exp" => xx => Fn.Sum(Fn.Sin(xx) * Fn.Exp(-xx * xx), 1, keepDims: true),
            "exp(-|x|²)" => xx => Fn.Exp(-Fn.Sum(xx * xx, 1, keepDims: true)),
            _ => xx => Fn.Square(Fn.Sum(xx * xx, 1, keepDims: true)),
        };
        var expected = new NDArray<double>(new Shape(3, 1));
        for (int n = 0; n < 3; n++)
        {
            var row = x.Data[(n * d)..((n + 1) * d)];
            double r2 = row.Sum(v => v * v);
            expected.Data[n] = name switch
            {
                "Σ sin·exp" => row.Sum(t => Math.Exp(-t * t) * ((4 * t * t - 3) * Math.Sin(t) - 4 * t * Math.Cos(t))),
                "exp(-|x|²)" => Math.Exp(-r2) * (4 * r2 - 2 * d),
                _ => (4 * d + 8) * r2,
            };
        }
        AssertClose(expected, Pde.Laplacian(f, x, Strategy.StandardTaylor), 1e-12, $"{name}, D = {d}, standard Taylor");
        AssertClose(expected, Pde.Laplacian(f, x, Strategy.NestedFirstOrder), 1e-12, $"{name}, D = {d}, nested");
    }
}
