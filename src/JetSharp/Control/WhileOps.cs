using JetSharp.Tensors;
using JetSharp.Ir;
using static JetSharp.Control.SubgraphJets;

namespace JetSharp.Control;

/// <summary>
/// What the Taylor rule of a while loop records about the loop over jets it builds, for the collapsing rule of the
/// simplifier: the order K, the direction prefix P, and what each input of the jet loop is (<see cref="Slots"/>: the
/// original carry or constant and the coefficient; the carried ones come first, in the order of the carry's outputs).
/// As for a scan (<see cref="ScanJetInfo"/>), a top (order-K) coefficient enters the body's outputs only through the
/// top coefficients and linearly, with the Jacobian at the primal values, and the condition reads the primal only.
/// </summary>
internal sealed record WhileJetInfo(int Order, Shape Prefix, JetSlot[] Slots)
{
    /// <summary>True when input <paramref name="i"/> of the jet loop is a top coefficient.</summary>
    public bool IsTop(int i) => Slots[i].K == Order;
}

/// <summary>
/// <c>while(c₀…, θ…)</c>: the final carry of a <see cref="WhileLoop"/>, packed (the carried values
/// flattened one after another; <c>Tracer.While</c> unpacks them with slice and reshape).
/// <para>Derivatives are those of the path taken: the trip count is piecewise constant in the inputs
/// and is not differentiated. The Taylor rule of any order K is a loop over jets (each carried value
/// carries y₀…y_K; the condition reads y₀ only), so forward mode makes the trips of the primal loop
/// once more. Reverse mode is a <see cref="WhileSweepOp"/>: it replays the loop storing every carry
/// (memory: trips × the carry's bytes, reported to the run's meter), or only checkpoints of it
/// (<see cref="WhileLoop.Checkpointing"/>), and pulls the cotangent back through the steps.</para>
/// </summary>
internal sealed class WhileOp(WhileLoop loop, WhileJetInfo? jet = null) : Primitive, ISubgraphOp
{
    public WhileLoop Loop { get; } = loop;

    /// <summary>Set on the loop over jets that the Taylor rule builds: which of its inputs are the top coefficients (for collapsing).</summary>
    public WhileJetInfo? Jet { get; } = jet;
    public override string Name => "while";
    public override string Attributes => $"#{Loop.Id}, ≤{Loop.MaxIterations} it";

    /// <summary>[condition, body].</summary>
    public IReadOnlyList<Graph> Bodies => [Loop.Condition, Loop.Body];

    public Primitive WithBodies(IReadOnlyList<Graph> bodies)
    {
        if (bodies.Count != 2) throw new ArgumentException($"while: expects 2 bodies (condition, body), got {bodies.Count}.", nameof(bodies));
        Subgraphs.CheckSameSignature(Loop.Condition, bodies[0], "while (condition)");
        Subgraphs.CheckSameSignature(Loop.Body, bodies[1], "while (body)");
        return new WhileOp(Loop.Derive(bodies[0], bodies[1], Loop.CarryCount), Jet);
    }

    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, Loop.Body.Inputs.Count, Name);
        for (int i = 0; i < inputs.Count; i++)
            if (inputs[i].Shape != Loop.Body.Inputs[i].Shape)
                throw new ShapeException($"while: {(i < Loop.CarryCount ? $"carry {i}" : $"constant {i - Loop.CarryCount}")} has shape {inputs[i].Shape}; the loop was traced for {Loop.Body.Inputs[i].Shape}.");
        return PackedShape(Loop.CarryShapes);
    }

    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) =>
        Pack(Loop.Run(context, inputs), output);

    public override Node?[] Vjp(Node node, Node cotangent)
    {
        var carryShapes = Loop.CarryShapes;
        var cts = carryShapes.Select((_, i) => Component(cotangent, carryShapes, i));
        var sweep = node.Graph.Apply(new WhileSweepOp(Loop, Loop.Adjoint, Loop.CarryCount, Loop.ConstantCount), [.. node.Inputs, .. cts]);
        var shapes = Loop.InputShapes;
        return [.. shapes.Select((_, i) => (Node?)Component(sweep, shapes, i))];
    }

    public override Node?[] Taylor(JetRuleArgs a)
    {
        var (jet, inputs, slots) = Loop.JetLoop(a);
        var packed = a.Graph.Apply(new WhileOp(jet, new WhileJetInfo(a.Order, a.Prefix, [.. slots])), [.. inputs]);
        int n = Loop.CarryCount;
        var shapes = jet.CarryShapes;
        var y = new Node?[a.Order + 1];
        for (int k = 1; k <= a.Order; k++)
            y[k] = PackCoefficient([.. Enumerable.Range(0, n).Select(i => Component(packed, shapes, k * n + i))], a.Prefix);
        return y;
    }
}

