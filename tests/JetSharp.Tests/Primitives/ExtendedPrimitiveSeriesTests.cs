using JetSharp.Backend;
using JetSharp.Primitives.LinearAlgebra;
using JetSharp.Transforms;
using static JetSharp.Tests.Numeric;

namespace JetSharp.Tests;

/// <summary>
/// Independent references for the extended set beyond nested JVPs: 6-jets of every smooth elementwise
/// function against the classical power-series recurrences (each function from an ODE it satisfies,
/// y′ = g(x)·x′, integrated term by term); special-function values against tabulated ones; determinant
/// jets at nearly singular matrices against the exact polynomial det(A₀ + tA₁ + …); and bad shapes.
/// </summary>
public class ExtendedPrimitiveSeriesTests
{
    /// <summary>y with y′ = g·a′ and y(0) = y₀: k·y_k = Σ_(j=1..k) j·a_j·g_(k−j) (normalized coefficients).</summary>
    private static PowerSeries Antiderivative(PowerSeries a, double y0, PowerSeries g)
    {
        var y = new double[a.C.Length];
        y[0] = y0;
        for (int k = 1; k < y.Length; k++)
        {
            double s = 0;
            for (int j = 1; j <= k; j++) s += j * a[j] * g[k - j];
            y[k] = s / k;
        }
        return new(y);
    }

    private static PowerSeries One(int order) => PowerSeries.Constant(1, order);
    private static PowerSeries Scaled(PowerSeries a, double s) => new([.. a.C.Select(v => v * s)]);
    private const double TwoOverSqrtPi = 1.1283791670955126;

    private static double Phi(double x) => 0.5 * (1 + SpecialFunctions.Erf(x / Math.Sqrt(2)));

    /// <summary>Each function's series from f′ written in series arithmetic (the value at a₀ from System.Math or the erf tested below).</summary>
    private static readonly Dictionary<string, (Func<Node, Node> F, Func<PowerSeries, PowerSeries> S, Func<Shape, long, NDArray<double>> D)> Functions = new()
    {
        ["expm1"] = (Fn.Expm1, a => a.Exp() - One(a.Order), ExtendedCases.Any),
        ["log1p"] = (Fn.Log1p, a => (a + 1).Log(), ExtendedCases.Positive),
        ["rsqrt"] = (Fn.Rsqrt, a => a.Pow(-0.5), ExtendedCases.Positive),
        ["cbrt"] = (Fn.Cbrt, a => a[0] > 0 ? a.Pow(1.0 / 3) : -(-a).Pow(1.0 / 3), ExtendedCases.AwayFromZero),
        ["reciprocal"] = (Fn.Reciprocal, a => One(a.Order) / a, ExtendedCases.AwayFromZero),
        ["tan"] = (Fn.Tan, a => a.Sin() / a.Cos(), ExtendedCases.Unit),
        ["asin"] = (Fn.Asin, a => Antiderivative(a, Math.Asin(a[0]), One(a.Order) / (1 - a * a).Sqrt()), ExtendedCases.Unit),
        ["acos"] = (Fn.Acos, a => Antiderivative(a, Math.Acos(a[0]), -(One(a.Order) / (1 - a * a).Sqrt())), ExtendedCases.Unit),
        ["atan"] = (Fn.Atan, a => Antiderivative(a, Math.Atan(a[0]), One(a.Order) / (a * a + 1)), ExtendedCases.Any),
        ["sinh"] = (Fn.Sinh, a => Scaled(a.Exp() - (-a).Exp(), 0.5), ExtendedCases.Any),
        ["cosh"] = (Fn.Cosh, a => Scaled(a.Exp() + (-a).Exp(), 0.5), ExtendedCases.Any),
        ["asinh"] = (Fn.Asinh, a => Antiderivative(a, Math.Asinh(a[0]), One(a.Order) / (a * a + 1).Sqrt()), ExtendedCases.Any),
        ["acosh"] = (Fn.Acosh, a => Antiderivative(a, Math.Acosh(a[0]), One(a.Order) / (a * a - One(a.Order)).Sqrt()), ExtendedCases.AboveOne),
        ["atanh"] = (Fn.Atanh, a => Antiderivative(a, Math.Atanh(a[0]), One(a.Order) / (1 - a * a)), ExtendedCases.Unit),
        ["erf"] = (Fn.Erf, a => Antiderivative(a, SpecialFunctions.Erf(a[0]), Scaled((-(a * a)).Exp(), TwoOverSqrtPi)), ExtendedCases.Any),
        ["erfc"] = (Fn.Erfc, a => Antiderivative(a, SpecialFunctions.Erfc(a[0]), Scaled((-(a * a)).Exp(), -TwoOverSqrtPi)), ExtendedCases.Any),
        ["gelu"] = (Fn.Gelu, a => a * Antiderivative(a, Phi(a[0]), Scaled(Scaled(a * a, -0.5).Exp(), 1 / Math.Sqrt(2 * Math.PI))), ExtendedCases.Any),
        ["silu"] = (Fn.Silu, a => a * a.Sigmoid(), ExtendedCases.Any),
        ["log_sigmoid"] = (Fn.LogSigmoid, a => Antiderivative(a, -Math.Log(1 + Math.Exp(-a[0])), One(a.Order) - a.Sigmoid()), ExtendedCases.Any),
        ["mish"] = (Fn.Mish, a => a * a.Softplus().Tanh(), ExtendedCases.Any),
        ["gelu_tanh"] = (Fn.GeluTanh, a => Scaled(a * ((Scaled(a + Scaled(a * a * a, 0.044715), Math.Sqrt(2 / Math.PI))).Tanh() + 1), 0.5), ExtendedCases.Any),
    };

