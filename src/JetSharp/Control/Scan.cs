using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Tensors;
using JetSharp.Transforms;

namespace JetSharp.Control;

/// <summary>
/// How reverse mode through a loop (a scan, or a while loop) keeps the forward states it needs: all of them
/// (a scan's as a stacked trajectory in the graph, so the result can be differentiated again), or one every
/// <c>Stride</c> steps, recomputing each segment from its checkpoint during the backward sweep (memory ~
/// L/Stride + Stride states for L steps). A while loop learns L only by running: with <see cref="SqrtLength"/>
/// its sweep runs the loop once more to count the trips first.
/// </summary>
/// <param name="Stride">0: store every state. s ≥ 1: keep a checkpoint every s steps. <see cref="SqrtLength"/>: s = ⌈√L⌉.</param>
public readonly record struct LoopCheckpointing(int Stride)
{
    /// <summary>Store every state (the default).</summary>
    public static LoopCheckpointing None => new(0);

    /// <summary>A checkpoint every ⌈√L⌉ steps: memory ~ 2√L states, one extra forward sweep.</summary>
    public static LoopCheckpointing SqrtLength => new(-1);

    /// <summary>The stride for a loop of <paramref name="length"/> steps (0 = store all).</summary>
    internal int For(int length) => Stride >= 0 ? Stride : Math.Max(1, (int)Math.Ceiling(Math.Sqrt(length)));
}

/// <summary>
/// What the Taylor rule of a scan records about the jet scan it builds, for the collapsing rule of the
/// simplifier: the order K, the direction prefix P, and which carries, xs and constants are the top
/// (order-K) coefficients. By the structure of Taylor mode, a top coefficient enters the body's outputs
/// only through the top coefficients, and linearly, through the Jacobian at the primal values (which do
/// not carry P): Σ_P of a top carry can therefore be carried instead of the |P| terms (docs/control-flow.md).
/// </summary>
internal sealed record ScanJetInfo(int Order, Shape Prefix, int[] TopCarries, int[] TopXs, int[] TopConsts);

/// <summary>
/// A loop over a leading axis (or a count): <c>carry ← body(carry, xs[l], consts)</c> for l = 0..L−1
/// (L−1..0 when <see cref="Reverse"/>), collecting the body's extra outputs as stacked ys [L, …].
/// <para>Body graph: inputs (carries c₁..c_m, xs slices x₁..x_p, constants k₁..k_q), outputs (new carries
/// c₁'..c_m' of the carries' shapes, then per-step outputs y₁..y_r). The scan node's inputs are (initial
/// carries, xs stacked on a leading axis of length L, constants); its value is output
/// <see cref="Select"/> of (final carries…, stacked ys…). A scan with several results used is several
/// nodes with equal bodies (each runs the loop); unused results cost nothing.</para>
/// <para>Rules: the kernel runs the body with the run's <see cref="IGraphRunner"/> (compiled once);
/// the K-jet is a scan over jets of the body (the body transformed once per order, prefix and
/// active coefficients, cached with the body); reverse mode is a trajectory scan and a reverse scan
/// over the body's VJP, or a checkpointing kernel (<see cref="Checkpointing"/>).</para>
/// </summary>
public sealed class ScanOp : Primitive, ISubgraphOp
{
    internal ScanOp(Graph body, int length, int carries, int xs, int select, bool reverse, LoopCheckpointing checkpointing, ScanJetInfo? jet = null)
    {
        Body = body;
        Length = length;
        Carries = carries;
        Xs = xs;
        Select = select;
        Reverse = reverse;
        Checkpointing = checkpointing;
        Jet = jet;
        Check(body, length, carries, xs, select);
    }

