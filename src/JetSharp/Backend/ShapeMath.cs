using JetSharp.Tensors;

namespace JetSharp.Backend;

/// <summary>Shape bookkeeping shared by the kernels.</summary>
internal static class ShapeMath
{
    /// <summary>
    /// Describes <paramref name="outShape"/> as a loop nest over at most two broadcast operands,
    /// with axes of extent 1 dropped and adjacent axes merged wherever both operands step through
    /// them as one (jointly contiguous, or jointly repeated). Entries are written outermost first;
    /// the innermost stride of each operand is then 0 (a repeated scalar) or 1 (contiguous), which
    /// is what lets the inner block go to TensorPrimitives. Returns the collapsed rank (at least 1).
    /// Spans must hold outShape.Rank + 1 entries.
    /// </summary>
    public static int CollapseBroadcast(Shape outShape, Shape a, Shape b, Span<int> dims, Span<int> sa, Span<int> sb)
    {
        int rank = outShape.Rank, offA = rank - a.Rank, offB = rank - b.Rank;
        int n = 0, accA = 1, accB = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            int d = outShape[i];
            int da = i >= offA ? a[i - offA] : 1;
            int db = i >= offB ? b[i - offB] : 1;
            int ta = da == 1 ? 0 : accA;
            int tb = db == 1 ? 0 : accB;
            accA *= da;
            accB *= db;
            if (d == 1) continue;
            if (n > 0 && ta == sa[n - 1] * dims[n - 1] && tb == sb[n - 1] * dims[n - 1])
            {
                dims[n - 1] *= d;
                continue;
            }
            dims[n] = d;
            sa[n] = ta;
            sb[n] = tb;
            n++;
        }
        if (n == 0)
        {
            dims[0] = 1;
            sa[0] = 0;
            sb[0] = 0;
            n = 1;
        }
        dims[..n].Reverse();
        sa[..n].Reverse();
        sb[..n].Reverse();
        return n;
    }

    public static void RowMajorStrides(ReadOnlySpan<int> dims, Span<int> strides)
    {
        int acc = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            strides[i] = acc;
            acc *= dims[i];
        }
    }
}
