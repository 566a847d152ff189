using JetSharp.Transforms;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

public class NestedLaplacianTests
{
    // f(x) = tanh(uᵀ tanh(Wx + b) + c), the foundation issue's test vector.
    internal static Node SmallNet(Node x)
    {
        var g = x.Graph;
        var w = g.Constant(T(new double[,] { { 0.5, -0.3, 0.2 }, { 0.1, 0.4, -0.6 } }));
        var b = g.Constant(T(0.1, -0.2));
        var u = g.Constant(T(new double[,] { { 0.7 }, { -0.5 } }));
        var h = Fn.Tanh(Fn.MatMul(x, w, transposeB: true) + b);
        return Fn.Tanh(Fn.MatMul(h, u) + 0.05);
    }

    [Fact]
    public void NestedLaplacianMatchesTheReferenceValue()
    {
        var x = NDArray.FromArray(new[] { 0.3, -0.1, 0.2 }, new Shape(1, 3));
        var lap = Pde.Laplacian(SmallNet, x, Strategy.NestedFirstOrder);
        Assert.Equal(new Shape(1, 1), lap.Shape);
        Assert.InRange(Math.Abs(lap.Data[0] - (-0.499552555082981)), 0, 1e-12);
    }

    [Fact]
    public void NestedLaplacianEqualsTraceOfFiniteDifferenceHessian()
    {
        var x = Randn(3, 4, 3);
        var lap = Pde.Laplacian(SmallNet, x, Strategy.NestedFirstOrder);
        double h = 1e-4;
        for (int n = 0; n < 4; n++)
        {
            double sum = 0;
            for (int d = 0; d < 3; d++)
            {
                var e = new NDArray<double>(x.Shape);
                e[n, d] = 1;
                var fp = Eval(xs => SmallNet(xs[0]), Axpy(x, h, e)).Data[n];
                var f0 = Eval(xs => SmallNet(xs[0]), x).Data[n];
                var fm = Eval(xs => SmallNet(xs[0]), Axpy(x, -h, e)).Data[n];
                sum += (fp - 2 * f0 + fm) / (h * h);
            }
            Close(sum, lap.Data[n], 1e-6);
        }
    }
}
