using System.Diagnostics;
using System.Runtime;
using JetSharp.Nn;
using JetSharp.Runtime;
using JetSharp.Simplify;
using JetSharp.Transforms;

namespace JetSharp.Examples;

/// <summary>
/// <c>stde</c>: the inseparable two-body Allen–Cahn benchmark of STDE (Shi, Hu, Lin, Kawaguchi, NeurIPS 2024) in D
/// dimensions, trained in float32 with a coordinate-sampled Laplacian redrawn every step:
/// <code>
///   Δu + u − u³ = g  in the unit ball B ⊂ ℝᴰ,   u = 0 on ∂B,
///   u*(x) = (1 − ‖x‖²)·ψ(x),  ψ = Σ_{i&lt;D−1} c_i sin z_i,  z_i = x_i + cos x_{i+1} + x_{i+1} cos x_i,  c_i ~ N(0, 1) (seeded),
///   g = Δu* + u* − u*³,  Δu* = −2D·ψ − 4·x·∇ψ + (1 − ‖x‖²)·Δψ   (Δ(φψ) = ψΔφ + 2∇φ·∇ψ + φΔψ, φ = 1 − ‖x‖²).
/// </code>
/// With a_i = ∂z_i/∂x_i = 1 − x_{i+1} sin x_i and b_i = ∂z_i/∂x_{i+1} = cos x_i − sin x_{i+1}:
/// x·∇ψ = Σ c_i cos z_i (x_i a_i + x_{i+1} b_i) and Δψ = Σ c_i [−cos z_i (x_{i+1} cos x_i + cos x_{i+1}) − sin z_i (a_i² + b_i²)].
/// The model is u(x; θ) = (1 − ‖x‖²)·√D·NN(x; θ) with NN a tanh MLP D→128→128→128→1 (the envelope makes u = 0 on the
/// sphere; √D is the scale of ψ, a sum of D − 1 unit-variance terms). The loss is mean(r²) over 100 fresh uniform points of
/// the ball per step with r = (Δ̂u + u − u³ − g)/(2D√D), where Δ̂u = (D/S)·Σ_{s≤S} ∂²u/∂x_{d_s}² over S = 16 coordinates
/// drawn without replacement every step (<see cref="Estimate.Coordinates"/> with resample): the first layer's product with
/// the unit vectors is a gather of 16 rows of W₁. Adam, learning rate 10⁻³ decaying to 10⁻⁴ over the run. The source g
/// is computed with the points (float64 sums, O(D) per point), not in the graph. See docs/examples/stde.md.
/// </summary>
public sealed class StdeAllenCahn : Example
{
    /// <summary>Network widths after the input, directions per step and points per step (STDE's settings).</summary>
    public const int Width = 128, Directions = 16, PointsPerStep = 100;

    public override string Name => "stde";
    public override string Summary => "STDE's two-body Allen–Cahn problem in D dimensions (default 10⁵) on the unit ball: float32, Laplacian from 16 coordinates redrawn per step";
    public override int? DefaultDimension => 100_000;
    /// <summary>Float32 first: what the benchmark trains in (and the CLI's default for it); float64 for the tests' comparisons.</summary>
    public override IReadOnlyList<DType> Precisions => [DType.Float32, DType.Float64];

    /// <summary>The relative L2 error the full run (10k steps) promises.</summary>
    public const double Target = 1e-2;

    /// <summary>The fast (test) objective in float64: D = 12, width 8, 3 coordinates, 8 points.</summary>
    public override IObjective<double> CreateObjective(bool fast, Strategy? strategy = null, long seed = 0) => Create<double>(fast, null, seed, strategy);

    public override double[] InitialParameters(bool fast, long seed = 0) => Create<double>(fast, null, seed).InitialParameters();

