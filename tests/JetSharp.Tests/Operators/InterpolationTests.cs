using JetSharp.Operators;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// The interpolation coefficients γ_{i,j} of METHOD.md §4 (Griewank, Utke &amp; Walther): exact values, the
/// interpolation identity on random symmetric tensors, and the merged directions of the exact biharmonic.
/// </summary>
public class InterpolationTests
{
    private static Rational R(long n, long d) => new(n, d);

    [Fact]
    public void GammaFamilyForTwoTwo()
    {
        int[] i = [2, 2];
        Assert.Equal(R(13, 192), Interpolation.Gamma(i, [4, 0]));
        Assert.Equal(R(13, 192), Interpolation.Gamma(i, [0, 4]));
        Assert.Equal(R(-1, 3), Interpolation.Gamma(i, [3, 1]));
        Assert.Equal(R(-1, 3), Interpolation.Gamma(i, [1, 3]));
        Assert.Equal(R(5, 8), Interpolation.Gamma(i, [2, 2]));
    }

    [Fact]
    public void GammaFamilyForOneOne()
    {
        // ⟨∂²f, v₁⊗v₂⟩ = ½[−¼F(2v₁) + F(v₁+v₂) − ¼F(2v₂)]: the end points get −1/4, the middle 1.
        int[] i = [1, 1];
        Assert.Equal(R(-1, 4), Interpolation.Gamma(i, [2, 0]));
        Assert.Equal(R(1, 1), Interpolation.Gamma(i, [1, 1]));
        Assert.Equal(R(-1, 4), Interpolation.Gamma(i, [0, 2]));
    }

    [Fact]
    public void GammaForOneDirectionIsKFactorialOverKToTheK()
    {
        // F(K·v) = Kᴷ·F(v), so (γ/K!)·Kᴷ = 1. METHOD.md quotes γ_(4) = 3/32.
        Assert.Equal(R(3, 32), Interpolation.Gamma([4], [4]));
        long factorial = 1, power;
        for (int k = 1; k <= 8; k++)
        {
            factorial *= k;
            power = (long)Math.Pow(k, k);
            Assert.Equal(R(factorial, power), Interpolation.Gamma([k], [k]));
        }
    }

    /// <summary>All i ∈ ℕ_{&gt;0}ᴵ with 1 ≤ I ≤ 4 and |i| ≤ 6 (56 multi-indices).</summary>
    public static TheoryData<int[]> MultiIndices()
    {
        var data = new TheoryData<int[]>();
        for (int count = 1; count <= 4; count++)
            for (int k = count; k <= 6; k++)
                foreach (var i in Compositions(k, count).Where(c => c.All(e => e > 0))) data.Add(i);
        return data;
    }

    /// <summary>All j ∈ ℕⁿ with |j| = k (our own enumeration, so the test does not trust the library's).</summary>
    private static IEnumerable<int[]> Compositions(int k, int n)
    {
        if (n == 1) { yield return [k]; yield break; }
        for (int first = 0; first <= k; first++)
            foreach (var rest in Compositions(k - first, n - 1)) yield return [first, .. rest];
    }

    private static long Factorial(int k) => k <= 1 ? 1 : k * Factorial(k - 1);

