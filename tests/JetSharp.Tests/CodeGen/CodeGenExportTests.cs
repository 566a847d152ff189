using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using JetSharp.CodeGen;
using JetSharp.Nn;
using JetSharp.Runtime;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// The standalone export: a .cs file that compiles against the base class library alone and computes a
/// network's value, gradient and Laplacian; and the emitter's refusals and guarantees.
/// </summary>
public class CodeGenExportTests
{
    /// <summary>Compiles <paramref name="source"/> referencing only System.Private.CoreLib and System.Runtime (no JetSharp assembly).</summary>
    internal static Assembly CompileWithBclOnly(string source)
    {
        var dir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        MetadataReference[] refs = [MetadataReference.CreateFromFile(typeof(object).Assembly.Location), MetadataReference.CreateFromFile(Path.Combine(dir, "System.Runtime.dll"))];
        var compilation = CSharpCompilation.Create("ExportedNetwork", [CSharpSyntaxTree.ParseText(source)], refs,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics));
        Assert.DoesNotContain(compilation.ReferencedAssemblyNames, a => a.Name.StartsWith("JetSharp", StringComparison.Ordinal));
        return Assembly.Load(stream.ToArray());
    }

    [Fact]
    public void AnExportedNetworkCompilesWithTheBclAloneAndMatchesNestedFirstOrderAd()
    {
        var net = Mlp.Create(2, [16, 16], 1, Activation.Tanh, seed: 7);
        var x = Rand(3, -1, 1, 10, 2);
        var graph = ValueGradientLaplacian.Build(Tracer.Function(net.Apply, x.Shape), Strategy.Collapsed);
        var path = Path.Combine(Path.GetTempPath(), $"jetsharp-export-{Guid.NewGuid():N}.cs");
        try
        {
            CSharpExport.WriteFile(graph, path, new EmitOptions { ClassName = "PoissonNet", Namespace = "Exported", OutputNames = ["value", "gradient", "laplacian"] });
            var type = CompileWithBclOnly(File.ReadAllText(path)).GetType("Exported.PoissonNet")!;
            var evaluate = type.GetMethod("Evaluate")!;
            var tuple = evaluate.Invoke(null, [x.ToArray()])!;
            double[] Field(int i) => (double[])tuple.GetType().GetField($"Item{i + 1}")!.GetValue(tuple)!;

            // Independent reference: nested first-order AD (VJP, then Hessian-vector products) in the interpreter.
            var (value, gradient, laplacian) = ValueGradientLaplacian.Evaluate(net.Apply, x, Strategy.NestedFirstOrder);
            Close(value, NDArray.FromArray(Field(0), value.Shape), 1e-12);
            Close(gradient, NDArray.FromArray(Field(1), gradient.Shape), 1e-11);
            Close(laplacian, NDArray.FromArray(Field(2), laplacian.Shape), 1e-11);
            Assert.True(MaxAbs(laplacian) > 1e-3); // a non-trivial Laplacian is being compared
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void AnUnsupportedPrimitiveIsNamedBeforeAnyCodeIsWritten()
    {
        var g = Tracer.Function(x => x + Fn.Random(x.Graph, x.Shape, Distribution.Normal, 1), new Shape(2, 2));
        var e = Assert.Throws<NotSupportedException>(() => CSharpEmitter.Emit(g));
        Assert.Contains("random", e.Message);
        Assert.Contains("RandomOp", e.Message);
    }

    /// <summary>Writes step(x) as a sign test the other way round, to show that a registered emitter wins over the trait.</summary>
    private sealed class ReversedStep : IPrimitiveEmitter
    {
        public void Emit(EmitContext c) => ElementwiseEmitter.Elementwise(c, a => $"{a[0]} > {c.Literal(0)} ? {c.Literal(0)} : {c.Literal(1)}");
    }

    [Fact]
    public void ARegisteredEmitterIsUsedAndTheDefaultRegistryStaysShared()
    {
        var g = Tracer.Function(x => Fn.Step(x), new Shape(3));
        var registry = EmitterRegistry.Default.Clone().Register<StepOp>(new ReversedStep());
        var custom = EmittedGraph.Compile(g, new EmitOptions { Registry = registry }).Run(T(-1, 2, -3))[0];
        Assert.Equal([1.0, 0, 1], custom.Data);
        Assert.Equal([0.0, 1, 0], EmittedGraph.Compile(g).Run(T(-1, 2, -3))[0].Data);
        Assert.Throws<InvalidOperationException>(() => EmitterRegistry.Default.Register<StepOp>(new ReversedStep()));
    }

    [Fact]
    public void RunChecksItsInputsAndNeverAliasesThem()
    {
        // Outputs that are an input, a view of it, a constant or the same node twice still come back as fresh arrays.
        var c = NDArray.FromArray([1.0, 2, 3, 4], new Shape(2, 2));
        var g = Tracer.Function(xs => [xs[0], Fn.Reshape(xs[0], 4), xs[0].Graph.Constant(c), Fn.Tanh(xs[0]), Fn.Tanh(xs[0])], [new Shape(2, 2)]);
        var emitted = EmittedGraph.Compile(g);
        var x = Randn(4, 2, 2);
        var r = emitted.Run(x);
        Assert.Equal(5, r.Length);
        Assert.All(r, y => Assert.NotSame(x.Data, y.Data));
        Assert.NotSame(r[3].Data, r[4].Data);
        Close(x, r[0], 0);
        Assert.Equal(new Shape(4), r[1].Shape);
        Assert.Equal(c.Data, r[2].Data);
        Assert.Throws<ArgumentException>(() => emitted.Run(Randn(1, 3, 2)));
        Assert.Throws<ArgumentException>(() => emitted.Run(x, x));
        Assert.Throws<ArgumentException>(() => emitted.Run(x.To<float>()));
    }

    [Fact]
    public void Float32GraphsCompileAndAgreeToSinglePrecision()
    {
        var net = Mlp.Create(3, [8], 1, Activation.Sigmoid, seed: 2, DType.Float32);
        var g = DifferentialOperator.Laplacian().Build(Tracer.Function(net.Apply, new Shape(4, 3), DType.Float32), Strategy.Collapsed);
        var x = Randn(5, 4, 3).To<float>();
        var expected = Executable.Compile(g).Run(x)[0];
        var actual = EmittedGraph.Compile(g).Run(x)[0];
        Assert.Contains("float[]", EmittedGraph.Compile(g).Source);
        Close(expected.To<double>(), actual.To<double>(), 1e-5);
    }
}
