using JetSharp.Nn;

namespace JetSharp.Examples;

/// <summary>
/// <c>poisson-highdim</c>: a Poisson problem in D = 100 dimensions on the unit ball B,
/// <code>
///   −Δu = f  in B,   u = 0 on ∂B,      u*(x) = (1 − ‖x‖²) · g(a·x),   g(s) = 1 + ½ sin s,   a = (1, …, 1),
///   f = −Δu* = 2D·g(s) + 4s·g′(s) − (1 − ‖x‖²)·‖a‖²·g″(s) = 2D(1 + ½ sin s) + 2s cos s + ½(1 − ‖x‖²)·D·sin s,
/// </code>
/// (from Δ(φψ) = ψΔφ + 2∇φ·∇ψ + φΔψ with φ = 1 − ‖x‖², Δφ = −2D). With a = (1, …, 1), s = a·x has
/// spread of order 1 over the ball, so g is genuinely nonlinear on the data. The boundary condition
/// is built into the model, u(x; θ) = (1 − ‖x‖²)·NN(x; θ), so the loss is the PDE residual alone,
/// mean(((Δu + f) / 2D)²), with Δu estimated by the <b>stochastic collapsed</b> Laplacian: S Rademacher
/// directions per point, redrawn every step (Hutchinson; unbiased, and 2 + S vectors per layer
/// instead of the exact 2 + D = 102). See docs/examples/poisson-highdim.md.
/// </summary>
public sealed class PoissonHighDim : PinnExample
{
    /// <summary>
    /// D of the full run: 100 (the default; stochastic Laplacian), or a small D such as 5, where the Laplacian is
    /// exact (2 + D vectors per layer) and the example is named <c>poisson{D}d</c> — the accuracy test of ENGD/LM.
    /// </summary>
    public int SpaceDimension { get; init; } = 100;

    private bool Small => SpaceDimension <= 10;

    public override string Name => Small ? $"poisson{SpaceDimension}d" : "poisson-highdim";
    public override string Summary => Small
        ? $"−Δu = f on the unit ball in D = {SpaceDimension} with a known solution (exact collapsed Laplacian)"
        : $"−Δu = f on the unit ball in D = {SpaceDimension} with a known solution (stochastic collapsed Laplacian)";
    public override double Target => 2e-2;

    public override PinnConfig Config(bool fast) => fast
        ? new PinnConfig { Dimension = 6, Samples = Small ? 0 : 4, Hidden = [8], Interior = 16, AdamSteps = 6, LearningRate = 1e-2, FinalLearningRate = 5e-3, ResampleEvery = 0, ErrorEvery = 2, TimingSizes = [16], SecondOrderSteps = 3, SecondOrderErrorEvery = 1 }
        : Small
        ? new PinnConfig { Dimension = SpaceDimension, Hidden = [20, 20], Interior = 1024, AdamSteps = 2000, LearningRate = 1e-2, FinalLearningRate = 1e-4, LbfgsSteps = 300, ErrorEvery = 50, TimingSizes = [128, 256, 512], SecondOrderSteps = 400, SecondOrderTarget = 1e-5 }
        : new PinnConfig { Dimension = SpaceDimension, Samples = 16, Hidden = [64, 64], Interior = 128, AdamSteps = 4000, LearningRate = 1e-2, FinalLearningRate = 1e-4, ErrorEvery = 50, TimingSizes = [32, 64, 128, 256] };

    public override PinnObjective<T> Build<T>(PinnConfig config, Strategy strategy, long seed, int? interior = null)
    {
        int d = config.Dimension, n = interior ?? config.Interior;
        var net = Network(config, seed);
        var ball = Ball.Unit(d);
        var laplacian = DifferentialOperator.Laplacian(config.Samples > 0 ? Estimate.Stochastic(config.Samples, Distribution.Rademacher, seed: 11) : Estimate.Exact);
        var terms = new List<PinnTerm>
        {
            new()
            {
                Name = "interior",
                Points = n,
                Sample = s => ball.Interior<double>(n, s),
                Residual = c => (c.Apply(laplacian) + Source(c.X)) * (1.0 / (2 * d)),
            },
        };
        // Coordinates of a uniform point of the D-ball have standard deviation ≈ 1/√D: the network sees √D·x,
        // inputs of unit scale, as its weight initialisation assumes.
        double inputScale = Math.Sqrt(d);
        return new PinnObjective<T>($"(1 − ‖x‖²) × {net.Architecture}(√D·x)", net.ParameterShapes, (ps, x) => Envelope(x) * net.Apply(ps, x * inputScale), d, terms, strategy, seed);
    }

    /// <summary>1 − ‖x‖², [N, 1]: zero on the sphere, so u = 0 there for every θ.</summary>
    private static Node Envelope(Node x) => 1.0 - Fn.Sum(x * x, 1, keepDims: true);

    /// <summary>f(x) = 2D(1 + ½ sin s) + 2s cos s + ½(1 − ‖x‖²)·D·sin s with s = Σ_i x_i.</summary>
    public static Node Source(Node x)
    {
        int d = x.Shape[1];
        var s = Fn.Sum(x, 1, keepDims: true);
        var sin = Fn.Sin(s);
        return (1.0 + sin * 0.5) * (2.0 * d) + 2.0 * s * Fn.Cos(s) + Envelope(x) * sin * (0.5 * d);
    }

    public static double Exact(ReadOnlySpan<double> x)
    {
        double r2 = 0, s = 0;
        foreach (var v in x) { r2 += v * v; s += v; }
        return (1 - r2) * (1 + 0.5 * Math.Sin(s));
    }

    public override (NDArray<double> Points, double[] Exact) EvaluationSet(bool fast)
    {
        int d = Config(fast).Dimension, n = fast ? 64 : 2000;
        var points = Ball.Unit(d).Interior<double>(n, seed: 987_654_321);
        var exact = new double[n];
        for (int i = 0; i < n; i++) exact[i] = Exact(points.Data.AsSpan(i * d, d));
        return (points, exact);
    }
}
