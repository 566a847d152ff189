using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using JetSharp.Tensors;

namespace JetSharp.Backend;

/// <summary>Elementwise binary arithmetic; operands broadcast NumPy-style.</summary>
public enum BinaryOp
{
    /// <summary>a + b.</summary>
    Add,
    /// <summary>a - b.</summary>
    Sub,
    /// <summary>a * b.</summary>
    Mul,
    /// <summary>a / b (IEEE semantics: division by zero gives ±inf or NaN).</summary>
    Div,
}

/// <summary>Elementwise unary functions computed by <see cref="Elementwise.Unary{T}"/>.</summary>
public enum UnaryOp
{
    /// <summary>-x.</summary>
    Neg,
    /// <summary>e^x.</summary>
    Exp,
    /// <summary>Natural logarithm; NaN for x &lt; 0, -inf at 0.</summary>
    Log,
    /// <summary>sin x.</summary>
    Sin,
    /// <summary>cos x.</summary>
    Cos,
    /// <summary>tanh x.</summary>
    Tanh,
    /// <summary>1 / (1 + e^-x); saturates cleanly to 0 and 1 for large |x|.</summary>
    Sigmoid,
    /// <summary>Square root; NaN for x &lt; 0.</summary>
    Sqrt,
    /// <summary>log(1 + e^x), evaluated as max(x, 0) + log1p(e^-|x|) so it neither overflows nor loses small values.</summary>
    Softplus,
    /// <summary>max(x, 0).</summary>
    Relu,
    /// <summary>1 where x &gt; 0, else 0 (also 0 for NaN).</summary>
    Step,
}

/// <summary>One elementwise operation named by its arithmetic: a <see cref="BinaryOp"/> or a <see cref="UnaryOp"/>.</summary>
public readonly record struct ElementwiseArithmetic
{
    private ElementwiseArithmetic(BinaryOp? binary, UnaryOp? unary) => (Binary, Unary) = (binary, unary);

    /// <summary>The binary operation, or null for a unary one.</summary>
    public BinaryOp? Binary { get; }

    /// <summary>The unary operation, or null for a binary one.</summary>
    public UnaryOp? Unary { get; }

    /// <summary>Number of operands: 2 for a binary operation, 1 for a unary one.</summary>
    public int Arity => Binary is null ? 1 : 2;

    /// <summary>The binary operation <paramref name="op"/>.</summary>
    public static implicit operator ElementwiseArithmetic(BinaryOp op) => new(op, null);

    /// <summary>The unary operation <paramref name="op"/>.</summary>
    public static implicit operator ElementwiseArithmetic(UnaryOp op) => new(null, op);

    /// <inheritdoc/>
    public override string ToString() => Binary?.ToString() ?? Unary?.ToString() ?? "none";
}

/// <summary>
/// Elementwise kernels over dense row-major tensors. The result is pre-allocated by the caller and
/// completely overwritten. <see cref="Binary{T}"/> and <see cref="Unary{T}"/> may run in place
/// (result being the very object of an input of the same shape).
/// </summary>
public static class Elementwise
{
    /// <summary>Runs shorter than this are done with a plain loop: a TensorPrimitives call costs more than it saves.</summary>
    private const int SmallRun = 8;

    /// <summary>Elements per step of the ops that need scratch (kept on the stack, in L1).</summary>
    internal const int Chunk = 1024;

    /// <summary>
    /// Shortest span a chunked kernel hands a transcendental function when the whole is longer. TensorPrimitives computes a span
    /// shorter than a 128-bit vector (4 floats, 2 doubles) with the scalar function, whose last bit differs from the vector
    /// lanes' for about half of all inputs (exp), and every longer span lane by lane; so a value's bits would depend on where
    /// a chunk happened to end.
    /// </summary>
    internal const int MinSpan = 16;

    /// <summary>
    /// Start of chunk <paramref name="c"/> when <paramref name="size"/> elements are cut into ⌈size / chunk⌉ chunks of
    /// <paramref name="chunk"/> (≥ 2·<see cref="MinSpan"/>; the end when c is their number): every chunk full but the last
    /// two, the last at least <see cref="MinSpan"/> long when the whole is (a short remainder takes a few elements from the
    /// chunk before it).
    /// </summary>
    internal static int ChunkStart(int c, int size, int chunk) =>
        c <= 0 ? 0 : (long)c * chunk >= size ? size : Math.Min(c * chunk, Math.Max(0, size - MinSpan));

