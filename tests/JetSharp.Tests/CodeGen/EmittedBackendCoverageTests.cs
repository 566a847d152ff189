using JetSharp.CodeGen;
using JetSharp.Onnx;
using JetSharp.Runtime;
using Xunit.Abstractions;

namespace JetSharp.Tests;

/// <summary>
/// The compiled backend on every operator test's graphs and on the ONNX fixture models: each case of the
/// primitive tables (PrimitiveDerivativeTests, ExtendedCases) as its value graph, its jet (order 2, or 1
/// where the function has a kink) and the VJP of Σ f², and each fixture model's value and collapsed
/// Laplacian — all compiled in one Roslyn compilation and compared with the interpreter to 1e-12 (relative
/// to the largest value of each output, at least 1).
/// </summary>
public class EmittedBackendCoverageTests(ITestOutputHelper output)
{
    private sealed record Case(string Name, Graph Graph, NDArray<double>[] Inputs);

    private static IEnumerable<Case> Variants(string name, Func<Node[], Node> f, Shape[] shapes, NDArray<double>[] x, int order, long seed)
    {
        var g = Tracer.Function(f, shapes);
        yield return new(name + " value", g, x);
        var jet = Jet.Transform(g, order);
        // Jet inputs: the primals, then the coefficients of each input (small, so the points stay in the domain).
        var coefficients = jet.Inputs.Skip(x.Length).Select((c, i) => Numeric.Scale(NDArray.RandomNormal<double>(c.Shape, seed * 101 + i), 0.25));
        yield return new($"{name} jet{order}", jet, [.. x, .. coefficients]);
        yield return new(name + " vjp", Vjp.Grad(Tracer.Function(xs => Fn.Sum(Fn.Square(f(xs))), shapes)), x);
    }

    private static List<Case> OperatorCases()
    {
        var cases = new List<Case>();
        foreach (var c in PrimitiveDerivativeTests.Cases.Values)
            cases.AddRange(Variants(c.Name, c.F, c.Shapes, PrimitiveDerivativeTests.Points(c, 3), c.Name.StartsWith("relu") ? 1 : 2, 3));
        foreach (var c in ExtendedCases.All.Values)
            cases.AddRange(Variants(c.Name, c.F, c.Shapes, c.Points(5), Math.Min(2, c.MaxOrder), 5));
        foreach (var name in JetSharp.Tests.Onnx.OnnxImportTests.Models.Cast<object[]>().Select(m => (string)m[0]))
        {
            var model = OnnxModel.Load(Path.Combine(JetSharp.Tests.Onnx.OnnxImportTests.FixtureDirectory, name + ".onnx"));
            var shape = new Shape(6, (int)model.Inputs[0].Dimensions[^1]!.Value);
            var x = NDArray.RandomUniform<double>(shape, 7, -1, 1);
            cases.Add(new($"onnx {name} value", Tracer.Function(model.Function, shape), [x]));
            cases.Add(new($"onnx {name} laplacian", Pde.LaplacianGraph(model.Function, shape, DType.Float64, Strategy.Collapsed), [x]));
        }
        return cases;
    }

    [Fact]
    public void EveryOperatorTestGraphAndFixtureModelAgreesWithTheInterpreter()
    {
        var cases = OperatorCases();
        var emitted = EmittedGraph.CompileMany([.. cases.Select(c => c.Graph)], new EmitOptions { ClassName = "Coverage" });
        var failures = new List<string>();
        int kernelCalls = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            if (emitted[i].Source.Contains("the primitive's own kernel")) kernelCalls++;
            var expected = Executable.Compile(c.Graph).Run(c.Inputs);
            NDArray<double>[] actual;
            try { actual = emitted[i].Run(c.Inputs); }
            catch (Exception e) { failures.Add($"{c.Name}: {e.GetType().Name}: {e.Message}"); continue; }
            for (int k = 0; k < expected.Length; k++)
            {
                Assert.Equal(expected[k].Shape, actual[k].Shape);
                double scale = Math.Max(1, expected[k].Data.Length == 0 ? 0 : expected[k].Data.Max(Math.Abs));
                for (int j = 0; j < expected[k].Size; j++)
                {
                    double e = expected[k].Data[j], a = actual[k].Data[j];
                    bool same = double.IsNaN(e) ? double.IsNaN(a) : double.IsInfinity(e) ? e == a : Math.Abs(e - a) <= 1e-12 * scale;
                    if (!same) { failures.Add($"{c.Name}: output {k}[{j}] interpreter {e:R}, emitted {a:R}"); break; }
                }
            }
        }
        output.WriteLine($"{cases.Count} graphs ({cases.Sum(c => c.Graph.Nodes.Count)} nodes) compiled and compared; " +
                         $"{kernelCalls} of them call a primitive's own kernel for some node.");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} graphs disagree:\n" + string.Join("\n", failures.Take(30)));
        Assert.True(cases.Count > 300, $"only {cases.Count} graphs collected");
    }
}
