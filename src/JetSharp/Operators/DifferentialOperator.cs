using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Transforms;
using JetSharp.Simplify;
using JetSharp.Runtime;
using System.Runtime.CompilerServices;
using JetSharp.Tracing;

namespace JetSharp.Operators;

/// <summary>
/// A linear differential operator L acting on per-datum functions f: [N, D] → [N, C…] (row n of the
/// output depends on row n of the input only). L is stored as a zero-order coefficient plus a list
/// of <see cref="DirectionFamily"/> terms, Scale·Σ_r ⟨∂ᴷf, v_r^⊗K⟩; every strategy evaluates those
/// same terms, so strategies agree to rounding. Build an operator once and apply it many times.
/// </summary>
public sealed class DifferentialOperator
{
    private readonly Func<int, IReadOnlyList<DirectionFamily>> _families;
    private readonly Func<Graph, Node[], Node>? _nestedFirstOrder;
    private readonly Func<Graph, Node[], Strategy, Node?>? _composition;

    /// <param name="name">Display name.</param>
    /// <param name="families">The direction families for inputs of dimension D.</param>
    /// <param name="zeroOrder">Coefficient of f itself.</param>
    /// <param name="nestedFirstOrder">Optional formulation of L f by nested first-order AD, used by
    /// <see cref="Strategy.NestedFirstOrder"/> instead of nesting along every direction family (see <see cref="Strategy.Formulate{T}"/>).</param>
    /// <param name="composition">Optional formulation of L f as a composition of other operators, each emitted by the
    /// strategy given (for instance Δ(Δf)); the other strategies use it instead of the direction families wherever it
    /// returns a node (null: emit the families).</param>
    private DifferentialOperator(string name, Func<int, IReadOnlyList<DirectionFamily>> families, double zeroOrder = 0,
        Func<Graph, Node[], Node>? nestedFirstOrder = null, Func<Graph, Node[], Strategy, Node?>? composition = null)
    {
        Name = name;
        _families = families;
        ZeroOrder = zeroOrder;
        _nestedFirstOrder = nestedFirstOrder;
        _composition = composition;
    }

    /// <summary>Display name, e.g. "Laplacian (exact)".</summary>
    public string Name { get; }

    /// <summary>Coefficient of f itself.</summary>
    public double ZeroOrder { get; }

    /// <summary>The direction families for inputs of dimension D.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is negative.</exception>
    public IReadOnlyList<DirectionFamily> Families(int dimension)
    {
        if (dimension < 0)
            throw new ArgumentOutOfRangeException(nameof(dimension), dimension, $"{Name}: the input dimension D must be non-negative, got {dimension}.");
        return _families(dimension);
    }

    /// <summary>The <see cref="Name"/>.</summary>
    public override string ToString() => Name;

    // ------------------------------------------------------------------ operators

    /// <summary>
    /// Δf = Σ_d ∂²f/∂x_d². Exact: directions e_1..e_D, as a structural identity
    /// (<see cref="DirectionFamily.StandardBasis"/>) that a first linear layer turns into rows of its weight,
    /// so no dense D×D basis is held. Stochastic (Hutchinson): (1/S)Σ_s ⟨∂²f, v_s⊗v_s⟩. Coordinates
    /// (<see cref="Estimate.Coordinates"/>): Σ_s c_s ∂²f/∂x_{d_s}² along sampled unit vectors, structural like the exact basis.
    /// A null <paramref name="estimate"/> means <see cref="Estimate.Exact"/>.
    /// </summary>
    public static DifferentialOperator Laplacian(Estimate? estimate = null)
    {
        var est = estimate ?? Estimate.Exact;
        return new($"Laplacian ({est})", d => est.IsExact ? [DirectionFamily.StandardBasis(2, 1)]
            : est.IsCoordinates && est.Resample ? [PerRunFamily(est, d, "Laplacian", (rows, scale) => DirectionFamily.Selection(2, scale, rows, $"{est.Samples} e_d drawn per run"))]
            : est.IsCoordinates ? [SampledFamily(est, d, "Laplacian", (rows, weights, scale) => DirectionFamily.Selection(2, scale, rows, weights, $"{est.Samples} sampled e_d"))]
            : [RandomFamily(2, 1.0 / est.Samples, est, d)]);
    }

