using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Control;

namespace JetSharp.Tracing;

/// <summary>The final carry of a traced while loop, and the loop (which reports its trip count after a run).</summary>
public sealed record WhileResult(Node[] Values, WhileLoop Loop);

public static partial class Tracer
{
    /// <summary>
    /// <c>while (condition(carry, constants) &gt; 0) carry = body(carry, constants)</c> as one node: the condition
    /// and the body are traced once for the shapes of <paramref name="init"/> and <paramref name="constants"/>;
    /// the body must return one node per carried value with its shape. Derivatives flow to the initial carry and
    /// to the constants along the path taken (the trip count is not differentiated): forward and Taylor mode of
    /// any order run a loop over jets; reverse mode stores the carry before every step (trips × carry bytes), or
    /// with <paramref name="checkpointing"/> one carry every s steps and recomputes the rest during the sweep.
    /// A run that would exceed <paramref name="maxIterations"/> iterations throws <see cref="WhileLoopException"/>.
    /// </summary>
    /// <param name="condition">(carry, constants) → a single-element node; the loop continues while it is &gt; 0.</param>
    /// <param name="body">(carry, constants) → the next carry (same count and shapes).</param>
    /// <param name="init">The initial carry: at least one node, all of one graph.</param>
    /// <param name="constants">Values the condition and body read besides the carry (θ); none when null. Values of the enclosing trace the functions use without receiving them (closures) become further constants.</param>
    /// <param name="maxIterations">The iteration limit, ≥ 1.</param>
    /// <param name="checkpointing">What reverse mode keeps: every carry (default), one every s steps, or one every ⌈√trips⌉ (<see cref="LoopCheckpointing.SqrtLength"/>).</param>
    /// <exception cref="ArgumentNullException">An argument or node is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="init"/> is empty, nodes belong to different graphs, or a function uses a node of a trace that does not enclose it.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxIterations"/> &lt; 1.</exception>
    /// <exception cref="ShapeException">The body returns another number of values or other shapes, or the condition more than one element.</exception>
    public static WhileResult While(Func<Node[], Node[], Node> condition, Func<Node[], Node[], Node[]> body, Node[] init,
        Node[]? constants = null, int maxIterations = 1000, LoopCheckpointing checkpointing = default) =>
        Loop("while", condition, body, init, constants, maxIterations, stopWhenPositive: false, checkpointing);

    /// <summary>
    /// A tail-recursive definition lowered to a while loop:
    /// <c>f(s) = isBase(s) &gt; 0 ? s : f(step(s))</c>, evaluated from <paramref name="state"/>. Accumulator forms
    /// (factorial as f(n, acc) = n ≤ 1 ? acc : f(n − 1, n·acc)) are written this way. Non-tail recursion
    /// (work after the recursive call) and recursion whose depth is not decided by traced values are not
    /// expressed by this API; see docs/control-flow.md.
    /// </summary>
    /// <param name="isBase">(state, constants) → a single-element node, &gt; 0 when the base case is reached.</param>
    /// <param name="step">(state, constants) → the state of the recursive call (same count and shapes).</param>
    /// <param name="state">The arguments of the outermost call.</param>
    /// <param name="constants">Values read by every level besides the state; none when null.</param>
    /// <param name="maxDepth">The deepest recursion allowed, ≥ 1.</param>
    /// <param name="checkpointing">What reverse mode keeps of the levels (as for <see cref="While"/>).</param>
    /// <inheritdoc cref="While" path="/exception"/>
    public static WhileResult Recurse(Func<Node[], Node[], Node> isBase, Func<Node[], Node[], Node[]> step, Node[] state,
        Node[]? constants = null, int maxDepth = 1000, LoopCheckpointing checkpointing = default) =>
        Loop("recurse", isBase, step, state, constants, maxDepth, stopWhenPositive: true, checkpointing);

    private static WhileResult Loop(string what, Func<Node[], Node[], Node> condition, Func<Node[], Node[], Node[]> body, Node[] init,
        Node[]? constants, int maxIterations, bool stopWhenPositive, LoopCheckpointing checkpointing)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(init);
        constants ??= [];
        if (init.Length == 0) throw new ArgumentException($"{what}: the carry needs at least one value.", nameof(init));
        if (maxIterations < 1) throw new ArgumentOutOfRangeException(nameof(maxIterations), maxIterations, $"{what}: the iteration limit must be ≥ 1, got {maxIterations}.");
        if (checkpointing.Stride < -1)
            throw new ArgumentOutOfRangeException(nameof(checkpointing), checkpointing.Stride, $"{what}: a checkpoint stride must be ≥ 1, 0 (store every carry) or LoopCheckpointing.SqrtLength, got {checkpointing.Stride}.");
        Node[] all = [.. init, .. constants];
        for (int i = 0; i < all.Length; i++)
        {
            var label = i < init.Length ? $"carry {i}" : $"constant {i - init.Length}";
            if (all[i] is null) throw new ArgumentNullException(i < init.Length ? nameof(init) : nameof(constants), $"{what}: {label} is null.");
            if (all[i].Graph != all[0].Graph) throw new ArgumentException($"{what}: {label} {all[i].Shape} belongs to another graph than carry 0.");
        }
        var g = all[0].Graph;
        int n = init.Length;
        var shapes = all.Select(x => x.Shape).ToArray();
        string[] names = [.. init.Select((_, i) => $"c{i}"), .. constants.Select((_, j) => $"k{j}")];
        string condPart = stopWhenPositive ? "base case" : "condition", bodyPart = stopWhenPositive ? "step" : "body";
        // Values of the enclosing trace the condition or the body use (closures) become extra constants.
        var (graphs, captured) = TraceBodies(g, [(xs => [condition(xs[..n], xs[n..])], $"{what} ({condPart})"), (xs => body(xs[..n], xs[n..]), $"{what} ({bodyPart})")],
            shapes, names);
        var (condGraph, bodyGraph) = (graphs[0], graphs[1]);
        if (condGraph.Outputs[0].Shape.Size != 1)
            throw new ShapeException($"{what}: the {(stopWhenPositive ? "base-case test" : "condition")} must return a single element, got shape {condGraph.Outputs[0].Shape}.");
        if (bodyGraph.Outputs.Count != n)
            throw new ShapeException($"{what}: the {(stopWhenPositive ? "step" : "body")} returns {bodyGraph.Outputs.Count} value(s) for a carry of {n}.");
        for (int i = 0; i < n; i++)
            if (bodyGraph.Outputs[i].Shape != init[i].Shape)
                throw new ShapeException($"{what}: the {(stopWhenPositive ? "step" : "body")} returns carry {i} with shape {bodyGraph.Outputs[i].Shape}; the carry has shape {init[i].Shape} (it must keep its shape).");
        var loop = new WhileLoop(condGraph, bodyGraph, n, maxIterations, stopWhenPositive, checkpointing);
        var packed = g.Apply(new WhileOp(loop), [.. all, .. captured]);
        var carryShapes = loop.CarryShapes;
        return new([.. Enumerable.Range(0, n).Select(i => SubgraphJets.Component(packed, carryShapes, i))], loop);
    }
}
