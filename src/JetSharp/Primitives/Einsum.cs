using JetSharp.Ir;
using JetSharp.Tensors;

namespace JetSharp.Primitives;

/// <summary>
/// Einstein summation as a composition of primitives: every operand's repeated labels become diagonals
/// (a product with an identity and a sum), labels no later step needs are summed out, and the operands
/// are contracted left to right, each pair as one batched matrix product (transpose, reshape, matmul) or,
/// without a shared summed label, a broadcast product. So einsum has exactly the rules of those primitives
/// (any order, every transform) and collapsing pulls sums through it like through any matmul.
/// <para>Syntax: labels are letters; operands are separated by commas; "->" gives the output labels (without
/// it, the labels that occur once, in alphabetical order); "..." stands for leading batch axes, which
/// broadcast NumPy-style (size 1 against n) and are summed when the output omits them. Other labels must
/// have equal extents everywhere.</para>
/// </summary>
public static class Einsum
{
    private const char FirstEllipsisLabel = '\u0100';

    /// <summary>Evaluates <paramref name="spec"/> on <paramref name="operands"/>.</summary>
    /// <exception cref="ShapeException">The specification does not fit the operands (the message names both).</exception>
    public static Node Apply(string spec, params Node[] operands)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (operands.Length == 0) throw new ShapeException($"einsum '{spec}': no operands.");
        spec = spec.Replace(" ", "");
        string Fail(string why) => $"einsum '{spec}' on {string.Join(", ", operands.Select(o => o.Shape))}: {why}";

        var arrow = spec.Split("->");
        if (arrow.Length > 2) throw new ShapeException(Fail("more than one '->'."));
        var terms = arrow[0].Split(',');
        if (terms.Length != operands.Length) throw new ShapeException(Fail($"{terms.Length} operand term(s) for {operands.Length} operand(s)."));

        // Labels per operand, with "..." expanded right-aligned into shared batch labels.
        int ellipsisRank = 0;
        var parsed = new (string Before, string After, bool Ellipsis)[terms.Length];
        for (int i = 0; i < terms.Length; i++)
        {
            var t = terms[i];
            int e = t.IndexOf("...", StringComparison.Ordinal);
            var (before, after) = e < 0 ? (t, "") : (t[..e], t[(e + 3)..]);
            if ((before + after).Any(c => !char.IsAsciiLetter(c))) throw new ShapeException(Fail($"term '{t}' has a character that is not a letter."));
            int letters = before.Length + after.Length;
            if (e < 0 ? letters != operands[i].Rank : letters > operands[i].Rank)
                throw new ShapeException(Fail($"term '{t}' does not match operand {i} of rank {operands[i].Rank}."));
            parsed[i] = (before, after, e >= 0);
            if (e >= 0) ellipsisRank = Math.Max(ellipsisRank, operands[i].Rank - letters);
        }
        string ellipsisLabels = new([.. Enumerable.Range(0, ellipsisRank).Select(j => (char)(FirstEllipsisLabel + j))]);

        // Broadcast the ellipsis parts to a common batch shape.
        var batch = Shape.Scalar;
        for (int i = 0; i < terms.Length; i++)
            if (parsed[i].Ellipsis)
            {
                var s = operands[i].Shape;
                var part = new Shape(s.ToArray()[parsed[i].Before.Length..(s.Rank - parsed[i].After.Length)]);
                if (!Shape.TryBroadcast(batch, part, out batch)) throw new ShapeException(Fail("the '...' axes cannot be broadcast together."));
            }
        var ops = new List<(Node X, string Labels)>();
        for (int i = 0; i < terms.Length; i++)
        {
            var (before, after, ell) = parsed[i];
            var x = operands[i];
            if (!ell) { ops.Add((x, before)); continue; }
            var s = x.Shape.ToArray();
            int own = s.Length - before.Length - after.Length;
            int[] head = s[..before.Length], tail = s[(s.Length - after.Length)..];
            int[] middle = s[before.Length..(s.Length - after.Length)];
            var padded = Fn.Reshape(x, [.. head, .. Enumerable.Repeat(1, ellipsisRank - own), .. middle, .. tail]);
            x = Fn.BroadcastTo(padded, new Shape([.. head, .. batch, .. tail]));
            ops.Add((x, before + ellipsisLabels + after));
        }

        // Output labels.
        string output;
        if (arrow.Length == 2)
        {
            var o = arrow[1];
            int e = o.IndexOf("...", StringComparison.Ordinal);
            output = e < 0 ? o : o[..e] + ellipsisLabels + o[(e + 3)..];
        }
        else
        {
            var counts = string.Concat(ops.Select(p => p.Labels)).GroupBy(c => c).ToDictionary(g => g.Key, g => g.Count());
            output = ellipsisLabels + new string([.. counts.Where(kv => kv.Value == 1 && kv.Key < FirstEllipsisLabel).Select(kv => kv.Key).Order()]);
        }
        if (output.Distinct().Count() != output.Length) throw new ShapeException(Fail("an output label repeats."));

        // Extents must agree per label.
        var extent = new Dictionary<char, int>();
        foreach (var (x, labels) in ops)
            for (int j = 0; j < labels.Length; j++)
                if (extent.TryGetValue(labels[j], out var n) && n != x.Shape[j])
                    throw new ShapeException(Fail($"label '{labels[j]}' has extents {n} and {x.Shape[j]}."));
                else extent[labels[j]] = x.Shape[j];
        foreach (var c in output)
            if (!extent.ContainsKey(c)) throw new ShapeException(Fail($"output label '{c}' appears in no operand."));

