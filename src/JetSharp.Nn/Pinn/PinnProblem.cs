using JetSharp.Runtime;
using JetSharp.Simplify;
using JetSharp.Transforms;

namespace JetSharp.Nn.Pinn;

/// <summary>
/// A physics-informed problem: a model u(x; θ), terms with residuals on sampled points (PDE interior,
/// boundary and initial conditions) and their weights. The library builds from it, once:
/// <list type="bullet">
/// <item>the loss Σ_t w_t·mean(r_t²) and its gradient (<see cref="PinnProblem{T}.Evaluate"/>: an <see cref="IObjective{T}"/>
///   for Adam, L-BFGS and the <see cref="Trainer{T}"/>, in float32 or float64);</item>
/// <item>the stacked residual vector R ∈ ℝᴹ, R = [√(w_t/N_t)·r_t]_t, so that loss = ‖R‖² (<see cref="PinnProblem{T}.Residuals"/>);</item>
/// <item>its Jacobian J = ∂R/∂θ ∈ ℝ^{M×P}, dense from one reverse pass over the per-sample expanded model
///   (<see cref="PinnProblem{T}.Linearize"/>, <see cref="ResidualJacobian.Dense"/>), and matrix-free J·v and Jᵀ·u
///   (<see cref="PinnProblem{T}.JacobianTimes"/>, <see cref="PinnProblem{T}.JacobianTransposeTimes"/>): what Gauss–Newton,
///   Levenberg–Marquardt and energy natural gradient (<see cref="Engd"/>, <see cref="LevenbergMarquardt"/>) need.
///   This second-order machinery works in float64 only: a <see cref="PinnProblem{T}"/> of <c>float</c> refuses it
///   with a <see cref="NotSupportedException"/>.</item>
/// </list>
/// The graphs run in <see cref="DType"/>, the training precision of the <see cref="PinnProblem{T}"/> this is. The
/// operators inside the residuals use <see cref="Strategy"/> (collapsed Taylor mode by default). The residual and
/// Jacobian graphs are compiled on first use, so a problem trained by Adam alone never builds its Jacobian. Stochastic
/// operators draw the same directions in all of them for a given draw (<see cref="PinnProblem{T}.Resample"/>).
/// </summary>
public abstract class PinnProblem
{
    private readonly Func<IReadOnlyList<Node>, Node, Node> _model;
    private readonly Dictionary<(int, bool), Graph> _modelGraphs = [];
    private readonly Dictionary<(DifferentialOperator, int, bool), Graph> _operatorGraphs = [];
    private readonly Dictionary<int, Executable> _predictors = [];
    private readonly int[] _offsets;
    private Graph? _residualGraph, _jacobianGraph;

    /// <summary>The loss terms, in order.</summary>
    private protected readonly IReadOnlyList<PinnTerm> Terms;

    /// <summary>Mixed into every draw of points and directions.</summary>
    private protected readonly long Seed;

