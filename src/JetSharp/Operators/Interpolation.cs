namespace JetSharp.Operators;

/// <summary>
/// Mixed partial derivatives from univariate Taylor coefficients (Griewank, Utke &amp; Walther 2000).
/// For a multi-index i = (i_1..i_I) with |i| = K and directions v_1..v_I,
/// ⟨∂ᴷf, v_1^⊗i_1 ⊗ … ⊗ v_I^⊗i_I⟩ = Σ_{j ∈ ℕᴵ, |j| = K} (γ_{i,j} / K!) · ⟨∂ᴷf, (Σ_p j_p v_p)^⊗K⟩ with
/// γ_{i,j} = Σ_{0 &lt; m ≤ i} (−1)^{|i|−|m|} · Π_p C(i_p, m_p) · Π_p C(|i|·m_p/|m|, j_p) · (|m|/|i|)^{|i|},
/// C(a, b) = Π_{l&lt;b} (a − l)/(b − l) the generalized binomial. All in exact rational arithmetic.
/// </summary>
internal static class Interpolation
{
    /// <summary>γ_{i,j}.</summary>
    public static Rational Gamma(int[] i, int[] j)
    {
        if (i.Length != j.Length) throw new ArgumentException($"gamma: multi-indices of different length ({i.Length} and {j.Length}).");
        int k = i.Sum();
        if (j.Sum() != k) throw new ArgumentException($"gamma: |j| = {j.Sum()} must equal |i| = {k}.");
        var total = Rational.Zero;
        foreach (var m in Box(i))
        {
            int mSum = m.Sum();
            if (mSum == 0) continue;
            Rational term = (k - mSum) % 2 == 0 ? Rational.One : -Rational.One;
            for (int p = 0; p < i.Length; p++)
            {
                term *= Binomial(i[p], m[p]);
                term *= Binomial(new Rational((long)k * m[p], mSum), j[p]);
            }
            term *= new Rational(mSum, k).Pow(k);
            total += term;
        }
        return total;
    }

    /// <summary>The pairs (j, γ_{i,j}/K!) with non-zero weight, for every j with |j| = |i|.</summary>
    public static IEnumerable<(int[] J, Rational Weight)> Weights(int[] i)
    {
        int k = i.Sum();
        var factorial = Rational.One;
        for (int n = 2; n <= k; n++) factorial *= n;
        foreach (var j in Compositions(k, i.Length))
        {
            var g = Gamma(i, j);
            if (!g.IsZero) yield return (j, g / factorial);
        }
    }

    /// <summary>Generalized binomial C(a, b) = Π_{l&lt;b} (a − l)/(b − l) for rational a and integer b ≥ 0.</summary>
    public static Rational Binomial(Rational a, int b)
    {
        var r = Rational.One;
        for (int l = 0; l < b; l++) r = r * (a - l) / (b - l);
        return r;
    }

    /// <summary>All m with 0 ≤ m_p ≤ i_p.</summary>
    private static IEnumerable<int[]> Box(int[] i)
    {
        var m = new int[i.Length];
        while (true)
        {
            yield return (int[])m.Clone();
            int p = 0;
            while (p < i.Length && ++m[p] > i[p]) m[p++] = 0;
            if (p == i.Length) yield break;
        }
    }

    /// <summary>All j ∈ ℕⁿ with |j| = k.</summary>
    public static IEnumerable<int[]> Compositions(int k, int n)
    {
        if (n == 0) { if (k == 0) yield return []; yield break; }
        if (n == 1) { yield return [k]; yield break; }
        for (int first = k; first >= 0; first--)
            foreach (var rest in Compositions(k - first, n - 1))
                yield return [first, .. rest];
    }
}
