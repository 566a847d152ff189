using JetSharp.Nn;

namespace JetSharp.Examples;

/// <summary>
/// <c>plate</c>: bending of a simply supported square plate (Kirchhoff), the biharmonic equation
/// <code>
///   Δ²u = 4π⁴ sin(πx) sin(πy)  in (0, 1)²,     u = 0 and Δu = 0 on the boundary,
/// </code>
/// exact solution u* = sin(πx) sin(πy). "Simply supported" means zero deflection and zero bending moment;
/// on straight edges with u = 0 along the edge the tangential second derivative vanishes, so zero
/// moment is Δu = 0 (Navier conditions). The loss is
/// <code>
///   mean((Δ²u − f) / 4π⁴)² + mean(u²) + mean((Δu / 2π²)²)   (the last two on the boundary),
/// </code>
/// each term scaled by the size of its exact counterpart. Δ²u is the exact biharmonic by collapsed
/// Taylor mode: (3D² − D)/2 = 5 four-jets for D = 2, with identical directions merged and sums pulled up
/// the graph; Δu on the boundary is the collapsed Laplacian. See docs/examples/plate.md.
/// </summary>
public sealed class Plate : PinnExample
{
    private const double SourceScale = 4 * Math.PI * Math.PI * Math.PI * Math.PI;
    private const double LaplacianScale = 2 * Math.PI * Math.PI;

    public override string Name => "plate";
    public override string Summary => "Δ²u = 4π⁴ sin(πx) sin(πy), simply supported square plate (exact collapsed biharmonic)";
    public override double Target => 1e-2;

    public override PinnConfig Config(bool fast) => fast
        ? new PinnConfig { Dimension = 2, Hidden = [8], Interior = 16, Boundary = 8, AdamSteps = 6, LearningRate = 1e-2, FinalLearningRate = 5e-3, ResampleEvery = 0, ErrorEvery = 2, TimingSizes = [16], SecondOrderSteps = 3, SecondOrderErrorEvery = 1 }
        : new PinnConfig { Dimension = 2, Hidden = [32, 32], Interior = 128, Boundary = 64, AdamSteps = 1000, LearningRate = 1e-2, FinalLearningRate = 1e-3, LbfgsSteps = 300, ErrorEvery = 50, TimingSizes = [64, 128, 256, 512], SecondOrderSteps = 400, SecondOrderTarget = 1e-5 };

    public override PinnObjective<T> Build<T>(PinnConfig config, Strategy strategy, long seed, int? interior = null)
    {
        int n = interior ?? config.Interior;
        var net = Network(config, seed);
        var square = Box.UnitCube(2);
        var biharmonic = DifferentialOperator.Biharmonic();
        var laplacian = DifferentialOperator.Laplacian();
        var terms = new List<PinnTerm>
        {
            new()
            {
                Name = "interior",
                Points = n,
                Sample = s => square.Interior<double>(n, s),
                Residual = c => c.Apply(biharmonic) * (1 / SourceScale) - Fn.Sin(c.Coordinate(0) * Math.PI) * Fn.Sin(c.Coordinate(1) * Math.PI),
            },
            new()
            {
                Name = "boundary u",
                Points = config.Boundary,
                Sample = s => square.Boundary<double>(config.Boundary, s),
                Residual = c => c.U,
            },
            new()
            {
                Name = "boundary Δu",
                Points = config.Boundary,
                // Other boundary points than the u term's: the sample seed differs per term.
                Sample = s => square.Boundary<double>(config.Boundary, s),
                Residual = c => c.Apply(laplacian) * (1 / LaplacianScale),
            },
        };
        return new PinnObjective<T>(net.Architecture, net.ParameterShapes, net.Apply, 2, terms, strategy, seed);
    }

    public override (NDArray<double> Points, double[] Exact) EvaluationSet(bool fast)
    {
        var grid = Reporting.Grid(fast ? 8 : 64);
        var exact = new double[grid.Shape[0]];
        for (int i = 0; i < exact.Length; i++) exact[i] = Poisson2d.Exact(grid.Data[2 * i], grid.Data[2 * i + 1]);
        return (grid, exact);
    }

    protected override IEnumerable<string> Plot(PinnProblem objective, double[] theta, string directory)
    {
        int n = 48;
        var grid = Reporting.Grid(n);
        var u = objective.Predict(theta, grid).Data;
        var err = new double[u.Length];
        for (int i = 0; i < u.Length; i++) err[i] = Math.Abs(u[i] - Poisson2d.Exact(grid.Data[2 * i], grid.Data[2 * i + 1]));
        yield return Reporting.Heat(directory, "solution.svg", "plate: deflection u(x, y)", Reporting.AsGrid(u, n), (0, 1), (0, 1));
        yield return Reporting.Heat(directory, "error.svg", "plate: |u − u*|", Reporting.AsGrid(err, n), (0, 1), (0, 1));
    }

    protected override IEnumerable<(string, string)> Details(PinnConfig config) =>
        [("operator", "exact biharmonic, 5 four-jets (collapsed)")];
}
