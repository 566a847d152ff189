using JetSharp.Simplify.Rules;

namespace JetSharp.Simplify;

internal static class StandardRuleSet
{
    /// <summary>Order matters only for speed: cheap clean-ups first, then broadcast sinking, then sum pulling.</summary>
    public static IReadOnlyList<RewriteRule> Create() =>
    [
        new RemoveNoOp(),
        new FoldConstants(),
        new MultiplyByZero(),
        new AddZero(),
        new MultiplyByOne(),
        new MatMulByIdentity(),
        new MatMulOfIdentity(),
        new MatMulOfSelection(),
        new SumOfProductWithSelection(),
        new SinkTakeThroughScalarArithmetic(),
        new AddOfScatterAdd(),
        new LinearOfZero(),
        new ComposeShapeOps(),
        new AddOfSelf(),
        new AddOfNeg(),
        new PullNegOutOfProduct(),
        new CombineScalarFactors(),
        new PullScalarFactorOut(),
        new SinkBroadcastThroughUnary(),
        new SinkBroadcastThroughBinary(),
        new BroadcastImplicitlyInBinary(),
        new SliceOfConcat(),
        new SinkBroadcastThroughMatMul(),
        new SinkBroadcastThroughGroupScatter(),
        new PullSumThroughAddSub(),
        new PullSumThroughNeg(),
        new PullSumThroughScaling(),
        new PullSumThroughMatMul(),
        new PullSumThroughReshape(),
        new PullSumThroughTranspose(),
        new PullSumThroughBroadcast(),
        new PullSumThroughSlice(),
        new PullSumThroughPad(),
        new PullSumThroughConcat(),
        new PullSumThroughTake(),
        new PullSumThroughScatterAdd(),
        new PullSumThroughScatterAddInto(),
        new PullSumThroughCumSum(),
        new PullSumThroughSolve(),
        new PullSumThroughSum(),
        new PullSumIntoScan(),
        new PullSumIntoWhile(),
        new PullSumThroughCond(),
        new PullSumThroughGroupScatter(),
        new SumOverGroupsOfGroupScatter(),
        new SplitGroupScatterOfPairs(),
        new PullSumThroughGroupScatterOtherAxes(),
    ];
}
