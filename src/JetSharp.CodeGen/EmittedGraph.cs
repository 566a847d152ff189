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

    private EmittedGraph(Graph graph, string source, Type compiledClass, Delegate run)
    {
        DType = graph.DType;
        CompiledClass = compiledClass;
        Source = source;
        _run = run;
        _inputShapes = [.. graph.Inputs.Select(i => i.Shape)];
        _outputShapes = [.. graph.Outputs.Select(o => o.Shape)];
    }

    /// <summary>The generated C# source.</summary>
    public string Source { get; }

    /// <summary>The element type the code computes in.</summary>
    public DType DType { get; }

    /// <summary>The compiled class (its static fields hold the per-thread buffers; for tests).</summary>
    internal Type CompiledClass { get; }

    /// <summary>
    /// Emits and compiles <paramref name="graph"/>. Unless <paramref name="options"/> say otherwise
    /// (<see cref="EmitOptions.UseLibraryKernels"/> = false: the standalone code of <see cref="CSharpExport"/>),
    /// the code calls JetSharp's vectorised kernels and GEMM, and runs primitives without a C# emitter by
    /// their own kernels.
    /// </summary>
    /// <exception cref="NotSupportedException">Standalone code only: a primitive has no emitter (named in the message).</exception>
    /// <exception cref="InvalidOperationException">Roslyn rejected the generated code (a bug here; the diagnostics are in the message).</exception>
    public static EmittedGraph Compile(Graph graph, EmitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return CompileMany([graph], options, numbered: false)[0];
    }

    /// <summary>
    /// Emits every graph (class names <c>ClassName0</c>, <c>ClassName1</c>, …) and compiles them in one Roslyn
    /// compilation: the compiler's fixed cost is paid once, which matters for many small graphs.
    /// </summary>
    /// <exception cref="NotSupportedException">Standalone code only: a primitive has no emitter (named in the message).</exception>
    /// <exception cref="InvalidOperationException">Roslyn rejected the generated code (a bug here; the diagnostics are in the message).</exception>
    public static EmittedGraph[] CompileMany(IReadOnlyList<Graph> graphs, EmitOptions? options = null) => CompileMany(graphs, options, numbered: true);

    private static EmittedGraph[] CompileMany(IReadOnlyList<Graph> graphs, EmitOptions? options, bool numbered)
    {
        ArgumentNullException.ThrowIfNull(graphs);
        options ??= new EmitOptions();
        bool library = options.UseLibraryKernels ?? true;
        var perGraph = graphs.Select((g, i) => options with
        {
            UseLibraryKernels = library,
            ClassName = numbered ? options.ClassName + i : options.ClassName,
        }).ToArray();
        var nested = new IReadOnlyList<(string ClassName, Graph Graph)>[graphs.Count];
        var sources = graphs.Select((g, i) => CSharpEmitter.EmitSource(g ?? throw new ArgumentNullException(nameof(graphs), $"EmittedGraph: graph {i} is null."), perGraph[i], out nested[i])).ToArray();
        var assembly = RoslynCompiler.Load(sources, "JetSharp.Emitted." + options.ClassName, library ? LibraryReferences : []);
        var result = new EmittedGraph[graphs.Count];
        for (int i = 0; i < graphs.Count; i++)
        {
            var o = perGraph[i];
            var graph = graphs[i];
            var type = assembly.GetType(o.Namespace is { } ns ? $"{ns}.{o.ClassName}" : o.ClassName)!;
            var method = type.GetMethod("Run", BindingFlags.Public | BindingFlags.Static)!;
            Bind(type, graph);
            // The classes of control-flow subgraphs hold their own constants and kernel calls.
            foreach (var (name, body) in nested[i]) Bind(type.GetNestedType(name, BindingFlags.NonPublic)!, body);
            Delegate run = (graph.DType == DType.Float32, library) switch
            {
                (true, true) => method.CreateDelegate<Func<float[][], long, float[][]>>(),
                (false, true) => method.CreateDelegate<Func<double[][], long, double[][]>>(),
                (true, false) => Seedless(method.CreateDelegate<Func<float[][], float[][]>>()),
                (false, false) => Seedless(method.CreateDelegate<Func<double[][], double[][]>>()),
            };
            result[i] = new EmittedGraph(graph, sources[i], type, run);
        }
        return result;
    }

    /// <summary>Hands a generated class its tensor constants and the kernels of its primitives without a C# emitter.</summary>
    private static void Bind(Type type, Graph graph)
    {
        if (type.GetMethod("BindConstants", BindingFlags.Public | BindingFlags.Static) is { } bind)
            bind.Invoke(null, [graph.DType == DType.Float32 ? ConstantValues<float>(graph) : ConstantValues<double>(graph)]);
        if (type.GetField("Kernel", BindingFlags.Public | BindingFlags.Static) is { } kernel)
            kernel.SetValue(null, graph.DType == DType.Float32 ? KernelCall<float>(graph) : KernelCall<double>(graph));
    }

    private static Func<T[][], long, T[][]> Seedless<T>(Func<T[][], T[][]> run) => (x, _) => run(x);

    /// <summary>JetSharp and this assembly, for code that calls the library's kernels.</summary>
    private static readonly MetadataReference[] LibraryReferences =
        [MetadataReference.CreateFromFile(typeof(Graph).Assembly.Location), MetadataReference.CreateFromFile(typeof(EmittedKernels).Assembly.Location)];

    /// <summary>The values of a graph's tensor constants as flat arrays of the element type (copies).</summary>
    private static Func<int, T[]> ConstantValues<T>(Graph graph) where T : unmanaged, IFloatingPointIeee754<T> => id =>
    {
        var value = ((ConstantOp)graph.Nodes[id].Op).Value!;
        var data = new T[value.Size];
        for (int i = 0; i < data.Length; i++) data[i] = T.CreateTruncating(value.GetDouble(i));
        return data;
    };

    /// <summary>The delegate through which compiled code runs a node's own kernel on flat arrays.</summary>
    private static Action<int, T[][], T[], long> KernelCall<T>(Graph graph) where T : unmanaged, IFloatingPointIeee754<T> =>
        (id, inputs, output, seedOffset) =>
        {
            var node = graph.Nodes[id];
            var args = new NDArray<T>[inputs.Length];
            for (int i = 0; i < args.Length; i++) args[i] = new NDArray<T>(node.Inputs[i].Shape, inputs[i]);
            node.Op.Execute(args, new NDArray<T>(node.Shape, output), RunContext.Detached(seedOffset));
        };

    /// <summary>Runs the compiled code on float64 inputs (shapes checked first); the results are fresh arrays.</summary>
    /// <exception cref="ArgumentException">Wrong dtype, count or shape of inputs.</exception>
    public NDArray<double>[] Run(params NDArray<double>[] inputs) => Run<double>(inputs, 0);

    /// <summary>Runs the compiled code on float32 inputs (shapes checked first); the results are fresh arrays.</summary>
    /// <exception cref="ArgumentException">Wrong dtype, count or shape of inputs.</exception>
    public NDArray<float>[] Run(params NDArray<float>[] inputs) => Run<float>(inputs, 0);

    /// <summary>
    /// Runs the compiled code with <paramref name="seedOffset"/> added to the seed of every random-sampling node
    /// (as <c>Executable.Run(inputs, seedOffset)</c>); the results are fresh arrays.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong dtype, count or shape of inputs.</exception>
    public NDArray<T>[] Run<T>(NDArray<T>[] inputs, long seedOffset) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (_run is not Func<T[][], long, T[][]> run)
            throw new ArgumentException($"EmittedGraph.Run: the graph computes in {DType.Name()}, the inputs are {typeof(T).Name}.");
        if (inputs.Length != _inputShapes.Length)
            throw new ArgumentException($"EmittedGraph.Run: expected {_inputShapes.Length} input(s) of shapes {string.Join(", ", _inputShapes)}, got {inputs.Length}.");
        var data = new T[inputs.Length][];
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputs[i] is null) throw new ArgumentNullException(nameof(inputs), $"EmittedGraph.Run: input {i} is null.");
            if (inputs[i].Shape != _inputShapes[i])
                throw new ArgumentException($"EmittedGraph.Run: input {i} has shape {inputs[i].Shape}, the graph expects {_inputShapes[i]}.");
            data[i] = inputs[i].Data;
        }
        var results = run(data, seedOffset);
        var outputs = new NDArray<T>[results.Length];
        for (int i = 0; i < outputs.Length; i++) outputs[i] = new NDArray<T>(_outputShapes[i], results[i]);
        return outputs;
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
    public static byte[] CompileToImage(string source, string assemblyName) => CompileToImage(source, assemblyName, []);

    /// <summary>Compiles <paramref name="source"/> against the BCL and <paramref name="extra"/> references to an assembly image.</summary>
    /// <exception cref="InvalidOperationException">Compilation failed; the message lists the errors.</exception>
    public static byte[] CompileToImage(string source, string assemblyName, IReadOnlyList<MetadataReference> extra) =>
        CompileToImage([source], assemblyName, extra);

    /// <summary>Compiles the <paramref name="sources"/> (one file each) into one assembly image.</summary>
    /// <exception cref="InvalidOperationException">Compilation failed; the message lists the errors.</exception>
    public static byte[] CompileToImage(IReadOnlyList<string> sources, string assemblyName, IReadOnlyList<MetadataReference> extra)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, parse, path: $"{assemblyName}.{i}.cs")).ToArray();
        var compilation = CSharpCompilation.Create(assemblyName, trees, [.. BclReferences, .. extra],
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, nullableContextOptions: NullableContextOptions.Disable));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        if (!result.Success)
            throw new InvalidOperationException($"C# compilation of {assemblyName} failed:\n" +
                string.Join("\n", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(20)));
        return stream.ToArray();
    }

    /// <summary>Compiles <paramref name="source"/> and loads it into a collectible load context.</summary>
    public static Assembly Load(string source, string assemblyName) => Load(source, assemblyName, []);

    /// <summary>Compiles <paramref name="source"/> against the BCL and <paramref name="extra"/> references, and loads it into a collectible load context (which resolves those references from the application).</summary>
    public static Assembly Load(string source, string assemblyName, IReadOnlyList<MetadataReference> extra) => Load([source], assemblyName, extra);

    /// <summary>Compiles the <paramref name="sources"/> (one file each) into one assembly and loads it into a collectible load context.</summary>
    public static Assembly Load(IReadOnlyList<string> sources, string assemblyName, IReadOnlyList<MetadataReference> extra)
    {
        var image = CompileToImage(sources, assemblyName, extra);
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
