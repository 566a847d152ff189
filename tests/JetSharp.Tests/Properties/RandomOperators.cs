using CsCheck;

namespace JetSharp.Tests.Properties;

/// <summary>
/// A random differential operator together with its definition as plain terms Σ c_α(x) ∂^α f, written
/// independently of the library's direction families (the finite-difference reference evaluates the
/// definition). Stochastic operators have no definition (their value depends on the sampled directions).
/// </summary>
internal sealed record RandomOperator(string Text, DifferentialOperator Op, IReadOnlyList<Term>? Definition, int MaxOrder)
{
    public override string ToString() => Text;

    /// <summary>±10^u, u uniform in [loExp, hiExp].</summary>
    public static Gen<RandomOperator> Gen(int d, OperatorKinds kinds, double loExp = -6, double hiExp = 6, int maxOrder = 4) =>
        new GenDraw<RandomOperator>(draw => Draw(draw, d, kinds, loExp, hiExp, maxOrder));

    public static RandomOperator Draw(Draw draw, int d, OperatorKinds kinds, double loExp, double hiExp, int maxOrder)
    {
        var choices = Enum.GetValues<OperatorKinds>().Where(k => k != OperatorKinds.None && (kinds & k) == k && IsSingle(k)).ToList();
        if (d > 3 || maxOrder < 4) choices.Remove(OperatorKinds.Biharmonic);
        if (d > 3 || maxOrder < 4) choices.Remove(OperatorKinds.StochasticBiharmonic);
        var kind = draw.Pick(choices);
        switch (kind)
        {
            case OperatorKinds.Laplacian:
                return new("Laplacian", DifferentialOperator.Laplacian(), [.. Enumerable.Range(0, d).Select(i => Term.Of(1, i, i))], 2);
            case OperatorKinds.WeightedLaplacian:
            {
                int r = draw.Int(1, 3);
                var sigma = new double[d, r];
                for (int i = 0; i < d; i++)
                    for (int j = 0; j < r; j++) sigma[i, j] = draw.Double(-1, 1) * Math.Pow(10, draw.Double(-1, 1));
                var a = OperatorTestUtil.Gram(sigma);
                return new($"WeightedLaplacian(σ = {Matrix(sigma)})", DifferentialOperator.WeightedLaplacian(NDArray.FromArray(sigma)), Hessian(a), 2);
            }
            case OperatorKinds.WeightedLaplacianOfX:
            {
                int r = draw.Int(1, 2);
                var m = new double[d, r];
                for (int i = 0; i < d; i++)
                    for (int j = 0; j < r; j++) m[i, j] = draw.Double(-1, 1);
                var mArr = NDArray.FromArray(m).Reshape(new Shape(1, d, r));
                // σ(x)_ij = (1 + x_i²)·M_ij per datum; the operator holds σ fixed (not differentiated).
                Node Sigma(Node x) => Fn.ExpandDims(1.0 + x * x, 2) * x.Graph.Constant(mArr);
                var terms = new List<Term>();
                for (int i = 0; i < d; i++)
                    for (int j = 0; j < d; j++)
                    {
                        int ii = i, jj = j;
                        terms.Add(new(row =>
                        {
                            double s = 0;
                            for (int k = 0; k < r; k++) s += (1 + row[ii] * row[ii]) * m[ii, k] * (1 + row[jj] * row[jj]) * m[jj, k];
                            return s;
                        }, [i, j], $"σσᵀ[{i},{j}](x)"));
                    }
                return new($"WeightedLaplacian(σ(x) = diag(1 + x²)·{Matrix(m)})", DifferentialOperator.WeightedLaplacian(Sigma), terms, 2);
            }
            case OperatorKinds.Coefficients:
            {
                var a = new double[d, d];
                for (int i = 0; i < d; i++)
                    for (int j = 0; j <= i; j++) a[i, j] = a[j, i] = draw.Double(-1, 1) * Math.Pow(10, draw.Double(-2, 2));
                return new($"WeightedLaplacianFromCoefficients(A = {Matrix(a)})", DifferentialOperator.WeightedLaplacianFromCoefficients(a), Hessian(a), 2);
            }
            case OperatorKinds.Biharmonic:
            {
                var terms = new List<Term>();
                for (int i = 0; i < d; i++)
                    for (int j = 0; j < d; j++) terms.Add(Term.Of(1, i, i, j, j));
                return new("Biharmonic", DifferentialOperator.Biharmonic(), terms, 4);
            }
            case OperatorKinds.LinearAxes or OperatorKinds.LinearLetters:
            {
                int count = draw.Int(1, 4);
                // A random sub-range of [loExp, hiExp]: narrow ranges keep every term visible in the sum, wide ones span many decades.
                double width = Math.Min(hiExp - loExp, draw.Pick([1.0, 3.0, 12.0])), lo = draw.Double(loExp, hiExp - width);
                var terms = new List<Term>();
                for (int t = 0; t < count; t++)
                {
                    int order = draw.Chance(0.08) ? 0 : draw.Int(1, maxOrder);
                    terms.Add(Term.Of(draw.LogUniform(lo, lo + width), MultiIndex(draw, order, d)));
                }
                int max = terms.Max(t => t.Axes.Length);
                if (kind == OperatorKinds.LinearAxes)
                    return new($"Linear({string.Join(", ", terms)})", DifferentialOperator.Linear(terms.Select(t => (t.Constant, t.Axes))), terms, max);
                string letters = new([.. "xyztuvw".OrderBy(_ => draw.Int(0, 1000)).Take(d)]);
                var named = terms.Select(t => (t.Constant, new string([.. t.Axes.Select(a => letters[a])]))).ToList();
                return new($"Linear([{string.Join(", ", named.Select(n => $"({n.Item1:R}, \"{n.Item2}\")"))}], \"{letters}\")",
                    DifferentialOperator.Linear(named, letters), terms, max);
            }
            case OperatorKinds.StochasticLaplacian:
            {
                int s = draw.Int(1, 4);
                var dist = draw.Bool() ? Distribution.Normal : Distribution.Rademacher;
                long seed = draw.Int(0, 1000);
                return new($"Laplacian(Stochastic({s}, {dist}, seed {seed}))", DifferentialOperator.Laplacian(Estimate.Stochastic(s, dist, seed)), null, 2);
            }
            case OperatorKinds.StochasticWeightedLaplacian:
            {
                int r = draw.Int(1, 3), s = draw.Int(1, 3);
                var sigma = new double[d, r];
                for (int i = 0; i < d; i++)
                    for (int j = 0; j < r; j++) sigma[i, j] = draw.Double(-1, 1);
                long seed = draw.Int(0, 1000);
                return new($"WeightedLaplacian(σ = {Matrix(sigma)}, Stochastic({s}, seed {seed}))",
                    DifferentialOperator.WeightedLaplacian(NDArray.FromArray(sigma), Estimate.Stochastic(s, Distribution.Normal, seed)), null, 2);
            }
            case OperatorKinds.StochasticBiharmonic:
            {
                int s = draw.Int(1, 3);
                long seed = draw.Int(0, 1000);
                return new($"Biharmonic(Stochastic({s}, seed {seed}))", DifferentialOperator.Biharmonic(Estimate.Stochastic(s, Distribution.Normal, seed)), null, 4);
            }
            default: throw new InvalidOperationException(kind.ToString());
        }
    }

    /// <summary>
    /// A multi-index of order K as a list of axes: first how many distinct axes (1..min(K, D), uniform, so mixed
    /// partials are common), then which, then how the order splits among them (each at least once), shuffled.
    /// </summary>
    public static int[] MultiIndex(Draw draw, int order, int d)
    {
        if (order == 0) return [];
        int m = draw.Int(1, Math.Min(order, d));
        var coords = Enumerable.Range(0, d).OrderBy(_ => draw.Int(0, 999)).Take(m).ToArray();
        var axes = new List<int>(coords);
        while (axes.Count < order) axes.Add(draw.Pick(coords));
        return [.. axes.OrderBy(_ => draw.Int(0, 999))];
    }

    private static bool IsSingle(OperatorKinds k) => ((int)k & ((int)k - 1)) == 0;

    /// <summary>Σ_ij A_ij ∂_i∂_j as terms.</summary>
    private static List<Term> Hessian(double[,] a)
    {
        var terms = new List<Term>();
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++)
                if (a[i, j] != 0) terms.Add(Term.Of(a[i, j], i, j));
        return terms;
    }

    public static string Matrix(double[,] m) =>
        "[" + string.Join("; ", Enumerable.Range(0, m.GetLength(0)).Select(i => string.Join(" ", Enumerable.Range(0, m.GetLength(1)).Select(j => m[i, j].ToString("R"))))) + "]";
}

/// <summary>c(x)·∂^α f with α given as the list of axes differentiated (empty: f itself).</summary>
internal sealed record Term(Func<double[], double> Coefficient, int[] Axes, string CoefficientText)
{
    public double Constant { get; init; }

    public static Term Of(double c, params int[] axes) => new(_ => c, axes, c.ToString("R")) { Constant = c };

    public override string ToString() => $"({CoefficientText}, [{string.Join(", ", Axes)}])";
}

[Flags]
internal enum OperatorKinds
{
    None = 0,
    Laplacian = 1,
    WeightedLaplacian = 2,
    WeightedLaplacianOfX = 4,
    Coefficients = 8,
    Biharmonic = 16,
    LinearAxes = 32,
    LinearLetters = 64,
    StochasticLaplacian = 128,
    StochasticWeightedLaplacian = 256,
    StochasticBiharmonic = 512,
    Exact = Laplacian | WeightedLaplacian | WeightedLaplacianOfX | Coefficients | Biharmonic | LinearAxes | LinearLetters,
    All = Exact | StochasticLaplacian | StochasticWeightedLaplacian | StochasticBiharmonic,
}
