using JetSharp.Ir;
using JetSharp.Tensors;

namespace JetSharp.Onnx;

/// <summary>A graph input or output of an ONNX model: its name and declared dimensions (null where symbolic, e.g. the batch axis).</summary>
/// <param name="Name">The tensor's name in the model.</param>
/// <param name="Dimensions">Declared sizes; null for a symbolic or unknown size.</param>
public sealed record OnnxTensorInfo(string Name, IReadOnlyList<long?> Dimensions)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Name}[{string.Join(", ", Dimensions.Select(d => d?.ToString() ?? "?"))}]";
}

/// <summary>A weight of an ONNX model (a floating-point initializer), as a float64 copy of the stored values.</summary>
/// <param name="Name">The initializer's name (PyTorch's parameter name, e.g. <c>layers.0.weight</c>).</param>
/// <param name="Value">The values, widened to float64 exactly when stored as float32.</param>
/// <param name="StoredAsFloat32">Whether the file stored them as float32.</param>
public sealed record OnnxParameter(string Name, NDArray<double> Value, bool StoredAsFloat32);

/// <summary>
/// A model read from an ONNX file (as written by <c>torch.onnx.export</c>, opsets 13–17) that replays
/// as JetSharp primitives inside a trace: <see cref="Apply(Node, IReadOnlyList{Node})"/> with the weights
/// as graph inputs (so gradients with respect to them work) or <see cref="Function"/> with the weights as
/// constants — either goes straight into <c>Pde.Laplacian</c>, <c>DifferentialOperator.Compile</c> and
/// every strategy. Integer tensors (shapes, indices, axes) are evaluated while importing, so the batch
/// axis is whatever the traced input has; floating-point computation becomes graph nodes.
/// </summary>
/// <remarks>
/// An instance is immutable after loading and may be traced from several threads at once.
/// Unsupported operators are refused when the model is loaded, naming the operator type, the node and
/// the supported list (<see cref="SupportedOperators"/>).
/// </remarks>
public sealed class OnnxModel
{
    private readonly OnnxGraphProto _graph;
    private readonly Dictionary<string, int> _parameterIndex;
    private readonly Dictionary<string, OnnxTensorProto> _integerInitializers;

    private OnnxModel(OnnxModelProto proto, string source)
    {
        Source = source;
        _graph = proto.Graph ?? throw new OnnxFormatException($"{source}: the model has no graph.");
        Producer = proto.Producer;
        if (!proto.Opsets.TryGetValue("", out long opset))
            throw new OnnxFormatException($"{source}: the model imports no version of the default ONNX operator set.");
        OpsetVersion = opset;
        if (opset < 7)
            throw new OnnxFormatException($"{source}: opset {opset} is older than the importer reads (7 and later; tested on 13–17).");

        var parameters = new List<OnnxParameter>();
        _parameterIndex = [];
        _integerInitializers = [];
        foreach (var init in _graph.Initializers)
        {
            if (init.Name.Length == 0)
                throw new OnnxFormatException($"{source}: an initializer has no name.");
            if (init.IsFloating)
            {
                _parameterIndex[init.Name] = parameters.Count;
                parameters.Add(new OnnxParameter(init.Name, NDArray.FromArray(init.Floating!, ToShape(init.Dims, init.Name)), init.DataType == OnnxDataType.Float));
            }
            else _integerInitializers[init.Name] = init;
        }
        Parameters = parameters;
        Inputs = [.. _graph.Inputs.Where(i => !_parameterIndex.ContainsKey(i.Name) && !_integerInitializers.ContainsKey(i.Name))
                                  .Select(i => new OnnxTensorInfo(i.Name, i.Dims))];
        Outputs = [.. _graph.Outputs.Select(o => new OnnxTensorInfo(o.Name, o.Dims))];
        if (Inputs.Count == 0) throw new OnnxFormatException($"{source}: the graph has no inputs.");
        if (Outputs.Count == 0) throw new OnnxFormatException($"{source}: the graph has no outputs.");
        foreach (var input in _graph.Inputs.Where(i => Inputs.Any(x => x.Name == i.Name)))
            if (input.ElementType is not (OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Undefined))
                throw new OnnxFormatException($"{source}: input '{input.Name}' has element type {input.ElementType}; inputs must be float or double.");

        foreach (var node in _graph.Nodes)
            if (node.Domain is not ("" or "ai.onnx") || !OnnxOperators.Table.ContainsKey(node.OpType))
                throw new NotSupportedException(
                    $"{source}: ONNX operator '{(node.Domain is "" or "ai.onnx" ? "" : node.Domain + ".")}{node.OpType}' (node '{node.Name}') is not supported. " +
                    $"Supported: {string.Join(", ", SupportedOperators)}.");
    }

    /// <summary>Where the model came from (the file path, or the name given to <see cref="Load(Stream, string)"/>).</summary>
    public string Source { get; }

    /// <summary>The version of the default ONNX operator set the model imports.</summary>
    public long OpsetVersion { get; }

    /// <summary>The program that wrote the file (e.g. "pytorch 1.13.1").</summary>
    public string Producer { get; }

    /// <summary>The model's inputs (initializers excluded).</summary>
    public IReadOnlyList<OnnxTensorInfo> Inputs { get; }

    /// <summary>The model's outputs.</summary>
    public IReadOnlyList<OnnxTensorInfo> Outputs { get; }