    public static TheoryData<string> FunctionNames => [.. Functions.Keys];

    [Theory, MemberData(nameof(FunctionNames))]
    public void SixJetMatchesThePowerSeries(string name)
    {
        const int order = 6;
        var (f, series, domain) = Functions[name];
        var shape = new Shape(7);
        var x = new[] { domain(shape, 11) }.Concat(Enumerable.Range(1, order).Select(k => Scale(NDArray.RandomNormal<double>(shape, 20 + k), 0.5))).ToArray();
        var jet = Run(Jet.Transform(Tracer.Function(f, shape), order), x);
        for (int e = 0; e < shape[0]; e++)
        {
            var d = series(PowerSeries.FromDerivatives([.. x.Select(t => t.Data[e])])).ToDerivatives();
            double scale = d.Max(Math.Abs);
            for (int k = 0; k <= order; k++)
                AssertClose(d[k], jet[k].Data[e], 1e-9, $"{name} at {x[0].Data[e]:F3}, coefficient {k}", scale: Math.Max(scale * 1e-3, 1e-6));
        }
    }

    [Fact]
    public void ErrorFunctionsMatchTabulatedValues()
    {
        (double X, double Erf, double Erfc)[] table =
        [
            (0, 0, 1), (0.5, 0.5204998778130465, 0.4795001221869535), (1, 0.8427007929497149, 0.15729920705028513),
            (2, 0.9953222650189527, 0.004677734981047266), (3, 0.9999779095030014, 2.209049699858544e-05),
            (5, 0.9999999999984626, 1.5374597944280349e-12), (10, 1, 2.088487583762545e-45), (-1, -0.8427007929497149, 1.8427007929497148),
        ];
        var xs = NDArray.FromArray(table.Select(t => t.X).ToArray());
        var erf = TestUtil.Eval(v => Fn.Erf(v[0]), xs);
        var erfc = TestUtil.Eval(v => Fn.Erfc(v[0]), xs);
        for (int i = 0; i < table.Length; i++)
        {
            Assert.True(Math.Abs(erf.Data[i] - table[i].Erf) <= 2e-16 + 1e-15 * Math.Abs(table[i].Erf), $"erf({table[i].X}) = {erf.Data[i]:R}, expected {table[i].Erf:R}");
            Assert.True(Math.Abs(erfc.Data[i] - table[i].Erfc) <= 5e-13 * table[i].Erfc, $"erfc({table[i].X}) = {erfc.Data[i]:R}, expected {table[i].Erfc:R}");
        }
        // GELU: x·Φ(x), with Φ(1) = 0.8413447460685429.
        Assert.Equal(0.8413447460685429, TestUtil.Eval(v => Fn.Gelu(v[0]), TestUtil.T(1.0)).Data[0], 14);
    }

