namespace JetSharp;

/// <summary>Raised when an operation gets inputs of the wrong shape, rank, dtype or count.</summary>
public sealed class ShapeException(string message) : ArgumentException(message);

/// <summary>Raised when a transformation meets a primitive that has no rule for it.</summary>
public sealed class MissingRuleException(Node node, string rule) : InvalidOperationException(
    $"Primitive '{node.Op.Name}' (%{node.Id} : {node.Shape}{(node.Origin is null ? "" : $", from {node.Origin}")}) has no {rule} rule.");
