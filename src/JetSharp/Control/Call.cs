using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Tensors;
using JetSharp.Transforms;

namespace JetSharp.Control;

/// <summary>
/// Applies a graph (a function) to arguments: the value is output <see cref="Select"/> of
/// <see cref="Callee"/>(inputs). A function applied many times is one callee held by many call nodes,
/// not many copies. Closures are explicit: captured values are extra inputs of the callee (see
/// <c>Tracer.Call</c>). Rules: the kernel runs the callee with the run's <see cref="IGraphRunner"/>
/// (compiled once); the K-jet of a call is a call of the callee's K-jet and its VJP a call of the callee's
/// VJP, each derived once per callee and cached with it, so 20 applications share one transformed body.
/// A call with several outputs used is several nodes (one per output, each running the callee); the
/// inline pass (<see cref="Calls.Inline"/>) removes calls where that or the call itself costs.
/// </summary>
public sealed class CallOp : Primitive, ISubgraphOp
{
    internal CallOp(Graph callee, int select)
    {
        ArgumentNullException.ThrowIfNull(callee);
        if (select < 0 || select >= callee.Outputs.Count)
            throw new ArgumentOutOfRangeException(nameof(select), select, $"call (callee @{Subgraphs.IdOf(callee)}): output {select} does not exist ({callee.Outputs.Count} outputs).");
        Callee = callee;
        Select = select;
    }

    /// <summary>The function applied.</summary>
    public Graph Callee { get; }
    /// <summary>Which output of the callee this node is.</summary>
    public int Select { get; }

    /// <inheritdoc/>
    public override string Name => "call";
    /// <inheritdoc/>
    public override string Attributes => $"@{Subgraphs.IdOf(Callee)} → {Select}";
    /// <inheritdoc/>
    public IReadOnlyList<Graph> Bodies => [Callee];

    /// <inheritdoc/>
    public Primitive WithBodies(IReadOnlyList<Graph> bodies)
    {
        ArgumentNullException.ThrowIfNull(bodies);
        if (bodies.Count != 1) throw new ArgumentException($"call: has one callee, got {bodies.Count}.", nameof(bodies));
        Subgraphs.CheckSameSignature(Callee, bodies[0], "call");
        return new CallOp(bodies[0], Select);
    }

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        if (inputs.Count != Callee.Inputs.Count)
            throw new ShapeException($"call (callee @{Subgraphs.IdOf(Callee)}): {inputs.Count} argument(s) for a function of {Callee.Inputs.Count} input(s) ({string.Join(", ", Callee.Inputs.Select(i => i.Shape.ToString()))}).");
        for (int i = 0; i < inputs.Count; i++)
            if (inputs[i].Shape != Callee.Inputs[i].Shape)
                throw new ShapeException($"call (callee @{Subgraphs.IdOf(Callee)}): argument {i} ('{GraphWalk.InputName(Callee.Inputs[i])}') has shape {inputs[i].Shape}; the function takes {Callee.Inputs[i].Shape}.");
        return Callee.Outputs[Select].Shape;
    }

    /// <summary>The callee with only the selected output (what it does not need is not run).</summary>
    private Graph RunCallee => Callee.Outputs.Count == 1 ? Callee
        : Subgraphs.Derived(Callee, $"call-run:{Select}", () => SubgraphBuild.WithOutputs(Callee, [Select]));

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) =>
        context.Run(RunCallee, inputs)[0].Data.CopyTo(output.Data, 0);

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        int n = Callee.Inputs.Count, order = a.Order;
        var active = Enumerable.Range(0, n).Select(i => Enumerable.Range(1, order).Select(k => a.X(i, k) is not null).ToArray()).ToArray();
        string key = $"jet{order}{a.Prefix}:{string.Join(",", active.Select(r => string.Concat(r.Select(b => b ? '1' : '0'))))}";
        var jet = Subgraphs.Derived(Callee, key, () =>
        {
            var jg = new Graph(Callee.DType);
            var primals = GraphWalk.MirrorInputs(Callee, jg);
            var coefs = Callee.Inputs.Select((input, i) => Enumerable.Range(1, order)
                .Select(k => active[i][k - 1] ? jg.Input(new Shape([.. a.Prefix, .. input.Shape]), $"{GraphWalk.InputName(input)}_{k}") : null).ToArray()).ToArray();
            var outs = Jet.Apply(Callee, primals, coefs, order, a.Prefix);
            // Outputs: y₁..y_K of every output, output-major (zero coefficients materialised).
            jg.SetOutputs([.. outs.SelectMany((jetOut, o) => Enumerable.Range(1, order).Select(k =>
                jetOut[k] ?? Fn.Zeros(jg, new Shape([.. a.Prefix, .. Callee.Outputs[o].Shape]))))]);
            return jg;
        });
        var args = new List<Node>(a.Primals);
        for (int i = 0; i < n; i++)
            for (int k = 1; k <= order; k++)
                if (a.X(i, k) is { } xk) args.Add(xk);
        var y = new Node?[order + 1];
        for (int k = 1; k <= order; k++) y[k] = a.Graph.Apply(new CallOp(jet, Select * order + k - 1), [.. args]);
        return y;
    }

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node cotangent)
    {
        var vjp = Subgraphs.Derived(Callee, $"vjp:{Select}", () =>
        {
            var h = new Graph(Callee.DType);
            var ins = GraphWalk.MirrorInputs(Callee, h);
            var ct = h.Input(Callee.Outputs[Select].Shape, "ct");
            var outCts = new Node?[Callee.Outputs.Count];
            outCts[Select] = ct;
            var (_, cts) = Transforms.Vjp.Apply(Callee, ins, outCts);
            h.SetOutputs([.. cts.Select((c, i) => c ?? Fn.Zeros(h, ins[i].Shape))]);
            return h;
        });
        return [.. node.Inputs.Select((_, i) => (Node?)node.Graph.Apply(new CallOp(vjp, i), [.. node.Inputs, cotangent]))];
    }
}

