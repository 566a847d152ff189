using JetSharp.CodeGen;
using JetSharp.Runtime;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// docs/codegen.md shows the code emitted for the collapsed Laplacian of a small MLP. The listing is
/// generated here and must appear verbatim in the document, so the document cannot go stale: after a
/// change to the emitter, run this test with JETSHARP_UPDATE_DOCS=1 to rewrite the block.
/// </summary>
public class CodeGenDocTests
{
    private const string Begin = "<!-- codegen-listing:begin -->";
    private const string End = "<!-- codegen-listing:end -->";

    /// <summary>u(x) = W2ᵀ tanh(W1ᵀ x + b1) + b2 with 2 inputs and 3 hidden units, at 4 points.</summary>
    internal static Graph LaplacianOfSmallMlp()
    {
        var w1 = NDArray.FromArray(new[,] { { 0.5, -1.0, 0.25 }, { 0.75, 0.5, -0.5 } });
        var b1 = NDArray.FromArray([0.1, -0.2, 0.3]);
        var w2 = NDArray.FromArray(new[,] { { 1.0 }, { -0.5 }, { 2.0 } });
        var b2 = NDArray.FromArray([0.05]);
        return Pde.LaplacianGraph(x => Network(x, w1, b1, w2, b2), new Shape(4, 2), DType.Float64, Strategy.Collapsed);
    }

    private static Node Network(Node x, NDArray<double> w1, NDArray<double> b1, NDArray<double> w2, NDArray<double> b2)
    {
        var g = x.Graph;
        var hidden = Fn.Tanh(Fn.MatMul(x, g.Constant(w1)) + g.Constant(b1));
        return Fn.MatMul(hidden, g.Constant(w2)) + g.Constant(b2);
    }

    internal static string Listing() => CSharpEmitter.Emit(LaplacianOfSmallMlp(), new EmitOptions { ClassName = "MlpLaplacian", OutputNames = ["laplacian"] });

    [Fact]
    public void TheListingInTheDocsIsWhatTheEmitterWrites()
    {
        AssertGeneratedListing(Begin, End, Listing(), "listing");
    }

    /// <summary>
    /// Asserts that docs/codegen.md holds <paramref name="code"/> between the markers, as a C# fragment; with
    /// JETSHARP_UPDATE_DOCS=1 it first writes it there.
    /// </summary>
    internal static void AssertGeneratedListing(string begin, string end, string code, string what)
    {
        var path = Path.Combine(LayeringTests.RepositoryRoot(), "docs", "codegen.md");
        var doc = File.ReadAllText(path);
        var block = $"{begin}\n```csharp fragment\n{code}```\n{end}";
        int b = doc.IndexOf(begin, StringComparison.Ordinal), e = doc.IndexOf(end, StringComparison.Ordinal);
        Assert.True(b >= 0 && e > b, $"docs/codegen.md lacks the {begin} … {end} markers");
        if (Environment.GetEnvironmentVariable("JETSHARP_UPDATE_DOCS") == "1")
        {
            doc = doc[..b] + block + doc[(e + end.Length)..];
            File.WriteAllText(path, doc);
        }
        Assert.True(doc.Contains(block, StringComparison.Ordinal),
            $"docs/codegen.md shows an outdated {what}; rerun this test with JETSHARP_UPDATE_DOCS=1 to regenerate it.");
    }

    [Fact]
    public void TheListedCodeComputesTheClosedFormLaplacian()
    {
        // Δu = Σ_j w2_j · tanh''(z_j) · Σ_d W1_dj², tanh'' = −2 tanh (1 − tanh²): an independent check of the listing's numbers.
        var x = Randn(9, 4, 2);
        var lap = EmittedGraph.Compile(LaplacianOfSmallMlp()).Run(x)[0];
        double[,] w1 = { { 0.5, -1.0, 0.25 }, { 0.75, 0.5, -0.5 } };
        double[] b1 = [0.1, -0.2, 0.3], w2 = [1.0, -0.5, 2.0];
        for (int n = 0; n < 4; n++)
        {
            double expected = 0;
            for (int j = 0; j < 3; j++)
            {
                double t = Math.Tanh(x[n, 0] * w1[0, j] + x[n, 1] * w1[1, j] + b1[j]);
                expected += w2[j] * -2 * t * (1 - t * t) * (w1[0, j] * w1[0, j] + w1[1, j] * w1[1, j]);
            }
            Close(expected, lap.Data[n], 1e-13);
        }
    }
}
