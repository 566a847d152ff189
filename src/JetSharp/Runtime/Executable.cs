using System.Diagnostics;
using System.Runtime.CompilerServices;
using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Runtime;

/// <summary>Memory and time of one run of an <see cref="Executable"/>.</summary>
/// <param name="PeakLiveBytes">Maximum, over the schedule, of the bytes of tensors the run had produced and not yet released
/// (intermediates and outputs; inputs and constants belong to the caller and are not counted). The CPU analogue of a GPU's max_memory_allocated.</param>
/// <param name="AllocatedBytes">Bytes newly allocated in this run (buffers not found in the executable's pool).</param>
/// <param name="ProducedBytes">Sum of the sizes of all tensors produced (what a plan without reuse would hold).</param>
/// <param name="Elapsed">Wall-clock time of the run.</param>
public readonly record struct RunStats(long PeakLiveBytes, long AllocatedBytes, long ProducedBytes, TimeSpan Elapsed);

/// <summary>
/// A graph compiled for execution: a schedule (the graph's topological order, restricted to what
/// the outputs need) and a memory plan. Each value's last use is known in advance; when it passes,
/// the buffer goes back to a pool and is reused by later values of the same size, in this run and the
/// next. Views (reshape) share their input's buffer, which is released when its last view dies.
/// Compile once per graph (a graph has fixed shapes), run many times, from any number of threads:
/// a run takes the executable's pool when no other run holds it, and a fresh one otherwise.
/// </summary>
public sealed class Executable
{
    private readonly Node[] _schedule;
    private readonly int[] _uses;          // consumers in the schedule, +1 for each output slot
    private readonly Dictionary<Node, int> _slot = [];
    private readonly int[][] _inputSlots;  // per scheduled node: slots of its distinct inputs (a fused tree's leaves)
    private readonly int[] _outputSlots;
    private readonly Dictionary<Node, FusedTree> _fused;
    private readonly Dictionary<Node, IGroupStep> _groups;      // steps that run several nodes (epilogues, shared passes, stacks), by primary
    private readonly bool[] _companion;                        // per scheduled node: computed by its group's primary
    private readonly Dictionary<Node, TransposedProduct> _transposed;   // products of a few rows by a constant, run as Cᵀ = Wᵀ·Aᵀ

    /// <summary>
    /// Compiles <paramref name="graph"/>; <paramref name="fuse"/> runs trees of elementwise arithmetic as single kernels (see <see cref="FusedTree"/>),
    /// and <paramref name="fuseEpilogues"/> (with <paramref name="fuse"/>; opt-in) runs the elementwise consumers and leading-axis sums of products
    /// in the GEMM's epilogue (see <see cref="EpilogueGroup"/>). Opt-in because it has not yet been measured faster, and its sums group their
    /// terms by row ranges (fixed by the summed positions, so the same for any batch size and thread count) where the node-by-node executor
    /// adds them one by one: results differ from it by rounding. With <paramref name="fuse"/>, the trees over one large value run as one pass
    /// over it (see <see cref="SharedReadPass"/>), products by one weight run as one GEMM that packs it once (see <see cref="ProductStack"/>),
    /// elementwise nodes of one shape that feed each other (an activation and its derivatives) run as one pass that stores only what
    /// other steps read (see <see cref="ElementwisePass"/>), and a product of a few rows by a constant matrix runs transposed, the
    /// matrix read in place instead of packed on every call (see <see cref="TransposedProduct"/>); all four give the node-by-node
    /// executor's bits.
    /// </summary>
    public Executable(Graph graph, bool fuse = true, bool fuseEpilogues = false)
        : this(graph, fuse, fuseEpilogues, ProductStack.Enabled, ElementwisePass.Enabled, ProductStack.FactorEnabled) { }