    /// <summary>det of a 3×3 matrix by cofactors (the reference; no pivoting, no LU).</summary>
    private static double Det3(double[] m) =>
        m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);

    /// <summary>
    /// ln|det| keeps its relative accuracy however close A₀ is to singular (its rule works relative to A₀);
    /// det's rule (pivoted Schur complement) keeps its accuracy up to and at a matrix of rank n − 1 (gap 0),
    /// where ln|det| has no derivatives and is not checked.
    /// </summary>
    [Theory]
    [InlineData(1e-1)]
    [InlineData(1e-3)]
    [InlineData(1e-7)]
    [InlineData(0.0)]
    public void DeterminantJetsAtNearlySingularMatricesMatchTheExactPolynomial(double gap)
    {
        // A₀ = u·vᵀ + w·zᵀ + gap·I is within `gap` of rank 2; along A(t) = A₀ + tA₁ + t²/2·A₂, det is a polynomial of
        // degree 6 in t, recovered exactly from 7 cofactor evaluations; its derivatives at 0 are the reference.
        double[] u = [1, 2, -1], v = [0.5, -1, 2], w = [2, 0.3, 1], z = [-1, 1, 0.4];
        var a0 = new double[9];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) a0[i * 3 + j] = u[i] * v[j] + w[i] * z[j] + (i == j ? gap : 0);
        var a1 = NDArray.RandomNormal<double>(new Shape(3, 3), 5).Data;
        var a2 = NDArray.RandomNormal<double>(new Shape(3, 3), 6).Data;
        double P(double t) => Det3([.. Enumerable.Range(0, 9).Select(i => a0[i] + t * a1[i] + t * t / 2 * a2[i])]);
        // Coefficients c_0..c_6 of the polynomial by solving the Vandermonde system at t = −3..3 (exact in rational arithmetic up to rounding).
        var ts = Enumerable.Range(-3, 7).Select(i => (double)i).ToArray();
        var vand = new double[7, 8];
        for (int r = 0; r < 7; r++)
        {
            for (int c = 0; c < 7; c++) vand[r, c] = Math.Pow(ts[r], c);
            vand[r, 7] = P(ts[r]);
        }
        var coef = SolveDense(vand, 7);
        var derivatives = coef.Select((c, k) => c * PowerSeries.Factorial(k)).ToArray();

        const int order = 4;
        var g = Tracer.Function(x => Linalg.Det(x[0]), [new Shape(3, 3)]);
        var inputs = new[] { new NDArray<double>(new Shape(3, 3), a0), new NDArray<double>(new Shape(3, 3), a1), new NDArray<double>(new Shape(3, 3), a2),
            new NDArray<double>(new Shape(3, 3)), new NDArray<double>(new Shape(3, 3)) };
        var jet = Run(Jet.Transform(g, order), inputs);
        double scale = derivatives.Take(order + 1).Max(Math.Abs);
        for (int k = 0; k <= order; k++)
            AssertClose(derivatives[k], jet[k].Data[0], 1e-12, $"det jet coefficient {k} at gap {gap}", scale: scale);
        if (gap == 0) return;

        // ln|det|: the series log of the same polynomial (whose own coefficients, from 7 evaluations, are good to ~1e-13 absolute: 1e-6 relative to det ~ 1e-7).
        var log = new PowerSeries([.. coef.Take(order + 1)]).Log().ToDerivatives();
        var lg = Run(Jet.Transform(Tracer.Function(x => Linalg.LogAbsDet(x[0]), [new Shape(3, 3)]), order), inputs);
        for (int k = 1; k <= order; k++)
            AssertClose(log[k], lg[k].Data[0], 1e-5, $"logabsdet jet coefficient {k} at gap {gap}", scale: Math.Abs(log[k]));
    }

    private static double[] SolveDense(double[,] m, int n)
    {
        for (int k = 0; k < n; k++)
        {
            int p = Enumerable.Range(k, n - k).MaxBy(i => Math.Abs(m[i, k]));
            for (int j = 0; j <= n; j++) (m[k, j], m[p, j]) = (m[p, j], m[k, j]);
            for (int i = k + 1; i < n; i++)
            {
                double l = m[i, k] / m[k, k];
                for (int j = k; j <= n; j++) m[i, j] -= l * m[k, j];
            }
        }
        var x = new double[n];
        for (int i = n - 1; i >= 0; i--)
        {
            double s = m[i, n];
            for (int j = i + 1; j < n; j++) s -= m[i, j] * x[j];
            x[i] = s / m[i, i];
        }
        return x;
    }

    public static TheoryData<string> BadShapeNames => [.. BadShapes.Keys];

    private static readonly Dictionary<string, (Func<Node[], Node> F, Shape[] Shapes, string Expect)> BadShapes = new()
    {
        ["pow"] = (x => Fn.Pow(x[0], x[1]), [new(3), new(4)], "pow"),
        ["atan2"] = (x => Fn.Atan2(x[0], x[1]), [new(2, 3), new(3, 2)], "atan2"),
        ["where"] = (x => Fn.Where(x[0], x[1], x[2]), [new(3), new(3), new(2)], "where"),
        ["maximum"] = (x => Fn.Maximum(x[0], x[1]), [new(3), new(4)], "maximum"),
        ["less"] = (x => Fn.Less(x[0], x[1]), [new(3), new(4)], "less"),
        ["reduce_max axis"] = (x => Fn.Max(x[0], 2), [new(2, 3)], "reduce_max"),
        ["prod repeated axis"] = (x => Fn.Prod(x[0], [1, -1]), [new(2, 3)], "prod"),
        ["reduce_max empty"] = (x => Fn.Max(x[0], 1), [new(2, 0)], "empty"),
        ["cumsum axis"] = (x => Fn.CumSum(x[0], 3), [new(2, 3)], "cumsum"),
        ["variance ddof"] = (x => Fn.Variance(x[0], [0], ddof: 2), [new(2, 3)], "variance"),
        ["take index"] = (x => Fn.Take(x[0], [0, 3], 1), [new(2, 3)], "take"),
        ["take negative index"] = (x => Fn.Take(x[0], [-1], 0), [new(2, 3)], "take"),
        ["scatter_add updates"] = (x => Fn.ScatterAdd(x[0], [0, 1], x[1], 1), [new(2, 3), new(2, 3)], "scatter_add"),
        ["scatter_add index"] = (x => Fn.ScatterAdd(x[0], [0, 5], x[1], 1), [new(2, 3), new(2, 2)], "scatter_add"),
        ["slice step 0"] = (x => Fn.Slice(x[0], 0, 0, 2, 0), [new(3)], "step 0"),
        ["slice outside"] = (x => Fn.Slice(x[0], 0, 1, 7, 2), [new(3)], "slice"),
        ["stack"] = (x => Fn.Stack(0, x[0], x[1]), [new(2, 3), new(3, 2)], "stack"),
        ["split"] = (x => Fn.Split(x[0], 1, 1, 1)[0], [new(2, 3)], "split"),
        ["squeeze"] = (x => Fn.Squeeze(x[0], 0), [new(2, 3)], "squeeze"),
        ["tile"] = (x => Fn.Tile(x[0], 2), [new(2, 3)], "tile"),
        ["repeat"] = (x => Fn.Repeat(x[0], 0, 1), [new(2, 3)], "repeat"),
        ["einsum extents"] = (x => Fn.Einsum("ij,jk->ik", x[0], x[1]), [new(2, 3), new(4, 2)], "einsum"),
        ["einsum terms"] = (x => Fn.Einsum("ij,jk->ik", x[0]), [new(2, 3)], "einsum"),
        ["einsum rank"] = (x => Fn.Einsum("ijk->i", x[0]), [new(2, 3)], "einsum"),
        ["einsum output"] = (x => Fn.Einsum("ij->iz", x[0]), [new(2, 3)], "einsum"),
        ["solve square"] = (x => Linalg.Solve(x[0], x[1]), [new(2, 3), new(2, 1)], "solve"),
        ["solve rows"] = (x => Linalg.Solve(x[0], x[1]), [new(3, 3), new(2, 1)], "solve"),
        ["solve batch"] = (x => Linalg.Solve(x[0], x[1]), [new(2, 3, 3), new(4, 3, 1)], "solve"),
        ["det square"] = (x => Linalg.Det(x[0]), [new(2, 3)], "det"),
        ["inverse square"] = (x => Linalg.Inverse(x[0]), [new(3)], "inverse"),
        ["trace square"] = (x => Linalg.Trace(x[0]), [new(2, 3)], "trace"),
        ["attention"] = (x => Fn.Attention(x[0], x[1], x[2]), [new(3, 2), new(4, 3), new(4, 2)], "attention"),
        ["attention causal"] = (x => Fn.Attention(x[0], x[1], x[2], causal: true), [new(3, 2), new(4, 2), new(4, 2)], "causal"),
        ["multi-head heads"] = (x => Fn.MultiHeadAttention(x[0], x[1], x[1], x[1], x[1], heads: 3), [new(2, 4), new(4, 4)], "heads"),
        ["layer_norm rank"] = (x => Fn.LayerNorm(x[0], normalizedRank: 3), [new(2, 3)], "layer_norm"),
    };

    [Theory, MemberData(nameof(BadShapeNames))]
    public void BadShapesAreRejectedWithTheOperationNamed(string name)
    {
        var (f, shapes, expect) = BadShapes[name];
        var e = Assert.Throws<ShapeException>(() => Tracer.Function(f, shapes));
        Assert.Contains(expect, e.Message);
    }

    [Fact]
    public void ElementwiseFunctionsComputeInFloat32Too()
    {
        var x = NDArray.FromArray(new[] { -1.5f, -0.2f, 0.3f, 0.9f });
        foreach (var (name, f, r) in new (string, Func<Node, Node>, Func<double, double>)[]
        {
            ("erf", Fn.Erf, SpecialFunctions.Erf), ("atan", Fn.Atan, Math.Atan), ("silu", Fn.Silu, v => v / (1 + Math.Exp(-v))), ("abs", Fn.Abs, Math.Abs),
        })
        {
            var g = Tracer.Function(f, x.Shape, DType.Float32);
            var y = Runtime.Executable.Compile(g).Run([x])[0] as NDArray<float>;
            for (int i = 0; i < x.Size; i++) Assert.Equal(r(x.Data[i]), y!.Data[i], 5);
        }
    }
}
