using System.Diagnostics;
using System.Globalization;
using System.Text;
using JetSharp.Control;
using JetSharp.Runtime;

namespace JetSharp.Benchmarks;

/// <summary>
/// A residual tanh network h ← h + tanh(h·W_l + b_l), l = 1..L, between an input layer tanh(x·W_in) and a
/// linear read-out, written two ways: as one <c>scan</c> over stacked weights [L, H, H] and [L, 1, H], and
/// unrolled (L copies of the block). Both compute the same function with the same weights.
/// </summary>
/// <param name="Blocks">L, the number of residual blocks.</param>
/// <param name="Dimension">D, the input dimension.</param>
/// <param name="Hidden">H, the width of the residual stream.</param>
/// <param name="Seed">Seed of the weights.</param>
public sealed record ResidualScanModel(int Blocks, int Dimension, int Hidden, long Seed = 1)
{
    private NDArray<double> Weights => Scale(NDArray.RandomNormal<double>(new Shape(Blocks, Hidden, Hidden), Seed), 1 / Math.Sqrt(Hidden));
    private NDArray<double> Biases => Scale(NDArray.RandomNormal<double>(new Shape(Blocks, 1, Hidden), Seed + 1), 0.1);
    private NDArray<double> InputWeights => NDArray.RandomNormal<double>(new Shape(Dimension, Hidden), Seed + 2);
    private NDArray<double> ReadOut => Scale(NDArray.RandomNormal<double>(new Shape(Hidden, 1), Seed + 3), 1 / Math.Sqrt(Hidden));

    private static NDArray<double> Scale(NDArray<double> a, double s)
    {
        for (int i = 0; i < a.Size; i++) a.Data[i] *= s;
        return a;
    }

    private static Node Block(Node h, Node w, Node b) => h + Fn.Tanh(Fn.MatMul(h, w) + b);

    /// <summary>The network with its blocks as one scan.</summary>
    public Func<Node, Node> Scan
    {
        get
        {
            var (w, b, win, wout) = (Weights, Biases, InputWeights, ReadOut);
            return x =>
            {
                var g = x.Graph;
                var h = Fn.Tanh(Fn.MatMul(x, g.Constant(win)));
                h = Tracer.Scan((c, xs) => [Block(c[0], xs[0], xs[1])], [h], [g.Constant(w), g.Constant(b)])[0];
                return Fn.MatMul(h, g.Constant(wout));
            };
        }
    }

    /// <summary>The network with its blocks unrolled (L copies).</summary>
    public Func<Node, Node> Unrolled
    {
        get
        {
            var (w, b, win, wout) = (Weights, Biases, InputWeights, ReadOut);
            NDArray<double> Slice(NDArray<double> a, int l)
            {
                var shape = new Shape(a.Shape.ToArray()[1..]);
                return new NDArray<double>(shape, a.Data.AsSpan(l * shape.Size, shape.Size).ToArray());
            }
            return x =>
            {
                var g = x.Graph;
                var h = Fn.Tanh(Fn.MatMul(x, g.Constant(win)));
                for (int l = 0; l < Blocks; l++) h = Block(h, g.Constant(Slice(w, l)), g.Constant(Slice(b, l)));
                return Fn.MatMul(h, g.Constant(wout));
            };
        }
    }
}

/// <summary>One comparison of the collapsed Laplacian of <see cref="ResidualScanModel"/> as a scan and unrolled.</summary>
/// <param name="ScanNodes">Nodes of the collapsed Laplacian with the scan, its body's nodes included (once).</param>
/// <param name="UnrolledNodes">Nodes of the unrolled collapsed Laplacian.</param>
/// <param name="ScanBuildSeconds">Trace + jet + simplify + compile, with the scan (best of the repeats).</param>
/// <param name="UnrolledBuildSeconds">The same, unrolled.</param>
/// <param name="ScanRunSeconds">One evaluation on the batch, with the scan (best of the repeats).</param>
/// <param name="UnrolledRunSeconds">The same, unrolled.</param>
/// <param name="MaxDifference">max |Δ_scan − Δ_unrolled| over the batch.</param>
public sealed record ScanLaplacianRow(int ScanNodes, int UnrolledNodes, double ScanBuildSeconds, double UnrolledBuildSeconds,
    double ScanRunSeconds, double UnrolledRunSeconds, double MaxDifference);