/// <summary>
/// Reverse sweep through a <see cref="WhileLoop"/>: inputs (carry₀…, constants…, c̄…), output packed
/// (c̄ after the sweep…, accumulated ā…). The loop is replayed and every carry before a step stored
/// (trips × carry bytes, reported to the run's <see cref="RunContext.Meter"/>), or with the loop's
/// <see cref="WhileLoop.Checkpointing"/> one carry every s steps, each segment recomputed from its
/// checkpoint when the sweep reaches it ((trips/s + s) carries; ⌈√trips⌉ for <see cref="LoopCheckpointing.SqrtLength"/>,
/// which costs one more replay to count the trips); then, for the steps in reverse, <see cref="StepAdjoint"/> maps (carry_k…, constants…, c̄…) to (c̄…, ā increments…) and the
/// increments are summed. For the VJP of a loop the step adjoint is the body's pullback (c̄ the carry's
/// cotangent, ā the constants'). Its Taylor rule is the same sweep over the jet loop with the jet of the
/// step adjoint, so forward-over-reverse (Hessian-vector products) works to any order; reverse over
/// reverse is not supported.
/// </summary>
internal sealed class WhileSweepOp : Primitive, ISubgraphOp
{
    public WhileSweepOp(WhileLoop loop, Graph stepAdjoint, int cotangentCount, int accumulatorCount)
    {
        if (stepAdjoint.Inputs.Count != loop.Body.Inputs.Count + cotangentCount || stepAdjoint.Outputs.Count != cotangentCount + accumulatorCount)
            throw new InvalidOperationException("while sweep: the step adjoint does not match the loop.");
        Loop = loop;
        StepAdjoint = stepAdjoint;
        CotangentCount = cotangentCount;
        AccumulatorCount = accumulatorCount;
    }

    public WhileLoop Loop { get; }
    public Graph StepAdjoint { get; }
    public int CotangentCount { get; }
    public int AccumulatorCount { get; }
    public override string Name => "while_vjp";
    public override string Attributes => $"#{Loop.Id}";

    /// <summary>[condition, body, step adjoint].</summary>
    public IReadOnlyList<Graph> Bodies => [Loop.Condition, Loop.Body, StepAdjoint];

    public Primitive WithBodies(IReadOnlyList<Graph> bodies)
    {
        if (bodies.Count != 3) throw new ArgumentException($"while_vjp: expects 3 bodies (condition, body, step adjoint), got {bodies.Count}.", nameof(bodies));
        Subgraphs.CheckSameSignature(Loop.Condition, bodies[0], "while_vjp (condition)");
        Subgraphs.CheckSameSignature(Loop.Body, bodies[1], "while_vjp (body)");
        Subgraphs.CheckSameSignature(StepAdjoint, bodies[2], "while_vjp (step adjoint)");
        return new WhileSweepOp(Loop.Derive(bodies[0], bodies[1], Loop.CarryCount), bodies[2], CotangentCount, AccumulatorCount);
    }

