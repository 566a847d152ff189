using JetSharp.Runtime;
using JetSharp.Simplify;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.ControlFlow;

public class CondTests
{
    // Two branches over (x [3], w [3]) that differ in every derivative order.
    private static Node Then(Node x, Node w) => Fn.Sin(x * w) * x * x;
    private static Node Else(Node x, Node w) => Fn.Exp(-0.5 * x) * Fn.Cos(w) + x * w * w;

    private static Node Piecewise(Node x, Node w) =>
        Tracer.Cond(Fn.Sum(x) - 0.5, a => Then(a[0], a[1]), a => Else(a[0], a[1]), x, w);

    private static readonly NDArray<double> XThen = T(0.4, 0.3, 0.2), XElse = T(-0.4, 0.1, 0.2), W = T(0.7, -1.1, 0.5);

    [Fact]
    public void RunsTheTakenBranchOnly()
    {
        Close(Eval(xs => Then(xs[0], xs[1]), XThen, W), Eval(xs => Piecewise(xs[0], xs[1]), XThen, W), 0);
        Close(Eval(xs => Else(xs[0], xs[1]), XElse, W), Eval(xs => Piecewise(xs[0], xs[1]), XElse, W), 0);
        // At the boundary (predicate exactly 0) the else branch is taken.
        var boundary = T(0.25, 0.25, 0.0);
        Close(Eval(xs => Else(xs[0], xs[1]), boundary, W), Eval(xs => Piecewise(xs[0], xs[1]), boundary, W), 0);
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(true, 2)]
    [InlineData(true, 3)]
    [InlineData(true, 4)]
    [InlineData(false, 1)]
    [InlineData(false, 4)]
    public void JetOfCondIsTheJetOfTheTakenBranch(bool thenSide, int order)
    {
        var shapes = new[] { new Shape(3), new Shape(3) };
        var cond = Tracer.Function(xs => Piecewise(xs[0], xs[1]), shapes);
        var straight = Tracer.Function(xs => thenSide ? Then(xs[0], xs[1]) : Else(xs[0], xs[1]), shapes);
        var prefix = new Shape(2);
        var inputs = new List<NDArray<double>> { thenSide ? XThen : XElse, W };
        for (int input = 0; input < 2; input++)
            for (int k = 1; k <= order; k++) inputs.Add(Randn(10 * input + k, 2, 3));
        var expected = Run(Jet.Transform(straight, order, prefix), [.. inputs]);
        var actual = Run(Jet.Transform(cond, order, prefix), [.. inputs]);
        for (int k = 0; k <= order; k++) Close(expected[k], actual[k], 1e-13);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void VjpMatchesCentralDifferences(bool thenSide)
    {
        var c = T(1.0, -2.0, 0.5);
        Func<Node[], Node> loss = xs => Fn.Sum(Piecewise(xs[0], xs[1]) * xs[0].Graph.Constant(c));
        var x = thenSide ? XThen : XElse;
        var grads = Run(Vjp.Grad(Tracer.Function(loss, [x.Shape, W.Shape])), x, W);
        var (vx, vw) = (Randn(1, 3), Randn(2, 3));
        double expected = CentralDifference(loss, [x, W], [vx, vw], 1e-6).Data[0];
        Close(expected, Dot(grads[1], vx) + Dot(grads[2], vw), 1e-8);
    }

    /// <summary>f(x) = sin(r²) inside the unit ball, r⁴ outside, with r² = Σx²; x one point [1, D].</summary>
    internal static Node Radial(Node x) =>
        Tracer.Cond(1.0 - Fn.Sum(x * x), a => Fn.Sin(Fn.Sum(a[0] * a[0], 1)), a => Fn.Square(Fn.Sum(a[0] * a[0], 1)), x);

    /// <summary>Δ sin(r²) = 2D cos r² − 4r² sin r²; Δ r⁴ = 4(D + 2) r².</summary>
    internal static double RadialLaplacian(double[] x)
    {
        double r2 = x.Sum(v => v * v);
        int d = x.Length;
        return r2 < 1 ? 2 * d * Math.Cos(r2) - 4 * r2 * Math.Sin(r2) : 4 * (d + 2) * r2;
    }

    [Theory]
    [InlineData(0.3, -0.2, 0.4, 0.1)]
    [InlineData(0.9, -0.7, 0.4, 0.6)]
    public void LaplacianIsRightOnBothSidesWithEveryStrategy(double a, double b, double c, double d)
    {
        var x = NDArray.FromArray(new double[,] { { a, b, c, d } });
        double exact = RadialLaplacian([a, b, c, d]);
        foreach (var strategy in Strategy.All)
        {
            var lap = Pde.Laplacian(Radial, x, strategy);
            Close(exact, lap.Data[0], 1e-12);
        }
    }

    [Fact]
    public void CollapsedLaplacianSumsTheTopCoefficientInsideBothBranches()
    {
        var shape = new Shape(1, 4);
        var collapsed = Pde.LaplacianGraph(Radial, shape, DType.Float64, Strategy.Collapsed);
        var standard = Pde.LaplacianGraph(Radial, shape, DType.Float64, Strategy.StandardTaylor);
        static bool SumOfCond(Graph g) => GraphWalk.Reachable(g).Any(n => n.Op is SumOp && n.Inputs[0].Op is CondOp);
        Assert.True(SumOfCond(standard));      // standard Taylor: y₂ of every direction leaves the cond, then is summed
        Assert.False(SumOfCond(collapsed));    // collapsed: the sum moved into the branches
        var conds = GraphWalk.Reachable(collapsed).Where(n => n.Op is CondOp).ToList();
        Assert.NotEmpty(conds);
        // The cond producing the Laplacian returns the summed coefficient [1], not one per direction [4, 1].
        Assert.Contains(conds, n => n.Shape == new Shape(1));
        Assert.DoesNotContain(conds, n => n.Shape == new Shape(4, 1));
        foreach (var n in conds) AssertBranchesSimplified((CondOp)n.Op);
        var x = NDArray.FromArray(new double[,] { { 0.3, -0.2, 0.4, 0.1 } });
        Close(Run(standard, x)[0], Run(collapsed, x)[0], 1e-12);
    }

    [Fact]
    public void BadPredicatesAndBranchesAreRejectedWithNamedErrors()
    {
        var e1 = Assert.Throws<ShapeException>(() => Tracer.Function(x => Tracer.Cond(x, a => a[0], a => a[0], x), new Shape(3)));
        Assert.Contains("predicate", e1.Message);
        Assert.Contains("[3]", e1.Message);
        var e2 = Assert.Throws<ShapeException>(() => Tracer.Function(x => Tracer.Cond(Fn.Sum(x), a => a[0], a => Fn.Sum(a[0]), x), new Shape(3)));
        Assert.Contains("then branch", e2.Message);
        Assert.Contains("else branch", e2.Message);
        Assert.Contains("output 0", e2.Message);
        var e3 = Assert.Throws<ShapeException>(() => Tracer.Function(x => Tracer.Cond(Fn.Sum(x), a => [a[0], a[0]], a => [a[0]], x)[0], new Shape(3)));
        Assert.Contains("2 output(s)", e3.Message);
        // A branch that uses a node of an unrelated trace (values of the enclosing trace are closures: ClosureTests).
        var foreign = Tracer.Function(y => y * 2.0, new Shape(3)).Outputs[0];
        var e4 = Assert.Throws<ArgumentException>(() => Tracer.Function(x => Tracer.Cond(Fn.Sum(x), a => a[0] * foreign, a => a[0], x), new Shape(3)));
        Assert.Contains("cond (then branch)", e4.Message);
        // A NaN predicate is refused at run time.
        var g = Tracer.Function(x => Tracer.Cond(Fn.Log(Fn.Sum(x)), a => a[0], a => -a[0], x), new Shape(2));
        var e5 = Assert.Throws<InvalidOperationException>(() => Run(g, T(-1.0, 0.5)));
        Assert.Contains("NaN", e5.Message);
    }

    [Fact]
    public void SeveralOutputsShareOnePredicate()
    {
        var g = Tracer.Function(xs => Tracer.Cond(Fn.Sum(xs[0]), a => [a[0] * 2, Fn.Sum(a[0])], a => [-a[0], Fn.Sum(a[0] * a[0])], xs[0]), [new Shape(2)]);
        var up = Run(g, T(1.0, 2.0));
        Close(T(2.0, 4.0), up[0], 0);
        Close(3.0, up[1].Data[0], 0);
        var down = Run(g, T(-1.0, -2.0));
        Close(T(1.0, 2.0), down[0], 0);
        Close(5.0, down[1].Data[0], 0);
    }

    [Fact]
    public void SimplifierKeepsValuesAndSimplifiesBranches()
    {
        var g = Tracer.Function(xs => Piecewise(xs[0], xs[1]), [new Shape(3), new Shape(3)]);
        var s = Simplifier.Simplify(g);
        foreach (var x in new[] { XThen, XElse }) Close(Run(g, x, W)[0], Run(s, x, W)[0], 1e-15);
        Assert.All(s.Nodes.Where(n => n.Op is CondOp), n => AssertBranchesSimplified((CondOp)n.Op));
    }

    /// <summary>Both branches are fixed points of the simplifier: simplifying them again leaves as many live nodes.</summary>
    private static void AssertBranchesSimplified(CondOp cond)
    {
        foreach (var b in cond.Bodies)
            Assert.Equal(GraphWalk.Reachable(b).Count(), GraphWalk.Reachable(Simplifier.Simplify(b)).Count());
    }
}