/// <summary>Applying graphs as calls, and the pass that inlines calls where that is profitable.</summary>
public static class Calls
{
    /// <summary>
    /// Applies <paramref name="callee"/> to <paramref name="args"/> (nodes of one graph, one per input, same
    /// shapes): one call node per output of the callee.
    /// </summary>
    /// <exception cref="ShapeException">An argument's shape differs from the callee's input.</exception>
    public static Node[] Apply(Graph callee, params Node[] args)
    {
        ArgumentNullException.ThrowIfNull(callee);
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0) throw new ArgumentException("call: a callee needs at least one argument (the graph the call belongs to is that of its arguments).", nameof(args));
        var g = (args.FirstOrDefault(x => x?.Op is not ConstantOp) ?? args[0] ?? throw new ArgumentNullException(nameof(args))).Graph;
        return [.. Enumerable.Range(0, callee.Outputs.Count).Select(o => g.Apply(new CallOp(callee, o), args))];
    }

    /// <summary>
    /// The inline pass: a copy of <paramref name="g"/> in which every call whose callee is small (at most
    /// <paramref name="maxNodes"/> nodes that compute something) or applied at one site only is replaced by
    /// a copy of the callee's computation, recursively (calls inside an inlined callee are considered too).
    /// Calls to a larger callee applied at several sites stay calls, so the callee stays one graph.
    /// </summary>
    public static Graph Inline(Graph g, int maxNodes = 8)
    {
        ArgumentNullException.ThrowIfNull(g);
        if (maxNodes < 0) throw new ArgumentOutOfRangeException(nameof(maxNodes), maxNodes, $"inline: maxNodes must be ≥ 0, got {maxNodes}.");
        var sites = new Dictionary<Graph, HashSet<string>>();
        foreach (var n in GraphWalk.Reachable(g))
            if (n.Op is CallOp c)
            {
                if (!sites.TryGetValue(c.Callee, out var set)) sites[c.Callee] = set = [];
                set.Add(string.Join(",", n.Inputs.Select(i => i.Id)));
            }
        bool Profitable(CallOp c) =>
            sites[c.Callee].Count <= 1 || c.Callee.Nodes.Count(x => x.Op is not InputOp) <= maxNodes;

        var target = new Graph(g.DType);
        var cache = new Dictionary<(Graph, string), Node[]>();
        var map = GraphWalk.Copy(g, target, GraphWalk.MirrorInputs(g, target), (op, args) =>
        {
            if (op is not CallOp call || !Profitable(call)) return target.Apply(op, args);
            var key = (call.Callee, string.Join(",", args.Select(x => x.Id)));
            if (!cache.TryGetValue(key, out var outs))
                cache[key] = outs = Transforms.Inline.Apply(Inline(call.Callee, maxNodes), args);
            return outs[call.Select];
        });
        target.SetOutputs([.. g.Outputs.Select(o => map[o])]);
        return target;
    }
}
