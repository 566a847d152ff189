using JetSharp.Backend;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// x + scatter_add(u) → scatter_add_into(x, u) (either order) when x has the scatter's shape: the slices are added into
/// x instead of into a zeroed tensor that is then added to x, and the executor runs it in x's buffer when x dies there
/// (<see cref="ScatterAddIntoOp"/>). In the stde gradient graph x is the dense xᵀδ [D, 128] of the first layer and u the
/// gradient of the 16 gathered rows: a [D, 128] zero-fill, scatter and sum become 16 row additions.
/// </summary>
public sealed class AddOfScatterAdd : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) => Scatter(op, inputs) >= 0;

    /// <summary>Which input is the scatter-add whose slices go into the other, or −1.</summary>
    private static int Scatter(Primitive op, Node[] inputs)
    {
        if (op.Arithmetic?.Binary is not BinaryOp.Add || inputs.Length != 2) return -1;
        for (int k = 1; k >= 0; k--)
            if (inputs[k].Op is ScatterAddOp && inputs[1 - k].Shape == inputs[k].Shape && !Constants.IsZero(inputs[1 - k])) return k;
        return -1;
    }

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        int k = Scatter(op, inputs);
        var scatter = (ScatterAddOp)inputs[k].Op;
        return Fn.Apply(new ScatterAddIntoOp(scatter.Axis, scatter.Indices), inputs[1 - k], inputs[k].Inputs[0]);
    }
}
