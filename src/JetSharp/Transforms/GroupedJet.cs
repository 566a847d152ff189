using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Transforms;

/// <summary>One place where block-sparse tangents became dense, with the reason.</summary>
/// <param name="Node">The node of the traced function whose inputs were densified.</param>
/// <param name="Reason">Why, e.g. "matmul contracts the particle axis 2 of input 0 [N, 4, 4]".</param>
public sealed record Densification(Node Node, string Reason)
{
    /// <summary>Where the node came from in the user's code (method and line), when the function was traced with origins.</summary>
    public string? Origin => Node.Origin;

    /// <summary>"%12 matmul : [2, 4, 4] at Orbitals (Net.cs:42): matmul contracts …".</summary>
    public override string ToString() => $"%{Node.Id} {Node.Op} : {Node.Shape}{(Origin is null ? "" : $" at {Origin}")}: {Reason}";
}

/// <summary>The jet of each output with its grouping (null: dense), and where and why tangents were densified.</summary>
/// <param name="Outputs">Per output of the function, the coefficients y₀..y_K (null = zero).</param>
/// <param name="OutputGroups">Per output, the grouping of its block-sparse coefficients, or null when they are dense.</param>
/// <param name="Densifications">The nodes where block-sparse tangents met a mixing step, in graph order.</param>
/// <param name="SparseNodes">Nodes of the function whose coefficients stayed block-sparse.</param>
/// <param name="DenseNodes">Nodes of the function with dense coefficients.</param>
public sealed record GroupedJetResult(Node?[][] Outputs, AxisGroups?[] OutputGroups, IReadOnlyList<Densification> Densifications, int SparseNodes, int DenseNodes);

/// <summary>
/// Taylor mode (as <see cref="Jet"/>, same derivative convention) with block-sparse coefficients for grouped
/// quantities, the structured-tangent analysis behind the particle-sparse forward Laplacian.
/// <para>
/// The directions are the G·C coordinate directions e_{g·C + c} of G groups (particles) of C coordinates each.
/// A coefficient is either dense, with the direction prefix [G·C], or block-sparse: prefix [C] and a grouping of
/// its elements (<see cref="AxisGroups"/>), component c of an element standing for direction g·C + c of the
/// element's group g, all other directions being zero there. A per-particle quantity h_i depends on particle i's
/// coordinates only, so its coefficients of every order vanish along the other particles' directions: C numbers
/// per element instead of G·C.
/// </para>
/// <para>
/// Each node keeps block-sparse coefficients when its primitive declares that every output element depends on
/// one group only (<see cref="Primitive.CarriedGroups"/>: elementwise maps, and maps acting on other axes) and
/// all its inputs with coefficients agree on the output grouping; its Taylor rule then runs on the C components,
/// which is exact because a rule treats the direction prefix as a batch. Otherwise the block-sparse inputs are
/// expanded to dense (<see cref="GroupScatterOp"/>) and the node is recorded as a <see cref="Densification"/> with
/// the reason. Never silently: every densification is listed.
/// </para>
/// </summary>
public static class GroupedJet
{
    /// <summary>
    /// Emits the jet of <paramref name="g"/> into the graph of <paramref name="primals"/>.
    /// <paramref name="coefficients"/>[i][k−1] is x_k of input i (null = zero): shape [G·C] + input shape when
    /// <paramref name="groups"/>[i] is null, else [C] + input shape, block-sparse with that grouping.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The lists do not match the function's inputs, or the counts are below 1.</exception>
    /// <exception cref="ShapeException">A coefficient does not have the shape its grouping implies.</exception>
    public static GroupedJetResult Apply(Graph g, IReadOnlyList<Node> primals, IReadOnlyList<Node?[]> coefficients, IReadOnlyList<AxisGroups?> groups,
        int order, int components, int groupCount)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(primals);
        ArgumentNullException.ThrowIfNull(coefficients);
        ArgumentNullException.ThrowIfNull(groups);
        if (order < 1) throw new ArgumentOutOfRangeException(nameof(order), order, $"grouped jet: order must be ≥ 1, got {order}.");
        if (components < 1 || groupCount < 1)
            throw new ArgumentException($"grouped jet: needs at least one group and one component per group; got {groupCount} groups of {components}.");
        GraphWalk.CheckInputs(g, primals, "grouped jet");
        if (coefficients.Count != g.Inputs.Count || groups.Count != g.Inputs.Count)
            throw new ArgumentException($"grouped jet: {coefficients.Count} coefficient lists and {groups.Count} groupings for a function of {g.Inputs.Count} input(s).");
        var target = primals.Count > 0 ? primals[0].Graph : throw new ArgumentException("grouped jet: the function has no inputs.");
        Shape sparse = new(components), dense = new(components * groupCount);