    private protected PinnProblem(DType dtype, string architecture, IReadOnlyList<Shape> parameterShapes, Func<IReadOnlyList<Node>, Node, Node> model, int dimension,
        IReadOnlyList<PinnTerm> terms, Strategy? strategy, long seed)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(terms);
        ArgumentNullException.ThrowIfNull(parameterShapes);
        if (terms.Count == 0) throw new ArgumentException("PinnProblem: no loss terms.", nameof(terms));
        if (parameterShapes.Count == 0) throw new ArgumentException("PinnProblem: the model has no parameters.", nameof(parameterShapes));
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension), $"PinnProblem: dimension must be positive, got {dimension}.");
        for (int i = 0; i < terms.Count; i++)
        {
            var t = terms[i] ?? throw new ArgumentNullException(nameof(terms), $"PinnProblem: term {i} is null.");
            if (t.Name is null || t.Sample is null || t.Residual is null)
                throw new ArgumentNullException(nameof(terms), $"PinnProblem: term {i} has no {(t.Name is null ? "Name" : t.Sample is null ? "Sample" : "Residual")}.");
            if (t.Points <= 0) throw new ArgumentOutOfRangeException(nameof(terms), $"PinnProblem: term '{t.Name}' has {t.Points} points.");
            if (!(t.Weight >= 0) || double.IsInfinity(t.Weight)) throw new ArgumentOutOfRangeException(nameof(terms), $"PinnProblem: term '{t.Name}' has weight {t.Weight}; weights must be finite and ≥ 0.");
        }
        DType = dtype;
        Architecture = architecture;
        ParameterShapes = [.. parameterShapes];
        ParameterCount = ParameterVector.Count(ParameterShapes);
        _model = model;
        Dimension = dimension;
        Terms = [.. terms];
        Strategy = strategy ?? Strategy.Collapsed;
        Seed = seed;
        _offsets = new int[terms.Count + 1];
        for (int i = 0; i < terms.Count; i++) _offsets[i + 1] = checked(_offsets[i] + terms[i].Points);
        ResidualCount = _offsets[^1];

        // Loss and gradient: reverse mode with respect to θ only (the points get no cotangents).
        var g = new Graph(dtype);
        var (xs, ps) = Inputs(g, perSample: false);
        var rs = TermResiduals(xs, ps, perSample: false);
        var termLosses = rs.Select(r => Fn.Mean(r * r)).ToArray();
        Node? total = null;
        for (int i = 0; i < Terms.Count; i++)
        {
            var weighted = Terms[i].Weight == 1 ? termLosses[i] : termLosses[i] * Terms[i].Weight;
            total = total is null ? weighted : total + weighted;
        }
        g.SetOutputs([total!, .. termLosses]);
        LossGraph = g;

        var gg = new Graph(dtype);
        var primals = GraphWalk.MirrorInputs(g, gg);
        var (outs, cts) = Vjp.Apply(g, primals, [gg.Scalar(1), .. new Node?[Terms.Count]], [.. primals.Select((_, i) => i >= Terms.Count)]);
        gg.SetOutputs([.. outs, .. primals.Skip(Terms.Count).Select((p, i) => cts[Terms.Count + i] ?? Fn.Zeros(gg, p.Shape))]);
        GradientGraph = Simplifier.Simplify(gg);
        TermLosses = new double[Terms.Count];
    }

    /// <summary>The precision the graphs run in (float32 or float64).</summary>
    public DType DType { get; }

    /// <summary>Describes the model (checkpoints only load into the same architecture).</summary>
    public string Architecture { get; }

    /// <summary>Shapes of the parameter tensors, in the order of the flat vector θ.</summary>
    public IReadOnlyList<Shape> ParameterShapes { get; }

    /// <summary>P, the length of θ.</summary>
    public int ParameterCount { get; }

    /// <summary>M = Σ_t N_t, the length of the stacked residual vector.</summary>
    public int ResidualCount { get; }

    /// <summary>D, the number of coordinates of a point.</summary>
    public int Dimension { get; }

    /// <summary>How the differential operators are computed (never null).</summary>
    public Strategy Strategy { get; }

    /// <summary>Names of the terms, in order.</summary>
    public IReadOnlyList<string> TermNames => [.. Terms.Select(t => t.Name)];

    /// <summary>The number of points of each term.</summary>
    public IReadOnlyList<int> PointCounts => [.. Terms.Select(t => t.Points)];

    /// <summary>Rows of term t in the stacked residual: [Offset(t), Offset(t) + N_t).</summary>
    public int Offset(int term)
    {
        if ((uint)term >= (uint)Terms.Count) throw new ArgumentOutOfRangeException(nameof(term), $"PinnProblem.Offset: term {term} of {Terms.Count}.");
        return _offsets[term];
    }

    /// <summary>(points…, θ…) → (loss, term losses…).</summary>
    public Graph LossGraph { get; }

    /// <summary>(points…, θ…) → (loss, term losses…, ∂loss/∂θ…), simplified.</summary>
    public Graph GradientGraph { get; }

    /// <summary>(points…, θ…) → R [M], the stacked weighted residual (built on first use).</summary>
    public Graph ResidualGraph => _residualGraph ??= BuildResidualGraph();

    /// <summary>(points…, θ…) → (R [M], J [M, P]), from the per-sample expanded model (built on first use).</summary>
    public Graph JacobianGraph => _jacobianGraph ??= BuildJacobianGraph();

    /// <summary>mean(r²) of each term at the last evaluation of the loss (unweighted).</summary>
    public double[] TermLosses { get; }

    /// <summary>
    /// The model u(x; θ) at the points x [N, D] (compiled once per N), computed in <see cref="DType"/>: for a float32
    /// problem θ and x are rounded to float32 and u is widened back (exact), so the result is what the float32 model computes.
    /// </summary>
    public NDArray<double> Predict(double[] theta, NDArray<double> x)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 2 || x.Shape[1] != Dimension)
            throw new ShapeException($"PinnProblem.Predict: points must be [N, {Dimension}], got {x.Shape}.");
        if (theta.Length != ParameterCount)
            throw new ShapeException($"PinnProblem.Predict: θ has {theta.Length} values; the model has {ParameterCount} parameters.");
        if (!_predictors.TryGetValue(x.Shape[0], out var exe))
            _predictors[x.Shape[0]] = exe = new Executable(ModelGraph(x.Shape[0], perSample: false));
        if (DType == DType.Float64)
            return exe.Run([x, .. ParameterVector.Unflatten<double>(theta, ParameterShapes)])[0];
        var theta32 = Array.ConvertAll(theta, v => (float)v);
        return exe.Run([x.To<float>(), .. ParameterVector.Unflatten<float>(theta32, ParameterShapes)])[0].To<double>();
    }

    // ------------------------------------------------------------------ graphs

    private (Node[] Points, Node[] Parameters) Inputs(Graph g, bool perSample) =>
        ([.. Terms.Select(t => g.Input(new Shape(t.Points, Dimension), t.Name))],
         [.. ParameterShapes.Select((s, i) => g.Input(perSample ? new Shape([ResidualCount, .. s]) : s, $"θ{i}"))]);

    /// <summary>Each term's residual [N_t, 1]; with <paramref name="perSample"/>, term t reads rows Offset(t).. of every Θ.</summary>
    private Node[] TermResiduals(Node[] xs, Node[] ps, bool perSample)
    {
        var rs = new Node[Terms.Count];
        for (int i = 0; i < Terms.Count; i++)
        {
            var own = perSample ? ps.Select(p => Fn.Slice(p, 0, _offsets[i], Terms[i].Points)).ToArray() : ps;
            var r = Terms[i].Residual(new PinnContext(xs[i], own, perSample, ModelGraph, OperatorGraph))
                ?? throw new ArgumentException($"PinnProblem: the residual of term '{Terms[i].Name}' returned null.", "terms");
            if (r.Shape != new Shape(Terms[i].Points, 1))
                throw new ShapeException($"PinnProblem: the residual of term '{Terms[i].Name}' has shape {r.Shape}; expected [{Terms[i].Points}, 1].");
            rs[i] = r;
        }
        return rs;
    }

    /// <summary>R = [√(w_t/N_t)·r_t]_t as one vector [M].</summary>
    private Node Stack(Node[] rs) =>
        Fn.Concat(0, [.. rs.Select((r, i) => Fn.Reshape(r, Terms[i].Points) * Math.Sqrt(Terms[i].Weight / Terms[i].Points))]);

    private Graph BuildResidualGraph()
    {
        var g = new Graph(DType);
        var (xs, ps) = Inputs(g, perSample: false);
        g.SetOutputs(Stack(TermResiduals(xs, ps, perSample: false)));
        return Simplifier.Simplify(g);
    }

    private Graph BuildJacobianGraph()
    {
        var g = new Graph(DType);
        var (xs, ps) = Inputs(g, perSample: true);
        g.SetOutputs(Stack(TermResiduals(xs, ps, perSample: true)));
        var dense = ResidualJacobian.Dense(g, [.. g.Inputs.Select((_, i) => i >= Terms.Count)]);
        return PerSampleJacobian.Simplify(dense);
    }

    private Graph ModelGraph(int n, bool perSample)
    {
        if (!_modelGraphs.TryGetValue((n, perSample), out var g))
        {
            if (perSample)
            {
                var plain = ModelGraph(n, perSample: false);
                g = PerSampleParameters.Expand(plain, [false, .. ParameterShapes.Select(_ => true)]);
            }
            else
            {
                g = Tracer.Function(xs => _model(xs[1..], xs[0]), [new Shape(n, Dimension), .. ParameterShapes], DType);
                if (g.Outputs.Count != 1 || g.Outputs[0].Shape != new Shape(n, 1))
                    throw new ShapeException($"PinnProblem: the model must map [N, {Dimension}] to [N, 1]; it returns {string.Join(", ", g.Outputs.Select(o => o.Shape))} for N = {n}.");
            }
            _modelGraphs[(n, perSample)] = g;
        }
        return g;
    }

    private Graph OperatorGraph(DifferentialOperator op, int n, bool perSample)
    {
        ArgumentNullException.ThrowIfNull(op);
        if (!_operatorGraphs.TryGetValue((op, n, perSample), out var g))
            _operatorGraphs[(op, n, perSample)] = g = op.Build(ModelGraph(n, perSample), Strategy);
        return g;
    }

    internal static double SquaredNorm(ReadOnlySpan<double> r)
    {
        double s = 0;
        foreach (var v in r) s += v * v;
        return s;
    }
}