/// <summary>Peak memory of reverse mode through a long scan.</summary>
/// <param name="Steps">L, the number of steps.</param>
/// <param name="StoredBytes">Peak live bytes of the gradient, the scan storing every state.</param>
/// <param name="CheckpointedBytes">The same with a checkpoint every ⌈√L⌉ steps.</param>
/// <param name="UnrolledBytes">The same for the unrolled loop (L copies of the step).</param>
/// <param name="StateBytes">Bytes of one state (the carry).</param>
public sealed record ScanMemoryRow(int Steps, long StoredBytes, long CheckpointedBytes, long UnrolledBytes, long StateBytes);

/// <summary>
/// The control-flow benchmarks (issue 18): graph size, build and run time of the collapsed Laplacian of a
/// residual network with its blocks as a scan versus unrolled, and the peak memory of reverse mode through
/// a 1,000-step scan with and without checkpointing versus the unrolled loop.
/// </summary>
public static class ControlFlowBenchmark
{
    /// <summary>Nodes of <paramref name="g"/> that its outputs reach, plus those of every body its ops hold (each distinct body once).</summary>
    public static int CountNodes(Graph g)
    {
        ArgumentNullException.ThrowIfNull(g);
        var seen = new HashSet<Graph>(ReferenceEqualityComparer.Instance);
        int Count(Graph h)
        {
            if (!seen.Add(h)) return 0;
            var live = GraphWalk.Reachable(h);
            return live.Count + live.Select(n => n.Op).OfType<ISubgraphOp>().SelectMany(s => s.Bodies).Sum(Count);
        }
        return Count(g);
    }

    /// <summary>Builds and runs the exact collapsed Laplacian of the model both ways on a batch of <paramref name="batch"/> points.</summary>
    public static ScanLaplacianRow Laplacian(ResidualScanModel model, int batch, int repeats)
    {
        ArgumentNullException.ThrowIfNull(model);
        var shape = new Shape(batch, model.Dimension);
        var x = NDArray.RandomNormal<double>(shape, 7);
        (Graph Graph, Executable Exe) Build(Func<Node, Node> f)
        {
            var g = Pde.LaplacianGraph(f, shape, DType.Float64, Strategy.Collapsed);
            return (g, new Executable(g));
        }
        var scanF = model.Scan;
        var unrolledF = model.Unrolled;
        double scanBuild = Timing.BestSeconds(() => Build(scanF), repeats);
        double unrolledBuild = Timing.BestSeconds(() => Build(unrolledF), repeats);
        var scan = Build(scanF);
        var unrolled = Build(unrolledF);
        double scanRun = Timing.BestSeconds(() => scan.Exe.Run(x), repeats);
        double unrolledRun = Timing.BestSeconds(() => unrolled.Exe.Run(x), repeats);
        var a = scan.Exe.Run(x)[0];
        var b = unrolled.Exe.Run(x)[0];
        double diff = 0;
        for (int i = 0; i < a.Size; i++) diff = Math.Max(diff, Math.Abs(a.Data[i] - b.Data[i]));
        return new ScanLaplacianRow(CountNodes(scan.Graph), CountNodes(unrolled.Graph), scanBuild, unrolledBuild, scanRun, unrolledRun, diff);
    }

