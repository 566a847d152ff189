using System.Numerics;
using JetSharp.Backend;

namespace JetSharp.Tests;

/// <summary>
/// The kernel-bound runs behind <c>bench gemm --kernel-bound</c>: they must run the product's real kernel calls (the full
/// tiles of C = A·B, checked against a float64 triple loop and bit for bit against the product itself), touch nothing
/// else of C, and leave C alone when their stores go to the L1 tile.
/// </summary>
public partial class GemmTests
{
    public static TheoryData<string> VectorKernelPaths() => new(nameof(GemmKernelPath.Vector512), nameof(GemmKernelPath.Vector256));

    [Theory]
    [MemberData(nameof(VectorKernelPaths))]
    public void KernelBound_IntoC_WritesTheProductsFullTiles_AndNothingElse(string kernel)
    {
        var path = Enum.Parse<GemmKernelPath>(kernel);
        // K = 50: one k block (and the float64 8-row kernel on AVX-512); K = 1100: two k blocks, the second with beta = 1.
        foreach (int k in new[] { 50, 1100 })
        {
            Check<float>(path, 41, k, 71);
            Check<double>(path, 41, k, 39);
        }

        static void Check<T>(GemmKernelPath path, int m, int k, int n) where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] a = RandomArray<T>(m * k, 71), b = RandomArray<T>(k * n, 72);
            var plan = GemmKernelBound.Prepare(m, k, n, b, path)!;
            Assert.NotNull(plan);
            int rows = plan.Slivers * plan.MR, cols = plan.FullCols;
            Assert.True(rows < m && cols < n, "the shape must leave edges outside the full tiles");
            Assert.Equal(2.0 * rows * cols * k, plan.Flops);

            T marker = T.CreateTruncating(12345.0);
            var product = new T[m * n];
            Gemm.Execute(GemmProvider.Managed, path, 1, false, false, m, n, k, T.One, a, 0, k, 0, b, 0, n, 0, T.Zero, product, 0, n, 0);
            foreach (int threads in new[] { 1, 3 })
            {
                var c = Enumerable.Repeat(marker, m * n).ToArray();
                plan.Run(a, c, KernelBoundStores.IntoC, threads, 2);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        T got = c[i * n + j];
                        if (i >= rows || j >= cols) { Assert.Equal(marker, got); continue; }
                        double expected = 0;
                        for (int p = 0; p < k; p++) expected += double.CreateTruncating(a[i * k + p]) * double.CreateTruncating(b[p * n + j]);
                        double tol = (typeof(T) == typeof(float) ? 1e-5 : 1e-13) * k;
                        Assert.True(Math.Abs(double.CreateTruncating(got) - expected) <= tol,
                            $"{typeof(T).Name} {path} K {k}, {threads} threads: C[{i},{j}] = {got}, expected {expected}");
                        Assert.Equal(product[i * n + j], got);   // the product's own kernel calls: the same bits
                    }
            }

            var untouched = Enumerable.Repeat(marker, m * n).ToArray();
            plan.Run(a, untouched, KernelBoundStores.L1Tile, 2, 3);
            Assert.All(untouched, v => Assert.Equal(marker, v));
        }
    }

    [Fact]
    public void KernelBound_ShapesWithoutAFullTile_OrThePortablePath_HaveNoPlan_AndShortArraysAreRejected()
    {
        var b = new float[64 * 100];
        Assert.Null(GemmKernelBound.Prepare(5, 64, 100, b, GemmKernelPath.Vector256));      // M < MR = 6
        Assert.Null(GemmKernelBound.Prepare(100, 64, 7, b, GemmKernelPath.Vector256));      // N < NR = 16
        Assert.Null(GemmKernelBound.Prepare(100, 64, 100, b, GemmKernelPath.Portable));
        var ex = Assert.Throws<ArgumentException>(() => GemmKernelBound.Prepare(100, 65, 100, b, GemmKernelPath.Vector256));
        Assert.Contains("B has 6400 elements, needs 6500", ex.Message);

        var plan = GemmKernelBound.Prepare(100, 64, 100, b, GemmKernelPath.Vector256)!;
        ex = Assert.Throws<ArgumentException>(() => plan.Run(new float[100 * 64 - 1], new float[100 * 100], KernelBoundStores.IntoC, 1, 1));
        Assert.Contains("A has 6399 elements, needs 6400", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => plan.Run(new float[100 * 64], new float[99 * 100], KernelBoundStores.L1Tile, 1, 1));
        Assert.Contains("C has 9900 elements, needs 10000", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => plan.Run(new float[100 * 64], new float[100 * 100], KernelBoundStores.IntoC, 0, 1));
    }
}
