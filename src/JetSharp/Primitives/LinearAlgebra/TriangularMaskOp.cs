using System.Globalization;
using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Primitives.LinearAlgebra;

/// <summary>
/// Scales the three regions of each matrix (last two axes, any m×n): entries below the diagonal by
/// <see cref="Lower"/>, on it by <see cref="Diagonal"/>, above it by <see cref="Upper"/>. One primitive
/// covers the masks the matrix-derivative rules need: tril = (1, 1, 0), strictly lower = (1, 0, 0),
/// triu = (0, 1, 1), the diagonal part = (0, 1, 0), and Φ = (1, ½, 0), the "lower triangle with half
/// the diagonal" of the Cholesky derivative. Linear and self-adjoint (an elementwise mask), so its VJP
/// is itself and its Taylor rule maps every coefficient.
/// </summary>
/// <exception cref="ArgumentOutOfRangeException">A weight is NaN or infinite.</exception>
public sealed class TriangularMaskOp(double lower, double diagonal, double upper) : Primitive
{
    /// <summary>Scale of the entries below the diagonal (finite).</summary>
    public double Lower { get; } = Finite(lower, nameof(lower));
    /// <summary>Scale of the diagonal entries (finite).</summary>
    public double Diagonal { get; } = Finite(diagonal, nameof(diagonal));
    /// <summary>Scale of the entries above the diagonal (finite).</summary>
    public double Upper { get; } = Finite(upper, nameof(upper));

    private static double Finite(double w, string name) => double.IsFinite(w) ? w
        : throw new ArgumentOutOfRangeException(name, w, $"trimask: the {name} weight must be finite, got {w}.");
    /// <inheritdoc/>
    public override string Name => "trimask";
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => Linearity.Linear;
    /// <inheritdoc/>
    public override string Attributes => string.Create(CultureInfo.InvariantCulture, $"l={Lower:R},d={Diagonal:R},u={Upper:R}");

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        if (s.Rank < 2) throw new ShapeException($"trimask: expected a matrix or a batch of matrices (rank ≥ 2), got {s}.");
        return s;
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var x = inputs[0].Data;
        var y = output.Data;
        int m = output.Shape[^2], n = output.Shape[^1];
        T lo = T.CreateTruncating(Lower), di = T.CreateTruncating(Diagonal), up = T.CreateTruncating(Upper);
        for (int b = 0, off = 0; b < DenseKernels.BatchCount(output.Shape); b++, off += m * n)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    y[off + i * n + j] = x[off + i * n + j] * (i > j ? lo : i == j ? di : up);
    }

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct) => [ct.Graph.Apply(this, ct)];

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) => a.MapLinear(x => x.Graph.Apply(this, x));
}
