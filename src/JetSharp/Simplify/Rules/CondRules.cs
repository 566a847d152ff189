using JetSharp.Ir;
using JetSharp.Control;
using JetSharp.Primitives;
using JetSharp.Transforms;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// Σ_A cond(p, a…) → cond'(p, a…) whose branches return Σ_A of theirs, simplified: the sum of Taylor
/// coefficients over directions moves into both branches, where the collapsing rules pull it further,
/// so each branch propagates the summed top coefficient (METHOD.md §3) as straight-line code does.
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
            return Simplifier.Simplify(g);
        }
        return Fn.Apply(cond.WithBranches(Summed(cond.Then), Summed(cond.Else), simplified: true), [.. x.Inputs]);
    }
}

/// <summary>cond(p, a…) with branches not yet simplified → the same cond with both branches simplified (once).</summary>
internal sealed class SimplifyCondBranches : RewriteRule
{
    public override bool Matches(Primitive op, Node[] inputs, RewriteContext context) => op is CondOp { Simplified: false };

    public override Node Rewrite(Primitive op, Node[] inputs, RewriteContext context)
    {
        var cond = (CondOp)op;
        return Fn.Apply(cond.WithBranches(Simplifier.Simplify(cond.Then), Simplifier.Simplify(cond.Else), simplified: true), inputs);
    }
}
