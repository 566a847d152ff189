using JetSharp.Primitives.LinearAlgebra;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// det's Taylor rule (pivoted Schur complement) at matrices of rank n − 1 and near them: the Laplacian of
/// x ↦ det(A₀ + Σ_i x_i E_i), a cubic polynomial in x, against exact second differences of a cofactor
/// determinant, in every Taylor strategy; and the pivot permutation it uses.
/// </summary>
public class DeterminantNearSingularTests
{
    // A₀ = u·vᵀ + w·zᵀ has rank 2 exactly in integers; E_i are fixed integer directions.
    private static readonly double[] A0 = Rank2([1, 2, -1], [3, -1, 2], [2, 0, 1], [-1, 1, 4]);
    private static readonly double[][] E = [[1, 0, 2, 0, -1, 1, 3, 1, 0], [0, 2, -1, 1, 0, 0, 1, -2, 1], [2, -1, 0, 0, 1, 3, -1, 0, 2]];

    private static double[] Rank2(double[] u, double[] v, double[] w, double[] z) =>
        [.. Enumerable.Range(0, 9).Select(i => u[i / 3] * v[i % 3] + w[i / 3] * z[i % 3])];

    private static double Det3(double[] m) =>
        m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);

    private static double[] MatrixAt(double[] x) => [.. Enumerable.Range(0, 9).Select(i => A0[i] + x[0] * E[0][i] + x[1] * E[1][i] + x[2] * E[2][i])];

    private static Node Model(Node x)
    {
        var g = x.Graph;
        var a = g.Constant(new NDArray<double>(new Shape(3, 3), A0));
        var m = Fn.ExpandDims(Fn.ExpandDims(x, -1), -1) * g.Constant(new NDArray<double>(new Shape(3, 3, 3), [.. E.SelectMany(e => e)]));
        return Fn.ExpandDims(Linalg.Det(a + Fn.Sum(m, 1)), -1);
    }

    [Theory]
    [InlineData("standard")]
    [InlineData("collapsed")]
    public void LaplacianOfADeterminantAtAndNearRankNMinusOneMatchesExactSecondDifferences(string strategy)
    {
        // Points: the singular A₀ itself (x = 0) and two points within 1e-6 and 1e-9 of it.
        double[][] points = [[0, 0, 0], [1e-6, -2e-6, 5e-7], [3e-9, 1e-9, -2e-9]];
        var x = new NDArray<double>(new Shape(points.Length, 3), [.. points.SelectMany(p => p)]);
        var lap = Pde.Laplacian(Model, x, strategy == "collapsed" ? Strategy.Collapsed : Strategy.StandardTaylor);
        const double h = 0.5;   // det is cubic along each axis: the central second difference is exact for any h
        for (int n = 0; n < points.Length; n++)
        {
            double expected = 0;
            for (int i = 0; i < 3; i++)
            {
                double[] up = [.. points[n]], down = [.. points[n]];
                up[i] += h;
                down[i] -= h;
                expected += (Det3(MatrixAt(up)) - 2 * Det3(MatrixAt(points[n])) + Det3(MatrixAt(down))) / (h * h);
            }
            Assert.True(Math.Abs(expected - lap.Data[n]) <= 1e-11 * Math.Max(1, Math.Abs(expected)),
                $"point {n}: Laplacian {lap.Data[n]:R}, exact {expected:R}");
        }
    }

    [Fact]
    public void ThePivotPermutationOrdersRowsAsPartialPivotingDoesAndHasZeroDerivatives()
    {
        var a = new NDArray<double>(new Shape(2, 3, 3), [0, 1, 2, 3, 4, 5, 7, 1, 0, /* second */ 1, 0, 0, 0, 2, 0, 0, 0, 3]);
        var g = Tracer.Function(m => Fn.Apply(PivotPermutationOp.Instance, m), new Shape(2, 3, 3));
        var p = Run(g, a)[0];
        // First matrix: column 0's largest entry is in row 2, then (after elimination) row 1, then row 0.
        Assert.Equal(new double[] { 0, 0, 1, 0, 1, 0, 1, 0, 0 }, p.Data[..9]);
        // Second (diagonal): no row exchanges.
        Assert.Equal(new double[] { 1, 0, 0, 0, 1, 0, 0, 0, 1 }, p.Data[9..]);
        var jet = Run(Jet.Transform(g, 2), a, Randn(1, 2, 3, 3), Randn(2, 2, 3, 3));
        Assert.All(jet.Skip(1), c => Assert.All(c.Data, v => Assert.Equal(0.0, v)));
        Assert.Throws<ShapeException>(() => Tracer.Function(m => Fn.Apply(PivotPermutationOp.Instance, m), new Shape(2, 3)));
    }
}
