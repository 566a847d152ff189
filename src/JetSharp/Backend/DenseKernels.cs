using JetSharp.Tensors;

namespace JetSharp.Backend;

/// <summary>
/// Plain-loop kernels for the small dense matrices of the linear-algebra primitives (state-space
/// models have matrices of a few to a few tens of rows, where blocking buys nothing). Every routine
/// works on one row-major matrix at an offset; the primitives loop over the batch.
/// </summary>
internal static class DenseKernels
{
    /// <summary>Machine epsilon of T (IFloatingPointIeee754.Epsilon is the smallest subnormal, not this).</summary>
    public static double MachineEpsilon<T>() => typeof(T) == typeof(float) ? 1.1920928955078125e-7 : 2.220446049250313e-16;

    /// <summary>
    /// Householder QR of the m×n matrix <paramref name="a"/>: A = Q·R with k = min(m, n), Q m×k with
    /// orthonormal columns, R k×n upper triangular (trapezoidal when wide). Signs are normalised so that
    /// diag(R) ≥ 0: with that convention R (and, for full column rank, Q) is unique, which is what makes
    /// the derivative rules well defined. A reflector whose column is exactly zero is skipped, so
    /// rank-deficient inputs give a zero pivot rather than NaN. <paramref name="q"/> may be empty to skip
    /// forming Q.
    /// </summary>
    public static void Householder<T>(ReadOnlySpan<T> a, int m, int n, Span<T> q, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = Math.Min(m, n);
        var w = a[..(m * n)].ToArray();
        var vs = new T[k][];
        var betas = new T[k];
        for (int j = 0; j < k; j++)
        {
            T norm2 = T.Zero;
            for (int i = j; i < m; i++) norm2 += w[i * n + j] * w[i * n + j];
            var v = new T[m - j];
            vs[j] = v;
            if (norm2 == T.Zero) continue; // nothing to eliminate: identity reflector
            T alpha = T.Sqrt(norm2);
            T x0 = w[j * n + j];
            // v = x + sign(x0)·‖x‖·e1 avoids cancellation in v0.
            T signed = x0 >= T.Zero ? alpha : -alpha;
            for (int i = j; i < m; i++) v[i - j] = w[i * n + j];
            v[0] += signed;
            T vv = T.Zero;
            foreach (var e in v) vv += e * e;
            T beta = (T.One + T.One) / vv;
            betas[j] = beta;
            for (int c = j; c < n; c++)
            {
                T dot = T.Zero;
                for (int i = j; i < m; i++) dot += v[i - j] * w[i * n + c];
                dot *= beta;
                for (int i = j; i < m; i++) w[i * n + c] -= dot * v[i - j];
            }
        }

        var sign = new T[k];
        for (int i = 0; i < k; i++) sign[i] = w[i * n + i] < T.Zero ? -T.One : T.One;
        for (int i = 0; i < k; i++)
            for (int c = 0; c < n; c++)
                r[i * n + c] = c < i ? T.Zero : sign[i] * w[i * n + c];

        if (q.IsEmpty) return;
        // Q = H₀·H₁·…·H_{k−1}·[I_k; 0], applied right to left, then the same column signs as R's rows.
        q[..(m * k)].Clear();
        for (int i = 0; i < k; i++) q[i * k + i] = T.One;
        for (int j = k - 1; j >= 0; j--)
        {
            if (betas[j] == T.Zero) continue;
            var v = vs[j];
            for (int c = 0; c < k; c++)
            {
                T dot = T.Zero;
                for (int i = j; i < m; i++) dot += v[i - j] * q[i * k + c];
                dot *= betas[j];
                for (int i = j; i < m; i++) q[i * k + c] -= dot * v[i - j];
            }
        }
        for (int i = 0; i < m; i++)
            for (int c = 0; c < k; c++) q[i * k + c] *= sign[c];
    }

