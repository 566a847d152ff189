using System.Diagnostics;
using JetSharp.CodeGen;
using JetSharp.Nn;
using JetSharp.Runtime;

namespace JetSharp.Benchmarks;

/// <summary>Size of the interpreter-vs-emitted-code comparison; the defaults are the poisson2d example's network and batch.</summary>
public sealed record CodeGenBenchmarkOptions
{
    public int Dimension { get; init; } = 2;
    public int[] Hidden { get; init; } = [32, 32];
    public int Points { get; init; } = 256;
    public int Repeats { get; init; } = 20;
    public Strategy Strategy { get; init; } = Strategy.Collapsed;
}

/// <summary>Best-of-repeats seconds per evaluation of both backends, the one-off costs of the emitted one, and their agreement.</summary>
public sealed record CodeGenBenchmarkResult(string Network, int Points, int GraphNodes, double InterpreterSeconds, double EmittedSeconds,
    double EmitSeconds, double CompileSeconds, double MaxRelativeDifference)
{
    /// <summary>Interpreter time over emitted-code time (above 1: the emitted code is faster).</summary>
    public double Speedup => InterpreterSeconds / EmittedSeconds;

    public override string ToString() =>
        $"{Network}, value+gradient+Laplacian at {Points} points ({GraphNodes} nodes): interpreter {InterpreterSeconds * 1e3:F3} ms, " +
        $"emitted C# {EmittedSeconds * 1e3:F3} ms, ratio {Speedup:F2}x; emit {EmitSeconds * 1e3:F0} ms + Roslyn compile {CompileSeconds * 1e3:F0} ms once; " +
        $"max relative difference {MaxRelativeDifference:E1}";
}

/// <summary>
/// Times the interpreter (<see cref="Executable"/>) against the emitted and Roslyn-compiled C#
/// (<see cref="EmittedGraph"/>) on the value, gradient and Laplacian of a tanh MLP — the graph a PINN
/// evaluates at every step. Both run the same graph (built once, untimed); each is warmed up, then the
/// best of <see cref="CodeGenBenchmarkOptions.Repeats"/> runs is kept (<see cref="Timing.BestSeconds"/>).
/// </summary>
public static class CodeGenBenchmark
{
    public static CodeGenBenchmarkResult Run(CodeGenBenchmarkOptions? options = null)
    {
        var o = options ?? new CodeGenBenchmarkOptions();
        var net = Mlp.Create(o.Dimension, o.Hidden, 1, Activation.Tanh, seed: 1);
        var x = NDArray.RandomUniform<double>(new Shape(o.Points, o.Dimension), seed: 2, -1, 1);
        var graph = ValueGradientLaplacian.Build(Tracer.Function(net.Apply, x.Shape), o.Strategy);

        var interpreter = Executable.Compile(graph);
        long t0 = Stopwatch.GetTimestamp();
        var source = CSharpEmitter.Emit(graph);
        double emitSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        t0 = Stopwatch.GetTimestamp();
        var emitted = EmittedGraph.Compile(graph);
        double compileSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds - emitSeconds;

        var expected = interpreter.Run(x);
        var actual = emitted.Run(x);
        double diff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double scale = Math.Max(1, expected[i].Data.Max(Math.Abs));
            for (int j = 0; j < expected[i].Size; j++) diff = Math.Max(diff, Math.Abs(expected[i].Data[j] - actual[i].Data[j]) / scale);
        }
        if (!(diff <= 1e-10))
            throw new InvalidOperationException($"CodeGenBenchmark: the backends disagree (max relative difference {diff:E2}).");

        double interp = Timing.BestSeconds(() => interpreter.Run(x), o.Repeats);
        double emit = Timing.BestSeconds(() => emitted.Run(x), o.Repeats);
        return new CodeGenBenchmarkResult($"{net.Architecture} ({o.Strategy.Name})", o.Points, graph.Nodes.Count, interp, emit,
            emitSeconds, Math.Max(0, compileSeconds), diff);
    }
}