    /// <summary>
    /// Exact check with integer data: T = Σ_q c_q a_q^⊗K, so T(v₁^{i₁},…) = Σ_q c_q Π_p (a_q·v_p)^{i_p} and
    /// T(u^⊗K) = Σ_q c_q (a_q·u)ᴷ. With integer a, v, c both sides are rationals and must agree exactly.
    /// </summary>
    [Theory]
    [MemberData(nameof(MultiIndices))]
    public void InterpolationIdentityHoldsExactly(int[] i)
    {
        const int dim = 3, terms = 4;
        int k = i.Sum();
        var rng = new System.Random(1000 + k * 31 + i.Length);
        int[] Ints(int n) => [.. Enumerable.Range(0, n).Select(_ => rng.Next(-3, 4))];
        var a = Enumerable.Range(0, terms).Select(_ => Ints(dim)).ToArray();
        var c = Enumerable.Range(0, terms).Select(_ => rng.Next(1, 4) * (rng.Next(2) == 0 ? -1 : 1)).ToArray();
        var v = i.Select(_ => Ints(dim)).ToArray();
        static long DotI(int[] x, int[] y) => x.Zip(y, (p, q) => (long)p * q).Sum();

        Rational lhs = Rational.Zero;
        for (int q = 0; q < terms; q++)
        {
            Rational prod = c[q];
            for (int p = 0; p < i.Length; p++) prod *= ((Rational)DotI(a[q], v[p])).Pow(i[p]);
            lhs += prod;
        }

        Rational rhs = Rational.Zero;
        foreach (var j in Compositions(k, i.Length))
        {
            var u = new int[dim];
            for (int p = 0; p < i.Length; p++)
                for (int d = 0; d < dim; d++) u[d] += j[p] * v[p][d];
            Rational tu = Rational.Zero;
            for (int q = 0; q < terms; q++) tu += c[q] * ((Rational)DotI(a[q], u)).Pow(k);
            rhs += Interpolation.Gamma(i, j) / Factorial(k) * tu;
        }
        Assert.Equal(lhs, rhs);
    }

    /// <summary>
    /// The same identity in floating point on an explicitly stored random symmetric tensor (all Dᴷ entries,
    /// contracted entry by entry) with real directions, using the library's (j, γ/K!) list.
    /// Relative to the natural magnitude Σ|c_q|Π|a_q·v_p|^{i_p}, so a near-cancelling left side cannot flake.
    /// </summary>
    [Theory]
    [MemberData(nameof(MultiIndices))]
    public void InterpolationIdentityHoldsOnStoredSymmetricTensor(int[] i)
    {
        const int dim = 3, terms = 4;
        int k = i.Sum();
        var rng = new System.Random(2000 + k * 31 + i.Length);
        double[] Vec() => [.. Enumerable.Range(0, dim).Select(_ => 2 * rng.NextDouble() - 1)];
        var a = Enumerable.Range(0, terms).Select(_ => Vec()).ToArray();
        var c = Enumerable.Range(0, terms).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
        var v = i.Select(_ => Vec()).ToArray();

        // T[d_1..d_K] = Σ_q c_q Π_k a_q[d_k], stored densely (row-major, D^K entries).
        int size = (int)Math.Pow(dim, k);
        var t = new double[size];
        for (int flat = 0; flat < size; flat++)
        {
            for (int q = 0; q < terms; q++)
            {
                double prod = c[q];
                for (int rest = flat, axis = 0; axis < k; axis++, rest /= dim) prod *= a[q][rest % dim];
                t[flat] += prod;
            }
        }
        double Contract(double[][] vectors)
        {
            double total = 0;
            for (int flat = 0; flat < size; flat++)
            {
                double prod = t[flat];
                for (int rest = flat, axis = 0; axis < k; axis++, rest /= dim) prod *= vectors[axis][rest % dim];
                total += prod;
            }
            return total;
        }

        double[][] mixed = [.. i.SelectMany((count, p) => Enumerable.Repeat(v[p], count))];
        double lhs = Contract(mixed);
        double magnitude = Enumerable.Range(0, terms).Sum(q =>
            Math.Abs(c[q]) * i.Select((count, p) => Math.Pow(Math.Abs(a[q].Zip(v[p], (x, y) => x * y).Sum()), count)).Aggregate(1.0, (x, y) => x * y));

        double rhs = 0;
        int used = 0;
        foreach (var (j, w) in Interpolation.Weights(i))
        {
            Assert.Equal(k, j.Sum());
            Assert.Equal(Interpolation.Gamma(i, j) / Factorial(k), w);
            var u = new double[dim];
            for (int p = 0; p < i.Length; p++)
                for (int d = 0; d < dim; d++) u[d] += j[p] * v[p][d];
            rhs += w.ToDouble() * Contract([.. Enumerable.Repeat(u, k)]);
            used++;
        }
        Assert.True(used > 0);
        double err = Math.Abs(lhs - rhs) / Math.Max(Math.Abs(lhs), magnitude);
        Assert.True(err <= 1e-10, $"i = ({string.Join(",", i)}): lhs {lhs:R}, rhs {rhs:R}, relative error {err:E2}");
    }

