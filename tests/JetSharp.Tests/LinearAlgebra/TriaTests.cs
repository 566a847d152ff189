using JetSharp.Primitives.LinearAlgebra;
using JetSharp.Runtime;
using Xunit.Abstractions;
using static JetSharp.Tests.LinearAlgebra.LinalgCheck;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.LinearAlgebra;

public class TriaTests(ITestOutputHelper output)
{
    /// <summary>A [..., m, n] of the given rank (a product of random factors).</summary>
    private static NDArray<double> OfRank(long seed, int rank, int[] batch, int m, int n) =>
        MatMul(Randn(seed, [.. batch, m, rank]), Randn(seed + 1, [.. batch, rank, n]));

    /// <summary>(dR, R) by the forward-mode rule of tria at A along V.</summary>
    private static (NDArray<double> DR, NDArray<double> R) TriaJvp(NDArray<double> a, NDArray<double> v, Func<Node, Node>? tria = null)
    {
        var r = Ad.Jvp(tria ?? Linalg.Tria, a, v);
        return (r.Tangent, r.Value);
    }

    /// <summary>max |dR·Rᵀ + R·dRᵀ − (dA·Aᵀ + A·dAᵀ)| / max |dA·Aᵀ + A·dAᵀ|: the Gramian identity's residual.</summary>
    private static double GramianResidual(NDArray<double> a, NDArray<double> v, NDArray<double> r, NDArray<double> dr)
    {
        var lhs = Eval(xs => Fn.MatMul(xs[0], xs[1], transposeB: true) + Fn.MatMul(xs[1], xs[0], transposeB: true), dr, r);
        var rhs = Eval(xs => Fn.MatMul(xs[0], xs[1], transposeB: true) + Fn.MatMul(xs[1], xs[0], transposeB: true), v, a);
        return Rel(lhs, rhs);
    }

    [Theory]
    [InlineData(new[] { 3, 5 })]          // wide
    [InlineData(new[] { 4, 4 })]          // square
    [InlineData(new[] { 5, 2 })]          // tall
    [InlineData(new[] { 2, 3, 3, 6 })]    // batched
    public void IsALowerTriangularFactorOfTheGramian(int[] shape)
    {
        var a = Randn(1, shape);
        var r = Eval(xs => Linalg.Tria(xs[0]), a);
        int m = shape[^2];
        Assert.Equal(new Shape([.. shape[..^2], m, m]), r.Shape);
        Assert.Equal(0, OffTriangle(r, upper: true));
        Assert.True(MinDiagonal(r) >= 0);
        Assert.True(Rel(MatMul(r, r, tb: true), MatMul(a, a, tb: true)) < 1e-14);
        if (shape[^1] >= m)   // full row rank: tria is the Cholesky factor of A·Aᵀ
            Assert.True(Rel(r, Eval(xs => Linalg.Cholesky(Fn.MatMul(xs[0], xs[0], transposeB: true)), a)) < 1e-13);
    }

    [Theory]
    [InlineData(new[] { 3, 5 })]
    [InlineData(new[] { 4, 4 })]
    [InlineData(new[] { 2, 3, 6 })]
    public void JvpAndVjpMatchFiniteDifferencesForFullRowRank(int[] shape)
    {
        var a = Randn(2, shape);
        double jvp = JvpError(xs => Linalg.Tria(xs[0]), [a], [Randn(3, shape)]);
        double vjp = VjpError(xs => Linalg.Tria(xs[0]), [a], seed: 4);
        output.WriteLine($"tria {string.Join("×", shape)}: JVP {jvp:E2}, VJP {vjp:E2}");
        Assert.True(jvp < 1e-6 && vjp < 1e-6, $"JVP {jvp:E2}, VJP {vjp:E2}");
    }

    public static TheoryData<string, int[], int> DeficientCases => new()
    {
        { "tall 5×2", [5, 2], 2 },
        { "square 4×4, rank 2", [4, 4], 2 },
        { "wide 4×6, rank 3", [4, 6], 3 },
        { "batched 2×(3×5), rank 1", [2, 3, 5], 1 },
    };

