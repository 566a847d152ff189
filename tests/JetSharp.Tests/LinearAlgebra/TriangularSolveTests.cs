using Xunit.Abstractions;
using static JetSharp.Tests.LinearAlgebra.LinalgCheck;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.LinearAlgebra;

public class TriangularSolveTests(ITestOutputHelper output)
{
    public static TheoryData<bool, bool> Variants => new() { { true, false }, { true, true }, { false, false }, { false, true } };

    [Theory]
    [MemberData(nameof(Variants))]
    public void SolutionReproducesTheRightHandSideAndIgnoresTheOtherTriangle(bool lower, bool transpose)
    {
        var t = Triangular(1, lower, garbage: true, 2, 4, 4);
        var b = Randn(2, 4, 3);                 // shared by the batch of two matrices
        var x = Eval(xs => Linalg.SolveTriangular(xs[0], xs[1], lower, transpose), t, b);
        Assert.Equal(new Shape(2, 4, 3), x.Shape);
        var clean = Eval(xs => lower ? Linalg.Tril(xs[0]) : Linalg.Triu(xs[0]), t);
        var back = MatMul(clean, x, ta: transpose);
        var bb = Eval(xs => Fn.BroadcastTo(xs[0], new Shape(2, 4, 3)), b);
        Assert.True(Rel(back, bb) < 1e-14, $"{Rel(back, bb):E2}");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void JvpAndVjpMatchFiniteDifferencesWithBroadcastBatches(bool lower, bool transpose)
    {
        var t = Triangular(3, lower, garbage: false, 4, 4);    // one matrix for the whole batch of right-hand sides
        var b = Randn(4, 2, 4, 3);
        var vt = Triangular(5, lower, garbage: true, 4, 4);    // the unread triangle gets no derivative
        var vb = Randn(6, 2, 4, 3);
        Node F(Node[] xs) => Linalg.SolveTriangular(xs[0], xs[1], lower, transpose);
        double jvp = JvpError(F, [t, b], [vt, vb]);
        double vjp = VjpError(F, [t, b], seed: 7);
        output.WriteLine($"trisolve lower={lower} transpose={transpose}: JVP {jvp:E2}, VJP {vjp:E2}");
        Assert.True(jvp < 1e-6 && vjp < 1e-6, $"JVP {jvp:E2}, VJP {vjp:E2}");
    }

    [Fact]
    public void TaylorCoefficientsMatchNestedJvps()
    {
        var t = Triangular(8, true, garbage: false, 2, 3, 3);
        var b = Randn(9, 2, 3, 2);
        var vt = Randn(10, 2, 3, 3);
        // Differentiate in the matrix and the right-hand side at once by stacking them into one input.
        Node F(Node s) => Linalg.SolveTriangular(Fn.Slice(s, -1, 0, 3), Fn.Slice(s, -1, 3, 2), lower: true);
        var s0 = Eval(xs => Fn.Concat(-1, xs[0], xs[1]), t, b);
        var v = Eval(xs => Fn.Concat(-1, xs[0], xs[1]), vt, Randn(11, 2, 3, 2));
        var jet = JetCoefficients(F, s0, v, 3);
        for (int k = 1; k <= 3; k++)
        {
            double e = Rel(jet[k - 1], Run(NestedDirectional(F, s0.Shape, k), s0, v)[0]);
            Assert.True(e < 1e-10, $"order {k}: {e:E2}");
        }
    }

    [Fact]
    public void RejectsMismatchedShapes()
    {
        var e = Assert.Throws<ShapeException>(() => Tracer.Function(xs => Linalg.SolveTriangular(xs[0], xs[1]), [new Shape(3, 3), new Shape(4, 2)]));
        Assert.Contains("trisolve", e.Message);
        Assert.Contains("[4, 2]", e.Message);
        Assert.Throws<ShapeException>(() => Tracer.Function(xs => Linalg.SolveTriangular(xs[0], xs[1]), [new Shape(3, 4), new Shape(3, 2)]));
        var batch = Assert.Throws<ShapeException>(() => Tracer.Function(xs => Linalg.SolveTriangular(xs[0], xs[1]), [new Shape(2, 3, 3), new Shape(5, 3, 2)]));
        Assert.Contains("batch", batch.Message);
    }
}
