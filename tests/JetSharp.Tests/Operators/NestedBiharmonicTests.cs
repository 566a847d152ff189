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

    /// <summary>f = (Σ x_i²)² = r⁴, whose Δ²f = 8D(D + 2) everywhere.</summary>
    private static Node RToTheFourth(Node x)
    {
        var r2 = Fn.Sum(x * x, [1], keepDims: true);
        return r2 * r2;
    }

    /// <summary>Δ(Δf) of r⁴ is 8D(D + 2) in every strategy.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void ClosedFormOfRToTheFourth(int d)
    {
        var x = Randn(d, 6, d);
        foreach (var s in All)
        {
            var y = DifferentialOperator.BiharmonicByNestedLaplacians().Apply(RToTheFourth, x, s);
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
        var reference = DifferentialOperator.BiharmonicByInterpolation().Apply(net.Apply, x, Strategy.Collapsed);
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
        var four = GraphStats.Of(DifferentialOperator.BiharmonicByInterpolation().Build(f, Strategy.Collapsed), n);
        int m = (3 * d * d - d) / 2;
        for (int l = 1; l < 3; l++)
        {
            Assert.True(nested.PerLayer[l].Vectors <= (d + 2) * (d + 2), $"layer {l + 1}: {nested.PerLayer[l].Vectors} vectors\n{nested.Listing()}");
            Assert.Equal(1 + 3 * m + 2, four.PerLayer[l].Vectors);
        }
        Assert.True(nested.MatMulFlops < 0.6 * four.MatMulFlops, $"nested {nested.MatMulFlops} against {four.MatMulFlops} flops");
    }

    /// <summary>
    /// <see cref="DifferentialOperator.Biharmonic"/> emits whichever formulation carries fewer vectors per layer: collapsed,
    /// the interpolation at D = 1 ((D + 2)² = 9 against 3M + 2 = 5) and Δ(Δf) from D = 2 on; standard Taylor, the
    /// interpolation at D = 2 ((2D + 1)² = 25 against 4M + 1 = 21) and Δ(Δf) from D = 3 on (49 against 49 nominally; the
    /// simplified Δ(Δf) has 43; at D = 2 both simplify to 21). Checked on the graphs themselves: the middle layer carries
    /// no more vectors than the other formulation's, and the values agree with it.
    /// </summary>
    [Theory]
    [InlineData("Collapsed", 1, false)]
    [InlineData("Collapsed", 2, true)]
    [InlineData("Collapsed", 5, true)]
    [InlineData("StandardTaylor", 2, false)]
    [InlineData("StandardTaylor", 3, true)]
    [InlineData("StandardTaylor", 4, true)]
    public void DefaultEmitsTheFormulationWithFewerVectors(string strategy, int d, bool nested)
    {
        const int n = 5, width = 9;
        var s = Strategy.FromName(strategy);
        var net = Mlp.Create(d, [width, width, width], 1, Activation.Tanh, seed: 30 + d);
        var f = Tracer.Function(net.Apply, new Shape(n, d));
        double VectorsOf(DifferentialOperator op) => GraphStats.Of(op.Build(f, s), n).PerLayer[2].Vectors;
        double chosen = VectorsOf(DifferentialOperator.Biharmonic());
        double viaNested = VectorsOf(DifferentialOperator.BiharmonicByNestedLaplacians()), viaInterpolation = VectorsOf(DifferentialOperator.BiharmonicByInterpolation());
        Assert.Equal(nested ? viaNested : viaInterpolation, chosen);
        Assert.True(chosen <= (nested ? viaInterpolation : viaNested), $"chosen {chosen} vectors, nested {viaNested}, interpolation {viaInterpolation}");
        Assert.Equal(nested, DifferentialOperator.NestedLaplaciansAreCheaper(s, d));
        var x = Randn(70 + d, n, d);
        var other = (nested ? DifferentialOperator.BiharmonicByInterpolation() : DifferentialOperator.BiharmonicByNestedLaplacians()).Apply(net.Apply, x, s);
        var y = DifferentialOperator.Biharmonic().Apply(net.Apply, x, s);
        Assert.True(MaxAbs(other) > 1e-6, "the reference is ~0, so agreement would prove little");
        Assert.True(RelErr(y, other) <= 1e-10, $"relative error {RelErr(y, other):E2}");
    }

    /// <summary>The default's formula for f = r⁴ (Δ²f = 8D(D + 2)) in every strategy, on both sides of the switch.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void DefaultMatchesTheClosedForm(int d)
    {
        var x = Randn(d + 90, 4, d);
        foreach (var s in All)
            foreach (var v in DifferentialOperator.Biharmonic().Apply(RToTheFourth, x, s).Data) Assert.Equal(8.0 * d * (d + 2), v, 1e-9);
    }

    /// <summary>METHOD.md §3's counts: standard 1 + K·R, collapsed 1 + (K − 1)·R + F; none for nested first-order AD; bad counts refused.</summary>
    [Fact]
    public void VectorsPerLayerCountsAndRefusals()
    {
        Assert.Equal(1 + 4 * 35, Strategy.StandardTaylor.VectorsPerLayer(4, 35, 2));
        Assert.Equal(1 + 3 * 35 + 2, Strategy.Collapsed.VectorsPerLayer(4, 35, 2));
        Assert.Equal(52, Strategy.Collapsed.VectorsPerLayer(2, 50));
        Assert.Null(Strategy.NestedFirstOrder.VectorsPerLayer(2, 50));
        Assert.Contains("order", Assert.Throws<ArgumentOutOfRangeException>(() => Strategy.Collapsed.VectorsPerLayer(0, 5)).Message);
        Assert.Contains("families", Assert.Throws<ArgumentOutOfRangeException>(() => Strategy.Collapsed.VectorsPerLayer(2, 5, 0)).Message);
        Assert.Contains("directions", Assert.Throws<ArgumentOutOfRangeException>(() => Strategy.Collapsed.VectorsPerLayer(2, 1, 2)).Message);
    }

    [Fact]
    public void NameSaysNested() =>
        Assert.Contains("nested", DifferentialOperator.BiharmonicByNestedLaplacians().Name);
}