    /// <summary>
    /// As the public constructor; <paramref name="stackProducts"/> (with <paramref name="fuse"/>) runs products by one shared
    /// operand as one GEMM (see <see cref="ProductStack"/>; the public constructor does unless <c>JETSHARP_STACK=0</c>), and
    /// <paramref name="elementwisePasses"/> runs elementwise nodes of one shape that feed each other as one pass (see
    /// <see cref="ElementwisePass"/>; the public constructor does unless <c>JETSHARP_PASS=0</c>), and <paramref name="factorInputs"/>
    /// (with <paramref name="stackProducts"/>) lets a product form an elementwise product it alone reads as it reads it (see
    /// <see cref="ProductStack.Factored"/>; the public constructor does unless <c>JETSHARP_FACTOR=0</c>).
    /// </summary>
    internal Executable(Graph graph, bool fuse, bool fuseEpilogues, bool stackProducts, bool elementwisePasses = true, bool factorInputs = true)
    {
        ArgumentNullException.ThrowIfNull(graph);
        Graph = graph;
        var reachable = GraphWalk.Reachable(graph);
        var consumers = reachable.ToDictionary(n => n, _ => 0);
        foreach (var n in reachable)
            foreach (var i in n.InputArray.Distinct()) consumers[i]++;
        foreach (var o in graph.Outputs) consumers[o]++;
        (_fused, var absorbed) = fuse ? FusedTree.Plan(reachable, consumers) : ([], []);
        List<Node> order = [.. reachable.Where(n => !absorbed.Contains(n))];
        _groups = [];
        var primaryOf = new Dictionary<Node, Node>();
        // Each planner returns its group steps and the order contracted around them; the companions leave the order
        // (they follow their primary in the schedule).
        void Join<TGroup>((List<TGroup> Groups, List<Node> Order) plan) where TGroup : IGroupStep
        {
            foreach (var g in plan.Groups)
            {
                _groups[g.Primary] = g;
                foreach (var c in g.Companions) primaryOf[c] = g.Primary;
            }
            order = [.. plan.Order.Where(n => !primaryOf.ContainsKey(n))];
        }
        Node[] InputsOf(Node n) =>
            _groups.TryGetValue(n, out var group) ? group.Leaves
            : primaryOf.ContainsKey(n) ? []
            : [.. (_fused.TryGetValue(n, out var tree) ? tree.Leaves : n.InputArray).Distinct()];
        // The scheduler sees each group as its primary (allocating the companions too); the companions follow it.
        Node Scheduled(Node n) => primaryOf.GetValueOrDefault(n, n);
        Node[] ScheduledInputsOf(Node n) => [.. InputsOf(n).Select(Scheduled).Distinct()];
        if (fuse && fuseEpilogues) Join(GemmEpilogueFusion.Plan(order, _fused, graph.Outputs));
        // The products that form an input in the kernel are chosen before the passes, which then leave those inputs alone.
        var factored = fuse && stackProducts && factorInputs
            ? ProductStack.Factored(order, ScheduledInputsOf, _groups.ContainsKey, _fused, graph.Outputs) : [];
        var factors = factored.Values.ToHashSet();
        bool Taken(Node n) => _groups.ContainsKey(n) || factors.Contains(n);
        if (fuse) Join(SharedReadPass.Plan(order, ScheduledInputsOf, Scheduled, _fused, Taken));
        if (fuse && elementwisePasses) Join(ElementwisePass.Plan(order, ScheduledInputsOf, Scheduled, _fused, Taken, graph.Outputs));
        if (fuse && stackProducts) Join(ProductStack.Plan(order, ScheduledInputsOf, Scheduled, factored));
        long elementBytes = graph.DType.SizeInBytes();
        long Bytes(Node n) => n.Op is InputOp or ConstantOp || n.Op.IsView ? 0 : n.Shape.Size * elementBytes;
        _schedule = GroupSteps.KeepCompanionsWithPrimary(Scheduling.EagerReductions(
            order, ScheduledInputsOf, graph.Outputs.Select(Scheduled),
            n => _groups.TryGetValue(n, out var g) ? g.Companions.Append(n).Sum(Bytes) : Bytes(n)), _groups);
        var companions = primaryOf.Keys.ToHashSet();
        _companion = [.. _schedule.Select(companions.Contains)];
        for (int i = 0; i < _schedule.Length; i++) _slot[_schedule[i]] = i;
        _uses = new int[_schedule.Length];
        _inputSlots = new int[_schedule.Length][];
        for (int i = 0; i < _schedule.Length; i++)
        {
            _inputSlots[i] = [.. InputsOf(_schedule[i]).Select(x => _slot[x])];
            foreach (var s in _inputSlots[i]) _uses[s]++;
        }
        _outputSlots = [.. graph.Outputs.Select(o => _slot[o])];
        foreach (var s in _outputSlots) _uses[s]++;
        _inPlace = PlanInPlace();
        _transposed = fuse ? TransposedProduct.Plan(_schedule.Where((n, i) => !_companion[i] && !_groups.ContainsKey(n))) : [];
    }

