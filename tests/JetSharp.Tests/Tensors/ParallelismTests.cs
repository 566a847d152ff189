using JetSharp.Backend;

namespace JetSharp.Tests;

/// <summary>
/// The kernels' parallel loop (<see cref="Parallelism.Run"/>): on the GEMM's worker threads when they are free, on the .NET
/// thread pool when they are busy (a piece that itself runs pieces, or products on other threads).
/// </summary>
public class ParallelismTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(17)]
    public void EveryPieceRunsOnceAlsoWhenAPieceRunsPiecesOfItsOwn(int pieces)
    {
        var outer = new int[pieces];
        var inner = new int[pieces * 5];
        Parallelism.Run(pieces, p =>
        {
            Interlocked.Increment(ref outer[p]);
            Parallelism.Run(5, q => Interlocked.Increment(ref inner[p * 5 + q]));   // the workers are taken: the .NET pool runs these
        });
        Assert.All(outer, c => Assert.Equal(1, c));
        Assert.All(inner, c => Assert.Equal(1, c));
    }

    [Fact]
    public void ConcurrentCallersAllFinishWithEveryPieceRunOnce()
    {
        var counts = new int[8, 64];
        Parallel.For(0, 8, caller => Parallelism.Run(64, p => Interlocked.Increment(ref counts[caller, p])));
        foreach (var c in counts) Assert.Equal(1, c);
    }

    [Fact]
    public void RangesCoverTheCountOnceInOrderedPieces()
    {
        var hits = new int[1001];
        Parallelism.RunRanges(1001, Parallelism.Ranges(1001), (from, to) =>
        {
            Assert.True(from < to);
            for (int i = from; i < to; i++) Interlocked.Increment(ref hits[i]);
        });
        Assert.All(hits, h => Assert.Equal(1, h));
        int calls = 0;
        Parallelism.RunRanges(3, 10, (from, to) => { Interlocked.Increment(ref calls); Assert.Equal(1, to - from); });
        Assert.Equal(3, calls);   // never more ranges than elements
    }

    [Fact]
    public void AFailingPieceThrowsItsOwnExceptionOnBothPaths()
    {
        var direct = Assert.Throws<InvalidOperationException>(() => Parallelism.Run(4, p => { if (p == 2) throw new InvalidOperationException("piece 2"); }));
        Assert.Equal("piece 2", direct.Message);
        // From inside a piece the workers are busy, so the .NET pool runs the inner pieces: the same exception type reaches the caller.
        var nested = Assert.Throws<InvalidOperationException>(() => Parallelism.Run(2, p =>
        {
            if (p == 0) Parallelism.Run(3, q => { if (q == 1) throw new InvalidOperationException("inner 1"); });
        }));
        Assert.Equal("inner 1", nested.Message);
    }
}
