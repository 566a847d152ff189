using JetSharp.Benchmarks;
using Xunit.Abstractions;

namespace JetSharp.Tests;

/// <summary>Keeps the interpreter-vs-emitted-code benchmark runnable; prints its figures (never asserts a timing).</summary>
public class CodeGenBenchmarkTests(ITestOutputHelper output)
{
    [Fact]
    public void TheBenchmarkRunsOnThePoisson2dNetworkAndTheBackendsAgree()
    {
        // The training step of the issue: loss and gradient of the poisson2d problem (256 + 64 points).
        var result = CodeGenBenchmark.Poisson2dStep(samples: 1);
        output.WriteLine(result.ToString());
        Assert.True(result.MaxRelativeDifference <= 1e-10);
        Assert.True(result.InterpreterSeconds > 0 && result.EmittedSeconds > 0 && result.StandaloneSeconds > 0);
    }
}
