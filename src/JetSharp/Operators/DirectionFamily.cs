using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Operators;

/// <summary>
/// One term of an operator: Scale · Σ_r ⟨∂ᴷf(x), v_r^⊗K⟩ over directions v_r. <see cref="Directions"/>
/// emits them into the operator's graph as a node of shape [R, N, D] (often a broadcast of
/// [R, 1, D]), given the input x. Every operator of this library is a list of such families
/// (weights are folded into the directions, so each family is a plain sum and collapses).
/// </summary>
/// <param name="Order">K ≥ 1, the order of the derivative.</param>
/// <param name="Scale">A finite factor applied to the family's sum.</param>
/// <param name="Directions">Emits the directions [R, N, D] for the input x [N, D].</param>
/// <param name="Description">Words for listings and messages.</param>
public sealed record DirectionFamily(int Order, double Scale, Func<Node, Node> Directions, string Description)
{
    /// <summary>K ≥ 1, the order of the derivative.</summary>
    /// <exception cref="ArgumentOutOfRangeException">K &lt; 1.</exception>
    public int Order { get; init; } = Order >= 1 ? Order
        : throw new ArgumentOutOfRangeException(nameof(Order), Order, $"DirectionFamily: the order K must be at least 1, got {Order}.");

    /// <summary>A finite factor applied to the family's sum.</summary>
    /// <exception cref="ArgumentException">The scale is NaN or infinite.</exception>
    public double Scale { get; init; } = double.IsFinite(Scale) ? Scale
        : throw new ArgumentException($"DirectionFamily: the scale must be finite, got {Scale}.", nameof(Scale));

    /// <summary>Emits the directions [R, N, D] for the input x [N, D].</summary>
    public Func<Node, Node> Directions { get; init; } = Directions ?? throw new ArgumentNullException(nameof(Directions));

    /// <summary>Words for listings and messages.</summary>
    public string Description { get; init; } = Description ?? throw new ArgumentNullException(nameof(Description));

    /// <summary>
    /// Constant directions (rows of <paramref name="directions"/>, [R, D]) shared by every datum. When every row is a
    /// scaled unit vector w_r·e_{d_r} (the unmixed terms of a linear operator, a diagonal σ) they are emitted as a structural
    /// selection (<see cref="Selection(int, double, int[], double[], string)"/>), so a first linear layer gathers rows of its
    /// weight instead of multiplying by an [R, D] matrix; otherwise as a dense constant.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="directions"/> is null.</exception>
    /// <exception cref="ArgumentException">An entry of <paramref name="directions"/> is NaN or infinite.</exception>
    public static DirectionFamily Constant(int order, double scale, double[,] directions, string description)
    {
        CheckOrder(order);
        CheckScale(scale);
        ArgumentNullException.ThrowIfNull(directions);
        foreach (var v in directions)
            if (!double.IsFinite(v))
                throw new ArgumentException($"DirectionFamily.Constant ({description}): the directions contain {v}; they must be finite.", nameof(directions));
        if (UnitRows(directions) is { } unit)
        {
            var select = Selection(order, scale, unit.Rows, unit.Weights, description);
            int width = directions.GetLength(1);
            return select with { Directions = x => x.Shape[1] == width ? select.Directions(x)
                : throw new ShapeException($"{nameof(DirectionFamily)}: directions of dimension {width} for inputs {x.Shape} (D = {x.Shape[1]}).") };
        }
        return new(order, scale, x => Broadcast(x, directions), description);
    }

    /// <summary>The column and value of each row's single non-zero entry (weights null when all are 1), or null when a row has another number of non-zeros.</summary>
    private static (int[] Rows, double[]? Weights)? UnitRows(double[,] directions)
    {
        int r = directions.GetLength(0), d = directions.GetLength(1);
        var rows = new int[r];
        var weights = new double[r];
        for (int i = 0; i < r; i++)
        {
            int found = -1;
            for (int j = 0; j < d; j++)
            {
                if (directions[i, j] == 0) continue;
                if (found >= 0) return null;
                found = j;
            }
            if (found < 0) return null;
            rows[i] = found;
            weights[i] = directions[i, found];
        }
        return (rows, weights.All(w => w == 1) ? null : weights);
    }

