using Xunit.Abstractions;
using static JetSharp.Tests.LinearAlgebra.LinalgCheck;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.LinearAlgebra;

public class PinvTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(5, 3, 3)]
    [InlineData(3, 5, 3)]
    [InlineData(4, 4, 2)]   // rank-deficient
    public void SatisfiesThePenroseConditions(int m, int n, int rank)
    {
        var a = MatMul(Randn(1, 2, m, rank), Randn(2, 2, rank, n));
        var x = Eval(xs => Linalg.Pinv(xs[0]), a);
        Assert.Equal(new Shape(2, n, m), x.Shape);
        Assert.True(Rel(MatMul(MatMul(a, x), a), a) < 1e-13);
        Assert.True(Rel(MatMul(MatMul(x, a), x), x) < 1e-13);
        var ax = MatMul(a, x);
        Assert.True(Rel(Transpose(ax), ax) < 1e-13);
        var xa = MatMul(x, a);
        Assert.True(Rel(Transpose(xa), xa) < 1e-13);
    }

    [Theory]
    [InlineData(5, 3)]
    [InlineData(3, 5)]
    public void JvpAndVjpMatchFiniteDifferencesAtFullRank(int m, int n)
    {
        var a = Randn(3, 2, m, n);
        double jvp = JvpError(xs => Linalg.Pinv(xs[0]), [a], [Randn(4, 2, m, n)]);
        double vjp = VjpError(xs => Linalg.Pinv(xs[0]), [a], seed: 5);
        output.WriteLine($"pinv {m}×{n}: JVP {jvp:E2}, VJP {vjp:E2}");
        Assert.True(jvp < 1e-6 && vjp < 1e-6, $"JVP {jvp:E2}, VJP {vjp:E2}");
    }
}