    /// <summary>The loop body (see the class summary for its inputs and outputs).</summary>
    public Graph Body { get; }
    /// <summary>L, the number of steps.</summary>
    public int Length { get; }
    /// <summary>m, the number of carried values.</summary>
    public int Carries { get; }
    /// <summary>p, the number of scanned inputs (each stacked [L, …]).</summary>
    public int Xs { get; }
    /// <summary>q, the number of loop-invariant inputs.</summary>
    public int Consts => Body.Inputs.Count - Carries - Xs;
    /// <summary>r, the number of per-step outputs.</summary>
    public int Ys => Body.Outputs.Count - Carries;
    /// <summary>Which result this node is: a final carry (&lt; m) or stacked ys m + i.</summary>
    public int Select { get; }
    /// <summary>Steps run from the last slice to the first.</summary>
    public bool Reverse { get; }
    /// <summary>How reverse mode keeps forward states.</summary>
    public LoopCheckpointing Checkpointing { get; }
    internal ScanJetInfo? Jet { get; }

    /// <inheritdoc/>
    public override string Name => "scan";

    /// <inheritdoc/>
    public override string Attributes =>
        $"@{Subgraphs.IdOf(Body)}, L={Length}, carry {Carries}, xs {Xs}{(Reverse ? ", reverse" : "")}" +
        $"{(Checkpointing.Stride != 0 ? $", checkpoint {Checkpointing.For(Length)}" : "")}{(Jet is { } j ? $", jet{j.Order}{j.Prefix}" : "")} → {Select}";

    /// <inheritdoc/>
    public IReadOnlyList<Graph> Bodies => [Body];

    /// <inheritdoc/>
    public Primitive WithBodies(IReadOnlyList<Graph> bodies)
    {
        ArgumentNullException.ThrowIfNull(bodies);
        if (bodies.Count != 1) throw new ArgumentException($"scan: has one body, got {bodies.Count}.", nameof(bodies));
        Subgraphs.CheckSameSignature(Body, bodies[0], "scan");
        return new ScanOp(bodies[0], Length, Carries, Xs, Select, Reverse, Checkpointing, Jet);
    }

    internal ScanOp With(Graph body, int carries, int xs, int select, bool? reverse = null, ScanJetInfo? jet = null) =>
        new(body, Length, carries, xs, select, reverse ?? Reverse, Checkpointing, jet);

    internal ScanOp Selecting(int select) => new(Body, Length, Carries, Xs, select, Reverse, Checkpointing, Jet);