    /// <summary>
    /// The standard basis e_1..e_D as directions, for inputs of any dimension D: a structural identity
    /// (<see cref="IdentityMatrixOp"/>) broadcast over the data, never a stored D×D matrix. The simplifier
    /// turns e_d·W into row d of W (<c>MatMulOfIdentity</c>), so through a first linear layer the basis
    /// costs what W costs.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The order is below 1 or the scale is not finite.</exception>
    public static DirectionFamily StandardBasis(int order, double scale, string description = "e_d") =>
        new(CheckOrder(order), CheckScale(scale), x =>
        {
            int n = x.Shape[0], d = x.Shape[1];
            // Emitted as [D, 1, D] directly: a reshape of a [D, D] node would need its element count, which
            // for D > 46340 exceeds what a tensor can hold although the collapsed graph never holds it.
            return Fn.BroadcastTo(IdentityMatrixOp.Emit(x.Graph, d, new Shape(d, 1, d)), new Shape(d, n, d));
        }, description);

    private static int CheckOrder(int order) => order >= 1 ? order
        : throw new ArgumentOutOfRangeException(nameof(order), order, $"DirectionFamily: the order K must be at least 1, got {order}.");

    private static double CheckScale(double scale) => double.IsFinite(scale) ? scale
        : throw new ArgumentOutOfRangeException(nameof(scale), scale, $"DirectionFamily: the scale must be finite, got {scale}.");
    /// <summary>
    /// Scaled unit vectors w_s·e_{rows[s]} as directions shared by every datum, for inputs of dimension D: a
    /// structural selection (<see cref="SelectionMatrixOp"/>) broadcast over the data, never a stored [S, D]
    /// matrix. The simplifier turns e_d·W into row d of W (<c>MatMulOfSelection</c>), a gather.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="rows"/> is null.</exception>
    public static DirectionFamily Selection(int order, double scale, int[] rows, double[]? weights, string description)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var r = (int[])rows.Clone();
        var w = weights is null ? null : (double[])weights.Clone();
        return new(order, scale, x =>
        {
            int n = x.Shape[0], d = x.Shape[1];
            return Fn.BroadcastTo(SelectionMatrixOp.Emit(x.Graph, d, r, w, new Shape(r.Length, 1, d)), new Shape(r.Length, n, d));
        }, description);
    }

    /// <summary>
    /// Unit vectors e_{rows[s]} drawn afresh on every run (<see cref="IndexList.Sampled"/>), shared by every datum of the
    /// run: a structural selection like <see cref="Selection(int, double, int[], double[], string)"/>, so the first linear
    /// layer gathers S rows of its weight for whichever rows the run draws.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="rows"/> is null.</exception>
    public static DirectionFamily Selection(int order, double scale, IndexList rows, string description)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return new(order, scale, x =>
        {
            int n = x.Shape[0], d = x.Shape[1];
            return Fn.BroadcastTo(SelectionMatrixOp.Emit(x.Graph, d, rows, new Shape(rows.Count, 1, d)), new Shape(rows.Count, n, d));
        }, description);
    }

    private static Node Broadcast(Node x, double[,] directions)
    {
        int r = directions.GetLength(0), d = directions.GetLength(1);
        if (d != x.Shape[1])
            throw new ShapeException($"{nameof(DirectionFamily)}: directions of dimension {d} for inputs {x.Shape} (D = {x.Shape[1]}).");
        var c = x.Graph.Constant(NDArray.FromArray(directions).Reshape(new Shape(r, 1, d)));
        return Fn.BroadcastTo(c, new Shape(r, x.Shape[0], d));
    }
}
