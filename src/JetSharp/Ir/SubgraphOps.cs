using System.Runtime.CompilerServices;

namespace JetSharp.Ir;

/// <summary>
/// Trait of a primitive that holds graphs of its own — the callee of a call, the body of a loop, the
/// branches of a conditional. Passes that must see inside (the printer, the simplifier, clean-up)
/// read <see cref="Bodies"/> and rebuild the op with <see cref="WithBodies"/>; none of them switch on
/// the concrete op. A body is an ordinary <see cref="Graph"/> with fixed inputs and outputs: a pass
/// that rewrites a body must keep its inputs and outputs (count, order and shapes).
/// </summary>
public interface ISubgraphOp
{
    /// <summary>The graphs the op holds, in an order the op defines (e.g. [callee] or [body]).</summary>
    IReadOnlyList<Graph> Bodies { get; }

    /// <summary>
    /// The same op with <paramref name="bodies"/> in place of <see cref="Bodies"/> (one per body, in the
    /// same order, each with the same input and output shapes), all other attributes unchanged.
    /// </summary>
    Primitive WithBodies(IReadOnlyList<Graph> bodies);
}

/// <summary>
/// Helpers for ops that hold graphs: a stable identity per graph (for <see cref="Primitive.Attributes"/>,
/// so that two ops are equal only when they hold the same graph object) and a cache of graphs derived
/// from a body (its JVP, VJP or K-jet), so that a transformation maps over a body once however often the
/// body is applied.
/// </summary>
public static class Subgraphs
{
    private static int _next;
    private static readonly ConditionalWeakTable<Graph, Entry> Entries = [];

    private sealed class Entry
    {
        public int Id { get; } = Interlocked.Increment(ref _next);
        public Dictionary<string, Graph> Derived { get; } = [];
    }

    /// <summary>A number identifying <paramref name="body"/> for the life of the process (printed as <c>@Id</c>).</summary>
    public static int IdOf(Graph body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Entries.GetValue(body, _ => new Entry()).Id;
    }

    /// <summary>
    /// The graph derived from <paramref name="body"/> under <paramref name="key"/> (e.g. "jet2[3]"),
    /// built by <paramref name="build"/> on first request and cached with the body (released with it).
    /// Thread-safe; <paramref name="build"/> may itself request other derived graphs.
    /// </summary>
    public static Graph Derived(Graph body, string key, Func<Graph> build)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(build);
        var entry = Entries.GetValue(body, _ => new Entry());
        lock (entry.Derived)
            if (entry.Derived.TryGetValue(key, out var cached)) return cached;
        var built = build();
        lock (entry.Derived)
        {
            if (entry.Derived.TryGetValue(key, out var raced)) return raced;
            entry.Derived[key] = built;
            return built;
        }
    }

    /// <summary>Checks that <paramref name="replacement"/> can stand for <paramref name="original"/> (same input and output shapes); <paramref name="op"/> names the caller.</summary>
    /// <exception cref="ArgumentException">The counts or shapes differ.</exception>
    public static void CheckSameSignature(Graph original, Graph replacement, string op)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(replacement);
        static string Sig(Graph g) =>
            $"({string.Join(", ", g.Inputs.Select(i => i.Shape.ToString()))}) → ({string.Join(", ", g.Outputs.Select(o => o.Shape.ToString()))})";
        if (Sig(original) != Sig(replacement) || original.DType != replacement.DType)
            throw new ArgumentException($"{op}: a replacement body must keep the body's signature {Sig(original)}; got {Sig(replacement)}.");
    }
}
