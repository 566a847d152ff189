using System.Runtime.CompilerServices;
using JetSharp.Ir;

namespace JetSharp.Simplify;

/// <summary>One firing of a rule, for logs.</summary>
public readonly record struct RuleFiring(int Pass, string Rule, string Site);

/// <summary>
/// Rewrites a graph to a fixed point. Each pass copies the nodes the outputs need into a new graph
/// whose <see cref="Graph.Apply"/> is intercepted: the first matching rule replaces the node (its
/// replacement is built through the same interceptor, so rewrites cascade), otherwise an identical
/// node already in the new graph is reused (common-subexpression elimination; random sampling is
/// never merged), otherwise the node is appended. Copying only what the outputs reach removes dead
/// code. Passes repeat until one fires no rule.
/// <para>Cascades nest one rewrite per step (pulling a sum from the output of an L-layer network to its
/// input nests about 3L rewrites), so their depth grows with the graph. Past <see cref="MaxDepth"/>
/// levels, or when the stack runs low, a pass stops cascading and leaves the node for the next pass,
/// which starts again at depth 0. Rules that do not terminate are caught by a budget of firings
/// proportional to the graph's size.</para>
/// </summary>
public sealed class Simplifier
{
    private const int MaxPasses = 32;

    /// <summary>Nesting depth at which a pass stops cascading (well within a default thread stack).</summary>
    private const int MaxDepth = 1000;

    /// <summary>Firings allowed per node of the input graph (plus a fixed allowance) before rules are declared non-terminating.</summary>
    private const long FiringsPerNode = 64, FiringAllowance = 10_000;

    /// <summary>A simplifier applying <paramref name="rules"/>; earlier rules are tried first.</summary>
    public Simplifier(IEnumerable<RewriteRule> rules) { Rules = [.. rules]; }

    /// <summary>The rules, in the order they are tried.</summary>
    public IReadOnlyList<RewriteRule> Rules { get; }

    /// <summary>Rule firings of the last <see cref="Run"/>, in order.</summary>
    public List<RuleFiring> Log { get; } = [];

    /// <summary>When set, every firing is also written here as it happens.</summary>
    public TextWriter? Trace { get; set; }

    /// <summary>The standard rule set: collapsing (sum pulling), broadcast sinking, algebraic identities and constant folding.</summary>
    public static IReadOnlyList<RewriteRule> StandardRules { get; } = StandardRuleSet.Create();

    /// <summary>A new simplifier with <see cref="StandardRules"/>.</summary>
    public static Simplifier Standard() => new(StandardRules);

    /// <summary>Simplifies with the standard rules.</summary>
    public static Graph Simplify(Graph g) => Standard().Run(g);

    /// <summary>
    /// Rewrites <paramref name="graph"/> to a fixed point of the rules (at most 32 passes that are not
    /// continuations of deferred cascades) and returns the result as a new graph; the input is unchanged.
    /// <see cref="Log"/> records the firings.
    /// </summary>
    /// <exception cref="InvalidOperationException">The rules fire more often than a budget proportional to the graph's size (they do not terminate).</exception>
    public Graph Run(Graph graph)
    {
        Log.Clear();
        var g = graph;
        long budget = FiringAllowance + FiringsPerNode * graph.Nodes.Count;
        int plainPasses = 0;
        for (int pass = 1; ; pass++)
        {
            int before = Log.Count;
            g = Pass(g, pass, out bool deferred);
            if (Log.Count == before) return g;
            if (Log.Count > budget)
            {
                var last = Log[^1];
                throw new InvalidOperationException($"simplify: {Log.Count} rule firings in {pass} passes on a graph of {graph.Nodes.Count} nodes without reaching a fixed point (last: {last.Rule} at {last.Site}); the rules do not terminate.");
            }
            // Passes that only continue deferred cascades do not count towards the pass limit.
            if (!deferred && ++plainPasses >= MaxPasses) return g;
        }
    }

    private Graph Pass(Graph source, int pass, out bool deferred)
    {
        var target = new Graph(source.DType);
        var interceptor = new Interceptor(this, pass);
        var inputs = GraphWalk.MirrorInputs(source, target);
        target.Interceptor = interceptor;
        var map = GraphWalk.Copy(source, target, inputs);
        target.Interceptor = null;
        target.SetOutputs([.. source.Outputs.Select(o => map[o])]);
        deferred = interceptor.Deferred;
        return Compact(target);
    }

    /// <summary>A copy holding only the nodes the outputs reach (rewrites leave superseded nodes behind).</summary>
    private static Graph Compact(Graph g)
    {
        var reachable = GraphWalk.Reachable(g);
        if (reachable.Union(g.Inputs).Count() == g.Nodes.Count) return g;
        var c = new Graph(g.DType);
        var map = GraphWalk.Copy(g, c, GraphWalk.MirrorInputs(g, c), c.Append);
        c.SetOutputs([.. g.Outputs.Select(o => map[o])]);
        return c;
    }

    private sealed class Interceptor(Simplifier owner, int pass) : IApplyInterceptor
    {
        private readonly Dictionary<(Primitive, string), Node> _existing = [];
        private readonly RewriteContext _context = new(owner.Rules);
        private int _depth;

        /// <summary>True when this pass left a node unrewritten because the cascade was too deep.</summary>
        public bool Deferred { get; private set; }

        public Node? TryIntercept(Graph graph, Primitive op, Node[] inputs)
        {
            // Too deep to cascade further here: keep the node as it is; the next pass rewrites it.
            bool defer = _depth >= MaxDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack();
            Deferred |= defer;
            foreach (var rule in defer ? [] : owner.Rules)
            {
                if (!rule.Matches(op, inputs, _context)) continue;
                var site = $"{op}({string.Join(", ", inputs.Select(i => $"%{i.Id}{i.Shape}"))})";
                owner.Log.Add(new RuleFiring(pass, rule.Name, site));
                owner.Trace?.WriteLine($"pass {pass}: {rule.Name} at {site}");
                ++_depth;
                try
                {
                    var result = rule.Rewrite(op, inputs, _context);
                    var expected = op.InferShape(inputs);
                    if (result.Shape != expected)
                        throw new InvalidOperationException($"simplify: rule {rule.Name} changed the shape at {site} from {expected} to {result.Shape}.");
                    return result;
                }
                finally { _depth--; }
            }
            if (op.IsRandom) return graph.Append(op, inputs);
            var key = (op, string.Join(",", inputs.Select(i => i.Id)));
            if (_existing.TryGetValue(key, out var same)) return same;
            var node = graph.Append(op, inputs);
            _existing[key] = node;
            return node;
        }
    }
}
