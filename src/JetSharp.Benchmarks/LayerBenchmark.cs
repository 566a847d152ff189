using System.Globalization;
using System.Text;
using JetSharp.Nn;
using JetSharp.Runtime;

namespace JetSharp.Benchmarks;

/// <summary>One network of the layer benchmark: its name, the module and its input dimension D.</summary>
public sealed record LayerNetwork(string Name, Module Module, int Dimension);

/// <summary>One network's collapsed and standard Laplacians: marginal times per datum and their ratio against the vector ratio.</summary>
/// <param name="Network">The network.</param>
/// <param name="StandardSeconds">Standard Taylor mode, seconds per datum (slope over the batch grid).</param>
/// <param name="CollapsedSeconds">Collapsed Taylor mode, seconds per datum.</param>
/// <param name="MaxRelativeDifference">max |Δ_collapsed − Δ_standard| / max(1, max |Δ_standard|) over the grid.</param>
public sealed record LayerRatio(LayerNetwork Network, double StandardSeconds, double CollapsedSeconds, double MaxRelativeDifference)
{
    /// <summary>(2 + D) / (1 + 2D): vectors a hidden layer propagates, collapsed over standard (METHOD.md §3).</summary>
    public double VectorRatio => (2.0 + Network.Dimension) / (1 + 2.0 * Network.Dimension);
    /// <summary>Collapsed over standard time per datum.</summary>
    public double TimeRatio => CollapsedSeconds / StandardSeconds;
}

/// <summary>The collapsed Laplacian of one network run with and without the runtime's fusion of elementwise trees.</summary>
/// <param name="Network">The network.</param>
/// <param name="Batch">N.</param>
/// <param name="FusedSeconds">Best time with fusion (the default).</param>
/// <param name="ComposedSeconds">Best time node by node.</param>
/// <param name="FusedBytes">Peak live bytes with fusion.</param>
/// <param name="ComposedBytes">Peak live bytes node by node.</param>
/// <param name="FusedKernels">Fused kernels and the graph nodes they replace.</param>
/// <param name="MaxRelativeDifference">Between the two runs' results.</param>
public sealed record FusionResult(LayerNetwork Network, int Batch, double FusedSeconds, double ComposedSeconds, long FusedBytes, long ComposedBytes,
    (int Kernels, int Nodes) FusedKernels, double MaxRelativeDifference);

/// <summary>
/// Collapsing beyond the MLP: the exact Laplacian of a residual network with LayerNorm and RMSNorm blocks and of
/// a self-attention network over particles, in standard and collapsed Taylor mode (the time ratio against the
/// vector ratio, issue 17's target: within 0.1), and the same collapsed Laplacians with the building blocks'
/// elementwise parts (layer norm's centring and scaling, softmax's exponentials and division) run as fused
/// kernels against node by node — the measurement behind writing those blocks as compositions.
/// </summary>
public static class LayerBenchmark
{
    /// <summary>The two networks: a residual LayerNorm/RMSNorm tanh network and a self-attention network over particles.</summary>
    public static IReadOnlyList<LayerNetwork> Networks(bool quick)
    {
        int d = quick ? 6 : 16, width = quick ? 32 : 128, particles = quick ? 3 : 4, attWidth = quick ? 16 : 32;
        var blocks = new List<Module> { new Linear(d, width), new Lambda("tanh", Fn.Tanh) };
        for (int l = 0; l < (quick ? 2 : 4); l++)
            blocks.Add(new Residual(new Sequential(l % 2 == 0 ? new LayerNorm(width) : new RmsNorm(width), new Linear(width, width), new Lambda("tanh", Fn.Tanh))));
        blocks.Add(new Linear(width, 1));
        var residual = new Sequential([.. blocks]).Initialize(seed: 21);
        var attention = new Sequential(
            new Lambda("particles", x => Fn.Reshape(x, x.Shape[0], particles, 3)),
            new Linear(3, attWidth), new Lambda("tanh", Fn.Tanh),
            new Residual(new MultiHeadSelfAttention(attWidth, 4)),
            new LayerNorm(attWidth),
            new Residual(new MultiHeadSelfAttention(attWidth, 4)),
            new Lambda("pool", h => Fn.Mean(h, 1)),
            new Linear(attWidth, 1)).Initialize(seed: 22);
        return [new($"residual LayerNorm/RMSNorm, D = {d}, width {width}", residual, d),
                new($"self-attention, {particles} particles (D = {3 * particles}), width {attWidth}", attention, 3 * particles)];
    }

