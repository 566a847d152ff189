using JetSharp.Nn;
using JetSharp.Runtime;
using JetSharp.Simplify;
using JetSharp.Transforms;

namespace JetSharp.Examples;

/// <summary>
/// One term of a physics-informed loss: a set of <see cref="Points"/> points drawn by
/// <see cref="Sample"/> (given a seed, in float64; a float32 objective rounds them to float32) and a residual r(x)
/// of shape [N, 1] built from the network's value and differential operators at those points. The term
/// contributes Weight · mean(r²).
/// </summary>
public sealed class PinnTerm
{
    public required string Name { get; init; }
    public required int Points { get; init; }
    public required Func<long, NDArray<double>> Sample { get; init; }
    public required Func<PinnContext, Node> Residual { get; init; }
    public double Weight { get; init; } = 1;
}

/// <summary>What a residual is written with: the points, the network's value there and operators of it.</summary>
public sealed class PinnContext
{
    private readonly PinnObjective _owner;
    private readonly Node[] _parameters;
    private Node? _u;

    internal PinnContext(PinnObjective owner, Node x, Node[] parameters)
    {
        _owner = owner;
        X = x;
        _parameters = parameters;
    }

    /// <summary>The points, [N, D].</summary>
    public Node X { get; }

    /// <summary>Column j of the points, [N, 1].</summary>
    public Node Coordinate(int j) => Fn.Slice(X, 1, j, 1);

    /// <summary>The network's value u(x), [N, 1].</summary>
    public Node U => _u ??= Inline.Apply(_owner.ModelGraph(X.Shape[0]), [X, .. _parameters])[0];

    /// <summary>L u at the points, built with the objective's strategy (collapsed by default), [N, 1].</summary>
    public Node Apply(DifferentialOperator op) =>
        Inline.Apply(_owner.OperatorGraph(op, X.Shape[0]), [X, .. _parameters])[0];
}

/// <summary>
/// A physics-informed loss Σ_t w_t·mean(r_t(x)²) over terms (PDE residual, boundary and initial
/// conditions) of a model u(x; θ), compiled once into one graph with its gradient:
/// inputs (points of each term, θ…) → (loss, loss of each term, ∂loss/∂θ…). The operators inside the
/// residuals are built with <see cref="Strategy"/> (collapsed Taylor mode by default), inlined,
/// differentiated by reverse mode with respect to θ only, and the whole graph is simplified.
/// Stochastic operators draw fresh directions every step through <see cref="Executable.SeedOffset"/>.
/// The graphs run in <see cref="DType"/>, the training precision of the <see cref="PinnObjective{T}"/> this is.
/// </summary>
public abstract class PinnObjective
{
    private readonly Func<IReadOnlyList<Node>, Node, Node> _model;
    private readonly Dictionary<int, Graph> _modelGraphs = [];
    private readonly Dictionary<(DifferentialOperator, int), Graph> _operatorGraphs = [];
    private readonly Dictionary<int, Executable> _predictors = [];
    private protected readonly IReadOnlyList<PinnTerm> Terms;
    private protected readonly long Seed;

