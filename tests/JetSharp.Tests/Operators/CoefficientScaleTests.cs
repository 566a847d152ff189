using Xunit.Abstractions;
using static JetSharp.Tests.TestUtil;
using static JetSharp.Tests.OperatorTestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Issue 15, defects 1 and 2: every finite non-zero coefficient of an operator counts, whatever its
/// magnitude next to the others (no relative threshold drops a term or an eigenvalue), and non-finite
/// coefficients are errors rather than silently ignored terms.
/// </summary>
public class CoefficientScaleTests(ITestOutputHelper output)
{
    private static Node Y(Node v) => Fn.Slice(v, 1, 1, 1);

    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void LargeSecondOrderCoefficientDoesNotHideSmallOne(string strategy)
    {
        // 1e15·∂xx + ∂yy of y² is 2 (was 0: the ∂yy weight fell below 1e-14 of the largest). Both weights share one
        // family, so the ∂yy direction carries the root (w/S)^{1/2} of a ratio 2^-49: exact to an ulp, not bit for bit.
        var x = Randn(1, 3, 2);
        var r = Pde.Linear(v => Fn.Square(Y(v)), x, [(1e15, "xx"), (1.0, "yy")], "xy", Strategy.FromName(strategy));
        Assert.All(r.Data, v => Assert.Equal(2.0, v, 4e-16 * 2));
    }

    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void LargeFirstOrderCoefficientDoesNotHideSmallOne(string strategy)
    {
        // 1e20·∂x + ∂y of v ↦ v_y is 1 exactly (was 0).
        var x = Randn(2, 3, 2);
        var r = Pde.Linear(Y, x, [(1e20, "x"), (1.0, "y")], "xy", Strategy.FromName(strategy));
        Assert.All(r.Data, v => Assert.Equal(1.0, v));
    }

    // f(x, y, z, u, w) = 1e-15·sin x + cos y + 1e15·sin z + 1e-5·sin u·sin w, and an operator whose coefficients span
    // 30 orders of magnitude (1e-15 … 1e15) chosen so that every term contributes O(1): losing any one term is an O(1) error.
    // (The mixed ∂uw is interpolated from F(2e_u), F(e_u + e_w), F(2e_w); u and w appear in nothing else, so those are
    // O(1e-5) and the weights 1e5·γ do not amplify rounding of other terms: see the accuracy statement on Linear.)
    private static readonly (double, string)[] WideTerms =
        [(1e15, "xx"), (1.0, "yy"), (1e-15, "zz"), (1e15, "x"), (1e-15, "zzz"), (1e5, "uw"), (1e-15, "")];

    private static Node Wide(Node v)
    {
        Node C(int i) => Fn.Slice(v, 1, i, 1);
        return Fn.Sin(C(0)) * 1e-15 + Fn.Cos(C(1)) + Fn.Sin(C(2)) * 1e15 + Fn.Sin(C(3)) * Fn.Sin(C(4)) * 1e-5;
    }

    /// <summary>The terms of <see cref="WideTerms"/> at one point, each computed by hand.</summary>
    private static double[] WideContributions(double[] p)
    {
        double x = p[0], y = p[1], z = p[2], u = p[3], w = p[4];
        double f = 1e-15 * Math.Sin(x) + Math.Cos(y) + 1e15 * Math.Sin(z) + 1e-5 * Math.Sin(u) * Math.Sin(w);
        return
        [
            1e15 * (-1e-15 * Math.Sin(x)),                              // 1e15 ∂xx
            -Math.Cos(y),                                               // ∂yy
            1e-15 * (-1e15 * Math.Sin(z)),                              // 1e-15 ∂zz
            1e15 * (1e-15 * Math.Cos(x)),                               // 1e15 ∂x
            1e-15 * (-1e15 * Math.Cos(z)),                              // 1e-15 ∂zzz
            1e5 * (1e-5 * Math.Cos(u) * Math.Cos(w)),                   // 1e5 ∂uw
            1e-15 * f,                                                  // 1e-15 f
        ];
    }

