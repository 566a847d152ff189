using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using static JetSharp.Control.SubgraphJets;

namespace JetSharp.Control;

/// <summary>Raised when a while loop exceeds its iteration limit or its condition is NaN.</summary>
public sealed class WhileLoopException(string message) : InvalidOperationException(message);

/// <summary>
/// One while loop of a graph: the condition and the body as graphs over (carry…, constants…), the
/// number of carried values, and the iteration limit. The body returns the next carry (same shapes);
/// the loop runs while the condition's single element is &gt; 0 (or, for a loop made by
/// <c>Tracer.Recurse</c>, until it is &gt; 0).
/// </summary>
public sealed class WhileLoop
{
    private readonly Lock _lock = new();
    private Graph? _adjoint;

    internal WhileLoop(Graph condition, Graph body, int carryCount, int maxIterations, bool stopWhenPositive = false,
        LoopCheckpointing checkpointing = default)
    {
        Condition = condition;
        Body = body;
        CarryCount = carryCount;
        MaxIterations = maxIterations;
        StopWhenPositive = stopWhenPositive;
        Checkpointing = checkpointing;
        Id = NextId();
    }

    /// <summary>What reverse mode keeps of the carries it replays (every carry by default).</summary>
    public LoopCheckpointing Checkpointing { get; }

    /// <summary>The condition: (carry…, constants…) → one element.</summary>
    public Graph Condition { get; }
    /// <summary>The body: (carry…, constants…) → next carry….</summary>
    public Graph Body { get; }
    /// <summary>How many of the body's inputs are carried (the rest are loop constants).</summary>
    public int CarryCount { get; }
    /// <summary>The number of loop constants.</summary>
    public int ConstantCount => Body.Inputs.Count - CarryCount;
    /// <summary>The most iterations a run may make; one more throws <see cref="WhileLoopException"/>.</summary>
    public int MaxIterations { get; }
    /// <summary>When true the loop stops once the condition is &gt; 0 (a base case reached) instead of while it is.</summary>
    public bool StopWhenPositive { get; }
    /// <summary>Iterations of the most recent run of the loop (or of a transformed copy sharing its trip count).</summary>
    public int LastIterations { get; internal set; }
    internal int Id { get; }

    internal IReadOnlyList<Shape> CarryShapes => [.. Body.Inputs.Take(CarryCount).Select(i => i.Shape)];
    internal IReadOnlyList<Shape> InputShapes => [.. Body.Inputs.Select(i => i.Shape)];

    /// <summary>A loop with the same limit and sense over other graphs (a transformed loop).</summary>
    internal WhileLoop Derive(Graph condition, Graph body, int carryCount) =>
        new(condition, body, carryCount, MaxIterations, StopWhenPositive, Checkpointing) { Source = Source ?? this };

    /// <summary>The user's loop a transformed loop was derived from (its trip count is reported there too).</summary>
    internal WhileLoop? Source { get; private init; }

    /// <summary>
    /// (carry…, constants…, c̄…) → (c̄ of the carry before the step…, c̄ of the constants…): the pullback of one
    /// application of the body, built once.
    /// </summary>
    internal Graph Adjoint
    {
        get
        {
            lock (_lock)
            {
                if (_adjoint is not null) return _adjoint;
                var g = new Graph(Body.DType);
                var ins = GraphWalk.MirrorInputs(Body, g);
                var cts = CarryShapes.Select((s, i) => g.Input(s, $"ct{i}")).ToArray();
                var (_, inCts) = Transforms.Vjp.Apply(Body, ins, cts);
                g.SetOutputs([.. inCts.Select((c, i) => c ?? Fn.Zeros(g, ins[i].Shape))]);
                return _adjoint = Trim(g);
            }
        }
    }

    /// <summary>
    /// Runs the loop on (carry…, constants…) and returns the final carry; <paramref name="visit"/> sees the carry
    /// before each application of the body. The arrays passed in are not written.
    /// </summary>
    internal NDArray<T>[] Run<T>(RunContext context, NDArray<T>[] inputs, Action<NDArray<T>[]>? visit = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var carry = inputs[..CarryCount];
        var constants = inputs[CarryCount..];
        int k = 0;
        while (true)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            double p = double.CreateTruncating(context.Run(Condition, [.. carry, .. constants])[0].Data[0]);
            if (double.IsNaN(p))
                throw new WhileLoopException($"while: the condition is NaN after {k} iteration(s) (carry of shapes {string.Join(", ", CarryShapes)}); a condition must be a number.");
            if (StopWhenPositive ? p > 0 : !(p > 0)) break;
            if (k == MaxIterations)
                throw new WhileLoopException($"while: the loop did not finish within maxIterations = {MaxIterations} iterations " +
                    $"(the condition is still {p:G4}; carry of shapes {string.Join(", ", CarryShapes)}). Raise maxIterations or check that the condition can become {(StopWhenPositive ? "> 0" : "≤ 0")}.");
            visit?.Invoke(carry);
            carry = context.Run(Body, [.. carry, .. constants]);
            k++;
        }
        LastIterations = k;
        if (Source is { } source) source.LastIterations = k;
        return carry;
    }

    /// <summary>
    /// The loop over jets of order K (direction axes <see cref="JetRuleArgs.Prefix"/>) for a rule whose inputs
    /// 0…n+m−1 are this loop's (carry…, constants…): carries y_0 of every value then y_1…y_K, k-major, each
    /// coefficient materialised (it is carried); constants y_0 then the nonzero coefficients only. The
    /// condition reads the primal carry only, so the jet loop makes exactly the trips of the primal loop.
    /// </summary>
    internal (WhileLoop Loop, List<Node> Inputs, List<JetSlot> Slots) JetLoop(JetRuleArgs a)
    {
        int n = CarryCount, m = ConstantCount, order = a.Order;
        var slots = new List<JetSlot>();
        var nodes = new List<Node>();
        for (int i = 0; i < n; i++) { slots.Add(new(i, 0)); nodes.Add(a.Primals[i]); }
        for (int k = 1; k <= order; k++)
            for (int i = 0; i < n; i++)
            {
                slots.Add(new(i, k));
                nodes.Add(a.X(i, k) ?? Fn.Zeros(a.Graph, Prefixed(a.Prefix, Body.Inputs[i].Shape)));
            }
        for (int j = 0; j < m; j++) { slots.Add(new(n + j, 0)); nodes.Add(a.Primals[n + j]); }
        for (int k = 1; k <= order; k++)
            for (int j = 0; j < m; j++)
                if (a.X(n + j, k) is { } x) { slots.Add(new(n + j, k)); nodes.Add(x); }
        var outputs = new List<JetSlot>();
        for (int k = 0; k <= order; k++)
            for (int i = 0; i < n; i++) outputs.Add(new(i, k));
        var body = JetGraph(Body, slots, outputs, order, a.Prefix);
        var condition = JetGraph(Condition, slots, [new(0, 0)], order, a.Prefix);
        return (Derive(condition, body, n * (order + 1)), nodes, slots);
    }
}
