global using JetSharp.Nn.Pinn;

namespace JetSharp.Examples;

/// <summary>
/// The examples' physics-informed objective: the library's <see cref="PinnProblem"/> (terms of
/// <see cref="PinnTerm"/>, residuals written with <see cref="PinnContext"/>), which also gives the stacked
/// residual and its per-sample Jacobian for <see cref="Engd"/> and <see cref="LevenbergMarquardt"/>.
/// </summary>
public sealed class PinnObjective(string architecture, IReadOnlyList<Shape> parameterShapes, Func<IReadOnlyList<Node>, Node, Node> model, int dimension,
    IReadOnlyList<PinnTerm> terms, Strategy? strategy = null, long seed = 0)
    : PinnProblem(architecture, parameterShapes, model, dimension, terms, strategy, seed);
