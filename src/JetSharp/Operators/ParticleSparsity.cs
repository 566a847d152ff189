using System.Runtime.CompilerServices;
using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Simplify;
using JetSharp.Transforms;

namespace JetSharp.Operators;

/// <summary>
/// Declares the particle structure of the points x [N, D]: D = G·C coordinates of G particles (electrons),
/// C consecutive columns each (C = 3 in space: particle p owns columns 3p, 3p+1, 3p+2). With it, the collapsed
/// forward Laplacian (<see cref="Strategy.SparseCollapsed"/>) keeps the tangents of per-particle quantities
/// block-sparse, C numbers per element instead of D, and densifies only where the function mixes particles,
/// reporting each place (<see cref="SparsityReport"/>).
/// </summary>
public sealed record ParticleSparsity
{
    private ParticleSparsity(int coordinates) => CoordinatesPerParticle = coordinates;

    /// <summary>Particles of <paramref name="perParticle"/> consecutive coordinates each (3 for particles in space).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="perParticle"/> is below 1.</exception>
    public static ParticleSparsity Coordinates(int perParticle = 3) => perParticle >= 1 ? new(perParticle)
        : throw new ArgumentOutOfRangeException(nameof(perParticle), perParticle, $"ParticleSparsity: a particle needs at least one coordinate, got {perParticle}.");

    /// <summary>C, the coordinates of one particle.</summary>
    public int CoordinatesPerParticle { get; }

    /// <summary>
    /// Whether pair features (values computed from two particles, such as r_i − r_j, distances and pair streams) keep
    /// two-owner tangents, 2·C numbers per element (default true). False densifies them where the two particles meet,
    /// as before two-owner tangents existed (for comparison; the results are the same).
    /// </summary>
    public bool PairTangents { get; init; } = true;

    /// <summary>Called with the report of every operator graph built with this declaration (e.g. <c>Console.WriteLine</c>); null for none.</summary>
    public Action<SparsityReport>? Log { get; init; }

    /// <summary>G = D / C particles for inputs of dimension D.</summary>
    /// <exception cref="ShapeException">D is not a multiple of C.</exception>
    public int Particles(int dimension) => dimension % CoordinatesPerParticle == 0 && dimension > 0 ? dimension / CoordinatesPerParticle
        : throw new ShapeException($"ParticleSparsity: x has D = {dimension} coordinates, not a positive multiple of {CoordinatesPerParticle} per particle.");
}

/// <summary>
/// Where and why the particle-sparse forward Laplacian densified, for one operator graph.
/// </summary>
/// <param name="Particles">G, the particles of the input.</param>
/// <param name="CoordinatesPerParticle">C, the coordinates of each.</param>
/// <param name="Densifications">Nodes of the function where block-sparse tangents became dense, with the user's
/// source line (when traced) and the reason, in graph order.</param>
/// <param name="SparseNodes">Nodes of the function whose tangents stayed block-sparse (C per element instead of G·C
/// for one owner, 2·C for pair features; see <see cref="PairNodes"/>).</param>
/// <param name="DenseNodes">Nodes with dense tangents.</param>
/// <param name="Notes">Direction families evaluated densely as a whole (directions that are not the coordinate basis).</param>
public sealed record SparsityReport(int Particles, int CoordinatesPerParticle, IReadOnlyList<Densification> Densifications,
    int SparseNodes, int DenseNodes, IReadOnlyList<string> Notes)
{
    /// <summary>Of the block-sparse nodes, those whose elements have two owners (pair features, 2·C tangents per element).</summary>
    public int PairNodes { get; init; }

    /// <summary>A listing: one line per densification, then the counts.</summary>
    public override string ToString() =>
        $"particle sparsity: {Particles} particles × {CoordinatesPerParticle} coordinates; {SparseNodes} nodes block-sparse ({PairNodes} of them pair features), {DenseNodes} dense\n" +
        string.Concat(Densifications.Select(d => $"  densified {d}\n")) + string.Concat(Notes.Select(n => $"  note: {n}\n"));

    internal SparsityReport Merge(SparsityReport other) => this with
    {
        Densifications = [.. Densifications, .. other.Densifications],
        SparseNodes = SparseNodes + other.SparseNodes,
        DenseNodes = DenseNodes + other.DenseNodes,
        PairNodes = PairNodes + other.PairNodes,
        Notes = [.. Notes, .. other.Notes],
    };
}

