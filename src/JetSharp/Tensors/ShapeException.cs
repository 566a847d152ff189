namespace JetSharp.Tensors;

/// <summary>Raised when an operation gets inputs of the wrong shape, rank, dtype or count.</summary>
public sealed class ShapeException(string message) : ArgumentException(message);
