using JetSharp.Nn;
using JetSharp.Primitives;

namespace JetSharp.Tests;

public class ReluSecondOrderTests
{
    [Theory]
    [InlineData("Collapsed")]
    [InlineData("StandardTaylor")]
    [InlineData("NestedFirstOrder")]
    public void LaplacianOfAReluNetworkIsRefusedInEveryStrategy(string strategyName)
    {
        var strategy = Strategy.FromName(strategyName);
        var net = Mlp.Create(3, [5], 1, Activation.Relu, seed: 1);
        var x = NDArray.RandomNormal<double>(new Shape(2, 3), seed: 2);
        var e = Assert.Throws<NotSmoothException>(() => Pde.Laplacian(net.Apply, x, strategy));
        Assert.Contains("relu", e.Message);
    }

    [Fact]
    public void FirstOrderDerivativesOfReluStillWork()
    {
        var net = Mlp.Create(3, [5], 1, Activation.Relu, seed: 1);
        var x = NDArray.RandomNormal<double>(new Shape(2, 3), seed: 2);
        var g = Ad.Grad(v => Fn.Sum(net.Apply(v)), x);
        double h = 1e-6;
        var plus = x.Clone(); plus.Data[0] += h;
        var minus = x.Clone(); minus.Data[0] -= h;
        double Eval(NDArray<double> p) => TestUtil.Eval(xs => Fn.Sum(net.Apply(xs[0])), p).Data[0];
        Assert.Equal((Eval(plus) - Eval(minus)) / (2 * h), g.Data[0], 6);
        Assert.Throws<NotSmoothException>(() => Ad.Hvp(v => Fn.Sum(net.Apply(v)), x, x));
    }
}