    private protected PinnObjective(DType dtype, string architecture, IReadOnlyList<Shape> parameterShapes, Func<IReadOnlyList<Node>, Node, Node> model, int dimension,
        IReadOnlyList<PinnTerm> terms, Strategy? strategy, long seed)
    {
        ArgumentNullException.ThrowIfNull(terms);
        ArgumentNullException.ThrowIfNull(model);
        if (terms.Count == 0) throw new ArgumentException("PinnObjective: no loss terms.");
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension), $"PinnObjective: dimension must be positive, got {dimension}.");
        foreach (var t in terms)
            if (t.Points <= 0) throw new ArgumentOutOfRangeException(nameof(terms), $"PinnObjective: term '{t.Name}' has {t.Points} points.");
        DType = dtype;
        Architecture = architecture;
        ParameterShapes = [.. parameterShapes];
        _model = model;
        Dimension = dimension;
        Terms = terms;
        Strategy = strategy ?? Strategy.Collapsed;
        Seed = seed;

        var g = new Graph(dtype);
        var xs = terms.Select(t => g.Input(new Shape(t.Points, dimension), t.Name)).ToArray();
        var ps = ParameterShapes.Select((s, i) => g.Input(s, $"θ{i}")).ToArray();
        var termLosses = new Node[terms.Count];
        Node? total = null;
        for (int i = 0; i < terms.Count; i++)
        {
            var r = terms[i].Residual(new PinnContext(this, xs[i], ps));
            if (r.Shape != new Shape(terms[i].Points, 1))
                throw new ShapeException($"PinnObjective: the residual of term '{terms[i].Name}' has shape {r.Shape}; expected [{terms[i].Points}, 1].");
            termLosses[i] = Fn.Mean(r * r);
            var weighted = terms[i].Weight == 1 ? termLosses[i] : termLosses[i] * terms[i].Weight;
            total = total is null ? weighted : total + weighted;
        }
        g.SetOutputs([total!, .. termLosses]);
        LossGraph = g;

        // Reverse mode with respect to θ only: the points get no cotangents.
        var gg = new Graph(dtype);
        var primals = g.Inputs.Select((i, k) => gg.Input(i.Shape, k < terms.Count ? terms[k].Name : $"θ{k - terms.Count}")).ToArray();
        var seedCt = gg.Scalar(1);
        var (outs, cts) = Vjp.Apply(g, primals, [seedCt, .. new Node?[terms.Count]], [.. primals.Select((_, i) => i >= terms.Count)]);
        gg.SetOutputs([.. outs, .. primals.Skip(terms.Count).Select((p, i) => cts[terms.Count + i] ?? Fn.Zeros(gg, p.Shape))]);
        GradientGraph = Simplifier.Simplify(gg);
        Executable = new Executable(GradientGraph);
        TermLosses = new double[terms.Count];
    }

    /// <summary>The precision the graphs run in (float32 or float64).</summary>
    public DType DType { get; }
    public string Architecture { get; }
    public IReadOnlyList<Shape> ParameterShapes { get; }
    public int Dimension { get; }
    /// <summary>How the differential operators are computed (never null).</summary>
    public Strategy Strategy { get; }
    public IReadOnlyList<string> TermNames => [.. Terms.Select(t => t.Name)];

    /// <summary>(points…, θ…) → (loss, term losses…).</summary>
    public Graph LossGraph { get; }

    /// <summary>(points…, θ…) → (loss, term losses…, ∂loss/∂θ…), simplified.</summary>
    public Graph GradientGraph { get; }

    public Executable Executable { get; }

    /// <summary>mean(r²) of each term at the last evaluation (unweighted).</summary>
    public double[] TermLosses { get; }

    /// <summary>The number of points of each term.</summary>
    public IReadOnlyList<int> PointCounts => [.. Terms.Select(t => t.Points)];

    /// <summary>
    /// The model u(x; θ) at the points x [N, D] (compiled once per N), computed in <see cref="DType"/>: for a float32
    /// objective θ and x are rounded to float32 and u is widened back (exact), so the result is what the float32 model computes.
    /// </summary>
    public NDArray<double> Predict(double[] theta, NDArray<double> x)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 2 || x.Shape[1] != Dimension)
            throw new ShapeException($"PinnObjective.Predict: points must be [N, {Dimension}], got {x.Shape}.");
        if (!_predictors.TryGetValue(x.Shape[0], out var exe))
            _predictors[x.Shape[0]] = exe = new Executable(ModelGraph(x.Shape[0]));
        if (DType == DType.Float64)
            return exe.Run([x, .. ParameterVector.Unflatten<double>(theta, ParameterShapes)])[0];
        var theta32 = Array.ConvertAll(theta, v => (float)v);
        return exe.Run([x.To<float>(), .. ParameterVector.Unflatten<float>(theta32, ParameterShapes)])[0].To<double>();
    }

    internal Graph ModelGraph(int n)
    {
        if (!_modelGraphs.TryGetValue(n, out var g))
        {
            g = Tracer.Function(xs => _model(xs[1..], xs[0]), [new Shape(n, Dimension), .. ParameterShapes], DType);
            if (g.Outputs[0].Shape != new Shape(n, 1))
                throw new ShapeException($"PinnObjective: the model must map [N, {Dimension}] to [N, 1]; it returns {g.Outputs[0].Shape} for N = {n}.");
            _modelGraphs[n] = g;
        }
        return g;
    }

    internal Graph OperatorGraph(DifferentialOperator op, int n)
    {
        if (!_operatorGraphs.TryGetValue((op, n), out var g))
            _operatorGraphs[(op, n)] = g = op.Build(ModelGraph(n), Strategy);
        return g;
    }
}

