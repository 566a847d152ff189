using JetSharp.Nn;

namespace JetSharp.Examples;

/// <summary>
/// <c>heat</c>: an anisotropic heat (Kolmogorov backward) equation in D = 5 space dimensions with a
/// rank-3 diffusion, x ∈ [0, 1]⁵, t ∈ [0, 1]:
/// <code>
///   u_t − ½ tr(σσᵀ ∇²ₓu) = 0,     u(x, 0) = sin(k·x),     u = u* on the spatial boundary,
///   u*(x, t) = exp(−½‖σᵀk‖² t) · sin(k·x),
/// </code>
/// (∇²ₓu* = −kkᵀu*, so ½tr(σσᵀ∇²ₓu*) = −½‖σᵀk‖²u* = u*_t). σ ∈ ℝ^{5×3} is a fixed seeded Gaussian
/// matrix scaled so that ½‖σᵀk‖² = 1, and k = (π/4)(1, …, 1). The network takes (x, t) ∈ ℝ⁶; the operator
/// is the sum of two collapsed operators on it: u_t (a 1-jet along e_t) and the <b>weighted
/// Laplacian</b> tr(σ̃σ̃ᵀ∇²u) with σ̃ = [σ; 0] (3 directions instead of 6: 2 + 3 vectors per layer,
/// where nesting needs 3 Hessian-vector products). The loss is
/// mean(residual²) + mean((u − u*)² on the spatial boundary) + mean((u − sin k·x)² at t = 0).
/// See docs/examples/heat.md.
/// </summary>
public sealed class Heat : PinnExample
{
    public const int SpaceDimension = 5;
    public const int Rank = 3;

    public override string Name => "heat";
    public override string Summary => "u_t = ½ tr(σσᵀ∇²u) in D = 5 (rank-3 σ), known solution (collapsed weighted Laplacian + u_t)";
    public override double Target => 1e-2;

    public override PinnConfig Config(bool fast) => fast
        ? new PinnConfig { Dimension = SpaceDimension + 1, Hidden = [8], Interior = 16, Boundary = 8, AdamSteps = 6, LearningRate = 1e-2, FinalLearningRate = 5e-3, ResampleEvery = 0, ErrorEvery = 2, TimingSizes = [16], SecondOrderSteps = 3, SecondOrderErrorEvery = 1 }
        : new PinnConfig { Dimension = SpaceDimension + 1, Hidden = [32, 32], Interior = 256, Boundary = 128, AdamSteps = 1200, LearningRate = 1e-2, FinalLearningRate = 1e-3, LbfgsSteps = 300, ErrorEvery = 50, TimingSizes = [128, 256, 512, 1024], SecondOrderSteps = 400, SecondOrderTarget = 1e-5,
            SecondOrder = new PinnConfig { Dimension = SpaceDimension + 1, Hidden = [20, 20], Interior = 1024, Boundary = 256, AdamSteps = 0, SecondOrderSteps = 400, SecondOrderTarget = 1e-5 } };

    /// <summary>k = (π/4)(1, …, 1).</summary>
    public static double[] K => [.. Enumerable.Repeat(Math.PI / 4, SpaceDimension)];

    /// <summary>σ ∈ ℝ^{5×3}: seeded standard normal entries, scaled so that ½‖σᵀk‖² = 1 (the solution decays like e^{−t}).</summary>
    public static NDArray<double> Sigma()
    {
        var s = NDArray.RandomNormal<double>(new Shape(SpaceDimension, Rank), seed: 2024);
        var k = K;
        double norm2 = 0;
        for (int r = 0; r < Rank; r++)
        {
            double c = 0;
            for (int i = 0; i < SpaceDimension; i++) c += s.Data[i * Rank + r] * k[i];
            norm2 += c * c;
        }
        double scale = Math.Sqrt(2 / norm2);
        for (int i = 0; i < s.Size; i++) s.Data[i] *= scale;
        return s;
    }

    /// <summary>Decay rate ½‖σᵀk‖² (1 by construction of σ).</summary>
    public static double Decay => 1.0;

