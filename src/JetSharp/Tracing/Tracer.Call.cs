using JetSharp.Control;
using JetSharp.Ir;
using JetSharp.Tensors;

namespace JetSharp.Tracing;

// Functions as values inside a traced function: bodies traced with closures (captured values become
// explicit inputs), applied by call nodes.
public static partial class Tracer
{
    /// <summary>
    /// Traces <paramref name="f"/> into a body graph inside the graph being traced, then applies it to
    /// <paramref name="args"/>: returns one node per output of <paramref name="f"/>. Values of the enclosing
    /// trace that <paramref name="f"/> uses without receiving them (a closure) become extra inputs of the
    /// body, passed by the call. To apply one function many times as one callee, trace it once with
    /// <see cref="Function(Func{Node[], Node[]}, Shape[], DType, string[])"/> and apply it with <see cref="Call(Graph, Node[])"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> or an argument is null.</exception>
    /// <exception cref="ArgumentException">No arguments, or <paramref name="f"/> returns no outputs.</exception>
    public static Node[] Call(Func<Node[], Node[]> f, params Node[] args)
    {
        ArgumentNullException.ThrowIfNull(f);
        var outer = OuterGraph(args, "call");
        var (body, captured) = TraceBody(outer, f, [.. args.Select(a => a.Shape)], [.. args.Select((_, i) => $"a{i}")], "call");
        return Calls.Apply(body, [.. args, .. captured]);
    }

    /// <summary>Applies a traced function (e.g. from <see cref="Function(Func{Node[], Node[]}, Shape[], DType, string[])"/>) to <paramref name="args"/>: one call node per output; applying it again shares the callee.</summary>
    /// <exception cref="ShapeException">An argument's shape differs from the function's input.</exception>
    public static Node[] Call(Graph callee, params Node[] args) => Calls.Apply(callee, args);

    /// <summary>The graph the values belong to: that of the first value that is not a constant.</summary>
    private static Graph OuterGraph(IReadOnlyList<Node> values, string what)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) throw new ArgumentException($"{what}: needs at least one value of the graph being traced.");
        for (int i = 0; i < values.Count; i++)
            if (values[i] is null) throw new ArgumentNullException(nameof(values), $"{what}: value {i} is null.");
        return (values.FirstOrDefault(v => v.Op is not ConstantOp) ?? values[0]).Graph;
    }

    /// <summary>
    /// Traces <paramref name="f"/> on new inputs of the given shapes into a body graph nested in
    /// <paramref name="outer"/>. Values of <paramref name="outer"/> (or of graphs enclosing it) that the body
    /// uses become extra inputs, after the declared ones, and are returned as <c>Captured</c> (nodes of
    /// <paramref name="outer"/>, in input order).
    /// </summary>
    internal static (Graph Body, Node[] Captured) TraceBody(Graph outer, Func<Node[], Node[]> f, Shape[] shapes, string[] names, string what)
    {
        var body = new Graph(outer.DType) { RecordOrigins = true };
        var declared = shapes.Select((s, i) => body.Input(s, names[i])).ToArray();
        var captured = new List<Node>();
        var inputOf = new Dictionary<Node, Node>();
        body.Capture = x =>
        {
            if (inputOf.TryGetValue(x, out var known)) return known;
            var here = x.Graph == outer ? x
                : outer.Capture is { } enclosing ? enclosing(x)
                : throw new ArgumentException($"{what}: the body uses %{x.Id} {x.Shape}, a value of a graph that does not enclose it (mixing nodes of different traces).");
            var input = body.Input(x.Shape, $"captured{captured.Count}");
            captured.Add(here);
            return inputOf[x] = input;
        };
        var previous = outer.TracingBody;
        outer.TracingBody = body;
        try
        {
            var outs = f(declared) ?? throw new ArgumentException($"{what}: the body returned null instead of its outputs.");
            if (outs.Length == 0) throw new ArgumentException($"{what}: the body returned no outputs.");
            for (int i = 0; i < outs.Length; i++)
            {
                var o = outs[i] ?? throw new ArgumentException($"{what}: the body returned null as output {i}.");
                if (o.Graph != body) outs[i] = o.Op is ConstantOp ? body.Apply(o.Op) : body.Capture(o);
            }
            body.SetOutputs(outs);
        }
        finally
        {
            outer.TracingBody = previous;
            body.Capture = null;
            body.RecordOrigins = false;
        }
        return (body, [.. captured]);
    }

    /// <summary>
    /// Traces several functions over the same declared inputs as closures (a cond's branches, a loop's condition and
    /// body): each may use values of the enclosing trace, and every body gets all of them — the union, in one order —
    /// as extra inputs after the declared ones, so the bodies keep one signature. Returns the bodies and the captured
    /// values (nodes of <paramref name="outer"/>, in input order).
    /// </summary>
    internal static (Graph[] Bodies, Node[] Captured) TraceBodies(Graph outer, (Func<Node[], Node[]> F, string What)[] fs, Shape[] shapes, string[] names)
    {
        var traced = fs.Select(f => TraceBody(outer, f.F, shapes, names, f.What)).ToArray();
        var captured = traced.SelectMany(t => t.Captured).Distinct().ToArray();
        return ([.. traced.Select(t => t.Captured.SequenceEqual(captured) ? t.Body : Widen(t.Body, shapes.Length, t.Captured, captured))], captured);
    }

    /// <summary><paramref name="body"/> taking all of <paramref name="captured"/> as extra inputs, of which it reads its <paramref name="own"/>.</summary>
    private static Graph Widen(Graph body, int declared, Node[] own, Node[] captured)
    {
        var g = new Graph(body.DType);
        var inputs = body.Inputs.Take(declared).Select(i => g.Input(i.Shape, GraphWalk.InputName(i))).ToArray();
        var extra = captured.Select((c, j) => g.Input(c.Shape, $"captured{j}")).ToArray();
        g.SetOutputs(Transforms.Inline.Apply(body, [.. inputs, .. own.Select(c => extra[Array.IndexOf(captured, c)])]));
        return g;
    }
}
