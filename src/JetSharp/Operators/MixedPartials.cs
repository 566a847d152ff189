namespace JetSharp.Operators;

/// <summary>
/// Turns Σ c_α ∂^α f into direction families. Each ∂^α (|α| = K, over the coordinates it involves)
/// becomes Σ_j (γ_{α,j}/K!)·F(Σ_p j_p e_p) by <see cref="Interpolation"/>; terms are grouped by order
/// and identical directions merged (this is what reduces the biharmonic to (3D² − D)/2 four-jets).
/// A weight w is folded into its direction: w·F_K(u) = F_K(w^{1/K}·u) for w &gt; 0 or odd K; weights
/// w &lt; 0 of even order go to a second family with scale −1. So each family is a plain sum over
/// directions, which the simplifier collapses; first-order terms all land in one family and collapse
/// into a single directional derivative.
/// </summary>
internal static class MixedPartials
{
    public static IReadOnlyList<DirectionFamily> Families(IEnumerable<(double Coefficient, int[] Axes)> terms, int dimension)
    {
        var byOrder = new SortedDictionary<int, Dictionary<string, (int[] Direction, double Weight)>>();
        foreach (var (c, axes) in terms)
        {
            if (axes.Length == 0) continue;
            var coords = axes.Distinct().Order().ToArray();
            var i = coords.Select(p => axes.Count(a => a == p)).ToArray();
            int k = axes.Length;
            if (!byOrder.TryGetValue(k, out var dirs)) byOrder[k] = dirs = [];
            foreach (var (j, w) in Interpolation.Weights(i))
            {
                var u = new int[dimension];
                for (int p = 0; p < coords.Length; p++) u[coords[p]] = j[p];
                string key = string.Join(",", u);
                dirs[key] = (u, (dirs.TryGetValue(key, out var e) ? e.Weight : 0) + c * w.ToDouble());
            }
        }
        var families = new List<DirectionFamily>();
        foreach (var (k, dirs) in byOrder)
        {
            double scale = dirs.Values.Select(v => Math.Abs(v.Weight)).DefaultIfEmpty(0).Max();
            var kept = dirs.Values.Where(v => Math.Abs(v.Weight) > 1e-14 * scale).ToList();
            var positive = kept.Where(v => v.Weight > 0 || k % 2 == 1).ToList();
            var negative = kept.Where(v => v.Weight < 0 && k % 2 == 0).ToList();
            if (positive.Count > 0) families.Add(DirectionFamily.Constant(k, 1, Scaled(positive, k, dimension), $"order {k}, {positive.Count} directions"));
            if (negative.Count > 0) families.Add(DirectionFamily.Constant(k, -1, Scaled(negative, k, dimension), $"order {k}, {negative.Count} directions (negative weights)"));
        }
        return families;
    }

    private static double[,] Scaled(List<(int[] Direction, double Weight)> dirs, int k, int dimension)
    {
        var m = new double[dirs.Count, dimension];
        for (int r = 0; r < dirs.Count; r++)
        {
            double w = dirs[r].Weight;
            double s = Math.Sign(w) * Math.Pow(Math.Abs(w), 1.0 / k);
            for (int j = 0; j < dimension; j++) m[r, j] = s * dirs[r].Direction[j];
        }
        return m;
    }
}
