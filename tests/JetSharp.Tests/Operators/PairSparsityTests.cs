using JetSharp.Benchmarks;
using JetSharp.Simplify;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Two-owner (pair) tangents in the particle-sparse forward Laplacian: pair features built from r_i − r_j keep 2·C
/// tangent slots per element instead of G·C. Each network is checked against the dense collapsed path, nested
/// first-order AD and (for one) central finite differences of the gradient, and its report is checked for where
/// it still densifies.
/// </summary>
public class PairSparsityTests
{
    private static Node Weights(Graph g, int rows, int cols, long seed, double scale = 0.6)
    {
        var w = NDArray.RandomNormal<double>(new Shape(rows, cols), seed);
        for (int i = 0; i < w.Size; i++) w.Data[i] *= scale;
        return g.Constant(w);
    }

    private static Node Positions(Node x) => Fn.Reshape(x, x.Shape[0], x.Shape[1] / 3, 3);

    /// <summary>d_ij = r_i − r_j [N, n, n, 3].</summary>
    private static Node Differences(Node r)
    {
        int batch = r.Shape[0], n = r.Shape[1];
        return Fn.Reshape(r, batch, n, 1, 3) - Fn.Reshape(r, batch, 1, n, 3);
    }

    /// <summary>Σ_{i&lt;j} f(|r_i − r_j|), f(s) = s / (1 + s) on s = sqrt(|d|² + 0.1): the strict upper triangle by a constant mask.</summary>
    internal static Node PairJastrow(Node x)
    {
        var r = Positions(x);
        int n = r.Shape[1];
        var d = Differences(r);
        var s = Fn.Sqrt(Fn.Sum(d * d, [3]) + 0.1);                                           // [N, n, n]
        var upper = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) upper[i * n + j] = 1;
        var f = s / (1.0 + s) * x.Graph.Constant(NDArray.FromArray(upper, new Shape(n, n)));
        return Fn.Reshape(Fn.Sum(f, [1, 2]), x.Shape[0], 1);
    }

    /// <summary>
    /// A pair stream averaged into the one-electron stream (FermiNet's pair pooling): g_ij = tanh([d_ij, |d_ij|] W),
    /// h_i = tanh(r_i V + mean_j g_ij U), output Σ_i Σ_f h_if².
    /// </summary>
    internal static Node PairStream(Node x)
    {
        var r = Positions(x);
        var d = Differences(r);
        var dist = Fn.Sqrt(Fn.Sum(d * d, [3], keepDims: true) + 0.1);                       // [N, n, n, 1]
        var g = Fn.Tanh(Fn.MatMul(Fn.Concat(3, d, dist), Weights(x.Graph, 4, 3, 21)));     // [N, n, n, 3], pair
        var pooled = Fn.Mean(g, [2]);                                                      // [N, n, 3], mixes
        var h = Fn.Tanh(Fn.MatMul(r, Weights(x.Graph, 3, 3, 22)) + Fn.MatMul(pooled, Weights(x.Graph, 3, 3, 23)));
        return Fn.Reshape(Fn.Sum(h * h, [1, 2]), x.Shape[0], 1);
    }

    /// <summary>Symmetrised pair features g_ij + g_ji (a transposed pair meets the pair) times a feature of particle j.</summary>
    internal static Node Symmetrised(Node x)
    {
        var r = Positions(x);
        var d = Differences(r);
        var g = Fn.Sin(Fn.MatMul(d, Weights(x.Graph, 3, 1, 24)));                            // [N, n, n, 1], not symmetric
        var sym = g + Fn.Transpose(g, [0, 2, 1, 3]);
        var hj = Fn.Reshape(Fn.Tanh(Fn.Sum(r * r, [2], keepDims: true)), r.Shape[0], 1, r.Shape[1], 1);   // [N, 1, n, 1], owner j
        return Fn.Reshape(Fn.Sum(Fn.Exp(-sym * sym) * hj, [1, 2, 3]), x.Shape[0], 1);
    }

    public static TheoryData<string> Networks => ["PairJastrow", "PairStream", "Symmetrised"];

    private static Func<Node, Node> Network(string name) => name switch
    {
        "PairJastrow" => PairJastrow,
        "PairStream" => PairStream,
        _ => Symmetrised,
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void PairSparseEqualsDenseCollapsedAndNested(string name)
    {
        var f = Network(name);
        var x = Randn(31, 3, 3 * 5);
        var sparse = Pde.Laplacian(f, x, ParticleSparsity.Coordinates(3), out var report);
        Close(Pde.Laplacian(f, x, Strategy.Collapsed), sparse, 1e-12);
        Close(Pde.Laplacian(f, x, Strategy.NestedFirstOrder), sparse, 1e-12);
        Assert.True(report.PairNodes > 0, report.ToString());
        // Pair features never densify where two particles meet: only reductions over particles do, and the
        // per-particle values that meet their results.
        Assert.All(report.Densifications, d => Assert.True(d.Reason.Contains("mixes particles") || d.Reason.Contains("already dense"), d.ToString()));
        Assert.DoesNotContain(report.Densifications, d => d.Reason.Contains("different particles"));
    }

    [Fact]
    public void PairJastrowMatchesFiniteDifferences()
    {
        // Δf ≈ Σ_d (f(x + h e_d) − 2 f(x) + f(x − h e_d)) / h², independent of any Taylor rule.
        var x = Randn(32, 2, 3 * 4);
        var sparse = Pde.Laplacian(PairJastrow, x, ParticleSparsity.Coordinates(3), out _);
        var g = new Graph(DType.Float64);
        var input = g.Input(x.Shape, "x");
        g.SetOutputs(PairJastrow(input));
        var exe = new Runtime.Executable(g);
        double F(NDArray<double> at, int b) => exe.Run([at])[0][b, 0];
        const double h = 1e-4;
        for (int b = 0; b < x.Shape[0]; b++)
        {
            double sum = 0, f0 = F(x, b);
            for (int dim = 0; dim < x.Shape[1]; dim++)
            {
                var plus = x.Clone();
                var minus = x.Clone();
                plus[b, dim] += h;
                minus[b, dim] -= h;
                sum += (F(plus, b) - 2 * f0 + F(minus, b)) / (h * h);
            }
            Close(sum, sparse[b, 0], 1e-5);
        }
    }

    [Fact]
    public void TheReportListsWhereItStillDensifies()
    {
        var x = Randn(33, 2, 3 * 4);
        Pde.Laplacian(PairStream, x, ParticleSparsity.Coordinates(3), out var stream);
        // The mean over j of the pair stream: h_i then depends on every electron.
        var mean = Assert.Single(stream.Densifications, d => d.Node.Op is SumOp && d.Node.Shape == new Shape(2, 4, 3));
        Assert.Contains("mixes particles along axis 2 of input 0 [2, 4, 4, 3]", mean.Reason);
        Assert.Contains(nameof(PairStream), mean.Origin);
        Assert.Contains("pair features", stream.ToString());

        // Three particles on one element (d_ij + r_k) are beyond two owners.
        static Node Triple(Node x)
        {
            var r = Positions(x);
            int batch = r.Shape[0], n = r.Shape[1];
            var t = Fn.Reshape(Differences(r), batch, n, n, 1, 3) + Fn.Reshape(r, batch, 1, 1, n, 3);
            return Fn.Reshape(Fn.Sum(Fn.Tanh(t), [1, 2, 3, 4]), batch, 1);
        }
        var sparse = Pde.Laplacian(Triple, x, ParticleSparsity.Coordinates(3), out var triple);
        Assert.Contains(triple.Densifications, d => d.Node.Op is AddOp && d.Reason.Contains("more than two particles"));
        Close(Pde.Laplacian(Triple, x, Strategy.NestedFirstOrder), sparse, 1e-12);

        // A Gram matrix r_i·r_j is a matrix product, not elementwise: where i = j it cannot tell the two owners apart.
        static Node Gram(Node x)
        {
            var r = Positions(x);
            return Fn.Reshape(Fn.Sum(Fn.Tanh(Fn.MatMul(r, r, transposeB: true)), [1, 2]), r.Shape[0], 1);
        }
        var gram = Pde.Laplacian(Gram, x, ParticleSparsity.Coordinates(3), out var gramReport);
        Assert.Contains(gramReport.Densifications, d => d.Node.Op is MatMulOp && d.Reason.Contains("not elementwise"));
        Close(Pde.Laplacian(Gram, x, Strategy.NestedFirstOrder), gram, 1e-12);
    }

    [Fact]
    public void AGramMatrixWrittenElementwiseStaysAPairFeature()
    {
        // Σ_c r_ic·r_jc: an elementwise product of r_i and r_j, then a sum over the coordinate axis (no owner).
        static Node Gram(Node x)
        {
            var r = Positions(x);
            int batch = r.Shape[0], n = r.Shape[1];
            var dot = Fn.Sum(Fn.Reshape(r, batch, n, 1, 3) * Fn.Reshape(r, batch, 1, n, 3), [3]);
            return Fn.Reshape(Fn.Sum(Fn.Tanh(dot), [1, 2]), batch, 1);
        }
        var x = Randn(35, 2, 3 * 4);
        var sparse = Pde.Laplacian(Gram, x, ParticleSparsity.Coordinates(3), out var report);
        var only = Assert.Single(report.Densifications);
        Assert.Equal(new Shape(2), only.Node.Shape);
        Assert.Equal(3, report.PairNodes);
        Close(Pde.Laplacian(Gram, x, Strategy.NestedFirstOrder), sparse, 1e-12);
    }

    [Theory]
    [InlineData(ElectronNetwork.OneStream)]
    [InlineData(ElectronNetwork.TwoStream)]
    public void TheBenchmarkNetworksAgreeWithTheDensePath(ElectronNetwork kind)
    {
        const int n = 5;
        var f = ParticleSparsityBenchmark.Network(kind, n);
        var x = Randn(34, 2, 3 * n);
        var pairs = Pde.Laplacian(f, x, ParticleSparsity.Coordinates(3), out var report);
        var onlyOne = Pde.Laplacian(f, x, ParticleSparsity.Coordinates(3) with { PairTangents = false }, out _);
        Close(Pde.Laplacian(f, x, Strategy.Collapsed), pairs, 1e-12);
        Close(onlyOne, pairs, 1e-12);
        Assert.DoesNotContain(report.Densifications, d => d.Node.Op is SubOp);
        Assert.True(report.PairNodes > 0, report.ToString());
    }

    [Fact]
    public void PairTangentsDoLessWork()
    {
        const int n = 8, batch = 2;
        var shape = new Shape(batch, 3 * n);
        var pairs = Pde.LaplacianGraph(PairJastrow, shape, DType.Float64, Strategy.SparseCollapsed(ParticleSparsity.Coordinates(3)));
        var onlyOne = Pde.LaplacianGraph(PairJastrow, shape, DType.Float64, Strategy.SparseCollapsed(ParticleSparsity.Coordinates(3) with { PairTangents = false }));
        var dense = Pde.LaplacianGraph(PairJastrow, shape, DType.Float64, Strategy.Collapsed);
        long Elements(Graph g) => GraphWalk.Reachable(g).Sum(node => node.Shape.Size);
        // [2·3, N, n, n] pair tangents instead of [3n, N, n, n]: n / 2 = 4 times fewer elements on the pair nodes.
        Assert.True(Elements(pairs) * 2 < Elements(dense), $"pairs {Elements(pairs)} vs dense {Elements(dense)} elements");
        Assert.True(Elements(pairs) * 2 < Elements(onlyOne), $"pairs {Elements(pairs)} vs one owner {Elements(onlyOne)} elements");
        // No node of the pair-sparse graph holds an n-fold expanded pair tangent [3n, N, n, n, …].
        Assert.DoesNotContain(GraphWalk.Reachable(pairs), node => node.Rank >= 4 && node.Shape[0] == 3 * n && node.Shape[2] == n && node.Shape[3] == n);
    }

    [Fact]
    public void AnOwnerLimitOtherThanOneOrTwoIsRefused()
    {
        var f = Tracer.Function(xs => Fn.Tanh(xs[0]), [new Shape(2, 6)], DType.Float64);
        var g = new Graph(DType.Float64);
        var x = g.Input(new Shape(2, 6), "x");
        var basis = g.Constant(NDArray.Zeros<double>(new Shape(3, 2, 6)));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
            JetSharp.Transforms.GroupedJet.Apply(f, [x], [[basis, null]], [new AxisGroups(1, 3, 0)], 2, 3, 2, maxOwners: 3));
        Assert.Contains("one or two owners", ex.Message);
    }
}
