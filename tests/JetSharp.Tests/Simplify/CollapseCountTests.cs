using JetSharp.Nn;
using JetSharp.Simplify;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

public class CollapseCountTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void CollapsedLaplacianPropagatesTwoPlusDVectorsPerLayer(int d)
    {
        const int n = 7;
        var net = Mlp.Create(d, [6, 6, 6], 1, Activation.Tanh, seed: 2);
        var standard = Pde.LaplacianGraph(net.Apply, new Shape(n, d), DType.Float64, Strategy.StandardTaylor);
        var collapsed = Pde.LaplacianGraph(net.Apply, new Shape(n, d), DType.Float64, Strategy.Collapsed);
        var s = GraphStats.Of(standard, n);
        var c = GraphStats.Of(collapsed, n);
        Assert.Equal(4, s.PerLayer.Count);
        Assert.Equal(4, c.PerLayer.Count);
        for (int l = 1; l < 3; l++)
        {
            Assert.Equal(1 + 2 * d, s.PerLayer[l].Vectors);
            Assert.Equal(2 + d, c.PerLayer[l].Vectors);
        }
        // The last layer only carries what the output needs: y_2 (standard: D vectors; collapsed: their sum).
        Assert.Equal(d, s.PerLayer[3].Vectors);
        Assert.Equal(1, c.PerLayer[3].Vectors);
        // The first layer multiplies the basis by W₁ once (no data axis), so only x₀ is per datum.
        Assert.Equal(1, c.PerLayer[0].Vectors);
        var x = Randn(5, n, d);
        Close(Run(standard, x)[0], Run(collapsed, x)[0], 1e-12);
        Close(Pde.Laplacian(net.Apply, x, Strategy.NestedFirstOrder), Run(collapsed, x)[0], 1e-10);
    }
}
