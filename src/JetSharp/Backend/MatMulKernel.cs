using JetSharp.Tensors;

namespace JetSharp.Backend;

/// <summary>
/// Batched matrix products on tensors, mapped onto <see cref="Gemm"/>. Batch axes broadcast like
/// NumPy. When the right operand is shared by every batch entry and the left one is not transposed,
/// the batch is folded into the rows, so [R, N, H]·[H, K] runs as one (R·N)×H·H×K GEMM.
/// </summary>
internal static class MatMulKernel
{
    /// <summary>
    /// c = op(a)·op(b) over the broadcast batch axes, where op transposes the last two axes when
    /// <paramref name="transA"/> / <paramref name="transB"/> is set. <paramref name="c"/> is
    /// pre-allocated with the result shape (batch axes + [m, n]) and completely overwritten.
    /// </summary>
    public static void Run<T>(NDArray<T> a, NDArray<T> b, bool transA, bool transB, NDArray<T> c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Shape sa = a.Shape, sb = b.Shape, sc = c.Shape;
        int m = sc[^2], n = sc[^1], k = transA ? sa[^2] : sa[^1];
        int lda = sa[^1], ldb = sb[^1];
        int batchRank = sc.Rank - 2;
        int batchA = sa.Size / (sa[^1] * sa[^2] == 0 ? 1 : sa[^1] * sa[^2]);
        int batchB = sb.Size / (sb[^1] * sb[^2] == 0 ? 1 : sb[^1] * sb[^2]);
        int batch = 1;
        for (int i = 0; i < batchRank; i++) batch *= sc[i];
        if (c.Size == 0) return;
        if (k == 0) { Array.Clear(c.Data); return; }

        if (batchB == 1 && !transA && batchA == batch)
        {
            Gemm.Multiply(false, transB, batch * m, n, k, T.One, a.Data, 0, lda, b.Data, 0, ldb, T.Zero, c.Data, 0, n);
            return;
        }

        // General case: walk the broadcast batch index and locate each operand's matrix.
        var batchShape = new Shape(sc.ToArray()[..batchRank]);
        var strideA = BatchStrides(sa, batchShape);
        var strideB = BatchStrides(sb, batchShape);
        if (IsUniform(strideA, batchShape, out long sA) && IsUniform(strideB, batchShape, out long sB))
        {
            Gemm.MultiplyBatched(batch, transA, transB, m, n, k, T.One, a.Data, 0, lda, sA, b.Data, 0, ldb, sB, T.Zero, c.Data, 0, n, (long)m * n);
            return;
        }
        var index = new int[batchRank];
        for (int t = 0; t < batch; t++)
        {
            long offA = 0, offB = 0;
            for (int d = 0; d < batchRank; d++) { offA += index[d] * strideA[d]; offB += index[d] * strideB[d]; }
            Gemm.Multiply(transA, transB, m, n, k, T.One, a.Data, (int)offA, lda, b.Data, (int)offB, ldb, T.Zero, c.Data, t * m * n, n);
            for (int d = batchRank - 1; d >= 0 && ++index[d] == batchShape[d]; d--) index[d] = 0;
        }
    }

    /// <summary>
    /// Whether <see cref="RunWithEpilogue{T}"/> can run this product: A not transposed and not broadcast over the batch, B one
    /// matrix shared by every batch entry, so the batch folds into the rows of one GEMM whose C is the output, row by row.
    /// </summary>
    public static bool FoldsIntoOneProduct(Shape a, Shape b, bool transA, Shape c) =>
        !transA && b.Size == b[^1] * b[^2] && a.Size / Math.Max(1, a[^1] * a[^2]) == c.Size / Math.Max(1, c[^1] * c[^2]) && c.Size > 0;

