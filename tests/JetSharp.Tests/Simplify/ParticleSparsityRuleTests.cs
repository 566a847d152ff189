using JetSharp.Primitives;
using JetSharp.Primitives.LinearAlgebra;
using JetSharp.Simplify;
using JetSharp.Simplify.Rules;
using static JetSharp.Tests.SimplifyTestUtil;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// The rules of the particle-sparse forward Laplacian, each alone on a small graph: it fires where it should,
/// leaves the expected structure, keeps the values (the unsimplified graph is the reference), and its guard holds.
/// </summary>
public class ParticleSparsityRuleTests
{

    // t: 3 components, 4 data, 5 particles (block 1), 2 features.
    private static Node Scatter(Node t, int offset = 0, int groups = 5, int block = 1) => GroupScatterOp.Emit(t, 0, new AxisGroups(2, block, offset), groups);

    [Fact]
    public void SumOverTheDirectionsOfAScatterSumsTheComponents()
    {
        var after = Fires(new PullSumThroughGroupScatter(), xs => Fn.Sum(Scatter(xs[0]), [0]), Randn(1, 3, 4, 5, 2));
        Assert.Empty(LiveOf<GroupScatterOp>(after));
        DoesNotFire(new PullSumThroughGroupScatter(), xs => Fn.Sum(Scatter(xs[0]), [1]), Randn(2, 3, 4, 5, 2));
    }

    [Fact]
    public void SumOverTheParticlesOfAScatterRearrangesTheComponents()
    {
        // Offset 1 of 7 groups: directions of groups 0 and 6 stay zero (padding).
        var after = Fires(new SumOverGroupsOfGroupScatter(), xs => Fn.Sum(Scatter(xs[0], offset: 1, groups: 7), [2, 3], keepDims: true), Randn(3, 3, 4, 5, 2));
        Assert.Empty(LiveOf<GroupScatterOp>(after));
        Fires(new SumOverGroupsOfGroupScatter(), xs => Fn.Sum(Scatter(xs[0]), [2]), Randn(4, 3, 4, 5, 2));
        // Two elements per particle: not a rearrangement.
        DoesNotFire(new SumOverGroupsOfGroupScatter(), xs => Fn.Sum(GroupScatterOp.Emit(xs[0], 0, new AxisGroups(2, 2, 0), 3), [2]), Randn(5, 3, 4, 6, 2));
    }

    [Fact]
    public void ABasisSharedByAllDataIsScatteredOnce()
    {
        var after = Fires(new SinkBroadcastThroughGroupScatter(), xs => Scatter(Fn.BroadcastTo(xs[0], new Shape(3, 4, 5, 2))), Randn(6, 3, 1, 5, 2));
        Assert.All(LiveOf<GroupScatterOp>(after), n => Assert.Equal(new Shape(15, 1, 5, 2), n.Shape));
        // A broadcast along the particle axis gives every particle the same value: the scatter must see it expanded.
        DoesNotFire(new SinkBroadcastThroughGroupScatter(), xs => Scatter(Fn.BroadcastTo(xs[0], new Shape(3, 4, 5, 2))), Randn(7, 3, 4, 1, 2));
    }

    // A pair scatter of t [6, 4, 5, 5, 2]: 2 owners × 3 components, 4 data, owners i (axis 2) and j (axis 3).
    private static Node PairScatter(Node t) => GroupScatterOp.Emit(t, 0, [new AxisGroups(2, 1, 0), new AxisGroups(3, 1, 0)], 5);

    [Fact]
    public void SumOverOneParticleOfAPairScatterSplitsIt()
    {
        // Σ_j: the j slots are rearranged, the i slots summed before the scatter; no pair scatter is left.
        var s = new Simplifier(StandardRuleSet.Create());
        var (_, after) = SimplifyAndCompare(s, xs => Fn.Sum(PairScatter(xs[0]), [3]), Randn(12, 6, 4, 5, 5, 2));
        AssertFired(s, s.Rules.OfType<SplitGroupScatterOfPairs>().Single());
        Assert.All(LiveOf<GroupScatterOp>(after), n => Assert.Single(((GroupScatterOp)n.Op).Owners));
        Assert.DoesNotContain(GraphWalk.Reachable(after), n => n.Shape.Size >= 15 * 4 * 5 * 5 * 2);
        Fires(new SplitGroupScatterOfPairs(), xs => Fn.Sum(PairScatter(xs[0]), [2, 3, 4]), Randn(13, 6, 4, 5, 5, 2));
        // Σ over the directions is not a split: PullSumThroughGroupScatter handles it.
        DoesNotFire(new SplitGroupScatterOfPairs(), xs => Fn.Sum(PairScatter(xs[0]), [0, 3]), Randn(14, 6, 4, 5, 5, 2));
    }

    [Fact]
    public void SumOverOtherAxesMovesInsideAScatter()
    {
        var after = Fires(new PullSumThroughGroupScatterOtherAxes(), xs => Fn.Sum(PairScatter(xs[0]), [1, 4]), Randn(15, 6, 4, 5, 5, 2));
        var scatter = Assert.Single(LiveOf<GroupScatterOp>(after));
        Assert.Equal(new Shape(6, 5, 5), scatter.Inputs[0].Shape);
        Fires(new PullSumThroughGroupScatterOtherAxes(), xs => Fn.Sum(Scatter(xs[0]), [1], keepDims: true), Randn(16, 3, 4, 5, 2));
        DoesNotFire(new PullSumThroughGroupScatterOtherAxes(), xs => Fn.Sum(PairScatter(xs[0]), [3]), Randn(17, 6, 4, 5, 5, 2));
    }

    private static Node WellConditioned(Node a) => a + Linalg.Eye(a.Graph, a.Shape[^1]) * 6.0;

    [Fact]
    public void SumOverRightHandSidesMovesInsideASolve()
    {
        var after = Fires(new PullSumThroughSolve(), xs => Fn.Sum(Linalg.Solve(WellConditioned(xs[0]), xs[1]), [0]), Randn(8, 4, 3, 3), Randn(9, 2, 4, 3, 2));
        var solve = Assert.Single(LiveOf<SolveOp>(after));
        Assert.Equal(new Shape(1, 4, 3, 2), solve.Shape);
        // The matrix varies along the summed axis: Σ A_r⁻¹B_r is not A⁻¹ΣB_r.
        DoesNotFire(new PullSumThroughSolve(), xs => Fn.Sum(Linalg.Solve(WellConditioned(xs[0]), xs[1]), [0]), Randn(10, 2, 4, 3, 3), Randn(11, 2, 4, 3, 2));
    }
}
