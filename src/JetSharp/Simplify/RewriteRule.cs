using JetSharp.Ir;

namespace JetSharp.Simplify;

/// <summary>
/// One rewrite: a pattern and a guard (<see cref="Matches"/>) over a primitive about to be applied to
/// already-simplified inputs, and a replacement (<see cref="Rewrite"/>) built with ordinary graph
/// operations. Replacements are themselves simplified as they are built, so a rule only needs to
/// move a computation one step; the recursion carries it the rest of the way.
/// </summary>
public abstract class RewriteRule
{
    /// <summary>The rule's name in logs and traces: its type name.</summary>
    public string Name => GetType().Name;

    /// <summary>Pattern and guard: true when this rule applies to <paramref name="op"/>(<paramref name="inputs"/>).</summary>
    public abstract bool Matches(Primitive op, Node[] inputs, RewriteContext context);

    /// <summary>The replacement, with the same shape as <c>op(inputs)</c>, emitted into the inputs' graph.</summary>
    public abstract Node Rewrite(Primitive op, Node[] inputs, RewriteContext context);

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>What a rule may ask of the simplifier while matching or rewriting.</summary>
public sealed class RewriteContext
{
    private readonly IReadOnlyList<RewriteRule> _rules;

    internal RewriteContext(IReadOnlyList<RewriteRule> rules) { _rules = rules; }

    /// <summary>True when some rule other than <paramref name="except"/> would rewrite <paramref name="op"/>(<paramref name="inputs"/>).</summary>
    public bool AnyRuleMatches(Primitive op, Node[] inputs, RewriteRule? except = null)
    {
        foreach (var r in _rules)
            if (r != except && r.Matches(op, inputs, this)) return true;
        return false;
    }
}
