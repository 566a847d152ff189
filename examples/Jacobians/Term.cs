namespace JetSharp.Examples.Jacobians;

/// <summary>
/// A scalar that is either a known constant or coefficient × node, folded while a function is traced:
/// products with 0 vanish, with ±1 cost nothing, and signs are carried until a node is really needed, so a
/// formula with many structural zeros (Denavit–Hartenberg matrices with α = ±π/2) traces to what one would
/// write out by hand rather than to multiplications by zero.
/// </summary>
internal readonly struct Term
{
    private readonly Node? _node;
    private readonly double _c; // the constant, or the node's coefficient

    private Term(Node? node, double c) { _node = node; _c = c; }

    public static Term Constant(double c) => new(null, c);
    public static Term Of(Node node) => new(node, 1);
    public static implicit operator Term(Node node) => Of(node);

    public bool IsZero => _node is null && _c == 0;

    /// <summary>The value as a node (emitting the pending sign or scale; a constant is broadcast to <paramref name="like"/>'s shape).</summary>
    public Node ToNode(Node like) => _node is null
        ? Fn.BroadcastTo(like.Graph.Scalar(_c), like.Shape)
        : _c == 1 ? _node : _c == -1 ? -_node : _node * _c;

    public static Term operator -(Term a) => new(a._node, -a._c);

    public static Term operator *(Term a, Term b)
    {
        if (a.IsZero || b.IsZero) return Constant(0);
        if (a._node is null) return new(b._node, a._c * b._c);
        if (b._node is null) return new(a._node, a._c * b._c);
        return new(a._node * b._node, a._c * b._c);
    }

    public static Term operator +(Term a, Term b)
    {
        if (a.IsZero) return b;
        if (b.IsZero) return a;
        if (a._node is null && b._node is null) return Constant(a._c + b._c);
        if (a._node is null) return new(b.Node() + a._c, 1);
        if (b._node is null) return new(a.Node() + b._c, 1);
        // Fold signs into add/sub: a − b rather than a + (−b), −(a + b) carried as a coefficient.
        if (a._c == b._c && Math.Abs(a._c) == 1) return new(a._node + b._node, a._c);
        if (a._c == -b._c && Math.Abs(a._c) == 1) return new(a._node - b._node, a._c);
        return new(a.Node() + b.Node(), 1);
    }

    public static Term operator -(Term a, Term b) => a + -b;

    /// <summary>The node with the coefficient applied (only for a non-constant term).</summary>
    private Node Node() => _c == 1 ? _node! : _c == -1 ? -_node! : _node! * _c;
}