    /// <summary>The problem of the fast or full configuration in dimension <paramref name="dimension"/> (null: 12 when fast, else 10⁵).</summary>
    public static Problem<T> Create<T>(bool fast, int? dimension, long seed, Strategy? strategy = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        new(dimension ?? (fast ? 12 : 100_000), fast ? 8 : Width, fast ? 3 : Directions, fast ? 8 : PointsPerStep, seed, strategy);

    public override ExampleResult Run(ExampleOptions options)
    {
        CheckPrecision(options);
        return options.Precision == DType.Float32 ? Run<float>(options) : Run<double>(options);
    }

    private ExampleResult Run<T>(ExampleOptions options) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var wall = Stopwatch.StartNew();
        var log = options.Log ?? (_ => { });
        int steps = options.Steps ?? (int)Math.Max(1, Math.Round((options.Fast ? 8 : 10_000) * options.StepScale));
        var problem = Create<T>(options.Fast, options.Dimension, options.Seed);
        int d = problem.Dimension;
        log($"{Name}: {Summary.Replace("(default 10⁵)", $"(D = {d})")}");
        log($"network {problem.Architecture}, {problem.ParameterCount} parameters ({DTypes.Of<T>().Name()}); gradient graph {problem.GradientGraph.Nodes.Count} nodes, built in {wall.Elapsed.TotalSeconds:0.0} s; " +
            $"largest node {problem.LargestNode}");

        var eval = problem.EvaluationSet(options.Fast ? 16 : d <= 10_000 ? 1000 : 200);
        // Fast runs (the tests) keep one draw of points and coordinates and a larger rate, so a few steps lower the loss.
        var adam = new Adam<T>(options.Fast ? Nn.LearningRate.Constant(1e-2) : Nn.LearningRate.Exponential(1e-3, 0.1, steps));
        var trainer = new Trainer<T>(problem, problem.InitialParameters(), [new TrainingPhase<T>(adam, steps, options.Fast ? 0 : 1)], new TrainerOptions<T>
        {
            Error = theta => problem.RelativeL2(theta, eval),
            ErrorEvery = options.Fast ? 2 : Math.Max(10, steps / 20),
            Progress = options.Progress,
            ProgressEvery = options.Fast ? 1 : 5,
            TimeBudget = options.TimeBudget,
            CheckpointPath = options.CheckpointPath,
            CheckpointEvery = options.CheckpointEvery,
            Cancellation = options.Cancellation,
            Seed = options.Seed,
            // No per-step copy of θ to roll back to (at D = 10⁶ a 0.5 GB array and a copy of it every step): a non-finite
            // step stops the run, and --resume continues from the last checkpoint (every 500 steps by default).
            RollBack = false,
            Metadata = new Dictionary<string, string> { ["example"] = Name, ["dimension"] = d.ToString(), ["fast"] = options.Fast.ToString() },
        });
        if (options.Resume)
        {
            if (options.CheckpointPath is not { } path) throw new ArgumentException($"{Name}: resuming needs a checkpoint path.");
            trainer.Restore(path);
            log($"resumed from {path} at step {trainer.Step}");
        }
        // Setup leaves garbage of the size of the first layer (the weights drawn for the initial θ, which the trainer copies);
        // a training step allocates nothing large, so without a collection here it would stay in the working set for the
        // whole run (at D = 10⁶, gigabytes on top of the ~5 GB that training holds).
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        problem.ResetTimers();
        var profile = Environment.GetEnvironmentVariable("JETSHARP_STDE_PROFILE") is { Length: > 0 } file ? file : null;
        problem.Profile = profile is not null;
        long peakBefore = Environment.WorkingSet;
        var training = trainer.Run();
        double error = problem.RelativeL2(trainer.Parameters, eval);
        var figures = new List<string>();
        if (options.OutputDirectory is { } dir) figures.Add(Reporting.LossCurve(training.History, dir, $"{Name} (D = {d}): training"));
        var timings = new List<StrategyTiming>();
        if (options.CompareStrategies && options.Fast)
            timings.AddRange(Reporting.TimeSteps<T>(s => Create<T>(options.Fast, options.Dimension, options.Seed, s), trainer.Parameters, [Strategy.Collapsed, Strategy.NestedFirstOrder], 1));
        else if (options.CompareStrategies)
            log("stde: strategies are timed in fast runs only (a nested first-order build at this D costs minutes)");
        if (profile is not null) File.WriteAllText(profile, problem.ProfileReport());
        var t = problem.Timers;
        double total = training.ElapsedThisRun.TotalSeconds, n = Math.Max(1, training.StepsThisRun);
        double other = Math.Max(0, total - t.Sampling - t.Graph - t.Copies - t.Evaluation);
        log($"per step: sampling (points and source) {1e3 * t.Sampling / n:0.0} ms, graph (loss and gradient) {1e3 * t.Graph / n:0.0} ms, " +
            $"parameter copies {1e3 * t.Copies / n:0.0} ms, optimizer and trainer {1e3 * other / n:0.0} ms; error evaluations {t.Evaluation:0.0} s in all");
        return new ExampleResult
        {
            Name = Name,
            ErrorName = "relative L2 error of u",
            Error = error,
            Target = Target,
            Training = training,
            WallTime = wall.Elapsed,
            Figures = figures,
            Timings = timings,
            Details =
            [
                ("dimension", d.ToString()),
                ("network", problem.Architecture),
                ("parameters", problem.ParameterCount.ToString()),
                ("precision", DTypes.Of<T>().Name()),
                ("points per step", problem.Points.ToString()),
                ("coordinates per step", $"{problem.Samples} of {d}, without replacement, redrawn every step"),
                ("iterations per second", $"{n / total:0.00}"),
                ("time per step", $"sampling {1e3 * t.Sampling / n:0.0} ms, graph {1e3 * t.Graph / n:0.0} ms, copies {1e3 * t.Copies / n:0.0} ms, optimizer+trainer {1e3 * other / n:0.0} ms"),
                ("peak working set", $"{Process.GetCurrentProcess().PeakWorkingSet64 / 1e9:0.00} GB"),
                ("planned peak of the gradient graph", $"{problem.PlannedPeakBytes / 1e9:0.000} GB"),
                ("largest node of the gradient graph", problem.LargestNode),
            ],
        };
    }

