using JetSharp.Benchmarks;
using Xunit.Abstractions;

namespace JetSharp.Tests;

/// <summary>Keeps the interpreter-vs-emitted-code benchmark runnable; prints its figures (never asserts a timing).</summary>
public class CodeGenBenchmarkTests(ITestOutputHelper output)
{
    [Fact]
    public void TheBenchmarkRunsOnThePoisson2dNetworkAndTheBackendsAgree()
    {
        var result = CodeGenBenchmark.Run(new CodeGenBenchmarkOptions { Repeats = 5 });
        output.WriteLine(result.ToString());
        Assert.Equal(256, result.Points);
        Assert.True(result.MaxRelativeDifference <= 1e-10);
        Assert.True(result.InterpreterSeconds > 0 && result.EmittedSeconds > 0);
    }
}
