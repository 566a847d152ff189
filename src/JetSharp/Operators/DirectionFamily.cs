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
public sealed record DirectionFamily(int Order, double Scale, Func<Node, Node> Directions, string Description)
{
    /// <summary>Constant directions (rows of <paramref name="directions"/>, [R, D]) shared by every datum.</summary>
    public static DirectionFamily Constant(int order, double scale, double[,] directions, string description) =>
        new(order, scale, x => Broadcast(x, directions), description);

    /// <summary>The basis e_1..e_D as rows.</summary>
    public static double[,] Basis(int d)
    {
        var e = new double[d, d];
        for (int i = 0; i < d; i++) e[i, i] = 1;
        return e;
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
