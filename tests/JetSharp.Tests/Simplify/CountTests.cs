using JetSharp.Nn;
using JetSharp.Simplify;
using static JetSharp.Tests.SimplifyTestUtil;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// The cost model of METHOD.md §3, per hidden layer of a tanh MLP: vectors propagated through each
/// weight matrix (GraphStats.PerLayer) with standard Taylor mode versus the collapsed graph. Middle
/// layers carry x₀, the R first..(K−1)-th coefficients, and the K-th ones (standard: R of them;
/// collapsed: their sum). The first layer never sees a K-th coefficient (x_K = 0 at the input) and
/// the last layer only carries what the output needs, so they are checked separately.
/// </summary>
public class CountTests
{
    // Extents chosen pairwise distinct (N ≠ D ≠ widths ≠ S) so no count can match by accident, and N
    // differs from every width so GraphStats tells data axes from weight rows.
    private const int N = 7, D = 3, Width = 6;
    private static readonly int[] Hidden = [Width, Width, Width, Width];   // 4 hidden layers: weights 2..4 are middle layers

    private static Graph Function() => Tracer.Function(Mlp.Create(D, Hidden, 1, Activation.Tanh, seed: 11).Apply, new Shape(N, D));

    /// <summary>Standard and collapsed graphs of <paramref name="op"/>; also checks that they compute the same values.</summary>
    private static (GraphStats Standard, GraphStats Collapsed) Stats(DifferentialOperator op)
    {
        var f = Function();
        var standard = op.Build(f, Strategy.StandardTaylor);
        var collapsed = op.Build(f, Strategy.Collapsed);
        // Same directions (same seed) in both strategies, so the results agree to rounding, sample by sample.
        SameOutputs(standard, collapsed, [Randn(3, N, D)]);
        var s = GraphStats.Of(standard, N);
        var c = GraphStats.Of(collapsed, N);
        Assert.Equal(Hidden.Length + 1, s.PerLayer.Count);
        Assert.Equal(Hidden.Length + 1, c.PerLayer.Count);
        return (s, c);
    }

    private static void MiddleLayers(GraphStats stats, double expected, string what)
    {
        for (int l = 1; l < Hidden.Length; l++)
            Assert.True(stats.PerLayer[l].Vectors == expected,
                $"{what}, layer {l + 1}: {stats.PerLayer[l].Vectors} vectors, expected {expected}\n{stats.Listing()}");
    }

    [Theory]
    [InlineData(2, Distribution.Normal)]
    [InlineData(4, Distribution.Normal)]
    [InlineData(9, Distribution.Rademacher)]
    public void StochasticLaplacianPropagatesTwoPlusSVectorsCollapsedAndOnePlusTwoSStandard(int samples, Distribution distribution)
    {
        var (s, c) = Stats(DifferentialOperator.Laplacian(Estimate.Stochastic(samples, distribution, seed: 5)));
        MiddleLayers(s, 1 + 2 * samples, "standard");
        MiddleLayers(c, 2 + samples, "collapsed");
        // First layer: x₀ and the S sampled directions times W₁ (per datum: the samples differ per datum).
        Assert.Equal(1 + samples, s.PerLayer[0].Vectors);
        Assert.Equal(1 + samples, c.PerLayer[0].Vectors);
        // Last layer: only y₂ reaches the output; S of them, or their sum.
        Assert.Equal(samples, s.PerLayer[^1].Vectors);
        Assert.Equal(1, c.PerLayer[^1].Vectors);
        Assert.True(c.TotalVectors < s.TotalVectors, $"collapsed {c.TotalVectors} vectors, standard {s.TotalVectors}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void StochasticBiharmonicPropagatesTwoPlusThreeSVectorsCollapsedAndOnePlusFourSStandard(int samples)
    {
        var (s, c) = Stats(DifferentialOperator.Biharmonic(Estimate.Stochastic(samples, Distribution.Normal, seed: 6)));
        MiddleLayers(s, 1 + 4 * samples, "standard");
        MiddleLayers(c, 2 + 3 * samples, "collapsed");
        Assert.Equal(1 + samples, c.PerLayer[0].Vectors);
        Assert.Equal(samples, s.PerLayer[^1].Vectors);
        Assert.Equal(1, c.PerLayer[^1].Vectors);
        Assert.True(c.TotalVectors < s.TotalVectors, $"collapsed {c.TotalVectors} vectors, standard {s.TotalVectors}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    public void WeightedLaplacianOfRankRPropagatesTwoPlusRVectorsCollapsedAndOnePlusTwoRStandard(int rank)
    {
        var sigma = Randn(21, D, rank);
        var (s, c) = Stats(DifferentialOperator.WeightedLaplacian(sigma));
        MiddleLayers(s, 1 + 2 * rank, "standard");
        MiddleLayers(c, 2 + rank, "collapsed");
        // The columns of σ are shared by every datum: collapsed multiplies them by W₁ once (no data axis).
        Assert.Equal(1 + rank, s.PerLayer[0].Vectors);
        Assert.Equal(1, c.PerLayer[0].Vectors);
        Assert.Equal(1, c.PerLayer[^1].Vectors);
        Assert.True(c.TotalVectors < s.TotalVectors, $"collapsed {c.TotalVectors} vectors, standard {s.TotalVectors}");
    }

    [Fact]
    public void ExactBiharmonicCollapsesEachDirectionFamilyToOneSum()
    {
        // M = (3D² − D)/2 four-jets; standard: 1 + 4M (= 6D² − 2D + 1, METHOD.md §3). Collapsed: x₀, three
        // coefficients per direction, and one summed fourth coefficient per family. METHOD's
        // 4.5D² − 1.5D + 4 counts three families; the interpolation merges them by sign of the weight,
        // so the library has fewer, and the table is an upper bound.
        var op = DifferentialOperator.BiharmonicByInterpolation();
        int m = (3 * D * D - D) / 2;
        int families = op.Families(D).Count;
        Assert.Equal(m, op.Families(D).Sum(f => f.Directions(Fn.Zeros(new Graph(DType.Float64), new Shape(N, D))).Shape[0]));
        var (s, c) = Stats(op);
        MiddleLayers(s, 1 + 4 * m, "standard");
        Assert.Equal(6 * D * D - 2 * D + 1, 1 + 4 * m);
        MiddleLayers(c, 1 + 3 * m + families, "collapsed");
        Assert.True(1 + 3 * m + families <= 4.5 * D * D - 1.5 * D + 4);
        Assert.True(c.TotalVectors < s.TotalVectors, $"collapsed {c.TotalVectors} vectors, standard {s.TotalVectors}");
    }
}
