using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Transforms;
using JetSharp.Simplify;
using JetSharp.Runtime;
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

    /// <param name="name">Display name.</param>
    /// <param name="families">The direction families for inputs of dimension D.</param>
    /// <param name="zeroOrder">Coefficient of f itself.</param>
    /// <param name="nestedFirstOrder">Optional formulation of L f by nested first-order AD, used by
    /// <see cref="Strategy.NestedFirstOrder"/> instead of nesting along every direction family (see <see cref="Strategy.Formulate{T}"/>).</param>
    private DifferentialOperator(string name, Func<int, IReadOnlyList<DirectionFamily>> families, double zeroOrder = 0, Func<Graph, Node[], Node>? nestedFirstOrder = null)
    {
        Name = name;
        _families = families;
        ZeroOrder = zeroOrder;
        _nestedFirstOrder = nestedFirstOrder;
    }

    /// <summary>Display name, e.g. "Laplacian (exact)".</summary>
    public string Name { get; }

    /// <summary>Coefficient of f itself.</summary>
    public double ZeroOrder { get; }

    /// <summary>The direction families for inputs of dimension D.</summary>
    public IReadOnlyList<DirectionFamily> Families(int dimension) => _families(dimension);

    /// <summary>The <see cref="Name"/>.</summary>
    public override string ToString() => Name;

    // ------------------------------------------------------------------ operators

    /// <summary>Δf = Σ_d ∂²f/∂x_d². Exact: directions e_1..e_D. Stochastic (Hutchinson): (1/S)Σ_s ⟨∂²f, v_s⊗v_s⟩.</summary>
    public static DifferentialOperator Laplacian(Estimate? estimate = null)
    {
        estimate ??= Estimate.Exact;
        var est = estimate;
        return new($"Laplacian ({est})", d => est.IsExact
            ? [DirectionFamily.Constant(2, 1, DirectionFamily.Basis(d), "e_d")]
            : [RandomFamily(2, 1.0 / est.Samples, est, d)]);
    }

    /// <summary>
    /// tr(σσᵀ∇²f) = Σ_r ⟨∂²f, s_r⊗s_r⟩ for a constant σ = (s_1..s_R) of shape [D, R].
    /// Stochastic: (1/S)Σ_s ⟨∂²f, σv_s⊗σv_s⟩ with v_s ∈ ℝᴿ.
    /// </summary>
    public static DifferentialOperator WeightedLaplacian(NDArray sigma, Estimate? estimate = null)
    {
        if (sigma.Rank != 2)
            throw new ShapeException($"WeightedLaplacian: σ must be a [D, R] matrix, got shape {sigma.Shape}.");
        var est = estimate ?? Estimate.Exact;
        int rank = sigma.Shape[1];
        var columns = Transposed(sigma);
        return new($"weighted Laplacian (rank {rank}, {est})", d =>
        {
            if (sigma.Shape[0] != d)
                throw new ShapeException($"WeightedLaplacian: σ has shape {sigma.Shape}; inputs have D = {d}, so σ must be [{d}, R].");
            if (est.IsExact) return [DirectionFamily.Constant(2, 1, columns, "σ columns")];
            return [new DirectionFamily(2, 1.0 / est.Samples, x =>
            {
                var v = Fn.Random(x.Graph, new Shape(est.Samples, x.Shape[0], rank), est.Distribution, est.Seed);
                return Fn.MatMul(v, x.Graph.Constant(sigma), transposeB: true);
            }, "σ v_s")];
        });
    }

    /// <summary>
    /// tr(σ(x)σ(x)ᵀ∇²f) with σ evaluated per datum (not differentiated): <paramref name="sigma"/> maps
    /// x [N, D] to [N, D, R].
    /// </summary>
    public static DifferentialOperator WeightedLaplacian(Func<Node, Node> sigma, Estimate? estimate = null)
    {
        var est = estimate ?? Estimate.Exact;
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
    /// </summary>
    public static DifferentialOperator WeightedLaplacianFromCoefficients(double[,] a)
    {
        int n = a.GetLength(0);
        if (a.GetLength(1) != n) throw new ShapeException($"WeightedLaplacianFromCoefficients: A must be square, got [{n}, {a.GetLength(1)}].");
        for (int i = 0; i < n; i++)
            for (int j = 0; j < i; j++)
                if (Math.Abs(a[i, j] - a[j, i]) > 1e-12 * (Math.Abs(a[i, j]) + Math.Abs(a[j, i]) + 1))
                    throw new ArgumentException($"WeightedLaplacianFromCoefficients: A is not symmetric (A[{i},{j}] = {a[i, j]}, A[{j},{i}] = {a[j, i]}).");
        var (values, vectors) = SymmetricEigen.Decompose(a);
        // Relative to the largest eigenvalue, so that tr(A∇²f) scales with A (an absolute floor dropped every eigenvalue of a small A).
        double tol = 1e-14 * values.Select(Math.Abs).DefaultIfEmpty(0).Max();
        double[,] Part(int sign)
        {
            var idx = Enumerable.Range(0, n).Where(i => sign * values[i] > tol).ToArray();
            var dirs = new double[idx.Length, n];
            for (int r = 0; r < idx.Length; r++)
                for (int j = 0; j < n; j++) dirs[r, j] = Math.Sqrt(Math.Abs(values[idx[r]])) * vectors[j, idx[r]];
            return dirs;
        }
        var pos = Part(1);
        var neg = Part(-1);
        return new($"tr(A∇²f) ({pos.GetLength(0)} positive, {neg.GetLength(0)} negative eigenvalues)", d =>
        {
            if (d != n) throw new ShapeException($"WeightedLaplacianFromCoefficients: A is {n}×{n}; inputs have D = {d}.");
            var fams = new List<DirectionFamily>();
            if (pos.GetLength(0) > 0) fams.Add(DirectionFamily.Constant(2, 1, pos, "positive part"));
            if (neg.GetLength(0) > 0) fams.Add(DirectionFamily.Constant(2, -1, neg, "negative part"));
            return fams;
        });
    }

    /// <summary>
    /// Δ²f = Σ_{i,j} ∂⁴f/∂x_i²∂x_j². Exact: the interpolation of METHOD.md §4 with identical directions
    /// merged, (3D² − D)/2 four-jets. Stochastic: E⟨∂⁴f, v^⊗4⟩ = 3Δ²f for Gaussian v, so (1/3S)Σ_s F(v_s).
    /// The nested first-order strategy computes the exact biharmonic as Δ(Δf).
    /// </summary>
    public static DifferentialOperator Biharmonic(Estimate? estimate = null)
    {
        var est = estimate ?? Estimate.Exact;
        if (!est.IsExact && est.Distribution != Distribution.Normal)
            throw new ArgumentException($"Biharmonic: stochastic estimation needs Gaussian directions (E⟨∂⁴f, v^⊗4⟩ = 3Δ²f holds for Gaussian v only); got {est.Distribution}.");
        if (!est.IsExact)
            return new($"biharmonic ({est})", d => [RandomFamily(4, 1.0 / (3.0 * est.Samples), est, d)]);
        return new($"biharmonic (exact)", d => MixedPartials.Families(BiharmonicTerms(d), d),
            nestedFirstOrder: (f, inputs) =>
            {
                var lap = Laplacian().Build(f, Strategy.NestedFirstOrder, simplify: false);
                return Laplacian().Emit(lap, inputs, Strategy.NestedFirstOrder);
            });
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
    /// </summary>
    public static DifferentialOperator Linear(IEnumerable<(double Coefficient, string Derivative)> terms, string variables)
    {
        var list = terms.ToList();
        if (list.Count == 0) throw new ArgumentException("Linear: the operator has no terms.");
        if (variables.Distinct().Count() != variables.Length)
            throw new ArgumentException($"Linear: variable names '{variables}' repeat a letter.");
        var parsed = list.Select(t => (t.Coefficient, Axes: t.Derivative.Select(ch =>
        {
            int a = variables.IndexOf(ch);
            if (a < 0) throw new ArgumentException($"Linear: term '{t.Derivative}' uses '{ch}', which is not one of the variables '{variables}'.");
            return a;
        }).ToArray())).ToList();
        return Linear(parsed, $"Σ c_α ∂^α ({string.Join(" ", list.Select(t => $"{t.Coefficient:+0.###;-0.###}·∂{(t.Derivative.Length == 0 ? "⁰" : t.Derivative)}"))})", variables.Length);
    }

    /// <summary>A general operator Σ c_α ∂^α f with each multi-index given as the list of axes differentiated (e.g. [0, 0, 1] = ∂³/∂x_0²∂x_1).</summary>
    public static DifferentialOperator Linear(IEnumerable<(double Coefficient, int[] Axes)> terms) =>
        Linear([.. terms], "Σ c_α ∂^α f", -1);

    private static DifferentialOperator Linear(List<(double Coefficient, int[] Axes)> terms, string name, int dimension)
    {
        if (terms.Count == 0) throw new ArgumentException("Linear: the operator has no terms.");
        double zeroOrder = terms.Where(t => t.Axes.Length == 0).Sum(t => t.Coefficient);
        var derivatives = terms.Where(t => t.Axes.Length > 0).ToList();
        return new(name, d =>
        {
            if (dimension >= 0 && dimension != d)
                throw new ShapeException($"Linear: the operator has {dimension} variables; inputs have D = {d}.");
            foreach (var (_, axes) in derivatives)
                if (axes.Any(a => a < 0 || a >= d))
                    throw new ShapeException($"Linear: multi-index [{string.Join(", ", axes)}] differentiates an axis outside 0..{d - 1}.");
            return MixedPartials.Families(derivatives, d);
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
    public Graph Build(Graph f, Strategy? strategy = null, bool simplify = true)
    {
        strategy ??= Strategy.Collapsed;
        if (f.Inputs.Count == 0 || f.Inputs[0].Rank != 2)
            throw new ShapeException($"{Name}: the function's first input must be a batch of points [N, D], got {(f.Inputs.Count == 0 ? "no inputs" : f.Inputs[0].Shape.ToString())}.");
        if (f.Outputs.Count != 1 || f.Outputs[0].Rank == 0 || f.Outputs[0].Shape[0] != f.Inputs[0].Shape[0])
            throw new ShapeException($"{Name}: the function must return one tensor [N, …] for inputs [N, D] = {f.Inputs[0].Shape}; it returns {string.Join(", ", f.Outputs.Select(o => o.Shape.ToString()))}.");
        var g = new Graph(f.DType);
        var inputs = GraphWalk.MirrorInputs(f, g);
        g.SetOutputs(Emit(f, inputs, strategy));
        return simplify ? strategy.Finish(g) : g;
    }

    /// <summary>
    /// Emits L f into the graph of <paramref name="inputs"/> (x first, then f's parameters): the zero-order
    /// term plus each direction family's sum as the strategy emits it, or the operator's own nested
    /// first-order formulation where it has one and the strategy prefers it (<see cref="Strategy.Formulate{T}"/>).
    /// A null <paramref name="strategy"/> means <see cref="Strategy.Collapsed"/>.
    /// </summary>
    public Node Emit(Graph f, Node[] inputs, Strategy? strategy)
    {
        var s = strategy ?? Strategy.Collapsed;
        var nested = _nestedFirstOrder;
        return s.Formulate(() => EmitTerms(f, inputs, s), nested is null ? null : () => nested(f, inputs));
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
    public CompiledOperator Compile(Func<Node, Node> f, Shape inputShape, DType dtype = DType.Float64, Strategy? strategy = null)
    {
        strategy ??= Strategy.Collapsed;
        return new(this, strategy, Build(Tracer.Function(f, CheckPoints(inputShape), dtype), strategy));
    }

    /// <summary>
    /// As <see cref="Compile(Func{Node, Node}, Shape, DType, Strategy)"/> for f(x, parameters): parameters are inputs
    /// of the compiled graph. A null <paramref name="strategy"/> means <see cref="Strategy.Collapsed"/>.
    /// </summary>
    public CompiledOperator Compile(Func<Node, Node[], Node> f, Shape inputShape, Shape[] parameterShapes, DType dtype = DType.Float64, Strategy? strategy = null)
    {
        strategy ??= Strategy.Collapsed;
        return new(this, strategy, Build(Tracer.Function(xs => f(xs[0], xs[1..]), [CheckPoints(inputShape), .. parameterShapes], dtype), strategy));
    }

    /// <summary>
    /// The points must be [N, D] before f is traced: f is written for that shape, so tracing it on another
    /// shape fails inside f with an error that does not name this operator.
    /// </summary>
    private Shape CheckPoints(Shape inputShape) => inputShape.Rank == 2 ? inputShape
        : throw new ShapeException($"{Name}: x must be a batch of points [N, D], got {inputShape}.");

    /// <summary>L f at the points x ([N, D]). A null <paramref name="strategy"/> means <see cref="Strategy.Collapsed"/>.</summary>
    public NDArray<T> Apply<T>(Func<Node, Node> f, NDArray<T> x, Strategy? strategy = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Rank != 2) throw new ShapeException($"{Name}: x must be a batch of points [N, D], got {x.Shape}.");
        return Compile(f, x.Shape, DTypes.Of<T>(), strategy).Run(x);
    }

    // ------------------------------------------------------------------ helpers

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
}

/// <summary>An operator traced, transformed and simplified once for one input shape; runs on new points and parameters without retracing.</summary>
public sealed class CompiledOperator
{
    internal CompiledOperator(DifferentialOperator op, Strategy strategy, Graph graph)
    {
        Operator = op;
        Strategy = strategy;
        Graph = graph;
        Executable = new Executable(graph);
    }

    /// <summary>The operator that was compiled.</summary>
    public DifferentialOperator Operator { get; }

    /// <summary>The strategy it was compiled with (never null: a null strategy was compiled as <see cref="Strategy.Collapsed"/>).</summary>
    public Strategy Strategy { get; }

    /// <summary>The finished graph of L f.</summary>
    public Graph Graph { get; }

    /// <summary>The compiled <see cref="Graph"/>.</summary>
    public Executable Executable { get; }

    /// <summary>L f at the points x, with the given parameter values (when f takes parameters).</summary>
    public NDArray<T> Run<T>(NDArray<T> x, params NDArray<T>[] parameters) where T : unmanaged, IFloatingPointIeee754<T> =>
        Executable.Run([x, .. parameters])[0];
}
