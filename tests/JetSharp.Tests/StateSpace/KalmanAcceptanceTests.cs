using JetSharp.StateSpace;

namespace JetSharp.Tests.StateSpace;

/// <summary>The test vectors of the square-root Kalman filter issue.</summary>
public class KalmanAcceptanceTests
{
    private static NDArray<double> M(double[,] a) => NDArray.FromArray(a);

    /// <summary>Inputs in the order F, H, L_Q, L_R, m₀, L₀; the summed log-likelihood of observations ys [1, T, dy].</summary>
    private static Func<Node[], Node> LogLikelihood(NDArray<double> ys, Func<Node, Node>? tria = null) => xs =>
    {
        var model = new LinearGaussianModel(xs[0], xs[1], xs[2], xs[3], xs[4], xs[5]);
        return Fn.Sum(SquareRootKalmanFilter.Filter(model, xs[0].Graph.Constant(ys), tria).LogLikelihood);
    };

    private static NDArray<double>[] Scalar() =>
        [M(new[,] { { 0.9 } }), M(new[,] { { 1.0 } }), M(new[,] { { 0.5 } }), M(new[,] { { 0.3 } }), NDArray.FromArray(new[] { 0.0 }), M(new[,] { { 1.0 } })];

    [Fact]
    public void ScalarModelLogLikelihoodAndGradients()
    {
        var ys = NDArray.FromArray(new[] { 1.0 }, new Shape(1, 1, 1));
        var model = Scalar();
        Assert.Equal(-1.423602113088, TestUtil.Eval(LogLikelihood(ys), model).Data[0], 12);
        var g = Ad.Grad(LogLikelihood(ys), model);
        Assert.Equal(-0.102079395085, g[0].GetDouble(0), 12); // ∂/∂F
        Assert.Equal(-0.056710775047, g[2].GetDouble(0), 12); // ∂/∂chol_Q
        Assert.Equal(-0.034026465028, g[3].GetDouble(0), 12); // ∂/∂chol_R

        var two = NDArray.FromArray(new[] { 1.0, -0.5 }, new Shape(1, 2, 1));
        Assert.Equal(-4.063945273790, TestUtil.Eval(LogLikelihood(two), model).Data[0], 12);
    }

    [Fact]
    public void RankDeficientModelHasFiniteGradientsThatMatchTheCovarianceFilter()
    {
        double[,] f = { { 1, 0.1 }, { 0, 1 } }, h = { { 1, 0 } }, lq = { { 0, 0 }, { 0, 0 } }, lr = { { 0.2 } }, l0 = { { 1, 0 }, { 0.5, 0 } };
        NDArray<double>[] model = [M(f), M(h), M(lq), M(lr), NDArray.FromArray(new[] { 0.0, 0.0 }), M(l0)];
        var ys = NDArray.FromArray(new[] { 0.3, 0.1 }, new Shape(1, 2, 1));
        Assert.Equal(-0.946428184539, TestUtil.Eval(LogLikelihood(ys), model).Data[0], 12);

        var g = Ad.Grad(LogLikelihood(ys), model);
        Assert.Equal(-0.88754022, g[0].GetDouble(1), 8);   // ∂/∂F[0,1]
        Assert.Equal(-2.34570674, g[3].GetDouble(0), 8);   // ∂/∂chol_R

        // Finite differences of the textbook covariance-form filter.
        double Reference(double[,] ff, double lrv) => CovarianceKalmanFilter.Run(ff, h, CovarianceKalmanFilter.Gram(lq),
            new[,] { { lrv * lrv } }, [0, 0], CovarianceKalmanFilter.Gram(l0), [[0.3], [0.1]]).LogLikelihood;
        double step = 1e-6;
        var fp = (double[,])f.Clone(); fp[0, 1] += step;
        var fm = (double[,])f.Clone(); fm[0, 1] -= step;
        Assert.InRange(Math.Abs((Reference(fp, 0.2) - Reference(fm, 0.2)) / (2 * step) - g[0].GetDouble(1)), 0, 1e-7);
        Assert.InRange(Math.Abs((Reference(f, 0.2 + step) - Reference(f, 0.2 - step)) / (2 * step) - g[3].GetDouble(0)), 0, 1e-7);

        // The textbook QR derivative breaks down here.
        static Node QrTria(Node a) => Linalg.MatrixTranspose(Linalg.QrR(Linalg.MatrixTranspose(a)));
        var naive = Ad.Grad(LogLikelihood(ys, QrTria), model);
        Assert.Contains(naive, t => Enumerable.Range(0, t.Size).Any(i => double.IsNaN(t.GetDouble(i))));
    }

    [Theory]
    [InlineData(3, 3, 3)]
    [InlineData(3, 5, 3)]
    [InlineData(4, 4, 2)]
    [InlineData(3, 6, 2)]
    public void TriaDotProductTestHolds(int rows, int cols, int rank)
    {
        // A of the given rank; ⟨R̄, JVP(dA)⟩ = ⟨VJP(R̄), dA⟩.
        var a = NDArray.FromArray(MatMul(NDArray.RandomNormal<double>(new Shape(rows, rank), 1).Data, NDArray.RandomNormal<double>(new Shape(rank, cols), 2).Data, rows, rank, cols), new Shape(rows, cols));
        var da = NDArray.RandomNormal<double>(a.Shape, 3);
        var rBar = NDArray.RandomNormal<double>(new Shape(rows, rows), 4);
        var (_, jvp) = Ad.Jvp(Linalg.Tria, a, da);
        var vjp = Ad.Grad(x => Fn.Sum(Linalg.Tria(x) * x.Graph.Constant(rBar)), a);
        double lhs = TestUtil.Dot(rBar, jvp), rhs = TestUtil.Dot(vjp, da);
        Assert.InRange(Math.Abs(lhs - rhs), 0, 1e-12 * Math.Max(1, Math.Abs(lhs)));
    }

    private static double[] MatMul(double[] a, double[] b, int m, int k, int n)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                for (int p = 0; p < k; p++) c[i * n + j] += a[i * k + p] * b[p * n + j];
        return c;
    }
}
