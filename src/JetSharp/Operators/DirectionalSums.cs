using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Transforms;
using JetSharp.Tracing;

namespace JetSharp.Operators;

/// <summary>
/// S(x) = Σ_r ⟨∂ᴷf(x), v_r^⊗K⟩ for a per-datum function f (graph inputs: x [N, D], then any
/// parameters; one output [N, C…]) and directions [R, N, D], emitted into the caller's graph by each
/// strategy. Parameters enter as constants of the differentiation (no coefficients).
/// </summary>
internal static class DirectionalSums
{
    /// <summary>Standard Taylor mode: one K-jet per direction (x₁ = v_r, x₂..x_K = 0, x₀ shared), then Σ_r of y_K.</summary>
    public static Node StandardTaylor(Graph f, IReadOnlyList<Node> inputs, Node directions, int order)
    {
        var prefix = new Shape(directions.Shape[0]);
        var coefs = inputs.Select((_, i) => new Node?[order]).ToArray();
        coefs[0][0] = directions;
        var y = Jet.Apply(f, inputs, coefs, order, prefix)[0];
        return y[order] is { } top ? Fn.Sum(top, 0) : Fn.Zeros(inputs[0].Graph, y[0]!.Shape);
    }

    /// <summary>
    /// Nested first-order AD. K = 1: a JVP along all directions at once. K = 2: Hessian-vector products
    /// forward-over-reverse along all directions at once (x₀ shared), then Σ_r v_rᵀHv_r. K &gt; 2: every
    /// (direction, datum) pair becomes a datum of its own (f is re-traced for R·N data) and quadratic
    /// forms are nested, F_K(v) = vᵀ∇²F_{K−2}(v)v, starting from a JVP for odd K.
    /// </summary>
    public static Node Nested(Graph f, IReadOnlyList<Node> inputs, Node directions, int order)
    {
        var x = inputs[0];
        var parameters = inputs.Skip(1).ToArray();
        if (order == 1)
        {
            var (_, tangents) = Jvp.Apply(f, inputs, [directions, .. parameters.Select(_ => (Node?)null)], new Shape(directions.Shape[0]));
            // A null tangent means f does not depend on x: the derivative is zero.
            return tangents[0] is { } t ? Fn.Sum(t, 0) : Fn.Zeros(x.Graph, f.Outputs[0].Shape);
        }
        if (order == 2) return QuadraticForms(f, inputs, directions);

        int r = directions.Shape[0], n = x.Shape[0], d = x.Shape[1];
        var replicated = r == 1 ? f : Retrace(f, [new Shape(r * n, d), .. f.Inputs.Skip(1).Select(i => i.Shape)]);
        var xs = Fn.Reshape(Fn.BroadcastTo(x, new Shape(r, n, d)), r * n, d);
        var vs = Fn.Reshape(directions, r * n, d);
        var value = Inline.Apply(NestedGraph(replicated, order), [xs, vs, .. parameters])[0];
        return Fn.Sum(Fn.Reshape(value, [r, .. f.Outputs[0].Shape]), 0);
    }

    /// <summary>G_K(x, v, params) = ⟨∂ᴷf(x), v^⊗K⟩ per datum, with one direction v per datum, by nesting first-order AD.</summary>
    private static Graph NestedGraph(Graph f, int order)
    {
        var g = Lift(f, (x, v, ps) => Inline.Apply(f, [x, .. ps])[0]);
        if (order % 2 == 1)
        {
            var first = g;
            g = Lift(f, (x, v, ps) =>
            {
                var (_, t) = Jvp.Apply(first, [x, v, .. ps], [Fn.Reshape(v, [1, .. v.Shape]), .. new Node?[1 + ps.Length]], new Shape(1));
                return t[0] is { } t0 ? Fn.Sum(t0, 0) : Fn.Zeros(x.Graph, first.Outputs[0].Shape);
            });
        }
        for (int k = order % 2; k < order; k += 2)
        {
            var inner = g;
            g = Lift(f, (x, v, ps) => QuadraticForms(inner, [x, v, .. ps], Fn.Reshape(v, [1, .. v.Shape])));
        }
        return g;
    }

    /// <summary>A graph with inputs (x, v, parameters of f) and the given output.</summary>
    private static Graph Lift(Graph f, Func<Node, Node, Node[], Node> body)
    {
        var g = new Graph(f.DType);
        var x = g.Input(f.Inputs[0].Shape, "x");
        var v = g.Input(f.Inputs[0].Shape, "v");
        var ps = f.Inputs.Skip(1).Select(i => g.Input(i.Shape, GraphWalk.InputName(i))).ToArray();
        g.SetOutputs(body(x, v, ps));
        return g;
    }

    /// <summary>
    /// Σ_r v_rᵀ ∇²f_c v_r per output channel c: the gradient graph of Σ_n f_c with respect to x (input 0
    /// only; other inputs are held fixed), its JVP along all directions at once, contracted with the directions.
    /// </summary>
    public static Node QuadraticForms(Graph f, IReadOnlyList<Node> inputs, Node directions)
    {
        var outShape = f.Outputs[0].Shape;
        int n = outShape[0], channels = Channels(outShape);
        var prefix = new Shape(directions.Shape[0]);
        var wrt = inputs.Select((_, i) => i == 0).ToArray();
        var results = new List<Node>();
        for (int c = 0; c < channels; c++)
        {
            var grad = Vjp.Grad(ChannelSum(f, c), wrt);
            var tangents = inputs.Select((_, i) => i == 0 ? directions : null).ToArray();
            var (_, outT) = Jvp.Apply(grad, inputs, tangents, prefix);
            // hv is null when the gradient does not depend on x (f affine in x, or piecewise linear): Hv = 0.
            results.Add(outT[1] is { } hv                                  // [R, N, D]
                ? Fn.Reshape(Fn.Sum(directions * hv, [0, 2]), n, 1)       // [N, 1]
                : Fn.Zeros(directions.Graph, new Shape(n, 1)));
        }
        var stacked = channels == 1 ? results[0] : Fn.Concat(1, [.. results]);
        return Fn.Reshape(stacked, outShape.ToArray());
    }

    /// <summary>The graph (inputs of f) ↦ Σ_n f(x)[n, c] (channel c of the flattened trailing axes).</summary>
    private static Graph ChannelSum(Graph f, int channel)
    {
        var outShape = f.Outputs[0].Shape;
        int n = outShape[0], channels = Channels(outShape);
        var h = new Graph(f.DType);
        var ins = GraphWalk.MirrorInputs(f, h);
        var y = Inline.Apply(f, ins)[0];
        var flat = Fn.Reshape(y, n, channels);
        var col = channels == 1 ? flat : Fn.Slice(flat, 1, channel, 1);
        h.SetOutputs(Fn.Sum(col));
        return h;
    }

    /// <summary>Size of one datum's output (the trailing axes); from the shape, not Size / N, which is 0 for an empty batch.</summary>
    private static int Channels(Shape outShape)
    {
        int c = 1;
        for (int i = 1; i < outShape.Rank; i++) c *= outShape[i];
        return c;
    }

    /// <summary>The same per-datum function traced for other input shapes (only graphs made by <see cref="Tracer"/> can be).</summary>
    internal static Graph Retrace(Graph f, Shape[] shapes) =>
        f.Retrace is { } retrace ? retrace(shapes)
        : throw new InvalidOperationException("nested operator of order > 2: the function must come from Tracer.Function so it can be traced for R·N data.");
}
