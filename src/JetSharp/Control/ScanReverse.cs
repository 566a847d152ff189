using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Tensors;
using JetSharp.Transforms;

namespace JetSharp.Control;

/// <summary>
/// Reverse mode through a scan. The backward sweep pulls the cotangent of the carries back through the
/// body's VJP, step by step in the opposite order, and collects the cotangents of each xs slice (stacked)
/// and of the constants (summed, carried as accumulators). It needs the state entering every step:
/// <list type="bullet">
/// <item>stored (the default): a trajectory scan stacks them [L, …] in the graph, and the backward sweep
/// is an ordinary reverse scan over them — both are graphs, so the result can be differentiated again;</item>
/// <item>checkpointed (<see cref="LoopCheckpointing"/>): a kernel keeps one state every s steps and
/// recomputes each segment of s states from its checkpoint as the backward sweep reaches it.</item>
/// </list>
/// </summary>
internal static class ScanReverse
{
    public static Node?[] Vjp(ScanOp op, Node node, Node ct)
    {
        var g = node.Graph;
        int m = op.Carries, p = op.Xs, q = op.Consts;
        var inputs = node.Inputs;
        var result = new Node?[inputs.Count];
        int stride = op.Checkpointing.For(op.Length);
        if (stride > 0)
        {
            for (int i = 0; i < inputs.Count; i++)
                result[i] = g.Apply(new ScanCheckpointVjpOp(op, stride, i), [.. inputs, ct]);
            return result;
        }

        // Trajectory: the state entering each step, stacked by xs index.
        var traj = new Node[m];
        var trajBody = Subgraphs.Derived(op.Body, $"scan-traj:{m}", () =>
        {
            var h = new Graph(op.Body.DType);
            var ins = GraphWalk.MirrorInputs(op.Body, h);
            var outs = Inline.Apply(op.Body, ins);
            h.SetOutputs([.. outs.Take(m), .. ins.Take(m)]);
            return h;
        });
        for (int c = 0; c < m; c++)
            traj[c] = g.Apply(op.With(trajBody, m, p, m + c), [.. inputs]);

        bool ysCt = op.Select >= m;
        var back = BackwardBody(op, ysCt ? op.Select - m : -1);
        var carryInit = Enumerable.Range(0, m).Select(c => c == op.Select ? ct : Fn.Zeros(g, inputs[c].Shape))
            .Concat(Enumerable.Range(0, q).Select(j => Fn.Zeros(g, inputs[m + p + j].Shape)));
        var backInputs = carryInit.Concat(traj).Concat(inputs.Skip(m).Take(p));
        if (ysCt) backInputs = backInputs.Append(ct);
        backInputs = backInputs.Concat(inputs.Skip(m + p));
        var args = backInputs.ToArray();
        int xsCount = m + p + (ysCt ? 1 : 0);
        Node Result(int select) => g.Apply(op.With(back, m + q, xsCount, select, reverse: !op.Reverse), args);
        for (int c = 0; c < m; c++) result[c] = Result(c);
        for (int i = 0; i < p; i++) result[m + i] = Result(m + q + i);
        for (int j = 0; j < q; j++) result[m + p + j] = Result(m + j);
        return result;
    }

    /// <summary>
    /// One backward step. Inputs: carries (c̄₁..c̄_m, k̄₁..k̄_q accumulators), xs (states c₁..c_m, slices
    /// x₁..x_p, and ȳ of the selected per-step output when <paramref name="ys"/> ≥ 0), constants k₁..k_q.
    /// Outputs: carries (c̄ pulled back, k̄ + pulled back), ys (x̄₁..x̄_p).
    /// </summary>
    internal static Graph BackwardBody(ScanOp op, int ys) => Subgraphs.Derived(op.Body, $"scan-back:{op.Carries}:{op.Xs}:{ys}", () =>
    {
        var body = op.Body;
        int m = op.Carries, p = op.Xs, q = op.Consts;
        var h = new Graph(body.DType);
        var carryCt = Enumerable.Range(0, m).Select(c => h.Input(body.Inputs[c].Shape, $"{GraphWalk.InputName(body.Inputs[c])}_ct")).ToArray();
        var constAcc = Enumerable.Range(0, q).Select(j => h.Input(body.Inputs[m + p + j].Shape, $"{GraphWalk.InputName(body.Inputs[m + p + j])}_acc")).ToArray();
        var states = Enumerable.Range(0, m).Select(c => h.Input(body.Inputs[c].Shape, GraphWalk.InputName(body.Inputs[c]))).ToArray();
        var slices = Enumerable.Range(0, p).Select(i => h.Input(body.Inputs[m + i].Shape, GraphWalk.InputName(body.Inputs[m + i]))).ToArray();
        var yCt = ys >= 0 ? h.Input(body.Outputs[m + ys].Shape, "y_ct") : null;
        var consts = Enumerable.Range(0, q).Select(j => h.Input(body.Inputs[m + p + j].Shape, GraphWalk.InputName(body.Inputs[m + p + j]))).ToArray();
        var outCts = new Node?[body.Outputs.Count];
        for (int c = 0; c < m; c++) outCts[c] = carryCt[c];
        if (yCt is not null) outCts[m + ys] = yCt;
        var (_, cts) = Transforms.Vjp.Apply(body, [.. states, .. slices, .. consts], outCts);
        Node Ct(int i) => cts[i] ?? Fn.Zeros(h, body.Inputs[i].Shape);
        h.SetOutputs([.. Enumerable.Range(0, m).Select(Ct), .. Enumerable.Range(0, q).Select(j => constAcc[j] + Ct(m + p + j)), .. Enumerable.Range(0, p).Select(i => Ct(m + i))]);
        return h;
    });
}

