using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using JetSharp.Tensors;

namespace JetSharp.Ir;

/// <summary>
/// A typed SSA graph: nodes in topological order (every node after its inputs), a list of inputs and
/// a list of outputs. A graph is built by appending nodes (<see cref="Apply"/>); transformations never
/// mutate a graph, they build a new one. All nodes of a graph share one dtype.
/// </summary>
public sealed class Graph
{
    private readonly List<Node> _nodes = [];
    private readonly List<Node> _inputs = [];
    private Node[] _outputs = [];

    /// <summary>An empty graph whose nodes all have element type <paramref name="dtype"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined value.</exception>
    public Graph(DType dtype) { DType = DTypes.Check(dtype); }

    /// <summary>The element type of every node.</summary>
    public DType DType { get; }
    /// <summary>All nodes in topological order (inputs included), indexed by <see cref="Node.Id"/>.</summary>
    public IReadOnlyList<Node> Nodes => _nodes;
    /// <summary>The input placeholders, in the order values are passed at run time.</summary>
    public IReadOnlyList<Node> Inputs => _inputs;
    /// <summary>The results, as set by <see cref="SetOutputs"/> (empty until then).</summary>
    public IReadOnlyList<Node> Outputs => _outputs;

    /// <summary>For a graph traced from C#: traces the same function for other input shapes.</summary>
    public Func<Shape[], Graph>? Retrace { get; internal set; }

    /// <summary>When set, nodes record the first caller outside JetSharp (for error messages). Costs a stack walk per node.</summary>
    public bool RecordOrigins { get; set; }

    /// <summary>Origin stamped on new nodes while a transform copies a node (so derived nodes keep the user's location).</summary>
    internal string? InheritedOrigin { get; set; }

    /// <summary>Sees every <see cref="Apply"/> first and may return an existing or rewritten node instead (used by the simplifier).</summary>
    internal IApplyInterceptor? Interceptor { get; set; }

    /// <summary>
    /// While a function is traced into a body inside this graph (a scan or call body, see
    /// <c>Tracer.Call</c>): that body. An operation applied here that involves one of the body's nodes
    /// is applied in the body instead, so a closure may combine captured values with its own.
    /// </summary>
    internal Graph? TracingBody { get; set; }

    /// <summary>
    /// While this graph is traced as a body: turns a node of an enclosing graph (a captured value) into a
    /// node of this graph (an extra input of the body, passed in by the op that applies it).
    /// </summary>
    internal Func<Node, Node>? Capture { get; set; }

    /// <summary>The innermost graph being traced (following <see cref="TracingBody"/>) that owns one of <paramref name="inputs"/>.</summary>
    private Graph Innermost(Node[] inputs)
    {
        var chosen = this;
        for (var g = TracingBody; g is not null; g = g.TracingBody)
            if (Array.Exists(inputs, x => x?.Graph == g)) chosen = g;
        return chosen;
    }

    /// <summary>Adds an input placeholder.</summary>
    public Node Input(Shape shape, string? name = null)
    {
        var node = new Node(this, _nodes.Count, new InputOp(name ?? $"in{_inputs.Count}", _inputs.Count), [], shape, DType, null);
        _nodes.Add(node);
        _inputs.Add(node);
        return node;
    }

