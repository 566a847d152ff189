using System.Globalization;
using System.Text;
using JetSharp.Simplify;

namespace JetSharp.Benchmarks;

/// <summary>The two FermiNet-style networks of the particle-sparsity benchmark.</summary>
public enum ElectronNetwork
{
    /// <summary>
    /// One stream: per-electron layers on one-electron features, orbitals with exponential envelopes, one
    /// determinant per spin block, and a pairwise Jastrow factor. Tangents stay block-sparse up to the determinants
    /// and the sum over electron pairs (the distances keep two-owner tangents).
    /// </summary>
    OneStream,

    /// <summary>
    /// Two streams: as <see cref="OneStream"/>, but every layer after the first also sees the mean of the
    /// one-electron stream over each spin and the mean of a pair stream (FermiNet's symmetric pooling), which
    /// mixes all electrons: only the input embedding stays block-sparse.
    /// </summary>
    TwoStream,

    /// <summary>
    /// <see cref="OneStream"/> without the pairwise Jastrow factor: per-electron layers, envelopes and the spin-block
    /// determinants only, so the determinants are the one place where particles mix.
    /// </summary>
    Orbitals,
}

/// <summary>One electron count: times and work of the three ways to compute the kinetic-energy Laplacian.</summary>
/// <param name="Electrons">n; x has D = 3n coordinates per datum.</param>
/// <param name="SparseSeconds">One run of the particle-sparse collapsed Laplacian with pair (two-owner) tangents (best of the repeats).</param>
/// <param name="OneOwnerSeconds">One run of the particle-sparse Laplacian with pair tangents off (pair features densify).</param>
/// <param name="DenseSeconds">One run of the dense collapsed Laplacian.</param>
/// <param name="NestedSeconds">One run of nested first-order AD (Hessian-vector products along all D directions); NaN when skipped.</param>
/// <param name="SparseFlops">Matrix-product flops of the sparse graph.</param>
/// <param name="OneOwnerFlops">Matrix-product flops of the one-owner sparse graph.</param>
/// <param name="DenseFlops">Matrix-product flops of the dense collapsed graph.</param>
/// <param name="SparseElements">Elements held by all nodes of the sparse graph (a measure of memory traffic).</param>
/// <param name="OneOwnerElements">The same for the one-owner sparse graph.</param>
/// <param name="DenseElements">The same for the dense collapsed graph.</param>
/// <param name="MaxRelativeDifference">Largest |sparse − dense| / max(1, |dense|) over the batch.</param>
/// <param name="Densifications">Where the sparse graph densified (the report).</param>
/// <param name="PairNodes">Nodes of the sparse graph's function with two-owner tangents.</param>
public sealed record SparsityRow(int Electrons, double SparseSeconds, double OneOwnerSeconds, double DenseSeconds, double NestedSeconds,
    double SparseFlops, double OneOwnerFlops, double DenseFlops, long SparseElements, long OneOwnerElements, long DenseElements,
    double MaxRelativeDifference, int Densifications, int PairNodes)
{
    /// <summary>One-owner sparse time over pair-sparse time (the gain of two-owner tangents).</summary>
    public double SpeedUpOverOneOwner => OneOwnerSeconds / SparseSeconds;

    /// <summary>Dense collapsed time over sparse time.</summary>
    public double SpeedUpOverDense => DenseSeconds / SparseSeconds;

    /// <summary>Nested time over sparse time.</summary>
    public double SpeedUpOverNested => NestedSeconds / SparseSeconds;
}

/// <summary>
/// Speed-up of declared particle sparsity (<see cref="Strategy.SparseCollapsed"/>, with and without pair tangents)
/// against the dense collapsed and the nested first-order Laplacian as the electron count n grows, on a small FermiNet-style log|ψ| built here
/// (<see cref="Network"/>): x [batch, 3n] → [batch, 1], the exact Laplacian Δ log|ψ| of the kinetic energy.
/// Each operator is compiled once per n; times are the best of the repeats after a warm-up run.
/// </summary>
public static class ParticleSparsityBenchmark
{
    /// <summary>Width of the one-electron stream.</summary>
    public const int Hidden = 32;

    /// <summary>Width of the pair stream (two-stream network).</summary>
    public const int PairHidden = 8;

    /// <summary>The electron counts of the issue: 2, 4, 8, 16, 32.</summary>
    public static IReadOnlyList<int> DefaultElectrons { get; } = [2, 4, 8, 16, 32];

    private static Node Weights(Graph g, int rows, int cols, long seed)
    {
        var w = NDArray.RandomNormal<double>(new Shape(rows, cols), seed);
        double scale = 1 / Math.Sqrt(rows);
        for (int i = 0; i < w.Size; i++) w.Data[i] *= scale;
        return g.Constant(w);
    }