    // Per scheduled node: the slot whose buffer it overwrites in place, or −1 (see PlanInPlace).
    private readonly int[] _inPlace;

    /// <summary>
    /// In-place updates: an elementwise node (a primitive with <see cref="Primitive.IsElementwise"/>, or a fused tree)
    /// (not a reducing one) writes its output into the buffer of an operand of its shape that dies at this node — the operand's last
    /// consumer, not an output, computed by this run (not an input or constant), and not aliased by a view.
    /// Output element i depends only on element i of each operand, and every elementwise kernel reads element i
    /// before it writes it, so the result is the same as with a fresh buffer. A primitive that declares
    /// <see cref="Primitive.InPlaceInput"/> takes over that operand's buffer under the same conditions (its kernel updates it), and so
    /// does the primary of a group step that declares <see cref="IGroupStep.Overwrites"/>.
    /// </summary>
    private int[] PlanInPlace()
    {
        var last = new int[_schedule.Length];
        Array.Fill(last, -1);
        var viewed = new bool[_schedule.Length];
        for (int i = 0; i < _schedule.Length; i++)
        {
            foreach (var s in _inputSlots[i]) last[s] = i;
            if (_schedule[i].Op.IsView) foreach (var s in _inputSlots[i]) viewed[s] = true;
        }
        foreach (var s in _outputSlots) last[s] = int.MaxValue;
        var plan = new int[_schedule.Length];
        Array.Fill(plan, -1);
        for (int i = 0; i < _schedule.Length; i++)
        {
            var node = _schedule[i];
            bool fused = _fused.TryGetValue(node, out var tree);
            bool elementwise = fused ? tree!.IsElementwise : node.Op.IsElementwise;
            if (node.Op.IsView || _companion[i]) continue;
            bool Dies(int s) => last[s] == i && !viewed[s] && _schedule[s] is var operand && operand.Shape == node.Shape &&
                                operand.Op is not (InputOp or ConstantOp) && !operand.Op.IsView;
            if (_groups.TryGetValue(node, out var group))
            {
                if (group.Overwrites is { } leaf && Dies(_slot[leaf])) plan[i] = _slot[leaf];
            }
            else if (elementwise)
            {
                foreach (var s in _inputSlots[i])
                    if (Dies(s)) { plan[i] = s; break; }
            }
            else if (!fused && node.Op.InPlaceInput is var k and >= 0 && k < node.InputArray.Length)
            {
                // A primitive that updates one operand where it is (e.g. scatter_add_into): only that operand, and only
                // when the node reads it through no other input.
                var target = node.InputArray[k];
                if (node.InputArray.Count(x => x == target) == 1 && _slot[target] is var s && Dies(s)) plan[i] = s;
            }
        }
        return plan;
    }

    /// <summary>
    /// The <see cref="RunStats.PeakLiveBytes"/> a run will report, computed from the schedule and the memory plan
    /// without running: the same allocations and releases, in the same order (outputs that must be copied
    /// included). Kernels that run nested graphs (fixed-point solves) may hold more while they run; for graphs
    /// without them the figure is exact.
    /// </summary>
    public long PlannedPeakBytes() => SimulatePlan(null);