    /// <summary>
    /// tr(σσᵀ∇²f) = Σ_r ⟨∂²f, s_r⊗s_r⟩ for a constant σ = (s_1..s_R) of shape [D, R].
    /// Stochastic: (1/S)Σ_s ⟨∂²f, σv_s⊗σv_s⟩ with v_s ∈ ℝᴿ. Coordinates: Σ_s c_s ⟨∂²f, s_{r_s}⊗s_{r_s}⟩ over sampled columns.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="sigma"/> is null.</exception>
    /// <exception cref="ShapeException">σ is not a matrix.</exception>
    /// <exception cref="ArgumentException">An entry of σ is NaN or infinite.</exception>
    public static DifferentialOperator WeightedLaplacian(NDArray sigma, Estimate? estimate = null)
    {
        ArgumentNullException.ThrowIfNull(sigma);
        if (sigma.Rank != 2)
            throw new ShapeException($"WeightedLaplacian: σ must be a [D, R] matrix, got shape {sigma.Shape}.");
        var est = estimate ?? Estimate.Exact;
        int rank = sigma.Shape[1];
        var columns = Transposed(sigma);
        for (int r = 0; r < rank; r++)
            for (int i = 0; i < sigma.Shape[0]; i++)
                if (!double.IsFinite(columns[r, i]))
                    throw new ArgumentException($"WeightedLaplacian: σ[{i}, {r}] = {columns[r, i]} (σ is {sigma.Shape}); σ must be finite.", nameof(sigma));
        // The operator keeps copies (the columns, and σ itself for the stochastic form): later changes to the caller's σ do not leak in.
        var sigmaCopy = NDArray.FromArray(Transposed(columns));
        return new($"weighted Laplacian (rank {rank}, {est})", d =>
        {
            if (sigma.Shape[0] != d)
                throw new ShapeException($"WeightedLaplacian: σ has shape {sigma.Shape}; inputs have D = {d}, so σ must be [{d}, R].");
            if (est.IsExact) return [DirectionFamily.Constant(2, 1, columns, "σ columns")];
            // Sampled columns of σ as P·σᵀ with a structural selection P [S, 1, R]: the simplifier gathers rows of σᵀ.
            DirectionFamily Columns(Func<Graph, Node> select, double scale, string description) => new(2, scale, x =>
                Fn.BroadcastTo(Fn.MatMul(select(x.Graph), x.Graph.Constant(sigmaCopy), transposeB: true), new Shape(est.Samples, x.Shape[0], d)), description);
            if (est.IsCoordinates && est.Resample)
                return [PerRunFamily(est, rank, "WeightedLaplacian", (rows, scale) =>
                    Columns(g => SelectionMatrixOp.Emit(g, rank, rows, new Shape(rows.Count, 1, rank)), scale, $"{est.Samples} σ columns drawn per run"))];
            if (est.IsCoordinates)
                return [SampledFamily(est, rank, "WeightedLaplacian", (rows, weights, scale) =>
                    Columns(g => SelectionMatrixOp.Emit(g, rank, rows, weights, new Shape(rows.Length, 1, rank)), scale, $"{est.Samples} sampled σ columns"))];
            return [new DirectionFamily(2, 1.0 / est.Samples, x =>
            {
                var v = Fn.Random(x.Graph, new Shape(est.Samples, x.Shape[0], rank), est.Distribution, est.Seed);
                return Fn.MatMul(v, x.Graph.Constant(sigmaCopy), transposeB: true);
            }, "σ v_s")];
        });
    }

    /// <summary>
    /// tr(σ(x)σ(x)ᵀ∇²f) with σ evaluated per datum (not differentiated): <paramref name="sigma"/> maps
    /// x [N, D] to [N, D, R].
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="sigma"/> is null.</exception>
    public static DifferentialOperator WeightedLaplacian(Func<Node, Node> sigma, Estimate? estimate = null)
    {
        ArgumentNullException.ThrowIfNull(sigma);
        var est = estimate ?? Estimate.Exact;
        est.RequireDirections("WeightedLaplacian (σ(x))");
        Node Sigma(Node x)
        {
            var s = sigma(x);
            if (s.Rank != 3 || s.Shape[0] != x.Shape[0] || s.Shape[1] != x.Shape[1])
                throw new ShapeException($"WeightedLaplacian: σ(x) must have shape [N, D, R] = [{x.Shape[0]}, {x.Shape[1]}, R] for x {x.Shape}; it has {s.Shape}.");
            return s;
        }
        return new($"weighted Laplacian (σ(x), {est})", d => est.IsExact
            ? [new DirectionFamily(2, 1, x => Fn.Transpose(Sigma(x), 2, 0, 1), "σ(x) columns")]
            : [new DirectionFamily(2, 1.0 / est.Samples, x =>
            {
                var s = Sigma(x);                                                   // [N, D, R]
                var v = Fn.Random(x.Graph, new Shape(x.Shape[0], s.Shape[2], est.Samples), est.Distribution, est.Seed);
                return Fn.Transpose(Fn.MatMul(s, v), 2, 0, 1);                      // [S, N, D]
            }, "σ(x) v_s")]);
    }

