using JetSharp.Ir;

namespace JetSharp.Transforms;

/// <summary>Calls a graph from another: copies its computation onto the given input nodes and returns its outputs.</summary>
public static class Inline
{
    /// <summary>
    /// Copies the computation of <paramref name="g"/> onto <paramref name="inputs"/> (nodes of the graph
    /// being built, one per input of <paramref name="g"/>, same shapes and dtype) and returns the copies of its outputs.
    /// </summary>
    /// <exception cref="ArgumentException">The number of inputs differs from <paramref name="g"/>'s, or <paramref name="g"/> has no inputs.</exception>
    /// <exception cref="Tensors.ShapeException">An input's shape or dtype differs from the traced one.</exception>
    public static Node[] Apply(Graph g, IReadOnlyList<Node> inputs)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(inputs);
        return [.. Jet.Apply(g, inputs, [.. inputs.Select(_ => Array.Empty<Node?>())], 0, default).Select(j => j[0]!)];
    }
}
