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

/// <summary>The jet of each output with its owners (null: dense), and where and why tangents were densified.</summary>
/// <param name="Outputs">Per output of the function, the coefficients y₀..y_K (null = zero).</param>
/// <param name="OutputGroups">Per output, the groupings that give the owners of its block-sparse coefficients (one or
/// two), or null when they are dense.</param>
/// <param name="Densifications">The nodes where block-sparse tangents met a mixing step, in graph order.</param>
/// <param name="SparseNodes">Nodes of the function whose coefficients stayed block-sparse (one or two owners).</param>
/// <param name="DenseNodes">Nodes of the function with dense coefficients.</param>
/// <param name="PairNodes">Of the block-sparse nodes, those whose elements have two owners (pair features).</param>
public sealed record GroupedJetResult(Node?[][] Outputs, AxisGroups[]?[] OutputGroups, IReadOnlyList<Densification> Densifications, int SparseNodes, int DenseNodes,
    int PairNodes = 0);

/// <summary>
/// Taylor mode (as <see cref="Jet"/>, same derivative convention) with block-sparse coefficients for grouped
/// quantities, the structured-tangent analysis behind the particle-sparse forward Laplacian.
/// <para>
/// The directions are the G·C coordinate directions e_{g·C + c} of G groups (particles) of C coordinates each.
/// A coefficient is either dense, with the direction prefix [G·C], or block-sparse: each element has one or two
/// owners, each given by a grouping (<see cref="AxisGroups"/>: the owner is a function of the element's index
/// along one axis), and the prefix is [P·C] for P owners. Slot p·C + c holds the element's jet along direction
/// o_p·C + c of its owner o_p; all other directions are zero there. A per-particle quantity h_i (one owner) needs
/// C numbers per element instead of G·C; a pair feature g_ij (owners i and j, e.g. built from r_i − r_j) needs 2C.
/// Where the two owners of an element coincide (the diagonal i = j), the second slot is zero and the first holds
/// the jet along that particle's directions, so that the slots of every element add up to its tangent over all
/// directions, and the sum of the top coefficient over the slots is the sum over all directions.
/// </para>
/// <para>
/// Each node keeps block-sparse coefficients when its primitive declares, for each owner grouping of each input,
/// that every output element depends on input elements of one owner only (<see cref="Primitive.CarriedGroups"/>:
/// elementwise maps, and maps acting on other axes), and the inputs' owners together are at most two groupings.
/// Inputs whose owners differ from the node's (a one-owner input meeting a pair, or r_i meeting r_j) are re-expressed
/// in the node's owners first: slot t of owner u_t takes the input's slots whose owner equals u_t element by
/// element, the second slot masked to zero where u_1 = u_2. Where that needs a mask varying over the elements, the
/// node must be elementwise (the input is expanded along the masked axes). The node's Taylor rule then runs on the
/// P·C slots, which is exact because a rule treats the direction prefix as a batch. Otherwise the block-sparse
/// inputs are expanded to dense (<see cref="GroupScatterOp"/>) and the node is recorded as a
/// <see cref="Densification"/> with the reason. Never silently: every densification is listed.
/// </para>
/// </summary>
public static class GroupedJet
{
    /// <summary>
    /// Emits the jet of <paramref name="g"/> into the graph of <paramref name="primals"/>.
    /// <paramref name="coefficients"/>[i][k−1] is x_k of input i (null = zero): shape [G·C] + input shape when
    /// <paramref name="groups"/>[i] is null, else [C] + input shape, block-sparse with that grouping (one owner).
    /// <paramref name="maxOwners"/> is 2 to let pair features keep two-owner tangents, 1 to densify them.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The lists do not match the function's inputs, or the counts are below 1.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="order"/> is below 1 or <paramref name="maxOwners"/> is not 1 or 2.</exception>
    /// <exception cref="ShapeException">A coefficient does not have the shape its grouping implies.</exception>
    public static GroupedJetResult Apply(Graph g, IReadOnlyList<Node> primals, IReadOnlyList<Node?[]> coefficients, IReadOnlyList<AxisGroups?> groups,
        int order, int components, int groupCount, int maxOwners = 2)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(primals);
        ArgumentNullException.ThrowIfNull(coefficients);
        ArgumentNullException.ThrowIfNull(groups);
        if (order < 1) throw new ArgumentOutOfRangeException(nameof(order), order, $"grouped jet: order must be ≥ 1, got {order}.");
        if (maxOwners is < 1 or > 2) throw new ArgumentOutOfRangeException(nameof(maxOwners), maxOwners, $"grouped jet: an element has one or two owners, got a limit of {maxOwners}.");
        if (components < 1 || groupCount < 1)
            throw new ArgumentException($"grouped jet: needs at least one group and one component per group; got {groupCount} groups of {components}.");
        GraphWalk.CheckInputs(g, primals, "grouped jet");
        if (coefficients.Count != g.Inputs.Count || groups.Count != g.Inputs.Count)
            throw new ArgumentException($"grouped jet: {coefficients.Count} coefficient lists and {groups.Count} groupings for a function of {g.Inputs.Count} input(s).");
        var target = primals.Count > 0 ? primals[0].Graph : throw new ArgumentException("grouped jet: the function has no inputs.");
        Shape sparse = new(components), dense = new(components * groupCount);

