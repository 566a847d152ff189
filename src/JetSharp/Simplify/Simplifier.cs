using JetSharp.Ir;

namespace JetSharp.Simplify;

/// <summary>One firing of a rule, for logs.</summary>
public readonly record struct RuleFiring(int Pass, string Rule, string Site);

/// <summary>
/// Rewrites a graph to a fixed point. Each pass copies the nodes the outputs need into a new graph
/// whose <see cref="Graph.Apply"/> is intercepted: the first matching rule replaces the node, otherwise
/// an identical node already in the new graph is reused (common-subexpression elimination; random
/// sampling is never merged), otherwise the node is appended. Copying only what the outputs reach
/// removes dead code. Passes repeat until one fires no rule.
/// <para>A rule builds its replacement with ordinary graph operations; those nodes are recorded as
/// pending, and the simplifier then simplifies them, inputs first, with an explicit work stack. So
/// rewrites cascade (pulling a sum from the output of an L-layer network to its input is about 3L
/// nested rewrites) without recursion: the cascade's depth is bounded by memory, not by the thread's
/// stack, and a pass costs time proportional to the nodes it visits plus the nodes the rules build.
/// Each node sees every rule once with final inputs, so a single pass reaches the fixed point and the
/// second pass confirms it. Rules that do not terminate are caught by a budget of firings
/// proportional to the graph's size.</para>
/// </summary>
public sealed class Simplifier
{
    private const int MaxPasses = 32;

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

    /// <summary>Passes of the last <see cref="Run"/> (the last one fired no rule, unless the pass limit was reached).</summary>
    public int Passes { get; private set; }

    /// <summary>
    /// Work of the last <see cref="Run"/>: the number of times a node (of the input graph or built by a rule)
    /// was offered to the rules, over all passes. It grows linearly with the graph's size (see DepthScaling).
    /// </summary>
    public long Visits { get; private set; }

    /// <summary>The standard rule set: collapsing (sum pulling), broadcast sinking, algebraic identities and constant folding.</summary>
    public static IReadOnlyList<RewriteRule> StandardRules { get; } = StandardRuleSet.Create();

    /// <summary>A new simplifier with <see cref="StandardRules"/>.</summary>
    public static Simplifier Standard() => new(StandardRules);

    /// <summary>Simplifies with the standard rules.</summary>
    public static Graph Simplify(Graph g) => Standard().Run(g);

    /// <summary>
    /// Rewrites <paramref name="graph"/> to a fixed point of the rules (at most 32 passes) and returns the
    /// result as a new graph; the input is unchanged. <see cref="Log"/> records the firings.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="graph"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The rules fire more often than a budget proportional to the graph's size (they do not terminate).</exception>
    public Graph Run(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        Log.Clear();
        Visits = 0;
        var budget = new Budget(FiringAllowance + FiringsPerNode * graph.Nodes.Count, graph.Nodes.Count);
        var g = graph;
        for (Passes = 1; ; Passes++)
        {
            int before = Log.Count;
            g = Pass(g, Passes, budget);
            if (Log.Count == before || Passes >= MaxPasses) return g;
        }
    }

    private sealed record Budget(long Firings, int Nodes);

    /// <summary>Bodies simplified so far (each simplified once, however many nodes hold it), and their results (mapped to themselves).</summary>
    private readonly Dictionary<Graph, Graph> _bodies = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// The simplifier reaches into the graphs an op holds (<see cref="ISubgraphOp"/>): each body is simplified
    /// with the same rules (by a simplifier of its own, so its firings are not this run's), and the op rebuilt
    /// with the results. A body's inputs and outputs are kept, so the op's signature does not change.
    /// </summary>
    private Primitive WithSimplifiedBodies(ISubgraphOp sub, Primitive op)
    {
        var bodies = sub.Bodies;
        var simplified = new Graph[bodies.Count];
        bool changed = false;
        for (int i = 0; i < bodies.Count; i++)
        {
            if (!_bodies.TryGetValue(bodies[i], out var s))
            {
                var inner = new Simplifier(Rules);
                foreach (var (k, v) in _bodies) inner._bodies[k] = v;
                s = inner.Run(bodies[i]);
                foreach (var (k, v) in inner._bodies) _bodies[k] = v;
                _bodies[bodies[i]] = s;
                _bodies[s] = s;
            }
            simplified[i] = s;
            changed |= s != bodies[i];
        }
        return changed ? sub.WithBodies(simplified) : op;
    }

    private Graph Pass(Graph source, int pass, Budget budget)
    {
        var target = new Graph(source.DType);
        var inputs = GraphWalk.MirrorInputs(source, target);
        target.Interceptor = new Interceptor(this, pass, budget);
        var map = GraphWalk.Copy(source, target, inputs);
        target.Interceptor = null;
        target.SetOutputs([.. source.Outputs.Select(o => map[o])]);
        return Compact(target);
    }

    /// <summary>A copy holding only the nodes the outputs reach (rewrites leave superseded and pending nodes behind).</summary>
    private static Graph Compact(Graph g)
    {
        var reachable = GraphWalk.Reachable(g);
        if (reachable.Union(g.Inputs).Count() == g.Nodes.Count) return g;
        var c = new Graph(g.DType);
        var map = GraphWalk.Copy(g, c, GraphWalk.MirrorInputs(g, c), c.Append);
        c.SetOutputs([.. g.Outputs.Select(o => map[o])]);
        return c;
    }