    /// <summary>
    /// tr(A∇²f) for a constant symmetric, possibly indefinite, matrix A: A is split by its
    /// eigendecomposition into positive and negative parts, A = Σ λ_i q_i q_iᵀ, giving one family
    /// of directions √|λ_i| q_i for each sign.
    /// <para>
    /// Only eigenvalues that are exactly zero are dropped. No relative threshold is applied: it would
    /// drop legitimate small eigenvalues (diag(10¹⁵, 1) is exact and both terms count). Of a numerically
    /// singular A, the eigenvalues that are rounding noise (|λ| of the order of D·ε·‖A‖) are kept; each
    /// contributes at most that much times |∇²f|, the accuracy of the result anyway, and costs one direction.
    /// For a low-rank A = σσᵀ, <see cref="WeightedLaplacian(NDArray, Estimate)"/> with the factor σ is cheaper.
    /// A may deviate from symmetry by rounding (10⁻¹² of its largest entry); its symmetric part (A + Aᵀ)/2 is
    /// used, which gives the same tr(A∇²f) since ∇²f is symmetric.
    /// </para>
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="a"/> is null.</exception>
    /// <exception cref="ShapeException">A is not square.</exception>
    /// <exception cref="ArgumentException">An entry of A is NaN or infinite, or A is not symmetric.</exception>
    public static DifferentialOperator WeightedLaplacianFromCoefficients(double[,] a)
    {
        ArgumentNullException.ThrowIfNull(a);
        const string op = "WeightedLaplacianFromCoefficients";
        int n = a.GetLength(0);
        if (a.GetLength(1) != n) throw new ShapeException($"{op}: A must be square, got [{n}, {a.GetLength(1)}].");
        double largest = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                if (!double.IsFinite(a[i, j]))
                    throw new ArgumentException($"{op}: A[{i},{j}] = {a[i, j]}; the coefficients must be finite.", nameof(a));
                largest = Math.Max(largest, Math.Abs(a[i, j]));
            }
        var symmetric = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
            {
                if (Math.Abs(a[i, j] - a[j, i]) > 1e-12 * largest)
                    throw new ArgumentException($"{op}: A is not symmetric (A[{i},{j}] = {a[i, j]}, A[{j},{i}] = {a[j, i]}).", nameof(a));
                symmetric[i, j] = symmetric[j, i] = i == j ? a[i, i] : 0.5 * a[i, j] + 0.5 * a[j, i];
            }
        // Decomposed at unit scale (a power of two, so exactly): the Jacobi sweeps square the entries, which would
        // overflow for entries beyond 1e154 and underflow below 1e-154.
        double unit = largest > 0 ? Math.ScaleB(1.0, -Math.ILogB(largest)) : 1;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) symmetric[i, j] *= unit;
        var (values, vectors) = SymmetricEigen.Decompose(symmetric);
        for (int i = 0; i < n; i++) values[i] /= unit;
        double[,] Part(int sign)
        {
            var idx = Enumerable.Range(0, n).Where(i => sign * values[i] > 0).ToArray();
            var dirs = new double[idx.Length, n];
            for (int r = 0; r < idx.Length; r++)
                for (int j = 0; j < n; j++) dirs[r, j] = Math.Sqrt(Math.Abs(values[idx[r]])) * vectors[j, idx[r]];
            return dirs;
        }
        var pos = Part(1);
        var neg = Part(-1);
        return new($"tr(A∇²f) ({pos.GetLength(0)} positive, {neg.GetLength(0)} negative eigenvalues)", d =>
        {
            if (d != n) throw new ShapeException($"{op}: A is {n}×{n}; inputs have D = {d}.");
            var fams = new List<DirectionFamily>();
            if (pos.GetLength(0) > 0) fams.Add(DirectionFamily.Constant(2, 1, pos, "positive part"));
            if (neg.GetLength(0) > 0) fams.Add(DirectionFamily.Constant(2, -1, neg, "negative part"));
            return fams;
        });
    }

    /// <summary>
    /// Δ²f = Σ_{i,j} ∂⁴f/∂x_i²∂x_j². Exact: by whichever of the two exact formulations carries fewer vectors per layer in the
    /// strategy (<see cref="Strategy.VectorsPerLayer"/>), Δ(Δf) (<see cref="BiharmonicByNestedLaplacians"/>) or the
    /// interpolation of METHOD.md §4 (<see cref="BiharmonicByInterpolation"/>): collapsed that is Δ(Δf) from D = 2 on,
    /// (D + 2)² against at least 3M + 2 for the M = (3D² − D)/2 four-jets; standard Taylor from D = 3 on, (2D + 1)² against
    /// 4M + 1. The nested first-order strategy computes Δ(Δf). Stochastic: E⟨∂⁴f, v^⊗4⟩ = 3Δ²f for Gaussian v, so
    /// (1/3S)Σ_s F(v_s). Its <see cref="Families"/> are the interpolation's (the same terms) whichever is emitted.
    /// </summary>
    public static DifferentialOperator Biharmonic(Estimate? estimate = null)
    {
        var est = estimate ?? Estimate.Exact;
        est.RequireDirections("Biharmonic");
        if (!est.IsExact && est.Distribution != Distribution.Normal)
            throw new ArgumentException($"Biharmonic: stochastic estimation needs Gaussian directions (E⟨∂⁴f, v^⊗4⟩ = 3Δ²f holds for Gaussian v only); got {est.Distribution}.");
        if (!est.IsExact)
            return new($"biharmonic ({est})", d => [RandomFamily(4, 1.0 / (3.0 * est.Samples), est, d)]);
        return ExactBiharmonic("biharmonic (exact)", (f, inputs, s) => NestedLaplaciansAreCheaper(s, inputs[0].Shape[1]) ? LaplacianOfLaplacian(f, inputs, s) : null);
    }

    /// <summary>
    /// The exact Δ²f by the interpolation of METHOD.md §4 in the Taylor strategies: the (3D² − D)/2 four-jets of the terms
    /// Σ_i ∂⁴_i + Σ_{i≠j} ∂²_i∂²_j, identical directions merged (the paper's formulation, whose vector counts METHOD.md §3
    /// tabulates). The nested first-order strategy computes Δ(Δf).
    /// </summary>
    public static DifferentialOperator BiharmonicByInterpolation() => ExactBiharmonic("biharmonic (exact, interpolation)", composition: null);

    /// <summary>
    /// The exact Δ²f as Δ(Δf) in every strategy: the strategy's Laplacian of the graph of the strategy's Laplacian of f.
    /// Collapsed, that propagates at most (D + 2)² vectors per layer (the inner Laplacian's x₀, D tangents and their
    /// sum, each with the outer one's) against 1 + 3M + 2 for the M = (3D² − D)/2 four-jets of
    /// <see cref="BiharmonicByInterpolation"/> (43 against 108 for an MLP at D = 5), with the same result up to rounding.
    /// Its <see cref="Families"/> are the interpolation's (the same terms), though no strategy emits them.
    /// </summary>
    public static DifferentialOperator BiharmonicByNestedLaplacians() =>
        ExactBiharmonic("biharmonic (exact, nested Laplacians)", LaplacianOfLaplacian);

    private static DifferentialOperator ExactBiharmonic(string name, Func<Graph, Node[], Strategy, Node?>? composition) =>
        new(name, d =>
        {
            // (3D² − D)/2 directions of dimension D: refuse before enumerating the D² terms when the table alone cannot fit.
            double directions = (3.0 * d * d - d) / 2;
            MemoryGuard.CheckTable(name, d, directions * d * sizeof(double), $"its {directions:0} directions of dimension {d}");
            return MixedPartials.Families(BiharmonicTerms(d), d, name);
        },
            nestedFirstOrder: (f, inputs) => LaplacianOfLaplacian(f, inputs, Strategy.NestedFirstOrder),
            composition: composition);

    /// <summary>
    /// Whether Δ(Δf) carries fewer vectors per layer in <paramref name="strategy"/> than the interpolation: the Laplacian's
    /// count squared (the outer Laplacian propagates that many copies of each of the inner one's vectors) against the
    /// interpolation's M = (3D² − D)/2 fourth-order directions counted as one family (a lower bound for its one to three
    /// families). A tie goes to Δ(Δf): the simplifier merges a few of its vectors (standard Taylor at D = 3: 43 of the
    /// nominal 49, against the interpolation's 49). False where the strategy counts no vectors.
    /// </summary>
    internal static bool NestedLaplaciansAreCheaper(Strategy strategy, int d)
    {
        long m = (3L * d * d - d) / 2;
        return strategy.VectorsPerLayer(2, d, 1) is long lap && strategy.VectorsPerLayer(4, m, 1) is long four && lap * lap <= four;
    }

    /// <summary>
    /// Δ(Δf) emitted by <paramref name="strategy"/>: the inner Laplacian's graph is built (and, except for nested first-order AD,
    /// finished by the strategy, so the outer one differentiates the collapsed graph), then the outer one is emitted on it.
    /// </summary>
    private static Node LaplacianOfLaplacian(Graph f, Node[] inputs, Strategy strategy)
    {
        var lap = Laplacian().Build(f, strategy, simplify: strategy != Strategy.NestedFirstOrder);
        return Laplacian().Emit(lap, inputs, strategy);
    }

    /// <summary>The terms Σ_i ∂⁴_i + Σ_{i≠j} ∂²_i∂²_j of the biharmonic, as multi-indices.</summary>
    internal static List<(double, int[])> BiharmonicTerms(int d)
    {
        var terms = new List<(double, int[])>();
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                terms.Add((1.0, i == j ? [i, i, i, i] : [i, i, j, j]));
        return terms;
    }

    /// <summary>
    /// A general operator Σ c_α ∂^α f. Each term names its derivative by variables, e.g. (1, "t"),
    /// (−1, "xx"), (−1, "yy"), (1, "xxyy"), with <paramref name="variables"/> giving the letter of each
    /// input dimension in order (e.g. "txy"); the empty string is f itself.
    /// <para>
    /// Every finite non-zero coefficient counts, at any scale: terms are merged in exact arithmetic (only
    /// weights that cancel exactly are dropped) and directions are normalised per band of magnitudes (see
    /// <c>MixedPartials</c>), so a coefficient 10⁻³⁰ next to one of 10³⁰ is neither lost nor underflows.
    /// The result is accurate to a few units of rounding relative to Σ_j |w_j|·|⟨∂ᴷf, u_j^⊗K⟩| over the
    /// directions u_j and weights w_j of the interpolation, which for unmixed derivatives is Σ_α |c_α ∂^α f|:
    /// each term is as accurate as on its own, up to the rounding of the largest terms.
    /// </para>
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="terms"/> or <paramref name="variables"/> is null.</exception>
    /// <param name="terms">The terms (c_α, derivative letters).</param>
    /// <param name="variables">The letter of each input dimension in order.</param>
    /// <param name="estimate">Exact (null) or <see cref="Estimate.Coordinates"/>, which samples the derivative terms α
    /// (importance weights, when given, are per term): Σ_s c_s·c_{α_s}∂^{α_s}f is unbiased for Σ_α c_α ∂^α f.</param>
    /// <exception cref="ArgumentException">No terms, a NaN or infinite coefficient, a null derivative, a letter that is not a variable, a repeated variable letter, or a dense random estimate.</exception>
    public static DifferentialOperator Linear(IEnumerable<(double Coefficient, string Derivative)> terms, string variables, Estimate? estimate = null)
    {
        ArgumentNullException.ThrowIfNull(terms);
        ArgumentNullException.ThrowIfNull(variables);
        var list = terms.ToList();
        if (list.Count == 0) throw new ArgumentException("Linear: the operator has no terms.", nameof(terms));
        if (variables.Distinct().Count() != variables.Length)
            throw new ArgumentException($"Linear: variable names '{variables}' repeat a letter.", nameof(variables));
        for (int t = 0; t < list.Count; t++)
        {
            if (list[t].Derivative is null)
                throw new ArgumentException($"Linear: term {t} ({list[t].Coefficient}, null) has no derivative; use \"\" for f itself.", nameof(terms));
            CheckCoefficient(list[t].Coefficient, t, $"'{list[t].Derivative}'");
        }
        var parsed = list.Select(t => (t.Coefficient, Axes: t.Derivative.Select(ch =>
        {
            int a = variables.IndexOf(ch);
            if (a < 0) throw new ArgumentException($"Linear: term '{t.Derivative}' uses '{ch}', which is not one of the variables '{variables}'.", nameof(terms));
            return a;
        }).ToArray())).ToList();
        return Linear(parsed, $"Σ c_α ∂^α ({string.Join(" ", list.Select(t => $"{Signed(t.Coefficient)}·∂{(t.Derivative.Length == 0 ? "⁰" : t.Derivative)}"))})", variables.Length, estimate);
    }

    /// <summary>
    /// A general operator Σ c_α ∂^α f with each multi-index given as the list of axes differentiated
    /// (e.g. [0, 0, 1] = ∂³/∂x_0²∂x_1); an empty list is f itself. Coefficients count at any scale, as in
    /// <see cref="Linear(IEnumerable{ValueTuple{double, string}}, string, Estimate)"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="terms"/> is null.</exception>
    /// <param name="terms">The terms (c_α, differentiated axes).</param>
    /// <param name="estimate">Exact (null) or <see cref="Estimate.Coordinates"/>, which samples the derivative terms.</param>
    /// <exception cref="ArgumentException">No terms, a NaN or infinite coefficient, a null multi-index, or a dense random estimate.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A multi-index names a negative axis.</exception>
    public static DifferentialOperator Linear(IEnumerable<(double Coefficient, int[] Axes)> terms, Estimate? estimate = null)
    {
        ArgumentNullException.ThrowIfNull(terms);
        var list = terms.ToList();
        for (int t = 0; t < list.Count; t++)
        {
            var axes = list[t].Axes ?? throw new ArgumentException($"Linear: term {t} ({list[t].Coefficient}, null) has no multi-index; use [] for f itself.", nameof(terms));
            CheckCoefficient(list[t].Coefficient, t, $"[{string.Join(", ", axes)}]");
            if (axes.FirstOrDefault(a => a < 0, 0) is var bad && bad < 0)
                throw new ArgumentOutOfRangeException(nameof(terms), $"Linear: term {t} has multi-index [{string.Join(", ", axes)}] with the negative axis {bad}; axes count from 0.");
        }
        return Linear(list.Select(t => (t.Coefficient, (int[])t.Axes.Clone())).ToList(), "Σ c_α ∂^α f", -1, estimate);
    }

    private static void CheckCoefficient(double c, int index, string derivative)
    {
        if (!double.IsFinite(c))
            throw new ArgumentException($"Linear: term {index} ({c}·∂{derivative}) has the coefficient {c}; every coefficient must be finite.", "terms");
    }

    private static string Signed(double c) => (c >= 0 ? "+" : "") + c.ToString("g4", System.Globalization.CultureInfo.InvariantCulture);

    private static DifferentialOperator Linear(List<(double Coefficient, int[] Axes)> terms, string name, int dimension, Estimate? estimate)
    {
        if (terms.Count == 0) throw new ArgumentException("Linear: the operator has no terms.", nameof(terms));
        var est = estimate ?? Estimate.Exact;
        if (!est.IsExact && !est.IsCoordinates)
            throw new ArgumentException($"Linear: {est} is not supported (random dense directions give no unbiased estimate of mixed partials); use Estimate.Exact or Estimate.Coordinates (samples terms).", nameof(estimate));
        if (est.Resample)
            throw new ArgumentException($"Linear: {est} is not supported: the sampled terms of a linear operator decide which directions its graph has, so they are drawn once (resample: false).", nameof(estimate));
        if (!est.IsExact) name += $" ({est})";
        // Exact sum: c and −c cancel to 0, and a tiny coefficient next to a large one is not rounded away before it must be.
        double zeroOrder = terms.Where(t => t.Axes.Length == 0).Aggregate(Rational.Zero, (s, t) => s + Rational.FromDouble(t.Coefficient)).ToDouble();
        var derivatives = terms.Where(t => t.Axes.Length > 0).ToList();
        return new(name, d =>
        {
            if (dimension >= 0 && dimension != d)
                throw new ShapeException($"Linear: the operator has {dimension} variables; inputs have D = {d}.");
            foreach (var (_, axes) in derivatives)
                if (axes.Any(a => a >= d))
                    throw new ShapeException($"Linear: multi-index [{string.Join(", ", axes)}] differentiates an axis outside 0..{d - 1}.");
            if (est.IsExact || derivatives.Count == 0) return MixedPartials.Families(derivatives, d, name);
            // Sampled terms: Σ_s c_s·c_{α_s}∂^{α_s}f (one rounding of each product; the zero-order term stays exact).
            var (picked, factors) = est.Draw(derivatives.Count, "Linear");
            return MixedPartials.Families(picked.Select((t, s) => (derivatives[t].Coefficient * factors[s], derivatives[t].Axes)), d, name);
        }, zeroOrder);
    }

    // ------------------------------------------------------------------ evaluation

    /// <summary>
    /// The graph of L f: same inputs as <paramref name="f"/> (x [N, D] first, then any parameters),
    /// one output of f's output shape. With <paramref name="simplify"/>, the graph is finished by the strategy
    /// (<see cref="Strategy.Finish"/>): collapsed graphs are simplified with the standard rules; the other
    /// strategies only get <see cref="CleanUp"/> (common-subexpression and dead-code elimination, so x₀ is shared).
    /// A null <paramref name="strategy"/> means <see cref="Strategy.Collapsed"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <exception cref="ShapeException">f's first input is not [N, D], or it does not return one tensor [N, …].</exception>
    /// <exception cref="ArgumentException">f couples the rows of x (see <see cref="DifferentialOperator"/>: the per-datum contract).</exception>
    public Graph Build(Graph f, Strategy? strategy = null, bool simplify = true)
    {
        ArgumentNullException.ThrowIfNull(f);
        strategy ??= Strategy.Collapsed;
        if (f.Inputs.Count == 0 || f.Inputs[0].Rank != 2)
            throw new ShapeException($"{Name}: the function's first input must be a batch of points [N, D], got {(f.Inputs.Count == 0 ? "no inputs" : f.Inputs[0].Shape.ToString())}.");
        if (f.Outputs.Count != 1 || f.Outputs[0].Rank == 0 || f.Outputs[0].Shape[0] != f.Inputs[0].Shape[0])
            throw new ShapeException($"{Name}: the function must return one tensor [N, …] for inputs [N, D] = {f.Inputs[0].Shape}; it returns {string.Join(", ", f.Outputs.Select(o => o.Shape.ToString()))}.");
        PerDatum.Check(f, Name);
        return MemoryGuard.WhileBuilding(Name, f.Inputs[0].Shape, f.DType, () =>
        {
            var g = new Graph(f.DType);
            var inputs = GraphWalk.MirrorInputs(f, g);
            g.SetOutputs(Emit(f, inputs, strategy));
            return simplify ? strategy.Finish(g) : g;
        });
    }

    /// <summary>
    /// Emits L f into the graph of <paramref name="inputs"/> (x first, then f's parameters): the zero-order
    /// term plus each direction family's sum as the strategy emits it (or the operator's composition of other
    /// operators, where it is one), or the operator's own nested first-order formulation where it has one and the
    /// strategy prefers it (<see cref="Strategy.Formulate{T}"/>).
    /// A null <paramref name="strategy"/> means <see cref="Strategy.Collapsed"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> or <paramref name="inputs"/> is null.</exception>
    /// <exception cref="ShapeException">The inputs do not match f's inputs in number and shape, or x is not [N, D].</exception>
    public Node Emit(Graph f, Node[] inputs, Strategy? strategy)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length != f.Inputs.Count || inputs.Any(i => i is null) || inputs.Where((i, k) => i.Shape != f.Inputs[k].Shape).Any())
            throw new ShapeException($"{Name}: emit needs one node per input of f with its shape, ({string.Join(", ", f.Inputs.Select(i => i.Shape.ToString()))}); " +
                $"got ({string.Join(", ", inputs.Select(i => i?.Shape.ToString() ?? "null"))}).");
        if (inputs.Length == 0 || inputs[0].Rank != 2)
            throw new ShapeException($"{Name}: the function's first input must be a batch of points [N, D], got {(inputs.Length == 0 ? "no inputs" : inputs[0].Shape.ToString())}.");
        var s = strategy ?? Strategy.Collapsed;
        var nested = _nestedFirstOrder;
        var composition = _composition;
        return s.Formulate(() => composition?.Invoke(f, inputs, s) ?? EmitTerms(f, inputs, s), nested is null ? null : () => nested(f, inputs));
    }

    /// <summary>ZeroOrder·f + Σ_families Scale·Σ_r ⟨∂ᴷf, v_r^⊗K⟩, each sum from <see cref="Strategy.DirectionalSum"/>.</summary>
    private Node EmitTerms(Graph f, Node[] inputs, Strategy strategy)
    {
        var x = inputs[0];
        Node? total = ZeroOrder == 0 ? null : Inline.Apply(f, inputs)[0] * ZeroOrder;
        foreach (var family in Families(x.Shape[1]))
        {
            var directions = family.Directions(x);
            if (directions.Rank != 3 || directions.Shape[1] != x.Shape[0] || directions.Shape[2] != x.Shape[1])
                throw new ShapeException($"{Name}: directions of family '{family.Description}' have shape {directions.Shape}; expected [R, {x.Shape[0]}, {x.Shape[1]}].");
            var sum = strategy.DirectionalSum(f, inputs, directions, family.Order);
            var term = family.Scale == 1 ? sum : sum * family.Scale;
            total = total is null ? term : total + term;
        }
        return total ?? Fn.Zeros(x.Graph, f.Outputs[0].Shape);
    }

    /// <summary>
    /// Traces f for inputs of <paramref name="inputShape"/>, builds and compiles L f once; run it on many points.
    /// A null <paramref name="strategy"/> means <see cref="Strategy.Collapsed"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined <see cref="DType"/>.</exception>
    /// <exception cref="ShapeException"><paramref name="inputShape"/> is not [N, D].</exception>
    /// <exception cref="InsufficientMemoryException">A run would need more memory than the process may use (nothing is allocated).</exception>
    public CompiledOperator Compile(Func<Node, Node> f, Shape inputShape, DType dtype = DType.Float64, Strategy? strategy = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        CheckDType(dtype);
        strategy ??= Strategy.Collapsed;
        return new(this, strategy, Build(Tracer.Function(f, CheckPoints(inputShape), dtype), strategy),
            n => Build(Tracer.Function(f, new Shape(n, inputShape[1]), dtype), strategy));
    }

    /// <summary>
    /// As <see cref="Compile(Func{Node, Node}, Shape, DType, Strategy)"/> for f(x, parameters): parameters are inputs
    /// of the compiled graph. A null <paramref name="strategy"/> means <see cref="Strategy.Collapsed"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> or <paramref name="parameterShapes"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined <see cref="DType"/>.</exception>
    /// <exception cref="ShapeException"><paramref name="inputShape"/> is not [N, D].</exception>
    /// <exception cref="InsufficientMemoryException">A run would need more memory than the process may use (nothing is allocated).</exception>
    public CompiledOperator Compile(Func<Node, Node[], Node> f, Shape inputShape, Shape[] parameterShapes, DType dtype = DType.Float64, Strategy? strategy = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(parameterShapes);
        CheckDType(dtype);
        strategy ??= Strategy.Collapsed;
        return new(this, strategy, Build(Tracer.Function(xs => f(xs[0], xs[1..]), [CheckPoints(inputShape), .. parameterShapes], dtype), strategy),
            n => Build(Tracer.Function(xs => f(xs[0], xs[1..]), [new Shape(n, inputShape[1]), .. parameterShapes], dtype), strategy));
    }

    /// <summary>
    /// The points must be [N, D] before f is traced: f is written for that shape, so tracing it on another
    /// shape fails inside f with an error that does not name this operator.
    /// </summary>
    private Shape CheckPoints(Shape inputShape) => inputShape.Rank == 2 ? inputShape
        : throw new ShapeException($"{Name}: x must be a batch of points [N, D], got {inputShape}.");

    private void CheckDType(DType dtype)
    {
        if (!Enum.IsDefined(dtype))
            throw new ArgumentOutOfRangeException(nameof(dtype), dtype, $"{Name}: dtype must be Float32 or Float64, got {(int)dtype}.");
    }

    /// <summary>L f at the points x ([N, D]). A null <paramref name="strategy"/> means <see cref="Strategy.Collapsed"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> or <paramref name="x"/> is null.</exception>
    /// <exception cref="ShapeException">x is not [N, D], or f's output is not [N, …].</exception>
    /// <exception cref="ArgumentException">f couples the rows of x (the per-datum contract).</exception>
    /// <exception cref="InsufficientMemoryException">The evaluation would need more memory than the process may use (nothing is allocated).</exception>
    public NDArray<T> Apply<T>(Func<Node, Node> f, NDArray<T> x, Strategy? strategy = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 2) throw new ShapeException($"{Name}: x must be a batch of points [N, D], got {x.Shape}.");
        return Compile(f, x.Shape, DTypes.Of<T>(), strategy).Run(x);
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>
    /// The family of a coordinate estimate over <paramref name="count"/> candidates: the sampled rows, and their
    /// factors c_s as one family scale when they are all equal (uniform sampling), else folded into the unit
    /// vectors as weights √c_s (order 2: ⟨∂²f, (√c e)^⊗2⟩ = c·∂²f).
    /// </summary>
    private static DirectionFamily SampledFamily(Estimate est, int count, string op, Func<int[], double[]?, double, DirectionFamily> family)
    {
        var (rows, factors) = est.Draw(count, op);
        return factors.All(c => c == factors[0]) ? family(rows, null, factors[0])
            : family(rows, [.. factors.Select(Math.Sqrt)], 1);
    }

    /// <summary>The family of a coordinate estimate redrawn on every run: S rows drawn per run and the common factor M/S as the scale.</summary>
    private static DirectionFamily PerRunFamily(Estimate est, int count, string op, Func<IndexList, double, DirectionFamily> family)
    {
        var (rows, factor) = est.DrawPerRun(count, op);
        return family(rows, factor);
    }

    private static DirectionFamily RandomFamily(int order, double scale, Estimate est, int d) =>
        new(order, scale, x => Fn.Random(x.Graph, new Shape(est.Samples, x.Shape[0], d), est.Distribution, est.Seed),
            $"{est.Samples} {est.Distribution} samples");

    private static double[,] Transposed(NDArray sigma)
    {
        int d = sigma.Shape[0], r = sigma.Shape[1];
        var t = new double[r, d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < r; j++) t[j, i] = sigma.GetDouble(i * r + j);
        return t;
    }

    private static double[,] Transposed(double[,] m)
    {
        var t = new double[m.GetLength(1), m.GetLength(0)];
        for (int i = 0; i < m.GetLength(0); i++)
            for (int j = 0; j < m.GetLength(1); j++) t[j, i] = m[i, j];
        return t;
    }
}