        var jets = new Dictionary<Node, Node?[]>();
        var grouping = new Dictionary<Node, AxisGroups[]?>();
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
            grouping[g.Inputs[i]] = groups[i] is { } one ? [one] : null;
        }

        var report = new List<Densification>();
        int sparseNodes = 0, denseNodes = 0, pairNodes = 0;
        Node?[] Dense(Node source)
        {
            if (grouping[source] is not { } gs) return jets[source];
            if (densified.TryGetValue(source, out var done)) return done;
            var jet = jets[source];
            var d = new Node?[order + 1];
            d[0] = jet[0];
            AxisGroups[] shifted = [.. gs.Select(o => o with { Axis = o.Axis + 1 })];
            for (int k = 1; k <= order; k++)
                d[k] = jet[k] is { } xk ? GroupScatterOp.Emit(xk, 0, shifted, groupCount) : null;
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

            // The owners each moving input carries to the output, in output coordinates.
            var carried = new Dictionary<int, AxisGroups[]>();
            string? reason = null;
            foreach (int i in moving)
            {
                if (grouping[ins[i]] is not { } gi) { reason ??= $"input {i} {ins[i].Shape} depends on all particles (already dense)"; continue; }
                var mapped = new AxisGroups[gi.Length];
                for (int p = 0; p < gi.Length && reason is null; p++)
                {
                    if (node.Op.CarriedGroups(node, i, gi[p]) is { } o) mapped[p] = o;
                    else reason = $"{node.Op.Name} mixes particles along axis {gi[p].Axis} of input {i} {ins[i].Shape}";
                }
                carried[i] = mapped;
            }
            AxisGroups[]? owners = null;
            if (reason is null)
            {
                // A pair input fixes the order of the owners; one-owner inputs add theirs in input order.
                var union = new List<AxisGroups>();
                foreach (var o in carried.Values.OrderByDescending(v => v.Length).SelectMany(v => v))
                    if (!union.Contains(o)) union.Add(o);
                if (union.Count > maxOwners)
                    reason = maxOwners == 1
                        ? $"inputs belong to different particles: {union[0]} vs {union[1]} (two-owner tangents are off)"
                        : $"inputs belong to more than two particles: {string.Join(", ", union)}";
                else owners = [.. union];
            }
            Node?[][]? inputJets = null;
            if (owners is not null)
            {
                inputJets = new Node?[ins.Length][];
                for (int i = 0; i < ins.Length && reason is null; i++)
                    inputJets[i] = carried.TryGetValue(i, out var from)
                        ? Reexpress(jets[ins[i]], from, owners, node, i, components, order, out reason) ?? []
                        : jets[ins[i]];
            }
            bool keep = reason is null && owners is not null;
            if (!keep && moving.Any(i => grouping[ins[i]] is not null)) report.Add(new Densification(node, reason!));
            if (!keep) inputJets = ins.Select(Dense).ToArray();
            var prefix = keep ? new Shape(components * owners!.Length) : dense;
            var y = node.Op.Taylor(new JetRuleArgs(node, primalIns, inputJets!, y0, order, prefix));
            var expected = new Shape([.. prefix, .. y0.Shape]);
            for (int k = 1; k <= order; k++)
                jet[k] = y[k] is { } yk ? Conform(yk, expected, node, k) : null;
            grouping[node] = keep ? owners : null;
            if (keep) { sparseNodes++; if (owners!.Length == 2) pairNodes++; }
            else denseNodes++;
        });
        return new([.. g.Outputs.Select(o => jets[o])], [.. g.Outputs.Select(o => grouping[o])], report, sparseNodes, denseNodes, pairNodes);
    }

    /// <summary>
    /// The jet of input <paramref name="input"/> of <paramref name="node"/>, whose slots follow the owners
    /// <paramref name="from"/> (carried to output coordinates), re-expressed in the owners <paramref name="to"/>:
    /// slot t = Σ_p M_tp ⊙ slot p with M_tp(e) = [from_p(e) = to_t(e)], and for the second slot also [to_1(e) ≠ to_2(e)].
    /// Null with <paramref name="reason"/> set when a mask varies over the elements and the node is not elementwise,
    /// or masks an axis the input does not have.
    /// </summary>
    private static Node?[]? Reexpress(Node?[] jet, AxisGroups[] from, AxisGroups[] to, Node node, int input, int components, int order, out string? reason)
    {
        reason = null;
        if (from.SequenceEqual(to)) return jet;
        var outShape = node.Shape;
        var inShape = node.Inputs[input].Shape;
        int shift = outShape.Rank - inShape.Rank;
        var masks = new (Node? Mask, bool Any)[to.Length, from.Length];
        for (int t = 0; t < to.Length; t++)
            for (int p = 0; p < from.Length; p++)
            {
                var (values, dims) = OwnerMask(outShape, from[p], to, t);
                if (values.All(v => v == 0)) { masks[t, p] = (null, false); continue; }
                if (values.All(v => v == 1)) { masks[t, p] = (null, true); continue; }
                if (!node.Op.IsElementwise || dims.Take(shift).Any(d => d != 1))
                {
                    reason = $"{node.Op.Name} joins the particles of {to[0]} and {to[1]} on elements where they may coincide, and is not elementwise";
                    return null;
                }
                masks[t, p] = (jet[0]!.Graph.Constant(NDArray.FromArray(values, new Shape([1, .. dims.Skip(shift)]))), true);
            }
        var result = new Node?[order + 1];
        result[0] = jet[0];
        for (int k = 1; k <= order; k++)
        {
            if (jet[k] is not { } xk) continue;
            var slots = new Node?[to.Length];
            for (int t = 0; t < to.Length; t++)
                for (int p = 0; p < from.Length; p++)
                {
                    if (!masks[t, p].Any) continue;
                    var part = from.Length == 1 ? xk : Fn.Slice(xk, 0, p * components, components);
                    if (masks[t, p].Mask is { } m) part = part * m;
                    slots[t] = slots[t] is { } acc ? acc + part : part;
                }
            var zero = new Shape([components, .. inShape]);
            var common = slots.Aggregate(zero, (s, n) => n is null ? s : Shape.Broadcast(s, n.Shape, "grouped jet"));
            result[k] = Fn.Concat(0, [.. slots.Select(n => n is null ? Fn.Zeros(xk.Graph, common) : n.Shape == common ? n : Fn.BroadcastTo(n, common))]);
        }
        return result;
    }

    /// <summary>M_tp over the output's elements, as values and a shape with the output's extents along the axes of
    /// the groupings involved and 1 elsewhere.</summary>
    private static (double[] Values, int[] Dims) OwnerMask(Shape outShape, AxisGroups from, AxisGroups[] to, int t)
    {
        AxisGroups[] involved = t == 0 ? [from, to[0]] : [from, .. to];
        var axes = involved.Select(o => o.Axis).Distinct().Order().ToArray();
        var dims = Enumerable.Repeat(1, outShape.Rank).ToArray();
        foreach (int a in axes) dims[a] = outShape[a];
        long size = axes.Aggregate(1L, (acc, a) => acc * outShape[a]);
        var values = new double[size];
        var index = new int[outShape.Rank];
        for (long e = 0; e < size; e++)
        {
            long rest = e;
            for (int j = axes.Length - 1; j >= 0; j--)
            {
                index[axes[j]] = (int)(rest % outShape[axes[j]]);
                rest /= outShape[axes[j]];
            }
            int Owner(AxisGroups o) => o.GroupOf(index[o.Axis]);
            bool same = Owner(from) == Owner(to[t]);
            values[e] = same && (t == 0 || Owner(to[0]) != Owner(to[1])) ? 1 : 0;
        }
        return (values, dims);
    }

    private static Node Conform(Node y, Shape expected, Node source, int k)
    {
        if (y.Shape == expected) return y;
        if (y.Shape.BroadcastsTo(expected) && y.Rank == expected.Rank) return Fn.BroadcastTo(y, expected);
        throw new InvalidOperationException($"grouped jet: the Taylor rule of '{source.Op.Name}' returned coefficient {k} of shape {y.Shape}; expected {expected}.");
    }
}