    public override PinnObjective<T> Build<T>(PinnConfig config, Strategy strategy, long seed, int? interior = null)
    {
        int n = interior ?? config.Interior, d = config.Dimension;
        var net = Network(config, seed);
        var domain = Box.UnitCube(d);              // (x₁..x₅, t)
        var space = Box.UnitCube(SpaceDimension);

        // σ̃ = [σ; 0]: the weighted Laplacian of a function of (x, t) acts on x only.
        var sigma = Sigma();
        var padded = new NDArray<double>(new Shape(d, Rank));
        sigma.Data.CopyTo(padded.Data, 0);
        var diffusion = DifferentialOperator.WeightedLaplacian(padded);
        var timeDerivative = DifferentialOperator.Linear([(1.0, new[] { SpaceDimension })]);

        var terms = new List<PinnTerm>
        {
            new()
            {
                Name = "interior",
                Points = n,
                Sample = s => domain.Interior<double>(n, s),
                Residual = c => c.Apply(timeDerivative) - 0.5 * c.Apply(diffusion),
            },
            new()
            {
                Name = "boundary",
                Points = config.Boundary,
                Sample = s => SpaceBoundaryTimesInterval(space, config.Boundary, s),
                Residual = c => c.U - ExactNode(c.X),
            },
            new()
            {
                Name = "initial",
                Points = config.Boundary,
                Sample = s => domain.Face<double>(config.Boundary, SpaceDimension, upper: false, s),
                Residual = c => c.U - ExactNode(c.X),
            },
        };
        return new PinnObjective<T>(net.Architecture, net.ParameterShapes, net.Apply, d, terms, strategy, seed);
    }

    /// <summary>Points (x, t) with x uniform on the boundary of the unit cube and t uniform in [0, 1].</summary>
    private static NDArray<double> SpaceBoundaryTimesInterval(Box space, int n, long seed)
    {
        var x = space.Boundary<double>(n, seed);
        var p = new NDArray<double>(new Shape(n, SpaceDimension + 1));
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < SpaceDimension; j++) p.Data[i * (SpaceDimension + 1) + j] = x.Data[i * SpaceDimension + j];
            // The uniform stream of the same seed beyond the indices the box sampler used.
            p.Data[i * (SpaceDimension + 1) + SpaceDimension] = SeededRandom.Uniform(seed, (long)n * (SpaceDimension + 1) + i);
        }
        return p;
    }

    /// <summary>u*(x, t) in the graph, [N, 1].</summary>
    private static Node ExactNode(Node xt)
    {
        var x = Fn.Slice(xt, 1, 0, SpaceDimension);
        var t = Fn.Slice(xt, 1, SpaceDimension, 1);
        var kx = Fn.MatMul(x, xt.Graph.Constant(NDArray.FromArray(K, new Shape(SpaceDimension, 1))));
        return Fn.Exp(t * -Decay) * Fn.Sin(kx);
    }

    public static double Exact(ReadOnlySpan<double> xt)
    {
        var k = K;
        double kx = 0;
        for (int j = 0; j < SpaceDimension; j++) kx += k[j] * xt[j];
        return Math.Exp(-Decay * xt[SpaceDimension]) * Math.Sin(kx);
    }

    public override (NDArray<double> Points, double[] Exact) EvaluationSet(bool fast)
    {
        int d = SpaceDimension + 1, n = fast ? 64 : 4000;
        var points = Box.UnitCube(d).Interior<double>(n, seed: 55_555);
        var exact = new double[n];
        for (int i = 0; i < n; i++) exact[i] = Exact(points.Data.AsSpan(i * d, d));
        return (points, exact);
    }

    /// <summary>The slice (x₁, t) with x₂ = … = x₅ = ½.</summary>
    protected override IEnumerable<string> Plot(PinnProblem objective, double[] theta, string directory)
    {
        int n = 48, d = SpaceDimension + 1;
        var grid = Reporting.Grid(n);
        var points = new NDArray<double>(new Shape(n * n, d));
        for (int i = 0; i < n * n; i++)
        {
            for (int j = 1; j < SpaceDimension; j++) points.Data[i * d + j] = 0.5;
            points.Data[i * d] = grid.Data[2 * i];
            points.Data[i * d + SpaceDimension] = grid.Data[2 * i + 1];
        }
        var u = objective.Predict(theta, points).Data;
        var err = new double[u.Length];
        for (int i = 0; i < u.Length; i++) err[i] = Math.Abs(u[i] - Exact(points.Data.AsSpan(i * d, d)));
        yield return Reporting.Heat(directory, "solution.svg", "heat: u(x₁, t), x₂..x₅ = ½", Reporting.AsGrid(u, n), (0, 1), (0, 1), "x₁", "t");
        yield return Reporting.Heat(directory, "error.svg", "heat: |u − u*| on that slice", Reporting.AsGrid(err, n), (0, 1), (0, 1), "x₁", "t");
    }

    protected override IEnumerable<(string, string)> Details(PinnConfig config) =>
        [("dimension", $"{SpaceDimension} space + time"), ("operator", $"u_t − ½ tr(σσᵀ∇²u), σ of rank {Rank} (weighted Laplacian, 3 directions)")];
}