    /// <summary>
    /// log|ψ(x)| of a FermiNet-style network for n electrons (⌈n/2⌉ spin up) around one nucleus at the origin:
    /// features (r_i, |r_i|), two per-electron tanh layers of width <see cref="Hidden"/> (with pooled means for
    /// <see cref="ElectronNetwork.TwoStream"/>), orbitals φ_k(r_i) = (h_i W)_k·exp(−|r_i|) per spin block,
    /// log|det| of each block, and (except for <see cref="ElectronNetwork.Orbitals"/>) a Jastrow Σ_{i&lt;j} s_ij / (2(1 + s_ij)) with s_ij = sqrt(|r_i − r_j|² + 1).
    /// </summary>
    public static Func<Node, Node> Network(ElectronNetwork kind, int electrons) => x =>
    {
        var g = x.Graph;
        int n = electrons, batch = x.Shape[0], up = (n + 1) / 2, down = n - up;
        var r = Fn.Reshape(x, batch, n, 3);
        var radius = Fn.Sqrt(Fn.Sum(r * r, [2], keepDims: true) + 1e-2);                    // [N, n, 1]
        var features = Fn.Concat(2, r, radius);                                              // [N, n, 4]
        var h = Fn.Tanh(Fn.MatMul(features, Weights(g, 4, Hidden, 1)) + Weights(g, 1, Hidden, 2));
        Node? diff = null, distance = null;
        if (kind != ElectronNetwork.Orbitals)
        {
            diff = Fn.Reshape(r, batch, n, 1, 3) - Fn.Reshape(r, batch, 1, n, 3);              // [N, n, n, 3]
            distance = Fn.Sqrt(Fn.Sum(diff * diff, [3], keepDims: true) + 1.0);                // [N, n, n, 1]
        }
        if (kind == ElectronNetwork.TwoStream)
        {
            var pair = Fn.Tanh(Fn.MatMul(Fn.Concat(3, diff!, distance!), Weights(g, 4, PairHidden, 3)));   // [N, n, n, P]
            var pairMean = Fn.Mean(pair, [2]);                                                // [N, n, P]
            var upMean = Fn.BroadcastTo(Fn.Mean(Fn.Slice(h, 1, 0, up), [1], keepDims: true), new Shape(batch, n, Hidden));
            var mixed = Fn.Concat(2, h, upMean, pairMean);
            if (down > 0)
                mixed = Fn.Concat(2, mixed, Fn.BroadcastTo(Fn.Mean(Fn.Slice(h, 1, up, down), [1], keepDims: true), new Shape(batch, n, Hidden)));
            h = h + Fn.Tanh(Fn.MatMul(mixed, Weights(g, mixed.Shape[2], Hidden, 4)));
        }
        else
            h = h + Fn.Tanh(Fn.MatMul(h, Weights(g, Hidden, Hidden, 4)));
        var envelope = Fn.Exp(-radius);                                                      // [N, n, 1]
        Node LogDet(int start, int count, long seed) =>
            Linalg.LogAbsDet(Fn.MatMul(Fn.Slice(h, 1, start, count), Weights(g, Hidden, count, seed)) * Fn.Slice(envelope, 1, start, count));
        var logPsi = LogDet(0, up, 5);
        if (down > 0) logPsi = logPsi + LogDet(up, down, 6);
        if (distance is null) return Fn.Reshape(logPsi, batch, 1);
        var jastrow = 0.25 * Fn.Sum(distance / (1.0 + distance), [1, 2, 3]);                 // Σ_{i≠j} / 2, i = j adds a constant
        return Fn.Reshape(logPsi + jastrow, batch, 1);
    };

