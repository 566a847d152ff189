using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>
/// Shared Taylor arithmetic in the derivative convention (coefficients are derivatives, no 1/k!), for
/// the Taylor rules of built-in and user-defined primitives (see docs/extending.md). A coefficient
/// sequence is a function k ↦ x_k (k = 0 the primal, null where the coefficient is known to be zero).
/// Products use the Leibniz rule; elementwise functions use Faà di Bruno's formula with a table of
/// the function's derivatives; y′ = y·s′ (exponentials, products, determinants) and y·y = r (square
/// roots) have their O(K²) recurrences. Zero coefficients (null) are skipped structurally, so no node
/// is ever emitted to multiply by zero.
/// </summary>
public static class TaylorMath
{
    /// <summary>Binomial coefficient C(n, k) as a double (exact for the small n used here).</summary>
    public static double Binomial(int n, int k)
    {
        double r = 1;
        for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
        return r;
    }

    /// <summary>n! as a double.</summary>
    public static double Factorial(int n)
    {
        double r = 1;
        for (int i = 2; i <= n; i++) r *= i;
        return r;
    }

    /// <summary>Σ of non-null terms, or null when all are null.</summary>
    public static Node? Sum(IEnumerable<Node?> terms)
    {
        Node? acc = null;
        foreach (var t in terms)
            if (t is not null) acc = acc is null ? t : acc + t;
        return acc;
    }

    /// <summary>c·x, skipping the multiplication when c = 1.</summary>
    public static Node Scale(double c, Node x) => c == 1 ? x : c == -1 ? -x : x * c;

    /// <summary>
    /// Leibniz rule for a bilinear product: y_k = Σ_j C(k, j) · product(a_j, b_{k−j}).
    /// The j = 0 and j = k terms come first, so the highest coefficients enter linearly and visibly.
    /// </summary>
    public static Node?[] Leibniz(Func<int, Node?> a, Func<int, Node?> b, int order, Func<Node, Node, Node> product)
    {
        var y = new Node?[order + 1];
        for (int k = 1; k <= order; k++)
        {
            var terms = new List<Node?>();
            foreach (int j in Enumerable.Range(0, k + 1).OrderBy(j => j == 0 || j == k ? 0 : 1))
            {
                if (a(j) is not { } aj || b(k - j) is not { } bj) continue;
                terms.Add(Scale(Binomial(k, j), product(aj, bj)));
            }
            y[k] = Sum(terms);
        }
        return y;
    }

    /// <summary>
    /// Faà di Bruno for y = f(x) elementwise: y_k = Σ_m f⁽ᵐ⁾(x₀) · B_{k,m}(x₁..x_k), where the partial Bell
    /// polynomial B_{k,m} sums, over partitions σ of k into m parts, ν(σ)·Π_{s∈σ} x_s with
    /// ν(σ) = k! / (Π s! · Π n_s!). <paramref name="derivative"/>(m) returns f⁽ᵐ⁾(x₀) (null when it is
    /// identically zero); it is only asked for orders that a non-zero partition needs.
    /// Cost: one product per partition (11 partitions at K = 6); the highest coefficient x_K enters only
    /// through the trivial partition {K}, linearly, which is what collapsing relies on.
    /// </summary>
    public static Node?[] FaaDiBruno(Func<int, Node?> x, int order, Func<int, Node?> derivative)
    {
        var y = new Node?[order + 1];
        var products = new Dictionary<string, Node>();
        var derivatives = new Dictionary<int, Node?>();
        for (int k = 1; k <= order; k++)
        {
            var byParts = new SortedDictionary<int, List<Node?>>();
            foreach (var partition in Partitions(k))
            {
                if (partition.Any(s => x(s) is null)) continue;
                double nu = Factorial(k);
                foreach (var group in partition.GroupBy(s => s))
                    nu /= Math.Pow(Factorial(group.Key), group.Count()) * Factorial(group.Count());
                if (!byParts.TryGetValue(partition.Length, out var list)) byParts[partition.Length] = list = [];
                list.Add(Scale(nu, Product(partition, x, products)));
            }
            var terms = new List<Node?>();
            foreach (var (m, bell) in byParts)
            {
                if (!derivatives.TryGetValue(m, out var dm)) derivatives[m] = dm = derivative(m);
                if (dm is null) continue;
                terms.Add(dm * Sum(bell)!);
            }
            y[k] = Sum(terms);
        }
        return y;
    }

    /// <summary>Π x_s over a partition (parts in non-increasing order), sharing sub-products between partitions.</summary>
    private static Node Product(int[] partition, Func<int, Node?> x, Dictionary<string, Node> cache)
    {
        string key = string.Join(",", partition);
        if (cache.TryGetValue(key, out var p)) return p;
        p = partition.Length == 1 ? x(partition[0])! : Product(partition[..^1], x, cache) * x(partition[^1])!;
        cache[key] = p;
        return p;
    }