    /// <summary>
    /// The values whose buffers are live at the planned peak (<see cref="PlannedPeakBytes"/>), largest first, with their
    /// bytes: where a graph's memory goes. A view's storage is listed under the node that allocated it.
    /// </summary>
    public IReadOnlyList<(Node Node, long Bytes)> LiveAtPlannedPeak()
    {
        var live = new List<(Node, long)>();
        SimulatePlan(live);
        return [.. live.OrderByDescending(x => x.Item2)];
    }

    /// <summary>The schedule, one line per step: the live bytes after the step's allocation, and the node (fused trees marked).</summary>
    public string PlanListing()
    {
        var sb = new System.Text.StringBuilder();
        SimulatePlan(null, (i, live) => sb.AppendLine($"{live,12:N0}  {Mark(_schedule[i])}{_schedule[i]}"));
        return sb.ToString();
    }

    private long SimulatePlan(List<(Node, long)>? liveAtPeak, Action<int, long>? step = null)
    {
        long size = Graph.DType.SizeInBytes(), live = 0, peak = 0;
        var owner = new int[_schedule.Length];          // slot whose buffer a value uses, −1 when not the run's
        var refs = new Dictionary<int, int>();
        var remaining = (int[])_uses.Clone();
        void Allocate(int slot)
        {
            live += _schedule[slot].Shape.Size * size;
            if (live <= peak) return;
            peak = live;
            if (liveAtPeak is null) return;
            liveAtPeak.Clear();
            foreach (var o in refs.Keys) liveAtPeak.Add((_schedule[o], _schedule[o].Shape.Size * size));
        }
        void Release(int slot)
        {
            int o = owner[slot];
            if (o < 0) return;
            if (--refs[o] > 0) return;
            refs.Remove(o);
            live -= _schedule[o].Shape.Size * size;
        }
        void TakeOver(int i)
        {
            int from = owner[_inPlace[i]];               // the operand's buffer passes to this node
            refs.Remove(from);
            owner[_inPlace[i]] = -1;
            owner[i] = i;
            refs[i] = 1;
        }
        for (int i = 0; i < _schedule.Length; i++)
        {
            var node = _schedule[i];
            if (node.Op is InputOp or ConstantOp) owner[i] = -1;
            else if (node.Op.IsView)
            {
                var source = _fused.TryGetValue(node, out var t) ? t.Leaves[0] : node.InputArray[0];
                owner[i] = owner[_slot[source]];
                if (owner[i] >= 0) refs[owner[i]]++;
            }
            else if (_companion[i]) { }                  // allocated by its group's step
            else if (_groups.TryGetValue(node, out var group))
            {
                foreach (var member in group.Companions.Prepend(node))
                {
                    int slot = _slot[member];
                    if (slot == i && _inPlace[i] >= 0)
                    {
                        TakeOver(i);
                        continue;
                    }
                    owner[slot] = slot;
                    refs[slot] = 1;
                    Allocate(slot);
                }
                if (group.Scratch is { } scratch) { live += scratch.Size * size; peak = Math.Max(peak, live); live -= scratch.Size * size; }
            }
            else if (_inPlace[i] >= 0) TakeOver(i);
            else
            {
                owner[i] = i;
                refs[i] = 1;
                Allocate(i);
            }
            step?.Invoke(i, live);
            foreach (var s in _inputSlots[i])
                if (--remaining[s] == 0) Release(s);
            if (remaining[i] == 0) Release(i);
        }
        var handedOut = new HashSet<int>();
        foreach (var o in _outputSlots)
            if (owner[o] < 0 || !handedOut.Add(owner[o]))
            {
                refs[o] = refs.GetValueOrDefault(o) + 1;
                Allocate(o);
            }
        return peak;
    }

    private string Mark(Node n) =>
        _groups.TryGetValue(n, out var g) ? $"{g.Label} " : _companion[_slot[n]] ? "(in group step) " : _fused.ContainsKey(n) ? "fused " : _transposed.ContainsKey(n) ? "transposed " : "";

    /// <summary>Number of fused kernels and of graph nodes they replace.</summary>
    public (int Kernels, int Nodes) Fusion => (_fused.Count, _fused.Values.Sum(t => t.Size));

