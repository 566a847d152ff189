using JetSharp.Control;
using JetSharp.Ir;
using JetSharp.Tensors;

namespace JetSharp.Tracing;

// Loops inside a traced function: the body is traced once and becomes one scan node, not L copies.
public static partial class Tracer
{
    /// <summary>
    /// A loop over the leading axis of <paramref name="xs"/>: for l = 0..L−1 (L−1..0 when
    /// <paramref name="reverse"/>), <c>(carries, ys_l) = step(carries, xs[l])</c>. <paramref name="step"/>
    /// receives the carries and one slice of each xs and returns the new carries (same shapes, first) and
    /// then any per-step outputs. Returns the final carries, then each per-step output stacked [L, …].
    /// The body is traced once; values of the enclosing trace it uses become inputs of the loop that do not
    /// change from step to step. Reverse mode keeps what it needs according to <paramref name="checkpointing"/>.
    /// </summary>
    /// <param name="step">The loop body.</param>
    /// <param name="init">Initial carries (at least one).</param>
    /// <param name="xs">Scanned inputs, each [L, …] with the same L (may be empty: then give <paramref name="length"/>).</param>
    /// <param name="length">L when there are no xs; when given with xs it must match their leading axis.</param>
    /// <param name="reverse">Run from the last slice to the first.</param>
    /// <param name="checkpointing">How reverse mode keeps the states (default: stores all of them).</param>
    /// <exception cref="ArgumentNullException">An argument or node is null.</exception>
    /// <exception cref="ArgumentException">No carries, or neither xs nor a length.</exception>
    /// <exception cref="ShapeException">The xs disagree on L, an xs has no leading axis, or the body changes a carry's shape (the message names the carry and both shapes).</exception>
    public static Node[] Scan(Func<Node[], Node[], Node[]> step, Node[] init, Node[] xs, int? length = null, bool reverse = false,
        LoopCheckpointing checkpointing = default)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(init);
        ArgumentNullException.ThrowIfNull(xs);
        if (init.Length == 0) throw new ArgumentException("scan: needs at least one carry.", nameof(init));
        var outer = OuterGraph([.. init, .. xs], "scan");
        for (int i = 0; i < xs.Length; i++)
            if (xs[i].Rank == 0) throw new ShapeException($"scan: xs {i} is a scalar; a scanned input needs a leading axis [L, …].");
        int l = xs.Length > 0 ? xs[0].Shape[0] : length ?? throw new ArgumentException("scan: without xs, give the number of steps (length).", nameof(length));
        if (l < 0) throw new ArgumentOutOfRangeException(nameof(length), l, $"scan: the length must be ≥ 0, got {l}.");
        for (int i = 0; i < xs.Length; i++)
            if (xs[i].Shape[0] != l)
                throw new ShapeException($"scan: xs {i} has shape {xs[i].Shape}, leading axis {xs[i].Shape[0]}; the others (or the length) give L = {l}.");
        if (length is { } given && given != l) throw new ShapeException($"scan: length {given} disagrees with the xs' leading axis {l}.");

        var shapes = init.Select(c => c.Shape).Concat(xs.Select(x => new Shape(x.Shape.ToArray()[1..]))).ToArray();
        var names = init.Select((_, i) => init.Length == 1 ? "carry" : $"carry{i}").Concat(xs.Select((_, i) => xs.Length == 1 ? "x" : $"x{i}")).ToArray();
        var (body, captured) = TraceBody(outer, ins =>
        {
            var outs = step(ins[..init.Length], ins[init.Length..]);
            if (outs is not null && outs.Length < init.Length)
                throw new ShapeException($"scan: the body returns {outs.Length} value(s) for {init.Length} carries; it must return the new carries first.");
            return outs!;
        }, shapes, names, "scan");
        Node[] args = [.. init, .. xs, .. captured];
        var results = new Node[body.Outputs.Count];
        for (int r = 0; r < results.Length; r++)
            results[r] = outer.Apply(new ScanOp(body, l, init.Length, xs.Length, r, reverse, checkpointing), args);
        return results;
    }

    /// <summary>One carry and one scanned input: the final carry of <c>carry ← step(carry, xs[l])</c>, l = 0..L−1.</summary>
    public static Node Scan(Func<Node, Node, Node> step, Node init, Node xs, LoopCheckpointing checkpointing = default)
    {
        ArgumentNullException.ThrowIfNull(step);
        return Scan((c, x) => [step(c[0], x[0])], [init], [xs], checkpointing: checkpointing)[0];
    }

    /// <summary>A counted loop: the final carry of <c>carry ← step(carry)</c> applied <paramref name="length"/> times.</summary>
    public static Node Scan(Func<Node, Node> step, Node init, int length, LoopCheckpointing checkpointing = default)
    {
        ArgumentNullException.ThrowIfNull(step);
        return Scan((c, _) => [step(c[0])], [init], [], length, checkpointing: checkpointing)[0];
    }
}
