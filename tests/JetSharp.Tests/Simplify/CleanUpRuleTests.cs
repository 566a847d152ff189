using JetSharp.Primitives;
using JetSharp.Simplify;
using JetSharp.Simplify.Rules;
using static JetSharp.Tests.SimplifyTestUtil;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// The clean-up rules that cancel scalar factors, drop redundant broadcasts and read slices of a concat from the part, each alone on a small graph: the rule fires (or
/// must not), the structure it leaves, and the values before and after on random inputs (≤ 1e-12).
/// </summary>
public class CleanUpRuleTests
{
    private const int R = 3, N = 4, H = 5;


    [Theory]
    [InlineData("(x/c)*c")]
    [InlineData("c*(x/c)")]
    [InlineData("(x*c)/c")]
    public void CombineScalarFactors_CancelsAScaleAndItsInverse(string form)
    {
        var after = form switch
        {
            "(x/c)*c" => Fires(new CombineScalarFactors(), xs => xs[0] / 7.0 * 7.0, Randn(1, N, H)),
            "c*(x/c)" => Fires(new CombineScalarFactors(), xs => 7.0 * (xs[0] / 7.0), Randn(1, N, H)),
            _ => Fires(new CombineScalarFactors(), xs => xs[0] * 7.0 / 7.0, Randn(1, N, H)),
        };
        Assert.IsType<InputOp>(after.Outputs[0].Op);
    }

    [Theory]
    [InlineData("(x*3)*0.5", 1.5, false)]
    [InlineData("(x/2)/4", 8.0, true)]
    [InlineData("(x*3)/4", 0.75, false)]
    public void CombineScalarFactors_MergesTwoFactorsIntoOne(string form, double factor, bool divides)
    {
        var after = form switch
        {
            "(x*3)*0.5" => Fires(new CombineScalarFactors(), xs => xs[0] * 3.0 * 0.5, Randn(1, N, H)),
            "(x/2)/4" => Fires(new CombineScalarFactors(), xs => xs[0] / 2.0 / 4.0, Randn(1, N, H)),
            _ => Fires(new CombineScalarFactors(), xs => xs[0] * 3.0 / 4.0, Randn(1, N, H)),
        };
        var output = after.Outputs[0];
        Assert.True(divides ? output.Op is DivOp : output.Op is MulOp, $"output is {output}");
        Assert.IsType<InputOp>(output.Inputs[0].Op);
        Assert.Equal(factor, ((ConstantOp)output.Inputs[1].Op).ScalarValue);
    }

    [Fact]
    public void CombineScalarFactors_LeavesAProductWithATensorAlone()
    {
        // (x·y)·2 with y an input: y is no scalar constant, so there is nothing to merge.
        DoesNotFire(new CombineScalarFactors(), xs => xs[0] * xs[1] * 2.0, Randn(1, N, H), Randn(2, N, H));
    }

    [Theory]
    [InlineData("matmul")]
    [InlineData("mul")]
    [InlineData("numerator")]
    [InlineData("sum")]
    public void PullScalarFactorOut_MovesTheFactorPastALinearOp(string form)
    {
        var after = form switch
        {
            "matmul" => Fires(new PullScalarFactorOut(), xs => Fn.MatMul(xs[0] / 8.0, xs[1]), Randn(1, N, H), Randn(2, H, H)),
            "mul" => Fires(new PullScalarFactorOut(), xs => xs[1] * (xs[0] * 2.5), Randn(1, N, H), Randn(2, N, H)),
            "numerator" => Fires(new PullScalarFactorOut(), xs => (xs[0] * 2.5) / xs[1], Randn(1, N, H), Rand(2, 0.5, 1.5, N, H)),
            _ => Fires(new PullScalarFactorOut(), xs => Fn.Sum(xs[0] * 2.5, 0), Randn(1, R, N, H)),
        };
        var output = after.Outputs[0];
        Assert.True(output.Op is MulOp or DivOp, $"output is {output}");
        Assert.IsType<ConstantOp>(output.Inputs[1].Op);
        Assert.DoesNotContain(Live(after), n => n != output && n.Op is MulOp or DivOp && n.Inputs.Any(i => i.Op is ConstantOp));
    }

