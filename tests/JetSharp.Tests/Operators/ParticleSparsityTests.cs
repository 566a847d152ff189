using JetSharp.Primitives.LinearAlgebra;
using JetSharp.Simplify;
using JetSharp.Transforms;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// The particle-sparse forward Laplacian (Strategy.SparseCollapsed) against the dense collapsed path and nested
/// first-order AD on networks with per-electron layers followed by a mixing step, its densification report, and
/// the work it saves.
/// </summary>
public class ParticleSparsityTests
{
    private const int Hidden = 5;

    private static Node Weights(Graph g, int rows, int cols, long seed, double scale = 0.6)
    {
        var w = NDArray.RandomNormal<double>(new Shape(rows, cols), seed);
        for (int i = 0; i < w.Size; i++) w.Data[i] *= scale;
        return g.Constant(w);
    }

    /// <summary>Per-electron features tanh(r_i W + b) [N, n, H] and the electron positions [N, n, 3].</summary>
    private static (Node R, Node H) Features(Node x)
    {
        int n = x.Shape[1] / 3;
        var r = Fn.Reshape(x, x.Shape[0], n, 3);
        var h = Fn.Tanh(Fn.MatMul(r, Weights(x.Graph, 3, Hidden, 1)) + Weights(x.Graph, 1, Hidden, 2));
        return (r, h);
    }

    /// <summary>log|det Φ| of orbitals Φ_ij = (h_i V)_j · exp(−|r_i|) (a Slater determinant with an envelope).</summary>
    internal static Node Slater(Node x)
    {
        int n = x.Shape[1] / 3;
        var (r, h) = Features(x);
        var envelope = Fn.Exp(-Fn.Sqrt(Fn.Sum(r * r, [2], keepDims: true) + 1.0));           // [N, n, 1]
        var orbitals = Fn.MatMul(h, Weights(x.Graph, Hidden, n, 3)) * envelope;               // [N, n, n]
        return Fn.Reshape(Linalg.LogAbsDet(orbitals), x.Shape[0], 1);
    }

    /// <summary>A two-stream-like step: each electron's features meet the mean over electrons, then a sum.</summary>
    internal static Node MeanPooled(Node x)
    {
        var (_, h) = Features(x);
        var pooled = Fn.Mean(h, [1], keepDims: true);                                          // [N, 1, H]
        var mixed = Fn.Tanh(Fn.MatMul(h, Weights(x.Graph, Hidden, Hidden, 4)) + pooled);     // [N, n, H]
        return Fn.Reshape(Fn.Sum(mixed, [1, 2]), x.Shape[0], 1);
    }

    /// <summary>A pairwise Jastrow Σ_{i,j} a·s_ij / (1 + s_ij), s_ij = sqrt(|r_i − r_j|² + 1), plus a one-body term.</summary>
    internal static Node Jastrow(Node x)
    {
        int n = x.Shape[1] / 3, batch = x.Shape[0];
        var r = Fn.Reshape(x, batch, n, 3);
        var d = Fn.Reshape(r, batch, n, 1, 3) - Fn.Reshape(r, batch, 1, n, 3);                // [N, n, n, 3]
        var s = Fn.Sqrt(Fn.Sum(d * d, [3]) + 1.0);
        var oneBody = Fn.Sum(Fn.Tanh(Fn.Sum(r * r, [2])), [1]);
        return Fn.Reshape(Fn.Sum(0.5 * s / (1.0 + s), [1, 2]) + oneBody, batch, 1);
    }

    public static TheoryData<string> Networks => ["Slater", "MeanPooled", "Jastrow"];