    private IReadOnlyList<Shape> OutputShapes => [.. StepAdjoint.Outputs.Select(o => o.Shape)];

    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, StepAdjoint.Inputs.Count, Name);
        for (int i = 0; i < inputs.Count; i++)
            if (inputs[i].Shape != StepAdjoint.Inputs[i].Shape)
                throw new ShapeException($"while_vjp: input {i} has shape {inputs[i].Shape}; expected {StepAdjoint.Inputs[i].Shape}.");
        return PackedShape(OutputShapes);
    }

    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        int loopInputs = Loop.Body.Inputs.Count;
        var start = inputs[..loopInputs];
        var constants = inputs[Loop.CarryCount..loopInputs];
        var meter = context.Meter;
        int stride = Loop.Checkpointing.Stride;
        if (stride < 0)
        {
            int trips = 0;
            Loop.Run(context, start, _ => trips++);
            stride = Loop.Checkpointing.For(trips);
        }
        // The replay keeps the carry before step k for every k (stride 0) or for k = 0, s, 2s, … (checkpoints).
        var kept = new List<NDArray<T>[]>();
        int steps = 0;
        long bytes = 0;
        try
        {
            Loop.Run(context, start, carry =>
            {
                if (stride == 0 || steps % stride == 0) { kept.Add(carry); bytes += Keep(meter, carry); }
                steps++;
            });
            var ct = inputs[loopInputs..];
            var acc = StepAdjoint.Outputs.Skip(CotangentCount).Select(o => new NDArray<T>(o.Shape)).ToArray();
            void PullBack(NDArray<T>[] carry)
            {
                context.Cancellation.ThrowIfCancellationRequested();
                var pulled = context.Run(StepAdjoint, [.. carry, .. constants, .. ct]);
                ct = pulled[..CotangentCount];
                for (int q = 0; q < AccumulatorCount; q++)
                {
                    var (into, add) = (acc[q].Data, pulled[CotangentCount + q].Data);
                    for (int i = 0; i < into.Length; i++) into[i] += add[i];
                }
            }
            if (stride == 0)
                for (int k = kept.Count - 1; k >= 0; k--) PullBack(kept[k]);
            else
                for (int seg = kept.Count - 1; seg >= 0; seg--)
                {
                    // Recompute the segment's carries from its checkpoint, then pull back through them in reverse.
                    var segment = new List<NDArray<T>[]> { kept[seg] };
                    long segmentBytes = 0;
                    try
                    {
                        for (int j = 1; j < Math.Min(stride, steps - seg * stride); j++)
                        {
                            segment.Add(context.Run(Loop.Body, [.. segment[^1], .. constants]));
                            segmentBytes += Keep(meter, segment[^1]);
                        }
                        for (int j = segment.Count - 1; j >= 0; j--) PullBack(segment[j]);
                    }
                    finally { meter.Release(segmentBytes); }
                }
            Pack([.. ct, .. acc], output);
        }
        finally { meter.Release(bytes); }
    }

    /// <summary>Reports a kept carry to the run's meter; returns its bytes.</summary>
    private static long Keep<T>(MemoryMeter meter, NDArray<T>[] carry) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long b = carry.Sum(c => c.Bytes);
        meter.Allocate(b);
        return b;
    }

    public override Node?[] Vjp(Node node, Node cotangent) =>
        throw new NotSupportedException("while_vjp: reverse mode of a while loop's reverse sweep (reverse over reverse) is not supported; " +
            "take higher derivatives through a while loop with Taylor mode or forward-over-reverse.");

    public override Node?[] Taylor(JetRuleArgs a)
    {
        int loopInputs = Loop.Body.Inputs.Count, c = CotangentCount, acc = AccumulatorCount, order = a.Order;
        var (jet, inputs, slots) = Loop.JetLoop(a);
        var adjointSlots = new List<JetSlot>(slots);
        var cts = new List<Node>();
        for (int l = 0; l < c; l++) { adjointSlots.Add(new(loopInputs + l, 0)); cts.Add(a.Primals[loopInputs + l]); }
        for (int k = 1; k <= order; k++)
            for (int l = 0; l < c; l++)
            {
                adjointSlots.Add(new(loopInputs + l, k));
                cts.Add(a.X(loopInputs + l, k) ?? Jets0(a, StepAdjoint.Inputs[loopInputs + l].Shape));
            }
        var outputs = new List<JetSlot>();
        for (int k = 0; k <= order; k++) for (int l = 0; l < c; l++) outputs.Add(new(l, k));
        for (int k = 0; k <= order; k++) for (int q = 0; q < acc; q++) outputs.Add(new(c + q, k));
        var jetAdjoint = JetGraph(StepAdjoint, adjointSlots, outputs, order, a.Prefix);
        var sweep = a.Graph.Apply(new WhileSweepOp(jet, jetAdjoint, c * (order + 1), acc * (order + 1)), [.. inputs, .. cts]);
        var shapes = jetAdjoint.Outputs.Select(o => o.Shape).ToArray();
        var y = new Node?[order + 1];
        for (int k = 1; k <= order; k++)
        {
            var parts = Enumerable.Range(0, c).Select(l => Component(sweep, shapes, k * c + l))
                .Concat(Enumerable.Range(0, acc).Select(q => Component(sweep, shapes, c * (order + 1) + k * acc + q)));
            y[k] = PackCoefficient([.. parts], a.Prefix);
        }
        return y;
    }

    private static Node Jets0(JetRuleArgs a, Shape shape) => Primitives.Fn.Zeros(a.Graph, Prefixed(a.Prefix, shape));
}