/// <summary>
/// An operator traced, transformed and simplified once for one input shape; runs on new points and parameters without retracing.
/// <para>
/// Memory-aware: a run whose planned peak of live bytes (<see cref="Executable.PlannedPeakBytes"/>) exceeds
/// <see cref="MemoryBudget"/> is split along the batch axis into chunks of <see cref="ChunkSize"/> points, each
/// run by a graph built for that many points, and the rows of the result assembled in order. Every row of L f
/// depends on its own point only (the per-datum contract), so the result equals the unchunked one.
/// </para>
/// </summary>
public sealed class CompiledOperator
{
    private readonly Func<int, Graph>? _rebuild;
    private readonly long _plannedPeak;
    private (int Size, Executable Chunk, Executable? Remainder)? _chunks;
    private readonly Lock _planLock = new();

    internal CompiledOperator(DifferentialOperator op, Strategy strategy, Graph graph, Func<int, Graph>? rebuild = null, long? memoryBudget = null, Executable? executable = null)
    {
        MemoryGuard.CheckRun(op.Name, graph);
        Operator = op;
        Strategy = strategy;
        Graph = graph;
        Executable = executable ?? new Executable(graph);
        _rebuild = rebuild;
        _plannedPeak = Executable.PlannedPeakBytes();
        MemoryBudget = memoryBudget ?? DefaultMemoryBudget;
    }

