using JetSharp.Runtime;

namespace JetSharp.Tests.Properties;

/// <summary>
/// References by central finite differences of the primal function only (f is compiled once and
/// evaluated at shifted points; no transformed graph is involved). Since f is per-datum, all rows are
/// shifted at once. Steps are chosen per derivative order K so that rounding (~2ᴷε|f|/(h/4)ᴷ) and
/// truncation (~h⁶ after two Richardson extrapolations) are both far below the tolerances used.
/// </summary>
internal sealed class FiniteDifferences
{
    private readonly Executable _f;
    private readonly NDArray<double> _x;

    public FiniteDifferences(Func<Node, Node> f, NDArray<double> x)
    {
        _f = Executable.Compile(Tracer.Function(f, x.Shape));
        _x = x;
        Value = Eval(x);
    }

    /// <summary>f(x), [N, C…].</summary>
    public NDArray<double> Value { get; }

    public int Rows => _x.Shape[0];
    public int D => _x.Shape[1];

    private NDArray<double> Eval(NDArray<double> x) => _f.Run(x)[0].Clone();

    /// <summary>100× the rounding error of a K-th order stencil at its finest step (relative to |f|): 100·2ᴷε/(h_K/4)ᴷ.</summary>
    public static double Rounding(int k) => k == 0 ? 1e-14 : 100 * Math.Pow(2, k) * 1.1e-16 / Math.Pow(Step(k) / 4, k);

    /// <summary>Whether f(x + t·e_axis) = f(x) bit for bit at a few shifts t (then every derivative along the axis is exactly 0).</summary>
    public bool Ignores(int axis) => new[] { -0.3, 0.1, 0.7 }.All(t =>
    {
        var xs = _x.Clone();
        for (int n = 0; n < Rows; n++) xs.Data[n * D + axis] += t;
        return Eval(xs).Data.SequenceEqual(Value.Data);
    });

    /// <summary>The step for derivatives of order K (before Richardson halving).</summary>
    public static double Step(int k) => k switch { 0 or 1 => 2e-3, 2 => 1e-2, 3 => 3e-2, _ => 4e-2 };

    /// <summary>
    /// Two levels of Richardson extrapolation over D(h), D(h/2), D(h/4) of a central difference (error series in
    /// h², h⁴, …): the result is accurate to O(h⁶), so the steps can be large enough to keep rounding small.
    /// </summary>
    private static double[] Extrapolate(Func<double, double[]> d, double h)
    {
        var d1 = d(h);
        var d2 = d(h / 2);
        var d4 = d(h / 4);
        return [.. d1.Select((_, i) =>
        {
            double r1 = (4 * d2[i] - d1[i]) / 3, r2 = (4 * d4[i] - d2[i]) / 3;
            return (16 * r2 - r1) / 15;
        })];
    }

    /// <summary>∂^α f at every row by a tensor product of central differences (Richardson-extrapolated), flattened like f's output.</summary>
    public double[] Partial(int[] axes)
    {
        if (axes.Length == 0) return Value.Data.ToArray();
        return Extrapolate(h => TensorStencil(axes, h), Step(axes.Length));
    }

    private double[] TensorStencil(int[] axes, double h)
    {
        var counts = Enumerable.Range(0, D).Select(p => axes.Count(a => a == p)).ToArray();
        // The stencil of δ^m: points (j − m/2)·h, weights (−1)^(m−j)·C(m, j), j = 0..m; the product over axes.
        var points = new List<(double[] Offset, double Weight)> { (new double[D], 1.0) };
        for (int p = 0; p < D; p++)
        {
            int m = counts[p];
            if (m == 0) continue;
            points = [.. points.SelectMany(pt => Enumerable.Range(0, m + 1).Select(j =>
            {
                var off = (double[])pt.Offset.Clone();
                off[p] += (j - m / 2.0) * h;
                return (off, pt.Weight * ((m - j) % 2 == 0 ? 1 : -1) * Binomial(m, j));
            }))];
        }
        var acc = new double[Value.Size];
        foreach (var (off, w) in points)
        {
            var xs = _x.Clone();
            for (int n = 0; n < Rows; n++)
                for (int p = 0; p < D; p++) xs.Data[n * D + p] += off[p];
            var y = Eval(xs);
            for (int i = 0; i < acc.Length; i++) acc[i] += w * y.Data[i];
        }
        double hk = Math.Pow(h, axes.Length);
        return [.. acc.Select(a => a / hk)];
    }

