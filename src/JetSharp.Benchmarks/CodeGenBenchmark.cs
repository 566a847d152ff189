using System.Diagnostics;
using JetSharp.CodeGen;
using JetSharp.Nn;
using JetSharp.Nn.Pinn;
using JetSharp.Runtime;

namespace JetSharp.Benchmarks;

/// <summary>One graph timed on both backends: medians of per-call seconds, the one-off costs of the emitted code, and the agreement.</summary>
/// <param name="Name">What the graph computes (network, problem).</param>
/// <param name="GraphNodes">Nodes of the graph.</param>
/// <param name="InterpreterSeconds">Median seconds per call of <see cref="Executable.Run{T}(NDArray{T}[], long, CancellationToken)"/>.</param>
/// <param name="EmittedSeconds">Median seconds per call of the compiled code (<see cref="EmittedGraph"/>, library kernels).</param>
/// <param name="StandaloneSeconds">Median seconds per call of the standalone (exported, plain-loop) code, or NaN when not measured.</param>
/// <param name="CompileSeconds">Emission plus Roslyn compilation of the compiled code, once.</param>
/// <param name="MaxRelativeDifference">Largest |interpreter − emitted| over the largest |interpreter| of each output.</param>
/// <param name="Samples">How many timed samples each median is taken over.</param>
/// <param name="InterpreterCpuSeconds">Median process CPU seconds per interpreter call (all threads; NaN where not measurable). Less sensitive than wall time to other processes' load.</param>
/// <param name="EmittedCpuSeconds">Median process CPU seconds per call of the compiled code.</param>
public sealed record CodeGenBenchmarkResult(string Name, int GraphNodes, double InterpreterSeconds, double EmittedSeconds, double StandaloneSeconds,
    double CompileSeconds, double MaxRelativeDifference, int Samples, double InterpreterCpuSeconds = double.NaN, double EmittedCpuSeconds = double.NaN)
{
    /// <summary>Interpreter time over emitted-code time (above 1: the emitted code is faster).</summary>
    public double Speedup => InterpreterSeconds / EmittedSeconds;

    /// <summary>One aligned line of figures.</summary>
    public override string ToString() =>
        $"{Name,-58} {GraphNodes,5} nodes  interpreter {InterpreterSeconds * 1e3,8:0.000} ms  emitted {EmittedSeconds * 1e3,8:0.000} ms  " +
        $"({Speedup:0.00}×)  standalone {(double.IsNaN(StandaloneSeconds) ? "      —" : $"{StandaloneSeconds * 1e3,8:0.000} ms")}  " +
        $"cpu {InterpreterCpuSeconds * 1e3:0.000} / {EmittedCpuSeconds * 1e3:0.000} ms ({InterpreterCpuSeconds / EmittedCpuSeconds:0.00}×)  " +
        $"compile {CompileSeconds * 1e3:0} ms  max rel. diff {MaxRelativeDifference:0.0E+0}";
}

/// <summary>
/// Interpreter (<see cref="Executable"/>) against emitted, Roslyn-compiled C# (<see cref="EmittedGraph"/>) on
/// the same graph with the same inputs. What is timed is one call on prepared inputs — no tracing, emission,
/// compilation or input conversion — and both backends return fresh output arrays (the interpreter allocates
/// from its pool, the emitted code reuses per-thread buffers and copies the outputs). Each timed sample runs
/// enough calls to last about 20 ms and divides; the median over the samples is reported, the backends
/// alternating sample by sample so that load from other processes falls on both alike.
/// </summary>
public static class CodeGenBenchmark
{
    /// <summary>Times <paramref name="graph"/> on both backends (and the standalone loops when <paramref name="standalone"/>); throws when they disagree beyond 1e-10.</summary>
    public static CodeGenBenchmarkResult Compare(string name, Graph graph, NDArray<double>[] inputs, int samples = 15, bool standalone = true)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentOutOfRangeException.ThrowIfLessThan(samples, 1);
        var interpreter = Executable.Compile(graph);
        long t0 = Stopwatch.GetTimestamp();
        var emitted = EmittedGraph.Compile(graph, new EmitOptions { ClassName = "Bench" });
        double compile = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var loops = standalone ? EmittedGraph.Compile(graph, new EmitOptions { ClassName = "BenchLoops", UseLibraryKernels = false }) : null;

        var expected = interpreter.Run<double>(inputs, 0);
        double diff = Math.Max(Difference(expected, emitted.Run<double>(inputs, 0)), loops is null ? 0 : Difference(expected, loops.Run<double>(inputs, 0)));
        if (!(diff <= 1e-10))
            throw new InvalidOperationException($"CodeGenBenchmark ({name}): the backends disagree (max relative difference {diff:E2}).");

