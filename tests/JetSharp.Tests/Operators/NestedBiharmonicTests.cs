using JetSharp.Nn;
using JetSharp.Simplify;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// <see cref="DifferentialOperator.BiharmonicByNestedLaplacians"/>: Δ(Δf) in every strategy, against a
/// closed form, against the interpolation's four-jets (an independent formulation), and its cost in vectors per layer.
/// </summary>
public class NestedBiharmonicTests
{
    private static readonly Strategy[] All = [Strategy.Collapsed, Strategy.StandardTaylor, Strategy.NestedFirstOrder];

    /// <summary>f = (Σ x_i²)² = r⁴ has Δ²f = 8D(D + 2) everywhere.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void ClosedFormOfRToTheFourth(int d)
    {
        static Node F(Node x)
        {
            var r2 = Fn.Sum(x * x, [1], keepDims: true);
            return r2 * r2;
        }
        var x = Randn(d, 6, d);
        foreach (var s in All)
        {
            var y = DifferentialOperator.BiharmonicByNestedLaplacians().Apply(F, x, s);
            Assert.Equal(new Shape(6, 1), y.Shape);
            foreach (var v in y.Data) Assert.Equal(8.0 * d * (d + 2), v, 1e-9);
        }
    }

    /// <summary>On MLPs, the nested Laplacians agree with the interpolation's four-jets in every strategy, for two outputs too.</summary>
    [Theory]
    [InlineData(Activation.Tanh, 2, 1)]
    [InlineData(Activation.Tanh, 5, 2)]
    [InlineData(Activation.Sigmoid, 4, 1)]
    [InlineData(Activation.Softplus, 3, 1)]
    public void AgreesWithTheInterpolation(Activation a, int d, int outputs)
    {
        var net = Mlp.Create(d, [7, 6], outputs, a, seed: 20 + d);
        var x = Randn(40 + d, 5, d);
        var reference = DifferentialOperator.Biharmonic().Apply(net.Apply, x, Strategy.Collapsed);
        Assert.True(MaxAbs(reference) > 1e-6, "the reference is ~0, so agreement would prove little");
        foreach (var s in All)
        {
            var nested = DifferentialOperator.BiharmonicByNestedLaplacians().Apply(net.Apply, x, s);
            Assert.True(RelErr(nested, reference) <= 1e-10, $"{s}: relative error {RelErr(nested, reference):E2}\n{reference}\n{nested}");
        }
    }

    /// <summary>
    /// Collapsed, a middle layer of a tanh MLP carries at most (D + 2)² vectors (the inner Laplacian's x₀, D tangents and
    /// their sum, each with the outer one's), against 1 + 3M + 2 for the M = (3D² − D)/2 four-jets of the interpolation.
    /// </summary>
    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void PropagatesFewerVectorsThanTheInterpolation(int d)
    {
        const int n = 7, width = 9;
        var f = Tracer.Function(Mlp.Create(d, [width, width, width], 1, Activation.Tanh, seed: 4).Apply, new Shape(n, d));
        var nested = GraphStats.Of(DifferentialOperator.BiharmonicByNestedLaplacians().Build(f, Strategy.Collapsed), n);
        var four = GraphStats.Of(DifferentialOperator.Biharmonic().Build(f, Strategy.Collapsed), n);
        int m = (3 * d * d - d) / 2;
        for (int l = 1; l < 3; l++)
        {
            Assert.True(nested.PerLayer[l].Vectors <= (d + 2) * (d + 2), $"layer {l + 1}: {nested.PerLayer[l].Vectors} vectors\n{nested.Listing()}");
            Assert.Equal(1 + 3 * m + 2, four.PerLayer[l].Vectors);
        }
        Assert.True(nested.MatMulFlops < 0.6 * four.MatMulFlops, $"nested {nested.MatMulFlops} against {four.MatMulFlops} flops");
    }

    [Fact]
    public void NameSaysNested() =>
        Assert.Contains("nested", DifferentialOperator.BiharmonicByNestedLaplacians().Name);
}
