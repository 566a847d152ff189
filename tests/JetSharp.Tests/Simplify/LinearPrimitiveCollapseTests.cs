using JetSharp.Simplify;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Collapsing through the linear primitives beyond matmul and the shape ops: take, scatter-add, cumsum and solve
/// (linear in its right-hand side). Each sits between tanh layers, x [N, D] → tanh(x·W₀) → tanh(·W₁) → L → tanh(·W₂) → ·W₃.
/// The sum over the D second-order directions starts at the output and must move back through L to reach the product
/// with W₁ as one vector: 2 + D vectors in that layer (1 + 2D for standard Taylor mode, and for a collapsed graph whose
/// sum stops at L). Both strategies must agree with nested first-order AD.
/// </summary>
public class LinearPrimitiveCollapseTests
{
    private const int N = 4, D = 3, H = 5;

    public static TheoryData<string> Maps => ["take", "scatter_add", "cumsum", "solve"];

    /// <summary>L applied to h [N, H]; returns the result and its width.</summary>
    private static Node Map(string name, Node h)
    {
        var g = h.Graph;
        switch (name)
        {
            case "take": return Fn.Take(h, [4, 0, 2, 2, 1, 3], 1);                                   // [N, 6], an index repeated
            case "scatter_add": return Fn.ScatterAdd(Fn.Sin(Fn.Slice(h, 1, 0, 1)) * g.Constant(Randn(7, 1, 7)), [6, 0, 2, 2, 3], h, 1);   // [N, 7]
            case "cumsum": return Fn.CumSum(h, 1);
            default:
                var m = Randn(8, H, H);
                for (int i = 0; i < H; i++) m.Data[i * H + i] += 4;                                     // well conditioned
                return Fn.Reshape(Linalg.Solve(g.Constant(m), Fn.Reshape(h, N, H, 1)), N, H);
        }
    }

    private static Func<Node, Node> Network(string name) => x =>
    {
        var g = x.Graph;
        var h0 = Fn.Tanh(Fn.MatMul(x, g.Constant(Randn(0, D, 6))));
        var h = Fn.Tanh(Fn.MatMul(h0, g.Constant(Randn(1, 6, H))));
        var l = Map(name, h);
        var h2 = Fn.Tanh(Fn.MatMul(l, g.Constant(Randn(2, l.Shape[1], 4))));
        return Fn.MatMul(h2, g.Constant(Randn(3, 4, 1)));
    };

    [Theory]
    [MemberData(nameof(Maps))]
    public void CollapsedLaplacianSumsTheDirectionsBeforeTheNextLayer(string name)
    {
        var f = Network(name);
        var shape = new Shape(N, D);
        var collapsed = Pde.LaplacianGraph(f, shape, DType.Float64, Strategy.Collapsed);
        var standard = Pde.LaplacianGraph(f, shape, DType.Float64, Strategy.StandardTaylor);
        var nested = Pde.LaplacianGraph(f, shape, DType.Float64, Strategy.NestedFirstOrder);
        var x = Randn(9, N, D);
        var reference = Run(nested, [x])[0];
        Close(reference, Run(collapsed, [x])[0], 1e-11);
        Close(reference, Run(standard, [x])[0], 1e-11);

        // The product with W₁ [6, H], the layer ahead of L.
        double Layer(Graph g) => Assert.Single(GraphStats.Of(g, N).PerLayer, l => l.Weight.Shape == new Shape(6, H)).Vectors;
        Assert.True(Layer(collapsed) == 2 + D, $"{name}: collapsed\n{GraphStats.Of(collapsed, N).Listing()}");
        Assert.Equal(1 + 2 * D, Layer(standard));
    }
}
