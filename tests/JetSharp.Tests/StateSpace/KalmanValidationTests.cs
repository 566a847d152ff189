using JetSharp.Primitives.LinearAlgebra;
using JetSharp.StateSpace;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.StateSpace;

/// <summary>
/// Issue 15, defect 4: the filter gives an error, never a NaN likelihood or an unrelated crash, when the
/// innovation covariance is singular or a value is not finite; and it rejects null and misshapen inputs by name.
/// </summary>
public class KalmanValidationTests
{
    private static NDArray<double> M(double[,] a) => NDArray.FromArray(a);

    /// <summary>A two-state, one-observation model in the order F, H, L_Q, L_R, m₀, L₀ with the given H and L_R.</summary>
    private static NDArray<double>[] Model(double[,] h, double[,] lr) =>
        [M(new[,] { { 0.9, 0.1 }, { 0.0, 0.8 } }), M(h), M(new[,] { { 0.3, 0 }, { 0.1, 0.2 } }), M(lr), NDArray.FromArray(new[] { 0.2, -0.1 }), M(new[,] { { 1.0, 0 }, { 0.3, 0.5 } })];

    private static readonly NDArray<double> Ys = NDArray.FromArray(new[] { 0.4, -0.3, 0.7, 0.1, -0.2, 0.5 }, new Shape(2, 3, 1));

    private static Func<Node[], Node> LogLikelihood(NDArray<double> ys, Func<Node, Node>? tria = null) => xs =>
        SquareRootKalmanFilter.Filter(new LinearGaussianModel(xs[0], xs[1], xs[2], xs[3], xs[4], xs[5]), xs[0].Graph.Constant(ys), tria).LogLikelihood;

    [Fact]
    public void ASingularInnovationCovarianceIsAnErrorInTheValueAndInTheGradient()
    {
        // H = 0 and L_R = 0: S = 0 at every step. Before: log-likelihood [NaN, NaN]; its gradient crashed in Math.Sign.
        var model = Model(new double[1, 2], new double[1, 1]);
        var e = Assert.Throws<SingularMatrixException>(() => Eval(LogLikelihood(Ys), model));
        Assert.Contains("kalman: time step 0", e.Message);
        Assert.Contains("innovation covariance", e.Message);
        var eg = Assert.Throws<SingularMatrixException>(() => Ad.Grad(xs => Fn.Sum(LogLikelihood(Ys)(xs)), model));
        Assert.Contains("innovation covariance", eg.Message);
    }

    [Fact]
    public void WithoutObservationInformationTheLikelihoodIsThatOfTheNoiseAlone()
    {
        // H = 0 with L_R ≠ 0 is a proper model (S = R is positive definite): y_t ~ N(0, σ²) independently, so the check
        // must not fire, and log p(y) = Σ_t −½ y_t²/σ² − log σ − ½ log 2π.
        const double sigma = 0.7;
        var ll = Eval(LogLikelihood(Ys), Model(new double[1, 2], new[,] { { sigma } }));
        for (int s = 0; s < 2; s++)
        {
            double expected = 0;
            for (int t = 0; t < 3; t++)
            {
                double y = Ys[s, t, 0];
                expected += -0.5 * y * y / (sigma * sigma) - Math.Log(sigma) - 0.5 * Math.Log(2 * Math.PI);
            }
            Assert.Equal(expected, ll[s], 12);
        }
    }

    [Fact]
    public void NonFiniteObservationsAndModelEntriesAreNamed()
    {
        var model = Model(new[,] { { 1.0, 0.0 } }, new[,] { { 0.3 } });
        var ys = Ys.Clone();
        ys[1, 2, 0] = double.NaN;   // a missing observation written as NaN
        var e = Assert.Throws<NotFiniteNumberException>(() => Eval(LogLikelihood(ys), model));
        Assert.Contains("kalman: the observations y", e.Message);
        Assert.Contains("[1, 2, 0]", e.Message);

        var bad = model.Select(t => t.Clone()).ToArray();
        bad[0][1, 0] = double.PositiveInfinity;
        var ef = Assert.Throws<NotFiniteNumberException>(() => Eval(LogLikelihood(Ys), bad));
        Assert.Contains("transition matrix F", ef.Message);
        Assert.Contains("[1, 0]", ef.Message);
        var eg = Assert.Throws<NotFiniteNumberException>(() => Ad.Grad(xs => Fn.Sum(LogLikelihood(Ys)(xs)), bad));
        Assert.Contains("transition matrix F", eg.Message);

        var m0 = model.Select(t => t.Clone()).ToArray();
        m0[4][1] = double.NaN;
        Assert.Contains("initial mean m₀", Assert.Throws<NotFiniteNumberException>(() => Eval(LogLikelihood(Ys), m0)).Message);
    }

    [Fact]
    public void NullsAreRejectedByName()
    {
        var g = new Graph(DType.Float64);
        var xs = Model(new[,] { { 1.0, 0.0 } }, new[,] { { 0.3 } }).Select(t => g.Input(t.Shape)).ToArray();
        var ys = g.Input(Ys.Shape);
        Assert.Throws<ArgumentNullException>(() => SquareRootKalmanFilter.Filter(null!, ys));
        var model = new LinearGaussianModel(xs[0], xs[1], xs[2], xs[3], xs[4], xs[5]);
        Assert.Throws<ArgumentNullException>(() => SquareRootKalmanFilter.Filter(model, null!));
        var e = Assert.Throws<ArgumentNullException>(() => SquareRootKalmanFilter.Filter(model with { Observation = null! }, ys));
        Assert.Contains("H (model.Observation)", e.Message);
    }

    [Fact]
    public void ATriaReplacementOfTheWrongShapeIsRefused()
    {
        var model = Model(new[,] { { 1.0, 0.0 } }, new[,] { { 0.3 } });
        var e = Assert.Throws<ShapeException>(() => Tracer.Function(LogLikelihood(Ys, a => a), [.. model.Select(t => t.Shape)]));
        Assert.Contains("kalman: the tria function returned", e.Message);
    }

    [Fact]
    public void ThePseudoinverseOfANonFiniteMatrixNamesTheEntry()
    {
        // Before: ArithmeticException from Math.Sign inside the Jacobi rotations.
        var a = NDArray.FromArray(new[] { 1.0, 2.0, 3.0, 4.0, double.NaN, 6.0 }, new Shape(1, 2, 3));
        var e = Assert.Throws<NotFiniteNumberException>(() => Eval(xs => Linalg.Pinv(xs[0]), a));
        Assert.Contains("pinv: matrix 0", e.Message);
        Assert.Contains("[1, 1]", e.Message);
    }
}
