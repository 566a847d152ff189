using JetSharp.Tensors;

namespace JetSharp.Ir;

/// <summary>
/// What a primitive's Taylor rule sees: the node being transformed, its inputs' jets in the graph
/// being built, and the direction prefix. Coefficient k of input i is <c>X(i, k)</c>: k = 0 is the
/// primal value (no direction axes), k ≥ 1 carries the leading direction axes <see cref="Prefix"/>
/// followed by the input's own shape, or is null when known to be zero.
/// </summary>
public sealed class JetRuleArgs
{
    private readonly Node?[][] _jets;

    internal JetRuleArgs(Node source, Node[] primals, Node?[][] jets, Node output0, int order, Shape prefix)
    {
        Source = source;
        Primals = primals;
        _jets = jets;
        Output0 = output0;
        Order = order;
        Prefix = prefix;
    }

    /// <summary>The node of the original graph (its op carries the attributes).</summary>
    public Node Source { get; }

    /// <summary>The inputs' primal values in the new graph.</summary>
    public Node[] Primals { get; }

    /// <summary>The primal output y₀ in the new graph.</summary>
    public Node Output0 { get; }

    /// <summary>K, the highest coefficient computed.</summary>
    public int Order { get; }

    /// <summary>Leading direction axes of every coefficient of order ≥ 1.</summary>
    public Shape Prefix { get; }

    /// <summary>Number of leading direction axes (the rank of <see cref="Prefix"/>).</summary>
    public int PrefixRank => Prefix.Rank;
    /// <summary>Number of inputs of the source node.</summary>
    public int InputCount => Primals.Length;
    /// <summary>The graph being built, where the rule appends the output coefficients.</summary>
    public Graph Graph => Output0.Graph;

    /// <summary>Coefficient k of input i (k = 0: primal). Null when structurally zero.</summary>
    public Node? X(int input, int k) => k == 0 ? Primals[input] : _jets[input][k];

    /// <summary>True when every input coefficient of order ≥ 1 is zero.</summary>
    public bool AllZero()
    {
        foreach (var jet in _jets)
            for (int k = 1; k < jet.Length; k++)
                if (jet[k] is not null) return false;
        return true;
    }

    /// <summary>Applies a linear map to each coefficient of input 0 (a primitive linear in its only input).</summary>
    public Node?[] MapLinear(Func<Node, Node> f)
    {
        var y = new Node?[Order + 1];
        for (int k = 1; k <= Order; k++)
            if (X(0, k) is { } xk) y[k] = f(xk);
        return y;
    }
}
