using System.Runtime.CompilerServices;
using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Runtime;

/// <summary>
/// The runtime's <see cref="IGraphRunner"/>: compiles each graph once (cached per graph object, released
/// with it) and runs it in the given context. Kernels reach it through <see cref="RunContext.Run{T}"/>.
/// </summary>
public sealed class GraphRunner : IGraphRunner
{
    private readonly ConditionalWeakTable<Graph, Executable> _compiled = [];

    private GraphRunner() { }

    // The IR (below the runtime) cannot name this class, so the runtime registers it when the assembly
    // loads; kernels run outside a compiled graph (constant folding) then find it through RunContext.Detached.
#pragma warning disable CA2255 // a library module initializer, deliberately: it only sets a default
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => RunContext.DefaultRunner = Instance;

    /// <summary>The process-wide runner (thread-safe).</summary>
    public static GraphRunner Instance { get; } = new();

    /// <summary>The compiled form of <paramref name="graph"/>, compiled on first use.</summary>
    public Executable Compiled(Graph graph) =>
        _compiled.GetValue(graph ?? throw new ArgumentNullException(nameof(graph)), g => new Executable(g));

    /// <inheritdoc/>
    public NDArray<T>[] Run<T>(Graph graph, NDArray<T>[] inputs, RunContext context) where T : unmanaged, IFloatingPointIeee754<T> =>
        Compiled(graph).Run(inputs, context);

    /// <inheritdoc/>
    public void Recycle<T>(Graph graph, NDArray<T>[] outputs) where T : unmanaged, IFloatingPointIeee754<T> =>
        Compiled(graph).Recycle(outputs);
}