    /// <summary>Body-level checks, naming the body and the shapes.</summary>
    private static void Check(Graph body, int length, int carries, int xs, int select)
    {
        ArgumentNullException.ThrowIfNull(body);
        string who = $"scan (body @{Subgraphs.IdOf(body)})";
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, $"{who}: the length must be ≥ 0, got {length}.");
        if (carries < 0 || xs < 0 || carries + xs > body.Inputs.Count)
            throw new ArgumentException($"{who}: {carries} carries and {xs} xs for a body of {body.Inputs.Count} inputs.");
        if (body.Outputs.Count < carries)
            throw new ShapeException($"{who}: the body returns {body.Outputs.Count} value(s) but there are {carries} carries; it must return the new carries first.");
        for (int c = 0; c < carries; c++)
            if (body.Outputs[c].Shape != body.Inputs[c].Shape)
                throw new ShapeException($"{who}: carry {c} ('{GraphWalk.InputName(body.Inputs[c])}') enters the body as {body.Inputs[c].Shape} but the body returns {body.Outputs[c].Shape} for it; a carry must keep its shape.");
        if (select < 0 || select >= body.Outputs.Count)
            throw new ArgumentOutOfRangeException(nameof(select), select, $"{who}: result {select} does not exist ({body.Outputs.Count} results).");
    }

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        string who = $"scan (body @{Subgraphs.IdOf(Body)})";
        if (inputs.Count != Body.Inputs.Count)
            throw new ShapeException($"{who}: expected {Body.Inputs.Count} inputs ({Carries} carries, {Xs} xs, {Consts} constants), got {inputs.Count}.");
        for (int i = 0; i < inputs.Count; i++)
        {
            var want = Body.Inputs[i].Shape;
            bool scanned = i >= Carries && i < Carries + Xs;
            var expected = scanned ? new Shape([Length, .. want]) : want;
            if (inputs[i].Shape != expected)
            {
                string role = i < Carries ? $"initial carry {i}" : scanned ? $"xs {i - Carries}" : $"constant {i - Carries - Xs}";
                throw new ShapeException($"{who}: {role} ('{GraphWalk.InputName(Body.Inputs[i])}') has shape {inputs[i].Shape}; the body takes {want}" +
                    (scanned ? $", so the stacked input must be [L = {Length}] + {want} = {expected}." : "."));
            }
        }
        var result = Body.Outputs[Select].Shape;
        return Select < Carries ? result : new Shape([Length, .. result]);
    }

    /// <summary>The body with only the outputs the selected result needs: the carries and, for stacked ys, that one output.</summary>
    private Graph RunBody => Subgraphs.Derived(Body, $"scan-run:{Carries}:{Select}", () =>
    {
        var outs = Enumerable.Range(0, Carries).ToList();
        if (Select >= Carries) outs.Add(Select);
        return outs.Count == Body.Outputs.Count ? Body : SubgraphBuild.WithOutputs(Body, [.. outs]);
    });

    /// <summary>
    /// Runs the steps. The body is compiled once (by the runner); the slices of the scanned inputs are copied into one
    /// buffer each, reused every step, and the previous step's results, dead once the next step has read them, go back
    /// to the body's buffer pool, so a step allocates nothing once the loop is running.
    /// </summary>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var body = RunBody;
        var args = (NDArray<T>[])inputs.Clone();
        for (int i = 0; i < Xs; i++) args[Carries + i] = new NDArray<T>(body.Inputs[Carries + i].Shape);
        NDArray<T>[]? previous = null;
        for (int s = 0; s < Length; s++)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            int l = Reverse ? Length - 1 - s : s;
            for (int i = 0; i < Xs; i++) CopySlice(inputs[Carries + i], l, args[Carries + i]);
            var outs = context.Run(body, args);
            if (previous is not null) context.Recycle(body, previous);
            previous = outs;
            for (int c = 0; c < Carries; c++) args[c] = outs[c];
            if (Select >= Carries)
            {
                var y = outs[Carries];
                Array.Copy(y.Data, 0, output.Data, (long)l * y.Size, y.Size);
            }
        }
        if (Select < Carries) args[Select].Data.CopyTo(output.Data, 0);
        if (previous is not null) context.Recycle(body, previous);
    }

    /// <summary>Copies slice <paramref name="l"/> of <paramref name="stacked"/> (along its leading axis) into <paramref name="slice"/>.</summary>
    internal static void CopySlice<T>(NDArray<T> stacked, int l, NDArray<T> slice) where T : unmanaged, IFloatingPointIeee754<T> =>
        Array.Copy(stacked.Data, (long)l * slice.Size, slice.Data, 0, slice.Size);

    /// <summary>Slice <paramref name="l"/> of <paramref name="stacked"/> along its leading axis, as a new tensor.</summary>
    internal static NDArray<T> SliceAt<T>(NDArray<T> stacked, int l) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var slice = new NDArray<T>(new Shape(stacked.Shape.ToArray()[1..]));
        CopySlice(stacked, l, slice);
        return slice;
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a) => ScanJet.Taylor(this, a);

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node cotangent) => ScanReverse.Vjp(this, node, cotangent);
}

/// <summary>Small graph-building helpers shared by the ops that hold graphs.</summary>
internal static class SubgraphBuild
{
    /// <summary>A copy of <paramref name="g"/> returning only the outputs at <paramref name="outputs"/> (what they do not need is dropped).</summary>
    public static Graph WithOutputs(Graph g, int[] outputs)
    {
        var h = new Graph(g.DType);
        var map = GraphWalk.Copy(g, h, GraphWalk.MirrorInputs(g, h));
        h.SetOutputs([.. outputs.Select(o => map[g.Outputs[o]])]);
        return h;
    }

    /// <summary>Moves axis <paramref name="from"/> of x to position <paramref name="to"/>.</summary>
    public static Node MoveAxis(Node x, int from, int to)
    {
        if (from == to) return x;
        var perm = Enumerable.Range(0, x.Rank).Where(i => i != from).ToList();
        perm.Insert(to, from);
        return Fn.Transpose(x, [.. perm]);
    }
}
