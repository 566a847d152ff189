using System.Numerics;
using static JetSharp.Tests.TestUtil;
using static JetSharp.Tests.OperatorTestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Every operator and every strategy against hand-derived closed forms (computed per datum in plain C#,
/// without the library), so a wrong rule, weight or direction in any strategy shows up as a value error.
/// </summary>
public class ClosedFormTests
{
    private const double Tol = 1e-10;

    // ------------------------------------------------------------------ Laplacian

    // Σ_i sin(x_i)·exp(−x_i²). With g(t) = sin t·e^{−t²}: g'' = e^{−t²}[(4t² − 3) sin t − 4t cos t].
    private static Node SinGauss(Node v) => Fn.Sum(Fn.Sin(v) * Fn.Exp(-v * v), 1, keepDims: true);
    private static double SinGaussLaplacian(double[] x) =>
        x.Sum(t => Math.Exp(-t * t) * ((4 * t * t - 3) * Math.Sin(t) - 4 * t * Math.Cos(t)));

    // exp(−|x|²): H = (4xxᵀ − 2I)f, so Δf = (4|x|² − 2D)·f.
    private static Node Gaussian(Node v) => Fn.Exp(-Fn.Sum(v * v, 1, keepDims: true));
    private static double GaussianLaplacian(double[] x)
    {
        double r2 = Dot(x, x);
        return (4 * r2 - 2 * x.Length) * Math.Exp(-r2);
    }

    // |x|⁴ = r⁴: H = 4r²I + 8xxᵀ, so Δ = (4D + 8)r²; Δ² = 8D(D + 2) (METHOD.md §4).
    private static Node Quartic(Node v) => Fn.Square(Fn.Sum(v * v, 1, keepDims: true));
    private static double QuarticLaplacian(double[] x) => (4 * x.Length + 8) * Dot(x, x);

    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void LaplacianOfSinTimesGaussianSum(string strategy)
    {
        var s = Strategy.FromName(strategy);
        var x = Rand(11, -1.5, 1.5, 4, 5);
        Close(PerRow(x, SinGaussLaplacian), Pde.Laplacian(SinGauss, x, s), Tol);
    }

    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void LaplacianOfGaussian(string strategy)
    {
        var s = Strategy.FromName(strategy);
        var x = Rand(12, -1, 1, 3, 4);
        Close(PerRow(x, GaussianLaplacian), Pde.Laplacian(Gaussian, x, s), Tol);
    }

    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void LaplacianOfQuartic(string strategy)
    {
        var s = Strategy.FromName(strategy);
        var x = Rand(13, -2, 2, 3, 3);
        Close(PerRow(x, QuarticLaplacian), Pde.Laplacian(Quartic, x, s), Tol);
    }

    /// <summary>Operators act channel by channel: a two-channel output [N, 2] gets the Laplacian of each column.</summary>
    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void LaplacianOfTwoChannelOutputIsPerChannel(string strategy)
    {
        var s = Strategy.FromName(strategy);
        var x = Rand(14, -1, 1, 3, 3);
        var lap = Pde.Laplacian(v => Fn.Concat(1, SinGauss(v), Gaussian(v)), x, s);
        Assert.Equal(new Shape(3, 2), lap.Shape);
        for (int n = 0; n < 3; n++)
        {
            Close(SinGaussLaplacian(Row(x, n)), lap[n, 0], Tol);
            Close(GaussianLaplacian(Row(x, n)), lap[n, 1], Tol);
        }
    }

    // ------------------------------------------------------------------ weighted Laplacian

    // f = exp(a·x)·sin(b·x) + 0.1|x|⁴ has a full, x-dependent Hessian:
    // H = e^{a·x}[sin(b·x)(aaᵀ − bbᵀ) + cos(b·x)(abᵀ + baᵀ)] + 0.1(4|x|²I + 8xxᵀ).
    private const int Dw = 4;
    private static readonly double[] A = [0.6, -0.3, 0.4, 0.2];
    private static readonly double[] B = [-0.5, 0.7, 0.1, 0.3];

    private static Node ExpSin(Node v) =>
        Fn.Exp(Fn.MatMul(v, Column(v.Graph, A))) * Fn.Sin(Fn.MatMul(v, Column(v.Graph, B))) + 0.1 * Quartic(v);

    private static double[,] ExpSinHessian(double[] x)
    {
        int d = x.Length;
        double p = Dot(A, x), q = Dot(B, x), r2 = Dot(x, x), e = Math.Exp(p);
        var h = new double[d, d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                h[i, j] = e * (Math.Sin(q) * (A[i] * A[j] - B[i] * B[j]) + Math.Cos(q) * (A[i] * B[j] + B[i] * A[j]))
                          + 0.1 * ((i == j ? 4 * r2 : 0) + 8 * x[i] * x[j]);
        return h;
    }

    public static TheoryData<string, int> StrategiesAndRanks()
    {
        var data = new TheoryData<string, int>();
        foreach (var s in AllStrategies)
            foreach (var r in new[] { Dw, Dw / 2, 1 }) data.Add(s.Name, r);   // full, half, rank 1
        return data;
    }

    [Theory]
    [MemberData(nameof(StrategiesAndRanks))]
    public void WeightedLaplacianWithConstantSigma(string strategy, int rank)
    {
        var s = Strategy.FromName(strategy);
        var sigma = RandomMatrix(Dw, rank, seed: 100 + rank);
        var x = Rand(21, -1, 1, 3, Dw);
        var expected = PerRow(x, row => Contract(Gram(sigma), ExpSinHessian(row)));
        Close(expected, Pde.WeightedLaplacian(ExpSin, x, NDArray.FromArray(sigma), strategy: s), Tol);
    }

    /// <summary>σ(x)_{d,r} = M_{d,r}·(1 + 0.5 sin x_d): evaluated per datum, not differentiated.</summary>
    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void WeightedLaplacianWithXDependentSigma(string strategy)
    {
        var s = Strategy.FromName(strategy);
        const int rank = 3;
        var m = RandomMatrix(Dw, rank, seed: 7);
        Node Sigma(Node v) =>
            Fn.ExpandDims(1.0 + 0.5 * Fn.Sin(v), 2) * v.Graph.Constant(NDArray.FromArray(m).Reshape(new Shape(1, Dw, rank)));
        double[,] SigmaAt(double[] row)
        {
            var r = new double[Dw, rank];
            for (int d = 0; d < Dw; d++)
                for (int k = 0; k < rank; k++) r[d, k] = m[d, k] * (1 + 0.5 * Math.Sin(row[d]));
            return r;
        }
        var x = Rand(22, -1, 1, 4, Dw);
        var expected = PerRow(x, row => Contract(Gram(SigmaAt(row)), ExpSinHessian(row)));
        Close(expected, Pde.WeightedLaplacian(ExpSin, x, Sigma, strategy: s), Tol);
    }

    /// <summary>An indefinite, singular symmetric A = 2uuᵀ − 1.5wwᵀ + 0.7zzᵀ (rank 3 in D = 4): tr(A·H).</summary>
    private static double[,] IndefiniteA(double scale = 1)
    {
        var u = RandomVector(Dw, 31);
        var w = RandomVector(Dw, 32);
        var z = RandomVector(Dw, 33);
        var a = new double[Dw, Dw];
        for (int i = 0; i < Dw; i++)
            for (int j = 0; j < Dw; j++)
                a[i, j] = scale * (2 * u[i] * u[j] - 1.5 * w[i] * w[j] + 0.7 * z[i] * z[j]);
        return a;
    }

    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void WeightedLaplacianFromIndefiniteCoefficients(string strategy)
    {
        var s = Strategy.FromName(strategy);
        var a = IndefiniteA();
        var x = Rand(23, -1, 1, 3, Dw);
        var op = DifferentialOperator.WeightedLaplacianFromCoefficients(a);
        Close(PerRow(x, row => Contract(a, ExpSinHessian(row))), op.Apply(ExpSin, x, s), Tol);
    }

    /// <summary>tr(A·H) is linear in A, so scaling A must scale the result, whatever the magnitude of A (units).</summary>
    [Theory]
    [InlineData(1e-16)]
    [InlineData(1e-9)]
    [InlineData(1e8)]
    public void WeightedLaplacianFromCoefficientsIsScaleInvariant(double scale)
    {
        var a = IndefiniteA(scale);
        var x = Rand(24, -1, 1, 3, Dw);
        var expected = PerRow(x, row => Contract(a, ExpSinHessian(row)) / scale);
        var actual = DifferentialOperator.WeightedLaplacianFromCoefficients(a).Apply(ExpSin, x);
        for (int i = 0; i < actual.Size; i++) actual.Data[i] /= scale;
        Close(expected, actual, Tol);
    }

    // ------------------------------------------------------------------ biharmonic

    public static TheoryData<string, int> StrategiesAndDimensions()
    {
        var data = new TheoryData<string, int>();
        foreach (var s in AllStrategies)
            foreach (var d in new[] { 1, 2, 3, 5 }) data.Add(s.Name, d);
        return data;
    }

    [Theory]
    [MemberData(nameof(StrategiesAndDimensions))]
    public void BiharmonicOfQuarticIs8DTimesDPlus2(string strategy, int d)
    {
        var s = Strategy.FromName(strategy);
        var x = Rand(30 + d, -2, 2, 2, d);
        var bih = Pde.Biharmonic(Quartic, x, s);
        foreach (var v in bih.Data) Close(8.0 * d * (d + 2), v, Tol);
    }

    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void BiharmonicOfX4Y4(string strategy)
    {
        var s = Strategy.FromName(strategy);
        // Δ²(x⁴y⁴) = 24y⁴ + 288x²y² + 24x⁴ = 298.5216 at (1.4, 0.6) (METHOD.md §4).
        var x = NDArray.FromArray(new[] { 1.4, 0.6, -0.3, 1.1 }, new Shape(2, 2));
        var bih = Pde.Biharmonic(v => { var p = v * v * v * v; return Fn.Reshape(Fn.Slice(p, 1, 0, 1) * Fn.Slice(p, 1, 1, 1), 2, 1); }, x, s);
        Close(298.5216, bih[0, 0], 1e-12);
        Close(24 * Math.Pow(1.1, 4) + 288 * 0.09 * 1.21 + 24 * Math.Pow(0.3, 4), bih[1, 0], 1e-12);
    }

    // ------------------------------------------------------------------ general linear operators

    // f(x, y, z) = sin(2x)·e^y + x⁴y³ + x²y²z³, derivatives by hand.
    private static Node Poly3(Node v)
    {
        Node x = Fn.Slice(v, 1, 0, 1), y = Fn.Slice(v, 1, 1, 1), z = Fn.Slice(v, 1, 2, 1);
        return Fn.Sin(2 * x) * Fn.Exp(y) + x * x * x * x * y * y * y + x * x * y * y * z * z * z;
    }
    private static double Poly3Value(double[] p) { double x = p[0], y = p[1], z = p[2]; return Math.Sin(2 * x) * Math.Exp(y) + Math.Pow(x, 4) * y * y * y + x * x * y * y * z * z * z; }
    private static double Dxxyy(double[] p) { double x = p[0], y = p[1], z = p[2]; return -4 * Math.Sin(2 * x) * Math.Exp(y) + 72 * x * x * y + 4 * z * z * z; }
    private static double Dxxy(double[] p) { double x = p[0], y = p[1], z = p[2]; return -4 * Math.Sin(2 * x) * Math.Exp(y) + 36 * x * x * y * y + 4 * y * z * z * z; }
    private static double Dyy(double[] p) { double x = p[0], y = p[1], z = p[2]; return Math.Sin(2 * x) * Math.Exp(y) + 6 * Math.Pow(x, 4) * y + 2 * x * x * z * z * z; }
    private static double Dz(double[] p) { double x = p[0], y = p[1], z = p[2]; return 3 * x * x * y * y * z * z; }

    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void FourthOrderMixedPartial(string strategy)
    {
        var s = Strategy.FromName(strategy);
        var x = Rand(41, -1, 1, 3, 3);
        Close(PerRow(x, Dxxyy), Pde.Linear(Poly3, x, [(1.0, "xxyy")], "xyz", s), Tol);
        // The letters of a term may come in any order.
        Close(PerRow(x, Dxxyy), Pde.Linear(Poly3, x, [(1.0, "yxyx")], "xyz", s), Tol);
    }

    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void ThirdOrderMixedPartial(string strategy)
    {
        var s = Strategy.FromName(strategy);
        var x = Rand(42, -1, 1, 3, 3);
        Close(PerRow(x, Dxxy), Pde.Linear(Poly3, x, [(1.0, "xxy")], "xyz", s), Tol);
        Close(PerRow(x, p => -2.5 * Dxxy(p)), Pde.Linear(Poly3, x, [(-2.5, "xxy")], "xyz", s), Tol);
    }

    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void HeatOperatorWithDrift(string strategy)
    {
        var s = Strategy.FromName(strategy);
        // u(t, x, y) = e^{−t} sin x cos 2y + t x² y; L u = u_t − (u_xx + u_yy) + b·(u_x, u_y).
        const double b1 = 0.7, b2 = -1.3;
        static Node U(Node v)
        {
            Node t = Fn.Slice(v, 1, 0, 1), x = Fn.Slice(v, 1, 1, 1), y = Fn.Slice(v, 1, 2, 1);
            return Fn.Exp(-t) * Fn.Sin(x) * Fn.Cos(2 * y) + t * x * x * y;
        }
        static double Reference(double[] p)
        {
            double t = p[0], x = p[1], y = p[2], e = Math.Exp(-t);
            double ut = -e * Math.Sin(x) * Math.Cos(2 * y) + x * x * y;
            double uxx = -e * Math.Sin(x) * Math.Cos(2 * y) + 2 * t * y;
            double uyy = -4 * e * Math.Sin(x) * Math.Cos(2 * y);
            double ux = e * Math.Cos(x) * Math.Cos(2 * y) + 2 * t * x * y;
            double uy = -2 * e * Math.Sin(x) * Math.Sin(2 * y) + t * x * x;
            return ut - uxx - uyy + b1 * ux + b2 * uy;
        }
        var pts = Rand(43, -1, 1, 4, 3);
        var actual = Pde.Linear(U, pts, [(1.0, "t"), (-1.0, "xx"), (-1.0, "yy"), (b1, "x"), (b2, "y")], "txy", s);
        Close(PerRow(pts, Reference), actual, Tol);
    }

    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void ZeroOrderTerm(string strategy)
    {
        var s = Strategy.FromName(strategy);
        // Helmholtz Δu + 3u on u = sin x cos 2y + x³y: Δu = −5 sin x cos 2y + 6xy.
        static Node U(Node v)
        {
            Node x = Fn.Slice(v, 1, 0, 1), y = Fn.Slice(v, 1, 1, 1);
            return Fn.Sin(x) * Fn.Cos(2 * y) + x * x * x * y;
        }
        static double UValue(double[] p) => Math.Sin(p[0]) * Math.Cos(2 * p[1]) + p[0] * p[0] * p[0] * p[1];
        var pts = Rand(44, -1, 1, 3, 2);
        var helmholtz = Pde.Linear(U, pts, [(1.0, "xx"), (1.0, "yy"), (3.0, "")], "xy", s);
        Close(PerRow(pts, p => -5 * Math.Sin(p[0]) * Math.Cos(2 * p[1]) + 6 * p[0] * p[1] + 3 * UValue(p)), helmholtz, Tol);
        // An operator that is only a multiple of f (no derivative at all).
        Close(PerRow(pts, p => 2.5 * UValue(p)), Pde.Linear(U, pts, [(2.5, "")], "xy", s), Tol);
    }

    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void AxesOverload(string strategy)
    {
        var s = Strategy.FromName(strategy);
        // ∂³/∂x²∂y + 2∂²/∂y² − 0.5∂/∂z + 0.25·f, multi-indices as axis lists.
        var op = DifferentialOperator.Linear([(1.0, [0, 0, 1]), (2.0, [1, 1]), (-0.5, [2]), (0.25, Array.Empty<int>())]);
        var x = Rand(45, -1, 1, 3, 3);
        Close(PerRow(x, p => Dxxy(p) + 2 * Dyy(p) - 0.5 * Dz(p) + 0.25 * Poly3Value(p)), op.Apply(Poly3, x, s), Tol);
    }

    /// <summary>
    /// Mixed partials of every order up to 6 touching all three variables: f = exp(a·x)·sin(b·x) = Im e^{c·x}
    /// with c = a + ib, so ∂^α f = Im(c^α e^{c·x}) for any multi-index α (a polynomial would miss
    /// derivatives that vanish identically, e.g. ones involving more variables than a term has).
    /// </summary>
    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void HighOrderMixedPartialsOfComplexExponential(string strategy)
    {
        var s = Strategy.FromName(strategy);
        double[] a = [0.4, -0.3, 0.5], b = [0.6, 0.35, -0.2];
        var c = a.Zip(b, (p, q) => new Complex(p, q)).ToArray();
        Node F(Node v) => Fn.Exp(Fn.MatMul(v, Column(v.Graph, a))) * Fn.Sin(Fn.MatMul(v, Column(v.Graph, b)));
        double Partial(double[] x, string alpha)
        {
            var e = Complex.Exp(Enumerable.Range(0, 3).Aggregate(Complex.Zero, (acc, d) => acc + c[d] * x[d]));
            return alpha.Aggregate(e, (acc, ch) => acc * c["xyz".IndexOf(ch)]).Imaginary;
        }
        var x = Rand(46, -1, 1, 2, 3);
        foreach (var alpha in new[] { "xyz", "xxyz", "xxyyz", "xxyyzz", "zzzzz", "xyyyyz" })
            Close(PerRow(x, p => Partial(p, alpha)), Pde.Linear(F, x, [(1.0, alpha)], "xyz", s), Tol);
        (double, string)[] mix = [(0.5, "xyz"), (-2.0, "xxyyzz"), (1.0, "yyyy"), (0.3, "z"), (-1.0, "")];
        Close(PerRow(x, p => mix.Sum(t => t.Item1 * Partial(p, t.Item2))), Pde.Linear(F, x, mix, "xyz", s), Tol);
    }

    /// <summary>
    /// Degenerate but common cases: an affine function has zero second and higher derivatives (its gradient
    /// does not depend on x at all) and a constant function has no derivatives; every strategy must return
    /// zeros (and the exact first derivatives), not fail on the missing dependence.
    /// </summary>
    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void AffineAndConstantFunctions(string strategy)
    {
        var s = Strategy.FromName(strategy);
        double[] a = [0.5, -2.0, 1.5];
        Node Affine(Node v) => Fn.MatMul(v, Column(v.Graph, a)) + 1.0;
        Node Constant(Node v) => Fn.BroadcastTo(v.Graph.Scalar(3.0), new Shape(v.Shape[0], 1));
        var x = Rand(47, -1, 1, 3, 3);
        var zeros = new NDArray<double>(new Shape(3, 1));
        Close(zeros, Pde.Laplacian(Affine, x, s), 1e-14);
        Close(zeros, Pde.Biharmonic(Affine, x, s), 1e-14);
        Close(zeros, Pde.Laplacian(Affine, x, Estimate.Stochastic(3), s), 1e-14);
        Close(zeros, Pde.Linear(Affine, x, [(1.0, "xyz")], "xyz", s), 1e-14);
        Close(PerRow(x, p => a[0] - 2 * a[2]), Pde.Linear(Affine, x, [(1.0, "x"), (-2.0, "z")], "xyz", s), 1e-14);
        Close(zeros, Pde.Laplacian(Constant, x, s), 1e-14);
        Close(zeros, Pde.Linear(Constant, x, [(1.0, "x")], "xyz", s), 1e-14);
        Close(zeros, Pde.Linear(Constant, x, [(1.0, "xyy")], "xyz", s), 1e-14);
    }
}
