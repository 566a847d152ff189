using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Transforms;
using JetSharp.Runtime;
using JetSharp.Tracing;

namespace JetSharp.Operators;

/// <summary>
/// First-order automatic differentiation on concrete values. Each call traces the function for the
/// given shapes, transforms the graph (no tape) and runs it. To differentiate the same function many
/// times, build the graph once with <see cref="Vjp.Grad"/>, <see cref="Jvp.Transform"/> or
/// <see cref="HvpGraph"/> and keep the <see cref="Executable"/>.
/// </summary>
public static class Ad
{
    /// <summary>∇f at <paramref name="at"/>, for f returning one scalar: one gradient per input.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="f"/>, <paramref name="at"/> or one of its tensors is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="at"/> is empty.</exception>
    /// <exception cref="ShapeException">The tensors have different dtypes, or f does not return one scalar.</exception>
    public static NDArray[] Grad(Func<Node[], Node> f, IReadOnlyList<NDArray> at)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(at);
        for (int i = 0; i < at.Count; i++)
            if (at[i] is null) throw new ArgumentNullException(nameof(at), $"grad: point {i} of {at.Count} is null.");
        var g = Tracer.Function(f, [.. at.Select(t => t.Shape)], CommonDType(at, "grad"));
        var outs = Executable.Compile(Vjp.Grad(g)).Run([.. at]);
        return outs[1..];
    }

    /// <summary>∇f(x) for a scalar function of one tensor.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> or <paramref name="x"/> is null.</exception>
    /// <exception cref="ShapeException">f does not return one scalar.</exception>
    public static NDArray<T> Grad<T>(Func<Node, Node> f, NDArray<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(x);
        return (NDArray<T>)Grad(xs => f(xs[0]), [x])[0];
    }

    /// <summary>(f(x), ∂f(x)·v); v may carry leading direction axes: [R, ...x.Shape] gives R tangents at once.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="f"/>, <paramref name="x"/> or <paramref name="v"/> is null.</exception>
    /// <exception cref="ShapeException">v is not x's shape with optional leading direction axes.</exception>
    public static (NDArray<T> Value, NDArray<T> Tangent) Jvp<T>(Func<Node, Node> f, NDArray<T> x, NDArray<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(v);
        var prefix = DirectionPrefix(x, v, "jvp");
        var g = Tracer.Function(f, x.Shape, DTypes.Of<T>());
        var outs = Executable.Compile(Transforms.Jvp.Transform(g, prefix)).Run(x, v);
        return (outs[0], outs[1]);
    }

    /// <summary>
    /// Hessian-vector products ∇²f(x)·v of a scalar function, forward-over-reverse (the JVP of the
    /// gradient graph). v of shape x.Shape, or [R, ...x.Shape] for R directions in one pass.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="f"/>, <paramref name="x"/> or <paramref name="v"/> is null.</exception>
    /// <exception cref="ShapeException">v is not x's shape with optional leading direction axes, or f does not return one scalar.</exception>
    public static NDArray<T> Hvp<T>(Func<Node, Node> f, NDArray<T> x, NDArray<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(v);
        var prefix = DirectionPrefix(x, v, "hvp");
        var g = Tracer.Function(f, x.Shape, DTypes.Of<T>());
        return Executable.Compile(HvpGraph(g, prefix)).Run(x, v)[0];
    }

    /// <summary>The graph (x, v) → ∇²f(x)·v for a function g with one input and one scalar output.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="g"/> is null.</exception>
    /// <exception cref="ArgumentException">g does not have exactly one input.</exception>
    /// <exception cref="ShapeException">g does not return one scalar.</exception>
    public static Graph HvpGraph(Graph g, Shape prefix = default)
    {
        ArgumentNullException.ThrowIfNull(g);
        if (g.Inputs.Count != 1) throw new ArgumentException($"hvp: the function must have one input, it has {g.Inputs.Count}.", nameof(g));
        if (g.Outputs.Count != 1 || g.Outputs[0].Shape.Size != 1)
            throw new ShapeException($"hvp: the function must return one scalar; it returns {(g.Outputs.Count == 0 ? "nothing" : string.Join(", ", g.Outputs.Select(o => o.Shape.ToString())))}.");
        var grad = Vjp.Grad(g);
        var h = new Graph(g.DType);
        var x = h.Input(g.Inputs[0].Shape, "x");
        var v = h.Input(new Shape([.. prefix, .. x.Shape]), "v");
        var (_, tangents) = Transforms.Jvp.Apply(grad, [x], [v], prefix);
        h.SetOutputs(tangents[1] ?? Fn.Zeros(h, v.Shape));
        return h;
    }

    private static Shape DirectionPrefix(NDArray x, NDArray v, string op)
    {
        int lead = v.Rank - x.Rank;
        if (lead < 0 || !v.Shape.Skip(lead).SequenceEqual(x.Shape))
            throw new ShapeException($"{op}: direction shape {v.Shape} must be the point's shape {x.Shape}, optionally with leading direction axes.");
        if (v.DType != x.DType) throw new ShapeException($"{op}: mixed dtypes, point {x.DType.Name()} and direction {v.DType.Name()}.");
        return new Shape(v.Shape.Take(lead).ToArray());
    }

    internal static DType CommonDType(IReadOnlyList<NDArray> ts, string op)
    {
        if (ts.Count == 0) throw new ArgumentException($"{op}: no inputs.", "at");
        var d = ts[0].DType;
        foreach (var t in ts)
            if (t.DType != d)
                throw new ShapeException($"{op}: mixed dtypes ({string.Join(", ", ts.Select(x => $"{x.DType.Name()} {x.Shape}"))}).");
        return d;
    }
}
