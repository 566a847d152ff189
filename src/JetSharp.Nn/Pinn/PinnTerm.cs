using JetSharp.Transforms;

namespace JetSharp.Nn.Pinn;

/// <summary>
/// One term of a physics-informed loss: <see cref="Points"/> points drawn by <see cref="Sample"/> (given a
/// seed) and a residual r(x) of shape [N, 1] written with the network's value and differential operators at
/// those points (<see cref="PinnContext"/>). The term contributes Weight · mean(r²) to the loss and the rows
/// √(Weight/N)·r to the stacked residual vector.
/// </summary>
public sealed class PinnTerm
{
    /// <summary>Name in reports ("interior", "boundary", "initial").</summary>
    public required string Name { get; init; }

    /// <summary>Number of points N of the term.</summary>
    public required int Points { get; init; }

    /// <summary>Draws the term's N points [N, D] for a seed (a pure function of the seed, so resumed runs redraw the same points).</summary>
    public required Func<long, NDArray<double>> Sample { get; init; }

    /// <summary>The residual r(x), [N, 1] (e.g. <c>c =&gt; c.Apply(laplacian) + f(c.X)</c>).</summary>
    public required Func<PinnContext, Node> Residual { get; init; }

    /// <summary>Weight w of the term in the loss; w ≥ 0.</summary>
    public double Weight { get; init; } = 1;
}

/// <summary>What a residual is written with: the points, the network's value there and operators of it.</summary>
public sealed class PinnContext
{
    private readonly Func<int, bool, Graph> _model;
    private readonly Func<DifferentialOperator, int, bool, Graph> _operator;
    private readonly bool _perSample;
    private readonly Node[] _parameters;
    private Node? _u;

    internal PinnContext(Node x, Node[] parameters, bool perSample, Func<int, bool, Graph> model, Func<DifferentialOperator, int, bool, Graph> op)
    {
        X = x;
        _parameters = parameters;
        _perSample = perSample;
        _model = model;
        _operator = op;
    }

    /// <summary>The points, [N, D].</summary>
    public Node X { get; }

    /// <summary>Column j of the points, [N, 1].</summary>
    public Node Coordinate(int j) => Fn.Slice(X, 1, j, 1);

    /// <summary>The network's value u(x), [N, 1].</summary>
    public Node U => _u ??= Inline.Apply(_model(X.Shape[0], _perSample), [X, .. _parameters])[0];

    /// <summary>L u at the points, built with the problem's strategy (collapsed by default), [N, 1].</summary>
    public Node Apply(DifferentialOperator op) =>
        Inline.Apply(_operator(op, X.Shape[0], _perSample), [X, .. _parameters])[0];
}
