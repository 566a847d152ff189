using JetSharp.Tensors;

namespace JetSharp.Backend;

/// <summary>
/// LU factorisation with partial (row) pivoting, P·A = L·U, and what it gives: solves, determinants and
/// log-determinants. Accumulation is in double for both dtypes. A zero pivot is not an error here: a solve
/// then yields IEEE infinities or NaN (as LAPACK's getrs would after getrf reports it), a determinant 0.
/// </summary>
internal static class LuKernels
{
    /// <summary>Factors the n×n matrix <paramref name="a"/> in place (L below the diagonal, unit diagonal implied; U on and above); returns the permutation sign, and the row order in <paramref name="perm"/>.</summary>
    public static int Factor(Span<double> a, int n, Span<int> perm)
    {
        int sign = 1;
        for (int i = 0; i < n; i++) perm[i] = i;
        for (int k = 0; k < n; k++)
        {
            int p = k;
            double best = Math.Abs(a[k * n + k]);
            for (int i = k + 1; i < n; i++)
            {
                double v = Math.Abs(a[i * n + k]);
                if (v > best) { best = v; p = i; }
            }
            if (p != k)
            {
                for (int j = 0; j < n; j++) (a[k * n + j], a[p * n + j]) = (a[p * n + j], a[k * n + j]);
                (perm[k], perm[p]) = (perm[p], perm[k]);
                sign = -sign;
            }
            double pivot = a[k * n + k];
            if (pivot == 0) continue;
            for (int i = k + 1; i < n; i++)
            {
                double l = a[i * n + k] /= pivot;
                if (l == 0) continue;
                for (int j = k + 1; j < n; j++) a[i * n + j] -= l * a[k * n + j];
            }
        }
        return sign;
    }

    private static double[] Widen<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var r = new double[x.Length];
        for (int i = 0; i < x.Length; i++) r[i] = double.CreateTruncating(x[i]);
        return r;
    }

    /// <summary>X = A⁻¹·B for each matrix of a batch; A [..., n, n] and B [..., n, k] broadcast over the batch axes of X.</summary>
    public static void Solve<T>(NDArray<T> a, NDArray<T> b, NDArray<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Shape[^2], k = x.Shape[^1];
        var ia = DenseKernels.BroadcastBatchIndex(a.Shape, x.Shape);
        var ib = DenseKernels.BroadcastBatchIndex(b.Shape, x.Shape);
        T[] A = a.Data, B = b.Data, X = x.Data;
        int pieces = Math.Max(1, Math.Min(ia.Length, Parallelism.Pieces((long)ia.Length * n * n * (n + k), computeBound: true)));
        Parallelism.Run(pieces, p =>
        {
            int s = (int)Parallelism.Start(ia.Length, pieces, p), e = (int)Parallelism.Start(ia.Length, pieces, p + 1);
            var perm = new int[n];
            var col = new double[n];
            for (int t = s; t < e; t++)
            {
                var lu = Widen<T>(A.AsSpan(ia[t] * n * n, n * n));
                Factor(lu, n, perm);
                var rhs = B.AsSpan(ib[t] * n * k, n * k);
                var dst = X.AsSpan(t * n * k, n * k);
                for (int c = 0; c < k; c++)
                {
                    // Forward substitution with the permuted right-hand side, then back substitution.
                    for (int i = 0; i < n; i++)
                    {
                        double v = double.CreateTruncating(rhs[perm[i] * k + c]);
                        for (int j = 0; j < i; j++) v -= lu[i * n + j] * col[j];
                        col[i] = v;
                    }
                    for (int i = n - 1; i >= 0; i--)
                    {
                        double v = col[i];
                        for (int j = i + 1; j < n; j++) v -= lu[i * n + j] * col[j];
                        col[i] = v / lu[i * n + i];
                    }
                    for (int i = 0; i < n; i++) dst[i * k + c] = T.CreateTruncating(col[i]);
                }
            }
        });
    }

    /// <summary>What <see cref="Determinant{T}"/> returns per matrix.</summary>
    public enum Part
    {
        /// <summary>det A.</summary>
        Det,
        /// <summary>sign det A ∈ {−1, 0, 1}.</summary>
        Sign,
        /// <summary>ln |det A| (−∞ when singular).</summary>
        LogAbs,
    }

    /// <summary>The determinant (or its sign, or log-magnitude) of each n×n matrix of A [..., n, n]; result [...].</summary>
    public static void Determinant<T>(Part part, NDArray<T> a, NDArray<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.Shape[^1];
        int count = result.Size;
        T[] A = a.Data, R = result.Data;
        int pieces = Math.Max(1, Math.Min(count, Parallelism.Pieces((long)count * n * n * n, computeBound: true)));
        Parallelism.Run(pieces, p =>
        {
            int s = (int)Parallelism.Start(count, pieces, p), e = (int)Parallelism.Start(count, pieces, p + 1);
            var perm = new int[n];
            for (int t = s; t < e; t++)
            {
                var lu = Widen<T>(A.AsSpan(t * n * n, n * n));
                double sign = Factor(lu, n, perm), logAbs = 0, det = sign;
                for (int i = 0; i < n; i++)
                {
                    double u = lu[i * n + i];
                    det *= u;
                    sign *= Math.Sign(u);
                    logAbs += Math.Log(Math.Abs(u));
                }
                R[t] = T.CreateTruncating(part switch { Part.Det => det, Part.Sign => sign, _ => logAbs });
            }
        });
    }
}
