using JetSharp.Ir;

namespace JetSharp.Transforms;

/// <summary>Calls a graph from another: copies its computation onto the given input nodes and returns its outputs.</summary>
public static class Inline
{
    public static Node[] Apply(Graph g, IReadOnlyList<Node> inputs) =>
        [.. Jet.Apply(g, inputs, [.. inputs.Select(_ => Array.Empty<Node?>())], 0, default).Select(j => j[0]!)];
}
