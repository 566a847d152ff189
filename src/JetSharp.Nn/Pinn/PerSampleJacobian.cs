using JetSharp.Simplify;
using JetSharp.Transforms;

namespace JetSharp.Nn.Pinn;

/// <summary>
/// Per-sample parameter Jacobians of operator residuals, J[n, ·] = ∂(L u_θ)(x_n)/∂θ, through the collapsed
/// operator: the model's parameters are given one copy per point (<see cref="PerSampleParameters.Expand"/>),
/// the operator is built on that model, and one reverse pass yields every row (<see cref="ResidualJacobian.Dense"/>).
/// <see cref="Simplify"/> then runs the forward products with the shared weights as single GEMMs again, so the
/// only per-sample work left is the outer products that form J's rows.
/// </summary>
public static class PerSampleJacobian
{
    /// <summary>The standard rules plus the per-sample Jacobian rules of JacobianRules.cs (<see cref="SliceOfBroadcast"/>, <see cref="MatMulByBroadcastMatrix"/>, <see cref="FoldSummedBatchIntoContraction"/>, <see cref="AddOfAdjacentPads"/>, <see cref="FoldAddedProductsIntoContraction"/>, <see cref="FlattenNestedConcat"/>).</summary>
    public static IReadOnlyList<RewriteRule> Rules { get; } = [.. Simplifier.StandardRules, new SliceOfBroadcast(), new MatMulByBroadcastMatrix(), new FoldSummedBatchIntoContraction(), new AddOfAdjacentPads(), new FoldAddedProductsIntoContraction(), new FlattenNestedConcat()];

    /// <summary>Simplifies a graph from <see cref="ResidualJacobian.Dense"/> with <see cref="Rules"/>.</summary>
    public static Graph Simplify(Graph g) => new Simplifier(Rules).Run(g);

    /// <summary>
    /// The Jacobian of r = L f with respect to every parameter of f: <paramref name="f"/> maps (x [N, D],
    /// θ_1, …) to [N, 1] (or [N]), per datum. Returns the graph (x, θ_1, …) → (L f [N, 1], J [N, P]), P = Σ|θ_j|.
    /// A null <paramref name="strategy"/> means <see cref="Strategy.Collapsed"/>.
    /// </summary>
    public static Graph Of(DifferentialOperator op, Graph f, Strategy? strategy = null)
    {
        ArgumentNullException.ThrowIfNull(op);
        ArgumentNullException.ThrowIfNull(f);
        if (f.Inputs.Count < 2) throw new ArgumentException($"PerSampleJacobian.Of: the function has no parameter inputs (inputs: {string.Join(", ", f.Inputs.Select(i => i.Shape))}).", nameof(f));
        bool[] parameters = [false, .. f.Inputs.Skip(1).Select(_ => true)];
        var expanded = op.Build(PerSampleParameters.Expand(f, parameters), strategy);
        return Simplify(ResidualJacobian.Dense(expanded, parameters));
    }
}