/// <summary>
/// A <see cref="PinnObjective"/> that trains in <typeparamref name="T"/>: <c>float</c> runs the graphs, the
/// parameters, the gradient and (through <see cref="Trainer{T}"/>) the optimizer state and checkpoints in float32;
/// <c>double</c> in float64.
/// </summary>
public sealed class PinnObjective<T> : PinnObjective, IObjective<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly NDArray<T>[] _points;
    private readonly NDArray<T>[] _parameters;

    /// <param name="architecture">Describes the model for checkpoints.</param>
    /// <param name="parameterShapes">Shapes of θ.</param>
    /// <param name="model">u(θ, x): [N, D] → [N, 1] (e.g. an MLP, possibly times a factor that enforces boundary values).</param>
    /// <param name="dimension">D, the number of coordinates of a point.</param>
    /// <param name="terms">The loss terms.</param>
    /// <param name="strategy">How the differential operators are computed; null means <see cref="Strategy.Collapsed"/>.</param>
    /// <param name="seed">Mixed into every draw of points and directions.</param>
    public PinnObjective(string architecture, IReadOnlyList<Shape> parameterShapes, Func<IReadOnlyList<Node>, Node, Node> model, int dimension,
        IReadOnlyList<PinnTerm> terms, Strategy? strategy = null, long seed = 0)
        : base(DTypes.Of<T>(), architecture, parameterShapes, model, dimension, terms, strategy, seed)
    {
        _points = [.. terms.Select(t => new NDArray<T>(new Shape(t.Points, dimension)))];
        _parameters = [.. ParameterShapes.Select(s => new NDArray<T>(s))];
    }

    /// <summary>The points of each term currently in use.</summary>
    public IReadOnlyList<NDArray<T>> Points => _points;

    public void Resample(long step, T[] theta)
    {
        for (int i = 0; i < Terms.Count; i++)
        {
            // A pure function of (seed, step, term): a resumed run redraws the same points.
            long drawSeed = unchecked((long)SeededRandom.Word(Seed, step * 64 + i));
            var p = Terms[i].Sample(drawSeed);
            if (p.Shape != _points[i].Shape)
                throw new ShapeException($"PinnObjective: term '{Terms[i].Name}' sampled {p.Shape}; expected {_points[i].Shape}.");
            for (int k = 0; k < p.Size; k++) _points[i].Data[k] = T.CreateTruncating(p.Data[k]);
        }
        // A large multiplier keeps the random streams of consecutive steps (and of several random nodes) apart.
        Executable.SeedOffset = unchecked(Seed * 7_919 + step * 1_000_003);
    }

    public T Evaluate(T[] theta, T[] gradient)
    {
        ParameterVector.CopyTo<T>(theta, _parameters);
        var outs = Executable.Run<T>([.. _points, .. _parameters]);
        for (int i = 0; i < Terms.Count; i++) TermLosses[i] = double.CreateTruncating(outs[1 + i].Data[0]);
        ParameterVector.Gather<T>(outs[(1 + Terms.Count)..], gradient);
        return outs[0].Data[0];
    }
}