    /// <summary>result = a op b with NumPy broadcasting; result.Shape must be the broadcast of the two shapes.</summary>
    public static void Binary<T>(BinaryOp op, NDArray<T> a, NDArray<T> b, NDArray<T> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(result);
        switch (op)
        {
            case BinaryOp.Add: Binary<T, AddOp<T>>(op, a, b, result); break;
            case BinaryOp.Sub: Binary<T, SubOp<T>>(op, a, b, result); break;
            case BinaryOp.Mul: Binary<T, MulOp<T>>(op, a, b, result); break;
            case BinaryOp.Div: Binary<T, DivOp<T>>(op, a, b, result); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "Elementwise.Binary: unknown operation.");
        }
    }

    /// <summary>result = op(x) elementwise; shapes must match.</summary>
    public static void Unary<T>(UnaryOp op, NDArray<T> x, NDArray<T> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(result);
        if (x.Shape != result.Shape)
            throw new ArgumentException($"Elementwise.Unary({op}): result shape {result.Shape} differs from input shape {x.Shape}.");
        if ((uint)op > (uint)UnaryOp.Step)
            throw new ArgumentOutOfRangeException(nameof(op), op, "Elementwise.Unary: unknown operation.");
        T[] xs = x.Data, rs = result.Data;
        int n = xs.Length;
        if (n == 0) return;
        int pieces = Parallelism.Pieces(n, computeBound: IsTranscendental(op));
        Parallelism.Run(pieces, p =>
        {
            int s = (int)Parallelism.Start(n, pieces, p), e = (int)Parallelism.Start(n, pieces, p + 1);
            ApplyUnary(op, xs.AsSpan(s, e - s), rs.AsSpan(s, e - s));
        });
    }

    /// <summary>
    /// result = x^p. The exponents 0, 1, 2, 3, -1, -2 and 0.5 avoid pow altogether: they are
    /// products, reciprocals or a square root (so 0^-1 = ∞ and (-2)^3 = -8 come out exact rather than
    /// through exp/log), and x^0 = 1 everywhere, 0 and NaN included. Other exponents use T.Pow.
    /// </summary>
    public static void Pow<T>(NDArray<T> x, double p, NDArray<T> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(result);
        if (x.Shape != result.Shape)
            throw new ArgumentException($"Elementwise.Pow({p}): result shape {result.Shape} differs from input shape {x.Shape}.");
        T[] xs = x.Data, rs = result.Data;
        int n = xs.Length;
        if (n == 0) return;
        bool cheap = p is 0 or 1 or 2 or -1 or -2 or 3;
        int pieces = Parallelism.Pieces(n, computeBound: !cheap);
        T pt = T.CreateTruncating(p);
        Parallelism.Run(pieces, i =>
        {
            int s = (int)Parallelism.Start(n, pieces, i), e = (int)Parallelism.Start(n, pieces, i + 1);
            ApplyPow(xs.AsSpan(s, e - s), p, pt, rs.AsSpan(s, e - s));
        });
    }

    private static bool IsTranscendental(UnaryOp op) =>
        op is UnaryOp.Exp or UnaryOp.Log or UnaryOp.Sin or UnaryOp.Cos or UnaryOp.Tanh or UnaryOp.Sigmoid or UnaryOp.Softplus;

    // ---------------------------------------------------------------- binary

    private static void Binary<T, TOp>(BinaryOp op, NDArray<T> a, NDArray<T> b, NDArray<T> result)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TOp : struct, IBinaryOp<T>
    {
        CheckBroadcast(op, a.Shape, b.Shape, result.Shape);
        T[] A = a.Data, B = b.Data, R = result.Data;
        int n = R.Length;
        if (n == 0) return;

        // The common cases need no plan: equal shapes, or one side a single value (rank 0 or all ones).
        if (A.Length == n && B.Length == n)
        {
            int pieces = Parallelism.Pieces(n);
            Parallelism.Run(pieces, p =>
            {
                int s = (int)Parallelism.Start(n, pieces, p), len = (int)Parallelism.Start(n, pieces, p + 1) - s;
                TOp.VV(A.AsSpan(s, len), B.AsSpan(s, len), R.AsSpan(s, len));
            });
            return;
        }
        if (B.Length == 1 && A.Length == n)
        {
            T bv = B[0];
            int pieces = Parallelism.Pieces(n);
            Parallelism.Run(pieces, p =>
            {
                int s = (int)Parallelism.Start(n, pieces, p), len = (int)Parallelism.Start(n, pieces, p + 1) - s;
                TOp.VS(A.AsSpan(s, len), bv, R.AsSpan(s, len));
            });
            return;
        }
        if (A.Length == 1 && B.Length == n)
        {
            T av = A[0];
            int pieces = Parallelism.Pieces(n);
            Parallelism.Run(pieces, p =>
            {
                int s = (int)Parallelism.Start(n, pieces, p), len = (int)Parallelism.Start(n, pieces, p + 1) - s;
                TOp.SV(av, B.AsSpan(s, len), R.AsSpan(s, len));
            });
            return;
        }

        int rank = result.Rank;
        Span<int> d = stackalloc int[rank + 1], sa = stackalloc int[rank + 1], sb = stackalloc int[rank + 1];
        int cr = ShapeMath.CollapseBroadcast(result.Shape, a.Shape, b.Shape, d, sa, sb);
        int[] dims = d[..cr].ToArray(), stA = sa[..cr].ToArray(), stB = sb[..cr].ToArray();
        int inner = dims[cr - 1], ia = stA[cr - 1], ib = stB[cr - 1];
        int outerRank = cr - 1;
        int np = Parallelism.Pieces(n);
        Parallelism.Run(np, p =>
        {
            long s = Parallelism.Start(n, np, p), e = Parallelism.Start(n, np, p + 1);
            Span<int> idx = stackalloc int[outerRank];
            var od = new Odometer(dims.AsSpan(0, outerRank), stA.AsSpan(0, outerRank), stB.AsSpan(0, outerRank), idx, s / inner);
            int j = (int)(s % inner);
            while (s < e)
            {
                int len = (int)Math.Min(inner - j, e - s);
                Segment<T, TOp>(A, od.Off0 + j * ia, ia, B, od.Off1 + j * ib, ib, R, (int)s, len);
                s += len;
                j = 0;
                od.Next();
            }
        });
    }

    /// <summary>One inner block: each operand is contiguous (stride 1) or one repeated value (stride 0).</summary>
    private static void Segment<T, TOp>(T[] A, int oa, int ia, T[] B, int ob, int ib, T[] R, int or, int len)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TOp : struct, IBinaryOp<T>
    {
        if (len < SmallRun)
        {
            for (int t = 0; t < len; t++) R[or + t] = TOp.Scalar(A[oa + t * ia], B[ob + t * ib]);
            return;
        }
        var r = R.AsSpan(or, len);
        if (ia != 0 && ib != 0) TOp.VV(A.AsSpan(oa, len), B.AsSpan(ob, len), r);
        else if (ia != 0) TOp.VS(A.AsSpan(oa, len), B[ob], r);
        else TOp.SV(A[oa], B.AsSpan(ob, len), r);
    }

    private static void CheckBroadcast(BinaryOp op, Shape a, Shape b, Shape r)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        bool ok = r.Rank == rank;
        for (int i = 0; ok && i < rank; i++)
        {
            int da = i < rank - a.Rank ? 1 : a[i - (rank - a.Rank)];
            int db = i < rank - b.Rank ? 1 : b[i - (rank - b.Rank)];
            ok = (da == db || da == 1 || db == 1) && r[i] == (da == 1 ? db : da);
        }
        if (!ok)
            throw new ArgumentException($"Elementwise.Binary({op}): result shape {r} is not the broadcast of {a} and {b}.");
    }

    /// <summary>An operation in the three forms TensorPrimitives offers, plus a scalar form for short runs.</summary>
    private interface IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        static abstract T Scalar(T a, T b);
        static abstract void VV(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> r);
        static abstract void VS(ReadOnlySpan<T> a, T b, Span<T> r);
        static abstract void SV(T a, ReadOnlySpan<T> b, Span<T> r);
    }

    private readonly struct AddOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Scalar(T a, T b) => a + b;
        public static void VV(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> r) => TensorPrimitives.Add(a, b, r);
        public static void VS(ReadOnlySpan<T> a, T b, Span<T> r) => TensorPrimitives.Add(a, b, r);
        public static void SV(T a, ReadOnlySpan<T> b, Span<T> r) => TensorPrimitives.Add(b, a, r);
    }

    private readonly struct SubOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Scalar(T a, T b) => a - b;
        public static void VV(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> r) => TensorPrimitives.Subtract(a, b, r);
        public static void VS(ReadOnlySpan<T> a, T b, Span<T> r) => TensorPrimitives.Subtract(a, b, r);
        public static void SV(T a, ReadOnlySpan<T> b, Span<T> r) => TensorPrimitives.Subtract(a, b, r);
    }

    private readonly struct MulOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Scalar(T a, T b) => a * b;
        public static void VV(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> r) => TensorPrimitives.Multiply(a, b, r);
        public static void VS(ReadOnlySpan<T> a, T b, Span<T> r) => TensorPrimitives.Multiply(a, b, r);
        public static void SV(T a, ReadOnlySpan<T> b, Span<T> r) => TensorPrimitives.Multiply(b, a, r);
    }

    private readonly struct DivOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Scalar(T a, T b) => a / b;
        public static void VV(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> r) => TensorPrimitives.Divide(a, b, r);
        // Division, not multiplication by 1/b: the reciprocal would round twice and differ from a / b.
        public static void VS(ReadOnlySpan<T> a, T b, Span<T> r) => TensorPrimitives.Divide(a, b, r);
        public static void SV(T a, ReadOnlySpan<T> b, Span<T> r) => TensorPrimitives.Divide(a, b, r);
    }

    // ---------------------------------------------------------------- unary

    /// <summary>r = op(x) over one span (the kernel of every unary primitive; compiled code calls it too).</summary>
    internal static void ApplyUnary<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> r)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, r); break;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, r); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, r); break;
            case UnaryOp.Sin: TensorPrimitives.Sin(x, r); break;
            case UnaryOp.Cos: TensorPrimitives.Cos(x, r); break;
            case UnaryOp.Tanh: Transcendental.Tanh(x, r); break;
            // TensorPrimitives computes 1 / (1 + e^-x): e^-x overflowing to +inf gives exactly 0 and
            // underflowing gives exactly 1, so there is no inf/inf or NaN at large |x|.
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, r); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, r); break;
            case UnaryOp.Softplus: Transcendental.Softplus(x, r); break;
            case UnaryOp.Relu: TensorPrimitives.Max(x, T.Zero, r); break;
            case UnaryOp.Step: Transcendental.Step(x, r); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unary kernel: unknown operation.");
        }
    }

    private static void ApplyPow<T>(ReadOnlySpan<T> x, double p, T pt, Span<T> r)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (p)
        {
            case 0: r.Fill(T.One); break;
            case 1: x.CopyTo(r); break;
            case 2: TensorPrimitives.Multiply(x, x, r); break;
            case -1: TensorPrimitives.Reciprocal(x, r); break;
            case -2:
                TensorPrimitives.Multiply(x, x, r);
                TensorPrimitives.Reciprocal(r, r);
                break;
            case 0.5: TensorPrimitives.Sqrt(x, r); break;
            case 3:
                // x*x goes to scratch: r may be x itself, which is still needed for the third factor.
                Span<T> sq = stackalloc T[Chunk];
                for (int s = 0; s < x.Length; s += Chunk)
                {
                    int len = Math.Min(Chunk, x.Length - s);
                    TensorPrimitives.Multiply(x.Slice(s, len), x.Slice(s, len), sq[..len]);
                    TensorPrimitives.Multiply(sq[..len], x.Slice(s, len), r.Slice(s, len));
                }
                break;
            default: TensorPrimitives.Pow(x, pt, r); break;
        }
    }

    internal static void Copy<T>(T[] src, T[] dst) where T : unmanaged
    {
        int n = src.Length;
        int pieces = Parallelism.Pieces(n);
        Parallelism.Run(pieces, p =>
        {
            int s = (int)Parallelism.Start(n, pieces, p), len = (int)Parallelism.Start(n, pieces, p + 1) - s;
            src.AsSpan(s, len).CopyTo(dst.AsSpan(s, len));
        });
    }
}
