using JetSharp.Ir;
using JetSharp.Simplify;

namespace JetSharp.Operators;

/// <summary>
/// How a differential operator is computed. All strategies give the same result up to rounding; they
/// differ in how directional sums Σ_r ⟨∂ᴷf, v_r^⊗K⟩ are emitted (<see cref="DirectionalSum"/>), in how the
/// finished graph is cleaned up (<see cref="Finish"/>), and in whether an operator's own nested
/// first-order formulation is preferred (<see cref="Formulate{T}"/>). The three strategies are the
/// instances <see cref="Collapsed"/> (the default), <see cref="StandardTaylor"/> and
/// <see cref="NestedFirstOrder"/>; methods that take a <c>Strategy? strategy = null</c> use
/// <see cref="Collapsed"/> when it is null.
/// </summary>
public abstract class Strategy
{
    private protected Strategy(string name, string description)
    {
        Name = name;
        Description = description;
    }

    /// <summary>Standard Taylor mode followed by a sum over directions, rewritten by the simplifier so that
    /// sums of highest-order coefficients are propagated instead (METHOD.md §3). The default.</summary>
    public static Strategy Collapsed { get; } = new CollapsedStrategy();

    /// <summary>One jet per direction (x₀ shared), highest coefficients summed at the end.</summary>
    public static Strategy StandardTaylor { get; } = new StandardTaylorStrategy();

    /// <summary>Hessian-vector products, forward-over-reverse, batched over directions (the common baseline).</summary>
    public static Strategy NestedFirstOrder { get; } = new NestedFirstOrderStrategy();

    /// <summary>The three strategies: <see cref="Collapsed"/>, <see cref="StandardTaylor"/>, <see cref="NestedFirstOrder"/>.</summary>
    public static IReadOnlyList<Strategy> All { get; } = [Collapsed, StandardTaylor, NestedFirstOrder];

    /// <summary>The strategy whose <see cref="Name"/> is <paramref name="name"/> (case-insensitive), e.g. "Collapsed".</summary>
    /// <exception cref="ArgumentException">No strategy has that name.</exception>
    public static Strategy FromName(string name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown strategy '{name}'; expected one of {string.Join(", ", All.Select(s => s.Name))}.", nameof(name));

    /// <summary>Short identifier: "Collapsed", "StandardTaylor" or "NestedFirstOrder".</summary>
    public string Name { get; }

    /// <summary>Words for reports and charts: "collapsed Taylor", "standard Taylor" or "nested first-order".</summary>
    public string Description { get; }

    /// <summary>The <see cref="Name"/>.</summary>
    public override string ToString() => Name;

    /// <summary>
    /// Emits S(x) = Σ_r ⟨∂ᴷf(x), v_r^⊗K⟩ into the caller's graph for a per-datum function f (inputs x [N, D],
    /// then any parameters) and <paramref name="directions"/> [R, N, D]; see <see cref="DirectionalSums"/>.
    /// </summary>
    public abstract Node DirectionalSum(Graph f, IReadOnlyList<Node> inputs, Node directions, int order);

    /// <summary>
    /// Chooses between the formulations of one quantity: <paramref name="general"/> builds it from this
    /// strategy's <see cref="DirectionalSum"/> (or from jets); <paramref name="nestedFirstOrder"/>, when
    /// given, is a formulation of the caller's own by nested first-order AD (for instance the biharmonic as
    /// Δ(Δf)). Only <see cref="NestedFirstOrder"/> uses it; the other strategies always build <paramref name="general"/>.
    /// </summary>
    public virtual T Formulate<T>(Func<T> general, Func<T>? nestedFirstOrder) => general();

    /// <summary>
    /// The graph as it is returned to the user: <see cref="Collapsed"/> simplifies with the standard rules
    /// (<see cref="Simplifier.Simplify"/>), the others only clean up (<see cref="CleanUp.Run"/>: common
    /// subexpressions merged, so x₀ is shared, and dead code removed).
    /// </summary>
    public abstract Graph Finish(Graph g);

    private sealed class CollapsedStrategy() : Strategy("Collapsed", "collapsed Taylor")
    {
        public override Node DirectionalSum(Graph f, IReadOnlyList<Node> inputs, Node directions, int order) =>
            DirectionalSums.StandardTaylor(f, inputs, directions, order);

        public override Graph Finish(Graph g) => Simplifier.Simplify(g);
    }

    private sealed class StandardTaylorStrategy() : Strategy("StandardTaylor", "standard Taylor")
    {
        public override Node DirectionalSum(Graph f, IReadOnlyList<Node> inputs, Node directions, int order) =>
            DirectionalSums.StandardTaylor(f, inputs, directions, order);

        public override Graph Finish(Graph g) => CleanUp.Run(g);
    }

    private sealed class NestedFirstOrderStrategy() : Strategy("NestedFirstOrder", "nested first-order")
    {
        public override Node DirectionalSum(Graph f, IReadOnlyList<Node> inputs, Node directions, int order) =>
            DirectionalSums.Nested(f, inputs, directions, order);

        public override T Formulate<T>(Func<T> general, Func<T>? nestedFirstOrder) =>
            nestedFirstOrder is null ? general() : nestedFirstOrder();

        public override Graph Finish(Graph g) => CleanUp.Run(g);
    }
}
