using JetSharp.Primitives.LinearAlgebra;
using JetSharp.Primitives;
using JetSharp.Simplify;
using JetSharp.Simplify.Rules;
using static JetSharp.Tests.SimplifyTestUtil;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Every rule on its own: a simplifier holding only that rule runs on a tiny hand-built graph. Each
/// positive test checks that the rule fired (the log), the structure it leaves (which op now consumes
/// which), and that the values are unchanged (the unsimplified graph is the reference). Negative tests
/// check the guards: the rule must not fire where the rewrite would be wrong or would not pay.
/// </summary>
public class RuleTests
{
    // Distinct extents, so a wrong axis shows up as a shape error rather than passing by coincidence.
    private const int R = 3, N = 4, H = 5, K = 2;

    private static NDArray<double> X(long seed, params int[] shape) => Randn(seed, shape);


    /// <summary>A sum without keepDims comes out as reshape(sum(…, keepDims)); look through the reshape.</summary>
    private static Node SkipReshape(Node n) => n.Op is ReshapeOp ? n.Inputs[0] : n;

    private static Node Zeros(Node like, params int[] shape) => Fn.Zeros(like.Graph, new Shape(shape));

    // ------------------------------------------------------------------ rule coverage

    /// <summary>The rule classes this file tests; the test below fails when a rule is added to Rules/ without a test here.</summary>
    private static readonly Type[] Covered =
    [
        typeof(PullSumThroughAddSub), typeof(PullSumThroughNeg), typeof(PullSumThroughScaling), typeof(PullSumThroughMatMul),
        typeof(PullSumThroughReshape), typeof(PullSumThroughTranspose), typeof(PullSumThroughBroadcast), typeof(PullSumThroughSlice),
        typeof(PullSumThroughPad), typeof(PullSumThroughConcat), typeof(PullSumThroughSum),
        typeof(PullSumThroughTake), typeof(PullSumThroughScatterAdd), typeof(PullSumThroughCumSum), typeof(PullSumThroughSolve),
        typeof(RemoveNoOp), typeof(ComposeShapeOps), typeof(FoldConstants), typeof(MultiplyByZero), typeof(AddZero),
        typeof(MultiplyByOne), typeof(MatMulByIdentity), typeof(MatMulOfIdentity), typeof(MatMulOfSelection), typeof(SumOfProductWithSelection), typeof(LinearOfZero),
        typeof(SinkTakeThroughScalarArithmetic), typeof(AddOfScatterAdd), typeof(PullSumThroughScatterAddInto),
        typeof(SinkBroadcastThroughUnary), typeof(SinkBroadcastThroughBinary), typeof(SinkBroadcastThroughMatMul),
        typeof(PullSumIntoScan),
        typeof(PullSumThroughCond),
        // Tested in CleanUpRuleTests.cs:
        typeof(CombineScalarFactors), typeof(PullScalarFactorOut), typeof(BroadcastImplicitlyInBinary), typeof(SliceOfConcat),
        // Tested in SignRuleTests.cs:
        typeof(PullNegOutOfProduct), typeof(AddOfNeg), typeof(AddOfSelf),
        // Tested in WhileCollapseTests.cs:
        typeof(PullSumIntoWhile),
        // Tested in ParticleSparsityRuleTests.cs:
        typeof(PullSumThroughGroupScatter), typeof(SumOverGroupsOfGroupScatter), typeof(SinkBroadcastThroughGroupScatter),
        typeof(SplitGroupScatterOfPairs), typeof(PullSumThroughGroupScatterOtherAxes),
    ];

    [Fact]
    public void PullSumIntoScanCarriesTheSummedTopCoefficient()
    {
        var f = Tracer.Function(x => Tracer.Scan(h => Fn.Sin(h) * 0.5 + h, x, 3), new Shape(2, 3));
        var g = new Graph(DType.Float64);
        var x0 = g.Input(new Shape(2, 3));
        var v = g.Input(new Shape(4, 2, 3));
        var y = Jet.Apply(f, [x0], [[v, null]], 2, new Shape(4))[0];
        g.SetOutputs(Fn.Sum(y[2]!, 0));
        var simplifier = new Simplifier([new PullSumIntoScan()]);
        var s = simplifier.Run(g);
        Assert.Contains(simplifier.Log, r => r.Rule == nameof(PullSumIntoScan));
        var scan = (JetSharp.Control.ScanOp)Assert.Single(GraphWalk.Reachable(s), n => n.Op is JetSharp.Control.ScanOp).Op;
        Assert.Equal(new Shape(2, 3), scan.Body.Inputs[2].Shape);   // the carried top coefficient is summed
        NDArray<double>[] inputs = [Randn(1, 2, 3), Randn(2, 4, 2, 3)];
        Close(Run(g, inputs)[0], Run(s, inputs)[0], 1e-13);
    }

