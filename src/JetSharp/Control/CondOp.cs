using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using static JetSharp.Control.SubgraphJets;

namespace JetSharp.Control;

/// <summary>
/// <c>cond(p, a₁…aₙ)</c>: <see cref="Then"/>(a) when the single-element predicate p is &gt; 0, else
/// <see cref="Else"/>(a). Both branches are graphs with the operands' shapes as inputs and one output
/// of one shape. Only the taken branch runs; a NaN predicate is an error.
/// <para>Derivatives are those of the taken branch: the predicate is piecewise constant and gets no
/// tangent and no cotangent, so at the switching boundary (p = 0, where the else branch is taken) the
/// derivative is the else branch's one-sided derivative. Each transform of a cond is a cond of the
/// transformed branches: the VJP is one cond per operand (of the branches' VJPs), the Taylor rule one
/// cond per coefficient y_k (of the branches' jets); each of them runs the primal part of its branch
/// again (the IR's nodes have one output).</para>
/// </summary>
internal sealed class CondOp : Primitive, ISubgraphOp
{
    public CondOp(Graph then, Graph otherwise)
    {
        Then = then;
        Else = otherwise;
        Id = NextId();
    }

    /// <summary>The branch taken when the predicate is &gt; 0.</summary>
    public Graph Then { get; }
    /// <summary>The branch taken otherwise.</summary>
    public Graph Else { get; }
    private int Id { get; }

    public override string Name => "cond";
    public override string Attributes => $"#{Id}";

    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1 + Then.Inputs.Count, Name);
        if (inputs[0].Shape.Size != 1)
            throw new ShapeException($"cond: the predicate must have one element, got shape {inputs[0].Shape}.");
        for (int i = 0; i < Then.Inputs.Count; i++)
            if (inputs[1 + i].Shape != Then.Inputs[i].Shape)
                throw new ShapeException($"cond: operand {i} has shape {inputs[1 + i].Shape}; the branches were traced for {Then.Inputs[i].Shape}.");
        return Then.Outputs[0].Shape;
    }

    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var branch = Predicate(inputs[0], "cond: the predicate") > 0 ? Then : Else;
        var result = context.Run(branch, inputs[1..])[0];
        result.Data.AsSpan(0, result.Size).CopyTo(output.Data);
    }

    public override Node?[] Vjp(Node node, Node cotangent)
    {
        int n = Then.Inputs.Count;
        var thenVjp = BranchVjp(Then);
        var elseVjp = BranchVjp(Else);
        var cts = new Node?[1 + n];
        for (int i = 0; i < n; i++)
        {
            if (!thenVjp.Used[i] && !elseVjp.Used[i]) continue;
            var t = Select(thenVjp.Graph, i);
            var e = Select(elseVjp.Graph, i);
            cts[1 + i] = node.Graph.Apply(new CondOp(t, e), [node.Inputs[0], .. node.Inputs.Skip(1), cotangent]);
        }
        return cts;
    }

    /// <summary>(operands…, ȳ) → (ā₁…āₙ) of one branch; Used[i] is false where āᵢ is structurally zero.</summary>
    private static (Graph Graph, bool[] Used) BranchVjp(Graph branch)
    {
        var g = new Graph(branch.DType);
        var ins = GraphWalk.MirrorInputs(branch, g);
        var ct = g.Input(branch.Outputs[0].Shape, "ct");
        var (_, cts) = Transforms.Vjp.Apply(branch, ins, [ct]);
        g.SetOutputs([.. cts.Select((c, i) => c ?? Fn.Zeros(g, ins[i].Shape))]);
        return (g, [.. cts.Select(c => c is not null)]);
    }

    /// <summary>The same inputs, output <paramref name="index"/> only.</summary>
    private static Graph Select(Graph g, int index)
    {
        var c = new Graph(g.DType);
        var map = GraphWalk.Copy(g, c, GraphWalk.MirrorInputs(g, c));
        c.SetOutputs(map[g.Outputs[index]]);
        return Trim(c);
    }

    public override Node?[] Taylor(JetRuleArgs a)
    {
        var y = new Node?[a.Order + 1];
        int n = Then.Inputs.Count;
        var slots = new List<JetSlot>();
        var nodes = new List<Node>();
        for (int i = 0; i < n; i++) { slots.Add(new(i, 0)); nodes.Add(a.Primals[1 + i]); }
        for (int k = 1; k <= a.Order; k++)
            for (int i = 0; i < n; i++)
                if (a.X(1 + i, k) is { } x) { slots.Add(new(i, k)); nodes.Add(x); }
        if (slots.Count == n) return y;   // only the predicate moves: the branch is locally fixed
        for (int k = 1; k <= a.Order; k++)
        {
            var t = JetGraph(Then, slots, [new(0, k)], a.Order, a.Prefix);
            var e = JetGraph(Else, slots, [new(0, k)], a.Order, a.Prefix);
            y[k] = a.Graph.Apply(new CondOp(t, e), [a.Primals[0], .. nodes]);
        }
        return y;
    }

    public IReadOnlyList<Graph> Bodies => [Then, Else];

    /// <summary>Bodies are [then, else].</summary>
    public Primitive WithBodies(IReadOnlyList<Graph> bodies)
    {
        if (bodies.Count != 2) throw new ArgumentException($"cond: expects 2 bodies (then, else), got {bodies.Count}.", nameof(bodies));
        Subgraphs.CheckSameSignature(Then, bodies[0], "cond (then)");
        Subgraphs.CheckSameSignature(Else, bodies[1], "cond (else)");
        return new CondOp(bodies[0], bodies[1]);
    }
}