    /// <summary>Number of products run with their consumers in the GEMM's epilogue (<see cref="EpilogueGroup"/>), and of graph nodes they replace.</summary>
    public (int Products, int Nodes) EpilogueFusion
    {
        get
        {
            var epilogues = _groups.Values.OfType<EpilogueGroup>().ToList();
            return (epilogues.Count, epilogues.Sum(g => g.Size));
        }
    }

    /// <summary>Number of steps that run several products by one shared operand as one GEMM (<see cref="ProductStack"/>), and of products they run.</summary>
    internal (int Steps, int Products) StackedProducts
    {
        get
        {
            var stacks = _groups.Values.OfType<ProductStack>().ToList();
            return (stacks.Count, stacks.Sum(s => s.Companions.Length + 1));
        }
    }

    /// <summary>Products that form an input in the kernel (see <see cref="ProductStack.Factored"/>).</summary>
    internal int FactoredProducts => _groups.Values.OfType<ProductStack>().Sum(s => s.Absorbed.Length);

    /// <summary>Number of elementwise passes (<see cref="ElementwisePass"/>), and of graph nodes they run (fused trees counted as one).</summary>
    internal (int Passes, int Members) ElementwisePasses
    {
        get
        {
            var passes = _groups.Values.OfType<ElementwisePass>().ToList();
            return (passes.Count, passes.Sum(p => p.Members));
        }
    }

    /// <summary>Number of products run transposed (<see cref="TransposedProduct"/>).</summary>
    internal int TransposedProducts => _transposed.Count;

    /// <summary>Compiles <paramref name="graph"/>: schedules it, fuses elementwise trees and plans its buffers.</summary>
    public static Executable Compile(Graph graph) => new(graph ?? throw new ArgumentNullException(nameof(graph)));

    /// <summary>The compiled graph.</summary>
    public Graph Graph { get; }

    /// <summary>
    /// Added to the seed of every random-sampling node in runs that do not pass their own offset (e.g.
    /// the training step). Set it before the runs it applies to; runs in flight keep the value they started with.
    /// </summary>
    public long SeedOffset { get; set; }

    /// <summary>Statistics of the most recent run that finished (on any thread).</summary>
    public RunStats LastRun => Volatile.Read(ref _lastRun).Stats;

    private RunStatsBox _lastRun = new(default);

    private sealed record RunStatsBox(RunStats Stats); // swapped whole, so a reader never sees a torn struct

    /// <summary>Runs on tensors of the graph's dtype, one per graph input, and returns one tensor per output.</summary>
    public NDArray[] Run(params NDArray[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return Graph.DType switch
        {
            DType.Float32 => [.. Run(Cast<float>(inputs))],
            _ => [.. Run(Cast<double>(inputs))],
        };
    }

    /// <summary>
    /// Runs on one tensor per graph input and returns one tensor per output. Safe to call from several
    /// threads at once: every run has its own <see cref="RunContext"/>, value table and buffers.
    /// The outputs are new tensors that the caller owns (never an input's or a constant's storage).
    /// </summary>
    public NDArray<T>[] Run<T>(params NDArray<T>[] inputs) where T : unmanaged, IFloatingPointIeee754<T> =>
        Run(inputs, SeedOffset);

    /// <summary>As <see cref="Run{T}(NDArray{T}[])"/>, with this run's seed offset and cancellation.</summary>
    public NDArray<T>[] Run<T>(NDArray<T>[] inputs, long seedOffset, CancellationToken cancellation = default) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return Run(inputs, new RunContext(GraphRunner.Instance, seedOffset, null, cancellation));
    }