    /// <summary>Integer partitions of n, each with parts in non-increasing order.</summary>
    public static IEnumerable<int[]> Partitions(int n, int max = int.MaxValue)
    {
        if (n == 0) { yield return []; yield break; }
        for (int first = Math.Min(n, max); first >= 1; first--)
            foreach (var rest in Partitions(n - first, first))
                yield return [first, .. rest];
    }

    /// <summary>Coefficients of P'(y)·Q(y) for polynomials given lowest degree first (derivative tables of tanh, sigmoid).</summary>
    public static double[] DerivativeTimes(double[] p, double[] q)
    {
        var dp = new double[Math.Max(1, p.Length - 1)];
        for (int i = 1; i < p.Length; i++) dp[i - 1] = i * p[i];
        var r = new double[dp.Length + q.Length - 1];
        for (int i = 0; i < dp.Length; i++)
            for (int j = 0; j < q.Length; j++) r[i + j] += dp[i] * q[j];
        return r;
    }

    /// <summary>Emits Σ c_i yⁱ by Horner's scheme; null when all coefficients vanish.</summary>
    public static Node? Polynomial(double[] c, Node y)
    {
        int top = c.Length - 1;
        while (top >= 0 && c[top] == 0) top--;
        if (top < 0) return null;
        if (top == 0) return Fn.BroadcastTo(y.Graph.Scalar(c[0]), y.Shape);
        Node acc = Scale(c[top], y);
        for (int i = top - 1; i >= 1; i--)
            acc = c[i] == 0 ? acc * y : (acc + c[i]) * y;
        return c[0] == 0 ? acc : acc + c[0];
    }

    /// <summary>
    /// One Leibniz coefficient (ab)_k = Σ_j C(k, j)·product(a_j, b_(k−j)) for any k ≥ 0 (j = 0 and j = k
    /// included; null terms skipped); null when every term is.
    /// </summary>
    public static Node? LeibnizAt(Func<int, Node?> a, Func<int, Node?> b, int k, Func<Node, Node, Node> product)
    {
        Node? acc = null;
        for (int j = 0; j <= k; j++)
        {
            if (a(j) is not { } aj || b(k - j) is not { } bj) continue;
            var t = Scale(Binomial(k, j), product(aj, bj));
            acc = acc is null ? t : acc + t;
        }
        return acc;
    }

    /// <summary>
    /// The coefficients of y with y′ = y·s′ (so y = C·eˢ): y_k = Σ_(j=0..k−1) C(k−1, j)·y_j·s_(k−j), from the
    /// primal <paramref name="y0"/> and s_1..s_K (s₀ is never needed). Used for eˢ, products Π x_i = e^(Σ ln x_i)
    /// and determinants.
    /// </summary>
    public static Node?[] ExpRecurrence(Node y0, Func<int, Node?> s, int order)
    {
        var y = new Node?[order + 1];
        y[0] = y0;
        for (int k = 1; k <= order; k++)
        {
            var terms = new List<Node?>();
            for (int j = 0; j < k; j++)
                if (y[j] is { } yj && s(k - j) is { } sk) terms.Add(Scale(Binomial(k - 1, j), yj * sk));
            y[k] = Sum(terms);
        }
        y[0] = null;
        return y;
    }

    /// <summary>
    /// The coefficients of y = √r from y·y = r: y_k = (r_k − Σ_(j=1..k−1) C(k, j)·y_j·y_(k−j)) / (2y₀), given
    /// the primal y₀ and r_1..r_K (null = zero). Undefined (division by zero) where y₀ = 0.
    /// </summary>
    public static Node?[] SqrtRecurrence(Node y0, Func<int, Node?> r, int order)
    {
        var y = new Node?[order + 1];
        var twoY0 = y0 * 2.0;
        for (int k = 1; k <= order; k++)
        {
            var terms = new List<Node?> { r(k) };
            for (int j = 1; j < k; j++)
                if (y[j] is { } a && y[k - j] is { } b) terms.Add(Scale(-Binomial(k, j), a * b));
            y[k] = Sum(terms) is { } num ? num / twoY0 : null;
        }
        return y;
    }

    /// <summary>
    /// The coefficients of q = n / d by the division recurrence q_k = (n_k − Σ_(j=1..k) C(k, j)·d_j·q_(k−j)) / d₀,
    /// for k = 0..K (q₀ = n₀ / d₀ included; null where n₀ is).
    /// </summary>
    public static Node?[] Quotient(Func<int, Node?> n, Func<int, Node?> d, int order)
    {
        var q = new Node?[order + 1];
        var d0 = d(0)!;
        for (int k = 0; k <= order; k++)
        {
            var terms = new List<Node?> { n(k) };
            for (int j = 1; j <= k; j++)
                if (d(j) is { } dj && q[k - j] is { } qk) terms.Add(Scale(-Binomial(k, j), dj * qk));
            q[k] = Sum(terms) is { } num ? num / d0 : null;
        }
        return q;
    }
}
