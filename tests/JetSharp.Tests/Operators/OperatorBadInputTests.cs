using JetSharp.Nn;
using JetSharp.Primitives;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Misuse must fail early with a clear exception whose message names the operation and the offending
/// shapes or values (not an index error deep in a kernel, and never a silently wrong number).
/// </summary>
public class OperatorBadInputTests
{
    private static Node Smooth(Node v) => Fn.Sum(Fn.Sin(v) * v, 1, keepDims: true);

    private static void Mentions(Exception e, params string[] parts)
    {
        foreach (var p in parts) Assert.Contains(p, e.Message);
    }

    [Fact]
    public void SigmaForOtherDimension()
    {
        var sigma = NDArray.FromArray(new double[,] { { 1, 0 }, { 0, 1 }, { 1, 1 } });        // [3, 2]
        var x = Randn(1, 2, 4);
        var e = Assert.Throws<ShapeException>(() => Pde.WeightedLaplacian(Smooth, x, sigma));
        Mentions(e, "WeightedLaplacian", "[3, 2]", "D = 4");
    }

    [Fact]
    public void LinearVariablesForOtherDimension()
    {
        var x = Randn(2, 2, 3);
        var e = Assert.Throws<ShapeException>(() => Pde.Linear(Smooth, x, [(1.0, "xy")], "xy"));
        Mentions(e, "Linear", "2 variables", "D = 3");
    }

    [Fact]
    public void AxesOutsideTheInput()
    {
        var op = DifferentialOperator.Linear([(1.0, [0, 3])]);
        var e = Assert.Throws<ShapeException>(() => op.Apply(Smooth, Randn(3, 2, 3)));
        Mentions(e, "Linear", "[0, 3]", "0..2");
        Assert.Throws<ShapeException>(() => DifferentialOperator.Linear([(1.0, [-1])]).Apply(Smooth, Randn(3, 2, 3)));
    }

    [Fact]
    public void SigmaOfRankOne()
    {
        var e = Assert.Throws<ShapeException>(() => DifferentialOperator.WeightedLaplacian(NDArray.FromArray(new[] { 1.0, 2.0, 3.0 })));
        Mentions(e, "WeightedLaplacian", "[D, R]", "[3]");
    }

