using JetSharp.Ir;

namespace JetSharp;

/// <summary>
/// A value in a <see cref="Graph"/>: the result of applying <see cref="Op"/> to <see cref="Inputs"/>.
/// Nodes are immutable and belong to one graph. They are also what users write functions with:
/// the arithmetic operators and the functions of <see cref="Fn"/> append new nodes to the graph.
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

    public static Node operator +(Node a, Node b) => Fn.Add(a, b);
    public static Node operator -(Node a, Node b) => Fn.Sub(a, b);
    public static Node operator *(Node a, Node b) => Fn.Mul(a, b);
    public static Node operator /(Node a, Node b) => Fn.Div(a, b);
    public static Node operator -(Node a) => Fn.Neg(a);
    public static Node operator +(Node a, double b) => Fn.Add(a, a.Graph.Scalar(b));
    public static Node operator +(double a, Node b) => Fn.Add(b.Graph.Scalar(a), b);
    public static Node operator -(Node a, double b) => Fn.Sub(a, a.Graph.Scalar(b));
    public static Node operator -(double a, Node b) => Fn.Sub(b.Graph.Scalar(a), b);
    public static Node operator *(Node a, double b) => Fn.Mul(a, a.Graph.Scalar(b));
    public static Node operator *(double a, Node b) => Fn.Mul(b.Graph.Scalar(a), b);
    public static Node operator /(Node a, double b) => Fn.Div(a, a.Graph.Scalar(b));
    public static Node operator /(double a, Node b) => Fn.Div(b.Graph.Scalar(a), b);
}
