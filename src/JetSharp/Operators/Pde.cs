using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Tracing;

namespace JetSharp.Operators;

/// <summary>
/// The differential operators of a per-datum function f: [N, D] → [N, C…] at a batch of points x
/// [N, D], as one call each. Results have f's output shape. For repeated evaluation, build a
/// <see cref="DifferentialOperator"/> and <see cref="DifferentialOperator.Compile(Func{Node, Node}, Shape, DType, Strategy)"/> it.
/// Every method takes an optional strategy; null means <see cref="Strategy.Collapsed"/>. Arguments are checked
/// before any work: null f, x, σ, terms or estimate (where one is required) is an <see cref="ArgumentNullException"/>
/// naming it; malformed shapes are a <see cref="ShapeException"/> naming the operator and the shapes; a function that
/// couples the rows of x is an <see cref="ArgumentException"/>; an exact evaluation too large for the machine is an
/// <see cref="InsufficientMemoryException"/> raised before anything is allocated.
/// </summary>
public static class Pde
{
    /// <summary>Δf, exact.</summary>
    public static NDArray<T> Laplacian<T>(Func<Node, Node> f, NDArray<T> x, Strategy? strategy = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        DifferentialOperator.Laplacian().Apply(f, x, strategy);

    /// <summary>
    /// Δf, exact, by the collapsed forward Laplacian with declared particle sparsity (<see cref="Strategy.SparseCollapsed"/>):
    /// x [N, G·C] holds G particles of C coordinates; <paramref name="report"/> lists where and why tangents were densified.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="sparsity"/> (or f, x) is null.</exception>
    /// <exception cref="ShapeException">D is not a multiple of the coordinates per particle.</exception>
    public static NDArray<T> Laplacian<T>(Func<Node, Node> f, NDArray<T> x, ParticleSparsity sparsity, out SparsityReport report) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(sparsity);
        if (x.Rank != 2) throw new ShapeException($"Laplacian: x must be a batch of points [N, D], got {x.Shape}.");
        sparsity.Particles(x.Shape[1]);
        var op = DifferentialOperator.Laplacian().Compile(f, x.Shape, DTypes.Of<T>(), Strategy.SparseCollapsed(sparsity));
        report = op.SparsityReport!;
        return op.Run(x);
    }

    /// <summary>Δf, exact or stochastic.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="estimate"/> (or f, x) is null.</exception>
    public static NDArray<T> Laplacian<T>(Func<Node, Node> f, NDArray<T> x, Estimate estimate, Strategy? strategy = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        DifferentialOperator.Laplacian(Required(estimate, nameof(estimate))).Apply(f, x, strategy);

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
        DifferentialOperator.Biharmonic(Required(estimate, nameof(estimate))).Apply(f, x, strategy);

    /// <summary>Σ c_α ∂^α f with derivatives named by variable letters, e.g. [(1, "t"), (−1, "xx"), (−1, "yy")] with variables "txy".</summary>
    public static NDArray<T> Linear<T>(Func<Node, Node> f, NDArray<T> x, IEnumerable<(double, string)> terms, string variables, Strategy? strategy = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        DifferentialOperator.Linear(terms, variables).Apply(f, x, strategy);

    /// <summary>The graph x ↦ Δf(x) for inputs of the given shape [N, D].</summary>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined <see cref="DType"/>.</exception>
    /// <exception cref="ShapeException"><paramref name="inputShape"/> is not [N, D].</exception>
    public static Graph LaplacianGraph(Func<Node, Node> f, Shape inputShape, DType dtype, Strategy? strategy = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        if (!Enum.IsDefined(dtype))
            throw new ArgumentOutOfRangeException(nameof(dtype), dtype, $"LaplacianGraph: dtype must be Float32 or Float64, got {(int)dtype}.");
        if (inputShape.Rank != 2)
            throw new ShapeException($"LaplacianGraph: x must be a batch of points [N, D], got {inputShape}.");
        return DifferentialOperator.Laplacian().Build(Tracer.Function(f, inputShape, dtype), strategy);
    }

    private static Estimate Required(Estimate estimate, string name) => estimate ?? throw new ArgumentNullException(name,
        "the estimate may not be null here; pass Estimate.Exact or Estimate.Stochastic(S), or call the overload without an estimate.");
}
