using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Tensors;
using JetSharp.Transforms;

namespace JetSharp.Simplify.Rules;

/// <summary>
/// The body (or condition) of a loop over jets rewritten over summed top coefficients — the one construction
/// behind <see cref="PullSumIntoScan"/> and <see cref="PullSumIntoWhile"/>. Each top input s (Σ_P of the
/// coefficient, P the direction axes) enters as broadcast(s)/|P|; the outputs picked by
/// <c>summedOutput</c> leave summed over P. With <c>keepDims</c> the summed values keep P as size-1 axes.
/// </summary>
internal static class CollapsedLoopBody
{
    public static Graph Build(Graph g, Func<int, bool> topInput, Func<int, bool> summedOutput, int outputs, Shape prefix, bool keepDims)
    {
        int pr = prefix.Rank;
        var prefixAxes = Enumerable.Range(0, pr).ToArray();
        var h = new Graph(g.DType);
        var args = g.Inputs.Select((input, i) =>
        {
            var name = GraphWalk.InputName(input);
            if (!topInput(i)) return h.Input(input.Shape, name);
            var rest = input.Shape.ToArray()[pr..];
            var summed = h.Input(keepDims ? new Shape([.. Enumerable.Repeat(1, pr), .. rest]) : new Shape(rest), $"Σ{name}");
            return Fn.BroadcastTo(summed, input.Shape) / (double)prefix.Size;
        }).ToArray();
        var outs = Inline.Apply(g, args);
        h.SetOutputs([.. Enumerable.Range(0, outputs).Select(c => summedOutput(c) ? Fn.Sum(outs[c], prefixAxes, keepDims) : outs[c])]);
        return h;
    }
}