        // Diagonals, then labels needed nowhere else summed out, then pairwise contraction.
        for (int i = 0; i < ops.Count; i++) ops[i] = Diagonals(ops[i].X, ops[i].Labels);
        var current = ops[0];
        for (int i = 0; i <= ops.Count - 1; i++)
        {
            if (i > 0) current = Contract(current, ops[i], Needed(ops, i + 1, output));
            else current = SumOut(current, Needed(ops, 1, output));
        }
        var (result, have) = current;
        var perm = output.Select(c => have.IndexOf(c)).ToArray();
        return perm.Select((p, j) => p == j).All(b => b) && perm.Length == have.Length ? result : Fn.Transpose(result, perm);
    }

    /// <summary>Labels used by operands from <paramref name="from"/> on, or by the output.</summary>
    private static HashSet<char> Needed(List<(Node X, string Labels)> ops, int from, string output)
    {
        var keep = new HashSet<char>(output);
        for (int i = from; i < ops.Count; i++) keep.UnionWith(ops[i].Labels);
        return keep;
    }

    /// <summary>Replaces each repeated label by the diagonal over its occurrences.</summary>
    private static (Node, string) Diagonals(Node x, string labels)
    {
        while (true)
        {
            int q = -1, p = -1;
            for (int j = 0; j < labels.Length && q < 0; j++)
            {
                int k = labels.IndexOf(labels[j], j + 1);
                if (k >= 0) (p, q) = (j, k);
            }
            if (q < 0) return (x, labels);
            // Move axes p and q last, multiply by the identity and sum the last: the diagonal lands on the
            // (new) last axis, labelled labels[p].
            int[] order = [.. Enumerable.Range(0, labels.Length).Where(j => j != p && j != q), p, q];
            var moved = Fn.Transpose(x, order);
            int n = x.Shape[p];
            var diag = Fn.Sum(moved * x.Graph.Constant(NDArray.Identity<double>(n)), -1);
            labels = new string([.. order.Take(order.Length - 2).Select(j => labels[j]), labels[p]]);
            x = diag;
        }
    }

    /// <summary>Sums out the labels not in <paramref name="keep"/>.</summary>
    private static (Node, string) SumOut((Node X, string Labels) op, HashSet<char> keep)
    {
        var axes = Enumerable.Range(0, op.Labels.Length).Where(j => !keep.Contains(op.Labels[j])).ToArray();
        if (axes.Length == 0) return op;
        return (Fn.Sum(op.X, axes), new string([.. op.Labels.Where(c => keep.Contains(c))]));
    }

    /// <summary>
    /// Contracts two operands: labels in both and kept are batch axes, labels in both and not kept are summed
    /// by one matrix product, the others are rows (of a) and columns (of b).
    /// </summary>
    private static (Node, string) Contract((Node X, string Labels) a, (Node X, string Labels) b, HashSet<char> keep)
    {
        var keepHere = new HashSet<char>(keep);
        keepHere.UnionWith(b.Labels);
        a = SumOut(a, keepHere);
        keepHere = new HashSet<char>(keep);
        keepHere.UnionWith(a.Labels);
        b = SumOut(b, keepHere);

        string batch = new([.. a.Labels.Where(c => b.Labels.Contains(c) && keep.Contains(c))]);
        string summed = new([.. a.Labels.Where(c => b.Labels.Contains(c) && !keep.Contains(c))]);
        string rows = new([.. a.Labels.Where(c => !b.Labels.Contains(c))]);
        string cols = new([.. b.Labels.Where(c => !a.Labels.Contains(c))]);
        int Extent(Node x, string labels, string which) => which.Aggregate(1, (p, c) => p * x.Shape[labels.IndexOf(c)]);
        int nb = Extent(a.X, a.Labels, batch), m = Extent(a.X, a.Labels, rows), k = Extent(a.X, a.Labels, summed), n = Extent(b.X, b.Labels, cols);
        int[] Dims(Node x, string labels, string which) => [.. which.Select(c => x.Shape[labels.IndexOf(c)])];
        Node Arrange(Node x, string labels, string order, int[] shape)
        {
            var perm = order.Select(c => labels.IndexOf(c)).ToArray();
            var t = perm.Select((p, j) => p == j).All(v => v) ? x : Fn.Transpose(x, perm);
            return Fn.Reshape(t, shape);
        }
        Node product;
        if (summed.Length == 0)
        {
            // No shared summed label: a broadcast product [B, m, 1]·[B, 1, n].
            product = Arrange(a.X, a.Labels, batch + rows, [nb, m, 1]) * Arrange(b.X, b.Labels, batch + cols, [nb, 1, n]);
        }
        else
        {
            product = Fn.MatMul(Arrange(a.X, a.Labels, batch + rows + summed, [nb, m, k]), Arrange(b.X, b.Labels, batch + summed + cols, [nb, k, n]));
        }
        int[] resultShape = [.. Dims(a.X, a.Labels, batch), .. Dims(a.X, a.Labels, rows), .. Dims(b.X, b.Labels, cols)];
        return (Fn.Reshape(product, resultShape), batch + rows + cols);
    }
}