    [Fact]
    public void PullScalarFactorOut_WithCombineCancelsAFactorAcrossAChainOfLinearOps()
    {
        // 8·(a ⊙ (x/8)·W) = a ⊙ x·W: the factor travels up through the matmul and the product and cancels.
        var s = new Simplifier([new CombineScalarFactors(), new PullScalarFactorOut()]);
        var (_, after) = SimplifyAndCompare(s, xs => xs[1] * Fn.MatMul(xs[0] / 8.0, xs[2]) * 8.0, Randn(1, N, H), Randn(2, N, H), Randn(3, H, H));
        Assert.DoesNotContain(Live(after), n => n.Op is ConstantOp);
        Assert.IsType<MulOp>(after.Outputs[0].Op);
    }

    [Fact]
    public void PullScalarFactorOut_DoesNotMoveTheFactorOntoALargerResult()
    {
        // a [R, N, H] ⊙ (x [N, H]·2): moving ·2 out would scale R times as many numbers.
        DoesNotFire(new PullScalarFactorOut(), xs => xs[0] * (xs[1] * 2.0), Randn(1, R, N, H), Randn(2, N, H));
    }

    [Theory]
    [InlineData("tanh")]
    [InlineData("divisor")]
    public void PullScalarFactorOut_DoesNotMoveTheFactorPastANonlinearInput(string form)
    {
        if (form == "tanh") DoesNotFire(new PullScalarFactorOut(), xs => Fn.Tanh(xs[0] * 2.0), Randn(1, N, H));
        else DoesNotFire(new PullScalarFactorOut(), xs => xs[1] / (xs[0] * 2.0), Rand(1, 0.5, 1.5, N, H), Randn(2, N, H));
    }

    [Fact]
    public void BroadcastImplicitlyInBinary_DropsABroadcastTheOpWouldDoItself()
    {
        // a [N, H] ⊙ broadcast(c [R, 1, H] → [R, N, H]) = a ⊙ c by NumPy broadcasting, without the [R, N, H] copy.
        var after = Fires(new BroadcastImplicitlyInBinary(), xs => xs[0] * Fn.BroadcastTo(xs[1], new Shape(R, N, H)), Randn(1, N, H), Randn(2, R, 1, H));
        Assert.DoesNotContain(Live(after), n => n.Op is BroadcastToOp);
        Assert.Equal(new Shape(R, N, H), after.Outputs[0].Shape);
    }

    [Fact]
    public void BroadcastImplicitlyInBinary_KeepsABroadcastThatSetsTheResultShape()
    {
        // a [H] + broadcast(b [1, H] → [N, H]): without the broadcast the result would be [1, H].
        DoesNotFire(new BroadcastImplicitlyInBinary(), xs => xs[0] + Fn.BroadcastTo(xs[1], new Shape(N, H)), Randn(1, H), Randn(2, 1, H));
    }

    [Theory]
    [InlineData(0, 2)]   // the first part exactly
    [InlineData(3, 2)]   // inside the second part
    public void SliceOfConcat_ReadsThePartThatHoldsTheRange(int start, int size)
    {
        // concat along axis 1 of [N, 2] and [N, 3]; a slice of columns start..start+size lies in one part.
        var after = Fires(new SliceOfConcat(), xs => Fn.Slice(Fn.Concat(1, xs[0], xs[1]), [0, start], [N, size]), Randn(1, N, 2), Randn(2, N, 3));
        Assert.DoesNotContain(Live(after), n => n.Op is ConcatOp);
    }

    [Fact]
    public void SliceOfConcat_KeepsTheConcatWhenTheRangeSpansTwoParts()
    {
        DoesNotFire(new SliceOfConcat(), xs => Fn.Slice(Fn.Concat(1, xs[0], xs[1]), [0, 1], [N, 2]), Randn(1, N, 2), Randn(2, N, 3));
    }
}
