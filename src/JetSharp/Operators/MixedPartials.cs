namespace JetSharp.Operators;

/// <summary>
/// Turns Σ c_α ∂^α f into direction families. Each ∂^α (|α| = K, over the coordinates it involves)
/// becomes Σ_j (γ_{α,j}/K!)·F(Σ_p j_p e_p) by <see cref="Interpolation"/>; terms are grouped by order
/// and identical directions merged (this is what reduces the biharmonic to (3D² − D)/2 four-jets).
/// <para>
/// Weights are accumulated exactly (each coefficient is a double, hence an exact fraction, and the
/// interpolation weights are exact fractions), so a direction is dropped only when its weights cancel
/// exactly: no coefficient is lost however small it is next to the others. A weight w is folded into
/// its direction, w·F_K(u) = F_K(w^{1/K}·u) for w &gt; 0 or odd K; weights w &lt; 0 of even order go to
/// families of their own with a negative scale. So each family is a plain sum over directions, which
/// the simplifier collapses; first-order terms of one band land in one family and collapse into a
/// single directional derivative.
/// </para>
/// <para>
/// Bands: the directions of one order and sign are split into bands whose weights lie within a factor
/// 2^<see cref="BandBits"/> of each other. A band's family carries the scale S = 2^e nearest below its
/// largest weight (applied once to the family's sum), and its directions carry (w/S)^{1/K}, so every
/// direction factor lies in [2^−60/K, 2): it neither underflows nor overflows, in float64 or float32,
/// whatever the magnitude of the coefficients. A band whose weights all lie in [2^−30, 2^30) (every
/// operator with coefficients of ordinary size) keeps S = 1. Coefficients within 18 orders of magnitude
/// of each other (and of the same order and sign) share one family.
/// </para>
/// </summary>
internal static class MixedPartials
{
    /// <summary>log₂ of the widest ratio of weights within one family.</summary>
    internal const int BandBits = 60;

    /// <summary>A band whose weights all lie in [2^−30, 2^30) keeps the scale 1: its directions are safe as they are.</summary>
    private const int SafeBits = 30;

    /// <summary>The families of Σ c_α ∂^α for inputs of dimension <paramref name="dimension"/>; <paramref name="op"/> names the operator in errors.</summary>
    public static IReadOnlyList<DirectionFamily> Families(IEnumerable<(double Coefficient, int[] Axes)> terms, int dimension, string op)
    {
        var byOrder = new SortedDictionary<int, Dictionary<string, (int[] Direction, Rational Weight)>>();
        foreach (var (c, axes) in terms)
        {
            if (axes.Length == 0 || c == 0) continue;
            var coefficient = Rational.FromDouble(c);
            var coords = axes.Distinct().Order().ToArray();
            var i = coords.Select(p => axes.Count(a => a == p)).ToArray();
            int k = axes.Length;
            if (!byOrder.TryGetValue(k, out var dirs)) byOrder[k] = dirs = [];
            foreach (var (j, w) in Interpolation.Weights(i))
            {
                var u = new int[dimension];
                for (int p = 0; p < coords.Length; p++) u[coords[p]] = j[p];
                string key = string.Join(",", u);
                dirs[key] = (u, (dirs.TryGetValue(key, out var e) ? e.Weight : Rational.Zero) + coefficient * w);
            }
        }
        double count = byOrder.Values.Sum(d => d.Count);
        MemoryGuard.CheckTable(op, dimension, count * dimension * sizeof(double), $"its {count:0} directions of dimension {dimension}");
        var families = new List<DirectionFamily>();
        foreach (var (k, dirs) in byOrder)
        {
            var nonzero = dirs.Values.Where(v => !v.Weight.IsZero).ToList();
            // Odd orders fold the sign into the direction ((−1)^K = −1); even orders need a negative scale.
            var positive = nonzero.Where(v => v.Weight.Sign > 0 || k % 2 == 1).ToList();
            var negative = nonzero.Where(v => v.Weight.Sign < 0 && k % 2 == 0).ToList();
            foreach (var (band, scale) in Bands(positive))
                families.Add(DirectionFamily.Constant(k, scale, Scaled(band, scale, k, dimension), Describe(k, band.Count, scale, "")));
            foreach (var (band, scale) in Bands(negative))
                families.Add(DirectionFamily.Constant(k, -scale, Scaled(band, scale, k, dimension), Describe(k, band.Count, scale, ", negative weights")));
        }
        return families;
    }

    private static string Describe(int k, int count, double scale, string what) =>
        scale == 1 ? $"order {k}, {count} directions{what}" : $"order {k}, {count} directions{what}, scale {scale:g3}";

    /// <summary>
    /// Groups directions by the magnitude of their weights, largest first: each band spans at most
    /// 2^<see cref="BandBits"/> and gets the scale 2^e with e = ⌊log₂ of its largest |weight|⌋, clamped to the
    /// range of double (a band of weights beyond it keeps relative weights above 1 or below 2^−1074), or the
    /// scale 1 when all its weights lie in [2^−<see cref="SafeBits"/>, 2^<see cref="SafeBits"/>).
    /// </summary>
    private static IEnumerable<(List<(int[] Direction, Rational Weight)> Band, double Scale)> Bands(List<(int[] Direction, Rational Weight)> dirs)
    {
        var sorted = dirs.Select(d => (d, Log2: Rational.Abs(d.Weight).FloorLog2())).OrderByDescending(p => p.Log2).ToList();
        int start = 0;
        while (start < sorted.Count)
        {
            long top = sorted[start].Log2;
            int end = start;
            while (end < sorted.Count && top - sorted[end].Log2 < BandBits) end++;
            long bottom = sorted[end - 1].Log2;
            // Weights of ordinary size keep the scale 1 (no extra product in the graph); others are normalised.
            double scale = top < SafeBits && bottom >= -SafeBits ? 1 : Math.ScaleB(1.0, (int)Math.Clamp(top, -1074, 1023));
            yield return ([.. sorted.Skip(start).Take(end - start).Select(p => p.d)], scale);
            start = end;
        }
    }

    /// <summary>Rows sign(w)·(|w|/scale)^{1/k}·u; the ratio is exact until it is rounded to double once.</summary>
    private static double[,] Scaled(List<(int[] Direction, Rational Weight)> dirs, double scale, int k, int dimension)
    {
        var m = new double[dirs.Count, dimension];
        var s = Rational.FromDouble(scale);
        for (int r = 0; r < dirs.Count; r++)
        {
            double w = (dirs[r].Weight / s).ToDouble();
            double f = Math.Sign(w) * Math.Pow(Math.Abs(w), 1.0 / k);
            for (int j = 0; j < dimension; j++) m[r, j] = f * dirs[r].Direction[j];
        }
        return m;
    }
}
