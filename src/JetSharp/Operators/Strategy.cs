using JetSharp.Tensors;
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

    /// <summary>
    /// <see cref="Collapsed"/> with declared particle sparsity (<see cref="ParticleSparsity"/>): for the coordinate
    /// basis (the exact Laplacian), tangents of per-particle quantities stay block-sparse until the function mixes
    /// particles; where and why it densified is in <see cref="SparsityReportFor"/> and
    /// <see cref="CompiledOperator.SparsityReport"/>. Not one of <see cref="All"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="sparsity"/> is null.</exception>
    public static ParticleSparseStrategy SparseCollapsed(ParticleSparsity sparsity) =>
        new(sparsity ?? throw new ArgumentNullException(nameof(sparsity)));

    /// <summary>The three strategies: <see cref="Collapsed"/>, <see cref="StandardTaylor"/>, <see cref="NestedFirstOrder"/>.</summary>
    public static IReadOnlyList<Strategy> All { get; } = [Collapsed, StandardTaylor, NestedFirstOrder];

    /// <summary>The strategy whose <see cref="Name"/> is <paramref name="name"/> (case-insensitive), e.g. "Collapsed".</summary>
    /// <exception cref="ArgumentException">No strategy has that name.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    public static Strategy FromName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Strategy.FromName: unknown strategy '{name}'; expected one of {string.Join(", ", All.Select(s => s.Name))}.", nameof(name));
    }

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
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="order"/> is less than 1.</exception>
    /// <exception cref="ShapeException">The inputs do not match f's, x is not [N, D], or the directions are not [R, N, D].</exception>
    public Node DirectionalSum(Graph f, IReadOnlyList<Node> inputs, Node directions, int order)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(directions);
        if (order < 1) throw new ArgumentOutOfRangeException(nameof(order), order, $"{Name}.DirectionalSum: the order K must be at least 1, got {order}.");
        if (inputs.Count != f.Inputs.Count || inputs.Any(i => i is null) || inputs.Where((i, k) => i.Shape != f.Inputs[k].Shape).Any())
            throw new ShapeException($"{Name}.DirectionalSum: needs one node per input of f with its shape, ({string.Join(", ", f.Inputs.Select(i => i.Shape.ToString()))}); " +
                $"got ({string.Join(", ", inputs.Select(i => i?.Shape.ToString() ?? "null"))}).");
        if (inputs.Count == 0 || inputs[0].Rank != 2)
            throw new ShapeException($"{Name}.DirectionalSum: the first input must be a batch of points [N, D], got {(inputs.Count == 0 ? "no inputs" : inputs[0].Shape.ToString())}.");
        var x = inputs[0];
        if (directions.Rank != 3 || directions.Shape[1] != x.Shape[0] || directions.Shape[2] != x.Shape[1])
            throw new ShapeException($"{Name}.DirectionalSum: directions have shape {directions.Shape}; expected [R, {x.Shape[0]}, {x.Shape[1]}] for x {x.Shape}.");
        return EmitDirectionalSum(f, inputs, directions, order);
    }

    /// <summary><see cref="DirectionalSum"/> on checked arguments.</summary>
    private protected abstract Node EmitDirectionalSum(Graph f, IReadOnlyList<Node> inputs, Node directions, int order);

    /// <summary>
    /// Chooses between the formulations of one quantity: <paramref name="general"/> builds it from this
    /// strategy's <see cref="DirectionalSum"/> (or from jets); <paramref name="nestedFirstOrder"/>, when
    /// given, is a formulation of the caller's own by nested first-order AD (for instance the biharmonic as
    /// Δ(Δf)). Only <see cref="NestedFirstOrder"/> uses it; the other strategies always build <paramref name="general"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="general"/> is null.</exception>
    public T Formulate<T>(Func<T> general, Func<T>? nestedFirstOrder)
    {
        ArgumentNullException.ThrowIfNull(general);
        return PrefersNestedFirstOrder && nestedFirstOrder is not null ? nestedFirstOrder() : general();
    }

    /// <summary>True for <see cref="NestedFirstOrder"/>: an operator's own nested first-order formulation is used where it has one.</summary>
    private protected virtual bool PrefersNestedFirstOrder => false;

    /// <summary>
    /// The graph as it is returned to the user: <see cref="Collapsed"/> simplifies with the standard rules
    /// (<see cref="Simplifier.Simplify"/>), the others only clean up (<see cref="CleanUp.Run"/>: common
    /// subexpressions merged, so x₀ is shared, and dead code removed).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="g"/> is null.</exception>
    public Graph Finish(Graph g)
    {
        ArgumentNullException.ThrowIfNull(g);
        return FinishChecked(g);
    }

    /// <summary>
    /// The vectors per layer (x₀ included) that this strategy's graph carries through a dense layer for a directional sum
    /// of order K over R directions in F families (METHOD.md §3): standard Taylor 1 + K·R (each direction's K coefficients),
    /// collapsed 1 + (K − 1)·R + F (the highest coefficients summed per family); null for nested first-order AD, which
    /// propagates no jets, and for <see cref="SparseCollapsed"/>, whose count depends on where the function mixes
    /// particles. Operators with two formulations use it to emit the cheaper one (<see cref="DifferentialOperator.Biharmonic"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="order"/> or <paramref name="families"/> is less than 1, or
    /// <paramref name="directions"/> is less than <paramref name="families"/>.</exception>
    public long? VectorsPerLayer(int order, long directions, int families = 1)
    {
        if (order < 1) throw new ArgumentOutOfRangeException(nameof(order), order, $"{Name}.VectorsPerLayer: the order K must be at least 1, got {order}.");
        if (families < 1) throw new ArgumentOutOfRangeException(nameof(families), families, $"{Name}.VectorsPerLayer: at least one family, got {families}.");
        if (directions < families)
            throw new ArgumentOutOfRangeException(nameof(directions), directions, $"{Name}.VectorsPerLayer: {families} families need at least as many directions, got {directions}.");
        return CountVectors(order, directions, families);
    }

    /// <summary><see cref="VectorsPerLayer"/> on checked arguments; null where the strategy does not count its vectors.</summary>
    private protected virtual long? CountVectors(int order, long directions, int families) => null;

    /// <summary>
    /// Where and why a graph this strategy built and finished was densified, for <see cref="SparseCollapsed"/>
    /// (see <see cref="ParticleSparsity"/>); null for the other strategies and for graphs it did not build.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="graph"/> is null.</exception>
    public virtual SparsityReport? SparsityReportFor(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return null;
    }

    /// <summary><see cref="Finish"/> on a checked graph.</summary>
    private protected abstract Graph FinishChecked(Graph g);

    private sealed class CollapsedStrategy() : Strategy("Collapsed", "collapsed Taylor")
    {
        private protected override Node EmitDirectionalSum(Graph f, IReadOnlyList<Node> inputs, Node directions, int order) =>
            DirectionalSums.StandardTaylor(f, inputs, directions, order);

        private protected override long? CountVectors(int order, long directions, int families) => 1 + (order - 1) * directions + families;

        private protected override Graph FinishChecked(Graph g) => Simplifier.Simplify(g);
    }

    private sealed class StandardTaylorStrategy() : Strategy("StandardTaylor", "standard Taylor")
    {
        private protected override Node EmitDirectionalSum(Graph f, IReadOnlyList<Node> inputs, Node directions, int order) =>
            DirectionalSums.StandardTaylor(f, inputs, directions, order);

        private protected override long? CountVectors(int order, long directions, int families) => 1 + order * directions;

        private protected override Graph FinishChecked(Graph g) => CleanUp.Run(g);
    }

    private sealed class NestedFirstOrderStrategy() : Strategy("NestedFirstOrder", "nested first-order")
    {
        private protected override Node EmitDirectionalSum(Graph f, IReadOnlyList<Node> inputs, Node directions, int order) =>
            DirectionalSums.Nested(f, inputs, directions, order);

        private protected override bool PrefersNestedFirstOrder => true;

        private protected override Graph FinishChecked(Graph g) => CleanUp.Run(g);
    }
}
