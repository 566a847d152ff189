using JetSharp.Tensors;

namespace JetSharp.Ir;

/// <summary>
/// A value in a <see cref="Graph"/>: the result of applying <see cref="Op"/> to <see cref="Inputs"/>.
/// Nodes are immutable and belong to one graph. They are also what users write functions with:
/// the arithmetic operators and the functions of <c>Fn</c> (JetSharp.Primitives) append new nodes to the graph.
/// </summary>
public sealed class Node
{
    internal Node(Graph graph, int id, Primitive op, Node[] inputs, Shape shape, DType dtype, string? origin)
    {
        Graph = graph;
        Id = id;
        Op = op;
        InputArray = inputs;
        Shape = shape;
        DType = dtype;
        Origin = origin;
    }

    public Graph Graph { get; }

    /// <summary>Position-independent identifier, unique within the graph (printed as %Id).</summary>
    public int Id { get; }

    public Primitive Op { get; }
    internal Node[] InputArray { get; }
    public IReadOnlyList<Node> Inputs => InputArray;
    public Shape Shape { get; }
    public DType DType { get; }
    public int Rank => Shape.Rank;

    /// <summary>Where the node came from in user code (method and line), when the graph was traced with origins.</summary>
    public string? Origin { get; }

    public override string ToString() => $"%{Id} = {Op}({string.Join(", ", Inputs.Select(i => "%" + i.Id))}) : {Shape}";
}