    /// <summary>
    /// Lower Cholesky factor of the symmetric part ½(A + Aᵀ) of the n×n matrix a. Returns the index of
    /// the first non-positive pivot, or −1 on success (the upper triangle of l is zeroed).
    /// </summary>
    public static int Cholesky<T>(ReadOnlySpan<T> a, int n, Span<T> l) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T half = T.CreateTruncating(0.5);
        l[..(n * n)].Clear();
        for (int j = 0; j < n; j++)
        {
            T d = a[j * n + j];
            for (int p = 0; p < j; p++) d -= l[j * n + p] * l[j * n + p];
            if (!(d > T.Zero)) return j;
            T ljj = T.Sqrt(d);
            l[j * n + j] = ljj;
            for (int i = j + 1; i < n; i++)
            {
                T s = half * (a[i * n + j] + a[j * n + i]);
                for (int p = 0; p < j; p++) s -= l[i * n + p] * l[j * n + p];
                l[i * n + j] = s / ljj;
            }
        }
        return -1;
    }

    /// <summary>
    /// Solves op(T)·X = B for X (n×k), T n×n triangular with only its <paramref name="lower"/> (or upper)
    /// triangle read, op = transpose when <paramref name="transpose"/>. Substitution: a zero pivot gives
    /// IEEE infinities/NaN (no exception), as LAPACK's trsm does.
    /// </summary>
    public static void SolveTriangular<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> b, int n, int k, bool lower, bool transpose, Span<T> x)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // The effective matrix M = op(T) is lower triangular when lower XOR transpose; M[i, j] reads T[j, i] when transposed.
        bool forward = lower != transpose;
        for (int c = 0; c < k; c++)
        {
            for (int s = 0; s < n; s++)
            {
                int i = forward ? s : n - 1 - s;
                T acc = b[i * k + c];
                if (forward)
                    for (int j = 0; j < i; j++) acc -= (transpose ? t[j * n + i] : t[i * n + j]) * x[j * k + c];
                else
                    for (int j = i + 1; j < n; j++) acc -= (transpose ? t[j * n + i] : t[i * n + j]) * x[j * k + c];
                x[i * k + c] = acc / t[i * n + i];
            }
        }
    }

    /// <summary>
    /// Moore–Penrose pseudoinverse of the m×n matrix a into p (n×m) by one-sided Jacobi SVD (Hestenes),
    /// which is accurate for small singular values. Singular values at or below rcond·σ_max are treated as
    /// zero. Returns the numerical rank.
    /// </summary>
    public static int Pinv<T>(ReadOnlySpan<T> a, int m, int n, double rcond, Span<T> p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Work on a tall matrix W (rows ≥ cols): W = A, or Aᵀ for a wide A (then pinv(A) = pinv(Aᵀ)ᵀ).
        bool wide = m < n;
        int rows = wide ? n : m, cols = wide ? m : n;
        var w = new double[rows * cols];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double v = double.CreateTruncating(a[i * n + j]);
                if (wide) w[j * cols + i] = v; else w[i * cols + j] = v;
            }
        var vmat = new double[cols * cols];
        for (int i = 0; i < cols; i++) vmat[i * cols + i] = 1;

        // Rotate column pairs until all are mutually orthogonal: W·V then has orthogonal columns σ_i·u_i.
        for (int sweep = 0; sweep < 60; sweep++)
        {
            bool rotated = false;
            for (int i = 0; i < cols - 1; i++)
                for (int j = i + 1; j < cols; j++)
                {
                    double alpha = 0, beta = 0, gamma = 0;
                    for (int r = 0; r < rows; r++)
                    {
                        double wi = w[r * cols + i], wj = w[r * cols + j];
                        alpha += wi * wi; beta += wj * wj; gamma += wi * wj;
                    }
                    if (gamma == 0 || Math.Abs(gamma) <= 1e-15 * Math.Sqrt(alpha * beta)) continue;
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double tan = Math.Sign(zeta == 0 ? 1 : zeta) / (Math.Abs(zeta) + Math.Sqrt(1 + zeta * zeta));
                    double cos = 1 / Math.Sqrt(1 + tan * tan), sin = cos * tan;
                    for (int r = 0; r < rows; r++)
                    {
                        double wi = w[r * cols + i], wj = w[r * cols + j];
                        w[r * cols + i] = cos * wi - sin * wj;
                        w[r * cols + j] = sin * wi + cos * wj;
                    }
                    for (int r = 0; r < cols; r++)
                    {
                        double vi = vmat[r * cols + i], vj = vmat[r * cols + j];
                        vmat[r * cols + i] = cos * vi - sin * vj;
                        vmat[r * cols + j] = sin * vi + cos * vj;
                    }
                }
            if (!rotated) break;
        }

        var sigma2 = new double[cols];
        double max = 0;
        for (int c = 0; c < cols; c++)
        {
            double s = 0;
            for (int r = 0; r < rows; r++) s += w[r * cols + c] * w[r * cols + c];
            sigma2[c] = s;
            max = Math.Max(max, Math.Sqrt(s));
        }
        // pinv(W) = Σ_{σ_c > cut} v_c·(W v_c)ᵀ / σ_c², a cols×rows matrix.
        double cut = rcond * max;
        var pw = new double[cols * rows];
        int rank = 0;
        for (int c = 0; c < cols; c++)
        {
            if (!(Math.Sqrt(sigma2[c]) > cut)) continue;
            rank++;
            for (int i = 0; i < cols; i++)
            {
                double vi = vmat[i * cols + c] / sigma2[c];
                if (vi == 0) continue;
                for (int r = 0; r < rows; r++) pw[i * rows + r] += vi * w[r * cols + c];
            }
        }
        // p is n×m: pinv(A) = pinv(W) when tall, pinv(W)ᵀ when wide.
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
                p[i * m + j] = T.CreateTruncating(wide ? pw[j * rows + i] : pw[i * rows + j]);
        return rank;
    }

    /// <summary>Number of matrices in a tensor whose last two axes are the matrix axes.</summary>
    public static int BatchCount(Shape s) => s.Rank <= 2 ? 1 : s.Take(s.Rank - 2).Aggregate(1, (x, y) => x * y);

    /// <summary>
    /// For a broadcast batch (the output's leading axes), the matrix index of an operand with its own
    /// leading axes at batch position t (NumPy right-aligned broadcasting; size-1 axes repeat).
    /// </summary>
    public static int[] BroadcastBatchIndex(Shape operand, Shape output)
    {
        int outBatchRank = output.Rank - 2, opBatchRank = operand.Rank - 2;
        int count = BatchCount(output);
        var map = new int[count];
        var idx = new int[outBatchRank];
        for (int t = 0; t < count; t++)
        {
            int flat = 0;
            for (int d = 0; d < opBatchRank; d++)
            {
                int od = d + outBatchRank - opBatchRank;
                flat = flat * operand[d] + (operand[d] == 1 ? 0 : idx[od]);
            }
            map[t] = flat;
            for (int d = outBatchRank - 1; d >= 0 && ++idx[d] == output[d]; d--) idx[d] = 0;
        }
        return map;
    }
}