    private static Func<Node, Node> Network(string name) => name switch
    {
        "Slater" => Slater,
        "MeanPooled" => MeanPooled,
        _ => Jastrow,
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void SparseEqualsDenseCollapsedAndNested(string name)
    {
        var f = Network(name);
        var x = Randn(11, 3, 3 * 4);
        var sparse = Pde.Laplacian(f, x, ParticleSparsity.Coordinates(3), out var report);
        var dense = Pde.Laplacian(f, x, Strategy.Collapsed);
        var nested = Pde.Laplacian(f, x, Strategy.NestedFirstOrder);
        Close(dense, sparse, 1e-12);
        Close(nested, sparse, 1e-12);
        Assert.NotEmpty(report.Densifications);
    }

    [Fact]
    public void TheReportNamesTheMixingNodesWithTheirSourceLines()
    {
        var x = Randn(12, 2, 3 * 3);
        Pde.Laplacian(Slater, x, ParticleSparsity.Coordinates(3), out var slater);
        var only = Assert.Single(slater.Densifications);
        Assert.IsType<DeterminantOp>(only.Node.Op);
        Assert.Contains("mixes particles along axis 1", only.Reason);
        Assert.Contains(nameof(Slater), only.Origin);
        Assert.Contains("ParticleSparsityTests.cs", only.Origin);
        Assert.Equal(3, slater.Particles);
        Assert.True(slater.SparseNodes > slater.DenseNodes, slater.ToString());

        Pde.Laplacian(MeanPooled, x, ParticleSparsity.Coordinates(3), out var pooled);
        Assert.Contains(pooled.Densifications, d => d.Node.Op is SumOp && d.Origin!.Contains(nameof(MeanPooled)));

        // r_i − r_j keeps two-owner tangents; the pair sum over both particles is where the Jastrow densifies.
        Pde.Laplacian(Jastrow, x, ParticleSparsity.Coordinates(3), out var jastrow);
        Assert.DoesNotContain(jastrow.Densifications, d => d.Node.Op is SubOp);
        Assert.Contains(jastrow.Densifications, d => d.Node.Op is SumOp && d.Reason.Contains("mixes particles along axis 1 of input 0 [2, 3, 3]"));
        Assert.True(jastrow.PairNodes > 0, jastrow.ToString());
        // With two-owner tangents off, the subtraction densifies as before.
        Pde.Laplacian(Jastrow, x, ParticleSparsity.Coordinates(3) with { PairTangents = false }, out var onlyOne);
        Assert.Contains(onlyOne.Densifications, d => d.Node.Op is SubOp && d.Reason.Contains("different particles"));
        Assert.Equal(0, onlyOne.PairNodes);
    }

    [Fact]
    public void PerParticleOutputsNeverDensify()
    {
        // f(x) = Σ_i tanh(|r_i|²)·(r_i W)_0 kept per electron, [N, n]: every node is per-particle.
        static Node PerElectron(Node x)
        {
            int n = x.Shape[1] / 3;
            var r = Fn.Reshape(x, x.Shape[0], n, 3);
            var w = Fn.MatMul(r, Weights(x.Graph, 3, 1, 7));
            return Fn.Reshape(Fn.Tanh(Fn.Sum(r * r, [2], keepDims: true)) * w, x.Shape[0], n);
        }
        var x = Randn(13, 4, 3 * 5);
        var sparse = Pde.Laplacian(PerElectron, x, ParticleSparsity.Coordinates(3), out var report);
        Assert.Empty(report.Densifications);
        Assert.Equal(0, report.DenseNodes);
        Close(Pde.Laplacian(PerElectron, x, Strategy.NestedFirstOrder), sparse, 1e-12);
    }

    [Fact]
    public void SparseGraphsDoLessWork()
    {
        const int n = 8, batch = 2;
        var shape = new Shape(batch, 3 * n);
        var sparseStrategy = Strategy.SparseCollapsed(ParticleSparsity.Coordinates(3));
        var sparse = Pde.LaplacianGraph(MeanPooled, shape, DType.Float64, sparseStrategy);
        var dense = Pde.LaplacianGraph(MeanPooled, shape, DType.Float64, Strategy.Collapsed);
        var s = GraphStats.Of(sparse, batch);
        var d = GraphStats.Of(dense, batch);
        // The per-electron layer carries 3 directions instead of 3n = 24 before the pooling.
        Assert.True(s.MatMulFlops < d.MatMulFlops * 0.6, $"sparse {s.MatMulFlops} vs dense {d.MatMulFlops} matmul flops");
        Assert.True(Elements(sparse) < Elements(dense), $"sparse {Elements(sparse)} vs dense {Elements(dense)} elements");
        Assert.NotNull(sparseStrategy.SparsityReportFor(sparse));
    }

    private static long Elements(Graph g) => GraphWalk.Reachable(g).Sum(node => node.Shape.Size);

    [Fact]
    public void CompiledOperatorsCarryTheReportAndTheLog()
    {
        var logged = new List<SparsityReport>();
        var strategy = Strategy.SparseCollapsed(ParticleSparsity.Coordinates(3) with { Log = logged.Add });
        var op = DifferentialOperator.Laplacian().Compile(Slater, new Shape(2, 6), DType.Float64, strategy);
        Assert.Same(logged.Single(), op.SparsityReport);
        Assert.Null(DifferentialOperator.Laplacian().Compile(Slater, new Shape(2, 6)).SparsityReport);
        // Non-basis directions (Hutchinson) are evaluated densely, and the report says so.
        var noisy = DifferentialOperator.Laplacian(Estimate.Stochastic(4, seed: 3)).Compile(Slater, new Shape(2, 6), DType.Float64, strategy);
        Assert.Contains("not the coordinate basis", Assert.Single(noisy.SparsityReport!.Notes));
        var x = Randn(14, 2, 6);
        Close(DifferentialOperator.Laplacian(Estimate.Stochastic(4, seed: 3)).Apply(Slater, x), noisy.Run(x), 1e-12);
    }

    [Fact]
    public void SpinBlocksSliceAndConcatenateWithoutDensifying()
    {
        // Spin-up and spin-down electrons get different weights; the blocks are joined again per electron.
        static Node Spins(Node x)
        {
            int n = x.Shape[1] / 3, up = n / 2;
            var r = Fn.Reshape(x, x.Shape[0], n, 3);
            var hu = Fn.Tanh(Fn.MatMul(Fn.Slice(r, 1, 0, up), Weights(x.Graph, 3, 2, 8)));
            var hd = Fn.Sin(Fn.MatMul(Fn.Slice(r, 1, up, n - up), Weights(x.Graph, 3, 2, 9)));
            var h = Fn.Concat(1, hu, hd);                                                     // [N, n, 2]
            return Fn.Reshape(Fn.Sum(Fn.Exp(-h * h), [1, 2]), x.Shape[0], 1);
        }
        var x = Randn(15, 3, 3 * 5);
        var sparse = Pde.Laplacian(Spins, x, ParticleSparsity.Coordinates(3), out var report);
        Close(Pde.Laplacian(Spins, x, Strategy.NestedFirstOrder), sparse, 1e-12);
        var only = Assert.Single(report.Densifications);
        Assert.IsType<SumOp>(only.Node.Op);
    }

    [Fact]
    public void BadDeclarationsAreRefusedBeforeAnyWork()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ParticleSparsity.Coordinates(0));
        Assert.Throws<ArgumentNullException>(() => Strategy.SparseCollapsed(null!));
        var ex = Assert.Throws<ShapeException>(() => Pde.Laplacian(Slater, Randn(1, 2, 7), ParticleSparsity.Coordinates(3), out _));
        Assert.Contains("D = 7", ex.Message);
    }

    [Fact]
    public void GroupScatterHasAConsistentAdjoint()
    {
        // ⟨scatter(t), u⟩ = ⟨t, scatterᵀ(u)⟩ for the scatter of a [2, 1, 3, 2] tangent over 4 groups, offset 1.
        var g = new Graph(DType.Float64);
        var t = g.Input(new Shape(2, 1, 3, 2), "t");
        var groups = new AxisGroups(2, 1, 1);
        var y = GroupScatterOp.Emit(t, 0, groups, 4);
        Assert.Equal(new Shape(8, 1, 3, 2), y.Shape);
        var u = g.Input(y.Shape, "u");
        var back = y.Op.Vjp(y, u)[0]!;
        g.SetOutputs(Fn.Sum(y * u), Fn.Sum(t * back), y);
        var tv = Randn(16, 2, 1, 3, 2);
        var uv = Randn(17, 8, 1, 3, 2);
        var outs = new Runtime.Executable(g).Run([tv, uv]);
        Close(outs[0].Data[0], outs[1].Data[0], 1e-14);
        // Element i of the grouped axis belongs to group 1 + i: direction (1 + i)·2 + c holds component c.
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < 3; i++)
                for (int k = 0; k < 2; k++)
                    Assert.Equal(tv[c, 0, i, k], outs[2][(1 + i) * 2 + c, 0, i, k]);
    }

    [Fact]
    public void PairScatterAddsTheSlotsOfBothOwnersAndHasAConsistentAdjoint()
    {
        // t [2·2, 1, 3, 3]: owners i (axis 2) and j (axis 3) of 3 groups, 2 components each.
        var g = new Graph(DType.Float64);
        var t = g.Input(new Shape(4, 1, 3, 3), "t");
        var y = GroupScatterOp.Emit(t, 0, [new AxisGroups(2, 1, 0), new AxisGroups(3, 1, 0)], 3);
        Assert.Equal(new Shape(6, 1, 3, 3), y.Shape);
        var u = g.Input(y.Shape, "u");
        var back = y.Op.Vjp(y, u)[0]!;
        g.SetOutputs(Fn.Sum(y * u), Fn.Sum(t * back), y);
        var tv = Randn(18, 4, 1, 3, 3);
        var uv = Randn(19, 6, 1, 3, 3);
        var outs = new Runtime.Executable(g).Run([tv, uv]);
        Close(outs[0].Data[0], outs[1].Data[0], 1e-14);
        for (int dir = 0; dir < 6; dir++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                {
                    int owner = dir / 2, c = dir % 2;
                    double expected = (owner == i ? tv[c, 0, i, j] : 0) + (owner == j ? tv[2 + c, 0, i, j] : 0);
                    Assert.Equal(expected, outs[2][dir, 0, i, j]);
                }
        Assert.Throws<ArgumentOutOfRangeException>(() => new GroupScatterOp(0, [new AxisGroups(1, 1, 0), new AxisGroups(2, 1, 0), new AxisGroups(3, 1, 0)], 3));
        Assert.Throws<ShapeException>(() => GroupScatterOp.Emit(g.Input(new Shape(3, 1, 3, 3), "odd"), 0, [new AxisGroups(2, 1, 0), new AxisGroups(3, 1, 0)], 3));
    }
}