    /// <summary>
    /// ⟨∂ᴷf(x_n), v_n^⊗K⟩ at every row for per-row directions v [N, D]: the K-th central difference of
    /// t ↦ f(x + t·v_n/|v_n|), times |v_n|ᴷ (so the step is taken in x's own units).
    /// </summary>
    public double[] Directional(double[] v, int k)
    {
        var norms = Enumerable.Range(0, Rows).Select(n => Math.Sqrt(Enumerable.Range(0, D).Sum(p => v[n * D + p] * v[n * D + p]))).ToArray();
        double h = Step(k);
        double[] Stencil(double step)
        {
            var acc = new double[Value.Size];
            for (int j = 0; j <= k; j++)
            {
                double t = (j - k / 2.0) * step, w = ((k - j) % 2 == 0 ? 1 : -1) * Binomial(k, j);
                var xs = _x.Clone();
                for (int n = 0; n < Rows; n++)
                    for (int p = 0; p < D; p++)
                        if (norms[n] > 0) xs.Data[n * D + p] += t * v[n * D + p] / norms[n];
                var y = Eval(xs);
                for (int i = 0; i < acc.Length; i++) acc[i] += w * y.Data[i];
            }
            return [.. acc.Select(a => a / Math.Pow(step, k))];
        }
        int per = Value.Size / Math.Max(1, Rows);
        return [.. Extrapolate(Stencil, h).Select((e, i) => e * Math.Pow(norms[i / per], k))];
    }

    /// <summary>
    /// Σ_α c_α(x_n) ∂^α f(x_n) (the reference) and the error allowed for it, Σ_α |c_α(x_n)|·(tol(|α|)·|∂^α f(x_n)| + R_|α|·max(1, |f|)):
    /// each term gets the tolerance of its own order (a loose fourth-order term must not hide an error in a first-order
    /// one), plus 100× the rounding error of its stencil, R_K = 100·2ᴷε/(h_K/4)ᴷ. Both flattened like f's output.
    /// </summary>
    public (double[] Value, double[] Allowed) Apply(IReadOnlyList<Term> definition, Func<int, double> tolerance)
    {
        var value = new double[Value.Size];
        var scale = new double[Value.Size];
        int per = Value.Size / Math.Max(1, Rows);
        var rows = Enumerable.Range(0, Rows).Select(n => _x.Data.AsSpan(n * D, D).ToArray()).ToArray();
        foreach (var term in definition)
        {
            var p = Partial(term.Axes);
            for (int i = 0; i < value.Length; i++)
            {
                double c = term.Coefficient(rows[i / per]);
                value[i] += c * p[i];
                int k = term.Axes.Length;
                scale[i] += Math.Abs(c) * (tolerance(k) * Math.Abs(p[i]) + Rounding(k) * Math.Max(1, Math.Abs(Value.Data[i])));
            }
        }
        return (value, scale);
    }

    /// <summary>
    /// Σ_families |Scale|·Σ_r (|⟨∂ᴷf, v_r^⊗K⟩| + floor) per output element (plus |ZeroOrder|·|f|): the sizes of the terms every
    /// strategy adds up, so the scale of their rounding errors even when the terms cancel; and the unit scale
    /// Σ|Scale|·Σ_r |v_r|ᴷ·max(1, |f|) the floor is taken from (a result far below it is ~0: an uninformative case).
    /// </summary>
    public (double[] Scale, double[] Unit) FamilyScale(DifferentialOperator op)
    {
        var families = op.Families(D);
        var scale = Value.Data.Select(v => Math.Abs(op.ZeroOrder * v)).ToArray();
        var unit = new double[scale.Length];
        if (families.Count == 0) return (scale, unit);
        var g = Tracer.Function(xs => [.. families.Select(fam => fam.Directions(xs[0]))], [_x.Shape]);
        var dirs = Executable.Compile(g).Run(_x);
        for (int f = 0; f < families.Count; f++)
        {
            var v = dirs[f];                                   // [R, N, D]
            int r = v.Shape[0], nd = Rows * D;
            int order = families[f].Order, per = Value.Size / Math.Max(1, Rows);
            for (int k = 0; k < r; k++)
            {
                var vk = v.Data.AsSpan(k * nd, nd).ToArray();
                var dir = Directional(vk, order);
                for (int i = 0; i < scale.Length; i++)
                {
                    // The rounding floor: one unit of the lower-order jet terms, which are O(|v|ᴷ·max(1, |f|)) for these bounded functions.
                    double norm2 = 0;
                    for (int p = 0; p < D; p++) norm2 += vk[i / per * D + p] * vk[i / per * D + p];
                    double u = Math.Pow(norm2, order / 2.0) * Math.Max(1, Math.Abs(Value.Data[i]));
                    scale[i] += Math.Abs(families[f].Scale) * (Math.Abs(dir[i]) + RoundingFloor * u);
                    unit[i] += Math.Abs(families[f].Scale) * u;
                }
            }
        }
        return (scale, unit);
    }

    /// <summary>
    /// Relative weight of the rounding floor: a derivative that is ~0 is still computed from jet terms of
    /// size ~|v|ᴷ·|f| that cancel, so its rounding error is ~ε of those, not of the result (1e-4 × the 1e-12
    /// tolerance = 1e-16 absolute per unit term: half an ulp of an O(1) number).
    /// </summary>
    public const double RoundingFloor = 1e-4;

    private static double Binomial(int n, int k)
    {
        double r = 1;
        for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
        return r;
    }
}