    /// <summary>
    /// The accuracy guarantee for coefficients spanning 30 orders of magnitude: the result is within
    /// 1e-13 · Σ_α |c_α ∂^α f| of the exact value, i.e. every term is as accurate as it would be on its
    /// own, to rounding relative to the largest contributions (here all O(1), so each term is checked to
    /// ~1e-13 absolute). The measured error is written to the test output.
    /// </summary>
    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void CoefficientsSpanningThirtyOrdersAllCount(string strategy)
    {
        var x = Rand(3, -1.5, 1.5, 4, 5);
        var r = Pde.Linear(Wide, x, WideTerms, "xyzuw", Strategy.FromName(strategy));
        var largest = new double[WideTerms.Length];
        double worst = 0;
        for (int n = 0; n < 4; n++)
        {
            var terms = WideContributions(Row(x, n));
            double scale = terms.Sum(Math.Abs), error = Math.Abs(r.Data[n] - terms.Sum());
            Assert.True(error <= 1e-13 * scale, $"row {n}: {r.Data[n]:R} vs {terms.Sum():R} (bound {1e-13 * scale:e2})");
            worst = Math.Max(worst, error / scale);
            for (int t = 0; t < terms.Length; t++) largest[t] = Math.Max(largest[t], Math.Abs(terms[t]));
        }
        output.WriteLine($"{strategy}: largest error / Σ|c_α ∂^α f| = {worst:e2}");
        // Each term reaches at least 0.05 on some row, 1e11 times the bound: a lost term could not pass.
        Assert.All(largest, v => Assert.True(v > 0.05, $"a term stays below 0.05 ({v})"));
    }

    [Fact]
    public void SixtyOrdersOfMagnitudeInFloat32()
    {
        // In float32 a single family with directions 1e30·e_x and 1e-30·e_y relative to one scale would
        // underflow (1e-60); each band of magnitudes gets its own scale, so the 1e-30 term still counts.
        var x = NDArray.RandomUniform<float>(new Shape(3, 2), 4, -1, 1);
        var r = Pde.Linear(v => Fn.Sin(Y(v)), x, [(1e30, "x"), (1e-30, "y")], "xy");
        for (int n = 0; n < 3; n++)
            Assert.Equal(1e-30 * Math.Cos(x.Data[2 * n + 1]), r.Data[n], 1e-30 * 1e-5);
    }

