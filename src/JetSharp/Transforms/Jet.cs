using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Transforms;

/// <summary>
/// Taylor mode as a graph transformation. Convention (as JAX's <c>jet</c>): the input path is
/// x(t) = Σ_k tᵏ/k!·x_k and the output coefficients are y_k = dᵏ/dtᵏ y(x(t)) at t = 0 — derivatives,
/// with no 1/k! factor. With x₁ = v and x₂ = … = x_K = 0, y_K = ⟨∂ᴷf(x₀), v^⊗K⟩.
/// <para>Coefficients of order ≥ 1 may carry leading direction axes (the <c>prefix</c>, e.g. [R]); the
/// primal x₀ does not, and everything computed from x₀ alone is computed once, without those axes.
/// A null coefficient is known to be zero and costs nothing downstream.</para>
/// </summary>
public static class Jet
{
    /// <summary>
    /// Emits the jet of <paramref name="g"/> into the graph of <paramref name="primals"/>.
    /// <paramref name="coefficients"/>[i][k−1] is x_k of input i (null = zero), each of shape prefix + input shape.
    /// Returns, per output of <paramref name="g"/>, the coefficients y₀..y_K (null = zero).
    /// </summary>
    public static Node?[][] Apply(Graph g, IReadOnlyList<Node> primals, IReadOnlyList<Node?[]> coefficients, int order, Shape prefix)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(primals);
        ArgumentNullException.ThrowIfNull(coefficients);
        if (order < 0) throw new ArgumentOutOfRangeException(nameof(order), $"jet: order must be ≥ 0, got {order}.");
        GraphWalk.CheckInputs(g, primals, "jet");
        if (coefficients.Count != g.Inputs.Count)
            throw new ArgumentException($"jet: {coefficients.Count} coefficient lists for a function of {g.Inputs.Count} input(s).");
        var target = primals.Count > 0 ? primals[0].Graph : throw new ArgumentException("jet: the function has no inputs.");

        var jets = new Dictionary<Node, Node?[]>();
        for (int i = 0; i < g.Inputs.Count; i++)
        {
            var c = coefficients[i] ?? throw new ArgumentNullException(nameof(coefficients), $"jet: the coefficient list of input {i} is null (use an array of nulls for zero coefficients).");
            if (c.Length != order)
                throw new ArgumentException($"jet: input {i} has {c.Length} coefficients, expected {order} (x_1..x_{order}).");
            var jet = new Node?[order + 1];
            jet[0] = primals[i];
            for (int k = 1; k <= order; k++)
            {
                if (c[k - 1] is not { } xk) continue;
                var expected = new Shape([.. prefix, .. g.Inputs[i].Shape]);
                if (xk.Shape != expected)
                    throw new ShapeException($"jet: coefficient x_{k} of input {i} has shape {xk.Shape}; expected {expected} (direction axes {prefix} + input shape {g.Inputs[i].Shape}).");
                jet[k] = xk;
            }
            jets[g.Inputs[i]] = jet;
        }

        GraphWalk.ForEachNode(g, target, node =>
        {
            var inputJets = node.InputArray.Select(i => jets[i]).ToArray();
            var primalIns = inputJets.Select(j => j[0]!).ToArray();
            var y0 = target.Apply(node.Op, primalIns);
            var jet = new Node?[order + 1];
            jet[0] = y0;
            if (order > 0 && inputJets.Any(j => j.Skip(1).Any(c => c is not null)))
            {
                var args = new JetRuleArgs(node, primalIns, inputJets, y0, order, prefix);
                var y = node.Op.Taylor(args);
                for (int k = 1; k <= order; k++)
                    jet[k] = y[k] is { } yk ? Conform(yk, new Shape([.. prefix, .. y0.Shape]), node, k) : null;
            }
            jets[node] = jet;
        });
        return [.. g.Outputs.Select(o => jets[o])];
    }

    /// <summary>
    /// The K-jet of <paramref name="g"/> as a new graph. Inputs: the primal inputs of g, then x_1..x_K
    /// of every input (each of shape prefix + input shape), in input-major order. Outputs: y₀..y_K of
    /// every output, output-major; zero coefficients are materialised as zeros.
    /// </summary>
    public static Graph Transform(Graph g, int order, Shape prefix = default)
    {
        ArgumentNullException.ThrowIfNull(g);
        if (order < 0) throw new ArgumentOutOfRangeException(nameof(order), $"jet: order must be ≥ 0, got {order}.");
        var jg = new Graph(g.DType);
        var primals = GraphWalk.MirrorInputs(g, jg);
        var coefs = g.Inputs.Select(i => Enumerable.Range(1, order)
            .Select(k => (Node?)jg.Input(new Shape([.. prefix, .. i.Shape]), $"{GraphWalk.InputName(i)}_{k}")).ToArray()).ToArray();
        var outs = Apply(g, primals, coefs, order, prefix);
        jg.SetOutputs([.. outs.SelectMany((jet, o) => jet.Select((c, k) =>
            c ?? Fn.Zeros(jg, k == 0 ? g.Outputs[o].Shape : new Shape([.. prefix, .. g.Outputs[o].Shape]))))]);
        return jg;
    }

    private static Node Conform(Node y, Shape expected, Node source, int k)
    {
        if (y.Shape == expected) return y;
        if (y.Shape.BroadcastsTo(expected) && y.Rank == expected.Rank) return Fn.BroadcastTo(y, expected);
        throw new InvalidOperationException($"jet: the Taylor rule of '{source.Op.Name}' returned coefficient {k} of shape {y.Shape}; expected {expected}.");
    }
}

/// <summary>Forward mode (JVP): the order-1 case of <see cref="Jet"/>; tangents may carry direction axes.</summary>
public static class Jvp
{
    /// <summary>Emits outputs and output tangents of g for the given primals and tangents (null = zero).</summary>
    public static (Node[] Outputs, Node?[] Tangents) Apply(Graph g, IReadOnlyList<Node> primals, IReadOnlyList<Node?> tangents, Shape prefix = default)
    {
        ArgumentNullException.ThrowIfNull(tangents);
        var jets = Jet.Apply(g, primals, [.. tangents.Select(t => new[] { t })], 1, prefix);
        return ([.. jets.Select(j => j[0]!)], [.. jets.Select(j => j[1])]);
    }

    /// <summary>A graph (inputs…, tangents…) → (outputs…, output tangents…).</summary>
    public static Graph Transform(Graph g, Shape prefix = default)
    {
        ArgumentNullException.ThrowIfNull(g);
        var jet = Jet.Transform(g, 1, prefix);
        var outs = new List<Node>();
        for (int o = 0; o < g.Outputs.Count; o++) outs.Add(jet.Outputs[2 * o]);
        for (int o = 0; o < g.Outputs.Count; o++) outs.Add(jet.Outputs[2 * o + 1]);
        jet.SetOutputs([.. outs]);
        return jet;
    }
}