    [Theory]
    [MemberData(nameof(DeficientCases))]
    public void GramianIdentityHoldsToRoundingForTallAndRankDeficientA(string name, int[] shape, int rank)
    {
        var a = OfRank(5, rank, shape[..^2], shape[^2], shape[^1]);
        var v = Randn(7, shape);
        var (dr, r) = TriaJvp(a, v);
        double residual = GramianResidual(a, v, r, dr);
        output.WriteLine($"{name}: Gramian residual of the tria JVP {residual:E2}, max |dR| {MaxAbs(dr):G3}");
        Assert.True(residual < 1e-12, $"{residual:E2}");
        Assert.True(MaxAbs(dr) < 1e3);
    }

    [Theory]
    [MemberData(nameof(DeficientCases))]
    public void GradientsOfGramianFunctionsMatchFiniteDifferencesForTallAndRankDeficientA(string name, int[] shape, int rank)
    {
        // f(A) = Σ W ∘ (R·Rᵀ)² depends on A through A·Aᵀ only, so the Gramian rule must give its exact gradient.
        var a = OfRank(8, rank, shape[..^2], shape[^2], shape[^1]);
        int m = shape[^2];
        var w = Randn(9, [.. shape[..^2], m, m]);
        Node F(Node[] xs)
        {
            var r = Linalg.Tria(xs[0]);
            var g = Fn.MatMul(r, r, transposeB: true);
            return Fn.Reshape(Fn.Sum(Fn.MatMul(g, g) * xs[0].Graph.Constant(w)), 1);
        }
        double vjp = VjpError(F, [a], seed: 10);
        double jvp = JvpError(F, [a], [Randn(11, shape)]);
        output.WriteLine($"{name}: Gramian-dependent f, JVP {jvp:E2}, VJP {vjp:E2}");
        Assert.True(jvp < 1e-6 && vjp < 1e-6, $"JVP {jvp:E2}, VJP {vjp:E2}");
    }

    [Fact]
    public void VjpIsTheAdjointOfTheJvpAlsoWhenRankDeficient()
    {
        var a = OfRank(12, 2, [], 4, 4);
        var v = Randn(13, 4, 4);
        var rbar = Randn(14, 4, 4);
        var (dr, _) = TriaJvp(a, v);
        var abar = Ad.Grad(xs => Fn.Sum(Linalg.Tria(xs[0]) * xs[0].Graph.Constant(rbar)), [a])[0];
        Close(Dot(rbar, dr), Dot((NDArray<double>)abar, v), 1e-12);
    }

    /// <summary>
    /// The square-root filter's predict block [F·L₀, L_Q] with an exactly known state component (L₀ = diag(1, 0, 0))
    /// and noise on one component only (L_Q = diag(0, 0, ½)): rank 2 of 3, and the zero pivot is exact
    /// because the dependence is structural.
    /// </summary>
    private static NDArray<double> StructurallyDeficient()
    {
        var f = T(new double[,] { { 0.9, 0.2, 0 }, { -0.1, 0.8, 0.3 }, { 0.05, 0, 0.7 } });
        var l0 = T(new double[,] { { 1, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 } });
        var lq = T(new double[,] { { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0.5 } });
        return Eval(xs => Fn.Concat(-1, Fn.MatMul(xs[0], xs[1]), xs[2]), f, l0, lq);
    }

    private static Node NaiveTria(Node x) => Linalg.MatrixTranspose(Linalg.QrR(Linalg.MatrixTranspose(x)));

