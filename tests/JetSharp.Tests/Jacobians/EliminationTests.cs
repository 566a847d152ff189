using JetSharp.Jacobians;
using static JetSharp.Tests.Jacobians.GraphFixtures;

namespace JetSharp.Tests.Jacobians;

public class EliminationTests
{
    private static readonly int[] LayeredWidths = [2, 4, 4, 2];

    [Fact]
    public void LayeredCompleteGraphMarkowitzCosts52AndTheOptimum48()
    {
        var g = Layered(LayeredWidths);
        Assert.Equal(8, g.Intermediates);
        Assert.Equal(48, Elimination.Count(g, EliminationOrder.Forward.For(g)));
        Assert.Equal(48, Elimination.Count(g, EliminationOrder.Reverse.For(g)));
        Assert.Equal(52, Elimination.Count(g, EliminationOrder.Markowitz.For(g)));
        var best = OrderOptimizer.Exhaustive(g);
        Assert.True(best.Exact);
        Assert.Equal(48, best.Multiplications);
        Assert.Equal(48, Elimination.Count(g, best.Order));
        Assert.Equal(48, BruteForceOptimum(g));
    }

    [Fact]
    public void MarkowitzBreaksTiesTowardsTheLowestIndex()
    {
        // All eight intermediates start with degree 2·4 = 8: the first pick is vertex 2, and after it the
        // rest of the first layer (still 8) beats the second layer (now 5·2 = 10).
        var order = EliminationOrder.Markowitz.For(Layered(LayeredWidths));
        Assert.Equal([2, 3, 4], order[..3]);
    }

