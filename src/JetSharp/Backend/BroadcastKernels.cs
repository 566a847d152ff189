using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using JetSharp.Tensors;

namespace JetSharp.Backend;

/// <summary>Elementwise functions of two operands beyond <see cref="BinaryOp"/>.</summary>
public enum MathBinary
{
    /// <summary>aᵇ.</summary>
    Pow,
    /// <summary>atan2(a, b): the angle of the point (b, a).</summary>
    Atan2,
    /// <summary>√(a² + b²) without overflow.</summary>
    Hypot,
    /// <summary>max(a, b).</summary>
    Maximum,
    /// <summary>min(a, b).</summary>
    Minimum,
    /// <summary>The weight of a in max(a, b): 1 if a &gt; b, ½ if a = b, 0 if a &lt; b.</summary>
    MaxWeight,
    /// <summary>1 if a &lt; b, else 0.</summary>
    Less,
    /// <summary>1 if a ≤ b, else 0.</summary>
    LessEqual,
    /// <summary>1 if a &gt; b, else 0.</summary>
    Greater,
    /// <summary>1 if a ≥ b, else 0.</summary>
    GreaterEqual,
    /// <summary>1 if a = b, else 0.</summary>
    Equal,
    /// <summary>1 if a ≠ b, else 0.</summary>
    NotEqual,
}

/// <summary>
/// Kernels whose operands broadcast NumPy-style to the result: operands of another shape are first
/// expanded into a scratch tensor, then the function runs over contiguous equal-length spans (SIMD through
/// TensorPrimitives where it has the function), in parallel pieces.
/// </summary>
internal static class BroadcastKernels
{
    /// <summary>x itself when it already has <paramref name="shape"/>, else a new tensor holding its broadcast.</summary>
    public static NDArray<T> Expand<T>(NDArray<T> x, Shape shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Shape == shape) return x;
        var r = new NDArray<T>(shape);
        Layout.BroadcastTo(x, r);
        return r;
    }

    /// <summary>result = op(a, b) with broadcasting.</summary>
    public static void Binary<T>(MathBinary op, NDArray<T> a, NDArray<T> b, NDArray<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] A = Expand(a, result.Shape).Data, B = Expand(b, result.Shape).Data, R = result.Data;
        int n = R.Length;
        if (n == 0) return;
        int pieces = Parallelism.Pieces(n, computeBound: op is MathBinary.Pow or MathBinary.Atan2 or MathBinary.Hypot);
        Parallelism.Run(pieces, p =>
        {
            int s = (int)Parallelism.Start(n, pieces, p), len = (int)Parallelism.Start(n, pieces, p + 1) - s;
            Apply(op, A.AsSpan(s, len), B.AsSpan(s, len), R.AsSpan(s, len));
        });
    }

    private static void Apply<T>(MathBinary op, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case MathBinary.Pow: TensorPrimitives.Pow(a, b, r); break;
            case MathBinary.Atan2: TensorPrimitives.Atan2(a, b, r); break;
            case MathBinary.Hypot: TensorPrimitives.Hypot(a, b, r); break;
            case MathBinary.Maximum: TensorPrimitives.Max(a, b, r); break;
            case MathBinary.Minimum: TensorPrimitives.Min(a, b, r); break;
            case MathBinary.MaxWeight:
                T half = T.CreateTruncating(0.5);
                for (int i = 0; i < r.Length; i++) r[i] = a[i] > b[i] ? T.One : a[i] == b[i] ? half : T.Zero;
                break;
            case MathBinary.Less: for (int i = 0; i < r.Length; i++) r[i] = a[i] < b[i] ? T.One : T.Zero; break;
            case MathBinary.LessEqual: for (int i = 0; i < r.Length; i++) r[i] = a[i] <= b[i] ? T.One : T.Zero; break;
            case MathBinary.Greater: for (int i = 0; i < r.Length; i++) r[i] = a[i] > b[i] ? T.One : T.Zero; break;
            case MathBinary.GreaterEqual: for (int i = 0; i < r.Length; i++) r[i] = a[i] >= b[i] ? T.One : T.Zero; break;
            case MathBinary.Equal: for (int i = 0; i < r.Length; i++) r[i] = a[i] == b[i] ? T.One : T.Zero; break;
            case MathBinary.NotEqual: for (int i = 0; i < r.Length; i++) r[i] = a[i] != b[i] ? T.One : T.Zero; break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "BroadcastKernels.Binary: unknown operation.");
        }
    }

    /// <summary>result = cond ≠ 0 ? a : b, all three broadcast to the result (NaN in cond counts as true).</summary>
    public static void Where<T>(NDArray<T> cond, NDArray<T> a, NDArray<T> b, NDArray<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] C = Expand(cond, result.Shape).Data, A = Expand(a, result.Shape).Data, B = Expand(b, result.Shape).Data, R = result.Data;
        int n = R.Length;
        if (n == 0) return;
        int pieces = Parallelism.Pieces(n);
        Parallelism.Run(pieces, p =>
        {
            int s = (int)Parallelism.Start(n, pieces, p), e = (int)Parallelism.Start(n, pieces, p + 1);
            for (int i = s; i < e; i++) R[i] = C[i] != T.Zero ? A[i] : B[i];
        });
    }
}
