using JetSharp.Control;
using JetSharp.Examples.ControlFlow;
using JetSharp.Simplify;
using JetSharp.Simplify.Rules;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.ControlFlow;

/// <summary>
/// Collapsing through a while loop (<see cref="PullSumIntoWhile"/>): the loop over jets carries the summed top
/// coefficient instead of one per direction. Checked by the shapes it carries, by the vectors its body multiplies
/// by the weight (2 + D per step, as a scan and the unrolled network do), and by values against the standard-Taylor
/// and nested first-order strategies, the unrolled program and finite differences.
/// </summary>
public class WhileCollapseTests
{
    private const int N = 5, D = 3, H = 4, Steps = 3;
    private static readonly NDArray<double> W = Axpy(Randn(11, H, H), -0.5, Randn(11, H, H));   // 0.5·W
    private static readonly NDArray<double> Win = Randn(12, D, H);
    private static readonly NDArray<double> Wout = Randn(13, H, 1);

    private static Node Block(Node h, Node w) => h + Fn.Tanh(Fn.MatMul(h, w));

    /// <summary>A residual network whose blocks are the trips of a while loop counting to <see cref="Steps"/>.</summary>
    private static Node WhileNet(Node x)
    {
        var g = x.Graph;
        var h0 = Fn.Tanh(Fn.MatMul(x, g.Constant(Win)));
        var h = Tracer.While((c, _) => Steps - 0.5 - c[1], (c, k) => [Block(c[0], k[0]), c[1] + 1.0],
            [h0, Fn.Zeros(g, Shape.Scalar)], [g.Constant(W)], maxIterations: 10).Values[0];
        return Fn.MatMul(h, g.Constant(Wout));
    }

    private static Node UnrolledNet(Node x)
    {
        var h = Fn.Tanh(Fn.MatMul(x, x.Graph.Constant(Win)));
        for (int l = 0; l < Steps; l++) h = Block(h, x.Graph.Constant(W));
        return Fn.MatMul(h, x.Graph.Constant(Wout));
    }

    private static Graph Body(Graph g) => ((WhileOp)Assert.Single(GraphWalk.Reachable(g), n => n.Op is WhileOp).Op).Loop.Body;

    [Fact]
    public void PullSumIntoWhile_CarriesTheSummedTopCoefficient()
    {
        // Σ_P of the second coefficient of a loop's carry, read from the packed jet loop as the rule sees it.
        var f = Tracer.Function(x => Tracer.While((c, _) => 2.5 - c[1], (c, k) => [Fn.Sin(c[0]) * 0.5 + c[0] * k[0], c[1] + 1.0],
            [x, Fn.Zeros(x.Graph, Shape.Scalar)], [x], maxIterations: 10).Values[0], new Shape(2, 3));
        var g = new Graph(DType.Float64);
        var x0 = g.Input(new Shape(2, 3));
        var v = g.Input(new Shape(4, 2, 3));
        Jet.Apply(f, [x0], [[v, null]], 2, new Shape(4));
        var loop = Assert.Single(g.Nodes, n => n.Op is WhileOp { Jet: not null });
        var info = ((WhileOp)loop.Op).Jet!;
        int top = Enumerable.Range(0, info.Slots.Length).First(i => info.Slots[i] == new JetSlot(0, 2));
        g.SetOutputs(Fn.Sum(SubgraphJets.Component(loop, ((WhileOp)loop.Op).Loop.CarryShapes, top), 0));

        var simplifier = new Simplifier([new PullSumIntoWhile()]);
        var s = simplifier.Run(g);
        Assert.Contains(simplifier.Log, r => r.Rule == nameof(PullSumIntoWhile));
        var collapsed = ((WhileOp)Assert.Single(GraphWalk.Reachable(s), n => n.Op is WhileOp).Op).Loop;
        Assert.Equal(new Shape(2, 3), collapsed.Body.Inputs[top].Shape);   // the carried top coefficient is summed
        NDArray<double>[] inputs = [Randn(1, 2, 3), Randn(2, 4, 2, 3)];
        Close(Run(g, inputs)[0], Run(s, inputs)[0], 1e-13);
    }