    /// <summary>Half of the memory this process may use (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>): the budget a compiled operator gets unless given another.</summary>
    public static long DefaultMemoryBudget => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;

    /// <summary>The most bytes of intermediates and results a run may hold at once (see the class remarks).</summary>
    public long MemoryBudget { get; }

    /// <summary>The planned peak of live bytes of one unchunked run.</summary>
    public long PlannedPeakBytes => _plannedPeak;

    /// <summary>The highest live bytes of the most recent run: its <see cref="RunStats.PeakLiveBytes"/>, or for a chunked run the
    /// largest chunk's plus the assembled result.</summary>
    public long LastRunPeakBytes { get; private set; }

    /// <summary>
    /// The same compiled operator with a memory budget of <paramref name="bytes"/>. When a run would exceed it, the batch
    /// is chunked; the chunk size is planned here, before anything runs.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is not positive.</exception>
    /// <exception cref="InsufficientMemoryException">Not even one point fits in the budget (nothing is allocated); the message names the operator, the shapes and the bytes.</exception>
    /// <exception cref="InvalidOperationException">The run must be chunked but the graph samples random directions per point (chunks would draw other directions), or the operator was not compiled from a function.</exception>
    public CompiledOperator WithMemoryBudget(long bytes)
    {
        if (bytes <= 0) throw new ArgumentOutOfRangeException(nameof(bytes), bytes, $"{Operator.Name}: the memory budget must be positive, got {bytes} bytes.");
        var result = new CompiledOperator(Operator, Strategy, Graph, _rebuild, bytes, Executable);
        result.PlanChunks();
        return result;
    }

