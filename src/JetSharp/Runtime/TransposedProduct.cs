using JetSharp.Backend;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Tensors;

namespace JetSharp.Runtime;

/// <summary>
/// A product of a few rows by a constant matrix, run transposed: C = A·op(W) as Cᵀ = op(W)ᵀ·Aᵀ, with op(W)ᵀ laid out
/// row-major once per executable. The GEMM reads its left operand in place and packs its right one on every call; with
/// A of m ≤ <see cref="MaxRows"/> rows and a [k, n] weight, packing the k·n weight costs about as much as the m·k·n
/// multiply-adds (one core, `bench gemm --cpu-time`: 32×768×768 at 62–71 % of the FMA peak, float32 and float64). Run
/// transposed, the weight is the operand read in place and only A's k·m elements are packed (768×768×32: 84–97 %).
/// Cᵀ [n, m] goes to a per-thread workspace and is transposed into C, m·n elements against m·k·n multiply-adds.
/// </summary>
/// <remarks>
/// Only shapes whose rows and columns are multiples of <see cref="Alignment"/> qualify, so the result is the untransposed
/// product's bits. The primal and collapsed products of a collapsed Taylor graph ([N, width] and [1, N, width] by each layer's weight)
/// are such products.
/// </remarks>
internal sealed class TransposedProduct
{
    /// <summary>Most rows (all batch axes folded) a product may have to run transposed.</summary>
    public const int MaxRows = 64;

    /// <summary>
    /// Rows and columns must be multiples of this: a multiple of the register tile's width on every GEMM path (NR = 8–32
    /// elements), so neither orientation has right-edge columns, whose kernels sum in another order. Each element is
    /// then the same multiply-add chain over k either way, and the managed GEMM gives the untransposed product's bits
    /// (a batch chunked into fewer rows gives the unchunked result exactly; OpenBLAS, when chosen, may round otherwise).
    /// </summary>
    public const int Alignment = 32;

    private readonly PreparedWeight _weight;

    private TransposedProduct(PreparedWeight weight, int rows, int n, int k)
    {
        _weight = weight;
        (Rows, N, K) = (rows, n, k);
    }

    /// <summary>Rows of A (and C) with the batch axes folded in.</summary>
    public int Rows { get; }
    /// <summary>Columns of C.</summary>
    public int N { get; }
    /// <summary>The contracted extent.</summary>
    public int K { get; }

    /// <summary>
    /// The products among <paramref name="nodes"/> to run transposed: a matmul with A not transposed, a rank-2 constant
    /// right operand shared by every batch item, at most <see cref="MaxRows"/> rows, at least twice as many columns as rows
    /// (so the transposed product is the taller one), both multiples of <see cref="Alignment"/>, and 8 ≤ k &lt; <see
    /// cref="LongKGemm.MinK"/> (from there the GEMM may split k over threads in one orientation and not the other, which
    /// would change the rounding). Products of one weight share its prepared layout.
    /// </summary>
    public static Dictionary<Node, TransposedProduct> Plan(IEnumerable<Node> nodes)
    {
        var plan = new Dictionary<Node, TransposedProduct>();
        var weights = new Dictionary<(Node, bool), PreparedWeight>();
        foreach (var node in nodes)
        {
            if (node.Op is not MatMulOp { TransposeA: false } mm) continue;
            Node a = node.InputArray[0], w = node.InputArray[1];
            if (w.Op is not ConstantOp { Value: not null } || w.Rank != 2 || a.Rank < 2
                || !MatMulKernel.FoldsIntoOneProduct(a.Shape, w.Shape, false, node.Shape)) continue;
            int n = node.Shape[^1], k = a.Shape[^1];
            long rows = n == 0 ? 0 : node.Shape.Size / n;
            if (rows < 1 || rows > MaxRows || n < 2 * rows || k < 8 || k >= LongKGemm.MinK || rows % Alignment != 0 || n % Alignment != 0) continue;
            if (!weights.TryGetValue((w, mm.TransposeB), out var prepared))
                weights[(w, mm.TransposeB)] = prepared = new PreparedWeight((ConstantOp)w.Op, mm.TransposeB, n, k);
            plan[node] = new TransposedProduct(prepared, (int)rows, n, k);
        }
        return plan;
    }

    /// <summary>op(W)ᵀ of one constant as a row-major [n, k] tensor: W itself when the matmul transposes it, else a transposed copy made on first use.</summary>
    private sealed class PreparedWeight(ConstantOp weight, bool transposed, int n, int k)
    {
        private NDArray? _value;

        public NDArray<T> Get<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (Volatile.Read(ref _value) is NDArray<T> ready) return ready;
            var w = weight.Get<T>();
            var made = transposed ? w : new NDArray<T>(new Shape(n, k));
            if (!transposed) Layout.Transpose(w, [1, 0], made);
            return Interlocked.CompareExchange(ref _value, made, null) as NDArray<T> ?? made;
        }
    }

    /// <summary>c = a·op(W) through Cᵀ = op(W)ᵀ·aᵀ in a per-thread workspace, then transposed into c.</summary>
    public void Execute<T>(NDArray<T> a, NDArray<T> c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.Size != (long)Rows * K || c.Size != (long)Rows * N)
            throw new ArgumentException($"TransposedProduct: operands {a.Shape} → {c.Shape} do not match the planned [{Rows}, {K}]·[{K}, {N}].");
        var wt = _weight.Get<T>();
        var ct = Workspace<T>.Get(Rows * N);
        Gemm.Multiply(false, true, N, Rows, K, T.One, wt.Data, 0, K, a.Data, 0, K, T.Zero, ct, 0, Rows);
        Layout.Transpose2D(ct, c.Data, 1, N, Rows);   // c[i, j] = ct[j, i]
    }

    /// <summary>
    /// Cᵀ's buffer, one per thread and element type, grown to the largest product seen: workspace of the product like the
    /// GEMM's packing buffers (at most <see cref="MaxRows"/>·n elements, where the GEMM would otherwise have packed k·n of
    /// the weight), not a value of the run's memory plan.
    /// </summary>
    private static class Workspace<T>
    {
        [ThreadStatic] private static T[]? t_buffer;

        public static T[] Get(int size) => t_buffer is { } b && b.Length >= size ? b : t_buffer = new T[Math.Max(size, 2 * (t_buffer?.Length ?? 0))];
    }
}