    /// <summary>
    /// Compiles and times the four Laplacians (pair-sparse, one-owner sparse, dense collapsed, nested) for each electron count; <paramref name="progress"/> receives a line per n.
    /// Nested first-order AD is skipped (NaN) above <paramref name="nestedUpTo"/> electrons.
    /// </summary>
    /// <exception cref="ArgumentException">No electron counts, a count below 2, a batch or repeat count below 1.</exception>
    public static IReadOnlyList<SparsityRow> Measure(ElectronNetwork kind, IReadOnlyList<int> electrons, int batch = 8, int repeats = 3,
        int nestedUpTo = int.MaxValue, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(electrons);
        if (electrons.Count == 0 || electrons.Any(e => e < 2))
            throw new ArgumentException($"particle sparsity benchmark: electron counts must be ≥ 2, got [{string.Join(", ", electrons)}].", nameof(electrons));
        if (batch < 1 || repeats < 1)
            throw new ArgumentException($"particle sparsity benchmark: batch ({batch}) and repeats ({repeats}) must be ≥ 1.");
        var laplacian = DifferentialOperator.Laplacian();
        var rows = new List<SparsityRow>();
        foreach (int n in electrons)
        {
            var f = Network(kind, n);
            var shape = new Shape(batch, 3 * n);
            var x = NDArray.RandomNormal<double>(shape, 7 + n);
            var sparse = laplacian.Compile(f, shape, DType.Float64, Strategy.SparseCollapsed(ParticleSparsity.Coordinates(3)));
            var oneOwner = laplacian.Compile(f, shape, DType.Float64, Strategy.SparseCollapsed(ParticleSparsity.Coordinates(3) with { PairTangents = false }));
            var dense = laplacian.Compile(f, shape, DType.Float64, Strategy.Collapsed);
            NDArray<double>? ys = null, yd = null, yo = null;
            double ts = Timing.BestSeconds(() => ys = sparse.Run(x), repeats);
            double to = Timing.BestSeconds(() => yo = oneOwner.Run(x), repeats);
            double td = Timing.BestSeconds(() => yd = dense.Run(x), repeats);
            double tn = double.NaN;
            if (n <= nestedUpTo)
            {
                var nested = laplacian.Compile(f, shape, DType.Float64, Strategy.NestedFirstOrder);
                tn = Timing.BestSeconds(() => nested.Run(x), repeats);
            }
            double diff = 0;
            for (int i = 0; i < ys!.Size; i++)
                diff = Math.Max(diff, Math.Max(Math.Abs(ys.Data[i] - yd!.Data[i]), Math.Abs(yo!.Data[i] - yd.Data[i])) / Math.Max(1, Math.Abs(yd.Data[i])));
            var row = new SparsityRow(n, ts, to, td, tn,
                GraphStats.Of(sparse.Graph, batch).MatMulFlops, GraphStats.Of(oneOwner.Graph, batch).MatMulFlops, GraphStats.Of(dense.Graph, batch).MatMulFlops,
                Elements(sparse.Graph), Elements(oneOwner.Graph), Elements(dense.Graph), diff,
                sparse.SparsityReport!.Densifications.Count, sparse.SparsityReport.PairNodes);
            rows.Add(row);
            progress?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"n = {n}: pair-sparse {ts * 1e3:F2} ms, one-owner sparse {to * 1e3:F2} ms, dense collapsed {td * 1e3:F2} ms, nested {tn * 1e3:F2} ms ({row.SpeedUpOverDense:F2}× over dense)"));
        }
        return rows;
    }

    private static long Elements(Graph g) => GraphWalk.Reachable(g).Sum(node => node.Shape.Size);

    /// <summary>The densification report of the sparse Laplacian of the network for <paramref name="electrons"/> electrons.</summary>
    public static SparsityReport Report(ElectronNetwork kind, int electrons, int batch = 2)
    {
        var strategy = Strategy.SparseCollapsed(ParticleSparsity.Coordinates(3));
        var op = DifferentialOperator.Laplacian().Compile(Network(kind, electrons), new Shape(batch, 3 * electrons), DType.Float64, strategy);
        return op.SparsityReport!;
    }

    /// <summary>A Markdown table of <paramref name="rows"/>.</summary>
    public static string Format(ElectronNetwork kind, IReadOnlyList<SparsityRow> rows, int batch)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"Δ log|ψ| of the {kind} FermiNet-style network (width {Hidden}), batch {batch}, float64; time = best run after a warm-up.");
        sb.AppendLine();
        sb.AppendLine("sparse = pair-sparse (one- and two-owner tangents); one-owner = pair tangents off (pair features dense).");
        sb.AppendLine();
        sb.AppendLine("| n | D | sparse (ms) | one-owner (ms) | dense collapsed (ms) | nested (ms) | one-owner / sparse | dense / sparse | nested / sparse | " +
            "matmul flops dense / sparse | elements one-owner / sparse | elements dense / sparse | pair nodes | densified nodes | max rel. diff |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
            sb.AppendLine(c, $"| {r.Electrons} | {3 * r.Electrons} | {r.SparseSeconds * 1e3:F2} | {r.OneOwnerSeconds * 1e3:F2} | {r.DenseSeconds * 1e3:F2} | " +
                $"{(double.IsNaN(r.NestedSeconds) ? "–" : (r.NestedSeconds * 1e3).ToString("F2", c))} | {r.SpeedUpOverOneOwner:F2} | " +
                $"{r.SpeedUpOverDense:F2} | {(double.IsNaN(r.NestedSeconds) ? "–" : r.SpeedUpOverNested.ToString("F2", c))} | {r.DenseFlops / r.SparseFlops:F2} | " +
                $"{(double)r.OneOwnerElements / r.SparseElements:F2} | {(double)r.DenseElements / r.SparseElements:F2} | {r.PairNodes} | {r.Densifications} | {r.MaxRelativeDifference:E1} |");
        return sb.ToString();
    }
}
