using JetSharp.Control;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Tensors;
using JetSharp.Transforms;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// Collapsing through a loop: Σ_P of a top (order-K) carry coefficient of a jet scan → a scan that
/// carries the sum. In a jet body, the top coefficients of the carries, xs and constants enter only the
/// top coefficients of the outputs, and linearly, through the Jacobian at the primal values, which does not
/// carry the direction axes P (Taylor mode: y_K = ∂f(x₀)·x_K + terms in x₁..x_(K−1)). So
/// Σ_P y_K is unchanged when every top input x_K,r is replaced by (Σ_P x_K)/|P| for every r: the collapsed
/// body takes the summed top coefficients s, feeds broadcast(s)/|P| to the jet body and returns Σ_P of its top
/// carries. The simplifier, reaching into the new body, then pulls those sums down to the broadcast, so the
/// loop carries one summed vector where it carried |P| (docs/control-flow.md). Per-step outputs are dropped:
/// the selected result is a carry and does not depend on them.
/// </summary>
public sealed class PullSumIntoScan : RewriteRule
{
    /// <inheritdoc/>
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op is SumOp sum && inputs[0].Op is ScanOp { Jet: { } jet } scan && scan.Select < scan.Carries &&
        jet.TopCarries.Contains(scan.Select) && sum.Axes.SequenceEqual(Enumerable.Range(0, jet.Prefix.Rank));

    /// <inheritdoc/>
    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var sum = (SumOp)op;
        var x = inputs[0];
        var scan = (ScanOp)x.Op;
        var jet = scan.Jet!;
        int m = scan.Carries, p = scan.Xs, pr = jet.Prefix.Rank;
        var prefixAxes = Enumerable.Range(0, pr).ToArray();
        bool keep = sum.KeepDims;
        var body = Collapsed(scan, jet, keep);
        var args = x.Inputs.Select((input, i) =>
            i < m ? (jet.TopCarries.Contains(i) ? Fn.Sum(input, prefixAxes, keep) : input)
            : i < m + p ? (jet.TopXs.Contains(i - m) ? Fn.Sum(input, [.. prefixAxes.Select(a => a + 1)], keep) : input)
            : jet.TopConsts.Contains(i - m - p) ? Fn.Sum(input, prefixAxes, keep) : input).ToArray();
        return x.Graph.Apply(scan.With(body, m, p, scan.Select), args);
    }

    /// <summary>
    /// The collapsed body. With <paramref name="keepDims"/> the summed coefficients keep the prefix axes as size 1
    /// (the shape a keep-dims sum gives), so the loop's result needs no reshape and neither do the sums inside.
    /// </summary>
    private static Graph Collapsed(ScanOp scan, ScanJetInfo jet, bool keepDims) => Subgraphs.Derived(scan.Body, keepDims ? "collapse-keepdims" : "collapse", () =>
    {
        int m = scan.Carries, p = scan.Xs;
        bool Top(int i) => i < m ? jet.TopCarries.Contains(i) : i < m + p ? jet.TopXs.Contains(i - m) : jet.TopConsts.Contains(i - m - p);
        return CollapsedLoopBody.Build(scan.Body, Top, jet.TopCarries.Contains, m, jet.Prefix, keepDims);
    });
}