    /// <summary>Wall time spent in each part of a step since <c>Problem.ResetTimers</c>.</summary>
    public sealed record StepTimers(double Sampling, double Graph, double Copies, double Evaluation);

    /// <summary>
    /// The training objective: fresh points of the ball and the source there on every <see cref="Resample"/>, the loss and its
    /// gradient from one compiled graph (inputs x [N, D], g [N, 1], θ), coordinates redrawn by the run's seed offset. θ is
    /// resident in the graph's parameter tensors (<see cref="IResidentObjective{T}"/>): Adam updates them in place, and
    /// evaluations at a flat θ copy it in first. The samples do not depend on θ.
    /// </summary>
    public sealed class Problem<T> : IResidentObjective<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly double[] _c;
        private readonly float[] _c32;
        private readonly int _width;
        private NDArray<T>? _evalX, _evalG;
        private readonly System.Collections.Concurrent.ConcurrentBag<FastSampler.Scratch> _scratch = [];
        private readonly Executable _gradient;
        private readonly Executable _model;
        private readonly NDArray<T> _x, _g;
        /// <summary>
        /// The graph's parameter tensors, where θ is while a trainer keeps it resident. Allocated at first use, not in the
        /// constructor: allocated there (before the run's setup collection, which compacts the large-object heap), Adam's pass
        /// over the first layer in them took twice as long as over arrays allocated after it (measured at D = 10⁵: 60 against
        /// 30 ms a step under load; the cause, presumably where the collection leaves them, was not pinned down).
        /// </summary>
        private NDArray<T>[] Parameters => _parameters ??= [.. ParameterShapes.Select(s => new NDArray<T>(s))];
        private NDArray<T>[]? _parameters;
        private readonly long _seed;
        private long _seedOffset;
        private readonly Stopwatch _sampling = new(), _graph = new(), _copies = new(), _evaluation = new();

        public Problem(int dimension, int width, int samples, int points, long seed, Strategy? strategy = null)
        {
            if (dimension < 2) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "stde: the two-body solution needs D ≥ 2.");
            if (samples > dimension) throw new ArgumentOutOfRangeException(nameof(samples), samples, $"stde: {samples} coordinates without replacement out of D = {dimension}.");
            Dimension = dimension;
            Samples = samples;
            Points = points;
            _seed = seed;
            var dtype = DTypes.Of<T>();
            _c = new double[dimension - 1];
            for (int i = 0; i < _c.Length; i++) _c[i] = SeededRandom.Normal(seed + 77, i);
            _c32 = Array.ConvertAll(_c, v => (float)v);
            _width = width;
            // The network's weights are not kept: the graphs take θ as inputs, and InitialParameters redraws them from the
            // seed (at D = 10⁶ the first layer alone is 0.5 GB in float32, 1 GB while it is drawn in float64).
            var net = Network();
            ParameterShapes = net.ParameterShapes;
            ParameterCount = ParameterVector.Count(ParameterShapes);
            Architecture = $"(1 − ‖x‖²)·√D·{net.Architecture}(x)";

