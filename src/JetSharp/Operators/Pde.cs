using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Tracing;

namespace JetSharp.Operators;

/// <summary>
/// The differential operators of a per-datum function f: [N, D] → [N, C…] at a batch of points x
/// [N, D], as one call each. Results have f's output shape. For repeated evaluation, build a
/// <see cref="DifferentialOperator"/> and <see cref="DifferentialOperator.Compile(Func{Node, Node}, Shape, DType, Strategy)"/> it.
/// Every method takes an optional strategy; null means <see cref="Strategy.Collapsed"/>.
/// </summary>
public static class Pde
{
    /// <summary>Δf, exact.</summary>
    public static NDArray<T> Laplacian<T>(Func<Node, Node> f, NDArray<T> x, Strategy? strategy = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        DifferentialOperator.Laplacian().Apply(f, x, strategy);

    /// <summary>Δf, exact or stochastic.</summary>
    public static NDArray<T> Laplacian<T>(Func<Node, Node> f, NDArray<T> x, Estimate estimate, Strategy? strategy = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        DifferentialOperator.Laplacian(estimate).Apply(f, x, strategy);

    /// <summary>tr(σσᵀ∇²f) for a constant σ [D, R].</summary>
    public static NDArray<T> WeightedLaplacian<T>(Func<Node, Node> f, NDArray<T> x, NDArray sigma, Estimate? estimate = null, Strategy? strategy = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        DifferentialOperator.WeightedLaplacian(sigma, estimate).Apply(f, x, strategy);

    /// <summary>tr(σ(x)σ(x)ᵀ∇²f) for σ: [N, D] → [N, D, R], evaluated per datum.</summary>
    public static NDArray<T> WeightedLaplacian<T>(Func<Node, Node> f, NDArray<T> x, Func<Node, Node> sigma, Estimate? estimate = null, Strategy? strategy = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        DifferentialOperator.WeightedLaplacian(sigma, estimate).Apply(f, x, strategy);

    /// <summary>Δ²f, exact.</summary>
    public static NDArray<T> Biharmonic<T>(Func<Node, Node> f, NDArray<T> x, Strategy? strategy = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        DifferentialOperator.Biharmonic().Apply(f, x, strategy);

    /// <summary>Δ²f, exact or stochastic (Gaussian).</summary>
    public static NDArray<T> Biharmonic<T>(Func<Node, Node> f, NDArray<T> x, Estimate estimate, Strategy? strategy = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        DifferentialOperator.Biharmonic(estimate).Apply(f, x, strategy);

    /// <summary>Σ c_α ∂^α f with derivatives named by variable letters, e.g. [(1, "t"), (−1, "xx"), (−1, "yy")] with variables "txy".</summary>
    public static NDArray<T> Linear<T>(Func<Node, Node> f, NDArray<T> x, IEnumerable<(double, string)> terms, string variables, Strategy? strategy = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        DifferentialOperator.Linear(terms, variables).Apply(f, x, strategy);

    /// <summary>The graph x ↦ Δf(x) for inputs of the given shape [N, D].</summary>
    public static Graph LaplacianGraph(Func<Node, Node> f, Shape inputShape, DType dtype, Strategy? strategy = null) =>
        DifferentialOperator.Laplacian().Build(Tracer.Function(f, inputShape, dtype), strategy);
}
