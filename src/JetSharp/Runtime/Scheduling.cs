using JetSharp.Ir;

namespace JetSharp.Runtime;

/// <summary>
/// Memory-aware ordering of a schedule. The graph's topological order puts a node where it was created,
/// which can be long after its operands are ready: the Taylor transform emits Σ_r x₁² reductions at the end,
/// so every layer's squared tangents [R, N, H] would stay live through the rest of the network. This pass
/// keeps the given order but runs a node as soon as its operands exist when that cannot raise the live
/// bytes much: its output is no larger than what it frees (operands it is the last consumer of), or it is a
/// reduction (its output at most a quarter of its largest operand that the run allocates). Linear in the
/// schedule's size and without recursion.
/// </summary>
internal static class Scheduling
{
    /// <param name="order">A topological order of the nodes to run.</param>
    /// <param name="inputsOf">Each node's distinct operands (a fused tree's leaves).</param>
    /// <param name="outputs">The graph's outputs (kept live to the end).</param>
    /// <param name="bytes">What running a node allocates (0 for inputs, constants and views).</param>
    public static Node[] EagerReductions(IReadOnlyList<Node> order, Func<Node, Node[]> inputsOf, IEnumerable<Node> outputs, Func<Node, long> bytes)
    {
        var consumers = new Dictionary<Node, List<Node>>(order.Count);
        var remaining = new Dictionary<Node, int>(order.Count);   // consumers not yet scheduled, + outputs
        var waiting = new Dictionary<Node, int>(order.Count);     // operands not yet scheduled
        foreach (var n in order)
        {
            consumers[n] = [];
            remaining[n] = 0;
        }
        foreach (var n in order)
        {
            var ins = inputsOf(n);
            waiting[n] = ins.Length;
            foreach (var i in ins)
            {
                consumers[i].Add(n);
                remaining[i]++;
            }
        }
        foreach (var o in outputs) remaining[o]++;

        bool Eager(Node n)
        {
            long output = bytes(n), freed = 0, largest = 0;
            foreach (var i in inputsOf(n))
            {
                long b = bytes(i);
                if (remaining[i] == 1) freed += b;
                largest = Math.Max(largest, b);
            }
            return output <= freed || 4 * output <= largest;
        }

        var result = new List<Node>(order.Count);
        var done = new HashSet<Node>(order.Count);
        var work = new Stack<Node>();
        foreach (var start in order)
        {
            if (done.Contains(start)) continue;
            work.Push(start);
            while (work.Count > 0)
            {
                var n = work.Pop();
                if (done.Contains(n) || waiting[n] > 0 || (n != start && !Eager(n))) continue;
                done.Add(n);
                result.Add(n);
                var ins = inputsOf(n);
                foreach (var i in ins) remaining[i]--;
                // Candidates to run now: n's consumers (one operand fewer to wait for) and the remaining
                // consumers of n's operands (which may now be the last and free them).
                foreach (var c in consumers[n]) { waiting[c]--; if (waiting[c] == 0) work.Push(c); }
                foreach (var i in ins)
                    if (remaining[i] == 1 && bytes(i) > 0)
                        foreach (var c in consumers[i])
                            if (!done.Contains(c) && waiting[c] == 0) work.Push(c);
            }
        }
        return [.. result];
    }
}