    /// <summary>c = a·op(b) as one GEMM (see <see cref="FoldsIntoOneProduct"/>), with <paramref name="epilogue"/> run on c as it is finished.</summary>
    public static void RunWithEpilogue<T>(NDArray<T> a, NDArray<T> b, bool transB, NDArray<T> c, GemmEpilogue<T> epilogue) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!FoldsIntoOneProduct(a.Shape, b.Shape, false, c.Shape))
            throw new ShapeException($"matmul with epilogue: {a.Shape}·{(transB ? "ᵀ" : "")}{b.Shape} → {c.Shape} does not fold into one product.");
        int n = c.Shape[^1], k = a.Shape[^1];
        Gemm.MultiplyWithEpilogue(transB, c.Size / n, n, k, a.Data, k, b.Data, b.Shape[^1], c.Data, epilogue);
    }

    /// <summary>
    /// c[i] = a[i]·op(b) for every i, each folding into one product (see <see cref="FoldsIntoOneProduct"/>) by the same b:
    /// one <see cref="Gemm.MultiplyStacked{T}"/>, each c[i] the bits of its own <see cref="Run{T}"/>.
    /// </summary>
    /// <remarks>
    /// A non-null <paramref name="factors"/>[i] makes item i's left operand a[i] ⊙ factors[i] (NumPy broadcasting, the last
    /// axes equal), multiplied as the GEMM reads it (<see cref="GemmFactor{T}"/>) when each factor's rows are a
    /// <see cref="GemmRowMap"/> of the operand's (<see cref="RowMapOf"/>), else multiplied out first. <paramref name="unchangingB"/>:
    /// b is a graph constant, whose packed form the GEMM may keep between calls.
    /// </remarks>
    public static void RunStacked<T>(NDArray<T>[] a, NDArray<T>?[] factors, NDArray<T> b, bool transB, NDArray<T>[] c, bool unchangingB = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.Length != c.Length || factors.Length != c.Length)
            throw new ArgumentException($"matmul (stacked): {a.Length} left operands and {factors.Length} factors for {c.Length} outputs.");
        int k = transB ? b.Shape[^1] : b.Shape[^2], n = transB ? b.Shape[^2] : b.Shape[^1];
        var items = new StackedRows<T>[a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            var f = factors[i];
            var left = f is null ? a[i].Shape : Shape.Broadcast(a[i].Shape, f.Shape, "matmul (stacked, factored left operand)");
            if (!FoldsIntoOneProduct(left, b.Shape, false, c[i].Shape) || left[^1] != k || c[i].Shape[^1] != n)
                throw new ShapeException($"matmul (stacked): {left}·{(transB ? "ᵀ" : "")}{b.Shape} → {c[i].Shape} does not fold into one product.");
            if (f is null)
                items[i] = new StackedRows<T>(a[i].Data, c[i].Size / n, c[i].Data);
            else if (RowMapOf(a[i].Shape, left) is { } mapA && RowMapOf(f.Shape, left) is { } mapY)
                items[i] = new StackedRows<T>(a[i].Data, c[i].Size / n, c[i].Data) { Factor = new GemmFactor<T>(mapA, f.Data, mapY) };
            else
            {
                var product = new NDArray<T>(left);
                Elementwise.Binary(BinaryOp.Mul, a[i], f, product);
                items[i] = new StackedRows<T>(product.Data, c[i].Size / n, c[i].Data);
            }
        }
        Gemm.MultiplyStacked(transB, n, k, b.Data, b.Shape[^1], items, unchangingB);
    }

    /// <summary>
    /// The rows of <paramref name="operand"/> (broadcast NumPy-style to <paramref name="full"/>, its last axis equal) that feed
    /// each row of <paramref name="full"/> as a [rows, last] matrix: (i / Div) mod Mod, which holds when the leading axes the
    /// operand keeps (those longer than 1 in <paramref name="full"/>) are adjacent; null otherwise (e.g. [A, 1, C, k] against
    /// [A, B, C, k]) or when the last axes differ.
    /// </summary>
    public static GemmRowMap? RowMapOf(Shape operand, Shape full)
    {
        if (operand.Rank == 0 || operand.Rank > full.Rank || operand[^1] != full[^1]) return null;
        int offset = full.Rank - operand.Rank;
        long div = 1, mod = 1;
        bool kept = false, closed = false;   // a kept axis seen; a broadcast axis seen before it (looking from the right)
        for (int d = full.Rank - 2; d >= 0; d--)
        {
            if (full[d] == 1) continue;
            int own = d >= offset ? operand[d - offset] : 1;
            if (own == full[d])
            {
                if (closed) return null;
                kept = true;
                mod *= full[d];
            }
            else if (own == 1)
            {
                if (kept) closed = true;
                else div *= full[d];
            }
            else return null;
        }
        return div > int.MaxValue ? null : new GemmRowMap((int)div, (int)Math.Min(mod, int.MaxValue));
    }

    /// <summary>Element stride of each broadcast batch axis in an operand (0 where the operand is broadcast).</summary>
    private static long[] BatchStrides(Shape s, Shape batch)
    {
        var strides = new long[batch.Rank];
        int own = s.Rank - 2, offset = batch.Rank - own;
        long acc = (long)s[^1] * s[^2];
        for (int d = batch.Rank - 1; d >= 0; d--)
        {
            int od = d - offset;
            if (od < 0) continue;
            strides[d] = s[od] == 1 ? 0 : acc;
            acc *= s[od];
        }
        return strides;
    }

    /// <summary>True when the batch index maps to offsets t·stride (contiguous batch or one shared matrix).</summary>
    private static bool IsUniform(long[] strides, Shape batch, out long stride)
    {
        stride = 0;
        if (strides.All(s => s == 0)) return true;
        long expected = -1;
        for (int d = batch.Rank - 1; d >= 0; d--)
        {
            if (batch[d] == 1) continue;
            if (expected < 0) { expected = strides[d]; stride = strides[d]; }
            if (strides[d] != expected) return false;
            expected *= batch[d];
        }
        return true;
    }
}
