using System.Globalization;
using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>
/// The identity matrix I_D as a structural fact rather than stored data: rows are the standard basis
/// vectors e_1..e_D. Its shape is [D, D], or [D, D] with axes of extent 1 inserted (the basis as
/// directions, [D, 1, D]), which keeps the row-major layout of I_D. Rewrite rules exploit it (e_d·W is
/// row d of W, see <c>JetSharp.Simplify.Rules.MatMulOfIdentity</c>), so an operator along the standard
/// basis need never hold a dense D×D tensor; the kernel writes the dense matrix only when a graph still
/// needs it.
/// </summary>
public sealed class IdentityMatrixOp : Primitive
{
    /// <summary>I_D of shape [D, D].</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is negative.</exception>
    public IdentityMatrixOp(int size) : this(size, new Shape(Math.Max(size, 0), Math.Max(size, 0))) { }

    /// <summary>I_D viewed as <paramref name="shape"/>: [D, D] with any axes of extent 1 inserted.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is negative.</exception>
    /// <exception cref="ShapeException"><paramref name="shape"/> is not [D, D] with unit axes inserted.</exception>
    public IdentityMatrixOp(int size, Shape shape)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        var rest = shape.Where(e => e != 1).ToArray();
        bool ok = size == 1 ? rest.Length == 0 && shape.Rank >= 2
            : rest.Length == 2 && rest[0] == size && rest[1] == size && shape[^1] == size;
        if (!ok) throw new ShapeException($"eye: shape {shape} is not [{size}, {size}] with unit axes inserted (the last axis must be the column axis).");
        Size = size;
        Shape = shape;
    }

    /// <summary>D: the matrix is D×D.</summary>
    public int Size { get; }

    /// <summary>The output shape: [D, D] with unit axes inserted.</summary>
    public Shape Shape { get; }

    /// <summary>The node I_D [D, D] in graph <paramref name="g"/>.</summary>
    public static Node Emit(Graph g, int size) => g.Apply(new IdentityMatrixOp(size));

    /// <summary>The node I_D viewed as <paramref name="shape"/> in graph <paramref name="g"/>.</summary>
    public static Node Emit(Graph g, int size, Shape shape) => g.Apply(new IdentityMatrixOp(size, shape));

    /// <summary>
    /// True when <paramref name="n"/> is I_D, possibly reshaped with axes of extent 1 inserted or removed
    /// (e.g. [D, 1, D]), so that its last axis is the column axis and its leading axes flatten to the row index.
    /// </summary>
    public static bool IsIdentity(Node n, out int size)
    {
        size = 0;
        var shape = n.Shape;
        while (n.Op is ReshapeOp) n = n.Inputs[0];
        if (n.Op is not IdentityMatrixOp eye) return false;
        var rest = shape.Where(e => e != 1).ToArray();
        if (eye.Size > 1 && (rest.Length != 2 || rest[0] != eye.Size || rest[1] != eye.Size || shape[^1] != eye.Size)) return false;
        size = eye.Size;
        return true;
    }

    /// <inheritdoc/>
    public override string Name => "eye";
    /// <inheritdoc/>
    public override string Attributes => $"{Size.ToString(CultureInfo.InvariantCulture)}, {Shape}";
    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs) { Arity(inputs, 0, Name); return Shape; }

    /// <summary>Writes the dense identity (unit axes do not change the row-major layout).</summary>
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
