using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace JetSharp.CodeGen;

/// <summary>
/// A graph compiled through C#: the source from <see cref="CSharpEmitter"/>, compiled in-process by Roslyn
/// (optimised, referencing only the base class library) into a collectible assembly, and run as a delegate.
/// An alternative backend to the interpreter (<c>JetSharp.Runtime.Executable</c>): no scheduling, pooling or
/// parallelism, just the loops; it suits small graphs evaluated many times.
/// </summary>
public sealed class EmittedGraph
{
    private readonly Delegate _run;
    private readonly Shape[] _inputShapes;
    private readonly Shape[] _outputShapes;

    private EmittedGraph(Graph graph, string source, Delegate run)
    {
        DType = graph.DType;
        Source = source;
        _run = run;
        _inputShapes = [.. graph.Inputs.Select(i => i.Shape)];
        _outputShapes = [.. graph.Outputs.Select(o => o.Shape)];
    }

    /// <summary>The generated C# source.</summary>
    public string Source { get; }

    /// <summary>The element type the code computes in.</summary>
    public DType DType { get; }

    /// <summary>Emits and compiles <paramref name="graph"/>.</summary>
    /// <exception cref="NotSupportedException">A primitive has no emitter (named in the message).</exception>
    /// <exception cref="InvalidOperationException">Roslyn rejected the generated code (a bug here; the diagnostics are in the message).</exception>
    public static EmittedGraph Compile(Graph graph, EmitOptions? options = null)
    {
        var source = CSharpEmitter.Emit(graph, options);
        var className = options?.ClassName ?? new EmitOptions().ClassName;
        var assembly = RoslynCompiler.Load(source, "JetSharp.Emitted." + className);
        var type = assembly.GetType(options?.Namespace is { } ns ? $"{ns}.{className}" : className)!;
        var method = type.GetMethod("Run", BindingFlags.Public | BindingFlags.Static)!;
        Delegate run = graph.DType == DType.Float32
            ? method.CreateDelegate<Func<float[][], float[][]>>()
            : method.CreateDelegate<Func<double[][], double[][]>>();
        return new EmittedGraph(graph, source, run);
    }

    /// <summary>Runs the compiled code on float64 inputs (shapes checked first); the results are fresh arrays.</summary>
    /// <exception cref="ArgumentException">Wrong dtype, count or shape of inputs.</exception>
    public NDArray<double>[] Run(params NDArray<double>[] inputs) => Run<double>(inputs);

    /// <summary>Runs the compiled code on float32 inputs (shapes checked first); the results are fresh arrays.</summary>
    /// <exception cref="ArgumentException">Wrong dtype, count or shape of inputs.</exception>
    public NDArray<float>[] Run(params NDArray<float>[] inputs) => Run<float>(inputs);

    private NDArray<T>[] Run<T>(NDArray<T>[] inputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (_run is not Func<T[][], T[][]> run)
            throw new ArgumentException($"EmittedGraph.Run: the graph computes in {DType.Name()}, the inputs are {typeof(T).Name}.");
        if (inputs.Length != _inputShapes.Length)
            throw new ArgumentException($"EmittedGraph.Run: expected {_inputShapes.Length} input(s) of shapes {string.Join(", ", _inputShapes)}, got {inputs.Length}.");
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i].Shape != _inputShapes[i])
                throw new ArgumentException($"EmittedGraph.Run: input {i} has shape {inputs[i].Shape}, the graph expects {_inputShapes[i]}.");
        var results = run([.. inputs.Select(x => x.Data)]);
        return [.. results.Select((r, i) => new NDArray<T>(_outputShapes[i], r))];
    }
}

/// <summary>In-process C# compilation against the base class library only.</summary>
public static class RoslynCompiler
{
    /// <summary>
    /// Metadata references to the runtime's own assemblies (System.*, mscorlib, netstandard) — nothing of
    /// JetSharp and nothing of the application, so what compiles against them depends only on the BCL.
    /// </summary>
    public static IReadOnlyList<MetadataReference> BclReferences { get; } = LoadBcl();

    /// <summary>Compiles <paramref name="source"/> (optimised, C# latest) to an assembly image.</summary>
    /// <exception cref="InvalidOperationException">Compilation failed; the message lists the errors.</exception>
    public static byte[] CompileToImage(string source, string assemblyName)
    {
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create(assemblyName, [tree], BclReferences,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, nullableContextOptions: NullableContextOptions.Disable));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        if (!result.Success)
            throw new InvalidOperationException($"C# compilation of {assemblyName} failed:\n" +
                string.Join("\n", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(20)));
        return stream.ToArray();
    }

    /// <summary>Compiles <paramref name="source"/> and loads it into a collectible load context.</summary>
    public static Assembly Load(string source, string assemblyName)
    {
        var image = CompileToImage(source, assemblyName);
        var context = new AssemblyLoadContext(assemblyName, isCollectible: true);
        using var stream = new MemoryStream(image);
        return context.LoadFromStream(stream);
    }

    private static MetadataReference[] LoadBcl()
    {
        var tpa = (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        static bool IsBcl(string name) => name is "mscorlib" or "netstandard" || name.StartsWith("System.", StringComparison.Ordinal) && !name.StartsWith("System.Numerics.Tensors", StringComparison.Ordinal);
        var runtimeDir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        return [.. tpa.Where(p => IsBcl(Path.GetFileNameWithoutExtension(p)) && Path.GetDirectoryName(p) == runtimeDir)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    }
}