    [Fact]
    public void EveryOrderGivesTheJacobianOfTheLayerProducts()
    {
        var g = Layered(LayeredWidths, points: 3, seed: 4);
        var expected = DenseJacobian(g);
        var rng = new Random(5);
        var orders = new List<int[]> { EliminationOrder.Forward.For(g), EliminationOrder.Reverse.For(g), EliminationOrder.Markowitz.For(g), OrderOptimizer.Exhaustive(g).Order };
        for (int r = 0; r < 20; r++) orders.Add([.. g.IntermediateVertices.OrderBy(_ => rng.Next())]);
        foreach (var order in orders)
            TestUtil.Close(expected, Elimination.Run(g, order).Jacobian(), 1e-12);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ReportedCountIsTheSumOfTheStepCostsAndMatchesTheFastCounter(int seed)
    {
        var g = RandomDag(3, 12, 3, 0.25, seed, points: 2);
        var rng = new Random(seed);
        for (int r = 0; r < 10; r++)
        {
            int[] order = [.. g.IntermediateVertices.OrderBy(_ => rng.Next())];
            var result = Elimination.Run(g, order);
            Assert.Equal(result.Steps.Sum(s => (long)s.Predecessors * s.Successors), result.Multiplications);
            Assert.Equal(order, result.Steps.Select(s => s.Vertex));
            Assert.Equal(Elimination.Count(g, order), result.Multiplications);
            Assert.Equal(result.Multiplications, Elimination.Run(g.StructureOnly(), order).Multiplications);
            TestUtil.Close(DenseJacobian(g), result.Jacobian(), 1e-12);
        }
    }

    [Fact]
    public void CompiledProgramRunsManyPointsInBlocksAndChecksTheStructure()
    {
        // 600 points: more than two blocks of 256, the last one partial.
        var g = RandomDag(3, 14, 4, 0.3, seed: 9, points: 600);
        var rng = new Random(1);
        var program = EliminationProgram.Compile(g.StructureOnly(), [.. g.IntermediateVertices.OrderBy(_ => rng.Next())]);
        Assert.Equal(program.Multiplications, program.Steps.Sum(s => (long)s.Multiplications));
        TestUtil.Close(DenseJacobian(g), program.Run(g), 1e-12);
        var reused = NDArray.Full(new Shape(600, 4, 3), double.NaN); // every entry must be overwritten, zeros included
        program.RunInto(g, reused);
        TestUtil.Close(DenseJacobian(g), reused, 1e-12);
        Assert.Throws<ShapeException>(() => program.RunInto(g, new NDArray<double>(new Shape(600, 3, 4))));
        var other = RandomDag(3, 14, 4, 0.3, seed: 10, points: 2);
        Assert.Contains("does not have the structure", Assert.Throws<ArgumentException>(() => program.Run(other)).Message);
    }

    [Fact]
    public void FillInIsCountedOnlyForNewEdges()
    {
        // x0 → v2 → v3 → y4 and x0 → v3: eliminating v2 adds into the existing edge x0 → v3.
        var g = LinearizedGraph.Create(2, 2, 1, [new(0, 2), new(1, 2), new(2, 3), new(0, 3), new(3, 4)]);
        var steps = Elimination.Run(g, [2, 3]).Steps;
        Assert.Equal(new EliminationStep(2, 2, 1, 1), steps[0]); // x1 → v3 is new, x0 → v3 existed
        Assert.Equal(new EliminationStep(3, 2, 1, 2), steps[1]);
    }

    [Theory]
    [InlineData(1, 2, 1, 2, 0.5)]
    [InlineData(2, 2, 5, 2, 0.4)]
    [InlineData(3, 3, 6, 2, 0.3)]
    [InlineData(4, 2, 7, 3, 0.35)]
    [InlineData(5, 3, 8, 3, 0.3)]
    [InlineData(6, 2, 8, 2, 0.5)]
    [InlineData(7, 4, 8, 4, 0.25)]
    [InlineData(8, 1, 8, 1, 0.6)]
    public void DynamicProgrammingEqualsBruteForceOverAllOrders(int seed, int n, int p, int m, double density)
    {
        var g = RandomDag(n, p, m, density, seed);
        long brute = BruteForceOptimum(g);
        var dp = OrderOptimizer.Exhaustive(g);
        Assert.Equal(brute, dp.Multiplications);
        Assert.Equal(brute, Elimination.Count(g, dp.Order));
        Assert.True(dp.Multiplications <= dp.BestHeuristic);
    }

    [Fact]
    public void AnnealingIsReproducibleNeverWorseThanTheHeuristicsAndNotBelowTheOptimum()
    {
        var g = RandomDag(3, 16, 3, 0.2, seed: 11);
        var exact = OrderOptimizer.Exhaustive(g);
        var options = new OptimizerOptions { MaxEvaluations = 20_000, Seed = 3, Threads = 2 };
        var a = OrderOptimizer.Anneal(g, options);
        var b = OrderOptimizer.Anneal(g, options);
        Assert.Equal(a.Order, b.Order);
        Assert.Equal(a.Multiplications, Elimination.Count(g, a.Order));
        Assert.InRange(a.Multiplications, exact.Multiplications, a.BestHeuristic);
        Assert.False(a.Exact);
    }

    [Fact]
    public void OptimizeUsesDynamicProgrammingForSmallGraphsAndAnnealingAboveTheLimit()
    {
        var g = Layered(LayeredWidths);
        Assert.Equal("dynamic programming", OrderOptimizer.Optimize(g).Method);
        var annealed = OrderOptimizer.Optimize(g, new OptimizerOptions { ExhaustiveLimit = 4, MaxEvaluations = 5_000, Threads = 1 });
        Assert.Equal("simulated annealing", annealed.Method);
        Assert.Equal(48, annealed.Multiplications);
        Assert.Equal(48, Elimination.Count(g, EliminationOrder.Optimized().For(g)));
    }

    [Fact]
    public void BadOrdersAreRejectedByName()
    {
        var g = Layered(LayeredWidths);
        int[] valid = [.. g.IntermediateVertices];
        string Message(int[] order) => Assert.Throws<ArgumentException>(() => Elimination.Run(g, order)).Message;
        Assert.Contains("vertex 0 (x0) is an independent", Message([0, .. valid[1..]]));
        Assert.Contains("vertex 10 (y0) is a dependent", Message([.. valid[..^1], 10]));
        Assert.Contains("vertex 3 (v3) appears twice", Message([2, 3, 3, 5, 6, 7, 8, 9]));
        Assert.Contains("missing: 9", Message(valid[..^1]));
        Assert.Contains("vertex 12 in the order does not exist", Message([.. valid[..^1], 12]));
        var custom = Assert.Throws<ArgumentException>(() => EliminationOrder.Custom([2, 2], "mine").For(g)).Message;
        Assert.Contains("order 'mine'", custom);
    }

    [Fact]
    public void BadGraphsAreRejectedBeforeAnythingIsBuilt()
    {
        string Message(Func<LinearizedGraph> build) => Assert.Throws<ArgumentException>(build).Message;
        Assert.Contains("edge 3→1", Message(() => LinearizedGraph.Create(1, 2, 1, [new(3, 1)])));
        Assert.Contains("leaves dependent vertex 3", Message(() => LinearizedGraph.Create(1, 1, 3, [new(3, 4)])));
        Assert.Contains("enters independent vertex 1", Message(() => LinearizedGraph.Create(2, 1, 1, [new(0, 1)])));
        Assert.Contains("appears twice", Message(() => LinearizedGraph.Create(1, 1, 1, [new(0, 1), new(0, 1)])));
        Assert.Contains("has 3 points", Message(() => LinearizedGraph.Create(1, 1, 1, [new(0, 1), new(1, 2)], [new double[2], new double[3]])));
        Assert.Contains("2 labels for 1 edges", Message(() => LinearizedGraph.Create(1, 0, 1, [new(0, 1)], [new double[2], new double[2]])));
        Assert.Contains("m ≥ 1 dependents", Message(() => LinearizedGraph.Create(1, 0, 0, [])));
        var structure = Layered(LayeredWidths);
        Assert.Throws<InvalidOperationException>(() => Elimination.Run(structure, [.. structure.IntermediateVertices]).Jacobian());
        Assert.Throws<ArgumentException>(() => OrderOptimizer.Exhaustive(RandomDag(2, 25, 2, 0.1, 1)));
        Assert.Throws<ArgumentException>(() => OrderOptimizer.Anneal(structure, new OptimizerOptions { Threads = 0 }));
    }
}
