using JetSharp.Nn;
using JetSharp.Simplify;
using JetSharp.Simplify.Rules;
using static JetSharp.Tests.SimplifyTestUtil;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// The sign and doubling rules (Rules/SignRules.cs) alone on tiny graphs: each fires, leaves the structure it
/// promises, and — being exact in floating point — computes the unsimplified graph's values bit for bit; and with
/// the standard set on the pattern they were written for, a·(−t) + −(a·t), and on a collapsed Laplacian of a tanh
/// network, whose values they keep.
/// </summary>
public class SignRuleTests
{
    private const int N = 4, H = 5;

    private static NDArray<double> X(long seed) => Randn(seed, N, H);

    /// <summary>Runs <paramref name="rule"/> alone on <paramref name="f"/>, asserts it fired and that the values are the same bits.</summary>
    private static Graph FiresExactly(RewriteRule rule, Func<Node[], Node> f, params NDArray<double>[] inputs)
    {
        var before = Tracer.Function(f, [.. inputs.Select(x => x.Shape)]);
        var s = new Simplifier([rule]);
        var after = s.Run(before);
        AssertFired(s, rule);
        Assert.Equal(Run(before, inputs)[0].Data, Run(after, inputs)[0].Data);
        return after;
    }

    [Fact]
    public void PullNegOutOfProductMovesTheNegationOutside()
    {
        var g = FiresExactly(new PullNegOutOfProduct(), xs => xs[0] * -xs[1], X(1), X(2));
        Assert.False(Consumes<MulOp, NegOp>(g));
        Assert.True(Consumes<NegOp, MulOp>(g));
        g = FiresExactly(new PullNegOutOfProduct(), xs => -xs[0] / xs[1], X(1), Rand(2, 0.5, 1.5, N, H));
        Assert.False(Consumes<DivOp, NegOp>(g));
        Assert.True(Consumes<NegOp, DivOp>(g));
        // Two negations cancel.
        g = FiresExactly(new PullNegOutOfProduct(), xs => -xs[0] * -xs[1], X(1), X(2));
        Assert.Empty(LiveOf<NegOp>(g));
    }

    [Fact]
    public void PullNegOutOfProductLeavesScalingsToTheScalarFactorRules()
    {
        // (−x)·3 is a scaling: PullScalarFactorOut turns −(x·3) into (−x)·3, so moving the negation back would loop.
        DoesNotFire(new PullNegOutOfProduct(), xs => -xs[0] * 3.0, X(1));
        DoesNotFire(new PullNegOutOfProduct(), xs => xs[0] * xs[1], X(1), X(2));
        var standard = Simplifier.Standard();
        SimplifyAndCompare(standard, xs => Fn.Sum(-xs[0] * 3.0, 0) * xs[1], X(1), X(2));   // terminates
    }

    [Fact]
    public void AddOfNegBecomesASubtraction()
    {
        var g = FiresExactly(new AddOfNeg(), xs => xs[0] + -xs[1], X(1), X(2));
        Assert.Empty(LiveOf<NegOp>(g));
        Assert.Single(LiveOf<SubOp>(g));
        g = FiresExactly(new AddOfNeg(), xs => -xs[0] + xs[1], X(1), X(2));
        Assert.Empty(LiveOf<NegOp>(g));
        Assert.Single(LiveOf<SubOp>(g));
        g = FiresExactly(new AddOfNeg(), xs => xs[0] - -xs[1], X(1), X(2));
        Assert.Empty(LiveOf<NegOp>(g));
        Assert.Single(LiveOf<AddOp>(g));
        // With broadcasting: the subtraction broadcasts as the addition did.
        FiresExactly(new AddOfNeg(), xs => xs[0] + -xs[1], X(1), Randn(2, H));
        DoesNotFire(new AddOfNeg(), xs => -xs[0] - xs[1], X(1), X(2));
    }

    [Fact]
    public void AddOfSelfBecomesADoubling()
    {
        var g = FiresExactly(new AddOfSelf(), xs => Fn.Sin(xs[0]) + Fn.Sin(xs[0]), X(1));
        Assert.Empty(LiveOf<AddOp>(g));
        Assert.Single(LiveOf<MulOp>(g));
        DoesNotFire(new AddOfSelf(), xs => xs[0] + xs[1], X(1), X(2));
    }

    [Fact]
    public void TheStandardSetReducesAProductWrittenWithAndWithoutItsSign()
    {
        // a·(−t) + −(a·t) = −2·(a·t): one product, one negation, one doubling, same bits.
        NDArray<double>[] inputs = [X(1), X(2)];
        var before = Tracer.Function(xs => xs[0] * -Fn.Tanh(xs[1]) + -(xs[0] * Fn.Tanh(xs[1])), [.. inputs.Select(x => x.Shape)]);
        var after = Simplifier.Standard().Run(before);
        Assert.Equal(Run(before, inputs)[0].Data, Run(after, inputs)[0].Data);
        Assert.Equal(2, LiveOf<MulOp>(after).Count);   // a·t and the doubling
        Assert.Single(LiveOf<NegOp>(after));
        Assert.Empty(LiveOf<AddOp>(after));
    }

    [Fact]
    public void OnACollapsedLaplacianTheRulesFireAndKeepTheValues()
    {
        var net = Mlp.Create(3, [8, 8], 1, Activation.Tanh, seed: 3);
        var traced = Tracer.Function(net.Apply, new Shape(6, 3), DType.Float64);
        var unsimplified = DifferentialOperator.Laplacian().Build(traced, Strategy.StandardTaylor);
        var simplifier = Simplifier.Standard();
        var simplified = simplifier.Run(unsimplified);
        Assert.True(Fired(simplifier, nameof(AddOfSelf)) || Fired(simplifier, nameof(AddOfNeg)) || Fired(simplifier, nameof(PullNegOutOfProduct)),
            $"none of the sign rules fired: [{string.Join("; ", simplifier.Log.Select(f => f.Rule).Distinct())}]");
        SameOutputs(unsimplified, simplified, [Rand(4, -1, 1, 6, 3)]);
    }

    [Fact]
    public void ADoubledSelectionIsNotTakenForAGatherBySumOfProductWithSelection()
    {
        // x + x of a directional derivative along coordinate directions becomes x·2 with a rank-0 factor, which
        // SumOfProductWithSelection once read as a [.., D] factor (an axis out of range; found by the operator fuzz tests).
        var f = Tracer.Function(x => Fn.Sin(x + Fn.Mean(x + x, 1, keepDims: true)), new Shape(2, 3));
        (double, string)[] terms = [(-0.25, "tx"), (0.5, "yyx"), (-0.125, "tyx"), (1, "x")];
        var simplified = DifferentialOperator.Linear(terms, "xty").Build(f, Strategy.Collapsed);
        var reference = DifferentialOperator.Linear(terms, "xty").Build(f, Strategy.StandardTaylor);
        SameOutputs(reference, simplified, [Rand(5, -1, 1, 2, 3)], 1e-10);
    }
}
