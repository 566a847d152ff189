using JetSharp.Operators;
using JetSharp.Runtime;
using JetSharp.Simplify;

namespace JetSharp;

/// <summary>
/// Differential operators of per-datum functions f: [N, D] → [N, C…] with respect to the input x.
/// Results have f's output shape. "Per-datum" means row n of the output depends on row n of the
/// input only (true of networks applied to a batch).
/// </summary>
public static class Pde
{
    /// <summary>The Laplacian Δf = Σ_d ∂²f/∂x_d², exact (directions e_1..e_D).</summary>
    public static Tensor<T> Laplacian<T>(Func<Node, Node> f, Tensor<T> x, Strategy strategy = Strategy.Collapsed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var graph = LaplacianGraph(f, x.Shape, DTypes.Of<T>(), strategy);
        return Executable.Compile(graph).Run(x)[0];
    }

    /// <summary>The graph x ↦ Δf(x) for inputs of the given shape [N, D].</summary>
    public static Graph LaplacianGraph(Func<Node, Node> f, Shape inputShape, DType dtype, Strategy strategy = Strategy.Collapsed)
    {
        if (inputShape.Rank != 2)
            throw new ShapeException($"Laplacian: input must be [N, D] (a batch of points), got {inputShape}.");
        var fg = Trace.Function(f, inputShape, dtype);
        var g = new Graph(dtype);
        var x = g.Input(inputShape, "x");
        var basis = DirectionalSums.Basis(g, inputShape[0], inputShape[1]);
        var lap = strategy == Strategy.NestedFirstOrder
            ? DirectionalSums.NestedSecondOrder(fg, x, basis)
            : DirectionalSums.StandardTaylor(fg, x, basis, 2);
        g.SetOutputs(lap);
        return strategy == Strategy.Collapsed ? Simplifier.Simplify(g) : g;
    }
}
