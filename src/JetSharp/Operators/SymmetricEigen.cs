namespace JetSharp.Operators;

/// <summary>Eigendecomposition of a small symmetric matrix by cyclic Jacobi rotations (accurate to rounding; O(n³) per sweep).</summary>
internal static class SymmetricEigen
{
    /// <summary>Eigenvalues λ and eigenvectors (columns of Q) with A = Q diag(λ) Qᵀ.</summary>
    public static (double[] Values, double[,] Vectors) Decompose(double[,] a)
    {
        int n = a.GetLength(0);
        var m = (double[,])a.Clone();
        var q = new double[n, n];
        for (int i = 0; i < n; i++) q[i, i] = 1;
        // Convergence is judged relative to ‖A‖²: an absolute threshold stops too early for small A
        // (entries ~1e-9 kept off-diagonals ~1e-15, a 1e-6 relative error) and never for large A.
        double total = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) total += a[i, j] * a[i, j];
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++) off += m[i, j] * m[i, j];
            if (off <= 1e-30 * total) break;
            for (int p = 0; p < n; p++)
                for (int r = p + 1; r < n; r++)
                {
                    if (m[p, r] == 0) continue;
                    double theta = (m[r, r] - m[p, p]) / (2 * m[p, r]);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double mkp = m[k, p], mkr = m[k, r];
                        m[k, p] = c * mkp - s * mkr;
                        m[k, r] = s * mkp + c * mkr;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double mpk = m[p, k], mrk = m[r, k];
                        m[p, k] = c * mpk - s * mrk;
                        m[r, k] = s * mpk + c * mrk;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double qkp = q[k, p], qkr = q[k, r];
                        q[k, p] = c * qkp - s * qkr;
                        q[k, r] = s * qkp + c * qkr;
                    }
                }
        }
        return ([.. Enumerable.Range(0, n).Select(i => m[i, i])], q);
    }
}