        var jets = new Dictionary<Node, Node?[]>();
        var grouping = new Dictionary<Node, AxisGroups?>();
        var densified = new Dictionary<Node, Node?[]>();
        for (int i = 0; i < g.Inputs.Count; i++)
        {
            var c = coefficients[i] ?? throw new ArgumentNullException(nameof(coefficients), $"grouped jet: the coefficient list of input {i} is null.");
            if (c.Length != order) throw new ArgumentException($"grouped jet: input {i} has {c.Length} coefficients, expected {order}.");
            var prefix = groups[i] is null ? dense : sparse;
            var expected = new Shape([.. prefix, .. g.Inputs[i].Shape]);
            if (c.FirstOrDefault(x => x is not null && x.Shape != expected) is { } bad)
                throw new ShapeException($"grouped jet: a coefficient of input {i} has shape {bad.Shape}; expected {expected}.");
            if (groups[i] is { } gi && (gi.Axis < 0 || gi.Axis >= g.Inputs[i].Rank || gi.Block < 1))
                throw new ArgumentException($"grouped jet: grouping {gi} does not fit input {i} of shape {g.Inputs[i].Shape}.");
            jets[g.Inputs[i]] = [primals[i], .. c];
            grouping[g.Inputs[i]] = groups[i];
        }

        var report = new List<Densification>();
        int sparseNodes = 0, denseNodes = 0;
        Node?[] Dense(Node source)
        {
            if (grouping[source] is not { } gs) return jets[source];
            if (densified.TryGetValue(source, out var done)) return done;
            var jet = jets[source];
            var d = new Node?[order + 1];
            d[0] = jet[0];
            for (int k = 1; k <= order; k++)
                d[k] = jet[k] is { } xk ? GroupScatterOp.Emit(xk, 0, gs with { Axis = gs.Axis + 1 }, groupCount) : null;
            return densified[source] = d;
        }

        GraphWalk.ForEachNode(g, target, node =>
        {
            var ins = node.InputArray;
            var primalIns = ins.Select(i => jets[i][0]!).ToArray();
            var y0 = target.Apply(node.Op, primalIns);
            var jet = new Node?[order + 1];
            jet[0] = y0;
            grouping[node] = null;
            jets[node] = jet;
            var moving = Enumerable.Range(0, ins.Length).Where(i => jets[ins[i]].Skip(1).Any(c => c is not null)).ToArray();
            if (moving.Length == 0) return;

            AxisGroups? carried = null;
            string? reason = null;
            foreach (int i in moving)
            {
                if (grouping[ins[i]] is not { } gi) { reason ??= $"input {i} {ins[i].Shape} depends on all particles (already dense)"; continue; }
                var out_ = node.Op.CarriedGroups(node, i, gi);
                if (out_ is null) reason ??= $"{node.Op.Name} mixes particles along axis {gi.Axis} of input {i} {ins[i].Shape}";
                else if (carried is null) carried = out_;
                else if (carried != out_) reason ??= $"inputs belong to different particles: {carried} vs {out_} from input {i} {ins[i].Shape}";
            }
            bool keep = reason is null && carried is not null;
            if (!keep && moving.Any(i => grouping[ins[i]] is not null)) report.Add(new Densification(node, reason!));
            var inputJets = keep ? ins.Select(i => jets[i]).ToArray() : ins.Select(Dense).ToArray();
            var prefix = keep ? sparse : dense;
            var y = node.Op.Taylor(new JetRuleArgs(node, primalIns, inputJets, y0, order, prefix));
            var expected = new Shape([.. prefix, .. y0.Shape]);
            for (int k = 1; k <= order; k++)
                jet[k] = y[k] is { } yk ? Conform(yk, expected, node, k) : null;
            grouping[node] = keep ? carried : null;
            if (keep) sparseNodes++; else denseNodes++;
        });
        return new([.. g.Outputs.Select(o => jets[o])], [.. g.Outputs.Select(o => grouping[o])], report, sparseNodes, denseNodes);
    }

    private static Node Conform(Node y, Shape expected, Node source, int k)
    {
        if (y.Shape == expected) return y;
        if (y.Shape.BroadcastsTo(expected) && y.Rank == expected.Rank) return Fn.BroadcastTo(y, expected);
        throw new InvalidOperationException($"grouped jet: the Taylor rule of '{source.Op.Name}' returned coefficient {k} of shape {y.Shape}; expected {expected}.");
    }
}
