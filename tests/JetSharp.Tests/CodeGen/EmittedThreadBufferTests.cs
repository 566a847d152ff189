using JetSharp.CodeGen;
using JetSharp.Nn;

namespace JetSharp.Tests;

/// <summary>
/// Compiled code is loaded into collectible load contexts (one per compilation, collected when the graph is dropped).
/// Classes of such contexts with <c>[ThreadStatic]</c> fields, touched on pool threads and on threads that exit while
/// the GC collects one context after another, crashed the .NET 10 runtime's GC with the signature of the intermittent
/// crashes in docs/reliability.md ("Crashes of the background GC"); tools/stress/CollectibleThreadStatics reproduces
/// that without JetSharp. So emitted classes keep their per-thread buffers in static <see cref="ThreadLocal{T}"/>
/// fields, whose per-thread values live in CoreLib's own thread statics, and declare no thread-static field at all.
/// </summary>
public class EmittedThreadBufferTests
{
    private static IEnumerable<(string What, EmittedGraph Code)> Compiled()
    {
        // Node-by-node buffers, per-point regions (blocks, per-chunk partial sums) and a scan's loop scratch, in
        // compiled (library kernels) and in standalone (BCL-only) code.
        var (problem, _) = JetSharp.Benchmarks.JacobianBenchmark.Poisson2d();
        var scan = Pde.LaplacianGraph(ScanTests.ScanNet, new Shape(5, 3), DType.Float64, Strategy.Collapsed);
        foreach (var (name, g) in new[] { ("poisson2d gradient", problem.GradientGraph), ("scan Laplacian", scan) })
        {
            yield return (name + ", regions", EmittedGraph.Compile(g));
            yield return (name + ", node by node", EmittedGraph.Compile(g, new EmitOptions { PerPointLoops = false }));
            yield return (name + ", standalone", EmittedGraph.Compile(g, new EmitOptions { UseLibraryKernels = false }));
        }
    }

    [Fact]
    public void EmittedClassesDeclareNoThreadStaticFields()
    {
        foreach (var (what, code) in Compiled())
        {
            Assert.False(code.Source.Contains("ThreadStatic", StringComparison.Ordinal), $"{what}: the emitted code declares a [ThreadStatic] field:\n{code.Source}");
            Assert.True(code.Source.Contains("System.Threading.ThreadLocal<double[]>", StringComparison.Ordinal), $"{what}: no per-thread buffer found:\n{code.Source}");
        }
    }

    [Fact]
    public void PerThreadBuffersStaySeparateWhenSeveralThreadsRunTheSameCode()
    {
        // The per-point regions' chunks run on the GEMM's workers; here four callers run the same compiled step at
        // once, each with its own buffers: every result is the serial one, bit for bit.
        var (problem, theta) = JetSharp.Benchmarks.JacobianBenchmark.Poisson2d();
        var code = EmittedGraph.Compile(problem.GradientGraph);
        NDArray<double>[] inputs = [.. problem.Points, .. ParameterVector.Unflatten<double>(theta, problem.ParameterShapes)];
        var expected = code.Run(inputs);
        var results = new NDArray<double>[4][];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = results.Length }, t =>
        {
            for (int repeat = 0; repeat < 5; repeat++) results[t] = code.Run(inputs);
        });
        foreach (var r in results)
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i].Data, r[i].Data);
    }
}
