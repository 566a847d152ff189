using JetSharp.Nn;
using JetSharp.Runtime;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// One compiled graph, many threads: every run has its own context, value table and buffer pool, so
/// concurrent runs must give exactly (bitwise) what the same runs give one after another.
/// </summary>
public class ConcurrencyTests
{
    private const int Threads = 4, RunsPerThread = 300, Batch = 16;

    [Fact]
    public void ConcurrentRunsOfOneCompiledOperatorEqualSequentialRuns()
    {
        var net = Mlp.Create(4, [32, 32], 1, Activation.Tanh, seed: 3);
        var op = DifferentialOperator.Laplacian().Compile(net.Apply, new Shape(Batch, 4));
        // A few distinct inputs, so a run that read another run's buffers would show.
        var inputs = Enumerable.Range(0, 8).Select(i => Randn(500 + i, Batch, 4)).ToArray();
        var expected = inputs.Select(x => op.Run(x)).ToArray();

        var (wrong, errors) = Hammer(i => op.Run(inputs[i % inputs.Length]), i => expected[i % inputs.Length]);
        Assert.Equal(0, errors);
        Assert.Equal(0, wrong);
    }

    [Fact]
    public void ConcurrentStochasticRunsWithTheirOwnSeedOffsetsEqualSequentialRuns()
    {
        // Random directions are drawn from the run's own seed offset (no thread-static state).
        var net = Mlp.Create(4, [16], 1, Activation.Tanh, seed: 4);
        var op = DifferentialOperator.Laplacian(Estimate.Stochastic(6, Distribution.Rademacher, seed: 9)).Compile(net.Apply, new Shape(Batch, 4));
        var x = Randn(600, Batch, 4);
        var expected = Enumerable.Range(0, 8).Select(s => op.Executable.Run([x], seedOffset: s)[0]).ToArray();
        Assert.NotEqual(expected[0].Data, expected[1].Data); // the offset does change the draw

        var (wrong, errors) = Hammer(i => op.Executable.Run([x], seedOffset: i % 8)[0], i => expected[i % 8]);
        Assert.Equal(0, errors);
        Assert.Equal(0, wrong);
    }

    [Fact]
    public void ConcurrentRunsThroughANestedFixedPointEqualSequentialRuns()
    {
        // The fixed point's kernel runs graphs of its own through the run context.
        var g = Tracer.Function(xs => FixedPoint.Solve((x, t) => 0.5 * Fn.Sin(x) + t, xs[0], Fn.Zeros(xs[0].Graph, new Shape(Batch)),
            1e-12, 200, FixedPointMode.Implicit).Value, [new Shape(Batch)]);
        var exe = Executable.Compile(Vjp.Grad(Tracer.Function(t => Fn.Sum(Fn.Square(Inline.Apply(g, [t])[0])), new Shape(Batch))));
        var inputs = Enumerable.Range(0, 4).Select(i => Randn(700 + i, Batch)).ToArray();
        var expected = inputs.Select(t => exe.Run(t)[1]).ToArray();

        var (wrong, errors) = Hammer(i => exe.Run(inputs[i % 4])[1], i => expected[i % 4], runs: 100);
        Assert.Equal(0, errors);
        Assert.Equal(0, wrong);
    }

    private static (int Wrong, int Errors) Hammer(Func<int, NDArray<double>> run, Func<int, NDArray<double>> expected, int runs = RunsPerThread)
    {
        int wrong = 0, errors = 0;
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int r = 0; r < runs; r++)
            {
                int i = t * runs + r;
                try
                {
                    if (!run(i).Data.AsSpan().SequenceEqual(expected(i).Data)) Interlocked.Increment(ref wrong);
                }
                catch (Exception) { Interlocked.Increment(ref errors); }
            }
        })).ToList();
        threads.ForEach(th => th.Start());
        threads.ForEach(th => th.Join());
        return (wrong, errors);
    }
}
