using JetSharp.Tensors;
using JetSharp.Backend;
using JetSharp.Ir;

namespace JetSharp.Runtime;

/// <summary>
/// Elementwise nodes of one shape that feed each other — a layer's z + b, tanh, and the Taylor rule's f′ = 1 − t² and
/// f″ = (2t² − 2)·t, several of them read by later steps — run as one pass (<see cref="FusedKernel.RunGroup{T}"/>): the
/// members form one program whose steps may feed several later ones, so each input is read once, the values only members
/// read stay in cache-sized registers (<see cref="Absorbed"/>: never stored), and the values read elsewhere are written
/// once. Unlike a <see cref="FusedTree"/>, a member may have several consumers and may be a transcendental function; each
/// value is the bits its own kernel gives (for a transcendental function, wherever TensorPrimitives computes each lane by
/// itself: docs/fusion.md, "Bits"). Where a leaf of the domain's shape dies at the pass, the primary writes over it,
/// as an elementwise node would in place.
/// </summary>
/// <remarks>
/// Found by <see cref="Plan"/> from the primitives' <see cref="Primitive.Arithmetic"/> and the fused elementwise trees, after
/// the shared read passes have taken the trees over large values.
/// </remarks>
internal sealed class ElementwisePass : IGroupStep
{
    private readonly FusedStep[] _program;
    private readonly int[] _outputOf;          // per step: its index in the outputs (primary last), or −1
    private readonly Node[] _outputs;
    private readonly int _parallelAbove;

    private ElementwisePass(FusedStep[] program, int[] outputOf, Node[] outputs, Node[] leaves, Node[] absorbed, int members)
    {
        _program = program;
        _outputOf = outputOf;
        _outputs = outputs;
        Leaves = leaves;
        Absorbed = absorbed;
        Members = members;
        bool transcendental = program.Any(s => s.Arithmetic is { Unary: { } u } && u != UnaryOp.Neg);
        _parallelAbove = transcendental ? Parallelism.ComputeThreshold : FusedKernel.ParallelThreshold;
    }

    /// <inheritdoc/>
    public Node Primary => _outputs[^1];
    /// <inheritdoc/>
    public Node[] Companions => _outputs[..^1];
    /// <inheritdoc/>
    public Node[] Leaves { get; }
    /// <inheritdoc/>
    public Node[] Absorbed { get; }
    /// <inheritdoc/>
    /// <remarks>
    /// The first leaf of the domain's shape: the primary is the last member, so its step is the program's last, and it reads element
    /// i of each operand before writing element i; every earlier step has read the chunk by then.
    /// </remarks>
    public Node? Overwrites => Leaves.FirstOrDefault(l => l.Shape == Primary.Shape);
    /// <inheritdoc/>
    public Shape? Scratch => null;
    /// <summary>Graph nodes the pass runs (a fused tree counted as one).</summary>
    public int Members { get; }
    /// <inheritdoc/>
    public string Label => $"pass({Members} nodes, {_outputs.Length} written)";

    /// <inheritdoc/>
    public void Execute<T>(Func<Node, NDArray<T>> valueOf, NDArray<T>? scratch) where T : unmanaged, IFloatingPointIeee754<T> =>
        FusedKernel.RunGroup(_program, _outputOf, [.. Leaves.Select(valueOf)], [.. _outputs.Select(valueOf)], _parallelAbove);

    /// <summary>Whether executables run elementwise passes by default: unless the environment sets <c>JETSHARP_PASS=0</c>.</summary>
    internal static bool Enabled { get; } = Environment.GetEnvironmentVariable("JETSHARP_PASS") != "0";

    /// <summary>
    /// A node a pass can take: a fused elementwise tree, or a node whose primitive declares elementwise arithmetic (any binary
    /// operation or unary function) over operands that have its shape, a single element, or its trailing axes.
    /// </summary>
    private static bool IsMember(Node n, Dictionary<Node, FusedTree> trees) =>
        trees.TryGetValue(n, out var tree) ? tree.IsElementwise
        : n.Op.Arithmetic is not null && n.InputArray.All(i => FusedTree.LeafFits(i.Shape, n.Shape));

    /// <summary>
    /// Most program steps in one pass. The kernel keeps a chunk-sized register per step on each thread, so a pass over a long
    /// chain of elementwise nodes (thousands of steps of an explicit integrator) would cost memory in proportion to it; past
    /// this size the chain is cut into several passes (as <see cref="FusedTree.MaxTreeNodes"/> cuts trees).
    /// </summary>
    internal const int MaxSteps = 2 * FusedTree.MaxTreeNodes;

    /// <summary>Steps a member adds to a program at most: its tree's, or its operation and a load per operand.</summary>
    private static int StepsOf(Node n, Dictionary<Node, FusedTree> trees) =>
        trees.TryGetValue(n, out var tree) ? tree.Program.Length : 1 + n.InputArray.Length;

