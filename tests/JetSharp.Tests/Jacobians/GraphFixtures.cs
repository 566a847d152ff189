using JetSharp.Jacobians;

namespace JetSharp.Tests.Jacobians;

/// <summary>Linearized graphs built directly, for the combinatorial tests.</summary>
internal static class GraphFixtures
{
    /// <summary>
    /// The layered complete graph with layer widths <paramref name="widths"/> (first = independents, last =
    /// dependents): every vertex of a layer feeds every vertex of the next. Labels are seeded normals at
    /// <paramref name="points"/> points, or none when points is 0.
    /// </summary>
    public static LinearizedGraph Layered(int[] widths, int points = 0, long seed = 1)
    {
        var offsets = new int[widths.Length];
        for (int l = 1; l < widths.Length; l++) offsets[l] = offsets[l - 1] + widths[l - 1];
        var edges = new List<Edge>();
        for (int l = 0; l + 1 < widths.Length; l++)
            for (int a = 0; a < widths[l]; a++)
                for (int b = 0; b < widths[l + 1]; b++)
                    edges.Add(new Edge(offsets[l] + a, offsets[l + 1] + b));
        return LinearizedGraph.Create(widths[0], widths[1..^1].Sum(), widths[^1], edges, Labels(edges.Count, points, seed));
    }

    /// <summary>
    /// A random DAG in the canonical numbering: each pair u &lt; v that the roles allow is an edge with
    /// probability <paramref name="density"/>; every intermediate gets at least one predecessor and one
    /// successor so that it lies on some path.
    /// </summary>
    public static LinearizedGraph RandomDag(int n, int p, int m, double density, long seed, int points = 0)
    {
        var rng = new Random((int)seed);
        int v = n + p + m;
        var set = new HashSet<Edge>();
        bool Allowed(int a, int b) => a < b && a < n + p && b >= n;
        for (int a = 0; a < v; a++)
            for (int b = a + 1; b < v; b++)
                if (Allowed(a, b) && rng.NextDouble() < density) set.Add(new Edge(a, b));
        for (int j = n; j < n + p; j++)
        {
            if (!set.Any(e => e.To == j)) set.Add(new Edge(rng.Next(j), j));
            if (!set.Any(e => e.From == j)) set.Add(new Edge(j, rng.Next(j + 1, v)));
        }
        var edges = set.OrderBy(e => e.To).ThenBy(e => e.From).ToList();
        return LinearizedGraph.Create(n, p, m, edges, Labels(edges.Count, points, seed));
    }

    private static double[][]? Labels(int edges, int points, long seed)
    {
        if (points == 0) return null;
        var t = TestUtil.Randn(seed, edges, points);
        return [.. Enumerable.Range(0, edges).Select(e => t.Data.AsSpan(e * points, points).ToArray())];
    }

    /// <summary>The cheapest of all p! orders, by enumeration (independent of the dynamic programming).</summary>
    public static long BruteForceOptimum(LinearizedGraph g)
    {
        var counter = new BitElimination(g);
        long best = long.MaxValue;
        foreach (var order in Permutations([.. g.IntermediateVertices]))
            best = Math.Min(best, counter.Count(order));
        return best;
    }

    /// <summary>All permutations (Heap's algorithm), each yielded in the same array: copy to keep one.</summary>
    public static IEnumerable<int[]> Permutations(int[] items)
    {
        var a = (int[])items.Clone();
        var c = new int[a.Length];
        yield return a;
        int i = 0;
        while (i < a.Length)
        {
            if (c[i] < i)
            {
                if (i % 2 == 0) (a[0], a[i]) = (a[i], a[0]);
                else (a[c[i]], a[i]) = (a[i], a[c[i]]);
                yield return a;
                c[i]++;
                i = 0;
            }
            else
            {
                c[i] = 0;
                i++;
            }
        }
    }

    /// <summary>The Jacobian by dense path accumulation: J = Σ over paths of label products, via a topological sweep.</summary>
    public static NDArray<double> DenseJacobian(LinearizedGraph g)
    {
        int n = g.Independents, p = g.Intermediates, m = g.Dependents, points = g.PointCount;
        // d[v][i]: ∂v/∂x_i at each point, accumulated in topological (= index) order.
        var d = new double[g.VertexCount][][];
        for (int v = 0; v < g.VertexCount; v++)
        {
            d[v] = new double[n][];
            for (int i = 0; i < n; i++) d[v][i] = new double[points];
            if (v < n) Array.Fill(d[v][v], 1.0);
        }
        var byTarget = g.Edges.Select((e, k) => (e, k)).OrderBy(x => x.e.To);
        foreach (var (e, k) in byTarget)
        {
            var label = g.Label(k);
            for (int i = 0; i < n; i++)
                for (int q = 0; q < points; q++) d[e.To][i][q] += label[q] * d[e.From][i][q];
        }
        var j = new NDArray<double>(new Shape(points, m, n));
        for (int q = 0; q < points; q++)
            for (int a = 0; a < m; a++)
                for (int i = 0; i < n; i++) j.Data[(q * m + a) * n + i] = d[n + p + a][i][q];
        return j;
    }
}