    [Fact]
    public void ExactlyCancellingTermsAreDroppedAndNothingElse()
    {
        // 3∂xx − 3∂xx + 1e-300·∂yy + 2f − 2f of y²·e^x: only the 1e-300 term survives (2e-300·e^x), in exact arithmetic.
        var x = Randn(5, 3, 2);
        var op = DifferentialOperator.Linear([(3.0, "xx"), (-3.0, "xx"), (1e-300, "yy"), (2.0, ""), (-2.0, "")], "xy");
        Assert.Equal(0, op.ZeroOrder);
        Assert.Single(op.Families(2));
        var r = op.Apply(v => Fn.Square(Y(v)) * Fn.Exp(Fn.Slice(v, 1, 0, 1)), x);
        for (int n = 0; n < 3; n++) Assert.Equal(2e-300 * Math.Exp(x.Data[2 * n]), r.Data[n], 1e-300 * 1e-13);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void NonFiniteCoefficientIsAnError(double c)
    {
        var e = Assert.Throws<ArgumentException>(() => DifferentialOperator.Linear([(1.0, "xx"), (c, "xy")], "xy"));
        Assert.Equal("terms", e.ParamName);
        Assert.Contains("term 1", e.Message);
        Assert.Contains("'xy'", e.Message);
        e = Assert.Throws<ArgumentException>(() => DifferentialOperator.Linear([(1.0, new[] { 0 }), (c, new[] { 0, 1 })]));
        Assert.Contains("term 1", e.Message);
        Assert.Contains("[0, 1]", e.Message);
    }

    // ------------------------------------------------------------------ tr(A∇²f)

    [Theory]
    [InlineData(1e15, 1.0)]
    [InlineData(1e17, 1.0)]
    [InlineData(1.0, 1e-20)]
    public void DiagonalCoefficientsOfAnyRatioCount(double ax, double ay)
    {
        // tr(diag(ax, ay)·∇²(y²)) = 2·ay exactly (diag(1e15, 1) gave 0: the eigenvalue 1 fell below 1e-14·1e15).
        var x = Randn(6, 3, 2);
        var op = DifferentialOperator.WeightedLaplacianFromCoefficients(new double[,] { { ax, 0 }, { 0, ay } });
        Assert.Contains("2 positive, 0 negative", op.Name);
        foreach (var s in AllStrategies)
            Assert.All(op.Apply(v => Fn.Square(Y(v)), x, s).Data, v => Assert.Equal(2 * ay, v, 2 * ay * 1e-15));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(1e200)]
    [InlineData(1e-200)]
    public void IllConditionedRotatedCoefficientsAreAccurateToRoundingOfA(double scale)
    {
        // A = Q diag(1e8, −1) Qᵀ (indefinite, condition 1e8) on the quadratic ½xᵀMx: tr(AM) is exact in closed
        // form; the error is bounded by rounding relative to ‖A‖·‖M‖, not by a dropped eigenvalue.
        double c = Math.Cos(0.3), s = Math.Sin(0.3);
        double[,] q = { { c, -s }, { s, c } };
        double[] lambda = [1e8 * scale, -scale];   // at 1e200 the eigensolver's squared entries would overflow unless A is rescaled
        var a = new double[2, 2];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                for (int k = 0; k < 2; k++) a[i, j] += q[i, k] * lambda[k] * q[j, k];
        a[1, 0] = a[0, 1];
        double[,] m = { { 2, 0.5 }, { 0.5, -3 } };
        var op = DifferentialOperator.WeightedLaplacianFromCoefficients(a);
        Assert.Contains("1 positive, 1 negative", op.Name);
        var x = Randn(7, 2, 2);
        var r = op.Apply(v => Fn.Sum(Fn.MatMul(v, Matrix(v.Graph, m)) * v, 1, keepDims: true) * 0.5, x);
        Assert.All(r.Data, v => Assert.Equal(Contract(a, m), v, 1e8 * scale * 4 * 1e-14));
    }

    [Fact]
    public void SingularCoefficientsGiveTheExactTrace()
    {
        // [[1, 1], [1, 1]] (rank 1): tr(A∇²f) = f_xx + 2f_xy + f_yy; a noise eigenvalue, if any, is kept and harmless.
        var x = Randn(8, 3, 2);
        var op = DifferentialOperator.WeightedLaplacianFromCoefficients(new double[,] { { 1, 1 }, { 1, 1 } });
        var r = op.Apply(v => Fn.Square(Fn.Slice(v, 1, 0, 1)) * Y(v), x);       // x²y: f_xx = 2y, f_xy = 2x, f_yy = 0
        for (int n = 0; n < 3; n++) Assert.Equal(2 * x.Data[2 * n + 1] + 4 * x.Data[2 * n], r.Data[n], 1e-13);
    }

    [Fact]
    public void TinyAntisymmetricCoefficientsAreNotSymmetric()
    {
        // The symmetry check is relative to A's entries: an antisymmetric A of size 1e-13 used to pass (absolute slack 1e-12).
        var e = Assert.Throws<ArgumentException>(() => DifferentialOperator.WeightedLaplacianFromCoefficients(new double[,] { { 0, 1e-13 }, { -1e-13, 0 } }));
        Assert.Contains("not symmetric", e.Message);
    }

    [Theory]
    [InlineData(double.NaN, 0, 1)]
    [InlineData(double.PositiveInfinity, 0, 0)]
    [InlineData(double.NegativeInfinity, 1, 1)]
    public void NonFiniteCoefficientMatrixIsAnError(double bad, int i, int j)
    {
        // {{1, NaN}, {NaN, 1}} passed the symmetry check and the NaN was ignored (result 2); {{∞, 0}, {0, 1}} gave 0.
        var a = new double[,] { { 1, 0 }, { 0, 1 } };
        a[i, j] = a[j, i] = bad;
        var e = Assert.Throws<ArgumentException>(() => DifferentialOperator.WeightedLaplacianFromCoefficients(a));
        Assert.Equal("a", e.ParamName);
        Assert.Contains($"A[{i},{j}]", e.Message);   // i ≤ j: the first non-finite entry in row-major order
        Assert.Contains("finite", e.Message);
    }
}
