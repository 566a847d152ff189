using JetSharp.Ir;
using JetSharp.Control;
using JetSharp.Primitives;
using JetSharp.Transforms;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// Σ_A cond(p, a…) → cond'(p, a…) whose branches return Σ_A of theirs: the sum of Taylor coefficients over
/// directions moves into both branches, where the collapsing rules pull it further (the simplifier simplifies
/// every body it meets), so each branch propagates the summed top coefficient (METHOD.md §3) as straight-line
/// code does.
/// </summary>
internal sealed class PullSumThroughCond : RewriteRule
{
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) =>
        op is SumOp sum && sum.Axes.Length > 0 && inputs[0].Op is CondOp;

    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var sum = (SumOp)op;
        var x = inputs[0];
        var cond = (CondOp)x.Op;
        Graph Summed(Graph branch)
        {
            var g = new Graph(branch.DType);
            var y = Inline.Apply(branch, GraphWalk.MirrorInputs(branch, g))[0];
            g.SetOutputs(Fn.Sum(y, sum.Axes, sum.KeepDims));
            return g;
        }
        return Fn.Apply(new CondOp(Summed(cond.Then), Summed(cond.Else)), [.. x.Inputs]);
    }
}
