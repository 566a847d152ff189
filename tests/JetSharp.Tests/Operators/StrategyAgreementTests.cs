using JetSharp.Nn;
using static JetSharp.Tests.TestUtil;
using static JetSharp.Tests.OperatorTestUtil;

namespace JetSharp.Tests;

/// <summary>
/// On MLPs (no closed form), the three strategies compute the same operator by different code paths
/// (collapsed sums, one jet per direction, nested HVPs), so agreement to rounding is a strong check.
/// Stochastic operators with one seed must draw the same directions in every strategy.
/// </summary>
public class StrategyAgreementTests
{
    private const double Tol = 1e-10;
    private const int N = 4;

    public static TheoryData<Activation, int> ActivationsAndDimensions()
    {
        var data = new TheoryData<Activation, int>();
        foreach (var a in new[] { Activation.Tanh, Activation.Sigmoid, Activation.Softplus })
            for (int d = 3; d <= 6; d++) data.Add(a, d);
        return data;
    }

    private static Mlp Net(int d, Activation a, int outputs = 1) => Mlp.Create(d, [8, 8], outputs, a, seed: 3 + d);

    /// <summary>Applies the operator in every strategy and checks each against the collapsed result.</summary>
    private static void AssertAgree(DifferentialOperator op, Func<Node, Node> f, NDArray<double> x)
    {
        var reference = op.Apply(f, x, Strategy.Collapsed);
        Assert.True(reference.Data.All(double.IsFinite));
        Assert.True(MaxAbs(reference) > 1e-6, "the reference is ~0, so agreement would prove little");
        foreach (var s in new[] { Strategy.StandardTaylor, Strategy.NestedFirstOrder })
        {
            var other = op.Apply(f, x, s);
            Assert.True(RelErr(other, reference) <= Tol, $"{op} in {s}: relative error {RelErr(other, reference):E2} vs collapsed\n{reference}\n{other}");
        }
    }

    [Theory]
    [MemberData(nameof(ActivationsAndDimensions))]
    public void ExactLaplacian(Activation a, int d) =>
        AssertAgree(DifferentialOperator.Laplacian(), Net(d, a).Apply, Randn(d, N, d));

    [Theory]
    [MemberData(nameof(ActivationsAndDimensions))]
    public void ExactLaplacianOfTwoOutputs(Activation a, int d) =>
        AssertAgree(DifferentialOperator.Laplacian(), Net(d, a, outputs: 2).Apply, Randn(d + 10, N, d));

    [Theory]
    [MemberData(nameof(ActivationsAndDimensions))]
    public void WeightedLaplacian(Activation a, int d)
    {
        var sigma = NDArray.FromArray(RandomMatrix(d, 2, seed: d));
        AssertAgree(DifferentialOperator.WeightedLaplacian(sigma), Net(d, a).Apply, Randn(d + 20, N, d));
    }

    [Theory]
    [MemberData(nameof(ActivationsAndDimensions))]
    public void GeneralOperator(Activation a, int d)
    {
        // Orders 1 to 4, a negative even-order weight and a zero-order term.
        var op = DifferentialOperator.Linear([(1.0, [0, 1]), (-0.5, [2, 2]), (0.3, [0]), (0.7, [0, 0, 1]), (0.2, [1, 1, 2, 2]), (1.5, Array.Empty<int>())]);
        AssertAgree(op, Net(d, a).Apply, Randn(d + 30, N, d));
    }

    [Theory]
    [MemberData(nameof(ActivationsAndDimensions))]
    public void StochasticLaplacianSameSeed(Activation a, int d)
    {
        foreach (var dist in new[] { Distribution.Normal, Distribution.Rademacher })
            AssertAgree(DifferentialOperator.Laplacian(Estimate.Stochastic(5, dist, seed: 17)), Net(d, a).Apply, Randn(d + 40, N, d));
    }

    [Theory]
    [MemberData(nameof(ActivationsAndDimensions))]
    public void StochasticWeightedLaplacianSameSeed(Activation a, int d)
    {
        var sigma = NDArray.FromArray(RandomMatrix(d, 2, seed: d));
        AssertAgree(DifferentialOperator.WeightedLaplacian(sigma, Estimate.Stochastic(3, seed: 5)), Net(d, a).Apply, Randn(d + 50, N, d));
    }

    /// <summary>σ(x) = diag(1 + x²)·M (per datum), exact and stochastic with one seed.</summary>
    [Theory]
    [MemberData(nameof(ActivationsAndDimensions))]
    public void WeightedLaplacianWithSigmaOfX(Activation a, int d)
    {
        var m = NDArray.FromArray(RandomMatrix(d, 2, seed: d + 1)).Reshape(new Shape(1, d, 2));
        Node Sigma(Node v) => Fn.ExpandDims(1.0 + v * v, 2) * v.Graph.Constant(m);
        var x = Randn(d + 55, N, d);
        AssertAgree(DifferentialOperator.WeightedLaplacian(Sigma), Net(d, a).Apply, x);
        AssertAgree(DifferentialOperator.WeightedLaplacian(Sigma, Estimate.Stochastic(3, Distribution.Rademacher, seed: 8)), Net(d, a).Apply, x);
    }

    [Theory]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.Softplus)]
    public void ExactBiharmonic(Activation a) =>
        AssertAgree(DifferentialOperator.Biharmonic(), Mlp.Create(3, [6], 1, a, seed: 9).Apply, Randn(60, N, 3));

    [Theory]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.Softplus)]
    public void StochasticBiharmonicSameSeed(Activation a) =>
        AssertAgree(DifferentialOperator.Biharmonic(Estimate.Stochastic(4, seed: 23)), Mlp.Create(3, [6], 1, a, seed: 9).Apply, Randn(61, N, 3));

    /// <summary>A different seed must give a different estimate (otherwise "same seed" agreement would be vacuous).</summary>
    [Fact]
    public void DifferentSeedsGiveDifferentEstimates()
    {
        var net = Net(4, Activation.Tanh);
        var x = Randn(70, N, 4);
        var e1 = DifferentialOperator.Laplacian(Estimate.Stochastic(2, seed: 1)).Apply(net.Apply, x);
        var e2 = DifferentialOperator.Laplacian(Estimate.Stochastic(2, seed: 1000)).Apply(net.Apply, x);
        Assert.True(RelErr(e1, e2) > 1e-3);
    }

    /// <summary>An empty batch is a valid [0, D] input: every strategy returns an empty [0, C] result.</summary>
    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void EmptyBatch(string strategy)
    {
        var s = Strategy.FromName(strategy);
        var x = new NDArray<double>(new Shape(0, 3));
        Assert.Equal(new Shape(0, 1), Pde.Laplacian(Net(3, Activation.Tanh).Apply, x, s).Shape);
        Assert.Equal(new Shape(0, 2), Pde.Laplacian(Net(3, Activation.Tanh, outputs: 2).Apply, x, s).Shape);
        Assert.Equal(new Shape(0, 1), Pde.Biharmonic(Mlp.Create(3, [4], 1, Activation.Tanh, seed: 9).Apply, x, s).Shape);
    }
}