    /// <summary>
    /// Peak live bytes of the gradient of Σ sin(h_L), h ← tanh(h·W) + x, over <paramref name="steps"/> steps on a
    /// state of [<paramref name="rows"/>, <paramref name="width"/>]: scan storing all states, scan with √L
    /// checkpoints, unrolled.
    /// </summary>
    public static ScanMemoryRow ReverseMemory(int steps = 1000, int rows = 64, int width = 32)
    {
        var w = NDArray.RandomNormal<double>(new Shape(width, width), 3);
        for (int i = 0; i < w.Size; i++) w.Data[i] *= 0.5 / Math.Sqrt(width);
        var shape = new Shape(rows, width);
        Node Step(Node h, Node x) => Fn.Tanh(Fn.MatMul(h, h.Graph.Constant(w))) + x;
        long Peak(Func<Node, Node> f)
        {
            var exe = new Executable(Vjp.Grad(Tracer.Function(x => Fn.Sum(Fn.Sin(f(x))), shape)));
            exe.Run(NDArray.RandomNormal<double>(shape, 5));
            return exe.LastRun.PeakLiveBytes;
        }
        long stored = Peak(x => Tracer.Scan(h => Step(h, x), x, steps, LoopCheckpointing.None));
        long checkpointed = Peak(x => Tracer.Scan(h => Step(h, x), x, steps, LoopCheckpointing.SqrtLength));
        long unrolled = Peak(x => { var h = x; for (int i = 0; i < steps; i++) h = Step(h, x); return h; });
        return new ScanMemoryRow(steps, stored, checkpointed, unrolled, shape.Size * 8L);
    }

    /// <summary>Runs both measurements and returns a report (Markdown table rows), writing progress to <paramref name="progress"/>.</summary>
    public static string Run(int blocks, int dimension, int hidden, int batch, int repeats, int steps, Action<string>? progress = null)
    {
        var model = new ResidualScanModel(blocks, dimension, hidden);
        progress?.Invoke($"collapsed Laplacian of a {blocks}-block residual network (D = {dimension}, H = {hidden}, N = {batch}), {repeats} repeats …");
        var r = Laplacian(model, batch, repeats);
        progress?.Invoke($"reverse mode through a {steps}-step scan …");
        var m = ReverseMemory(steps);
        var sb = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        sb.Append(c, $"{Environment.ProcessorCount} cores, load average {Timing.LoadAverage()}\n\n");
        sb.Append("| collapsed Laplacian, 20-block residual net | scan | unrolled | unrolled / scan |\n|---|---:|---:|---:|\n");
        sb.Append(c, $"| graph nodes (bodies included) | {r.ScanNodes} | {r.UnrolledNodes} | {r.UnrolledNodes / (double)r.ScanNodes:0.0}× |\n");
        sb.Append(c, $"| build (trace, jet, simplify, compile) | {r.ScanBuildSeconds * 1e3:0.0} ms | {r.UnrolledBuildSeconds * 1e3:0.0} ms | {r.UnrolledBuildSeconds / r.ScanBuildSeconds:0.0}× |\n");
        sb.Append(c, $"| run (N = {batch}) | {r.ScanRunSeconds * 1e3:0.00} ms | {r.UnrolledRunSeconds * 1e3:0.00} ms | scan/unrolled {r.ScanRunSeconds / r.UnrolledRunSeconds:0.00}× |\n");
        sb.Append(c, $"\nmax |Δ_scan − Δ_unrolled| = {r.MaxDifference:G3}\n\n");
        sb.Append(c, $"| reverse mode, {m.Steps}-step scan, state {m.StateBytes / 1024.0:0} KiB | peak live |\n|---|---:|\n");
        sb.Append(c, $"| scan, every state stored | {m.StoredBytes / 1048576.0:0.0} MiB |\n");
        sb.Append(c, $"| scan, checkpoint every ⌈√L⌉ steps | {m.CheckpointedBytes / 1048576.0:0.0} MiB |\n");
        sb.Append(c, $"| unrolled | {m.UnrolledBytes / 1048576.0:0.0} MiB |\n");
        return sb.ToString();
    }
}