        var actions = new List<Action> { () => interpreter.Run<double>(inputs, 0), () => emitted.Run<double>(inputs, 0) };
        if (loops is not null) actions.Add(() => loops.Run<double>(inputs, 0));
        var (medians, cpu) = MedianSeconds(actions, samples);
        return new CodeGenBenchmarkResult(name, graph.Nodes.Count, medians[0], medians[1], loops is null ? double.NaN : medians[2], compile, diff, samples,
            cpu[0], cpu[1]);
    }

    /// <summary>
    /// Median seconds per call of each action: a warm-up (0.3 s of calls), a calibration of the calls per sample (about 20 ms),
    /// then <paramref name="samples"/> rounds in which every action takes one sample in turn. Returns the wall
    /// seconds and the process CPU seconds (all threads; NaN off Linux) per call.
    /// </summary>
    public static (double[] Wall, double[] Cpu) MedianSeconds(IReadOnlyList<Action> actions, int samples)
    {
        var calls = new int[actions.Count];
        for (int a = 0; a < actions.Count; a++)
        {
            // Warm-up of 0.3 s: .NET's tiered JIT recompiles hot methods after ~30 calls and a short delay, so
            // without it the first graph timed in a process runs partly in unoptimised code.
            for (long w = Stopwatch.GetTimestamp(); Stopwatch.GetElapsedTime(w).TotalSeconds < 0.3;) actions[a]();
            long t = Stopwatch.GetTimestamp();
            actions[a]();
            double once = Math.Max(1e-7, Stopwatch.GetElapsedTime(t).TotalSeconds);
            calls[a] = (int)Math.Clamp(0.02 / once, 1, 100_000);
        }
        var times = actions.Select(_ => new double[samples]).ToArray();
        var cpu = actions.Select(_ => new double[samples]).ToArray();
        for (int s = 0; s < samples; s++)
            for (int a = 0; a < actions.Count; a++)
            {
                double c0 = Timing.ProcessCpuSeconds();
                long t = Stopwatch.GetTimestamp();
                for (int c = 0; c < calls[a]; c++) actions[a]();
                times[a][s] = Stopwatch.GetElapsedTime(t).TotalSeconds / calls[a];
                cpu[a][s] = (Timing.ProcessCpuSeconds() - c0) / calls[a];
            }
        return ([.. times.Select(Timing.Median)], [.. cpu.Select(Timing.Median)]);
    }

    private static double Difference(NDArray<double>[] expected, NDArray<double>[] actual)
    {
        double diff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double scale = Math.Max(1e-300, expected[i].Data.Length == 0 ? 1 : expected[i].Data.Max(Math.Abs));
            for (int j = 0; j < expected[i].Size; j++) diff = Math.Max(diff, Math.Abs(expected[i].Data[j] - actual[i].Data[j]) / scale);
        }
        return diff;
    }

    /// <summary>
    /// The training step of a PINN (loss and ∂loss/∂θ: the graph <see cref="PinnProblem{T}.Evaluate"/> runs) at
    /// <paramref name="theta"/> on the problem's current points.
    /// </summary>
    public static CodeGenBenchmarkResult TrainingStep(string name, PinnProblem<double> problem, double[] theta, int samples = 15) =>
        Compare($"{name} training step ({problem.Architecture}, {problem.ResidualCount} points)", problem.GradientGraph,
            [.. problem.Points, .. ParameterVector.Unflatten<double>(theta, problem.ParameterShapes)], samples);

    /// <summary>The poisson2d training step of the issue (2→32→32→1 tanh, 256 interior + 64 boundary points, float64).</summary>
    public static CodeGenBenchmarkResult Poisson2dStep(int samples = 15)
    {
        var (problem, theta) = JacobianBenchmark.Poisson2d();
        return TrainingStep("poisson2d", problem, theta, samples);
    }

    /// <summary>
    /// The forward-mode Jacobian [m, n, N] of a function given as n columns → m columns at the rows of
    /// <paramref name="x"/> [N, n] (the reference Jacobian of <c>jetsharp jacobian</c>), one evaluation.
    /// </summary>
    public static CodeGenBenchmarkResult ForwardJacobian(string name, Func<Node[], Node[]> f, NDArray<double> x, int samples = 15)
    {
        int points = x.Shape[0], n = x.Shape[1];
        var g = Tracer.Function(f, [.. Enumerable.Repeat(new Shape(points), n)], DType.Float64);
        var jg = new Graph(DType.Float64);
        var xs = GraphWalk.MirrorInputs(g, jg);
        var tangents = new Node?[n];
        for (int i = 0; i < n; i++)
        {
            var unit = new NDArray<double>(new Shape(n, points));
            for (int k = 0; k < points; k++) unit.Data[i * points + k] = 1;
            tangents[i] = jg.Constant(unit);
        }
        var (_, outs) = Jvp.Apply(g, xs, tangents, new Shape(n));
        var rows = outs.Select(t => Fn.ExpandDims(t ?? Fn.Zeros(jg, new Shape(n, points)), 0)).ToArray();
        jg.SetOutputs(rows.Length == 1 ? rows[0] : Fn.Concat(0, rows));
        var columns = new NDArray<double>[n];
        for (int i = 0; i < n; i++)
        {
            columns[i] = new NDArray<double>(new Shape(points));
            for (int k = 0; k < points; k++) columns[i].Data[k] = x.Data[k * n + i];
        }
        return Compare($"{name} forward-mode Jacobian, {points} points", jg, columns, samples);
    }

    /// <summary>
    /// The paper's large network: the collapsed exact Laplacian of the tanh MLP D → 768 → 768 → 512 → 512 → 1
    /// (<see cref="OperatorBenchmark.Hidden"/>), D = 50, at <paramref name="points"/> points, weights as
    /// constants. GEMM-dominated: the emitted code calls the same GEMM as the interpreter.
    /// </summary>
    public static CodeGenBenchmarkResult LargeMlpLaplacian(int points = 16, int samples = 5)
    {
        const int d = 50;
        var net = Mlp.Create(d, OperatorBenchmark.Hidden, 1, Activation.Tanh, seed: 1);
        var graph = Pde.LaplacianGraph(net.Apply, new Shape(points, d), DType.Float64, Strategy.Collapsed);
        var x = NDArray.RandomUniform<double>(new Shape(points, d), seed: 2, -1, 1);
        return Compare($"MLP {d}→768→768→512→512→1 collapsed Laplacian, {points} points", graph, [x], samples, standalone: false);
    }
}
