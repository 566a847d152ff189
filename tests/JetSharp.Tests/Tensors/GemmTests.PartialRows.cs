using System.Numerics;
using JetSharp.Backend;

namespace JetSharp.Tests;

/// <summary>
/// The bottom partial row sliver (M mod MR rows past the last full sliver). With few enough rows the AVX-512 kernels
/// compute it with their partial-row kernel straight into C, reading a row-major A in place; otherwise it is packed
/// with zero rows and computed through the scratch tile. Checked against a float64 triple loop (with the guard
/// elements around C), and bit for bit against the same rows computed inside a full sliver.
/// </summary>
public partial class GemmTests
{
    [Theory]
    [MemberData(nameof(EdgeKernelPaths))]
    public void BottomRows_EveryRemainder_MatchReference_AndStayInsideC(string kernel, bool transA, bool transB)
    {
        var path = Enum.Parse<GemmKernelPath>(kernel);
        // M = 96 + r: remainders 1 … 12 of the 12-row kernel (1 … 4 take the partial-row kernel), 0 … 7 of the 8-row
        // one. N = 64 has no right edge (A's bottom rows are then not packed), 80 a half panel, 50 a dot edge.
        // K = 1100: two k blocks of the 12-row kernel, the second accumulating with beta = 1.
        for (int m = 97; m <= 108; m++)
        {
            foreach (int n in new[] { 64, 80, 50 })
            {
                var l = new Layout(transA, transB, m, n, m % 2 == 0 ? 1100 : 37, OffA: 1, PadA: 2, OffB: 3, PadB: 1, OffC: 2, PadC: m % 3);
                Check<float>(GemmProvider.Managed, path, l, alpha: 0.75, beta: m % 3 == 0 ? 0 : -1.5, nanInC: m % 3 == 0, seed: m + n);
                Check<double>(GemmProvider.Managed, path, l, alpha: -1.25, beta: m % 3 == 1 ? 0 : 0.5, nanInC: m % 3 == 1, seed: m * n);
            }
        }
    }

    [Theory]
    [MemberData(nameof(EdgeKernelPaths))]
    public void BottomRows_GetTheBitsOfAFullSliver(string kernel, bool transA, bool transB)
    {
        // The last r rows of an M = 96 + r product (the bottom partial sliver) against the same rows as the bottom of a
        // 24-row product whose two slivers are full (12-row kernel) or whose last 8 are (8-row kernel), and of a 12-row
        // one: the partial-row kernel must sum each element as the full kernel does.
        var path = Enum.Parse<GemmKernelPath>(kernel);
        foreach (int r in new[] { 1, 2, 3, 4, 5 })
        {
            Compare<float>(path, transA, transB, 96 + r, 128, 700, r);
            Compare<double>(path, transA, transB, 96 + r, 64, 300, r);
            Compare<double>(path, transA, transB, 96 + r, 64, 900, r);
        }

        static void Compare<T>(GemmKernelPath path, bool transA, bool transB, int m, int n, int k, int r)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] a = RandomArray<T>(m * k, 61), b = RandomArray<T>(k * n, 62), c0 = RandomArray<T>(m * n, 63);
            int lda = transA ? m : k, ldb = transB ? k : n;
            T alpha = T.CreateTruncating(-0.5), beta = T.CreateTruncating(1.25);
            T[] whole = (T[])c0.Clone();
            Gemm.Execute(GemmProvider.Managed, path, 1, transA, transB, m, n, k, alpha, a, 0, lda, 0, b, 0, ldb, 0, beta, whole, 0, n, 0);
            foreach (int rows in new[] { 24, 12 })
            {
                // Rows m − rows … m − 1 as their own product: the last r of them are now in a full sliver.
                int r0 = m - rows;
                T[] part = (T[])c0.Clone();
                Gemm.Execute(GemmProvider.Managed, path, 1, transA, transB, rows, n, k, alpha, a, transA ? r0 : r0 * k, lda, 0,
                    b, 0, ldb, 0, beta, part, r0 * n, n, 0);
                for (int x = (m - r) * n; x < m * n; x++)
                    Assert.True(whole[x].Equals(part[x]),
                        $"{path} {typeof(T).Name} m={m} k={k} transA={transA} transB={transB} ({rows}-row product): C[{x / n},{x % n}] {whole[x]} vs {part[x]}");
            }
        }
    }
}
