namespace JetSharp.Ir;

/// <summary>Raised when a transformation meets a primitive that has no rule for it.</summary>
public sealed class MissingRuleException(Node node, string rule) : InvalidOperationException(
    $"Primitive '{NotNull(node).Op.Name}' (%{node.Id} : {node.Shape}{(node.Origin is null ? "" : $", from {node.Origin}")}) has no {rule} rule.")
{
    internal static Node NotNull(Node node) => node ?? throw new ArgumentNullException(nameof(node));
}

/// <summary>
/// Raised when a derivative is requested through a primitive that does not have one of that order
/// (relu has none of order ≥ 2). The message names the node, the user's line and the reason.
/// </summary>
/// <param name="node">The node whose primitive is not smooth enough.</param>
/// <param name="order">The order of derivative that was requested.</param>
/// <param name="reason">Why, in the primitive's words (e.g. "relu has no derivatives of order ≥ 2").</param>
public sealed class NotSmoothException(Node node, int order, string reason) : InvalidOperationException(
    $"Derivative of order {order}: primitive '{MissingRuleException.NotNull(node).Op.Name}' (%{node.Id} : {node.Shape}" +
    (node.Origin is null ? "" : $", from {node.Origin}") +
    $") is not smooth; {reason}. Use a smooth activation (tanh, sigmoid, softplus, sin) under higher-order operators.")
{
    /// <summary>The node whose primitive is not smooth enough.</summary>
    public Node Node { get; } = node;
}