    /// <summary>The weights, in file order; <see cref="Apply(Node, IReadOnlyList{Node})"/> takes nodes for them in this order.</summary>
    public IReadOnlyList<OnnxParameter> Parameters { get; }

    /// <summary>The shapes of <see cref="Parameters"/>, for <c>DifferentialOperator.Compile(f, shape, parameterShapes)</c>.</summary>
    public Shape[] ParameterShapes => [.. Parameters.Select(p => p.Value.Shape)];

    /// <summary>Copies of the weights' values (float64), in the order of <see cref="Parameters"/>.</summary>
    public NDArray<double>[] ParameterValues => [.. Parameters.Select(p => p.Value.Clone())];

    /// <summary>The ONNX operator types the importer translates.</summary>
    public static IReadOnlyList<string> SupportedOperators => [.. OnnxOperators.Table.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Reads a model from a file.</summary>
    public static OnnxModel Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot read the ONNX model '{path}': {e.Message}", e);
        }
        return Parse(bytes, path);
    }

    /// <summary>Reads a model from a stream; <paramref name="name"/> names it in error messages.</summary>
    public static OnnxModel Load(Stream stream, string name = "stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Parse(buffer.ToArray(), name);
    }

    private static OnnxModel Parse(byte[] bytes, string source)
    {
        OnnxModelProto proto;
        try { proto = OnnxModelProto.Read(bytes); }
        catch (OnnxFormatException e) { throw new OnnxFormatException($"{source}: {e.Message}"); }
        catch (OverflowException) { throw new OnnxFormatException($"{source}: a tensor's size overflows."); }
        return new OnnxModel(proto, source);
    }

    /// <summary>
    /// Replays the model on a single input <paramref name="x"/> with the weights as the nodes
    /// <paramref name="parameters"/> (in the order of <see cref="Parameters"/>); the model must have one
    /// input and one output.
    /// </summary>
    public Node Apply(Node x, IReadOnlyList<Node> parameters)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (Inputs.Count != 1 || Outputs.Count != 1)
            throw new InvalidOperationException($"{Source}: Apply(x, parameters) needs a model with one input and one output; this one has {Inputs.Count} and {Outputs.Count} (use Apply(inputs, parameters)).");
        return Apply([x], parameters)[0];
    }

    /// <summary>Replays the model on <paramref name="inputs"/> (in the order of <see cref="Inputs"/>) with the weights as <paramref name="parameters"/>.</summary>
    public Node[] Apply(IReadOnlyList<Node> inputs, IReadOnlyList<Node> parameters)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(parameters);
        if (inputs.Count != Inputs.Count)
            throw new ArgumentException($"{Source}: the model has {Inputs.Count} inputs ({string.Join(", ", Inputs)}); {inputs.Count} were given.", nameof(inputs));
        if (parameters.Count != Parameters.Count)
            throw new ArgumentException($"{Source}: the model has {Parameters.Count} weights; {parameters.Count} parameter nodes were given.", nameof(parameters));
        for (int i = 0; i < inputs.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(inputs[i], $"{nameof(inputs)}[{i}]");
            CheckDeclared(Inputs[i], inputs[i].Shape);
        }
        for (int i = 0; i < parameters.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(parameters[i], $"{nameof(parameters)}[{i}]");
            if (parameters[i].Shape != Parameters[i].Value.Shape)
                throw new ShapeException($"{Source}: weight '{Parameters[i].Name}' has shape {Parameters[i].Value.Shape}; the node given for it has {parameters[i].Shape}.");
        }
        var graph = inputs[0].Graph;
        var values = new Dictionary<string, OnnxValue>(StringComparer.Ordinal);
        for (int i = 0; i < inputs.Count; i++)
            values[Inputs[i].Name] = new OnnxValue.Float(inputs[i], null);
        foreach (var (name, index) in _parameterIndex)
            values[name] = new OnnxValue.Float(parameters[index], null);
        foreach (var (name, init) in _integerInitializers)
            values[name] = OnnxValue.Ints.From(init);

        var context = new OnnxContext(graph, values, OpsetVersion, Source);
        foreach (var node in _graph.Nodes)
            context.Run(node);
        return [.. Outputs.Select(o => context.Node(o.Name, $"graph output '{o.Name}'"))];
    }

    /// <summary>The model as a per-datum function with its weights as constants (for <c>Pde.Laplacian(model.Function, x)</c>).</summary>
    public Func<Node, Node> Function => x =>
    {
        ArgumentNullException.ThrowIfNull(x);
        return Apply(x, [.. Parameters.Select(p => x.Graph.Constant(p.Value))]);
    };

    private void CheckDeclared(OnnxTensorInfo info, Shape shape)
    {
        if (info.Dimensions.Count == 0) return; // no declared shape
        bool ok = info.Dimensions.Count == shape.Rank;
        for (int d = 0; ok && d < shape.Rank; d++)
            ok = info.Dimensions[d] is not { } size || size == shape[d];
        if (!ok)
            throw new ShapeException($"{Source}: input {info} does not accept shape {shape}.");
    }

    internal static Shape ToShape(long[] dims, string name)
    {
        var sizes = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++)
            sizes[i] = dims[i] is >= 0 and <= int.MaxValue ? (int)dims[i] : throw new OnnxFormatException($"tensor '{name}' has dimension {dims[i]}, out of range.");
        return new Shape(sizes);
    }
}