/// <summary>
/// A <see cref="PinnProblem"/> that trains in <typeparamref name="T"/>: <c>float</c> runs the loss and gradient graphs,
/// the parameters, the gradient and (through <see cref="Trainer{T}"/>) the optimizer state and checkpoints in float32;
/// <c>double</c> in float64. Points are drawn in float64 (<see cref="PinnTerm.Sample"/>) and rounded for float32.
/// The least-squares side (<see cref="ILeastSquaresProblem"/>: residual vector, Jacobian, J·v, Jᵀ·u, used by
/// <see cref="Engd"/> and <see cref="LevenbergMarquardt"/>) is float64 only: on a <c>PinnProblem&lt;float&gt;</c> those
/// methods throw a <see cref="NotSupportedException"/> naming the precision.
/// </summary>
public class PinnProblem<T> : PinnProblem, IObjective<T>, ILeastSquaresProblem where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly NDArray<T>[] _points;
    private readonly NDArray<T>[] _parameters;
    private long _seedOffset;
    private Executable? _gradient, _residual, _jacobian, _jv, _jtu;

    /// <param name="architecture">Describes the model for checkpoints.</param>
    /// <param name="parameterShapes">Shapes of θ.</param>
    /// <param name="model">u(θ, x): [N, D] → [N, 1] (an MLP, possibly times a factor that enforces boundary values).
    /// For the Jacobian, θ must enter through elementwise primitives or as the right operand of a matmul (see <see cref="PerSampleParameters"/>).</param>
    /// <param name="dimension">D, the number of coordinates of a point.</param>
    /// <param name="terms">The loss terms.</param>
    /// <param name="strategy">How the differential operators are computed; null means <see cref="Strategy.Collapsed"/>.</param>
    /// <param name="seed">Mixed into every draw of points and directions.</param>
    public PinnProblem(string architecture, IReadOnlyList<Shape> parameterShapes, Func<IReadOnlyList<Node>, Node, Node> model, int dimension,
        IReadOnlyList<PinnTerm> terms, Strategy? strategy = null, long seed = 0)
        : base(DTypes.Of<T>(), architecture, parameterShapes, model, dimension, terms, strategy, seed)
    {
        _points = [.. Terms.Select(t => new NDArray<T>(new Shape(t.Points, dimension)))];
        _parameters = [.. ParameterShapes.Select(s => new NDArray<T>(s))];
    }

    /// <summary>The points of each term currently in use.</summary>
    public IReadOnlyList<NDArray<T>> Points => _points;

    /// <summary>Draws new points for every term; a pure function of (seed, step, term), so a resumed run redraws the same points.</summary>
    public void Resample(long step, T[] theta)
    {
        for (int i = 0; i < Terms.Count; i++)
        {
            long drawSeed = unchecked((long)SeededRandom.Word(Seed, step * 64 + i));
            var p = Terms[i].Sample(drawSeed)
                ?? throw new InvalidOperationException($"PinnProblem.Resample: term '{Terms[i].Name}' sampled null points.");
            if (p.Shape != _points[i].Shape)
                throw new ShapeException($"PinnProblem: term '{Terms[i].Name}' sampled {p.Shape}; expected {_points[i].Shape}.");
            Store(p, _points[i]);
        }
        // A large multiplier keeps the random streams of consecutive steps (and of several random nodes) apart.
        _seedOffset = unchecked(Seed * 7_919 + step * 1_000_003);
    }

    /// <summary>Sets the points of term <paramref name="term"/> directly (fixed collocation sets, tests); rounded for float32.</summary>
    public void SetPoints(int term, NDArray<double> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        if ((uint)term >= (uint)Terms.Count) throw new ArgumentOutOfRangeException(nameof(term), $"PinnProblem.SetPoints: term {term} of {Terms.Count}.");
        if (points.Shape != _points[term].Shape)
            throw new ShapeException($"PinnProblem.SetPoints: term '{Terms[term].Name}' takes points {_points[term].Shape}, got {points.Shape}.");
        Store(points, _points[term]);
    }

    private static void Store(NDArray<double> from, NDArray<T> to)
    {
        for (int k = 0; k < from.Size; k++) to.Data[k] = T.CreateTruncating(from.Data[k]);
    }

    /// <summary>The loss Σ_t w_t·mean(r_t²) at θ; writes ∂loss/∂θ into <paramref name="gradient"/>.</summary>
    public T Evaluate(T[] theta, T[] gradient)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(gradient);
        if (theta.Length != ParameterCount || gradient.Length != ParameterCount)
            throw new ShapeException($"PinnProblem.Evaluate: θ has {theta.Length} values and the gradient {gradient.Length}; the model has {ParameterCount} parameters.");
        _gradient ??= new Executable(GradientGraph);
        ParameterVector.CopyTo<T>(theta, _parameters);
        var outs = _gradient.Run<T>([.. _points, .. _parameters], _seedOffset);
        for (int i = 0; i < Terms.Count; i++) TermLosses[i] = double.CreateTruncating(outs[1 + i].Data[0]);
        ParameterVector.Gather<T>(outs[(1 + Terms.Count)..], gradient);
        return outs[0].Data[0];
    }

    /// <summary>The stacked residual R(θ) into <paramref name="residuals"/> (length M); returns the loss ‖R‖². Float64 only.</summary>
    public double Residuals(double[] theta, double[] residuals)
    {
        var points = Float64Points(nameof(Residuals));
        CheckLength(theta, ParameterCount, nameof(theta), nameof(Residuals));
        CheckLength(residuals, ResidualCount, nameof(residuals), nameof(Residuals));
        var r = Run(ref _residual, ResidualGraph, points, theta)[0];
        r.Data.CopyTo(residuals, 0);
        return SquaredNorm(residuals);
    }

    /// <summary>R(θ) into <paramref name="residuals"/> and J(θ) = ∂R/∂θ, [M, P] row-major (a new array); returns ‖R‖². Float64 only.</summary>
    public NDArray<double> Linearize(double[] theta, double[] residuals, out double loss)
    {
        var points = Float64Points(nameof(Linearize));
        CheckLength(theta, ParameterCount, nameof(theta), nameof(Linearize));
        CheckLength(residuals, ResidualCount, nameof(residuals), nameof(Linearize));
        var outs = Run(ref _jacobian, JacobianGraph, points, theta);
        outs[0].Data.CopyTo(residuals, 0);
        loss = SquaredNorm(residuals);
        return outs[1];
    }

    /// <summary>J(θ)·v (forward mode, one pass) into <paramref name="result"/> (length M). Float64 only.</summary>
    public void JacobianTimes(double[] theta, double[] v, double[] result)
    {
        var points = Float64Points(nameof(JacobianTimes));
        CheckLength(theta, ParameterCount, nameof(theta), nameof(JacobianTimes));
        CheckLength(v, ParameterCount, nameof(v), nameof(JacobianTimes));
        CheckLength(result, ResidualCount, nameof(result), nameof(JacobianTimes));
        if (_jv is null)
        {
            var r = ResidualGraph;
            _jv = new Executable(Simplifier.Simplify(ResidualJacobian.TimesVector(r, [.. r.Inputs.Select((_, i) => i >= Terms.Count)])));
        }
        var outs = _jv.Run<double>([.. points, .. ParameterVector.Unflatten<double>(theta, ParameterShapes), .. ParameterVector.Unflatten<double>(v, ParameterShapes)], _seedOffset);
        outs[1].Data.CopyTo(result, 0);
    }

    /// <summary>J(θ)ᵀ·u (reverse mode, one pass) into <paramref name="result"/> (length P). Float64 only.</summary>
    public void JacobianTransposeTimes(double[] theta, double[] u, double[] result)
    {
        var points = Float64Points(nameof(JacobianTransposeTimes));
        CheckLength(theta, ParameterCount, nameof(theta), nameof(JacobianTransposeTimes));
        CheckLength(u, ResidualCount, nameof(u), nameof(JacobianTransposeTimes));
        CheckLength(result, ParameterCount, nameof(result), nameof(JacobianTransposeTimes));
        if (_jtu is null)
        {
            var r = ResidualGraph;
            _jtu = new Executable(Simplifier.Simplify(ResidualJacobian.TransposeTimesVector(r, [.. r.Inputs.Select((_, i) => i >= Terms.Count)])));
        }
        var outs = _jtu.Run<double>([.. points, .. ParameterVector.Unflatten<double>(theta, ParameterShapes), NDArray.FromArray(u, new Shape(ResidualCount))], _seedOffset);
        ParameterVector.Gather<double>(outs[1..], result);
    }

    /// <summary>The current points as float64 arrays, or a <see cref="NotSupportedException"/> naming the precision.</summary>
    private NDArray<double>[] Float64Points(string operation) =>
        _points is NDArray<double>[] points
            ? points
            : throw new NotSupportedException($"PinnProblem<{(typeof(T) == typeof(float) ? "float" : typeof(T).Name)}>.{operation}: the residual Jacobian and the least-squares methods (ENGD, SPRING, Levenberg–Marquardt) run in float64 only; this problem trains in {DType.Name()}. Build a PinnProblem<double>.");

    private NDArray<double>[] Run(ref Executable? exe, Graph graph, NDArray<double>[] points, double[] theta)
    {
        exe ??= new Executable(graph);
        return exe.Run<double>([.. points, .. ParameterVector.Unflatten<double>(theta, ParameterShapes)], _seedOffset);
    }

    private static void CheckLength(double[] a, int n, string name, string operation)
    {
        ArgumentNullException.ThrowIfNull(a, name);
        if (a.Length != n) throw new ShapeException($"PinnProblem.{operation}: '{name}' has length {a.Length}; expected {n}.");
    }
}