    [Fact]
    public void WeightsListEveryNonZeroGammaOnce()
    {
        int[] i = [2, 1, 1];
        var listed = Interpolation.Weights(i).ToList();
        var expected = Compositions(4, 3).Where(j => !Interpolation.Gamma(i, j).IsZero).ToList();
        Assert.Equal(expected.Count, listed.Count);
        Assert.Equal(listed.Count, listed.Select(p => string.Join(",", p.J)).Distinct().Count());
    }

    /// <summary>
    /// The exact biharmonic's merged four-jets: weights are folded into directions as w^{1/4}·u (sign in the
    /// family's Scale), so evaluate the directions and recover w = Scale·s⁴ from the integer pattern u.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void MergedBiharmonicDirectionsReproduceMethodWeights(int d)
    {
        var families = DifferentialOperator.BiharmonicByInterpolation().Families(d);
        var pure = new List<double>();    // F(4e_i)
        var three = new List<double>();   // F(3e_i + e_j)
        var twoTwo = new List<double>();  // F(2e_i + 2e_j)
        var seen = new HashSet<string>();
        foreach (var family in families)
        {
            Assert.Equal(4, family.Order);
            Assert.True(family.Scale is 1 or -1, $"family scale {family.Scale}");
            var dirs = Eval(xs => family.Directions(xs[0]), new NDArray<double>(new Shape(1, d)));
            int r = dirs.Shape[0];
            Assert.Equal(new Shape(r, 1, d), dirs.Shape);
            for (int row = 0; row < r; row++)
            {
                var entries = Enumerable.Range(0, d).Select(c => dirs[row, 0, c]).ToArray();
                var nz = Enumerable.Range(0, d).Where(c => Math.Abs(entries[c]) > 1e-12).ToArray();
                // All non-zero entries of w^{1/4}·u share one sign (u has non-negative integer entries).
                Assert.True(nz.All(c => Math.Sign(entries[c]) == Math.Sign(entries[nz[0]])));
                var abs = nz.Select(c => Math.Abs(entries[c])).OrderByDescending(e => e).ToArray();
                double s;
                switch (abs.Length)
                {
                    case 1:
                        s = abs[0] / 4;
                        pure.Add(family.Scale * Math.Pow(s, 4));
                        break;
                    case 2 when Math.Abs(abs[0] / abs[1] - 3) < 1e-9:
                        s = abs[1];
                        three.Add(family.Scale * Math.Pow(s, 4));
                        break;
                    case 2 when Math.Abs(abs[0] / abs[1] - 1) < 1e-9:
                        s = abs[0] / 2;
                        twoTwo.Add(family.Scale * Math.Pow(s, 4));
                        break;
                    default:
                        Assert.Fail($"unexpected direction ({string.Join(", ", entries)})");
                        return;
                }
                // No direction appears twice (identical directions must be merged).
                Assert.True(seen.Add(string.Join(",", nz.Select(c => $"{c}:{Math.Round(Math.Abs(entries[c]) / s)}"))));
            }
        }
        Assert.Equal((3 * d * d - d) / 2, pure.Count + three.Count + twoTwo.Count);
        Assert.Equal(d, pure.Count);
        Assert.Equal(d * (d - 1), three.Count);
        Assert.Equal(d * (d - 1) / 2, twoTwo.Count);
        foreach (var w in pure) Close((13.0 * d - 4) / 2304, w, 1e-14);
        foreach (var w in three) Close(-1.0 / 36, w, 1e-14);
        foreach (var w in twoTwo) Close(5.0 / 96, w, 1e-14);
    }
}
