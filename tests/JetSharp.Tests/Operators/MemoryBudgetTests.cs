using JetSharp.Ir;
using JetSharp.Operators;
using JetSharp.Primitives;
using JetSharp.Tensors;
using Xunit.Abstractions;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Issue 22, part 2: a compiled operator's memory budget. A run over budget is chunked along the batch axis, holds
/// at most the budget (measured by the runs' own meters), and gives the unchunked result; a budget that not even
/// one point fits is refused before anything runs.
/// </summary>
public class MemoryBudgetTests(ITestOutputHelper output)
{
    private const int D = 6, H = 16;
    private static readonly NDArray<double> W1 = Randn(1, D, H), W2 = Randn(2, H, H), C = Randn(3, H, 1);

    private static Node F(Node x) =>
        Fn.MatMul(Fn.Tanh(Fn.MatMul(Fn.Tanh(Fn.MatMul(x, x.Graph.Constant(W1))), x.Graph.Constant(W2))), x.Graph.Constant(C));

    [Fact]
    public void PlannedPeakIsWhatARunMeasures()
    {
        var op = DifferentialOperator.Laplacian().Compile(F, new Shape(40, D));
        op.Run(Randn(4, 40, D));
        Assert.Equal(op.Executable.LastRun.PeakLiveBytes, op.PlannedPeakBytes);
        var bih = DifferentialOperator.Biharmonic().Compile(F, new Shape(7, D));
        bih.Run(Randn(5, 7, D));
        Assert.Equal(bih.Executable.LastRun.PeakLiveBytes, bih.PlannedPeakBytes);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(7)]
    public void ChunkedRunStaysUnderTheBudgetWithTheSameResult(int fraction)
    {
        const int n = 203;
        var x = Randn(6, n, D);
        foreach (var op in new[] { DifferentialOperator.Laplacian(), DifferentialOperator.Biharmonic(), DifferentialOperator.Laplacian(Estimate.Coordinates(3, seed: 2)) })
        {
            var full = op.Compile(F, x.Shape);
            var expected = full.Run(x);
            Assert.Equal(full.PlannedPeakBytes, full.LastRunPeakBytes);
            long budget = full.PlannedPeakBytes / fraction;
            var chunked = full.WithMemoryBudget(budget);
            var actual = chunked.Run(x);
            output.WriteLine($"{op.Name}: unchunked peak {full.LastRunPeakBytes} B; budget {budget} B → chunks of {chunked.ChunkSize}, peak {chunked.LastRunPeakBytes} B");
            Assert.InRange(chunked.ChunkSize, 1, n - 1);
            Assert.InRange(chunked.LastRunPeakBytes, 1, budget);
            for (int i = 0; i < n; i++)
                Assert.True(Math.Abs(actual.Data[i] - expected.Data[i]) <= 1e-15 * Math.Max(1, Math.Abs(expected.Data[i])), $"row {i}: {actual.Data[i]:R} vs {expected.Data[i]:R}");
        }
    }

    [Fact]
    public void ChunkingKeepsParametersWhole()
    {
        const int n = 50;
        Node G(Node x, Node[] p) => Fn.MatMul(Fn.Tanh(Fn.MatMul(x, p[0])), p[1]);
        var full = DifferentialOperator.Laplacian().Compile(G, new Shape(n, D), [new Shape(D, H), new Shape(H, 1)]);
        var x = Randn(7, n, D);
        var expected = full.Run(x, W1, C);
        var chunked = full.WithMemoryBudget(full.PlannedPeakBytes / 3);
        var actual = chunked.Run(x, W1, C);
        Assert.True(chunked.ChunkSize < n);
        Assert.True(chunked.LastRunPeakBytes <= full.PlannedPeakBytes / 3);
        for (int i = 0; i < n; i++) Assert.Equal(expected.Data[i], actual.Data[i], 1e-15);
    }

    [Fact]
    public void ABudgetThatNoPointFitsIsRefusedBeforeRunning()
    {
        var full = DifferentialOperator.Laplacian().Compile(F, new Shape(30, D));
        var ex = Assert.Throws<InsufficientMemoryException>(() => full.WithMemoryBudget(1000));
        output.WriteLine(ex.Message);
        Assert.Contains("Laplacian", ex.Message);
        Assert.Contains("even one point needs", ex.Message);
        Assert.Contains($"[30, {D}]", ex.Message);
        Assert.Contains("1000 bytes", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => full.WithMemoryBudget(0));
    }

    [Fact]
    public void RandomDirectionsPerPointAreNotChunked()
    {
        var full = DifferentialOperator.Laplacian(Estimate.Stochastic(4, seed: 1)).Compile(F, new Shape(30, D));
        var ex = Assert.Throws<InvalidOperationException>(() => full.WithMemoryBudget(full.PlannedPeakBytes / 2));
        Assert.Contains("random directions per point", ex.Message);
        // Within budget it runs as before.
        Assert.Equal(full.Run(Randn(8, 30, D)).Data, full.WithMemoryBudget(full.PlannedPeakBytes).Run(Randn(8, 30, D)).Data);
    }
}
