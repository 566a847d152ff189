using JetSharp.Ir;

namespace JetSharp.Primitives.LinearAlgebra;

/// <summary>A derivative was requested where it does not exist or is not unique (e.g. QR of a wide matrix).</summary>
public sealed class UndefinedDerivativeException(string message) : InvalidOperationException(message)
{
    internal static string Describe(Node node) =>
        $"'{node.Op}' (%{node.Id} : {node.Shape}{(node.Origin is null ? "" : $", from {node.Origin}")})";
}

/// <summary>Raised at run time when a matrix that must be positive definite, or of full rank, is not.</summary>
public sealed class SingularMatrixException(string message) : ArithmeticException(message);
