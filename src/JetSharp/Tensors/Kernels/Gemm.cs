namespace JetSharp.Kernels;

// Interim reference GEMM (triple loop) so the library builds while the blocked kernel is written.
public enum GemmProvider { Managed, OpenBlas, Naive }

public static class Gemm
{
    public static GemmProvider Provider { get; set; }
    public static bool OpenBlasAvailable => false;

    public static void Multiply<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        T[] a, int offA, int lda, T[] b, int offB, int ldb, T beta, T[] c, int offC, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                T s = T.Zero;
                for (int p = 0; p < k; p++)
                    s += a[offA + (transA ? p * lda + i : i * lda + p)] * b[offB + (transB ? j * ldb + p : p * ldb + j)];
                ref T cij = ref c[offC + i * ldc + j];
                cij = beta == T.Zero ? alpha * s : alpha * s + beta * cij;
            }
    }

    public static void MultiplyBatched<T>(int batch, bool transA, bool transB, int m, int n, int k, T alpha,
        T[] a, int offA, int lda, long strideA, T[] b, int offB, int ldb, long strideB, T beta, T[] c, int offC, int ldc, long strideC)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int t = 0; t < batch; t++)
            Multiply(transA, transB, m, n, k, alpha, a, (int)(offA + t * strideA), lda, b, (int)(offB + t * strideB), ldb, beta, c, (int)(offC + t * strideC), ldc);
    }
}