    /// <summary>
    /// The pass's view of <see cref="Graph.Apply"/>. A node applied by the copy has final (simplified)
    /// inputs and is simplified at once. A node applied by a rule while it builds a replacement is
    /// appended as it is and marked pending; <see cref="Resolve"/> then simplifies the pending nodes
    /// of the replacement, inputs first, on an explicit stack.
    /// </summary>
    private sealed class Interceptor(Simplifier owner, int pass, Budget budget) : IApplyInterceptor
    {
        private readonly Dictionary<NodeKey, Node> _existing = [];
        /// <summary>
        /// Replacements already built, by the node they replace: the same node reached again (a residual
        /// network reaches Σh_l once through the skip connection and once through the block) is not rewritten
        /// again. Without this the cascade re-runs per path, which doubles per residual block.
        /// </summary>
        private readonly Dictionary<NodeKey, Node> _rewritten = [];
        private readonly RewriteContext _context = new(owner.Rules);
        /// <summary>Pending nodes built by rules, and what each became once simplified (itself when nothing changed).</summary>
        private readonly Dictionary<Node, Node?> _pending = new(ReferenceEqualityComparer.Instance);
        private bool _rewriting;

        public Node? TryIntercept(Graph graph, Primitive op, Node[] inputs)
        {
            if (_rewriting)
            {
                var raw = graph.Append(op, inputs);
                _pending[raw] = null;
                return raw;
            }
            var first = Step(graph, op, inputs, null);
            return _pending.ContainsKey(first) ? Resolve(graph, first) : first;
        }

        /// <summary>The simplified node a pending node became (a node that is not pending is final already).</summary>
        private Node Final(Node n) => _pending.TryGetValue(n, out var f) ? f! : n;

        private bool IsUnresolved(Node n) => _pending.TryGetValue(n, out var f) && f is null;

        /// <summary>Simplifies pending <paramref name="root"/> and the pending nodes it depends on, without recursion.</summary>
        private Node Resolve(Graph graph, Node root)
        {
            // Each entry is a pending node and, once a rule has replaced it, the replacement it waits for.
            var stack = new Stack<(Node Node, Node? Replacement)>();
            stack.Push((root, null));
            while (stack.Count > 0)
            {
                var (n, replacement) = stack.Pop();
                if (replacement is not null) { _pending[n] = Final(replacement); continue; }
                if (!IsUnresolved(n)) continue;
                bool ready = true;
                foreach (var x in n.InputArray)
                {
                    if (!IsUnresolved(x)) continue;
                    if (ready) { stack.Push((n, null)); ready = false; }
                    stack.Push((x, null));
                }
                if (!ready) continue;
                var inputs = Array.ConvertAll(n.InputArray, Final);
                var result = Step(graph, n.Op, inputs, n);
                if (result == n) _pending[n] = n;
                else if (IsUnresolved(result)) { stack.Push((n, result)); stack.Push((result, null)); }
                else _pending[n] = Final(result);
            }
            return _pending[root]!;
        }

        /// <summary>
        /// One node with final inputs: the replacement built by the first matching rule (possibly pending),
        /// or else a final node — an identical one already in the graph, <paramref name="self"/> when it is
        /// a pending node with exactly these inputs, or a new one.
        /// </summary>
        private Node Step(Graph graph, Primitive op, Node[] inputs, Node? self)
        {
            owner.Visits++;
            if (op is ISubgraphOp sub) op = owner.WithSimplifiedBodies(sub, (Primitive)sub);
            // Only finished replacements are reused: a replacement still being resolved is an ancestor of this
            // node, and re-firing there is how a rule that does not terminate gets caught by the budget.
            if (!op.IsRandom && _rewritten.TryGetValue(new NodeKey(op, inputs), out var done) && !IsUnresolved(done))
                return Final(done);
            foreach (var rule in owner.Rules)
            {
                if (!rule.Matches(op, inputs, _context)) continue;
                var site = $"{op}({string.Join(", ", inputs.Select(i => $"%{i.Id}{i.Shape}"))})";
                owner.Log.Add(new RuleFiring(pass, rule.Name, site));
                owner.Trace?.WriteLine($"pass {pass}: {rule.Name} at {site}");
                if (owner.Log.Count > budget.Firings)
                    throw new InvalidOperationException($"simplify: {owner.Log.Count} rule firings in {pass} pass(es) on a graph of {budget.Nodes} nodes without reaching a fixed point (last: {rule.Name} at {site}); the rules do not terminate.");
                Node result;
                _rewriting = true;
                try { result = rule.Rewrite(op, inputs, _context); }
                finally { _rewriting = false; }
                var expected = op.InferShape(inputs);
                if (result.Shape != expected)
                    throw new InvalidOperationException($"simplify: rule {rule.Name} changed the shape at {site} from {expected} to {result.Shape}.");
                if (!op.IsRandom) _rewritten[new NodeKey(op, (Node[])inputs.Clone())] = result;
                return result;
            }
            bool unchanged = self is not null && inputs.AsSpan().SequenceEqual(self.InputArray);
            if (op.IsRandom) return unchanged ? self! : graph.Append(op, inputs);
            if (_existing.TryGetValue(new NodeKey(op, inputs), out var same)) return same;
            var node = unchanged ? self! : graph.Append(op, inputs);
            _existing[new NodeKey(op, node.InputArray)] = node;
            return node;
        }
    }

    /// <summary>What makes two deterministic nodes the same value: equal primitives applied to the same input nodes.</summary>
    private readonly struct NodeKey(Primitive op, Node[] inputs) : IEquatable<NodeKey>
    {
        private readonly Primitive _op = op;
        private readonly Node[] _inputs = inputs;

        public bool Equals(NodeKey other) => _op.Equals(other._op) && _inputs.AsSpan().SequenceEqual(other._inputs);
        public override bool Equals(object? obj) => obj is NodeKey k && Equals(k);
        public override int GetHashCode()
        {
            var h = new HashCode();
            h.Add(_op);
            foreach (var x in _inputs) h.Add(x.Id);
            return h.ToHashCode();
        }
    }
}
