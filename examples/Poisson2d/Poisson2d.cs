using JetSharp.Nn;

namespace JetSharp.Examples;

/// <summary>
/// <c>poisson2d</c>: the Poisson equation on the unit square with a manufactured solution,
/// <code>
///   −Δu = 2π² sin(πx) sin(πy)  in (0, 1)²,     u = 0  on the boundary,
/// </code>
/// exact solution u*(x, y) = sin(πx) sin(πy). The network u(x; θ) is a tanh MLP; the loss is
/// <code>
///   mean_interior ((Δu + f) / 2π²)² + λ · mean_boundary u²,
/// </code>
/// with the Laplacian computed by the exact collapsed Taylor mode (2 + D = 4 vectors per layer instead
/// of 1 + 2D = 5 for standard Taylor mode). The PDE residual is divided by 2π² (the size of f) so both
/// terms start at comparable scales. Training: Adam on fresh points every step, then L-BFGS on
/// one fixed set. See docs/examples/poisson2d.md.
/// </summary>
public sealed class Poisson2d : PinnExample
{
    private const double Scale = 2 * Math.PI * Math.PI;

    public override string Name => "poisson2d";
    public override string Summary => "−Δu = 2π² sin(πx) sin(πy) on the unit square, u = 0 on the boundary (exact collapsed Laplacian)";
    public override double Target => 1e-2;

    /// <summary>Weight λ of the boundary term.</summary>
    public double BoundaryWeight { get; init; } = 1;

    public override PinnConfig Config(bool fast) => fast
        ? new PinnConfig { Dimension = 2, Hidden = [8, 8], Interior = 32, Boundary = 16, AdamSteps = 6, LearningRate = 1e-2, FinalLearningRate = 5e-3, ResampleEvery = 0, ErrorEvery = 2, TimingSizes = [16, 32], SecondOrderSteps = 3, SecondOrderErrorEvery = 1 }
        : new PinnConfig { Dimension = 2, Hidden = [32, 32], Interior = 256, Boundary = 64, AdamSteps = 1000, LearningRate = 1e-2, FinalLearningRate = 1e-3, LbfgsSteps = 300, ErrorEvery = 50, TimingSizes = [128, 256, 512, 1024, 2048], SecondOrderSteps = 400, SecondOrderTarget = 1e-6 };

    public override PinnObjective<T> Build<T>(PinnConfig config, Strategy strategy, long seed, int? interior = null)
    {
        var net = Network(config, seed);
        return new PinnObjective<T>(net.Architecture, net.ParameterShapes, net.Apply, 2, Terms(interior ?? config.Interior, config.Boundary, BoundaryWeight), strategy, seed);
    }

    /// <summary>The loss terms for any model: the residual (Δu + f)/2π² at <paramref name="interior"/> points of the square, and u at <paramref name="boundary"/> points of its boundary.</summary>
    public static List<PinnTerm> Terms(int interior, int boundary, double boundaryWeight = 1)
    {
        var square = Box.UnitCube(2);
        var laplacian = DifferentialOperator.Laplacian();
        return
        [
            new()
            {
                Name = "interior",
                Points = interior,
                Sample = s => square.Interior<double>(interior, s),
                Residual = c => (c.Apply(laplacian) + Source(c.Coordinate(0), c.Coordinate(1))) * (1 / Scale),
            },
            new()
            {
                Name = "boundary",
                Points = boundary,
                Sample = s => square.Boundary<double>(boundary, s),
                Residual = c => c.U,
                Weight = boundaryWeight,
            },
        ];
    }

    /// <summary>f(x, y) = 2π² sin(πx) sin(πy).</summary>
    public static Node Source(Node x, Node y) => Fn.Sin(x * Math.PI) * Fn.Sin(y * Math.PI) * Scale;

    public static double Exact(double x, double y) => Math.Sin(Math.PI * x) * Math.Sin(Math.PI * y);

    private static int GridSize(bool fast) => fast ? 8 : 64;

    public override (NDArray<double> Points, double[] Exact) EvaluationSet(bool fast)
    {
        var grid = Reporting.Grid(GridSize(fast));
        var exact = new double[grid.Shape[0]];
        for (int i = 0; i < exact.Length; i++) exact[i] = Exact(grid.Data[2 * i], grid.Data[2 * i + 1]);
        return (grid, exact);
    }

    protected override IEnumerable<string> Plot(PinnProblem objective, double[] theta, string directory)
    {
        int n = 48;
        var grid = Reporting.Grid(n);
        var u = objective.Predict(theta, grid).Data;
        var err = new double[u.Length];
        for (int i = 0; i < u.Length; i++) err[i] = Math.Abs(u[i] - Exact(grid.Data[2 * i], grid.Data[2 * i + 1]));
        yield return Reporting.Heat(directory, "solution.svg", "poisson2d: network solution u(x, y)", Reporting.AsGrid(u, n), (0, 1), (0, 1));
        yield return Reporting.Heat(directory, "error.svg", "poisson2d: |u − u*|", Reporting.AsGrid(err, n), (0, 1), (0, 1));
    }
}