/// <summary>
/// <see cref="Strategy.Collapsed"/> with declared particle sparsity: directional sums along the coordinate basis
/// run through <see cref="GroupedJet"/>, and the finished graph is simplified as the collapsed one, so the
/// summed highest coefficient is propagated, block-sparse where the function is per-particle. Other direction
/// families (random, mixed) are evaluated as by <see cref="Strategy.Collapsed"/> and noted in the report.
/// </summary>
public sealed class ParticleSparseStrategy : Strategy
{
    private readonly ConditionalWeakTable<Graph, SparsityReport> _reports = new();

    internal ParticleSparseStrategy(ParticleSparsity sparsity) : base("SparseCollapsed", "particle-sparse collapsed Taylor") => Sparsity = sparsity;

    /// <summary>The declared particle structure.</summary>
    public ParticleSparsity Sparsity { get; }

    /// <summary>The report of a graph this strategy built and finished (as returned by <see cref="DifferentialOperator.Build"/>), or null.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="graph"/> is null.</exception>
    public override SparsityReport? SparsityReportFor(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return _reports.TryGetValue(graph, out var r) ? r : null;
    }

    private protected override Node EmitDirectionalSum(Graph f, IReadOnlyList<Node> inputs, Node directions, int order)
    {
        var x = inputs[0];
        int c = Sparsity.CoordinatesPerParticle, particles = Sparsity.Particles(x.Shape[1]), n = x.Shape[0];
        if (!IsCoordinateBasis(directions))
        {
            Record(x.Graph, new(particles, c, [], 0, 0, [$"directions {directions.Shape} of order {order} are not the coordinate basis: evaluated densely"]));
            return DirectionalSums.StandardTaylor(f, inputs, directions, order);
        }
        // Component k of coordinate j is δ(k, j mod C): the basis of each particle's own coordinates.
        var own = Fn.Reshape(Fn.BroadcastTo(IdentityMatrixOp.Emit(x.Graph, c, new Shape(c, 1, 1, c)), new Shape(c, n, particles, c)), c, n, particles * c);
        var coefs = inputs.Select((_, i) => new Node?[order]).ToArray();
        coefs[0][0] = own;
        AxisGroups?[] groups = [new AxisGroups(1, c, 0), .. inputs.Skip(1).Select(_ => (AxisGroups?)null)];
        var jet = GroupedJet.Apply(f, inputs, coefs, groups, order, c, particles, Sparsity.PairTangents ? 2 : 1);
        Record(x.Graph, new(particles, c, jet.Densifications, jet.SparseNodes, jet.DenseNodes, []) { PairNodes = jet.PairNodes });
        // Summing block-sparse components over their prefix sums every direction: the others are zero.
        var top = jet.Outputs[0][order];
        return top is null ? Fn.Zeros(x.Graph, f.Outputs[0].Shape) : Fn.Sum(top, 0);
    }

    private static bool IsCoordinateBasis(Node directions) =>
        directions.Op is BroadcastToOp && IdentityMatrixOp.IsIdentity(directions.Inputs[0], out int size) && size == directions.Shape[^1];

    private void Record(Graph g, SparsityReport report)
    {
        var merged = _reports.TryGetValue(g, out var before) ? before.Merge(report) : report;
        _reports.AddOrUpdate(g, merged);
    }

    private protected override Graph FinishChecked(Graph g)
    {
        var finished = Simplifier.Simplify(g);
        if (_reports.TryGetValue(g, out var report))
        {
            _reports.AddOrUpdate(finished, report);
            Sparsity.Log?.Invoke(report);
        }
        return finished;
    }
}
