using JetSharp.Tensors;

namespace JetSharp.Ir;

/// <summary>
/// Runs graphs on tensors. The IR defines what a kernel may ask for; the runtime implements it, so a
/// primitive whose kernel evaluates a graph of its own (a fixed-point solve) needs no reference to the
/// runtime.
/// </summary>
public interface IGraphRunner
{
    /// <summary>Runs <paramref name="graph"/> within <paramref name="context"/> (its meter nests in the context's).</summary>
    NDArray<T>[] Run<T>(Graph graph, NDArray<T>[] inputs, RunContext context) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>
    /// Gives back the storage of <paramref name="outputs"/>, returned by an earlier <see cref="Run{T}"/> of <paramref name="graph"/>,
    /// for later runs of it to reuse (a loop's state of the previous step); the tensors must not be used afterwards.
    /// </summary>
    void Recycle<T>(Graph graph, NDArray<T>[] outputs) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// The state of one run of a graph, passed explicitly to every kernel (<see cref="Primitive.Execute{T}"/>):
/// the seed offset of random sampling, the memory meter, cancellation, and a runner for nested graphs.
/// There is no ambient (thread-static) state: two runs on two threads have two contexts, so kernels
/// that only read their context and their inputs are safe to run concurrently.
/// </summary>
public sealed class RunContext
{
    /// <summary>A context for a top-level run whose nested graphs run on <paramref name="runner"/>.</summary>
    public RunContext(IGraphRunner runner, long seedOffset = 0, MemoryMeter? meter = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(runner);
        Runner = runner;
        SeedOffset = seedOffset;
        Meter = meter ?? new MemoryMeter();
        Cancellation = cancellation;
    }

    /// <summary>
    /// A context for running a kernel outside a compiled graph (constant folding, tests): nested graphs
    /// run on the runtime's runner, which registers itself when the library loads.
    /// </summary>
    public static RunContext Detached(long seedOffset = 0) =>
        new(DefaultRunner ?? throw new InvalidOperationException("RunContext: no graph runner is registered."), seedOffset);

    /// <summary>The runner the runtime registers at load time (the IR cannot name the runtime, which sits above it).</summary>
    internal static IGraphRunner? DefaultRunner { get; set; }

    /// <summary>Added to the seed of every random-sampling node of the run (e.g. the training step).</summary>
    public long SeedOffset { get; }

    /// <summary>Live and peak bytes of the run; kernels that hold buffers of their own report them here.</summary>
    public MemoryMeter Meter { get; }

    /// <summary>Checked between nodes and by long-running kernels.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>Evaluates nested graphs.</summary>
    public IGraphRunner Runner { get; }

    /// <summary>A context for a graph run from inside this run: same seed offset, runner and cancellation, a nested meter.</summary>
    public RunContext Nested() => new(Runner, SeedOffset, new MemoryMeter(Meter), Cancellation);

    /// <summary>Runs <paramref name="graph"/> as part of this run (its memory counts in this run's meter).</summary>
    public NDArray<T>[] Run<T>(Graph graph, params NDArray<T>[] inputs) where T : unmanaged, IFloatingPointIeee754<T> =>
        Runner.Run(graph, inputs, Nested());

    /// <summary>Gives back the storage of what <see cref="Run{T}"/> of <paramref name="graph"/> returned, once it is dead (see <see cref="IGraphRunner.Recycle{T}"/>).</summary>
    public void Recycle<T>(Graph graph, NDArray<T>[] outputs) where T : unmanaged, IFloatingPointIeee754<T> =>
        Runner.Recycle(graph, outputs);
}
