using JetSharp.Primitives.LinearAlgebra;
using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>
/// Dense linear algebra on graphs. Matrices are the last two axes; leading axes are a batch (for the
/// two-operand <see cref="SolveTriangular"/>, broadcast NumPy-style). Conventions:
/// <list type="bullet">
/// <item><see cref="Qr"/> is the reduced Householder QR with diag(R) ≥ 0.</item>
/// <item><see cref="Cholesky"/> factors the symmetric part ½(A + Aᵀ) (so it and its derivatives are
///   defined for every square input); L is lower triangular with a positive diagonal.</item>
/// <item><see cref="SolveTriangular"/> reads only the named triangle of its matrix.</item>
/// <item><see cref="Tria"/> returns a lower-triangular R with R·Rᵀ = A·Aᵀ (R = chol(A·Aᵀ) when A has full
///   row rank); its derivative is the Gramian rule (see <see cref="TriaOp"/>).</item>
/// </list>
/// </summary>
public static partial class Linalg
{
    /// <summary>Swaps the last two axes.</summary>
    public static Node MatrixTranspose(Node x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 2) throw new ShapeException($"matrix transpose: expected rank ≥ 2, got {x.Shape}.");
        var perm = Enumerable.Range(0, x.Rank).ToArray();
        (perm[^1], perm[^2]) = (perm[^2], perm[^1]);
        return Fn.Transpose(x, perm);
    }

    /// <summary>Entries below, on and above the diagonal scaled by the three weights (see <see cref="TriangularMaskOp"/>).</summary>
    public static Node Mask(Node x, double lower, double diagonal, double upper)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Graph.Apply(new TriangularMaskOp(lower, diagonal, upper), x);
    }

    /// <summary>Lower triangle (with the diagonal unless <paramref name="strict"/>).</summary>
    public static Node Tril(Node x, bool strict = false) => Mask(x, 1, strict ? 0 : 1, 0);

    /// <summary>Upper triangle (with the diagonal unless <paramref name="strict"/>).</summary>
    public static Node Triu(Node x, bool strict = false) => Mask(x, 0, strict ? 0 : 1, 1);

    /// <summary>Φ(X): the strictly lower triangle plus half the diagonal (the Cholesky derivative's projection).</summary>
    public static Node Phi(Node x) => Mask(x, 1, 0.5, 0);

    /// <summary>The diagonal entries of each matrix as a vector [..., min(m, n)].</summary>
    public static Node Diagonal(Node x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 2) throw new ShapeException($"diagonal: expected a matrix or a batch of matrices (rank ≥ 2), got {x.Shape}.");
        int m = x.Shape[^2], n = x.Shape[^1];
        var d = Fn.Sum(Mask(x, 0, 1, 0), -1);
        return m <= n ? d : Fn.Slice(d, -1, 0, n);
    }

    /// <summary>The n×n identity as a constant of the graph.</summary>
    public static Node Eye(Graph g, int n)
    {
        ArgumentNullException.ThrowIfNull(g);
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, $"eye: the size must be ≥ 0, got {n}.");
        return g.Constant(NDArray.Identity<double>(n));
    }

    /// <summary>Reduced QR (Householder, diag(R) ≥ 0): Q [..., m, k], R [..., k, n], k = min(m, n).</summary>
    public static (Node Q, Node R) Qr(Node a) => (QrQ(a), QrR(a));

    /// <summary>The orthonormal factor of <see cref="Qr"/>.</summary>
    public static Node QrQ(Node a) => (a ?? throw new ArgumentNullException(nameof(a))).Graph.Apply(new QrOp(QrPart.Q), a);

    /// <summary>The triangular factor of <see cref="Qr"/>.</summary>
    public static Node QrR(Node a) => (a ?? throw new ArgumentNullException(nameof(a))).Graph.Apply(new QrOp(QrPart.R), a);

    /// <summary>Lower Cholesky factor L of ½(A + Aᵀ): L·Lᵀ = A for symmetric positive-definite A.</summary>
    public static Node Cholesky(Node a) => (a ?? throw new ArgumentNullException(nameof(a))).Graph.Apply(CholeskyOp.Instance, a);

    /// <summary>
    /// X with op(A)·X = B, A triangular (only its lower, or upper, triangle is read), op(A) = Aᵀ when
    /// <paramref name="transpose"/>. A [..., n, n], B [..., n, k]; batch axes broadcast.
    /// </summary>
    public static Node SolveTriangular(Node a, Node b, bool lower = true, bool transpose = false) =>
        Fn.Apply(new TriangularSolveOp(lower, transpose), a ?? throw new ArgumentNullException(nameof(a)), b ?? throw new ArgumentNullException(nameof(b)));

    /// <summary>X with X·op(A) = B (a right-hand solve, by transposing a left-hand one).</summary>
    public static Node SolveTriangularRight(Node b, Node a, bool lower = true, bool transpose = false)
    {
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(a);
        return MatrixTranspose(SolveTriangular(a, MatrixTranspose(b), lower, !transpose));
    }

    /// <summary>
    /// Triangularization: lower-triangular R [..., m, m] with R·Rᵀ = A·Aᵀ for any A [..., m, n] (wide,
    /// square or tall, any rank), computed from a QR of Aᵀ. Differentiated by the Gramian rule, which is
    /// exact for everything that depends on A through A·Aᵀ.
    /// </summary>
    public static Node Tria(Node a) => (a ?? throw new ArgumentNullException(nameof(a))).Graph.Apply(TriaOp.Instance, a);

    /// <summary>
    /// Moore–Penrose pseudoinverse [..., n, m] of A [..., m, n]; singular values ≤ rcond·σ_max count as
    /// zero (default rcond: 10·max(m, n)·ε of the dtype).
    /// </summary>
    public static Node Pinv(Node a, double? rcond = null) => (a ?? throw new ArgumentNullException(nameof(a))).Graph.Apply(new PinvOp(rcond), a);

    /// <summary>log|det T| of triangular matrices: Σ log|T_ii| over the last two axes, shape [...].</summary>
    public static Node LogAbsDetTriangular(Node t) =>
        Fn.Sum(Fn.Log(Fn.Square(Diagonal(t ?? throw new ArgumentNullException(nameof(t))))), -1) * 0.5;
}