    /// <summary>Points per chunk when a run is chunked, or the whole batch N when it fits in the budget.</summary>
    public int ChunkSize => PlanChunks()?.Size ?? Graph.Inputs[0].Shape[0];

    private (int Size, Executable Chunk, Executable? Remainder)? PlanChunks()
    {
        if (_plannedPeak <= MemoryBudget) return null;
        lock (_planLock) return _chunks ??= Plan();
    }

    private (int Size, Executable Chunk, Executable? Remainder) Plan()
    {
        int n = Graph.Inputs[0].Shape[0];
        string sizes = $"x {Graph.Inputs[0].Shape}{(Graph.Inputs.Count > 1 ? $" and parameters {string.Join(", ", Graph.Inputs.Skip(1).Select(i => i.Shape.ToString()))}" : "")}, {Graph.DType.Name()}";
        if (n <= 1) throw OverBudget(sizes, _plannedPeak);
        if (_rebuild is null)
            throw new InvalidOperationException($"{Operator.Name}: a run of {sizes} needs {_plannedPeak} bytes, over the budget of {MemoryBudget}, and this operator cannot be rebuilt for fewer points.");
        if (GraphWalk.Reachable(Graph).Any(node => node.Op.IsRandom))
            throw new InvalidOperationException($"{Operator.Name}: a run of {sizes} needs {_plannedPeak} bytes, over the budget of {MemoryBudget}, and cannot be chunked: " +
                "it draws random directions per point, which chunks would draw differently. Raise the budget, pass fewer points per call, or use Estimate.Coordinates.");
        long outputRowBytes = Graph.Outputs[0].Shape.Size / n * Graph.DType.SizeInBytes();
        long inputRowBytes = (long)Graph.Inputs[0].Shape[1] * Graph.DType.SizeInBytes();   // each chunk's copy of its points
        // Peak(m) is affine in m for per-datum graphs: Peak(1) and the full run give the slope.
        var one = new Executable(_rebuild(1));
        long peakOne = one.PlannedPeakBytes() + inputRowBytes;
        if (peakOne + outputRowBytes * n > MemoryBudget) throw OverBudget(sizes, peakOne + outputRowBytes * n, one: peakOne);
        double slope = Math.Max(0, (double)(_plannedPeak - peakOne) / (n - 1));
        long room = MemoryBudget - outputRowBytes * n;
        int size = slope == 0 ? n : (int)Math.Clamp(1 + Math.Floor((room - peakOne) / slope), 1, n - 1);
        Executable chunk = size == 1 ? one : new Executable(_rebuild(size));
        for (int attempt = 0; size > 1 && chunk.PlannedPeakBytes() + inputRowBytes * size is var peak && peak > room; attempt++)
        {
            // Refit the slope through the chunk just planned (a few steps), then fall back to halving.
            double refit = (double)(peak - peakOne) / (size - 1);
            int next = (int)Math.Floor(1 + (room - peakOne) / refit);
            size = attempt < 3 && next < size ? Math.Max(1, next) : Math.Max(1, size / 2);
            chunk = size == 1 ? one : new Executable(_rebuild(size));
        }
        var rest = n % size == 0 ? null : n % size == 1 ? one : new Executable(_rebuild(n % size));
        return (size, chunk, rest);
    }

