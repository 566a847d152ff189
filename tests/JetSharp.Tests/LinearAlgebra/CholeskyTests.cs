using JetSharp.Primitives.LinearAlgebra;
using Xunit.Abstractions;
using static JetSharp.Tests.LinearAlgebra.LinalgCheck;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.LinearAlgebra;

public class CholeskyTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(new[] { 4, 4 })]
    [InlineData(new[] { 3, 2, 3, 3 })]
    public void FactorsAsLowerTriangularWithPositiveDiagonal(int[] shape)
    {
        var a = Spd(1, shape);
        var l = Eval(xs => Linalg.Cholesky(xs[0]), a);
        Assert.True(Rel(MatMul(l, l, tb: true), a) < 1e-14);
        Assert.Equal(0, OffTriangle(l, upper: true));
        Assert.True(MinDiagonal(l) > 0);
    }

    [Theory]
    [InlineData(new[] { 4, 4 })]
    [InlineData(new[] { 2, 3, 3 })]
    public void JvpAndVjpMatchFiniteDifferences(int[] shape)
    {
        var a = Spd(2, shape);
        var v = Randn(3, shape); // not symmetric: the factor of ½(A + Aᵀ) is differentiable in every direction
        double jvp = JvpError(xs => Linalg.Cholesky(xs[0]), [a], [v]);
        double vjp = VjpError(xs => Linalg.Cholesky(xs[0]), [a], seed: 4);
        output.WriteLine($"Cholesky {string.Join("×", shape)}: JVP {jvp:E2}, VJP {vjp:E2}");
        Assert.True(jvp < 1e-6 && vjp < 1e-6, $"JVP {jvp:E2}, VJP {vjp:E2}");
    }

    [Fact]
    public void TaylorCoefficientsMatchNestedJvpsUpToOrderFour()
    {
        var a = Spd(5, 2, 3, 3);
        var v = Randn(6, 2, 3, 3);
        var jet = JetCoefficients(Linalg.Cholesky, a, v, 4);
        for (int k = 1; k <= 4; k++)
        {
            var nested = Run(NestedDirectional(Linalg.Cholesky, a.Shape, k), a, v)[0];
            double e = Rel(jet[k - 1], nested);
            output.WriteLine($"Cholesky Taylor order {k} vs {k} nested JVPs: {e:E2}");
            Assert.True(e < 1e-10, $"order {k}: {e:E2}");
        }
    }

    [Fact]
    public void SecondCoefficientOfACurvedPathMatchesSecondDifferences()
    {
        // A(t) = A₀ + t·A₁ + t²/2·A₂ exercises x₂ ≠ 0: y₂ = d²/dt² chol(A(t)) at 0.
        var a0 = Spd(7, 4, 4);
        var a1 = Randn(8, 4, 4);
        var a2 = Randn(9, 4, 4);
        var jet = JetCoefficients(Linalg.Cholesky, a0, a1, 2, [null, a2]);
        double h = 1e-4;
        NDArray<double> At(double t) => Axpy(Axpy(a0, t, a1), t * t / 2, a2);
        var fp = Eval(xs => Linalg.Cholesky(xs[0]), At(h));
        var f0 = Eval(xs => Linalg.Cholesky(xs[0]), a0);
        var fm = Eval(xs => Linalg.Cholesky(xs[0]), At(-h));
        var fd = new NDArray<double>(f0.Shape);
        for (int i = 0; i < fd.Size; i++) fd.Data[i] = (fp.Data[i] - 2 * f0.Data[i] + fm.Data[i]) / (h * h);
        double e = Rel(jet[1], fd);
        output.WriteLine($"Cholesky y₂ along a curved path vs second differences: {e:E2}");
        Assert.True(e < 1e-6, $"{e:E2}");
    }

    [Fact]
    public void RejectsNonSquareAndLowRankShapesAndIndefiniteValues()
    {
        var e1 = Assert.Throws<ShapeException>(() => Tracer.Function(x => Linalg.Cholesky(x), new Shape(3, 4)));
        Assert.Contains("cholesky", e1.Message);
        Assert.Contains("square", e1.Message);
        Assert.Throws<ShapeException>(() => Tracer.Function(x => Linalg.Cholesky(x), new Shape(3)));
        var e2 = Assert.Throws<SingularMatrixException>(() => Eval(xs => Linalg.Cholesky(xs[0]), T(new double[,] { { 1, 2 }, { 2, 1 } })));
        Assert.Contains("not positive definite", e2.Message);
    }
}