    /// <summary>Appends <paramref name="op"/> applied to <paramref name="inputs"/>, checking graph membership, dtype and shapes first.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="op"/>, <paramref name="inputs"/> or one of the inputs is null.</exception>
    public Node Apply(Primitive op, params Node[] inputs)
    {
        ArgumentNullException.ThrowIfNull(op);
        ArgumentNullException.ThrowIfNull(inputs);
        if (TracingBody is not null && Innermost(inputs) is var inner && inner != this) return inner.Apply(op, inputs);
        for (int i = 0; i < inputs.Length; i++)
        {
            var x = inputs[i] ?? throw new ArgumentNullException(nameof(inputs), $"{op.Name}: input {i} is null.");
            // A constant is a value, not a computation: one captured from another trace is re-created here.
            if (x.Graph != this && x.Op is ConstantOp && x.DType == DType)
            {
                inputs = (Node[])inputs.Clone();
                x = inputs[i] = Apply(x.Op);
            }
            if (x.Graph != this && Capture is { } capture && x.DType == DType)
            {
                inputs = (Node[])inputs.Clone();
                x = inputs[i] = capture(x);
            }
            if (x.Graph != this)
                throw new ArgumentException($"{op.Name}: input %{x.Id} {x.Shape} belongs to another graph (mixing nodes of different traces)" +
                    (x.DType != DType ? $"; it is {x.DType.Name()}, this graph is {DType.Name()}." : "; pass it to the inner function as an input (e.g. as θ) instead of capturing it."));
            if (x.DType != DType)
                throw new ShapeException($"{op.Name}: mixed dtypes, input %{x.Id} {x.Shape} is {x.DType.Name()} in a {DType.Name()} graph.");
        }
        if (Interceptor is { } interceptor && interceptor.TryIntercept(this, op, inputs) is { } replaced)
            return replaced;
        return Append(op, inputs);
    }

    /// <summary>Appends without consulting the interceptor.</summary>
    internal Node Append(Primitive op, Node[] inputs)
    {
        var shape = op.InferShape(inputs);
        var node = new Node(this, _nodes.Count, op, inputs, shape, DType, InheritedOrigin ?? (RecordOrigins ? CallerOutsideLibrary() : null));
        _nodes.Add(node);
        return node;
    }

    /// <summary>A scalar (rank-0) constant.</summary>
    public Node Scalar(double value) => Apply(new ConstantOp(value));

    /// <summary>
    /// A constant tensor, copied (and converted to the graph's dtype): later writes to <paramref name="value"/>
    /// do not change the graph.
    /// </summary>
    public Node Constant(NDArray value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var copy = value.DType == DType ? value switch
        {
            NDArray<float> f => f.Clone(),
            NDArray<double> d => d.Clone(),
            _ => throw new NotSupportedException($"Graph.Constant: tensors of {value.GetType().Name} are not supported."),
        } : value;   // ConstantOp converts (and so copies) a tensor of the other dtype
        return Apply(new ConstantOp(copy, DType));
    }

    /// <summary>Makes <paramref name="outputs"/> the graph's results (replacing any earlier ones).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="outputs"/> or one of its nodes is null.</exception>
    /// <exception cref="ArgumentException">A node belongs to another graph.</exception>
    public void SetOutputs(params Node[] outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        for (int i = 0; i < outputs.Length; i++)
        {
            var o = outputs[i] ?? throw new ArgumentNullException(nameof(outputs), $"SetOutputs: output {i} is null.");
            if (o.Graph != this) throw new ArgumentException($"SetOutputs: node %{o.Id} {o.Shape} (output {i}) belongs to another graph.", nameof(outputs));
        }
        _outputs = (Node[])outputs.Clone();
    }

    /// <summary>A listing that reads like code: the inputs, one line per node (<c>%7 = tanh(%6) : [16, 768]</c>) and the outputs.</summary>
    public override string ToString() => GraphPrinter.Print(this);

    /// <summary>Graphviz DOT text of the graph.</summary>
    public string ToDot(string title = "graph") => GraphPrinter.ToDot(this, title);

    private static readonly ConcurrentDictionary<Assembly, bool> LibraryAssemblies = new();

    private static bool IsLibrary(Assembly a) =>
        LibraryAssemblies.GetOrAdd(a, x => x.IsDefined(typeof(JetSharpLibraryAttribute), false));

    private static string? CallerOutsideLibrary()
    {
        foreach (var frame in new StackTrace(2, true).GetFrames())
        {
            var method = frame.GetMethod();
            if (method?.DeclaringType is null || IsLibrary(method.DeclaringType.Assembly)) continue;
            var file = frame.GetFileName();
            var where = file is null ? "" : $" at {Path.GetFileName(file)}:{frame.GetFileLineNumber()}";
            return $"{method.DeclaringType.Name}.{method.Name}{where}";
        }
        return null;
    }
}

internal interface IApplyInterceptor
{
    Node? TryIntercept(Graph graph, Primitive op, Node[] inputs);
}
