using System.Collections.Concurrent;
using System.Threading;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Tensors;

namespace JetSharp.Transforms;

/// <summary>
/// Custom derivatives for a composition (as JAX's <c>custom_jvp</c>): the value is computed by the
/// composition <c>f</c>, the derivatives only from a user-given JVP rule <c>jvp(x, v)</c>, linear in the
/// tangents v. Every rule follows from that one: the VJP transposes v ↦ jvp(x, v) (reverse mode of the JVP
/// graph with respect to v); the Taylor rule of any order uses y′ = jvp(x, x′), so
/// y_k = (jvp(x(t), x′(t)))_(k−1): the (K−1)-jet of the JVP function along the path whose coefficients are
/// (x_j, x_(j+1)). The JVP function is differentiated again by its own primitives' rules, so the custom
/// function works in every transform, strategy and nesting, and through collapsing.
/// <para>The JVP function is traced again with leading direction axes on all its inputs (the primal
/// broadcast), so it must treat leading axes as a batch (elementwise and row-wise compositions do).</para>
/// </summary>
public static class CustomJvp
{
    /// <summary>f(inputs) with derivatives given by <paramref name="jvp"/>(x, v) (one tangent per input).</summary>
    /// <param name="f">The composition computing the value.</param>
    /// <param name="jvp">The directional derivative of f at x along v, linear in v.</param>
    /// <param name="inputs">The arguments (nodes of one graph).</param>
    public static Node Apply(Func<Node[], Node> f, Func<Node[], Node[], Node> jvp, params Node[] inputs)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(jvp);
        if (inputs.Length == 0) throw new ArgumentException("custom_jvp: no inputs.", nameof(inputs));
        var op = new CustomJvpOp(f, jvp, inputs[0].DType, [.. inputs.Select(i => i.Shape)]);
        return Fn.Apply(op, inputs);
    }
}

/// <summary>The primitive of <see cref="CustomJvp.Apply"/>: value from a traced composition, derivatives from a JVP rule.</summary>
public sealed class CustomJvpOp : Primitive
{
    private static long _nextId;
    private readonly long _id = Interlocked.Increment(ref _nextId);
    private readonly Func<Node[], Node[], Node> _jvp;
    private readonly ConcurrentDictionary<string, Graph> _tangentGraphs = new();

    internal CustomJvpOp(Func<Node[], Node> f, Func<Node[], Node[], Node> jvp, DType dtype, Shape[] shapes)
    {
        _jvp = jvp;
        Value = new Graph(dtype);
        var xs = shapes.Select((s, i) => Value.Input(s, $"x{i}")).ToArray();
        Value.SetOutputs(f(xs));
        var probe = Tangent(default);
        if (probe.Outputs[0].Shape != Value.Outputs[0].Shape)
            throw new ShapeException($"custom_jvp: the JVP returns {probe.Outputs[0].Shape}; the function returns {Value.Outputs[0].Shape}.");
    }

    /// <summary>The composition that computes the value.</summary>
    public Graph Value { get; }
    /// <inheritdoc/>
    public override string Name => "custom_jvp";
    /// <inheritdoc/>
    public override string Attributes => $"#{_id}";

    /// <summary>The JVP function traced with inputs (x…, v…) of shapes prefix + input shape.</summary>
    private Graph Tangent(Shape prefix) => _tangentGraphs.GetOrAdd(prefix.ToString(), _ =>
    {
        var g = new Graph(Value.DType);
        var xs = Value.Inputs.Select((x, i) => g.Input(new Shape([.. prefix, .. x.Shape]), $"x{i}")).ToArray();
        var vs = Value.Inputs.Select((x, i) => g.Input(new Shape([.. prefix, .. x.Shape]), $"v{i}")).ToArray();
        g.SetOutputs(_jvp(xs, vs));
        return g;
    });

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        if (inputs.Count != Value.Inputs.Count || inputs.Select((x, i) => x.Shape != Value.Inputs[i].Shape).Any(b => b))
            throw new ShapeException($"custom_jvp: defined for inputs {string.Join(", ", Value.Inputs.Select(i => i.Shape))}, applied to {string.Join(", ", inputs.Select(i => i.Shape))}.");
        return Value.Outputs[0].Shape;
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) =>
        context.Run(Value, inputs)[0].Data.CopyTo(output.Data, 0);

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        // Transpose v ↦ jvp(x, v): reverse mode of the JVP graph with respect to v (at v = 0; it is linear in v).
        var t = Tangent(default);
        var x = node.Inputs.ToArray();
        Node[] zeros = [.. x.Select(i => Fn.Zeros(node.Graph, i.Shape))];
        var wrt = t.Inputs.Select((_, i) => i >= x.Length).ToArray();
        var (_, cts) = Transforms.Vjp.Apply(t, [.. x, .. zeros], [ct], wrt);
        return cts[x.Length..];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        int order = a.Order, n = a.InputCount;
        var prefix = a.Prefix;
        var t = Tangent(prefix);
        // The path (x(t), x′(t)): primals x₀ (broadcast over the direction axes) and x₁ (zero when null); coefficient j: x_j and x_(j+1).
        Node Lift(Node x0, int i) => Fn.BroadcastTo(x0, new Shape([.. prefix, .. a.Primals[i].Shape]));
        Node Zero(int i) => Fn.Zeros(a.Graph, new Shape([.. prefix, .. a.Primals[i].Shape]));
        Node[] primals = [.. Enumerable.Range(0, n).Select(i => Lift(a.Primals[i], i)), .. Enumerable.Range(0, n).Select(i => a.X(i, 1) ?? Zero(i))];
        var coefficients = Enumerable.Range(0, n).Select(i => Enumerable.Range(1, order - 1).Select(j => a.X(i, j)).ToArray())
            .Concat(Enumerable.Range(0, n).Select(i => Enumerable.Range(1, order - 1).Select(j => a.X(i, j + 1)).ToArray())).ToArray();
        var jet = Jet.Apply(t, primals, coefficients, order - 1, default)[0];
        var y = new Node?[order + 1];
        for (int k = 1; k <= order; k++) y[k] = jet[k - 1];
        return y;
    }
}