    [Fact]
    public void EveryRuleClassIsCoveredAndInTheStandardSet()
    {
        var all = typeof(RewriteRule).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(RewriteRule).IsAssignableFrom(t))
            .OrderBy(t => t.Name).ToList();
        Assert.Equal(all.Select(t => t.Name), Covered.OrderBy(t => t.Name).Select(t => t.Name));
        Assert.Equal(all.Select(t => t.Name), Simplifier.StandardRules.Select(r => r.GetType().Name).Order());
    }

    // ------------------------------------------------------------------ Broadcasting.Carries

    [Fact]
    public void CarriesTreatsStretchedSizeOneAxesAsNotCarriedAndMatchingSizeOneAxesAsCarried()
    {
        var output = new Shape(R, N, H);
        Assert.True(Broadcasting.Carries(new Shape(R, N, H), output, 0));
        Assert.False(Broadcasting.Carries(new Shape(1, N, H), output, 0));   // stretched: same value for every r
        Assert.False(Broadcasting.Carries(new Shape(N, H), output, 0));      // absent
        Assert.True(Broadcasting.Carries(new Shape(N, H), output, 1));
        Assert.False(Broadcasting.Carries(new Shape(H), output, 1));
        Assert.True(Broadcasting.Carries(new Shape(1, N, H), new Shape(1, N, H), 0)); // size 1 facing size 1: conservative
    }

    // ------------------------------------------------------------------ sum pulling

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void PullSumThroughAddSub_SumsEachOperandAndScalesTheDirectionFreeOne(bool subtract, bool keepDims)
    {
        // a carries the direction axis, the bias b does not: Σ_r(a_r ± b) = Σ_r a_r ± R·b.
        var after = Fires(new PullSumThroughAddSub(),
            xs => Fn.Sum(subtract ? xs[0] - xs[1] : xs[0] + xs[1], 0, keepDims), X(1, R, N, H), X(2, N, H));
        var output = after.Outputs[0];
        Assert.True(subtract ? output.Op is SubOp : output.Op is AddOp, $"output is {output}");
        Assert.False(Consumes<SumOp, AddOp>(after) || Consumes<SumOp, SubOp>(after));
        var sum = Assert.Single(LiveOf<SumOp>(after));
        Assert.IsType<InputOp>(sum.Inputs[0].Op);
        Assert.Contains(LiveOf<MulOp>(after), m => m.Inputs.Any(i => i.Op is ConstantOp { ScalarValue: R }));
    }

    [Fact]
    public void PullSumThroughAddSub_SumsBothOperandsWhenBothCarryTheAxis()
    {
        var after = Fires(new PullSumThroughAddSub(), xs => Fn.Sum(xs[0] - xs[1], 0), X(1, R, N, H), X(2, R, N, H));
        Assert.IsType<SubOp>(after.Outputs[0].Op);
        var sums = LiveOf<SumOp>(after);
        Assert.Equal(2, sums.Count);
        Assert.All(sums, sum => Assert.IsType<InputOp>(sum.Inputs[0].Op));
    }

    [Fact]
    public void PullSumThroughNeg_NegatesTheSum()
    {
        var after = Fires(new PullSumThroughNeg(), xs => Fn.Sum(-xs[0], 0), X(1, R, N, H));
        var output = after.Outputs[0];
        Assert.IsType<NegOp>(output.Op);
        Assert.Equal(new Shape(N, H), output.Shape);
        Assert.IsType<SumOp>(output.Inputs[0].Op);
        Assert.IsType<InputOp>(output.Inputs[0].Inputs[0].Op);
    }

    public static TheoryData<string> ScalingCases => ["a*c", "c*a", "a/c", "a*c[1,N,H]", "a*scalar", "middle axis, keepDims"];

    [Theory]
    [MemberData(nameof(ScalingCases))]
    public void PullSumThroughScaling_MovesTheSumOntoTheDirectionCarryingOperand(string form)
    {
        // c is direction-free (absent, or size 1 against R), so Σ_r a_r·c = (Σ_r a_r)·c.
        var a = X(1, R, N, H);
        var c = Rand(2, 0.5, 1.5, N, H);   // positive: also a divisor
        var after = form switch
        {
            "a*c" => Fires(new PullSumThroughScaling(), xs => Fn.Sum(xs[0] * xs[1], 0), a, c),
            "c*a" => Fires(new PullSumThroughScaling(), xs => Fn.Sum(xs[1] * xs[0], 0), a, c),
            "a/c" => Fires(new PullSumThroughScaling(), xs => Fn.Sum(xs[0] / xs[1], 0), a, c),
            "a*c[1,N,H]" => Fires(new PullSumThroughScaling(), xs => Fn.Sum(xs[0] * xs[1], 0), a, Rand(2, 0.5, 1.5, 1, N, H)),
            "a*scalar" => Fires(new PullSumThroughScaling(), xs => Fn.Sum(xs[0] * 0.7, 0), a),
            // [N, R, H] scaled by [N, 1, H], summed over the middle axis with keepDims.
            _ => Fires(new PullSumThroughScaling(), xs => Fn.Sum(xs[0] * xs[1], 1, keepDims: true), X(1, N, R, H), Rand(2, 0.5, 1.5, N, 1, H)),
        };
        Assert.False(Consumes<SumOp, MulOp>(after) || Consumes<SumOp, DivOp>(after));
        var scaling = Assert.Single(Live(after), n => n.Op is MulOp or DivOp);
        Assert.Contains(scaling.Inputs, i => SkipReshape(i).Op is SumOp);
        Assert.DoesNotContain(R, scaling.Shape);   // the product is taken once, after the sum
    }

    [Fact]
    public void PullSumThroughScaling_IsBlockedWhenBothFactorsCarryTheSummedAxis()
    {
        // Σ_r a_r·c_r is not (Σ a)·c.
        DoesNotFire(new PullSumThroughScaling(), xs => Fn.Sum(xs[0] * xs[1], 0), X(1, R, N, H), X(2, R, N, H));
    }

    [Fact]
    public void PullSumThroughScaling_IsBlockedWhenTheDivisorCarriesTheSummedAxis()
    {
        // Σ_r c/a_r is not c/Σ a; only the divisor may be the direction-free factor.
        DoesNotFire(new PullSumThroughScaling(), xs => Fn.Sum(xs[1] / xs[0], 0), Rand(1, 0.5, 1.5, R, N, H), X(2, N, H));
    }

    [Fact]
    public void PullSumThroughScaling_SizeOneOutputAxisWithSizeOneOperandsCountsAsCarried()
    {
        // Output axis 0 has extent 1 and so do both operands: neither is known to be direction-free.
        DoesNotFire(new PullSumThroughScaling(), xs => Fn.Sum(xs[0] * xs[1], 0), X(1, 1, N, H), X(2, 1, N, H));
    }

    public static TheoryData<string> MatMulCases => ["A·W", "M·B", "Aᵀ·Wᵀ", "A·W[1,H,K]", "keepDims", "two batch axes"];

    [Theory]
    [MemberData(nameof(MatMulCases))]
    public void PullSumThroughMatMul_MultipliesTheSummedOperandOnce(string form)
    {
        var after = form switch
        {
            "A·W" => Fires(new PullSumThroughMatMul(), xs => Fn.Sum(Fn.MatMul(xs[0], xs[1]), 0), X(1, R, N, H), X(2, H, K)),
            // The direction-free operand on the left: Σ_r M·B_r = M·Σ_r B_r.
            "M·B" => Fires(new PullSumThroughMatMul(), xs => Fn.Sum(Fn.MatMul(xs[1], xs[0]), 0), X(1, R, N, K), X(2, H, N)),
            "Aᵀ·Wᵀ" => Fires(new PullSumThroughMatMul(), xs => Fn.Sum(Fn.MatMul(xs[0], xs[1], true, true), 0), X(1, R, H, N), X(2, K, H)),
            // A size-1 batch axis facing R does not carry it.
            "A·W[1,H,K]" => Fires(new PullSumThroughMatMul(), xs => Fn.Sum(Fn.MatMul(xs[0], xs[1]), 0), X(1, R, N, H), X(2, 1, H, K)),
            "keepDims" => Fires(new PullSumThroughMatMul(), xs => Fn.Sum(Fn.MatMul(xs[0], xs[1]), 0, keepDims: true), X(1, R, N, H), X(2, H, K)),
            // [2, R, N, H] · [2, 1, H, K] summed over R (axis 1): the weight carries axis 0 but not axis 1.
            _ => Fires(new PullSumThroughMatMul(), xs => Fn.Sum(Fn.MatMul(xs[0], xs[1]), 1), X(1, 2, R, N, H), X(2, 2, 1, H, K)),
        };
        Assert.False(Consumes<SumOp, MatMulOp>(after));
        var mm = Assert.Single(LiveOf<MatMulOp>(after));
        Assert.DoesNotContain(R, mm.Shape);
        Assert.Contains(mm.Inputs, i => i.Op is SumOp && i.Inputs[0].Op is InputOp);
    }

    [Fact]
    public void PullSumThroughMatMul_IsBlockedWhenBothOperandsCarryTheSummedAxis()
    {
        DoesNotFire(new PullSumThroughMatMul(), xs => Fn.Sum(Fn.MatMul(xs[0], xs[1]), 0), X(1, R, N, H), X(2, R, H, K));
    }

    [Fact]
    public void PullSumThroughMatMul_IsBlockedForSumsOverMatrixAxes()
    {
        // Summing the rows of A·W is not a batch sum (it would be 1ᵀA·W, a different rewrite).
        DoesNotFire(new PullSumThroughMatMul(), xs => Fn.Sum(Fn.MatMul(xs[0], xs[1]), 1), X(1, R, N, H), X(2, H, K));
    }

    [Fact]
    public void PullSumThroughMatMul_SizeOneOutputAxisWithSizeOneOperandsCountsAsCarried()
    {
        DoesNotFire(new PullSumThroughMatMul(), xs => Fn.Sum(Fn.MatMul(xs[0], xs[1]), 0), X(1, 1, N, H), X(2, 1, H, K));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PullSumThroughReshape_SumsBeforeAReshapeThatKeepsTheAxisWhole(bool split)
    {
        var after = split
            ? Fires(new PullSumThroughReshape(), xs => Fn.Sum(Fn.Reshape(xs[0], R, N, H), 0), X(1, R, N * H))
            : Fires(new PullSumThroughReshape(), xs => Fn.Sum(Fn.Reshape(xs[0], R, N * H), 0), X(1, R, N, H));
        Assert.False(Consumes<SumOp, ReshapeOp>(after));
        var sum = Assert.Single(LiveOf<SumOp>(after));
        Assert.IsType<InputOp>(sum.Inputs[0].Op);
        Assert.IsType<ReshapeOp>(after.Outputs[0].Op);
    }

    [Theory]
    [InlineData("split")]
    [InlineData("merge")]
    [InlineData("same extent elsewhere")]
    public void PullSumThroughReshape_IsBlockedWhenTheReshapeMergesOrSplitsTheSummedAxis(string form)
    {
        var rule = new PullSumThroughReshape();
        if (form == "split")       // output axis 2 (H) is a piece of the input's merged N·H axis
            DoesNotFire(rule, xs => Fn.Sum(Fn.Reshape(xs[0], R, N, H), [0, 2]), X(1, R, N * H));
        else if (form == "merge")  // output axis 0 (R·N) merges R with N
            DoesNotFire(rule, xs => Fn.Sum(Fn.Reshape(xs[0], R * N, H), 0), X(1, R, N, H));
        else                       // [R, 2R] → [R, R, 2]: output axis 1 has input axis 0's extent but is a piece of input axis 1
            DoesNotFire(rule, xs => Fn.Sum(Fn.Reshape(xs[0], R, R, 2), 1), X(1, R, 2 * R));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PullSumThroughTranspose_SumsTheSourceAxes(bool twoAxes)
    {
        var after = twoAxes
            // transpose [N, R, H] by [2, 0, 1] → [H, N, R]; Σ over axes 0 and 2 are source axes 2 and 1.
            ? Fires(new PullSumThroughTranspose(), xs => Fn.Sum(Fn.Transpose(xs[0], 2, 0, 1), [0, 2]), X(1, N, R, H))
            : Fires(new PullSumThroughTranspose(), xs => Fn.Sum(Fn.Transpose(xs[0], 1, 0, 2), 0), X(1, N, R, H));
        Assert.False(Consumes<SumOp, TransposeOp>(after));
        Assert.IsType<InputOp>(Assert.Single(LiveOf<SumOp>(after)).Inputs[0].Op);
    }

    [Fact]
    public void PullSumThroughBroadcast_ReplacesTheSumOfRepeatsByAScaling()
    {
        var after = Fires(new PullSumThroughBroadcast(), xs => Fn.Sum(Fn.BroadcastTo(xs[0], new Shape(R, N, H)), 0), X(1, N, H));
        Assert.Empty(LiveOf<SumOp>(after));
        Assert.Empty(LiveOf<BroadcastToOp>(after));
        var output = after.Outputs[0];
        Assert.IsType<MulOp>(output.Op);
        Assert.Contains(output.Inputs, i => i.Op is ConstantOp { ScalarValue: R });
    }

    [Fact]
    public void PullSumThroughBroadcast_SumsCarriedAxesAndScalesStretchedOnes()
    {
        // [1, N, H] stretched along R, then summed over R (stretched: ×R) and H (carried: summed).
        var after = Fires(new PullSumThroughBroadcast(), xs => Fn.Sum(Fn.BroadcastTo(xs[0], new Shape(R, N, H)), [0, 2]), X(1, 1, N, H));
        Assert.Empty(LiveOf<BroadcastToOp>(after));
        Assert.IsType<InputOp>(Assert.Single(LiveOf<SumOp>(after)).Inputs[0].Op);
    }

    [Fact]
    public void PullSumThroughSlice_SumsBeforeASliceThatTakesTheAxisWhole()
    {
        var after = Fires(new PullSumThroughSlice(), xs => Fn.Sum(Fn.Slice(xs[0], 2, 1, H - 2), 0), X(1, R, N, H));
        Assert.False(Consumes<SumOp, SliceOp>(after));
        var slice = Assert.Single(LiveOf<SliceOp>(after));
        Assert.IsType<SumOp>(slice.Inputs[0].Op);
    }

    [Fact]
    public void PullSumThroughSlice_IsBlockedWhenTheSliceCutsTheSummedAxis()
    {
        DoesNotFire(new PullSumThroughSlice(), xs => Fn.Sum(Fn.Slice(xs[0], 0, 1, R - 1), 0), X(1, R, N, H));
    }

    [Fact]
    public void PullSumThroughPad_SumsBeforePaddingOtherAxes()
    {
        var after = Fires(new PullSumThroughPad(), xs => Fn.Sum(Fn.Pad(xs[0], [0, 1, 0], [0, 0, 2]), 0), X(1, R, N, H));
        Assert.False(Consumes<SumOp, PadOp>(after));
        var pad = Assert.Single(LiveOf<PadOp>(after));
        Assert.IsType<SumOp>(pad.Inputs[0].Op);
    }

    [Fact]
    public void PullSumThroughTakeScatterAddAndCumSum_SumAheadOfTheOpsAxis()
    {
        var after = Fires(new PullSumThroughTake(), xs => Fn.Sum(Fn.Take(xs[0], [2, 0, 2], 2), 0), X(1, R, N, H));
        Assert.IsType<SumOp>(Assert.Single(LiveOf<TakeOp>(after)).Inputs[0].Op);
        after = Fires(new PullSumThroughScatterAdd(), xs => Fn.Sum(Fn.Apply(new ScatterAddOp(2, new IndexList([1, 1, 0]), H), xs[0]), 0), X(2, R, N, 3));
        Assert.IsType<SumOp>(Assert.Single(LiveOf<ScatterAddOp>(after)).Inputs[0].Op);
        after = Fires(new PullSumThroughCumSum(), xs => Fn.Sum(Fn.CumSum(xs[0], 2), [0, 1]), X(3, R, N, H));
        Assert.IsType<SumOp>(Assert.Single(LiveOf<CumSumOp>(after)).Inputs[0].Op);
    }

    [Fact]
    public void PullSumThroughScatterAddInto_SumsTargetAndUpdatesAheadOfTheAxis()
    {
        var op = new ScatterAddIntoOp(2, new IndexList([1, 1, 0]));
        var after = Fires(new PullSumThroughScatterAddInto(), xs => Fn.Sum(Fn.Apply(op, xs[0], xs[1]), 0), X(1, R, N, H), X(2, R, N, 3));
        var into = Assert.Single(LiveOf<ScatterAddIntoOp>(after));
        Assert.All(into.Inputs, i => Assert.IsType<SumOp>(i.Op));
        DoesNotFire(new PullSumThroughScatterAddInto(), xs => Fn.Sum(Fn.Apply(op, xs[0], xs[1]), 2), X(1, R, N, H), X(2, R, N, 3));
    }

    [Fact]
    public void AddOfScatterAdd_AddsTheSlicesIntoTheOtherOperandInEitherOrder()
    {
        // x + scatter_add(u) and scatter_add(u) + x, repeated indices: one scatter_add_into of u into x, no scatter into
        // zeros and no add left; values against the unsimplified graph (to 1e-12, on random inputs).
        var list = new IndexList([3, 0, 3]);
        foreach (bool scatterFirst in new[] { false, true })
        {
            var after = Fires(new AddOfScatterAdd(), xs =>
            {
                var x = Fn.Sin(xs[0]);
                var s = Fn.Apply(new ScatterAddOp(1, list, N), xs[1]);
                return scatterFirst ? s + x : x + s;
            }, X(1, R, N, H), X(2, R, 3, H));
            var into = Assert.Single(LiveOf<ScatterAddIntoOp>(after));
            Assert.IsType<SinOp>(into.Inputs[0].Op);
            Assert.IsType<InputOp>(into.Inputs[1].Op);
            Assert.Empty(LiveOf<ScatterAddOp>(after));
            Assert.Empty(LiveOf<AddOp>(after));
        }
    }

    [Fact]
    public void AddOfScatterAdd_LeavesBroadcastOperandsAndSubtractionAlone()
    {
        var list = new IndexList([3, 0, 3]);
        // The other operand broadcasts to the scatter's shape: the sum is not the scatter's target.
        DoesNotFire(new AddOfScatterAdd(), xs => xs[0] + Fn.Apply(new ScatterAddOp(1, list, N), xs[1]), X(1, 1, N, H), X(2, R, 3, H));
        DoesNotFire(new AddOfScatterAdd(), xs => xs[0] - Fn.Apply(new ScatterAddOp(1, list, N), xs[1]), X(1, R, N, H), X(2, R, 3, H));
    }

    [Fact]
    public void PullSumThroughTakeScatterAddAndCumSum_AreBlockedOnTheOpsAxis()
    {
        DoesNotFire(new PullSumThroughTake(), xs => Fn.Sum(Fn.Take(xs[0], [2, 0, 2], 2), 2), X(1, R, N, H));
        DoesNotFire(new PullSumThroughScatterAdd(), xs => Fn.Sum(Fn.Apply(new ScatterAddOp(1, new IndexList([1, 1, 0]), N), xs[0]), 1), X(2, R, 3, H));
        DoesNotFire(new PullSumThroughCumSum(), xs => Fn.Sum(Fn.CumSum(xs[0], 1), 1), X(3, R, N, H));
    }

    [Fact]
    public void PullSumThroughSolve_SumsTheRightHandSideWhenTheMatrixIsShared()
    {
        // A [H, H] shared by the R·N right-hand sides [R, N, H, 2]; summing over R and over the columns moves onto B.
        var a = X(4, H, H);
        for (int i = 0; i < H; i++) a.Data[i * H + i] += 5;
        var after = Fires(new PullSumThroughSolve(), xs => Fn.Sum(Linalg.Solve(xs[0], xs[1]), [0, 3]), a, X(5, R, N, H, 2));
        Assert.IsType<SumOp>(Assert.Single(LiveOf<SolveOp>(after)).Inputs[1].Op);
        // A that varies along the summed axis, or a sum over the rows of the solution: no.
        var batched = new NDArray<double>(new Shape(R, 1, H, H));
        for (int r = 0; r < R; r++) a.Data.CopyTo(batched.Data, r * H * H);
        batched.Data[0] += 1;
        DoesNotFire(new PullSumThroughSolve(), xs => Fn.Sum(Linalg.Solve(xs[0], xs[1]), 0), batched, X(5, R, N, H, 2));
        DoesNotFire(new PullSumThroughSolve(), xs => Fn.Sum(Linalg.Solve(xs[0], xs[1]), 2), a, X(5, R, N, H, 2));
    }

    [Fact]
    public void PullSumThroughPad_IsBlockedWhenTheSummedAxisIsPadded()
    {
        DoesNotFire(new PullSumThroughPad(), xs => Fn.Sum(Fn.Pad(xs[0], [1, 0, 0], [0, 0, 0]), 0), X(1, R, N, H));
    }

    [Fact]
    public void PullSumThroughConcat_ConcatenatesTheSumsAlongAnotherAxis()
    {
        var after = Fires(new PullSumThroughConcat(), xs => Fn.Sum(Fn.Concat(2, xs[0], xs[1]), 0), X(1, R, N, H), X(2, R, N, 2));
        Assert.False(Consumes<SumOp, ConcatOp>(after));
        var concat = Assert.Single(LiveOf<ConcatOp>(after));
        Assert.All(concat.Inputs, i => Assert.IsType<SumOp>(i.Op));
    }

    [Fact]
    public void PullSumThroughConcat_AddsThePartSumsWhenTheConcatenationAxisIsSummed()
    {
        var after = Fires(new PullSumThroughConcat(), xs => Fn.Sum(Fn.Concat(0, xs[0], xs[1]), 0), X(1, R, N, H), X(2, 2, N, H));
        Assert.Empty(LiveOf<ConcatOp>(after));
        Assert.Equal(2, LiveOf<SumOp>(after).Count);
    }

    [Fact]
    public void PullSumThroughSum_CommutesSumsSoTheOuterOneMovesOn()
    {
        // Σ_0 Σ_2 (a·c) with c [1, N, H]: the inner sum over H cannot pass the product (both factors carry H),
        // but the outer sum over R can once it is inside: Σ_2 (Σ_0 a)·c, one product instead of R.
        var s = new Simplifier([new PullSumThroughSum(), new PullSumThroughScaling()]);
        var (_, after) = SimplifyAndCompare(s, xs => Fn.Sum(Fn.Sum(xs[0] * xs[1], 2), 0), X(1, R, N, H), X(2, 1, N, H));
        AssertFired(s, new PullSumThroughSum());
        AssertFired(s, new PullSumThroughScaling());
        var mul = Assert.Single(LiveOf<MulOp>(after));
        Assert.DoesNotContain(R, mul.Shape);
        Assert.Contains(mul.Inputs, i => SkipReshape(i).Op is SumOp);
    }

    [Fact]
    public void PullSumThroughSum_DoesNotFireWhenNoOtherRuleCanMoveTheOuterSumFurther()
    {
        // Commuting is only worth it as a step towards another rule; alone it must not fire (nor loop).
        DoesNotFire(new PullSumThroughSum(), xs => Fn.Sum(Fn.Sum(xs[0] * xs[1], 2), 0), X(1, R, N, H), X(2, 1, N, H));
    }

    // ------------------------------------------------------------------ clean-ups

    [Theory]
    [InlineData("reshape")]
    [InlineData("transpose")]
    [InlineData("broadcast")]
    [InlineData("slice")]
    [InlineData("pad")]
    [InlineData("concat")]
    [InlineData("sum")]
    public void RemoveNoOp_DropsIdentityShapeOps(string kind)
    {
        var after = Fires(new RemoveNoOp(), xs =>
        {
            var x = xs[0];
            var g = x.Graph;
            var same = kind switch
            {
                "reshape" => Fn.Reshape(x, N, H),
                "transpose" => Fn.Transpose(x, 0, 1),
                "broadcast" => g.Apply(new BroadcastToOp(x.Shape), x),   // Fn.BroadcastTo would skip it itself
                "slice" => Fn.Slice(x, [0, 0], [N, H]),
                "pad" => Fn.Pad(x, [0, 0], [0, 0]),
                "concat" => Fn.Concat(1, x),
                _ => Fn.Sum(x, Array.Empty<int>()),
            };
            return Fn.Tanh(same);
        }, X(1, N, H));
        Assert.Equal(2, Live(after).Count);
        Assert.IsType<InputOp>(after.Outputs[0].Inputs[0].Op);
    }

    [Theory]
    [InlineData("reshape")]
    [InlineData("broadcast")]
    [InlineData("transpose")]
    [InlineData("neg")]
    public void ComposeShapeOps_MergesChainsIntoOneOp(string kind)
    {
        var input = kind switch
        {
            "broadcast" => X(1, 1, H),
            "transpose" => X(1, 2, 3, 4),
            _ => X(1, N, H),
        };
        var after = Fires(new ComposeShapeOps(), xs =>
        {
            var x = xs[0];
            return Fn.Tanh(kind switch
            {
                "reshape" => Fn.Reshape(Fn.Reshape(x, H, N), N * H),
                "broadcast" => Fn.BroadcastTo(Fn.BroadcastTo(x, new Shape(N, H)), new Shape(R, N, H)),
                "transpose" => Fn.Transpose(Fn.Transpose(x, 1, 2, 0), 1, 0, 2),   // not an identity: checks the composed permutation
                _ => -(-x),
            });
        }, input);
        var shapeOps = Live(after).Where(n => n.Op is ReshapeOp or BroadcastToOp or TransposeOp or NegOp).ToList();
        if (kind == "neg") Assert.Empty(shapeOps);
        else Assert.IsType<InputOp>(Assert.Single(shapeOps).Inputs[0].Op);
    }

    [Fact]
    public void FoldConstants_EvaluatesOperationsOnConstants()
    {
        var c1 = X(1, N, H);
        var c2 = X(2, N, H);
        var after = Fires(new FoldConstants(), xs =>
        {
            var g = xs[0].Graph;
            var folded = Fn.Tanh(g.Constant(c1) + g.Constant(c2)) * Fn.Sum(g.Constant(c1));   // all constant
            return xs[0] * folded;
        }, X(3, N, H));
        // What remains: the input, one folded constant and the product with it.
        Assert.Equal(3, Live(after).Count);
        var mul = Assert.IsType<MulOp>(after.Outputs[0].Op);
        Assert.Single(after.Outputs[0].Inputs, i => i.Op is ConstantOp);
    }

    [Fact]
    public void FoldConstants_DoesNotMaterialiseABroadcastOfAConstant()
    {
        // broadcast [1, H] → [N, H] would store N times the data: folding must not pay for that.
        DoesNotFire(new FoldConstants(), xs => xs[0] + Fn.BroadcastTo(xs[0].Graph.Constant(X(1, 1, H)), new Shape(N, H)), X(2, N, H));
    }

    [Fact]
    public void FoldConstants_FoldsInFloat32Graphs()
    {
        var c = X(1, N, H).To<float>();
        var g = Tracer.Function(xs => xs[0] * Fn.Exp(xs[0].Graph.Constant(c)), [new Shape(N, H)], DType.Float32);
        var s = new Simplifier([new FoldConstants()]);
        var after = s.Run(g);
        AssertFired(s, new FoldConstants());
        Assert.Empty(LiveOf<ExpOp>(after));
        var x = X(2, N, H).To<float>();
        var expected = Run32(g, x);
        var actual = Run32(after, x);
        for (int i = 0; i < expected.Size; i++)
            Assert.True(Math.Abs(expected.Data[i] - actual.Data[i]) <= 1e-6f * Math.Max(1, Math.Abs(expected.Data[i])), $"element {i}: {expected.Data[i]} vs {actual.Data[i]}");
        static NDArray<float> Run32(Graph graph, NDArray<float> x) => Runtime.Executable.Compile(graph).Run(x)[0];
    }

    [Theory]
    [InlineData("x*0")]
    [InlineData("0*x")]
    [InlineData("0/x")]
    [InlineData("x*zeros tensor")]
    [InlineData("x[N,H]*zeros[R,N,H]")]
    public void MultiplyByZero_ReplacesTheProductByZeros(string form)
    {
        var after = Fires(new MultiplyByZero(), xs =>
        {
            var x = xs[0];
            var g = x.Graph;
            var zero = form switch
            {
                "x*0" => x * 0.0,
                "0*x" => 0.0 * x,
                "0/x" => 0.0 / x,
                "x*zeros tensor" => x * g.Constant(new NDArray<double>(new Shape(N, H))),
                _ => x * Zeros(x, R, N, H),
            };
            return Fn.Tanh(x) + zero;
        }, X(1, N, H));
        Assert.DoesNotContain(Live(after), n => n.Op is MulOp or DivOp);
        Assert.Equal(form.Contains("R,N,H") ? new Shape(R, N, H) : new Shape(N, H), after.Outputs[0].Shape);
    }

    [Theory]
    [InlineData("x+0")]
    [InlineData("0+x")]
    [InlineData("x-0")]
    [InlineData("0-x")]
    [InlineData("x[N,H]+zeros[R,N,H]")]
    public void AddZero_DropsTheZeroOperand(string form)
    {
        var after = Fires(new AddZero(), xs =>
        {
            var x = xs[0];
            return Fn.Tanh(form switch
            {
                "x+0" => x + 0.0,
                "0+x" => 0.0 + x,
                "x-0" => x - 0.0,
                "0-x" => 0.0 - x,
                _ => x + Zeros(x, R, N, H),
            });
        }, X(1, N, H));
        Assert.DoesNotContain(Live(after), n => n.Op is AddOp or SubOp);
        Assert.Equal(form == "0-x", LiveOf<NegOp>(after).Count == 1);
    }

    [Theory]
    [InlineData("x*1")]
    [InlineData("1*x")]
    [InlineData("x/1")]
    [InlineData("x*ones tensor")]
    [InlineData("x[N,H]*ones[R,N,H]")]
    public void MultiplyByOne_DropsTheUnitFactor(string form)
    {
        var after = Fires(new MultiplyByOne(), xs =>
        {
            var x = xs[0];
            var g = x.Graph;
            return Fn.Tanh(form switch
            {
                "x*1" => x * 1.0,
                "1*x" => 1.0 * x,
                "x/1" => x / 1.0,
                "x*ones tensor" => x * g.Constant(NDArray.Ones<double>(new Shape(N, H))),
                _ => x * Fn.BroadcastTo(g.Scalar(1), new Shape(R, N, H)),
            });
        }, X(1, N, H));
        Assert.DoesNotContain(Live(after), n => n.Op is MulOp or DivOp);
    }

    [Fact]
    public void MultiplyByOne_DoesNotTouchOneOverX()
    {
        DoesNotFire(new MultiplyByOne(), xs => 1.0 / xs[0], Rand(1, 0.5, 1.5, N, H));
    }

    [Theory]
    [InlineData("A·I")]
    [InlineData("I·B")]
    [InlineData("batched A·I")]
    public void MatMulByIdentity_DropsTheIdentityFactor(string form)
    {
        var input = form switch { "I·B" => X(1, N, H), "batched A·I" => X(1, R, N, H), _ => X(1, N, H) };
        var after = Fires(new MatMulByIdentity(), xs =>
        {
            var x = xs[0];
            var g = x.Graph;
            return Fn.Tanh(form == "I·B" ? Fn.MatMul(g.Constant(NDArray.Identity<double>(N)), x) : Fn.MatMul(x, g.Constant(NDArray.Identity<double>(H))));
        }, input);
        Assert.Empty(LiveOf<MatMulOp>(after));
        Assert.IsType<InputOp>(after.Outputs[0].Inputs[0].Op);
    }

    [Fact]
    public void MatMulByIdentity_LeavesNearIdentityAndTransposedProductsAlone()
    {
        var nearIdentity = NDArray.Identity<double>(H);
        nearIdentity[0, 1] = 1e-3;
        DoesNotFire(new MatMulByIdentity(), xs => Fn.MatMul(xs[0], xs[0].Graph.Constant(nearIdentity)), X(1, N, H));
        // Transposed operands are out of the rule's pattern (conservative, not wrong).
        DoesNotFire(new MatMulByIdentity(), xs => Fn.MatMul(xs[0], xs[0].Graph.Constant(NDArray.Identity<double>(N)), transposeA: true), X(1, N, H));
    }

    [Theory]
    [InlineData("I[H,1,H]·W")]
    [InlineData("I·Wᵀ")]
    [InlineData("A·I")]
    public void MatMulOfIdentity_GathersRowsWithoutADenseIdentity(string form)
    {
        // The structural identity (IdentityMatrixOp) is exact: the unsimplified graph runs its dense kernel as the reference.
        var after = Fires(new MatMulOfIdentity(), xs =>
        {
            var w = xs[0];
            var eye = IdentityMatrixOp.Emit(w.Graph, H);
            return Fn.Tanh(form switch
            {
                "I[H,1,H]·W" => Fn.MatMul(Fn.Reshape(eye, H, 1, H), w),                    // [H, 1, K]: row h of W for direction e_h
                "I·Wᵀ" => Fn.MatMul(eye, Fn.Transpose(w, 1, 0), transposeB: true),
                _ => Fn.MatMul(Fn.Transpose(w, 1, 0), eye),
            });
        }, X(1, H, K));
        Assert.Empty(LiveOf<MatMulOp>(after));
        Assert.Empty(LiveOf<IdentityMatrixOp>(after));
    }

    [Theory]
    [InlineData("P[R,1,H]·W", false)]
    [InlineData("P·Wᵀ", false)]
    [InlineData("weighted P[R,1,H]·W, repeated row", true)]
    public void MatMulOfSelection_GathersRowsWithoutADenseSelection(string form, bool weighted)
    {
        // The structural selection is exact: the unsimplified graph runs its dense kernel as the reference.
        int[] rows = weighted ? [4, 0, 4] : [2, 0, 3];
        double[]? weights = weighted ? [0.5, -2.0, 3.0] : null;
        var after = Fires(new MatMulOfSelection(), xs =>
        {
            var w = xs[0];
            return Fn.Tanh(form.StartsWith("P·Wᵀ")
                ? Fn.MatMul(SelectionMatrixOp.Emit(w.Graph, H, rows, weights, new Shape(R, H)), Fn.Transpose(w, 1, 0), transposeB: true)
                : Fn.MatMul(SelectionMatrixOp.Emit(w.Graph, H, rows, weights, new Shape(R, 1, H)), w));
        }, X(1, H, K));
        Assert.Empty(LiveOf<MatMulOp>(after));
        Assert.Empty(LiveOf<SelectionMatrixOp>(after));
        Assert.Single(LiveOf<TakeOp>(after));
    }

    [Theory]
    [InlineData("x·bcast(P), keepdims", false)]
    [InlineData("bcast(P)·x, weighted, repeated row", true)]
    [InlineData("P·P", true)]
    public void SumOfProductWithSelection_GathersColumnsWithoutADenseProduct(string form, bool weighted)
    {
        // Σ_d x[n, d]·P[s, d] over directions P [R, 1, H] broadcast over the N = K rows of x: the unsimplified graph
        // (dense selection, [R, K, H] product) is the reference that SimplifyAndCompare checks the result against.
        int[] rows = weighted ? [4, 0, 4] : [2, 0, 3];
        double[]? weights = weighted ? [0.5, -2.0, 3.0] : null;
        var after = Fires(new SumOfProductWithSelection(), xs =>
        {
            var x = xs[0];                                                           // [K, H]
            var p = SelectionMatrixOp.Emit(x.Graph, H, rows, weights, new Shape(R, 1, H));
            var wide = Fn.BroadcastTo(p, new Shape(R, K, H));
            var product = form.StartsWith("P·P") ? p * p : form.StartsWith("x") ? x * wide : wide * x;
            return Fn.Tanh(Fn.Sum(product, [2], keepDims: true) + 0.0 * Fn.Sum(x));
        }, X(1, K, H));
        Assert.DoesNotContain(LiveOf<MulOp>(after), n => n.Shape.Size >= R * K * H);
        Assert.Empty(LiveOf<SelectionMatrixOp>(after));
    }

    [Fact]
    public void SumOfProductWithSelection_LeavesFactorsThatVaryAlongTheDirectionsAlone()
    {
        // A factor [R, K, H] differs per direction: Σ_d A[s, n, d]·P[s, d] is not a gather of one shared tensor.
        DoesNotFire(new SumOfProductWithSelection(), xs =>
            Fn.Sum(Fn.Reshape(xs[0], R, K, H) * Fn.BroadcastTo(SelectionMatrixOp.Emit(xs[0].Graph, H, [1, 2, 0], null, new Shape(R, 1, H)), new Shape(R, K, H)), [2], keepDims: true),
            X(1, R * K, H));
    }

    [Fact]
    public void SinkTakeThroughScalarArithmetic_GathersBeforeTheArithmeticAndFreesTheDenseTerms()
    {
        // (x − a)(x + a) summed over its rows and also gathered at three columns: after the rule the gathers read x, the
        // [N, H] differences feed only the sum, and the gathered arithmetic is [N, 3]. Values against the unsimplified graph.
        int[] columns = [4, 0, 2];
        var after = Fires(new SinkTakeThroughScalarArithmetic(), xs =>
        {
            var x = xs[0];
            var minus = x - 0.3; var plus = 0.3 + x;
            var terms = Fn.Sum(minus * plus, [1], keepDims: true);
            return Fn.Sum(Fn.Take(minus, columns, 1) * Fn.Neg(Fn.Take(plus, columns, 1)), [1], keepDims: true) + terms;
        }, X(1, N, H));
        Assert.All(LiveOf<TakeOp>(after), t => Assert.IsType<InputOp>(t.Inputs[0].Op));
        Assert.Equal(2, LiveOf<SubOp>(after).Count(n => n.Shape == new Shape(N, H)) + LiveOf<AddOp>(after).Count(n => n.Shape == new Shape(N, H)));
        Assert.Equal(2, LiveOf<SubOp>(after).Count(n => n.Shape == new Shape(N, 3)) + LiveOf<AddOp>(after).Count(n => n.Shape == new Shape(N, 3)));
    }

    [Fact]
    public void SinkTakeThroughScalarArithmetic_LeavesProductsOfTwoTensorsAndGrowingGathersAlone()
    {
        DoesNotFire(new SinkTakeThroughScalarArithmetic(), xs => Fn.Take(xs[0] * xs[1], [1, 0], 1), X(1, N, H), X(2, N, H));
        DoesNotFire(new SinkTakeThroughScalarArithmetic(), xs => Fn.Take(xs[0] - 0.5, [1, 0, 1, 1, 0, 4, 4], 1), X(1, N, H));
    }

    [Fact]
    public void MatMulOfSelection_LeavesTransposedSelectionsAlone()
    {
        DoesNotFire(new MatMulOfSelection(), xs => Fn.MatMul(SelectionMatrixOp.Emit(xs[0].Graph, H, [1, 2], null, new Shape(2, H)), xs[0], transposeA: true), X(1, 2, K));
    }

    [Fact]
    public void TakeAndScatterAddAreAdjoint()
    {
        // ⟨take(x), y⟩ = ⟨x, scatter_add(y)⟩ with repeated indices, along a middle axis.
        int[] idx = [3, 1, 3, 0];
        var x = X(2, K, H, 3);
        var y = X(3, K, idx.Length, 3);
        var gx = new Graph(DType.Float64);
        var take = new Runtime.Executable(SetOut(gx, Fn.Take(gx.Input(x.Shape, "x"), idx, 1))).Run(x)[0];
        var gy = new Graph(DType.Float64);
        var scatter = new Runtime.Executable(SetOut(gy, gy.Apply(new ScatterAddOp(1, new IndexList(idx), H), gy.Input(y.Shape, "y")))).Run(y)[0];
        double lhs = take.Data.Zip(y.Data).Sum(p => p.First * p.Second), rhs = x.Data.Zip(scatter.Data).Sum(p => p.First * p.Second);
        Assert.Equal(lhs, rhs, 1e-12);
        Assert.Equal(x.Data[0 * H * 3 + 3 * 3 + 1], take.Data[0 * idx.Length * 3 + 2 * 3 + 1]);
        static Graph SetOut(Graph g, Node n) { g.SetOutputs([n]); return g; }
    }

    [Fact]
    public void MatMulOfIdentity_LeavesTransposedOrRearrangedIdentitiesAlone()
    {
        // Iᵀ as the left factor with unit axes, and a reshape that is not the identity's rows ([H·H] regrouped): out of the pattern.
        DoesNotFire(new MatMulOfIdentity(), xs => Fn.MatMul(Fn.Reshape(IdentityMatrixOp.Emit(xs[0].Graph, H), 1, H, H), xs[0], transposeA: true), X(1, H, K));
        DoesNotFire(new MatMulOfIdentity(), xs => Fn.MatMul(Fn.Reshape(IdentityMatrixOp.Emit(xs[0].Graph, 4), 2, 8), Fn.Reshape(xs[0], 8, 1)), X(2, 4, 2));
    }

    [Theory]
    [InlineData("sum")]
    [InlineData("reshape")]
    [InlineData("transpose")]
    [InlineData("slice")]
    [InlineData("pad")]
    [InlineData("neg")]
    [InlineData("matmul")]
    [InlineData("concat")]
    public void LinearOfZero_MapsZerosToZeros(string kind)
    {
        var after = Fires(new LinearOfZero(), xs =>
        {
            var x = xs[0];
            var zero = kind switch
            {
                "sum" => Fn.Sum(Zeros(x, R, N, H), 0),
                "reshape" => Fn.Reshape(Zeros(x, N * H), N, H),
                "transpose" => Fn.Transpose(Zeros(x, H, N)),
                "slice" => Fn.Slice(Zeros(x, N, H + 2), 1, 1, H),
                "pad" => Fn.Pad(Zeros(x, N, H - 1), [0, 0], [0, 1]),
                "neg" => -Zeros(x, N, H),
                "matmul" => Fn.MatMul(Zeros(x, N, K), xs[1]),
                _ => Fn.Concat(1, Zeros(x, N, 2), Zeros(x, N, H - 2)),
            };
            return x + zero;
        }, X(1, N, H), X(2, K, H));
        Assert.DoesNotContain(Live(after), n => n.Op is SumOp or ReshapeOp or TransposeOp or SliceOp or PadOp or NegOp or MatMulOp or ConcatOp);
    }

    // ------------------------------------------------------------------ broadcast sinking

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SinkBroadcastThroughUnary_AppliesTheFunctionBeforeRepeating(bool sin)
    {
        var after = Fires(new SinkBroadcastThroughUnary(), xs =>
        {
            var b = Fn.BroadcastTo(xs[0], new Shape(R, N, H));
            return sin ? Fn.Sin(b) : Fn.Tanh(b);
        }, X(1, N, H));
        var f = Assert.Single(Live(after), n => n.Op is ElementwiseUnaryOp);
        Assert.Equal(new Shape(N, H), f.Shape);
        Assert.IsType<BroadcastToOp>(after.Outputs[0].Op);
    }

    [Theory]
    [InlineData("b(x)*y")]
    [InlineData("y-b(x)")]
    [InlineData("b(x)+b(y)")]
    public void SinkBroadcastThroughBinary_ComputesOnTheNarrowShape(string form)
    {
        var full = new Shape(R, N, H);
        var after = Fires(new SinkBroadcastThroughBinary(), xs => form switch
        {
            "b(x)*y" => Fn.BroadcastTo(xs[0], full) * xs[1],
            "y-b(x)" => xs[1] - Fn.BroadcastTo(xs[0], full),
            _ => Fn.BroadcastTo(xs[0], full) + Fn.BroadcastTo(Fn.Slice(xs[1], 0, 0, 1), full),
        }, X(1, N, H), X(2, N, H));
        var op = Assert.Single(Live(after), n => n.Op is ElementwiseBinaryOp);
        Assert.Equal(new Shape(N, H), op.Shape);
        Assert.IsType<BroadcastToOp>(after.Outputs[0].Op);
    }

    [Fact]
    public void SinkBroadcastThroughBinary_DoesNotFireWhenTheOtherOperandIsFullSize()
    {
        DoesNotFire(new SinkBroadcastThroughBinary(), xs => Fn.BroadcastTo(xs[0], new Shape(R, N, H)) * xs[1], X(1, N, H), X(2, R, N, H));
    }

    [Theory]
    [InlineData("basis")]
    [InlineData("batch")]
    [InlineData("transposed A")]
    [InlineData("right operand")]
    public void SinkBroadcastThroughMatMul_MultipliesTheUnrepeatedOperand(string form)
    {
        const int d = 6;
        var after = form switch
        {
            // The basis e_d broadcast over the data is multiplied by W once: [R, 1, D]·W → [R, 1, H].
            "basis" => Fires(new SinkBroadcastThroughMatMul(), xs => Fn.MatMul(Fn.BroadcastTo(xs[0], new Shape(R, N, d)), xs[1]), X(1, R, 1, d), X(2, d, H)),
            "batch" => Fires(new SinkBroadcastThroughMatMul(), xs => Fn.MatMul(Fn.BroadcastTo(xs[0], new Shape(R, N, d)), xs[1]), X(1, N, d), X(2, d, H)),
            "transposed A" => Fires(new SinkBroadcastThroughMatMul(), xs => Fn.MatMul(Fn.BroadcastTo(xs[0], new Shape(d, N)), xs[1], transposeA: true), X(1, d, 1), X(2, d, H)),
            _ => Fires(new SinkBroadcastThroughMatMul(), xs => Fn.MatMul(xs[1], Fn.BroadcastTo(xs[0], new Shape(N, H))), X(1, N, 1), X(2, K, N)),
        };
        var mm = Assert.Single(LiveOf<MatMulOp>(after));
        Assert.True(mm.Shape.Size < after.Outputs[0].Shape.Size, $"{mm} is not narrower than {after.Outputs[0].Shape}");
        Assert.IsType<BroadcastToOp>(after.Outputs[0].Op);
    }

    [Fact]
    public void SinkBroadcastThroughMatMul_IsBlockedWhenTheContractedAxisIsStretched()
    {
        // [N, 1] stretched to [N, D] along the contracted axis: x·W sums D equal entries times different weights.
        DoesNotFire(new SinkBroadcastThroughMatMul(), xs => Fn.MatMul(Fn.BroadcastTo(xs[0], new Shape(N, 6)), xs[1]), X(1, N, 1), X(2, 6, H));
    }

    // ------------------------------------------------------------------ the driver: CSE and DCE

    [Fact]
    public void CseMergesIdenticalDeterministicNodes()
    {
        var s = new Simplifier([]);
        var (before, after) = SimplifyAndCompare(s, xs => Fn.Tanh(xs[0]) * Fn.Tanh(xs[0]) + Fn.Tanh(xs[0]) * 2.0 + Fn.Tanh(xs[0]) * 2.0, X(1, N, H));
        Assert.Equal(4, LiveOf<TanhOp>(before).Count);
        Assert.Single(LiveOf<TanhOp>(after));
        Assert.Single(Live(after), n => n.Op is MulOp && n.Inputs.Any(i => i.Op is ConstantOp));   // the two ·2 products merge too
        Assert.Empty(s.Log);
    }

    [Fact]
    public void CseNeverMergesRandomSamplingNodes()
    {
        // Two sampling nodes with identical attributes are two draws as far as the graph is concerned.
        var s = new Simplifier([]);
        var (_, after) = SimplifyAndCompare(s, xs =>
        {
            var g = xs[0].Graph;
            var a = Fn.Random(g, new Shape(N, H), Distribution.Normal, 7);
            var b = Fn.Random(g, new Shape(N, H), Distribution.Normal, 7);
            return xs[0] + a * b;
        }, X(1, N, H));
        Assert.Equal(2, LiveOf<RandomOp>(after).Count);
        // Nor does the standard rule set (FoldConstants must not treat samples as constants).
        var standard = Simplifier.Standard().Run(after);
        Assert.Equal(2, LiveOf<RandomOp>(standard).Count);
    }

    [Fact]
    public void UnusedNodesAreDropped()
    {
        var s = new Simplifier([]);
        var (before, after) = SimplifyAndCompare(s, xs =>
        {
            _ = Fn.Exp(xs[0]);   // dead
            return Fn.Tanh(xs[0]);
        }, X(1, N, H));
        Assert.Contains(before.Nodes, n => n.Op is ExpOp);
        Assert.DoesNotContain(after.Nodes, n => n.Op is ExpOp);
        Assert.Equal(2, after.Nodes.Count);
    }

    // ------------------------------------------------------------------ control flow

    private static Node CondOfDirections(Node[] xs) => Tracer.Cond(Fn.Sum(xs[1]),
        a => Fn.MatMul(a[0], a[1]) * 2.0, a => Fn.MatMul(Fn.Sin(a[0]), a[1]), xs[0], xs[1]);

    [Theory]
    [InlineData(1.0)]
    [InlineData(-1.0)]
    public void PullSumThroughCond_MovesTheSumIntoBothBranches(double side)
    {
        // x [R, N, H] carries the direction axis, the weights [H, K] do not; both sides of the predicate.
        var w = X(2, H, K);
        for (int i = 0; i < w.Size; i++) w.Data[i] = side * Math.Abs(w.Data[i]);
        var after = Fires(new PullSumThroughCond(), xs => Fn.Sum(CondOfDirections(xs), 0), X(1, R, N, H), w);
        Assert.False(Consumes<SumOp, CondOp>(after));
        var cond = Assert.Single(LiveOf<CondOp>(after));
        Assert.Equal(new Shape(N, K), cond.Shape);
        // With the standard rules, which the simplifier also applies inside the branches, the sum goes on through
        // the (linear) matmul to the direction-carrying input or sin of it.
        var (_, full) = SimplifyAndCompare(new Simplifier(StandardRuleSet.Create()), xs => Fn.Sum(CondOfDirections(xs), 0), X(1, R, N, H), w);
        var op = (CondOp)Assert.Single(LiveOf<CondOp>(full)).Op;
        Assert.All(op.Bodies, b => Assert.DoesNotContain(LiveOf<MatMulOp>(b), m => m.Inputs[0].Rank == 3 && m.Inputs[0].Shape[0] == R));
    }

    [Fact]
    public void TheDriverSimplifiesEachCondBranch()
    {
        var s = new Simplifier([new MultiplyByOne()]);
        var (before, after) = SimplifyAndCompare(s, xs => Tracer.Cond(Fn.Sum(xs[0]), a => a[0] * 1.0, a => a[0] * 1.0 + 1.0, xs[0]), X(1, N), X(2, N));
        var cond = (CondOp)Assert.Single(LiveOf<CondOp>(after)).Op;
        Assert.Contains(before.Nodes.Where(n => n.Op is CondOp), n => ((CondOp)n.Op).Then.Nodes.Any(m => m.Op is MulOp));
        Assert.DoesNotContain(cond.Then.Nodes, m => m.Op is MulOp);
        Assert.DoesNotContain(cond.Else.Nodes, m => m.Op is MulOp);
    }
}
