using JetSharp.Ir;
using JetSharp.Tensors;

namespace JetSharp.Onnx;

/// <summary>
/// A value while a model is replayed: floating-point data is a graph node (with its constant value when
/// known, for operators whose attribute-like inputs must be constant, such as Pow's exponent); integer
/// data (shapes, indices, axes) is evaluated at import time.
/// </summary>
internal abstract record OnnxValue
{
    /// <summary>A floating-point tensor: a graph node, and its value when it is a constant.</summary>
    public sealed record Float(Node Node, NDArray<double>? Constant) : OnnxValue;

    /// <summary>An integer (or bool) tensor known at import time, row-major.</summary>
    public sealed record Ints(long[] Data, int[] Dims) : OnnxValue
    {
        public static Ints From(OnnxTensorProto t) => new(t.Integer!, OnnxModel.ToShape(t.Dims, t.Name).ToArray());

        public static Ints Vector(IEnumerable<long> values)
        {
            long[] data = [.. values];
            return new(data, [data.Length]);
        }

        public int Rank => Dims.Length;

        public long Scalar(string what) =>
            Data.Length == 1 ? Data[0] : throw new ShapeException($"{what} must hold one value; it has shape [{string.Join(", ", Dims)}].");
    }
}

/// <summary>The state of one replay: the values by name, the graph, the opset and the model's name for errors.</summary>
internal sealed class OnnxContext(Graph graph, Dictionary<string, OnnxValue> values, long opset, string source)
{
    public Graph Graph { get; } = graph;
    public long Opset { get; } = opset;
    public string Source { get; } = source;
    private OnnxNodeProto? _node;

    /// <summary>Translates one ONNX node, binding its outputs; errors name the node and its operator.</summary>
    public void Run(OnnxNodeProto node)
    {
        _node = node;
        OnnxValue?[] outputs;
        try { outputs = OnnxOperators.Table[node.OpType](this, node); }
        catch (Exception e) when (e is ShapeException or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            throw new OnnxImportException($"{Source}: {Describe()}: {e.Message}", e);
        }
        for (int i = 0; i < node.Outputs.Count; i++)
        {
            if (node.Outputs[i].Length == 0) continue;
            if (i >= outputs.Length || outputs[i] is not { } v)
                throw new OnnxImportException($"{Source}: {Describe()}: output {i} ('{node.Outputs[i]}') is not produced by the importer's translation of {node.OpType}.");
            values[node.Outputs[i]] = v;
        }
    }

    public string Describe() => _node is null ? "graph" : $"node '{_node.Name}' ({_node.OpType})";

    /// <summary>Input <paramref name="i"/> of the current node, or null when absent (optional and omitted).</summary>
    public OnnxValue? Input(int i)
    {
        var node = _node!;
        if (i >= node.Inputs.Count || node.Inputs[i].Length == 0) return null;
        return values.TryGetValue(node.Inputs[i], out var v)
            ? v
            : throw new OnnxImportException($"{Source}: {Describe()} reads '{node.Inputs[i]}', which no earlier node or initializer produces.");
    }

    public OnnxValue Required(int i) =>
        Input(i) ?? throw new OnnxImportException($"{Source}: {Describe()} needs input {i}, which is missing.");

    /// <summary>A value as a graph node (integers become constants).</summary>
    public Node Node(OnnxValue v) => v switch
    {
        OnnxValue.Float f => f.Node,
        OnnxValue.Ints n => Graph.Constant(NDArray.FromArray([.. n.Data.Select(d => (double)d)], new Shape(n.Dims))),
        _ => throw new InvalidOperationException("unknown value"),
    };

    public Node Node(int i) => Node(Required(i));

    /// <summary>A named value as a node (used for graph outputs).</summary>
    public Node Node(string name, string what) =>
        values.TryGetValue(name, out var v) ? Node(v) : throw new OnnxImportException($"{Source}: {what} is produced by no node.");

    /// <summary>An input that must be known at import time (shapes, axes, indices).</summary>
    public OnnxValue.Ints Ints(int i, string role) => Required(i) switch
    {
        OnnxValue.Ints n => n,
        _ => throw new NotSupportedException($"input {i} ({role}) depends on floating-point data; the importer needs it constant (computed from shapes, initializers or Constant nodes)."),
    };

    /// <summary>A constant floating-point scalar input (e.g. Pow's exponent).</summary>
    public double ConstantScalar(int i, string role) => Required(i) switch
    {
        OnnxValue.Ints n => n.Scalar(role),
        OnnxValue.Float { Constant: { } c } when c.Shape.Size == 1 => c.Data[0],
        _ => throw new NotSupportedException($"input {i} ({role}) must be a constant scalar."),
    };

    public OnnxAttribute? Attribute(string name) => _node!.Attributes.GetValueOrDefault(name);

    public long Int(string name, long fallback) => Attribute(name) is { } a ? a.I : fallback;

    public float Float(string name, float fallback) => Attribute(name) is { } a ? a.F : fallback;

    public long[]? IntsAttribute(string name) => Attribute(name) is { } a ? [.. a.Ints] : null;

    /// <summary>Normalises an axis (negative counts from the end) against a rank.</summary>
    public static int Axis(long axis, int rank, string role)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
            throw new ArgumentOutOfRangeException(role, $"{role} {axis} is out of range for rank {rank}.");
        return (int)a;
    }
}

/// <summary>An ONNX node could not be translated; the message names the model, the node and its operator.</summary>
public sealed class OnnxImportException(string message, Exception? inner = null) : Exception(message, inner);
