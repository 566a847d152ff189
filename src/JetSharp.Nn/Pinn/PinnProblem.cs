using JetSharp.Runtime;
using JetSharp.Simplify;
using JetSharp.Transforms;

namespace JetSharp.Nn.Pinn;

/// <summary>
/// A physics-informed problem: a model u(x; θ), terms with residuals on sampled points (PDE interior,
/// boundary and initial conditions) and their weights. The library builds from it, once:
/// <list type="bullet">
/// <item>the loss Σ_t w_t·mean(r_t²) and its gradient (<see cref="Evaluate"/>: an <see cref="IObjective"/> for Adam, L-BFGS and the <see cref="Trainer"/>);</item>
/// <item>the stacked residual vector R ∈ ℝᴹ, R = [√(w_t/N_t)·r_t]_t, so that loss = ‖R‖² (<see cref="Residuals"/>);</item>
/// <item>its Jacobian J = ∂R/∂θ ∈ ℝ^{M×P}, dense from one reverse pass over the per-sample expanded model
///   (<see cref="Linearize"/>, <see cref="ResidualJacobian.Dense"/>), and matrix-free J·v and Jᵀ·u
///   (<see cref="JacobianTimes"/>, <see cref="JacobianTransposeTimes"/>): what Gauss–Newton, Levenberg–Marquardt
///   and energy natural gradient (<see cref="Engd"/>, <see cref="LevenbergMarquardt"/>) need.</item>
/// </list>
/// The operators inside the residuals use <see cref="Strategy"/> (collapsed Taylor mode by default). Every graph
/// is compiled on first use, so a problem trained by Adam alone never builds its Jacobian. Stochastic
/// operators draw the same directions in all of them for a given draw (<see cref="Resample"/>).
/// </summary>
public class PinnProblem : IObjective, ILeastSquaresProblem
{
    private readonly Func<IReadOnlyList<Node>, Node, Node> _model;
    private readonly IReadOnlyList<PinnTerm> _terms;
    private readonly Dictionary<(int, bool), Graph> _modelGraphs = [];
    private readonly Dictionary<(DifferentialOperator, int, bool), Graph> _operatorGraphs = [];
    private readonly Dictionary<int, Executable> _predictors = [];
    private readonly NDArray<double>[] _points;
    private readonly NDArray<double>[] _parameters;
    private readonly int[] _offsets;
    private readonly long _seed;
    private long _seedOffset;
    private Graph? _residualGraph, _jacobianGraph;
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
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(terms);
        ArgumentNullException.ThrowIfNull(parameterShapes);
        if (terms.Count == 0) throw new ArgumentException("PinnProblem: no loss terms.", nameof(terms));
        if (parameterShapes.Count == 0) throw new ArgumentException("PinnProblem: the model has no parameters.", nameof(parameterShapes));
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension), $"PinnProblem: dimension must be positive, got {dimension}.");
        foreach (var t in terms)
        {
            if (t.Points <= 0) throw new ArgumentOutOfRangeException(nameof(terms), $"PinnProblem: term '{t.Name}' has {t.Points} points.");
            if (!(t.Weight >= 0) || double.IsInfinity(t.Weight)) throw new ArgumentOutOfRangeException(nameof(terms), $"PinnProblem: term '{t.Name}' has weight {t.Weight}; weights must be finite and ≥ 0.");
        }
        Architecture = architecture;
        ParameterShapes = [.. parameterShapes];
        ParameterCount = ParameterVector.Count(ParameterShapes);
        _model = model;
        Dimension = dimension;
        _terms = terms;
        Strategy = strategy ?? Strategy.Collapsed;
        _seed = seed;
        _offsets = new int[terms.Count + 1];
        for (int i = 0; i < terms.Count; i++) _offsets[i + 1] = _offsets[i] + terms[i].Points;
        ResidualCount = _offsets[^1];

        // Loss and gradient: reverse mode with respect to θ only (the points get no cotangents).
        var g = new Graph(DType.Float64);
        var (xs, ps) = Inputs(g, perSample: false);
        var rs = TermResiduals(xs, ps, perSample: false);
        var termLosses = rs.Select(r => Fn.Mean(r * r)).ToArray();
        Node? total = null;
        for (int i = 0; i < terms.Count; i++)
        {
            var weighted = terms[i].Weight == 1 ? termLosses[i] : termLosses[i] * terms[i].Weight;
            total = total is null ? weighted : total + weighted;
        }
        g.SetOutputs([total!, .. termLosses]);
        LossGraph = g;

        var gg = new Graph(DType.Float64);
        var primals = GraphWalk.MirrorInputs(g, gg);
        var (outs, cts) = Vjp.Apply(g, primals, [gg.Scalar(1), .. new Node?[terms.Count]], [.. primals.Select((_, i) => i >= terms.Count)]);
        gg.SetOutputs([.. outs, .. primals.Skip(terms.Count).Select((p, i) => cts[terms.Count + i] ?? Fn.Zeros(gg, p.Shape))]);
        GradientGraph = Simplifier.Simplify(gg);

        _points = [.. terms.Select(t => new NDArray<double>(new Shape(t.Points, dimension)))];
        _parameters = [.. ParameterShapes.Select(s => new NDArray<double>(s))];
        TermLosses = new double[terms.Count];
    }

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
    public IReadOnlyList<string> TermNames => [.. _terms.Select(t => t.Name)];

    /// <summary>Rows of term t in the stacked residual: [Offset(t), Offset(t) + N_t).</summary>
    public int Offset(int term) => _offsets[term];

    /// <summary>(points…, θ…) → (loss, term losses…).</summary>
    public Graph LossGraph { get; }

    /// <summary>(points…, θ…) → (loss, term losses…, ∂loss/∂θ…), simplified.</summary>
    public Graph GradientGraph { get; }

    /// <summary>(points…, θ…) → R [M], the stacked weighted residual (built on first use).</summary>
    public Graph ResidualGraph => _residualGraph ??= BuildResidualGraph();

    /// <summary>(points…, θ…) → (R [M], J [M, P]), from the per-sample expanded model (built on first use).</summary>
    public Graph JacobianGraph => _jacobianGraph ??= BuildJacobianGraph();

    /// <summary>mean(r²) of each term at the last <see cref="Evaluate"/> (unweighted).</summary>
    public double[] TermLosses { get; }

    /// <summary>The points of each term currently in use.</summary>
    public IReadOnlyList<NDArray<double>> Points => _points;

    /// <summary>Draws new points for every term; a pure function of (seed, step, term), so a resumed run redraws the same points.</summary>
    public void Resample(long step, double[] theta)
    {
        for (int i = 0; i < _terms.Count; i++)
        {
            long drawSeed = unchecked((long)SeededRandom.Word(_seed, step * 64 + i));
            var p = _terms[i].Sample(drawSeed);
            if (p.Shape != _points[i].Shape)
                throw new ShapeException($"PinnProblem: term '{_terms[i].Name}' sampled {p.Shape}; expected {_points[i].Shape}.");
            p.Data.CopyTo(_points[i].Data, 0);
        }
        // A large multiplier keeps the random streams of consecutive steps (and of several random nodes) apart.
        _seedOffset = unchecked(_seed * 7_919 + step * 1_000_003);
    }

    /// <summary>Sets the points of term <paramref name="term"/> directly (fixed collocation sets, tests).</summary>
    public void SetPoints(int term, NDArray<double> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        if ((uint)term >= (uint)_terms.Count) throw new ArgumentOutOfRangeException(nameof(term), $"PinnProblem.SetPoints: term {term} of {_terms.Count}.");
        if (points.Shape != _points[term].Shape)
            throw new ShapeException($"PinnProblem.SetPoints: term '{_terms[term].Name}' takes points {_points[term].Shape}, got {points.Shape}.");
        points.Data.CopyTo(_points[term].Data, 0);
    }

    /// <summary>The loss Σ_t w_t·mean(r_t²) at θ; writes ∂loss/∂θ into <paramref name="gradient"/>.</summary>
    public double Evaluate(double[] theta, double[] gradient)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        if (gradient.Length != ParameterCount) throw new ShapeException($"PinnProblem.Evaluate: a gradient of {gradient.Length} for {ParameterCount} parameters.");
        var outs = Run(ref _gradient, GradientGraph, theta);
        for (int i = 0; i < _terms.Count; i++) TermLosses[i] = outs[1 + i].Data[0];
        ParameterVector.Gather(outs[(1 + _terms.Count)..], gradient);
        return outs[0].Data[0];
    }

    /// <summary>The stacked residual R(θ) into <paramref name="residuals"/> (length M); returns the loss ‖R‖².</summary>
    public double Residuals(double[] theta, double[] residuals)
    {
        CheckLength(residuals, ResidualCount, "residuals");
        var r = Run(ref _residual, ResidualGraph, theta)[0];
        r.Data.CopyTo(residuals, 0);
        return SquaredNorm(residuals);
    }

    /// <summary>R(θ) into <paramref name="residuals"/> and J(θ) = ∂R/∂θ, [M, P] row-major (a new array); returns ‖R‖².</summary>
    public NDArray<double> Linearize(double[] theta, double[] residuals, out double loss)
    {
        CheckLength(residuals, ResidualCount, "residuals");
        var outs = Run(ref _jacobian, JacobianGraph, theta);
        outs[0].Data.CopyTo(residuals, 0);
        loss = SquaredNorm(residuals);
        return outs[1];
    }

    /// <summary>J(θ)·v (forward mode, one pass) into <paramref name="result"/> (length M).</summary>
    public void JacobianTimes(double[] theta, double[] v, double[] result)
    {
        CheckLength(v, ParameterCount, "v");
        CheckLength(result, ResidualCount, "result");
        if (_jv is null)
        {
            var r = ResidualGraph;
            _jv = new Executable(Simplifier.Simplify(ResidualJacobian.TimesVector(r, [.. r.Inputs.Select((_, i) => i >= _terms.Count)])));
        }
        ParameterVector.CopyTo(theta, _parameters);
        var outs = _jv.Run([.. _points, .. _parameters, .. ParameterVector.Unflatten(v, ParameterShapes)], _seedOffset);
        outs[1].Data.CopyTo(result, 0);
    }

    /// <summary>J(θ)ᵀ·u (reverse mode, one pass) into <paramref name="result"/> (length P).</summary>
    public void JacobianTransposeTimes(double[] theta, double[] u, double[] result)
    {
        CheckLength(u, ResidualCount, "u");
        CheckLength(result, ParameterCount, "result");
        if (_jtu is null)
        {
            var r = ResidualGraph;
            _jtu = new Executable(Simplifier.Simplify(ResidualJacobian.TransposeTimesVector(r, [.. r.Inputs.Select((_, i) => i >= _terms.Count)])));
        }
        ParameterVector.CopyTo(theta, _parameters);
        var outs = _jtu.Run([.. _points, .. _parameters, NDArray.FromArray(u, new Shape(ResidualCount))], _seedOffset);
        ParameterVector.Gather(outs[1..], result);
    }

    /// <summary>The model u(x; θ) at the points x [N, D] (compiled once per N).</summary>
    public NDArray<double> Predict(double[] theta, NDArray<double> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 2 || x.Shape[1] != Dimension)
            throw new ShapeException($"PinnProblem.Predict: points must be [N, {Dimension}], got {x.Shape}.");
        if (!_predictors.TryGetValue(x.Shape[0], out var exe))
            _predictors[x.Shape[0]] = exe = new Executable(ModelGraph(x.Shape[0], perSample: false));
        return exe.Run([x, .. ParameterVector.Unflatten(theta, ParameterShapes)])[0];
    }

    // ------------------------------------------------------------------ graphs

    private NDArray<double>[] Run(ref Executable? exe, Graph graph, double[] theta)
    {
        ArgumentNullException.ThrowIfNull(theta);
        exe ??= new Executable(graph);
        ParameterVector.CopyTo(theta, _parameters);
        return exe.Run([.. _points, .. _parameters], _seedOffset);
    }

    private (Node[] Points, Node[] Parameters) Inputs(Graph g, bool perSample) =>
        ([.. _terms.Select(t => g.Input(new Shape(t.Points, Dimension), t.Name))],
         [.. ParameterShapes.Select((s, i) => g.Input(perSample ? new Shape([ResidualCount, .. s]) : s, $"θ{i}"))]);

    /// <summary>Each term's residual [N_t, 1]; with <paramref name="perSample"/>, term t reads rows Offset(t).. of every Θ.</summary>
    private Node[] TermResiduals(Node[] xs, Node[] ps, bool perSample)
    {
        var rs = new Node[_terms.Count];
        for (int i = 0; i < _terms.Count; i++)
        {
            var own = perSample ? ps.Select(p => Fn.Slice(p, 0, _offsets[i], _terms[i].Points)).ToArray() : ps;
            var r = _terms[i].Residual(new PinnContext(xs[i], own, perSample, ModelGraph, OperatorGraph));
            if (r.Shape != new Shape(_terms[i].Points, 1))
                throw new ShapeException($"PinnProblem: the residual of term '{_terms[i].Name}' has shape {r.Shape}; expected [{_terms[i].Points}, 1].");
            rs[i] = r;
        }
        return rs;
    }

    /// <summary>R = [√(w_t/N_t)·r_t]_t as one vector [M].</summary>
    private Node Stack(Node[] rs) =>
        Fn.Concat(0, [.. rs.Select((r, i) => Fn.Reshape(r, _terms[i].Points) * Math.Sqrt(_terms[i].Weight / _terms[i].Points))]);

    private Graph BuildResidualGraph()
    {
        var g = new Graph(DType.Float64);
        var (xs, ps) = Inputs(g, perSample: false);
        g.SetOutputs(Stack(TermResiduals(xs, ps, perSample: false)));
        return Simplifier.Simplify(g);
    }

    private Graph BuildJacobianGraph()
    {
        var g = new Graph(DType.Float64);
        var (xs, ps) = Inputs(g, perSample: true);
        g.SetOutputs(Stack(TermResiduals(xs, ps, perSample: true)));
        var dense = ResidualJacobian.Dense(g, [.. g.Inputs.Select((_, i) => i >= _terms.Count)]);
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
                g = Tracer.Function(xs => _model(xs[1..], xs[0]), [new Shape(n, Dimension), .. ParameterShapes]);
                if (g.Outputs.Count != 1 || g.Outputs[0].Shape != new Shape(n, 1))
                    throw new ShapeException($"PinnProblem: the model must map [N, {Dimension}] to [N, 1]; it returns {string.Join(", ", g.Outputs.Select(o => o.Shape))} for N = {n}.");
            }
            _modelGraphs[(n, perSample)] = g;
        }
        return g;
    }

    private Graph OperatorGraph(DifferentialOperator op, int n, bool perSample)
    {
        if (!_operatorGraphs.TryGetValue((op, n, perSample), out var g))
            _operatorGraphs[(op, n, perSample)] = g = op.Build(ModelGraph(n, perSample), Strategy);
        return g;
    }

    private static void CheckLength(double[] a, int n, string name)
    {
        ArgumentNullException.ThrowIfNull(a, name);
        if (a.Length != n) throw new ShapeException($"PinnProblem: '{name}' has length {a.Length}; expected {n}.");
    }

    internal static double SquaredNorm(ReadOnlySpan<double> r)
    {
        double s = 0;
        foreach (var v in r) s += v * v;
        return s;
    }
}