/// <summary>
/// Reverse mode through a scan with checkpoints (inputs: the scan's inputs, then the cotangent of its
/// selected result; output: the cotangent of input <see cref="Input"/>). The forward sweep keeps the state
/// entering every <see cref="Stride"/>-th step; the backward sweep recomputes each segment's states from its
/// checkpoint, then pulls back through the body's VJP. Stored states are reported to the run's meter.
/// </summary>
internal sealed class ScanCheckpointVjpOp(ScanOp scan, int stride, int input) : Primitive, ISubgraphOp
{
    public ScanOp Scan { get; } = scan;
    public int Stride { get; } = stride;
    public int Input { get; } = input;
    public override string Name => "scan_checkpoint_vjp";
    public override string Attributes => $"{Scan.Attributes}, every {Stride}, d/d in{Input}";
    public IReadOnlyList<Graph> Bodies => [Scan.Body];
    public Primitive WithBodies(IReadOnlyList<Graph> bodies) => new ScanCheckpointVjpOp((ScanOp)Scan.WithBodies(bodies), Stride, Input);

    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, Scan.Body.Inputs.Count + 1, Name);
        return inputs[Input].Shape;
    }

    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var op = Scan;
        int m = op.Carries, p = op.Xs, q = op.Consts, length = op.Length;
        var ct = inputs[^1];
        var step = Subgraphs.Derived(op.Body, $"scan-run:{m}:carries", () => SubgraphBuild.WithOutputs(op.Body, [.. Enumerable.Range(0, m)]));
        int ys = op.Select >= m ? op.Select - m : -1;
        var back = ScanReverse.BackwardBody(op, ys);
        var meter = context.Meter;
        long stored = 0;
        long StateBytes(NDArray<T>[] s) => s.Sum(x => x.Bytes);
        NDArray<T>[] Advance(NDArray<T>[] carries, int l)
        {
            var args = new NDArray<T>[m + p + q];
            Array.Copy(carries, args, m);
            for (int i = 0; i < p; i++) args[m + i] = ScanOp.SliceAt(inputs[m + i], l);
            Array.Copy(inputs, m + p, args, m + p, q);
            return context.Run(step, args);
        }
        int XsIndex(int s) => op.Reverse ? length - 1 - s : s;

        // Forward: the state entering steps 0, stride, 2·stride, …
        var checkpoints = new List<NDArray<T>[]>();
        var state = inputs[..m];
        for (int s = 0; s < length; s++)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (s % Stride == 0) { checkpoints.Add(state); stored += StateBytes(state); meter.Allocate(StateBytes(state)); }
            state = Advance(state, XsIndex(s));
        }

        var carryCt = Enumerable.Range(0, m).Select(c => c == op.Select ? ct : new NDArray<T>(inputs[c].Shape)).ToArray();
        var constAcc = Enumerable.Range(0, q).Select(j => new NDArray<T>(inputs[m + p + j].Shape)).ToArray();
        var xsCt = Input >= m && Input < m + p ? new NDArray<T>(inputs[Input].Shape) : null;
        for (int seg = checkpoints.Count - 1; seg >= 0; seg--)
        {
            int first = seg * Stride, last = Math.Min(length, first + Stride);
            var segment = new List<NDArray<T>[]> { checkpoints[seg] };
            long segBytes = 0;
            for (int s = first; s < last - 1; s++)
            {
                segment.Add(Advance(segment[^1], XsIndex(s)));
                segBytes += StateBytes(segment[^1]);
            }
            meter.Allocate(segBytes);
            for (int s = last - 1; s >= first; s--)
            {
                context.Cancellation.ThrowIfCancellationRequested();
                int l = XsIndex(s);
                var args = new List<NDArray<T>>(carryCt);
                args.AddRange(constAcc);
                args.AddRange(segment[s - first]);
                for (int i = 0; i < p; i++) args.Add(ScanOp.SliceAt(inputs[m + i], l));
                if (ys >= 0) args.Add(ScanOp.SliceAt(ct, l));
                for (int j = 0; j < q; j++) args.Add(inputs[m + p + j]);
                var outs = context.Run(back, [.. args]);
                for (int c = 0; c < m; c++) carryCt[c] = outs[c];
                for (int j = 0; j < q; j++) constAcc[j] = outs[m + j];
                if (xsCt is not null)
                {
                    var slice = outs[m + q + (Input - m)];
                    Array.Copy(slice.Data, 0, xsCt.Data, (long)l * slice.Size, slice.Size);
                }
            }
            meter.Release(segBytes);
        }
        meter.Release(stored);
        var result = Input < m ? carryCt[Input] : xsCt ?? constAcc[Input - m - p];
        result.Data.CopyTo(output.Data, 0);
    }
}