    [Theory]
    [InlineData("Collapsed")]
    [InlineData("NestedFirstOrder")]
    public void SigmaOfXWithWrongShape(string strategy)
    {
        var s = Strategy.FromName(strategy);
        var x = Randn(4, 2, 3);
        // Rank 2 instead of [N, D, R].
        var e = Assert.Throws<ShapeException>(() => Pde.WeightedLaplacian(Smooth, x, v => v * 2.0, strategy: s));
        Mentions(e, "WeightedLaplacian", "σ(x)", "[2, 3]");
        // [N, D + 1, R]: rows of σ do not match the input dimension.
        Node Wide(Node v) => Fn.BroadcastTo(v.Graph.Scalar(1), new Shape(v.Shape[0], 4, 2));
        e = Assert.Throws<ShapeException>(() => Pde.WeightedLaplacian(Smooth, x, Wide, strategy: s));
        Mentions(e, "WeightedLaplacian", "[2, 4, 2]", "[2, 3]");
        // Stochastic σ(x) checks too.
        e = Assert.Throws<ShapeException>(() => Pde.WeightedLaplacian(Smooth, x, Wide, Estimate.Stochastic(2), s));
        Mentions(e, "[2, 4, 2]");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void NonPositiveSampleCount(int samples)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Estimate.Stochastic(samples));
        Mentions(e, "Estimate.Stochastic", $"got {samples}");
    }

    [Fact]
    public void UniformDirectionsRefused() =>
        Mentions(Assert.Throws<ArgumentException>(() => Estimate.Stochastic(3, Distribution.Uniform)), "Estimate.Stochastic", "uniform");

    [Fact]
    public void EmptyOperator()
    {
        Mentions(Assert.Throws<ArgumentException>(() => DifferentialOperator.Linear(Array.Empty<(double, string)>(), "xy")), "Linear", "no terms");
        Mentions(Assert.Throws<ArgumentException>(() => DifferentialOperator.Linear(Array.Empty<(double, int[])>())), "Linear", "no terms");
    }

    [Fact]
    public void TermUsesUnknownLetter()
    {
        var e = Assert.Throws<ArgumentException>(() => DifferentialOperator.Linear([(1.0, "xx"), (2.0, "xz")], "xy"));
        Mentions(e, "Linear", "'xz'", "'z'", "'xy'");
    }

    [Fact]
    public void RepeatedVariableLetters()
    {
        var e = Assert.Throws<ArgumentException>(() => DifferentialOperator.Linear([(1.0, "xx")], "xyx"));
        Mentions(e, "Linear", "'xyx'");
    }

    public static TheoryData<string, string> NonSmoothCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var op in new[] { "laplacian", "biharmonic", "stochastic biharmonic" })
            foreach (var s in new[] { Strategy.Collapsed, Strategy.StandardTaylor }) data.Add(op, s.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(NonSmoothCases))]
    public void ReluNetworkUnderHigherOrderOperator(string which, string strategy)
    {
        var s = Strategy.FromName(strategy);
        var net = Mlp.Create(3, [4], 1, Activation.Relu, seed: 1);
        var op = which switch
        {
            "laplacian" => DifferentialOperator.Laplacian(),
            "biharmonic" => DifferentialOperator.Biharmonic(),
            _ => DifferentialOperator.Biharmonic(Estimate.Stochastic(2)),
        };
        var e = Assert.Throws<NotSmoothException>(() => op.Apply(net.Apply, Randn(5, 2, 3), s));
        Mentions(e, "relu", "not smooth", which == "laplacian" ? "order 2" : "order 4");
    }

    [Fact]
    public void ReluIsFineForFirstOrderOperators()
    {
        // A first-order operator only needs the (a.e.) first derivative, which relu has.
        var net = Mlp.Create(3, [4], 1, Activation.Relu, seed: 1);
        var op = DifferentialOperator.Linear([(1.0, [0])]);
        var x = Randn(5, 2, 3);
        Close(op.Apply(net.Apply, x, Strategy.NestedFirstOrder), op.Apply(net.Apply, x, Strategy.Collapsed), 1e-12);
    }

    [Theory]
    [InlineData(new[] { 3 })]
    [InlineData(new[] { 2, 3, 1 })]
    public void PointsNotOfRankTwo(int[] shape)
    {
        var x = Randn(6, shape);
        var e = Assert.Throws<ShapeException>(() => Pde.Laplacian(Smooth, x));
        Mentions(e, "Laplacian", "[N, D]", new Shape(shape).ToString());
        e = Assert.Throws<ShapeException>(() => DifferentialOperator.Laplacian().Compile(Smooth, new Shape(shape)));
        Mentions(e, "Laplacian", "[N, D]", new Shape(shape).ToString());
    }

    [Fact]
    public void FunctionThatIsNotPerDatum()
    {
        // Σ over the whole batch returns a scalar, not [N, …].
        var e = Assert.Throws<ShapeException>(() => Pde.Laplacian(v => Fn.Sum(v), Randn(7, 2, 3)));
        Mentions(e, "Laplacian", "[2, 3]", "[]");
    }

    [Fact]
    public void RademacherForStochasticBiharmonic()
    {
        var e = Assert.Throws<ArgumentException>(() => DifferentialOperator.Biharmonic(Estimate.Stochastic(4, Distribution.Rademacher)));
        Mentions(e, "Biharmonic", "Gaussian", "Rademacher");
    }

    [Fact]
    public void CoefficientMatrixMisuse()
    {
        Mentions(Assert.Throws<ShapeException>(() => DifferentialOperator.WeightedLaplacianFromCoefficients(new double[2, 3])), "WeightedLaplacianFromCoefficients", "[2, 3]");
        Mentions(Assert.Throws<ArgumentException>(() => DifferentialOperator.WeightedLaplacianFromCoefficients(new double[,] { { 1, 2 }, { 0, 1 } })), "WeightedLaplacianFromCoefficients", "not symmetric");
        var op = DifferentialOperator.WeightedLaplacianFromCoefficients(new double[,] { { 1, 0 }, { 0, -1 } });
        Mentions(Assert.Throws<ShapeException>(() => op.Apply(Smooth, Randn(8, 2, 3))), "WeightedLaplacianFromCoefficients", "2×2", "D = 3");
    }
}