            var modelGraph = Tracer.Function(xs => Model(net, xs[1..], xs[0]), [new Shape(points, dimension), .. ParameterShapes], dtype);
            var laplacian = DifferentialOperator.Laplacian(Estimate.Coordinates(samples, withReplacement: false, seed: seed * 1_000_003 + 5, resample: true));
            var laplacianGraph = laplacian.Build(modelGraph, strategy);

            var loss = new Graph(dtype);
            var x = loss.Input(new Shape(points, dimension), "x");
            var g = loss.Input(new Shape(points, 1), "g");
            var ps = ParameterShapes.Select((s, i) => loss.Input(s, $"θ{i}")).ToArray();
            var u = Inline.Apply(modelGraph, [x, .. ps])[0];
            var lap = Inline.Apply(laplacianGraph, [x, .. ps])[0];
            var r = (lap + u - u * u * u - g) * (1.0 / (2.0 * dimension * Math.Sqrt(dimension)));
            loss.SetOutputs(Fn.Mean(r * r));

            // Simplified before it is differentiated: u and Δ̂u each inline the model, so the loss holds two forward products
            // x·W₁ until common subexpressions merge; differentiated as they are, they would give two dense xᵀ·δ products
            // (each [D, 128]) and their sum, where one product of x with the summed cotangent does.
            loss = Simplifier.Simplify(loss);
            var gg = new Graph(dtype);
            var primals = GraphWalk.MirrorInputs(loss, gg);
            var (outs, cts) = Vjp.Apply(loss, primals, [gg.Scalar(1)], [.. primals.Select((_, i) => i >= 2)]);
            gg.SetOutputs([.. outs, .. primals.Skip(2).Select((p, i) => cts[2 + i] ?? Fn.Zeros(gg, p.Shape))]);
            GradientGraph = Simplifier.Simplify(gg);
            _gradient = new Executable(GradientGraph);
            PlannedPeakBytes = _gradient.PlannedPeakBytes();
            var largest = GradientGraph.Nodes.Where(n => n.Op is not InputOp).MaxBy(n => n.Shape.Size)!;
            LargestNode = $"{largest.Op.Name} {largest.Shape}";
            if (Environment.GetEnvironmentVariable("JETSHARP_STDE_GRAPH") is { Length: > 0 } dump)
                File.WriteAllText(dump, GradientGraph.ToString());
            _model = new Executable(Simplifier.Simplify(modelGraph));
            _x = new NDArray<T>(new Shape(points, dimension));
            _g = new NDArray<T>(new Shape(points, 1));
        }

        /// <summary>The current training batch: points x [N, D] and the source g [N, 1] (for the tests).</summary>
        internal (NDArray<T> X, NDArray<T> G) Batch => (_x, _g);

        /// <summary>The seed of the points <see cref="Resample"/> draws for <paramref name="step"/> (for the tests).</summary>
        internal long DrawSeed(long step) => unchecked((long)SeededRandom.Word(_seed, step));

        public int Dimension { get; }
        public int Samples { get; }
        public int Points { get; }
        public string Architecture { get; }
        public IReadOnlyList<Shape> ParameterShapes { get; }
        public int ParameterCount { get; }

        /// <summary>(x, g, θ…) → (loss, ∂loss/∂θ…), simplified.</summary>
        public Graph GradientGraph { get; }

        /// <summary>Peak live bytes of one run of the gradient graph as the runtime plans it.</summary>
        public long PlannedPeakBytes { get; }

        /// <summary>The operation and shape of the largest non-input node of the gradient graph (what shows that no [S·N, D] tensor exists).</summary>
        public string LargestNode { get; }

        /// <summary>Times each step of the gradient graph (<see cref="Executable.Profile"/>); see <see cref="ProfileReport"/>.</summary>
        public bool Profile { get => _gradient.Profile; set => _gradient.Profile = value; }

        /// <summary>The gradient graph's slowest steps while <see cref="Profile"/> was on.</summary>
        public string ProfileReport() => _gradient.ProfileReport();

        public StepTimers Timers => new(_sampling.Elapsed.TotalSeconds, _graph.Elapsed.TotalSeconds, _copies.Elapsed.TotalSeconds, _evaluation.Elapsed.TotalSeconds);

        public void ResetTimers()
        {
            _sampling.Reset(); _graph.Reset(); _copies.Reset(); _evaluation.Reset();
        }

        /// <summary>The network's initial parameters, drawn from the seed (the same on every call).</summary>
        public T[] InitialParameters() => ParameterVector.Flatten<T>(Network().Parameters);

        private Mlp Network() => Mlp.Create(Dimension, [_width, _width, _width], 1, Activation.Tanh, _seed, DTypes.Of<T>());

        /// <summary>u = φ·√D·NN(x), φ = 1 − ‖x‖² as <see cref="Envelope"/> computes it.</summary>
        private Node Model(Mlp net, IReadOnlyList<Node> parameters, Node x) =>
            Envelope(x, DTypes.Of<T>()) * (net.Apply(parameters, x) * Math.Sqrt(Dimension));

        /// <summary>
        /// The envelope φ = 1 − ‖x‖² of points x [N, D], written so float32 keeps it accurate: φ = k − Σ_d (x_d − a)(x_d + a)
        /// with a = 1/√D and k = 1 − D·ã², ã the constant a as <paramref name="dtype"/> holds it. Uniform points of the ball in
        /// high dimension lie within O(1/D) of the sphere, so φ ~ 1/D: as 1 − Σ x_d² in float32 it is the difference of two
        /// numbers near 1 (spacing 6·10⁻⁸) after a float32 sum of D terms — at D = 10⁶ larger than φ itself. The terms
        /// (x_d − ã)(x_d + ã) are O(1/D) with both signs, so their sum carries no cancellation, and as a product the
        /// simplifier's sum pulling cannot split it back into Σ x_d² − 1. But their sum is ‖x‖² − D·ã², not ‖x‖² − 1: ã is a
        /// rounded to float32 (relative error up to 6·10⁻⁸; 4.7·10⁻⁸ at D = 10⁶), so D·ã² − 1 is up to 1.2·10⁻⁷, against
        /// φ ≈ 2.8/D in rms — 3.4·10⁻² of φ at D = 10⁶ (7·10⁻⁴ at 10⁵), which was the relative error the D = 10⁶ run plateaued
        /// at. k adds that constant back (computed in float64 from ã; about 10⁻¹⁶ in float64). Same derivatives.
        /// </summary>
        public static Node Envelope(Node x, DType dtype)
        {
            int d = x.Shape[^1];
            double a = 1 / Math.Sqrt(d);
            double held = dtype == DType.Float32 ? (float)a : a;
            double k = 1 - d * held * held;
            return k - Fn.Sum((x - a) * (x + a), 1, keepDims: true);
        }

        public void Resample(long step, T[] theta)
        {
            _sampling.Start();
            Sample(DrawSeed(step), _x, _g, exact: null);
            _sampling.Stop();
            _seedOffset = unchecked(_seed * 7_919 + step * 1_000_003);
        }

        public T Evaluate(T[] theta, T[] gradient)
        {
            CopyIn(theta);
            var outs = Run();
            _copies.Start();
            ParameterVector.Gather<T>(outs[1..], gradient);
            _copies.Stop();
            T loss = outs[0].Data[0];
            _gradient.Recycle(outs);   // copied out: the next run reuses the storage instead of allocating W₁-sized outputs again
            return loss;
        }

        /// <summary>The loss and the gradient tensors' own arrays (what Adam reads in place), valid until the next evaluation.</summary>
        public T Evaluate(T[] theta, out IReadOnlyList<T[]> gradient)
        {
            CopyIn(theta);
            return Evaluate(out gradient);
        }

        /// <summary>The loss at the θ the parameter tensors hold (no copy in) and the gradient tensors' own arrays, valid until the next evaluation.</summary>
        public T Evaluate(out IReadOnlyList<T[]> gradient)
        {
            var outs = Run();
            _lent = outs;
            gradient = [.. outs[1..].Select(o => o.Data)];
            return outs[0].Data[0];
        }

        /// <summary>The graph's parameter tensors' arrays, in θ's order: where θ is while a trainer keeps it resident.</summary>
        public IReadOnlyList<T[]> ParameterSegments => _segments ??= [.. Parameters.Select(p => p.Data)];
        private IReadOnlyList<T[]>? _segments;

        /// <summary>The outputs of the last evaluation whose gradient arrays were lent out; given back at the next run.</summary>
        private NDArray<T>[]? _lent;

        /// <summary>Copies θ into the graph's parameter tensors.</summary>
        private void CopyIn(T[] theta)
        {
            _copies.Start();
            ParameterVector.CopyTo<T>(theta, Parameters);
            _copies.Stop();
        }

        /// <summary>Runs the gradient graph at the θ the parameter tensors hold: (loss, ∂loss/∂θ…).</summary>
        private NDArray<T>[] Run()
        {
            // The arrays lent at the last evaluation are no longer read: the run reuses their storage rather than allocating W₁-sized outputs.
            if (_lent is not null) { _gradient.Recycle(_lent); _lent = null; }
            _graph.Start();
            var outs = _gradient.Run<T>([_x, _g, .. Parameters], _seedOffset);
            _graph.Stop();
            return outs;
        }

        /// <summary>Held-out points: <paramref name="count"/> points (a multiple of the batch, drawn batch by batch) and u* there.</summary>
        public (long Seed, int Batches, double[] Exact) EvaluationSet(int count)
        {
            int batches = Math.Max(1, count / Points);
            long seed = unchecked(_seed * 31 + 987_654_321);
            var exact = new double[batches * Points];
            var x = _evalX ??= new NDArray<T>(new Shape(Points, Dimension));
            var g = _evalG ??= new NDArray<T>(new Shape(Points, 1));
            for (int b = 0; b < batches; b++) Sample(seed + b, x, g, exact.AsSpan(b * Points, Points));
            return (seed, batches, exact);
        }

        /// <summary>‖u − u*‖/‖u*‖ over the held-out points (redrawn batch by batch from their seed, so never all in memory).</summary>
        public double RelativeL2(T[] theta, (long Seed, int Batches, double[] Exact) set)
        {
            _evaluation.Start();
            // The training tensors carry θ here too. While a trainer keeps θ resident in them, it measures the error at that
            // same θ (the copy rewrites the values they hold), so a metric at any other θ must not run during training. The
            // points get buffers of their own (the training batch must survive an evaluation between two steps on it).
            var ps = Parameters;
            ParameterVector.CopyTo<T>(theta, ps);
            var x = _evalX ??= new NDArray<T>(new Shape(Points, Dimension));
            var g = _evalG ??= new NDArray<T>(new Shape(Points, 1));
            var u = new double[set.Exact.Length];
            for (int b = 0; b < set.Batches; b++)
            {
                Sample(set.Seed + b, x, g, exact: null);
                var y = _model.Run<T>([x, .. ps])[0];
                for (int i = 0; i < Points; i++) u[b * Points + i] = double.CreateTruncating(y.Data[i]);
                _model.Recycle<T>([y]);
            }
            _evaluation.Stop();
            return Reporting.RelativeL2(u, set.Exact);
        }

        /// <summary>
        /// Uniform points of the unit ball into <paramref name="x"/> (a Gaussian direction times radius U^{1/D}) and the source
        /// g there (and u* when asked), in parallel over the points and 16 lanes at a time (<see cref="FastSampler"/>): at
        /// D = 10⁶ a step needs 10⁸ normals and 2·10⁸ sines and cosines, which scalar code would spend seconds on.
        /// </summary>
        private void Sample(long seed, NDArray<T> x, NDArray<T> g, Span<double> exact)
        {
            var us = new double[Points];
            int d = Dimension;
            // One piece per point on the runtime's workers (JetSharp.Backend.Parallelism: the GEMM's worker pool, which the
            // graph has just used and whose worker still polls for work; on the .NET thread pool the sampler would share
            // the cores with that polling worker). Scratch rows come from a pool kept across draws, taken and given back
            // per point (three D-sized rows per point every step would be large-object garbage: 36 MB at D = 10⁶).
            JetSharp.Backend.Parallelism.Run(Points, i =>
            {
                var scratch = _scratch.TryTake(out var s) ? s : new FastSampler.Scratch(d);
                // Float32 batches are drawn in place; float64 ones through a float32 row (the draws are float32 either way).
                var row = typeof(T) == typeof(float) ? System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(x.Data.AsSpan(i * d, d)) : scratch.Row;
                FastSampler.BallPoint(seed, i, row);
                var (source, u) = FastSampler.Source(row, _c32, scratch);
                g.Data[i] = T.CreateTruncating(source);
                us[i] = u;
                if (typeof(T) != typeof(float)) for (int k = 0; k < d; k++) x.Data[i * d + k] = T.CreateTruncating(row[k]);
                _scratch.Add(scratch);
            });
            if (!exact.IsEmpty) us.CopyTo(exact);
        }

        /// <summary>g = Δu* + u* − u*³ and u* at a point, in float64 by the formulas of the class comment (the reference the fast path is tested against).</summary>
        public (double Source, double U) SourceAt(ReadOnlySpan<double> x)
        {
            if (x.Length != Dimension) throw new ShapeException($"stde: a point has {Dimension} coordinates, got {x.Length}.");
            var t = new T[x.Length];
            for (int k = 0; k < x.Length; k++) t[k] = T.CreateTruncating(x[k]);
            return Source(t);
        }

        /// <summary>The fast path's g and u* at a point given in float32 (what training uses).</summary>
        public (double Source, double U) FastSourceAt(float[] x)
        {
            if (x.Length != Dimension) throw new ShapeException($"stde: a point has {Dimension} coordinates, got {x.Length}.");
            return FastSampler.Source(x, _c32, new FastSampler.Scratch(Dimension));
        }

        /// <summary>The coefficients c_i (a copy).</summary>
        public double[] Coefficients => (double[])_c.Clone();

        /// <summary>The point of <paramref name="index"/> in the draw of <paramref name="seed"/> (what <see cref="Resample"/> stores, before rounding to T).</summary>
        public float[] PointOf(long seed, int index) => BallPoint(Dimension, seed, index);

        /// <summary>Point <paramref name="index"/> of the draw <paramref name="seed"/> in the unit ball of ℝ^<paramref name="dimension"/>.</summary>
        public static float[] BallPoint(int dimension, long seed, int index)
        {
            var row = new float[dimension];
            FastSampler.BallPoint(seed, index, row);
            return row;
        }

        /// <summary>g(x) = Δu* + u* − u*³ and u*(x) at one point (float64 sums).</summary>
        private (double Source, double U) Source(ReadOnlySpan<T> x)
        {
            int d = x.Length;
            double r2 = 0, psi = 0, xGrad = 0, lapPsi = 0;
            for (int k = 0; k < d; k++) { double v = double.CreateTruncating(x[k]); r2 += v * v; }
            var (sinA, cosA) = Math.SinCos(double.CreateTruncating(x[0]));
            for (int i = 0; i < d - 1; i++)
            {
                double xi = double.CreateTruncating(x[i]), xj = double.CreateTruncating(x[i + 1]);
                var (sinB, cosB) = Math.SinCos(xj);
                double z = xi + cosB + xj * cosA;
                var (sz, cz) = Math.SinCos(z);
                double a = 1 - xj * sinA, b = cosA - sinB, c = _c[i];
                psi += c * sz;
                xGrad += c * cz * (xi * a + xj * b);
                lapPsi += c * (-cz * (xj * cosA + cosB) - sz * (a * a + b * b));
                (sinA, cosA) = (sinB, cosB);
            }
            double phi = 1 - r2, u = phi * psi;
            double lap = -2.0 * d * psi - 4 * xGrad + phi * lapPsi;
            return (lap + u - u * u * u, u);
        }
    }
}
