using JetSharp.Primitives.LinearAlgebra;
using Xunit.Abstractions;
using static JetSharp.Tests.LinearAlgebra.LinalgCheck;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.LinearAlgebra;

public class QrTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(new[] { 5, 3 })]
    [InlineData(new[] { 4, 4 })]
    [InlineData(new[] { 3, 5 })]
    [InlineData(new[] { 2, 3, 4, 2 })]
    public void ReconstructsAWithOrthonormalQAndUpperTriangularR(int[] shape)
    {
        var a = Randn(1, shape);
        var q = Eval(xs => Linalg.QrQ(xs[0]), a);
        var r = Eval(xs => Linalg.QrR(xs[0]), a);
        int m = shape[^2], n = shape[^1], k = Math.Min(m, n);
        Assert.Equal(new Shape([.. shape[..^2], m, k]), q.Shape);
        Assert.Equal(new Shape([.. shape[..^2], k, n]), r.Shape);
        Assert.True(Rel(MatMul(q, r), a) < 1e-14);
        Assert.True(Rel(MatMul(q, q, ta: true), Eye([.. shape[..^2], k, k])) < 1e-14);
        Assert.Equal(0, OffTriangle(r, upper: false));
        Assert.True(MinDiagonal(r) >= 0);
    }

    [Theory]
    [InlineData(new[] { 5, 3 })]
    [InlineData(new[] { 3, 3 })]
    [InlineData(new[] { 2, 4, 2 })]
    public void JvpOfBothFactorsMatchesFiniteDifferences(int[] shape)
    {
        var a = Randn(2, shape);
        var v = Randn(3, shape);
        double eq = JvpError(xs => Linalg.QrQ(xs[0]), [a], [v]);
        double er = JvpError(xs => Linalg.QrR(xs[0]), [a], [v]);
        output.WriteLine($"QR JVP {string.Join("×", shape)}: Q {eq:E2}, R {er:E2}");
        Assert.True(eq < 1e-6 && er < 1e-6, $"Q {eq:E2}, R {er:E2}");
    }

    [Theory]
    [InlineData(new[] { 5, 3 })]
    [InlineData(new[] { 3, 3 })]
    [InlineData(new[] { 2, 4, 2 })]
    public void VjpMatchesFiniteDifferences(int[] shape)
    {
        var a = Randn(4, shape);
        // Both factors feed the output, so the two nodes' cotangent contributions must add up.
        double e = VjpError(xs => Fn.Concat(-1, Linalg.QrQ(xs[0]), Fn.MatMul(Linalg.QrQ(xs[0]), Linalg.QrR(xs[0]))), [a], seed: 5);
        output.WriteLine($"QR VJP {string.Join("×", shape)}: {e:E2}");
        Assert.True(e < 1e-6, $"{e:E2}");
    }

    [Fact]
    public void SecondOrderTaylorCoefficientsMatchNestedJvps()
    {
        var a = Randn(6, 4, 3);
        var v = Randn(7, 4, 3);
        foreach (var part in new[] { QrPart.Q, QrPart.R })
        {
            Func<Node, Node> f = x => x.Graph.Apply(new QrOp(part), x);
            var jet = JetCoefficients(f, a, v, 3);
            for (int k = 1; k <= 3; k++)
            {
                var nested = Run(NestedDirectional(f, a.Shape, k), a, v)[0];
                Assert.True(Rel(jet[k - 1], nested) < 1e-10, $"{part}_{k}: {Rel(jet[k - 1], nested):E2}");
            }
        }
    }

    [Fact]
    public void DerivativeOfAWideQrIsRefusedWithAPointerToTria()
    {
        var g = Tracer.Function(x => Linalg.QrR(x), new Shape(3, 5));
        var e = Assert.Throws<UndefinedDerivativeException>(() => Transforms.Jvp.Transform(g));
        Assert.Contains("wide", e.Message);
        Assert.Contains("Tria", e.Message);
        Assert.Throws<UndefinedDerivativeException>(() => Transforms.Vjp.Grad(Tracer.Function(x => Fn.Sum(Linalg.QrQ(x)), new Shape(3, 5))));
    }

    [Fact]
    public void RejectsVectors()
    {
        var e = Assert.Throws<ShapeException>(() => Tracer.Function(x => Linalg.QrR(x), new Shape(4)));
        Assert.Contains("qr", e.Message);
        Assert.Contains("[4]", e.Message);
    }
}