    /// <summary>Collapsed and standard Laplacian of <paramref name="network"/> over the batch grid.</summary>
    public static LayerRatio Ratio(LayerNetwork network, int[] batches, int repeats)
    {
        var times = new Dictionary<Strategy, List<(double N, double Seconds)>> { [Strategy.StandardTaylor] = [], [Strategy.Collapsed] = [] };
        double diff = 0;
        foreach (int n in batches)
        {
            var x = NDArray.RandomNormal<double>(new Shape(n, network.Dimension), seed: n);
            NDArray<double>? reference = null;
            foreach (var strategy in times.Keys)
            {
                var exe = new Executable(Pde.LaplacianGraph(network.Module.Apply, x.Shape, DType.Float64, strategy));
                var y = exe.Run(x)[0];
                times[strategy].Add((n, Timing.BestSeconds(() => exe.Run(x), repeats)));
                if (reference is null) reference = y;
                else diff = Math.Max(diff, RelativeDifference(reference, y));
            }
        }
        return new LayerRatio(network, OperatorBenchmark.Slope(times[Strategy.StandardTaylor]), OperatorBenchmark.Slope(times[Strategy.Collapsed]), diff);
    }

    /// <summary>The collapsed Laplacian of <paramref name="network"/> at batch <paramref name="n"/>, fused and node by node.</summary>
    public static FusionResult Fusion(LayerNetwork network, int n, int repeats)
    {
        var x = NDArray.RandomNormal<double>(new Shape(n, network.Dimension), seed: 5);
        var graph = Pde.LaplacianGraph(network.Module.Apply, x.Shape, DType.Float64, Strategy.Collapsed);
        var fused = new Executable(graph, fuse: true);
        var composed = new Executable(graph, fuse: false);
        var a = fused.Run(x)[0];
        var b = composed.Run(x)[0];
        double tf = Timing.BestSeconds(() => fused.Run(x), repeats);
        long bf = fused.LastRun.PeakLiveBytes;
        double tc = Timing.BestSeconds(() => composed.Run(x), repeats);
        long bc = composed.LastRun.PeakLiveBytes;
        return new FusionResult(network, n, tf, tc, bf, bc, fused.Fusion, RelativeDifference(b, a));
    }

    private static double RelativeDifference(NDArray<double> reference, NDArray<double> y)
    {
        double scale = 1, worst = 0;
        for (int i = 0; i < reference.Size; i++) scale = Math.Max(scale, Math.Abs(reference.Data[i]));
        for (int i = 0; i < reference.Size; i++) worst = Math.Max(worst, Math.Abs(reference.Data[i] - y.Data[i]));
        return worst / scale;
    }

    /// <summary>Runs both measurements for both networks and returns the report (markdown tables); <paramref name="progress"/> hears each step.</summary>
    public static string Run(bool quick, int repeats, Action<string>? progress = null)
    {
        int[] batches = quick ? [4, 8] : [8, 16, 32, 64];
        int fusionBatch = quick ? 8 : 64;
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"{Environment.ProcessorCount} cores, load average {Timing.LoadAverage()}, float64, exact Laplacian, best of {repeats} per point, slope over N ∈ {{{string.Join(", ", batches)}}}");
        sb.AppendLine();
        sb.AppendLine("| network | standard (ms / datum) | collapsed (ms / datum) | time ratio | vector ratio (2 + D)/(1 + 2D) | |time − vector| | within 0.1 | max rel. diff |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---|---:|");
        var networks = Networks(quick);
        foreach (var net in networks)
        {
            progress?.Invoke($"{net.Name}: standard and collapsed Laplacian …");
            var r = Ratio(net, batches, repeats);
            double gap = Math.Abs(r.TimeRatio - r.VectorRatio);
            sb.AppendLine(inv, $"| {net.Name} | {r.StandardSeconds * 1e3:0.000} | {r.CollapsedSeconds * 1e3:0.000} | {r.TimeRatio:0.00} | {r.VectorRatio:0.00} | {gap:0.00} | {(gap <= 0.1 ? "met" : "missed")} | {r.MaxRelativeDifference:0.0E+0} |");
        }
        sb.AppendLine();
        sb.AppendLine(inv, $"| collapsed Laplacian, N = {fusionBatch} | fused trees | node by node | node by node / fused | peak fused | peak node by node | fused kernels (nodes) | max rel. diff |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var net in networks)
        {
            progress?.Invoke($"{net.Name}: fused vs node by node …");
            var f = Fusion(net, fusionBatch, repeats);
            sb.AppendLine(inv, $"| {net.Name} | {f.FusedSeconds * 1e3:0.000} ms | {f.ComposedSeconds * 1e3:0.000} ms | {f.ComposedSeconds / f.FusedSeconds:0.00}× | {Mib(f.FusedBytes)} | {Mib(f.ComposedBytes)} | {f.FusedKernels.Kernels} ({f.FusedKernels.Nodes}) | {f.MaxRelativeDifference:0.0E+0} |");
        }
        return sb.ToString();
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("0.00 MiB", CultureInfo.InvariantCulture);
}
