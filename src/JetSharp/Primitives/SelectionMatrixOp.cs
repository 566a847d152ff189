using System.Globalization;
using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>
/// A weighted selection matrix as a structural fact: row s is w_s·e_{r_s}, a scaled standard basis vector of
/// ℝᴰ, for row indices r_s (repeats allowed) and weights w_s (all 1 when none are given). Its shape is [S, D]
/// with axes of extent 1 inserted ahead of the column axis (directions [S, 1, D]). It is the identity
/// <see cref="IdentityMatrixOp"/> restricted to some rows: a rewrite rule turns P·W into a gather of W's rows
/// (<c>JetSharp.Simplify.Rules.MatMulOfSelection</c>), so coordinate-sampled directions never exist as a dense
/// [S, D] tensor once they meet a linear map; the kernel writes the dense matrix only when a graph still needs it.
/// </summary>
public sealed class SelectionMatrixOp : Primitive
{
    private readonly IndexList _rows;
    private readonly double[]? _weights;

    /// <summary>Rows w_s·e_{rows[s]} of dimension <paramref name="size"/>, viewed as <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="rows"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A row index is outside 0..size−1, or size is negative.</exception>
    /// <exception cref="ArgumentException">The weights do not match the rows in number, or one is NaN or infinite.</exception>
    /// <exception cref="ShapeException"><paramref name="shape"/> is not [S, D] with unit axes inserted before the last axis.</exception>
    public SelectionMatrixOp(int size, int[] rows, double[]? weights, Shape shape)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        foreach (var r in rows)
            if (r < 0 || r >= size)
                throw new ArgumentOutOfRangeException(nameof(rows), $"select: row index {r} is outside 0..{size - 1}.");
        if (weights is not null)
        {
            if (weights.Length != rows.Length)
                throw new ArgumentException($"select: {weights.Length} weights for {rows.Length} rows.", nameof(weights));
            foreach (var w in weights)
                if (!double.IsFinite(w)) throw new ArgumentException($"select: weight {w} is not finite.", nameof(weights));
        }
        if (shape.Rank < 2 || shape[^1] != size || shape.Take(shape.Rank - 1).Aggregate(1L, (p, e) => p * e) != rows.Length ||
            shape.Take(shape.Rank - 1).Count(e => e != 1) > 1)
            throw new ShapeException($"select: shape {shape} is not [{rows.Length}, {size}] with unit axes inserted before the last axis.");
        Size = size;
        _rows = new IndexList(rows);
        _weights = weights is null ? null : (double[])weights.Clone();
        Shape = shape;
    }

    /// <summary>Unit rows e_{r_s} of dimension <paramref name="size"/> for rows drawn on every run (<see cref="IndexList.Sampled"/>), viewed as <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="rows"/> is null.</exception>
    /// <exception cref="ArgumentException">The list is not a sampled vector of indices below <paramref name="size"/>.</exception>
    /// <exception cref="ShapeException"><paramref name="shape"/> is not [S, D] with unit axes inserted before the last axis.</exception>
    public SelectionMatrixOp(int size, IndexList rows, Shape shape)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (!rows.IsSampled || rows.Shape.Rank != 1)
            throw new ArgumentException($"select: a list of rows given as an IndexList must be a sampled vector (fixed rows are passed as int[]); got {rows.Text}.", nameof(rows));
        rows.Check(size, "select", 1, new Shape(rows.Count, size));
        if (shape.Rank < 2 || shape[^1] != size || shape.Take(shape.Rank - 1).Aggregate(1L, (p, e) => p * e) != rows.Count ||
            shape.Take(shape.Rank - 1).Count(e => e != 1) > 1)
            throw new ShapeException($"select: shape {shape} is not [{rows.Count}, {size}] with unit axes inserted before the last axis.");
        Size = size;
        _rows = rows;
        Shape = shape;
    }

    /// <summary>D, the dimension of each row.</summary>
    public int Size { get; }
    /// <summary>The output shape.</summary>
    public Shape Shape { get; }
    /// <summary>The selected row indices r_s (fixed, or drawn per run).</summary>
    public IndexList Rows => _rows;
    /// <summary>The weights w_s (a copy), or null when all are 1.</summary>
    public double[]? Weights => _weights is null ? null : (double[])_weights.Clone();

    /// <summary>The node of rows w_s·e_{rows[s]} viewed as <paramref name="shape"/> in graph <paramref name="g"/>.</summary>
    public static Node Emit(Graph g, int size, int[] rows, double[]? weights, Shape shape) =>
        g.Apply(new SelectionMatrixOp(size, rows, weights, shape));

    /// <summary>The node of unit rows e_{rows[s]} drawn on every run, viewed as <paramref name="shape"/> in graph <paramref name="g"/>.</summary>
    public static Node Emit(Graph g, int size, IndexList rows, Shape shape) =>
        g.Apply(new SelectionMatrixOp(size, rows, shape));

    /// <inheritdoc/>
    public override string Name => "select";
    /// <summary>True when the rows are drawn per run: never folded or merged.</summary>
    public override bool IsRandom => _rows.IsSampled;
    /// <inheritdoc/>
    public override string Attributes =>
        $"{Size.ToString(CultureInfo.InvariantCulture)}, {Shape}, rows {_rows.Text}" +
        (_weights is null ? "" : $", weights [{string.Join(",", _weights.Select(w => w.ToString("R", CultureInfo.InvariantCulture)))}]");
    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs) { Arity(inputs, 0, Name); return Shape; }

    /// <summary>Writes the dense matrix (unit axes do not change the row-major layout).</summary>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        Array.Clear(output.Data);
        var rows = _rows.Resolve(context);
        for (int s = 0; s < rows.Length; s++)
            output.Data[(long)s * Size + rows[s]] = _weights is null ? T.One : T.CreateTruncating(_weights[s]);
    }

    /// <summary>No operands, so no cotangents: an empty array.</summary>
    public override Node?[] Vjp(Node node, Node cotangent) => [];
    /// <summary>A constant has zero derivatives: every coefficient of order ≥ 1 is null.</summary>
    public override Node?[] Taylor(JetRuleArgs args) => new Node?[args.Order + 1];
}
