using JetSharp.Transforms;

namespace JetSharp.Operators;

/// <summary>
/// The building block of every operator: S(x) = Σ_r ⟨∂ᴷf(x), v_r^⊗K⟩ for directions v_r, emitted
/// into the caller's graph. f maps [N, D] → [N, C...] with data independent across the first axis
/// (a per-datum function), and directions have shape [R, N, D] (usually broadcast along N).
/// </summary>
public static class DirectionalSums
{
    /// <summary>Standard Taylor mode: one K-jet per direction (x₁ = v_r, x₂..x_K = 0), then Σ_r of y_K.</summary>
    public static Node StandardTaylor(Graph f, Node x, Node directions, int order)
    {
        var prefix = new Shape(directions.Shape[0]);
        var coefs = new Node?[order];
        coefs[0] = directions;
        var y = Jet.Apply(f, [x], [coefs], order, prefix)[0];
        return y[order] is { } top ? Fn.Sum(top, 0) : Fn.Zeros(x.Graph, y[0]!.Shape);
    }

    /// <summary>
    /// Nested first-order AD for K = 2: for each output channel c, the gradient graph of Σ_n f_c(x_n),
    /// its JVP along all directions at once (forward-over-reverse HVPs, [R, N, D]), and Σ_r v_rᵀ H v_r.
    /// </summary>
    public static Node NestedSecondOrder(Graph f, Node x, Node directions)
    {
        var g = x.Graph;
        var outShape = f.Outputs[0].Shape;
        int n = outShape[0], channels = outShape.Size / Math.Max(n, 1);
        var prefix = new Shape(directions.Shape[0]);
        var results = new List<Node>();
        for (int c = 0; c < channels; c++)
        {
            var scalar = ChannelSum(f, c);
            var grad = Vjp.Grad(scalar);
            var (_, tangents) = Jvp.Apply(grad, [x], [directions], prefix);
            var hv = tangents[1]!;                                     // [R, N, D]
            results.Add(Fn.Sum(directions * hv, [0, 2]));              // [N]
        }
        var stacked = channels == 1 ? Fn.Reshape(results[0], n, 1) : Fn.Concat(1, [.. results.Select(r => Fn.Reshape(r, n, 1))]);
        return Fn.Reshape(stacked, outShape.ToArray());
    }

    /// <summary>The graph x ↦ Σ_n f(x)[n, c] (channel c of the flattened trailing axes).</summary>
    private static Graph ChannelSum(Graph f, int channel)
    {
        var outShape = f.Outputs[0].Shape;
        int n = outShape[0], channels = outShape.Size / Math.Max(n, 1);
        var h = new Graph(f.DType);
        var x = h.Input(f.Inputs[0].Shape, "x");
        var y = Jet.Apply(f, [x], [[]], 0, default)[0][0]!;
        var flat = Fn.Reshape(y, n, channels);
        var col = channels == 1 ? flat : Fn.Slice(flat, 1, channel, 1);
        h.SetOutputs(Fn.Sum(col));
        return h;
    }

    /// <summary>The constant directions e_1..e_D for every datum: shape [D, N, D], stored as an identity broadcast along N.</summary>
    public static Node Basis(Graph g, int n, int d)
    {
        var eye = g.Constant(Tensor.Identity<double>(d));
        return Fn.BroadcastTo(Fn.Reshape(eye, d, 1, d), new Shape(d, n, d));
    }
}