    /// <summary>Runs within <paramref name="context"/> (a nested run: the context's meter counts what this run holds).</summary>
    public NDArray<T>[] Run<T>(NDArray<T>[] inputs, RunContext context) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(context);
        Validate(inputs);
        var pool = RentPool<T>();
        try
        {
            var (outputs, stats) = RunScheduled(inputs, pool, context);
            Volatile.Write(ref _lastRun, new RunStatsBox(stats));
            return outputs;
        }
        finally { ReturnPool(pool); }
    }

    /// <summary>
    /// Gives the storage of tensors this executable returned (outputs of earlier runs) back to its buffer pool, so later
    /// runs reuse it instead of allocating: for a training loop whose outputs are copied out every step (gradients),
    /// this keeps a run's allocation at zero after the first. The tensors must not be used afterwards (a later run
    /// overwrites them). Refused: a tensor that is not the storage of an output this executable handed out (an input, a
    /// copy, one given back already), and one of another dtype; when another run holds the pool, the storage is left to the garbage collector.
    /// </summary>
    public void Recycle<T>(IReadOnlyList<NDArray<T>> outputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(outputs);
        if (DTypes.Of<T>() != Graph.DType)
            throw new ArgumentException($"Executable.Recycle: the graph is {Graph.DType.Name()}; these tensors are {DTypes.Of<T>().Name()}.", nameof(outputs));
        var seen = new HashSet<T[]>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < outputs.Count; i++)
        {
            var t = outputs[i] ?? throw new ArgumentNullException(nameof(outputs), $"Executable.Recycle: tensor {i} is null.");
            if (!seen.Add(t.Data))
                throw new ArgumentException($"Executable.Recycle: tensor {i} shares its storage with an earlier one in the list.", nameof(outputs));
            if (!_handedOut.TryGetValue(t.Data, out _))
                throw new ArgumentException($"Executable.Recycle: tensor {i} ({t.Shape}) is not an output of a run of this executable (or was given back already); only those can be reused.", nameof(outputs));
        }
        foreach (var data in seen) _handedOut.Remove(data);
        if (Interlocked.Exchange(ref _pool, null) is not BufferPool<T> pool) return;
        try { foreach (var data in seen) pool.Return(data); }
        finally { ReturnPool(pool); }
    }

    /// <summary>
    /// Times every scheduled step (off by default; a timestamp per step when on). Setting it clears the times gathered so far.
    /// </summary>
    public bool Profile
    {
        get => _profile is not null;
        set => _profile = value ? new long[_schedule.Length] : null;
    }

    private long[]? _profile;

    /// <summary>
    /// The scheduled steps that took longest while <see cref="Profile"/> was on, one line each: total milliseconds, share
    /// of the total, and the node (fused trees marked with the number of nodes they replace).
    /// </summary>
    public string ProfileReport(int top = 30)
    {
        if (_profile is not { } times) return "Executable.ProfileReport: profiling is off.";
        double total = times.Sum() * 1e3 / Stopwatch.Frequency;
        var sb = new System.Text.StringBuilder($"{total:0.0} ms in all over {_schedule.Length} scheduled steps\n");
        foreach (var i in Enumerable.Range(0, times.Length).OrderByDescending(i => times[i]).Take(top))
        {
            double ms = times[i] * 1e3 / Stopwatch.Frequency;
            string fused = _groups.TryGetValue(_schedule[i], out var g) ? $"{g.Label} "
                : _fused.TryGetValue(_schedule[i], out var t) ? $"fused({t.Size}) " : _transposed.ContainsKey(_schedule[i]) ? "transposed " : "";
            sb.AppendLine($"{ms,10:0.0} ms {100 * ms / Math.Max(total, 1e-12),5:0.0}%  {fused}{_schedule[i]}");
        }
        return sb.ToString();
    }

    // Storage of the outputs handed to callers (weakly held): what Recycle accepts.
    private readonly ConditionalWeakTable<object, object> _handedOut = new();

    // A run takes the executable's buffer pool if no other run holds it, else makes a pool of its own,
    // so sequential runs reuse buffers and concurrent runs never share one.
    private object? _pool;

    private BufferPool<T> RentPool<T>() where T : unmanaged
    {
        var pool = Interlocked.Exchange(ref _pool, null) as BufferPool<T> ?? new BufferPool<T>();
        pool.ResetCounters();
        return pool;
    }

    private void ReturnPool<T>(BufferPool<T> pool) where T : unmanaged => Interlocked.CompareExchange(ref _pool, pool, null);

    private (NDArray<T>[] Outputs, RunStats Stats) RunScheduled<T>(NDArray<T>[] inputs, BufferPool<T> pool, RunContext context)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var clock = Stopwatch.StartNew();
        var meter = context.Meter;
        var values = new NDArray<T>?[_schedule.Length];
        var remaining = (int[])_uses.Clone();
        var owners = new Dictionary<T[], int>(ReferenceEqualityComparer.Instance);
        long produced = 0;

        void Release(int slot)
        {
            var t = values[slot]!;
            values[slot] = null;
            if (!owners.TryGetValue(t.Data, out int refs)) return; // caller's or constant storage
            if (refs > 1) { owners[t.Data] = refs - 1; return; }
            owners.Remove(t.Data);
            meter.Release(t.Data.Length * (long)Unsafe.SizeOf<T>());
            pool.Return(t.Data);
        }

        // A buffer from the pool that this run owns (metered, counted as produced).
        NDArray<T> Fresh(Shape shape)
        {
            var t = new NDArray<T>(shape, pool.Rent(shape.Size));
            long bytes = t.Data.Length * (long)Unsafe.SizeOf<T>();
            meter.Allocate(bytes);
            produced += bytes;
            owners[t.Data] = 1;
            return t;
        }

        // The operand dies here and nothing else shares its buffer: the output takes it over.
        NDArray<T> TakeOver(Shape shape, NDArray<T> operand)
        {
            var t = new NDArray<T>(shape, operand.Data);
            produced += t.Data.Length * (long)Unsafe.SizeOf<T>();
            return t;
        }

        var profile = _profile;
        for (int i = 0; i < _schedule.Length; i++)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            long started = profile is null ? 0 : Stopwatch.GetTimestamp();
            var node = _schedule[i];
            switch (node.Op)
            {
                case InputOp input:
                    values[i] = inputs[input.Index];
                    break;
                case ConstantOp constant:
                    values[i] = constant.Get<T>();
                    break;
                case var _ when _companion[i]:
                    break;                                // computed by its group's step
                case var _ when _groups.TryGetValue(node, out var group):
                    foreach (var member in group.Companions) values[_slot[member]] = Fresh(member.Shape);
                    values[i] = _inPlace[i] is var over and >= 0 ? TakeOver(node.Shape, values[over]!) : Fresh(node.Shape);
                    if (group.Scratch is { } shape)
                    {
                        var scratch = new NDArray<T>(shape, pool.Rent(shape.Size));
                        long bytes = scratch.Data.Length * (long)Unsafe.SizeOf<T>();
                        meter.Allocate(bytes);
                        group.Execute(x => values[_slot[x]]!, scratch);
                        meter.Release(bytes);
                        pool.Return(scratch.Data);
                    }
                    else group.Execute(x => values[_slot[x]]!, null);
                    break;
                case var _ when _transposed.TryGetValue(node, out var product):
                {
                    values[i] = Fresh(node.Shape);
                    product.Execute(values[_slot[node.InputArray[0]]]!, values[i]!);
                    break;
                }
                default:
                    _fused.TryGetValue(node, out var tree);
                    var args = (tree?.Leaves ?? node.InputArray).Select(x => values[_slot[x]]!).ToArray();
                    NDArray<T> result;
                    if (node.Op.IsView)
                    {
                        result = new NDArray<T>(node.Shape, args[0].Data);
                        if (owners.TryGetValue(result.Data, out int refs)) owners[result.Data] = refs + 1;
                    }
                    else if (_inPlace[i] is var from and >= 0)
                    {
                        result = TakeOver(node.Shape, values[from]!);
                        if (tree is not null) tree.Execute(args, result);
                        else node.Op.Execute(args, result, context);
                    }
                    else
                    {
                        result = Fresh(node.Shape);
                        if (tree is not null) tree.Execute(args, result);
                        else node.Op.Execute(args, result, context);
                    }
                    values[i] = result;
                    break;
            }
            if (profile is not null) Interlocked.Add(ref profile[i], Stopwatch.GetTimestamp() - started);
            foreach (var s in _inputSlots[i])
                if (--remaining[s] == 0)
                {
                    if (s == _inPlace[i]) values[s] = null;   // its buffer now belongs to the output
                    else Release(s);
                }
            if (remaining[i] == 0) Release(i);
        }

        // The caller owns what it gets back: storage that is not this run's (an input, a constant, or a
        // view of one) and storage already handed out under another output are copied.
        var outputs = _outputSlots.Select(s => values[s]!).ToArray();
        var handedOut = new HashSet<T[]>(ReferenceEqualityComparer.Instance);
        for (int o = 0; o < outputs.Length; o++)
        {
            var data = outputs[o].Data;
            if (owners.ContainsKey(data) && handedOut.Add(data)) continue;
            outputs[o] = outputs[o].Clone();
            long bytes = data.Length * (long)Unsafe.SizeOf<T>();
            meter.Allocate(bytes);
            owners[outputs[o].Data] = 1;
            produced += bytes;
            pool.CountAllocation(bytes);
        }
        foreach (var o in outputs) _handedOut.AddOrUpdate(o.Data, o.Data);
        // The caller now owns the outputs: they no longer count as live in an enclosing run.
        foreach (var data in owners.Keys) meter.Release(data.Length * (long)Unsafe.SizeOf<T>());
        return (outputs, new RunStats(meter.PeakBytes, pool.AllocatedBytes, produced, clock.Elapsed));
    }

    private void Validate<T>(NDArray<T>[] inputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(inputs);
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i] is null) throw new ArgumentNullException(nameof(inputs), $"run: input {i} is null.");
        if (DTypes.Of<T>() != Graph.DType)
            throw new ArgumentException($"run: the graph is {Graph.DType.Name()} ({string.Join(", ", Graph.Inputs.Select(i => i.Shape.ToString()))}), " +
                $"the inputs are {DTypes.Of<T>().Name()} ({string.Join(", ", inputs.Select(i => i.Shape.ToString()))}).");
        if (inputs.Length != Graph.Inputs.Count)
            throw new ArgumentException($"run: {inputs.Length} input tensor(s) given; the graph takes {Graph.Inputs.Count} ({string.Join(", ", Graph.Inputs.Select(i => i.Shape.ToString()))}).");
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i].Shape != Graph.Inputs[i].Shape)
                throw new ShapeException($"run: input {i} ({GraphWalk.InputName(Graph.Inputs[i])}) has shape {inputs[i].Shape}; the graph was compiled for {Graph.Inputs[i].Shape}.");
    }

    private static NDArray<T>[] Cast<T>(NDArray[] inputs) where T : unmanaged, IFloatingPointIeee754<T> =>
        [.. inputs.Select((t, i) => t as NDArray<T> ?? throw (t is null ? new ArgumentNullException(nameof(inputs), $"run: input {i} is null.") : new ArgumentException(
            $"run: input {i} is {t.DType.Name()} {t.Shape}; the graph is {DTypes.Of<T>().Name()} (mixed dtypes are not converted silently).")))];
}

/// <summary>Free buffers by length, reused across runs of one executable.</summary>
internal sealed class BufferPool<T> where T : unmanaged
{
    private readonly Dictionary<int, Stack<T[]>> _free = [];
    public long AllocatedBytes { get; private set; }

    public void ResetCounters() => AllocatedBytes = 0;

    /// <summary>Records an allocation made outside the pool (a copy handed to the caller).</summary>
    public void CountAllocation(long bytes) => AllocatedBytes += bytes;

    public T[] Rent(int length)
    {
        if (_free.TryGetValue(length, out var stack) && stack.Count > 0) return stack.Pop();
        AllocatedBytes += length * (long)Unsafe.SizeOf<T>();
        return LargeArrays.Uninitialized<T>(length);
    }

    public void Return(T[] buffer)
    {
        if (!_free.TryGetValue(buffer.Length, out var stack)) _free[buffer.Length] = stack = new Stack<T[]>();
        stack.Push(buffer);
    }
}
