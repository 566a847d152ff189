global using JetSharp.Nn.Pinn;

namespace JetSharp.Examples;

/// <summary>
/// The examples' physics-informed objective in precision <typeparamref name="T"/>: the library's
/// <see cref="PinnProblem{T}"/> (terms of <see cref="PinnTerm"/>, residuals written with <see cref="PinnContext"/>).
/// <c>float</c> trains in float32 end to end with Adam and L-BFGS; <c>double</c> also gives the stacked residual and
/// its per-sample Jacobian for <see cref="Engd"/> and <see cref="LevenbergMarquardt"/> (float64 only).
/// </summary>
public sealed class PinnObjective<T>(string architecture, IReadOnlyList<Shape> parameterShapes, Func<IReadOnlyList<Node>, Node, Node> model, int dimension,
    IReadOnlyList<PinnTerm> terms, Strategy? strategy = null, long seed = 0)
    : PinnProblem<T>(architecture, parameterShapes, model, dimension, terms, strategy, seed)
    where T : unmanaged, IFloatingPointIeee754<T>;
