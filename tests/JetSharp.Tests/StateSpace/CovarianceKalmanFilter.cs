namespace JetSharp.Tests.StateSpace;

/// <summary>
/// The textbook covariance-form Kalman filter in plain doubles, the reference for the square-root
/// filter: P⁻ = F·P·Fᵀ + Q, S = H·P⁻·Hᵀ + R, K = P⁻·Hᵀ·S⁻¹, m = m⁻ + K·(y − H·m⁻),
/// P = (I − K·H)·P⁻·(I − K·H)ᵀ + K·R·Kᵀ (Joseph form), log-likelihood Σ log N(y; H·m⁻, S).
/// </summary>
internal static class CovarianceKalmanFilter
{
    public sealed record Result(double[][] Means, double[][,] Covariances, double LogLikelihood);

    public static Result Run(double[,] f, double[,] h, double[,] q, double[,] r, double[] m0, double[,] p0, double[][] ys)
    {
        int dx = m0.Length, dy = ys[0].Length;
        var m = (double[])m0.Clone();
        var p = (double[,])p0.Clone();
        double ll = 0;
        var means = new double[ys.Length][];
        var covs = new double[ys.Length][,];
        for (int t = 0; t < ys.Length; t++)
        {
            var mp = Mv(f, m);
            var pp = Add(Mul(Mul(f, p), Tr(f)), q);
            var e = new double[dy];
            var hm = Mv(h, mp);
            for (int i = 0; i < dy; i++) e[i] = ys[t][i] - hm[i];
            var s = Add(Mul(Mul(h, pp), Tr(h)), r);
            var sInv = Inverse(s, out double logDet);
            var sie = Mv(sInv, e);
            double quad = 0;
            for (int i = 0; i < dy; i++) quad += e[i] * sie[i];
            ll += -0.5 * quad - 0.5 * logDet - 0.5 * dy * Math.Log(2 * Math.PI);
            var k = Mul(Mul(pp, Tr(h)), sInv);
            var ke = Mv(k, e);
            m = new double[dx];
            for (int i = 0; i < dx; i++) m[i] = mp[i] + ke[i];
            var ikh = Mul(k, h);
            for (int i = 0; i < dx; i++)
                for (int j = 0; j < dx; j++) ikh[i, j] = (i == j ? 1 : 0) - ikh[i, j];
            p = Add(Mul(Mul(ikh, pp), Tr(ikh)), Mul(Mul(k, r), Tr(k)));
            means[t] = m;
            covs[t] = p;
        }
        return new Result(means, covs, ll);
    }

    public static double[,] Mul(double[,] a, double[,] b)
    {
        int n = a.GetLength(0), k = a.GetLength(1), c = b.GetLength(1);
        var r = new double[n, c];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += a[i, p] * b[p, j];
                r[i, j] = s;
            }
        return r;
    }

    public static double[,] Tr(double[,] a)
    {
        var r = new double[a.GetLength(1), a.GetLength(0)];
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++) r[j, i] = a[i, j];
        return r;
    }

    public static double[,] Add(double[,] a, double[,] b)
    {
        var r = (double[,])a.Clone();
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++) r[i, j] += b[i, j];
        return r;
    }

    public static double[,] Gram(double[,] l) => Mul(l, Tr(l));

    private static double[] Mv(double[,] a, double[] x)
    {
        var r = new double[a.GetLength(0)];
        for (int i = 0; i < r.Length; i++)
            for (int j = 0; j < x.Length; j++) r[i] += a[i, j] * x[j];
        return r;
    }

    /// <summary>Inverse of a symmetric positive-definite matrix by Gauss–Jordan with partial pivoting, and log det.</summary>
    private static double[,] Inverse(double[,] a, out double logDet)
    {
        int n = a.GetLength(0);
        var w = (double[,])a.Clone();
        var inv = new double[n, n];
        for (int i = 0; i < n; i++) inv[i, i] = 1;
        logDet = 0;
        for (int c = 0; c < n; c++)
        {
            int piv = c;
            for (int i = c + 1; i < n; i++) if (Math.Abs(w[i, c]) > Math.Abs(w[piv, c])) piv = i;
            if (piv != c)
                for (int j = 0; j < n; j++) { (w[c, j], w[piv, j]) = (w[piv, j], w[c, j]); (inv[c, j], inv[piv, j]) = (inv[piv, j], inv[c, j]); }
            double d = w[c, c];
            logDet += Math.Log(Math.Abs(d));
            for (int j = 0; j < n; j++) { w[c, j] /= d; inv[c, j] /= d; }
            for (int i = 0; i < n; i++)
            {
                if (i == c) continue;
                double s = w[i, c];
                for (int j = 0; j < n; j++) { w[i, j] -= s * w[c, j]; inv[i, j] -= s * inv[c, j]; }
            }
        }
        return inv;
    }
}