    [Fact]
    public void CollapsedLaplacianOfAWhileLoopCarriesTwoPlusDVectorsPerStep()
    {
        var shape = new Shape(N, D);
        var collapsed = Pde.LaplacianGraph(WhileNet, shape, DType.Float64, Strategy.Collapsed);
        var standard = Pde.LaplacianGraph(WhileNet, shape, DType.Float64, Strategy.StandardTaylor);

        // Standard Taylor carries h₂ per direction: the body multiplies h₀, h₁ [D, N, H] and h₂ [D, N, H] by W.
        Assert.Equal(1 + 2 * D, Assert.Single(GraphStats.Of(Body(standard), N).PerLayer).Vectors);
        // Collapsed: h₀, h₁ [D, N, H] and the summed h₂, as a scan's body and each block of the unrolled network.
        var body = Body(collapsed);
        var layer = Assert.Single(GraphStats.Of(body, N).PerLayer);
        Assert.True(layer.Vectors == 2 + D, $"{layer.Vectors} vectors per step, expected {2 + D}\n{body}");
        Assert.Contains(body.Inputs, i => i.Shape == new Shape(1, N, H));       // Σh₂, the keep-dims sum's shape
        Assert.DoesNotContain(body.Inputs, i => i.Shape == new Shape(D, N, H) && GraphWalk.InputName(i).EndsWith("_2", StringComparison.Ordinal));

        var x = Randn(5, N, D);
        var expected = Run(standard, x)[0];
        Close(expected, Run(collapsed, x)[0], 1e-12);
        Close(expected, Run(Pde.LaplacianGraph(WhileNet, shape, DType.Float64, Strategy.NestedFirstOrder), x)[0], 1e-12);
        Close(expected, Run(Pde.LaplacianGraph(UnrolledNet, shape, DType.Float64, Strategy.Collapsed), x)[0], 1e-12);
        Close(expected, SecondDifferenceLaplacian(WhileNet, x), 1e-5);
    }

    [Fact]
    public void CollapsedLaplacianOfTheNewtonModelCarriesOneSummedCoefficient()
    {
        // u = z with z³ + z = a(x), z by Newton in a while loop: the loop carries z₀ [N], z₁ [D, N] and Σz₂ [N]
        // where standard Taylor carries z₂ [D, N]; the Laplacians agree with every strategy and finite differences.
        const int points = 4;
        Node U(Node xs) => NewtonInModelDemo.SolveByWhile(NewtonInModelDemo.A(xs)).Values[0];
        var shape = new Shape(points, D);
        var collapsed = Pde.LaplacianGraph(U, shape, DType.Float64, Strategy.Collapsed);
        var standard = Pde.LaplacianGraph(U, shape, DType.Float64, Strategy.StandardTaylor);
        static int Carried(Graph g)
        {
            var loop = ((WhileOp)Assert.Single(GraphWalk.Reachable(g), n => n.Op is WhileOp).Op).Loop;
            return loop.CarryShapes.Sum(s => s.Size);
        }
        Assert.Equal(points + 2 * D * points, Carried(standard));
        Assert.Equal(points + D * points + points, Carried(collapsed));

        var x = Randn(8, points, D);
        var expected = Run(standard, x)[0];
        Close(expected, Run(collapsed, x)[0], 1e-12);
        Close(expected, Run(Pde.LaplacianGraph(U, shape, DType.Float64, Strategy.NestedFirstOrder), x)[0], 1e-12);
        Close(expected, SecondDifferenceLaplacian(U, x), 1e-5);
    }

    /// <summary>Σ_d (u(x + h e_d) − 2u(x) + u(x − h e_d)) / h² per point.</summary>
    private static NDArray<double> SecondDifferenceLaplacian(Func<Node, Node> u, NDArray<double> x, double h = 1e-4)
    {
        var exe = Runtime.Executable.Compile(Tracer.Function(u, x.Shape));
        var center = exe.Run(x)[0];
        var lap = new NDArray<double>(center.Shape);
        for (int d = 0; d < x.Shape[1]; d++)
            foreach (var sign in (ReadOnlySpan<double>)[1.0, -1.0])
            {
                var shifted = x.Clone();
                for (int n = 0; n < x.Shape[0]; n++) shifted[n, d] += sign * h;
                var value = exe.Run(shifted)[0];
                for (int i = 0; i < lap.Size; i++) lap.Data[i] += (value.Data[i] - center.Data[i]) / (h * h);
            }
        return lap;
    }
}