    [Fact]
    public void NaiveQrDerivativeBreaksDownWhereTheGramianRuleStaysExact()
    {
        // The textbook route tria(A) = QR(Aᵀ).Rᵀ, differentiated through the QR rule, needs R⁻¹; the
        // structural zero pivot makes it 0·∞. The Gramian rule replaces R⁻¹ by R⁺ and stays exact.
        var a = StructurallyDeficient();
        var v = Randn(16, 3, 6);
        var (drNaive, rNaive) = TriaJvp(a, v, NaiveTria);
        var (dr, r) = TriaJvp(a, v);
        Assert.True(Rel(rNaive, r) < 1e-15);   // same primal factor
        int naiveBad = drNaive.Data.Count(x => !double.IsFinite(x));
        double gramian = GramianResidual(a, v, r, dr);
        output.WriteLine($"[F·L₀, L_Q], rank 2 of 3: naive QR JVP has {naiveBad}/{drNaive.Size} non-finite entries; " +
                         $"Gramian rule max |dR| = {MaxAbs(dr):G3}, Gramian residual {gramian:E2}");
        Assert.True(naiveBad > 0);
        Assert.True(gramian < 1e-14, $"{gramian:E2}");

        // Reverse mode on a Gramian-dependent scalar: the naive gradient is non-finite, tria's matches finite differences.
        var w = Randn(17, 3, 3);
        Func<Node[], Node> Loss(Func<Node, Node> tria) => xs =>
        {
            var rr = tria(xs[0]);
            var g = Fn.MatMul(rr, rr, transposeB: true);
            return Fn.Reshape(Fn.Sum(Fn.MatMul(g, g) * xs[0].Graph.Constant(w)), 1);
        };
        var naiveGrad = (NDArray<double>)Ad.Grad(xs => Fn.Sum(Loss(NaiveTria)(xs)), [a])[0];
        int gradBad = naiveGrad.Data.Count(x => !double.IsFinite(x));
        double vjp = VjpError(Loss(Linalg.Tria), [a], seed: 18);
        output.WriteLine($"gradient of Σ W∘(A·Aᵀ)²: naive has {gradBad}/{naiveGrad.Size} non-finite entries; tria vs finite differences {vjp:E2}");
        Assert.True(gradBad > 0);
        Assert.True(vjp < 1e-6, $"{vjp:E2}");
    }

    [Fact]
    public void WithARoundingLevelPivotTheNaiveRuleCancelsItsOwnDivergence()
    {
        // Documented nuance: for a numerically (not structurally) rank-deficient A the pivot is ~1e-16, the naive
        // rule multiplies ~1e16 by ~1e-16 and happens to land on a valid tangent. Both satisfy the identity.
        var a = OfRank(15, 2, [], 4, 4);
        var v = Randn(16, 4, 4);
        var (drNaive, rNaive) = TriaJvp(a, v, NaiveTria);
        var (dr, r) = TriaJvp(a, v);
        double naive = GramianResidual(a, v, rNaive, drNaive), gramian = GramianResidual(a, v, r, dr);
        output.WriteLine($"rank-2 4×4 (rounding-level pivots {r[2, 2]:E1}, {r[3, 3]:E1}): naive residual {naive:E2}, tria residual {gramian:E2}");
        Assert.True(gramian < 1e-12);
    }

    [Fact]
    public void TaylorCoefficientsOfFullRankAMatchNestedJvps()
    {
        var a = Randn(17, 2, 3, 5);
        var v = Randn(18, 2, 3, 5);
        var jet = JetCoefficients(Linalg.Tria, a, v, 3);
        for (int k = 1; k <= 3; k++)
        {
            double e = Rel(jet[k - 1], Run(LinalgCheck.NestedDirectional(Linalg.Tria, a.Shape, k), a, v)[0]);
            output.WriteLine($"tria Taylor order {k} vs nested JVPs: {e:E2}");
            Assert.True(e < 1e-9, $"order {k}: {e:E2}");
        }
    }

    [Fact]
    public void HigherOrderTaylorRefusesRankDeficientAndTallInputs()
    {
        var deficient = OfRank(19, 2, [], 4, 4);
        var e = Assert.Throws<SingularMatrixException>(() => JetCoefficients(Linalg.Tria, deficient, Randn(20, 4, 4), 2));
        Assert.Contains("full row rank", e.Message);
        var tall = Tracer.Function(Linalg.Tria, new Shape(5, 2));
        var t = Assert.Throws<UndefinedDerivativeException>(() => Transforms.Jet.Transform(tall, 2));
        Assert.Contains("tall", t.Message);
        // Order 1 stays available for both.
        Executable.Compile(Transforms.Jet.Transform(tall, 1));
    }

    [Fact]
    public void RejectsVectors()
    {
        var e = Assert.Throws<ShapeException>(() => Tracer.Function(x => Linalg.Tria(x), new Shape(3)));
        Assert.Contains("tria", e.Message);
    }
}
