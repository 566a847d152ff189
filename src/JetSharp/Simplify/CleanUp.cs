using JetSharp.Ir;

namespace JetSharp.Simplify;

/// <summary>
/// The clean-up pass: common-subexpression elimination (identical deterministic nodes merged; random
/// sampling is never merged) and dead-code elimination (only what the outputs reach is kept), with no
/// rewrite rules. It is a <see cref="Simplifier"/> with an empty rule set, so it runs a single pass.
/// </summary>
public static class CleanUp
{
    /// <summary>A copy of <paramref name="g"/> with common subexpressions merged and dead code removed; the same inputs and outputs.</summary>
    public static Graph Run(Graph g) => new Simplifier([]).Run(g);
}
