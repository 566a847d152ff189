using JetSharp.Simplify;
using static JetSharp.Tests.SimplifyTestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Seeded random graphs over the ops the rules know (elementwise arithmetic, matmul, sums, reshape,
/// transpose, broadcast, slice, pad, concat), with size-1 axes, zero and one constants, and sums over
/// random axes: the standard rule set must leave every output unchanged. These reach rule
/// combinations and shape corner cases that hand-written cases miss.
/// </summary>
public class RandomGraphTests
{
    private const int R = 3, N = 4, H = 5;

    public static TheoryData<int> Seeds() => [.. Enumerable.Range(0, 200)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void StandardRulesPreserveRandomGraphs(int seed)
    {
        Shape[] inputShapes = [new(R, N, H), new(N, H), new(1, N, H), new(R, 1, H), new(H), new(R, N, 1)];
        var g = Tracer.Function(xs => Build(xs, new Random(seed)), inputShapes);
        var simplifier = Simplifier.Standard();
        var simplified = simplifier.Run(g);
        SameOutputs(g, simplified, InputsFor(g, seed), 1e-11);
    }

    private static Node[] Build(Node[] inputs, Random rng)
    {
        var pool = new List<Node>(inputs);
        var g = inputs[0].Graph;
        pool.Add(Fn.Zeros(g, new Shape(R, N, H)));
        pool.Add(Fn.BroadcastTo(g.Scalar(1), new Shape(N, H)));
        Node Pick() => pool[rng.Next(pool.Count)];
        Node PickRank(int minRank)
        {
            var c = pool.Where(n => n.Rank >= minRank).ToList();
            return c[rng.Next(c.Count)];
        }
        for (int step = 0; step < 14; step++)
        {
            Node? y = null;
            try
            {
                y = rng.Next(14) switch
                {
                    0 => Fn.Tanh(Pick()),
                    1 => Fn.Sin(Pick()) * 1.5,
                    2 => -Pick(),
                    3 => Binary(Pick(), Pick(), rng),
                    4 => Binary(Pick(), Pick(), rng),
                    5 => SumRandom(PickRank(1), rng),
                    6 => BroadcastRandom(Pick(), rng),
                    7 => ReshapeRandom(PickRank(1), rng),
                    8 => TransposeRandom(PickRank(2), rng),
                    9 => SliceOrPad(PickRank(1), rng),
                    10 => ConcatRandom(PickRank(1), rng),
                    11 => MatMulRandom(PickRank(2), rng),
                    12 when rng.Next(2) == 0 => MatMulPair(PickRank(2), pool, rng),
                    _ => Fn.Sum(Binary(Pick(), Pick(), rng), 0),
                };
            }
            catch (ArgumentException) { }   // incompatible random choice: skip it
            if (y is not null) pool.Add(y.Shape.Size > 2000 ? Fn.Sum(y, 0) : y);
        }
        // Several outputs: the last nodes, and direction sums of them, which is what collapsing rewrites.
        var last = pool.Skip(inputs.Length + 2).TakeLast(3).ToList();
        var outs = new List<Node>(last);
        foreach (var n in last)
            if (n.Rank > 0) outs.Add(Fn.Sum(n, 0, keepDims: rng.Next(2) == 0));
        return outs.Count > 0 ? [.. outs] : [Fn.Tanh(inputs[0])];
    }

    private static Node Binary(Node a, Node b, Random rng) => rng.Next(5) switch
    {
        0 => a + b,
        1 => a - b,
        2 => a * b,
        3 => a / (b * b + 1.0),
        _ => Fn.Tanh(a) * b,
    };

    private static Node SumRandom(Node x, Random rng)
    {
        var axes = Enumerable.Range(0, x.Rank).Where(_ => rng.Next(2) == 0).ToArray();
        if (axes.Length == 0) axes = [rng.Next(x.Rank)];
        return Fn.Sum(x, axes, keepDims: rng.Next(2) == 0);
    }

    private static Node BroadcastRandom(Node x, Random rng)
    {
        // Stretch size-1 axes, or prepend a direction axis.
        var dims = x.Shape.ToArray();
        for (int i = 0; i < dims.Length; i++)
            if (dims[i] == 1 && rng.Next(2) == 0) dims[i] = rng.Next(2, 5);
        if (rng.Next(2) == 0 || dims.SequenceEqual(x.Shape)) dims = [rng.Next(1, 4), .. dims];
        if (dims.Length > 4) return x;
        return Fn.BroadcastTo(x, new Shape(dims));
    }

    private static Node ReshapeRandom(Node x, Random rng)
    {
        var dims = x.Shape.ToList();
        int choice = rng.Next(4);
        if (choice == 3)                                                // split an axis into two factors
        {
            int i = rng.Next(dims.Count), e = dims[i];
            int f = Enumerable.Range(2, Math.Max(0, e - 2)).FirstOrDefault(q => e % q == 0 && q < e);
            if (f == 0) return x;
            dims[i] = e / f;
            dims.Insert(i + 1, f);
        }
        if (choice == 1 && !dims.Remove(1)) choice = 2;                 // remove a size-1 axis, if there is one
        if (choice == 0) dims.Insert(rng.Next(dims.Count + 1), 1);      // add a size-1 axis
        if (choice == 2 && dims.Count >= 2)                             // merge two neighbouring axes
        {
            int i = rng.Next(dims.Count - 1);
            dims[i] *= dims[i + 1];
            dims.RemoveAt(i + 1);
        }
        return dims.Count is 0 or > 4 ? x : Fn.Reshape(x, [.. dims]);
    }

    private static Node TransposeRandom(Node x, Random rng) =>
        Fn.Transpose(x, [.. Enumerable.Range(0, x.Rank).OrderBy(_ => rng.Next())]);

    private static Node SliceOrPad(Node x, Random rng)
    {
        int a = rng.Next(x.Rank);
        if (rng.Next(2) == 0 && x.Shape[a] > 1)
        {
            int start = rng.Next(x.Shape[a] - 1);
            return Fn.Slice(x, a, start, rng.Next(1, x.Shape[a] - start + 1));
        }
        var before = new int[x.Rank];
        var after = new int[x.Rank];
        before[a] = rng.Next(2);
        after[a] = rng.Next(1, 3);
        return Fn.Pad(x, before, after);
    }

    private static Node ConcatRandom(Node x, Random rng)
    {
        int a = rng.Next(x.Rank);
        return Fn.Concat(a, x, Fn.Tanh(x));
    }

    /// <summary>x times another pool node whose shape fits (either orientation), broadcast over batch axes.</summary>
    private static Node MatMulPair(Node x, List<Node> pool, Random rng)
    {
        bool ta = rng.Next(3) == 0, tb = rng.Next(2) == 0;
        int k = ta ? x.Shape[^2] : x.Shape[^1];
        var fits = pool.Where(y => y.Rank >= 2 && (tb ? y.Shape[^1] : y.Shape[^2]) == k).ToList();
        if (fits.Count == 0) return Fn.MatMul(x, Fn.BroadcastTo(x.Graph.Scalar(0.5), new Shape(k, 2)), ta);
        var y = fits[rng.Next(fits.Count)];
        return rng.Next(2) == 0 ? Fn.MatMul(x, y, ta, tb) : Fn.MatMul(Fn.Tanh(x), Fn.BroadcastTo(y, new Shape([R, .. y.Shape.Skip(Math.Max(0, y.Rank - 3))])), ta, tb);
    }

    private static Node MatMulRandom(Node x, Random rng)
    {
        int k = x.Shape[^1];
        var g = x.Graph;
        return rng.Next(4) switch
        {
            0 => Fn.MatMul(x, g.Constant(TestUtil.Randn(rng.Next(), k, rng.Next(1, 5)))),
            1 => Fn.MatMul(g.Constant(TestUtil.Randn(rng.Next(), rng.Next(1, 5), x.Shape[^2])), x),
            2 => Fn.MatMul(x, x, transposeB: true),                                        // both operands carry everything
            _ => Fn.MatMul(x, g.Constant(TestUtil.Randn(rng.Next(), 1, rng.Next(1, 5), k)), transposeB: true),
        };
    }
}
