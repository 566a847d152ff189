using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Transforms;

namespace JetSharp.Control;

/// <summary>A value of a jet graph: input or output <see cref="Index"/> of the original graph, Taylor coefficient <see cref="K"/> (0 = primal).</summary>
internal readonly record struct JetSlot(int Index, int K);

/// <summary>
/// What <c>cond</c> and <c>while</c> share: jets of a subgraph as a graph of its own (so a transformed
/// branch or body is again a subgraph of the same structured op), trimming, and the packing of several
/// results into the one output a node has.
/// </summary>
internal static class SubgraphJets
{
    private static int _next;

    /// <summary>A fresh identity for a structured op (its attributes), so common-subexpression elimination never merges two of them.</summary>
    public static int NextId() => Interlocked.Increment(ref _next);

    /// <summary><paramref name="shape"/> behind the direction axes <paramref name="prefix"/>.</summary>
    public static Shape Prefixed(Shape prefix, Shape shape) => new([.. prefix, .. shape]);

    /// <summary>A copy of <paramref name="g"/> holding only the nodes its outputs need (every input is kept).</summary>
    public static Graph Trim(Graph g)
    {
        var c = new Graph(g.DType);
        var map = GraphWalk.Copy(g, c, GraphWalk.MirrorInputs(g, c));
        c.SetOutputs([.. g.Outputs.Select(o => map[o])]);
        return c;
    }

    /// <summary>
    /// The jet of order <paramref name="order"/> of <paramref name="g"/> as a graph whose inputs are the
    /// <paramref name="inputs"/> slots (every primal must be present; a coefficient that is absent is zero)
    /// and whose outputs are the <paramref name="outputs"/> slots (a coefficient known to be zero is
    /// materialised as zeros). Coefficients carry the direction axes <paramref name="prefix"/>. When only
    /// primal outputs are asked for, no Taylor rule runs at all (a loop condition reads only the primal).
    /// </summary>
    public static Graph JetGraph(Graph g, IReadOnlyList<JetSlot> inputs, IReadOnlyList<JetSlot> outputs, int order, Shape prefix)
    {
        int effective = outputs.Any(s => s.K > 0) ? order : 0;
        var jg = new Graph(g.DType);
        var primals = new Node?[g.Inputs.Count];
        var coefs = g.Inputs.Select(_ => new Node?[effective]).ToArray();
        foreach (var s in inputs)
        {
            var source = g.Inputs[s.Index];
            var name = GraphWalk.InputName(source) + (s.K == 0 ? "" : $"_{s.K}");
            var node = jg.Input(s.K == 0 ? source.Shape : Prefixed(prefix, source.Shape), name);
            if (s.K == 0) primals[s.Index] = node;
            else if (s.K <= effective) coefs[s.Index][s.K - 1] = node;
        }
        if (primals.Any(p => p is null)) throw new InvalidOperationException("jet graph: every primal input needs a slot.");
        Node?[][] jets = g.Inputs.Count == 0
            ? CopyWithoutInputs(g, jg)
            : Jet.Apply(g, primals!, coefs, effective, prefix);
        jg.SetOutputs([.. outputs.Select(s => (s.K < jets[s.Index].Length ? jets[s.Index][s.K] : null)
            ?? Fn.Zeros(jg, s.K == 0 ? g.Outputs[s.Index].Shape : Prefixed(prefix, g.Outputs[s.Index].Shape)))]);
        return Trim(jg);
    }

    private static Node?[][] CopyWithoutInputs(Graph g, Graph target)
    {
        var map = GraphWalk.Copy(g, target, []);
        return [.. g.Outputs.Select(o => new Node?[] { map[o] })];
    }

    /// <summary>Component <paramref name="index"/> of a packed node (the flattened components one after another), with its shape.</summary>
    public static Node Component(Node packed, IReadOnlyList<Shape> shapes, int index)
    {
        int offset = 0;
        for (int i = 0; i < index; i++) offset += shapes[i].Size;
        var flat = shapes.Count == 1 ? packed : Fn.Slice(packed, 0, offset, shapes[index].Size);
        return Fn.Reshape(flat, shapes[index].ToArray());
    }

    /// <summary>
    /// Coefficient k ≥ 1 of a packed output from the coefficients of its components (each prefix + own shape):
    /// shape prefix + [Σ sizes], the components flattened after the direction axes.
    /// </summary>
    public static Node PackCoefficient(IReadOnlyList<Node> parts, Shape prefix)
    {
        var flat = parts.Select(p => Fn.Reshape(p, [.. prefix, p.Shape.Size / Math.Max(1, prefix.Size)])).ToArray();
        return flat.Length == 1 ? flat[0] : Fn.Concat(prefix.Rank, flat);
    }

    /// <summary>The packed shape [Σ sizes] of components of the given shapes.</summary>
    public static Shape PackedShape(IEnumerable<Shape> shapes) => new(shapes.Sum(s => s.Size));

    /// <summary>Writes <paramref name="parts"/> one after another into <paramref name="output"/>.</summary>
    public static void Pack<T>(IReadOnlyList<NDArray<T>> parts, NDArray<T> output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int offset = 0;
        foreach (var p in parts)
        {
            p.Data.AsSpan(0, p.Size).CopyTo(output.Data.AsSpan(offset));
            offset += p.Size;
        }
    }

    /// <summary>A single-element predicate as a double; NaN is refused with a message naming <paramref name="what"/>.</summary>
    public static double Predicate<T>(NDArray<T> p, string what) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double v = double.CreateTruncating(p.Data[0]);
        if (double.IsNaN(v)) throw new InvalidOperationException($"{what} is NaN; a predicate must be a number (> 0 means true).");
        return v;
    }
}
