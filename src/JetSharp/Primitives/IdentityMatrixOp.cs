using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>
/// The identity matrix I_D [D, D] as a structural fact rather than stored data: rows are the standard
/// basis vectors e_1..e_D. Rewrite rules exploit it (e_d·W is row d of W, see
/// <c>JetSharp.Simplify.Rules.MatMulOfIdentity</c>), so an operator along the standard basis need never
/// hold a dense D×D tensor; the kernel writes the dense matrix only when a graph still needs it.
/// </summary>
public sealed class IdentityMatrixOp : Primitive
{
    /// <summary>The identity of size <paramref name="size"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is negative.</exception>
    public IdentityMatrixOp(int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        Size = size;
    }

    /// <summary>D: the matrix is D×D.</summary>
    public int Size { get; }

    /// <summary>The node I_D in graph <paramref name="g"/>.</summary>
    public static Node Emit(Graph g, int size) => g.Apply(new IdentityMatrixOp(size));

    /// <summary>True when <paramref name="n"/> is I_D, possibly reshaped with axes of extent 1 inserted (e.g. [D, 1, D]).</summary>
    public static bool IsIdentity(Node n, out int size)
    {
        size = 0;
        var shape = n.Shape;
        while (n.Op is ReshapeOp) n = n.Inputs[0];
        if (n.Op is not IdentityMatrixOp eye) return false;
        // Only unit axes may have been inserted or removed: the extents other than 1 are still D, D.
        var rest = shape.Where(e => e != 1).ToArray();
        if (eye.Size > 1 && (rest.Length != 2 || rest[0] != eye.Size || rest[1] != eye.Size)) return false;
        size = eye.Size;
        return true;
    }

    /// <inheritdoc/>
    public override string Name => "eye";
    /// <inheritdoc/>
    public override string Attributes => Size.ToString(System.Globalization.CultureInfo.InvariantCulture);
    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs) { Arity(inputs, 0, Name); return new Shape(Size, Size); }

    /// <summary>Writes the dense identity.</summary>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        Array.Clear(output.Data);
        for (int i = 0; i < Size; i++) output.Data[(long)i * Size + i] = T.One;
    }

    /// <summary>No operands, so no cotangents: an empty array.</summary>
    public override Node?[] Vjp(Node node, Node cotangent) => [];
    /// <summary>A constant has zero derivatives: every coefficient of order ≥ 1 is null.</summary>
    public override Node?[] Taylor(JetRuleArgs args) => new Node?[args.Order + 1];
}
