using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Transforms;
using JetSharp.Runtime;
using JetSharp.Tracing;

namespace JetSharp.Operators;

/// <summary>
/// f, ∇f and Δf of a scalar per-datum function f: [N, D] → [N] or [N, 1] in one graph. With Taylor
/// mode this is a single 2-jet along e_1..e_D: y₀ = f, y₁ = ∂_d f for every d, Σ_d y₂ = Δf; collapsed,
/// it is the "forward Laplacian" (value, gradient and Laplacian in one pass of 2 + D vectors).
/// </summary>
public static class ValueGradientLaplacian
{
    /// <summary>
    /// A graph with f's inputs (x [N, D] first, then any parameters) and three outputs: f (f's shape),
    /// ∇_x f [N, D], Δf (f's shape). Taylor strategies use one 2-jet along e_1..e_D;
    /// <see cref="Strategy.NestedFirstOrder"/> uses a VJP for ∇f and Hessian-vector products for Δf. The graph is
    /// finished by the strategy (<see cref="Strategy.Finish"/>). A null <paramref name="strategy"/> means <see cref="Strategy.Collapsed"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <exception cref="ArgumentException">f has no inputs, or it couples the rows of x (the per-datum contract, see <see cref="DifferentialOperator"/>).</exception>
    /// <exception cref="ShapeException">f is not [N, D] → [N] or [N, 1].</exception>
    public static Graph Build(Graph f, Strategy? strategy = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        strategy ??= Strategy.Collapsed;
        var x0 = f.Inputs.Count > 0 ? f.Inputs[0] : throw new ArgumentException("ValueGradientLaplacian: the function has no inputs.", nameof(f));
        var outShape = f.Outputs.Count == 1 ? f.Outputs[0].Shape : throw new ShapeException("ValueGradientLaplacian: the function must have one output.");
        if (x0.Rank != 2 || outShape.Size != x0.Shape[0] || outShape[0] != x0.Shape[0])
            throw new ShapeException($"ValueGradientLaplacian: needs a scalar per datum, f: [N, D] → [N] or [N, 1]; got {x0.Shape} → {outShape}.");
        PerDatum.Check(f, "ValueGradientLaplacian");
        int n = x0.Shape[0], d = x0.Shape[1];
        return MemoryGuard.WhileBuilding("ValueGradientLaplacian", x0.Shape, f.DType, () => BuildChecked(f, strategy, n, d, outShape));
    }

    private static Graph BuildChecked(Graph f, Strategy strategy, int n, int d, Shape outShape)
    {
        var g = new Graph(f.DType);
        var inputs = GraphWalk.MirrorInputs(f, g);
        var basis = DirectionFamily.StandardBasis(2, 1).Directions(inputs[0]);
        var outputs = strategy.Formulate(
            general: () =>
            {
                var coefs = inputs.Select((_, i) => new Node?[] { i == 0 ? basis : null, null }).ToArray();
                var y = Jet.Apply(f, inputs, coefs, 2, new Shape(d))[0];
                var gradient = Fn.Transpose(Fn.Reshape(y[1]!, d, n), 1, 0);
                return new[] { y[0]!, gradient, y[2] is { } y2 ? Fn.Sum(y2, 0) : Fn.Zeros(g, outShape) };
            },
            nestedFirstOrder: () =>
            {
                var grad = Vjp.Apply(f, inputs, [Fn.BroadcastTo(g.Scalar(1), outShape)], [.. inputs.Select((_, i) => i == 0)]);
                return new[] { grad.Outputs[0], grad.InputCotangents[0]!, DirectionalSums.QuadraticForms(f, inputs, basis) };
            });
        g.SetOutputs(outputs);
        return strategy.Finish(g);
    }

    /// <summary>(f(x), ∇f(x), Δf(x)) at the points x [N, D]. A null <paramref name="strategy"/> means <see cref="Strategy.Collapsed"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> or <paramref name="x"/> is null.</exception>
    /// <exception cref="ShapeException">x is not [N, D], or f is not [N, D] → [N] or [N, 1].</exception>
    /// <exception cref="InsufficientMemoryException">The evaluation would need more memory than the process may use (nothing is allocated).</exception>
    public static (NDArray<T> Value, NDArray<T> Gradient, NDArray<T> Laplacian) Evaluate<T>(Func<Node, Node> f, NDArray<T> x, Strategy? strategy = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 2) throw new ShapeException($"ValueGradientLaplacian: x must be a batch of points [N, D], got {x.Shape}.");
        var graph = Build(Tracer.Function(f, x.Shape, DTypes.Of<T>()), strategy);
        MemoryGuard.CheckRun("ValueGradientLaplacian", graph);
        var outs = Executable.Compile(graph).Run(x);
        return (outs[0], outs[1], outs[2]);
    }

}