    private sealed class Group(Node first, int position, int steps)
    {
        public readonly List<Node> Members = [first];
        public readonly HashSet<Node> Set = [first];
        public readonly int First = position;
        public int Steps = steps;
    }

    /// <summary>
    /// The passes among <paramref name="order"/> (a topological order of scheduled nodes, <paramref name="inputsOf"/> giving their
    /// inputs as nodes of the order, as <paramref name="scheduled"/> maps any node; <paramref name="trees"/> the fused trees by
    /// root) and the order with each pass as one step. Walking the order, a member joins the pass of one of its inputs of its
    /// shape when every other input it reads comes before that pass's first member or reads nothing itself (a constant, an
    /// input), so nothing outside the pass stands between two members and the pass never feeds itself, and when the pass has
    /// room (<see cref="MaxSteps"/>); otherwise it starts a pass. Passes of at least two members are kept; the members read
    /// outside the pass or returned by the graph (<paramref name="outputs"/>) are written, the others absorbed. Nodes another
    /// step has <paramref name="taken"/> are left alone.
    /// </summary>
    public static (List<ElementwisePass> Passes, List<Node> Order) Plan(IReadOnlyList<Node> order, Func<Node, Node[]> inputsOf, Func<Node, Node> scheduled,
        Dictionary<Node, FusedTree> trees, Func<Node, bool> taken, IReadOnlyCollection<Node> outputs)
    {
        var (consumers, position) = GroupSteps.Index(order, inputsOf);
        var groupOf = new Dictionary<Node, Group>();
        var groups = new List<Group>();
        foreach (var v in order)
        {
            if (taken(v) || !IsMember(v, trees)) continue;
            var inputs = inputsOf(v);
            int steps = StepsOf(v, trees);
            var home = inputs.Select(i => groupOf.GetValueOrDefault(i)).FirstOrDefault(g =>
                g is not null && g.Members[0].Shape == v.Shape && g.Steps + steps <= MaxSteps &&
                inputs.All(i => g.Set.Contains(i) || position[i] < g.First || inputsOf(i).Length == 0));
            if (home is null) groups.Add(home = new Group(v, position[v], steps));
            else
            {
                home.Members.Add(v);
                home.Set.Add(v);
                home.Steps += steps;
            }
            groupOf[v] = home;
        }
        var returned = outputs.Select(scheduled).ToHashSet();
        var passes = groups.Where(g => g.Members.Count > 1).Select(g => Build(g.Members, trees,
            m => returned.Contains(m) || consumers[m].Any(c => !g.Set.Contains(c)))).ToList();
        return (passes, GroupSteps.Contract(order, passes, inputsOf, position, scheduled));
    }

    /// <summary>The pass running <paramref name="members"/> (in order): one program over all of them, the members <paramref name="written"/> selects as outputs.</summary>
    private static ElementwisePass Build(List<Node> members, Dictionary<Node, FusedTree> trees, Func<Node, bool> written)
    {
        var program = new List<FusedStep>();
        var leaves = new List<Node>();
        var stepOf = new Dictionary<Node, int>();      // a member's value, or a leaf's load
        int Read(Node x)
        {
            if (stepOf.TryGetValue(x, out int step)) return step;
            program.Add(FusedStep.Load(leaves.Count));
            leaves.Add(x);
            return stepOf[x] = program.Count - 1;
        }
        int Add(ElementwiseArithmetic op, int a, int b)
        {
            program.Add(FusedStep.Apply(op, a, b));
            return program.Count - 1;
        }
        foreach (var m in members)
        {
            if (trees.TryGetValue(m, out var tree))
            {
                // The tree's own program, its leaves read through the pass (a leaf that is an earlier member is that member's step).
                var map = new int[tree.Program.Length];
                for (int k = 0; k < map.Length; k++)
                {
                    var step = tree.Program[k];
                    map[k] = step.IsLoad ? Read(tree.Leaves[step.Leaf]) : Add(step.Arithmetic!.Value, map[step.A], step.B < 0 ? -1 : map[step.B]);
                }
                stepOf[m] = map[^1];
            }
            else
            {
                var op = m.Op.Arithmetic!.Value;
                stepOf[m] = Add(op, Read(m.InputArray[0]), op.Arity == 1 ? -1 : Read(m.InputArray[1]));
            }
        }
        var outputs = members.Where(written).ToArray();
        var outputOf = Enumerable.Repeat(-1, program.Count).ToArray();
        for (int k = 0; k < outputs.Length; k++) outputOf[stepOf[outputs[k]]] = k;
        return new ElementwisePass([.. program], outputOf, outputs, [.. leaves], [.. members.Where(m => !written(m))], members.Count);
    }
}