    private InsufficientMemoryException OverBudget(string sizes, long bytes, long? one = null) => new(
        $"{Operator.Name}: {(one is { } o ? $"even one point needs {o} bytes (plus {bytes - o} for the {Graph.Inputs[0].Shape[0]} rows of the result)" : $"a run needs {bytes} bytes")} " +
        $"for {sizes}, over the memory budget of {MemoryBudget} bytes; nothing was allocated. Raise the budget (WithMemoryBudget) or reduce the dimension or the number of directions.");

    /// <summary>The operator that was compiled.</summary>
    public DifferentialOperator Operator { get; }

    /// <summary>The strategy it was compiled with (never null: a null strategy was compiled as <see cref="Strategy.Collapsed"/>).</summary>
    public Strategy Strategy { get; }

    /// <summary>
    /// Where and why the particle-sparse strategy (<see cref="Strategy.SparseCollapsed"/>) densified this operator's
    /// graph; null for the other strategies.
    /// </summary>
    public SparsityReport? SparsityReport => Strategy.SparsityReportFor(Graph);

    /// <summary>The finished graph of L f.</summary>
    public Graph Graph { get; }

    /// <summary>The compiled <see cref="Graph"/>.</summary>
    public Executable Executable { get; }

    /// <summary>L f at the points x, with the given parameter values (when f takes parameters).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="x"/>, <paramref name="parameters"/> or one of them is null.</exception>
    /// <exception cref="ShapeException">The element type, the number of parameters or a shape differs from what was compiled.</exception>
    public NDArray<T> Run<T>(NDArray<T> x, params NDArray<T>[] parameters) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(parameters);
        string compiled = $"compiled for {Graph.DType.Name()} ({string.Join(", ", Graph.Inputs.Select(i => i.Shape.ToString()))})";
        if (DTypes.Of<T>() != Graph.DType)
            throw new ShapeException($"{Operator.Name}: {compiled}; run with {DTypes.Of<T>().Name()} x {x.Shape}.");
        if (parameters.Length != Graph.Inputs.Count - 1)
            throw new ShapeException($"{Operator.Name}: {compiled} takes x and {Graph.Inputs.Count - 1} parameter(s); run with {parameters.Length}.");
        NDArray<T>[] all = [x, .. parameters];
        for (int i = 0; i < all.Length; i++)
        {
            string what = i == 0 ? "x" : $"parameter {i - 1}";
            if (all[i] is null) throw new ArgumentNullException(nameof(parameters), $"{Operator.Name}: {what} is null.");
            if (all[i].Shape != Graph.Inputs[i].Shape)
                throw new ShapeException($"{Operator.Name}: {what} has shape {all[i].Shape}; {compiled}.");
        }
        if (PlanChunks() is not { } chunks)
        {
            var r = Executable.Run(all)[0];
            LastRunPeakBytes = Executable.LastRun.PeakLiveBytes;
            return r;
        }
        int n = x.Shape[0], d = x.Shape[1];
        var result = new NDArray<T>(Graph.Outputs[0].Shape);
        long row = result.Size / n, peak = 0;
        for (int start = 0; start < n; start += chunks.Size)
        {
            int m = Math.Min(chunks.Size, n - start);
            var exe = m == chunks.Size ? chunks.Chunk : chunks.Remainder!;
            var part = new NDArray<T>(new Shape(m, d));
            x.Data.AsSpan(start * d, m * d).CopyTo(part.Data);
            var y = exe.Run([part, .. parameters])[0];
            y.Data.AsSpan().CopyTo(result.Data.AsSpan((int)(start * row), (int)(m * row)));
            peak = Math.Max(peak, exe.LastRun.PeakLiveBytes + (long)part.Size * Unsafe.SizeOf<T>());
        }
        LastRunPeakBytes = peak + result.Size * (long)Unsafe.SizeOf<T>();
        return result;
    }
}
