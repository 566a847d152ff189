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

    /// <summary>The graph the node belongs to.</summary>
    public Graph Graph { get; }

    /// <summary>Position-independent identifier, unique within the graph (printed as %Id).</summary>
    public int Id { get; }

    /// <summary>The primitive that computes the node (with its attributes).</summary>
    public Primitive Op { get; }
    internal Node[] InputArray { get; }
    /// <summary>The operands, in the order the primitive expects them (empty for inputs and constants).</summary>
    public IReadOnlyList<Node> Inputs => InputArray;
    /// <summary>The output shape, as inferred by <see cref="Primitive.InferShape"/>.</summary>
    public Shape Shape { get; }
    /// <summary>The element type, that of the graph.</summary>
    public DType DType { get; }
    /// <summary>Number of axes of the output (0 for a scalar).</summary>
    public int Rank => Shape.Rank;

    /// <summary>Where the node came from in user code (method and line), when the graph was traced with origins.</summary>
    public string? Origin { get; }

    /// <summary>The node's listing line, e.g. <c>%7 = tanh(%6) : [16, 768]</c>.</summary>
    public override string ToString() => $"%{Id} = {Op}({string.Join(", ", Inputs.Select(i => "%" + i.Id))}) : {Shape}";
}
