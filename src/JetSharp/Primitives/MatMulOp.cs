using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>
/// Batched matrix product op(A)·op(B) with NumPy batch broadcasting; op transposes the last two axes
/// when the flag is set. Bilinear: linear in each operand; Taylor rule: Leibniz with matmul.
/// </summary>
public sealed class MatMulOp(bool transposeA, bool transposeB) : Primitive
{
    /// <summary>Whether the first operand is transposed (last two axes swapped) before the product.</summary>
    public bool TransposeA { get; } = transposeA;
    /// <summary>Whether the second operand is transposed (last two axes swapped) before the product.</summary>
    public bool TransposeB { get; } = transposeB;
    /// <inheritdoc/>
    public override string Name => "matmul";
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.Linear;
    /// <summary>
    /// Carries a grouping of a row axis of A (or a column axis of B) and of a batch axis that is not stretched;
    /// the contracted axis mixes the groups.
    /// </summary>
    public override AxisGroups? CarriedGroups(Node node, int input, AxisGroups groups)
    {
        ArgumentNullException.ThrowIfNull(node);
        var s = node.Inputs[input].Shape;
        bool transposed = input == 0 ? TransposeA : TransposeB;
        int contracted = (input == 0) != transposed ? s.Rank - 1 : s.Rank - 2;
        if (groups.Axis == contracted) return null;
        if (groups.Axis >= s.Rank - 2) return groups with { Axis = input == 0 ? node.Rank - 2 : node.Rank - 1 };
        int axis = groups.Axis + node.Rank - s.Rank;
        return node.Shape[axis] == s[groups.Axis] ? groups with { Axis = axis } : null;
    }
    /// <inheritdoc/>
    public override string Attributes => (TransposeA, TransposeB) switch
    {
        (false, false) => "",
        (true, false) => "Aᵀ",
        (false, true) => "Bᵀ",
        _ => "Aᵀ,Bᵀ",
    };

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 2, Name);
        Shape a = inputs[0].Shape, b = inputs[1].Shape;
        if (a.Rank < 2 || b.Rank < 2)
            throw new ShapeException($"matmul: operands need rank ≥ 2, got {a} and {b}.");
        int m = TransposeA ? a[^1] : a[^2], ka = TransposeA ? a[^2] : a[^1];
        int kb = TransposeB ? b[^1] : b[^2], n = TransposeB ? b[^2] : b[^1];
        if (ka != kb)
            throw new ShapeException($"matmul{(Attributes.Length > 0 ? $"[{Attributes}]" : "")}: inner dimensions differ, {a} · {b} ({ka} vs {kb}).");
        Shape batchA = new(a.ToArray()[..^2]), batchB = new(b.ToArray()[..^2]);
        for (int i = 1; i <= Math.Min(batchA.Rank, batchB.Rank); i++)
            if (batchA[^i] != batchB[^i] && batchA[^i] != 1 && batchB[^i] != 1)
                throw new ShapeException($"matmul{(Attributes.Length > 0 ? $"[{Attributes}]" : "")}: batch axes of {a} and {b} cannot be broadcast together ({batchA} vs {batchB}).");
        var batch = Shape.Broadcast(batchA, batchB, "matmul (batch axes)");
        return new Shape([.. batch.ToArray(), m, n]);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) =>
        MatMulKernel.Run(inputs[0], inputs[1], TransposeA, TransposeB, output);

    /// <summary>When the product folds into one GEMM (A not transposed nor broadcast, B one shared matrix).</summary>
    internal override bool AcceptsEpilogue(Node node) =>
        MatMulKernel.FoldsIntoOneProduct(node.InputArray[0].Shape, node.InputArray[1].Shape, TransposeA, node.Shape);

    internal override void ExecuteWithEpilogue<T>(NDArray<T>[] inputs, NDArray<T> output, GemmEpilogue<T> epilogue) =>
        MatMulKernel.RunWithEpilogue(inputs[0], inputs[1], TransposeB, output, epilogue);

    /// <summary>
    /// Products that fold into one GEMM (see <see cref="AcceptsEpilogue"/>) by the same right operand, transposed alike, stack:
    /// one GEMM packs that operand once for all of them (k below the long-k split, which would round differently).
    /// </summary>
    internal override object? StackKey(Node node) =>
        AcceptsEpilogue(node) && node.InputArray[0].Shape[^1] < LongKGemm.MinK ? (node.InputArray[1], TransposeB) : null;

    internal override void ExecuteStacked<T>(NDArray<T>[][] inputs, NDArray<T>?[] factors, NDArray<T>[] outputs, bool[] unchanging) =>
        MatMulKernel.RunStacked([.. inputs.Select(x => x[0])], factors, inputs[0][1], TransposeB, outputs, unchanging[1]);

    /// <summary>
    /// A, where the product stacks (see <see cref="StackKey"/>) and each factor's rows are a <see cref="GemmRowMap"/> of A's
    /// (see <see cref="MatMulKernel.RowMapOf"/>): the GEMM multiplies A's rows sliver by sliver.
    /// </summary>
    internal override int FactoredInput(Node node, Shape first, Shape second)
    {
        var a = node.InputArray[0].Shape;
        return StackKey(node) is not null && MatMulKernel.RowMapOf(first, a) is not null && MatMulKernel.RowMapOf(second, a) is not null ? 0 : -1;
    }

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        Node a = node.Inputs[0], b = node.Inputs[1];
        Node da = TransposeA
            ? Fn.MatMul(b, ct, TransposeB, true)
            : Fn.MatMul(ct, b, false, !TransposeB);
        Node db;
        if (!TransposeA && b.Rank == 2 && a.Rank > 2)
        {
            // B is shared by every batch entry: fold the batch axes into the rows and use one GEMM,
            // instead of a batch of k×n products that would then be summed.
            var a2 = Fn.Reshape(a, -1, a.Shape[^1]);
            var ct2 = Fn.Reshape(Fn.BroadcastTo(ct, new Shape([.. a.Shape.ToArray()[..^2], ct.Shape[^2], ct.Shape[^1]])), -1, ct.Shape[^1]);
            db = TransposeB ? Fn.MatMul(ct2, a2, true, false) : Fn.MatMul(a2, ct2, true, false);
        }
        else
        {
            db = TransposeB
                ? Fn.MatMul(ct, a, true, TransposeA)
                : Fn.MatMul(a, ct, !TransposeA, false);
        }
        return [Fn.SumToShape(da, a.Shape), Fn.SumToShape(db, b.Shape)];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        int rank = a.Output0.Rank;
        return TaylorMath.Leibniz(k => a.Lifted(0, k, rank), k => a.Lifted(1, k, rank), a.Order,
            (p, q) => Fn.MatMul(p, q, TransposeA, TransposeB));
    }
}
