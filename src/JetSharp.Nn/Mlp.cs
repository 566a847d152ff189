using JetSharp.IO;

namespace JetSharp.Nn;

/// <summary>Elementwise activations available to <see cref="Mlp"/>.</summary>
public enum Activation { Tanh, Sigmoid, Sin, Softplus, Relu }

/// <summary>
/// A multilayer perceptron inputs → hidden… → outputs with an activation after every hidden layer and
/// a linear last layer. Parameters are ordered W₁, b₁, W₂, b₂, …; <see cref="Parameters"/> holds their
/// seeded initial values, and <c>Apply(parameters, x)</c> computes the network from parameter nodes.
/// </summary>
public sealed class Mlp
{
    private Mlp(int[] widths, Activation activation, NDArray[] parameters)
    {
        Widths = widths;
        Activation = activation;
        Parameters = parameters;
    }

    /// <summary>Layer widths, input first and output last.</summary>
    public int[] Widths { get; }
    public Activation Activation { get; }

    /// <summary>Current parameter values W₁, b₁, W₂, b₂, … (replaceable, e.g. by an optimiser, with tensors of the same shapes).</summary>
    /// <exception cref="ArgumentNullException">The array or one of its tensors is null.</exception>
    /// <exception cref="ShapeException">The count or a shape differs from <see cref="ParameterShapes"/>.</exception>
    public NDArray[] Parameters
    {
        get => _parameters;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            var shapes = ParameterShapes;
            if (value.Length != shapes.Length)
                throw new ShapeException($"Mlp.Parameters: {value.Length} tensor(s) given; the network [{string.Join("→", Widths)}] has {shapes.Length} (W and b per layer).");
            for (int i = 0; i < shapes.Length; i++)
            {
                if (value[i] is null) throw new ArgumentNullException(nameof(value), $"Mlp.Parameters: parameter {i} is null.");
                if (value[i].Shape != shapes[i]) throw new ShapeException($"Mlp.Parameters: parameter {i} has shape {value[i].Shape}; expected {shapes[i]}.");
            }
            _parameters = value;
        }
    }

    private NDArray[] _parameters = [];

    public int LayerCount => Widths.Length - 1;

    /// <summary>A short description, e.g. "mlp 2→32→32→1 tanh": what checkpoints compare before loading parameters.</summary>
    public string Architecture => $"mlp {string.Join("→", Widths)} {Activation.ToString().ToLowerInvariant()}";

    /// <summary>Shapes of W₁, b₁, W₂, b₂, ….</summary>
    public Shape[] ParameterShapes => [.. Enumerable.Range(0, LayerCount).SelectMany(l => new[] { new Shape(Widths[l], Widths[l + 1]), new Shape(Widths[l + 1]) })];

    /// <summary>
    /// A network with seeded parameters. Layer l (from 0) draws its parameters from seed
    /// <c>seed·1000 + l</c> (see <see cref="Linear.Init{T}"/>), so a network of the same architecture and
    /// seed is identical on every machine and in both dtypes up to rounding.
    /// </summary>
    public static Mlp Create(int inputs, int[] hidden, int outputs, Activation activation, long seed, DType dtype = DType.Float64)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        CheckActivation(activation, nameof(activation));
        DTypes.Check(dtype);
        int[] widths = [inputs, .. hidden, outputs];
        if (widths.Any(w => w <= 0)) throw new ArgumentException($"Mlp: layer widths must be positive, got [{string.Join(", ", widths)}].");
        var ps = new List<NDArray>();
        for (int l = 0; l + 1 < widths.Length; l++)
        {
            // Float32 weights are drawn straight into float32: Linear.Init rounds each float64 draw as To<float> would, so
            // the values are the same without a float64 copy of the layer (1 GB for a 10⁶ × 128 first layer).
            if (dtype == DType.Float64)
            {
                var (w, b) = Linear.Init<double>(widths[l], widths[l + 1], seed * 1000 + l);
                ps.Add(w); ps.Add(b);
            }
            else
            {
                var (w, b) = Linear.Init<float>(widths[l], widths[l + 1], seed * 1000 + l);
                ps.Add(w); ps.Add(b);
            }
        }
        return new Mlp(widths, activation, [.. ps]);
    }

    /// <summary>The network applied to x ([..., inputs] → [..., outputs]) with the given parameter nodes.</summary>
    public Node Apply(IReadOnlyList<Node> parameters, Node x)
    {
        CheckParameterNodes(parameters);
        ArgumentNullException.ThrowIfNull(x);
        var shapes = ParameterShapes;
        if (parameters.Count != shapes.Length)
            throw new ShapeException($"Mlp.Apply: {parameters.Count} parameter(s) given; the network [{string.Join("→", Widths)}] has {shapes.Length} (W and b per layer).");
        for (int i = 0; i < shapes.Length; i++)
            if (parameters[i].Shape != shapes[i])
                throw new ShapeException($"Mlp.Apply: parameter {i} has shape {parameters[i].Shape}; expected {shapes[i]}.");
        if (x.Rank == 0 || x.Shape[^1] != Widths[0])
            throw new ShapeException($"Mlp.Apply: input {x.Shape} has {(x.Rank == 0 ? "no feature axis" : $"{x.Shape[^1]} features")}; the network expects {Widths[0]} (x of shape [..., {Widths[0]}]).");
        var h = x;
        for (int l = 0; l < LayerCount; l++)
        {
            h = Linear.Apply(h, parameters[2 * l], parameters[2 * l + 1]);
            if (l + 1 < LayerCount) h = Activate(h, Activation);
        }
        return h;
    }

    /// <summary>The network applied to a concrete input (embedded as a constant).</summary>
    public Node Apply(IReadOnlyList<Node> parameters, NDArray x)
    {
        CheckParameterNodes(parameters);
        ArgumentNullException.ThrowIfNull(x);
        return Apply(parameters, parameters[0].Graph.Constant(x));
    }

    /// <summary>The network with its current parameters embedded as constants: a function of x alone.</summary>
    public Node Apply(Node x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return Apply([.. Parameters.Select(p => x.Graph.Constant(p))], x);
    }

    /// <summary>Null checks and the count check, before anything reads a parameter.</summary>
    private void CheckParameterNodes(IReadOnlyList<Node> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        int expected = 2 * LayerCount;
        if (parameters.Count != expected)
            throw new ShapeException($"Mlp.Apply: {parameters.Count} parameter(s) given; the network [{string.Join("→", Widths)}] has {expected} (W and b per layer).");
        for (int i = 0; i < parameters.Count; i++)
            if (parameters[i] is null) throw new ArgumentNullException(nameof(parameters), $"Mlp.Apply: parameter {i} is null.");
    }

    private static void CheckActivation(Activation a, string name)
    {
        if (!Enum.IsDefined(a))
            throw new ArgumentOutOfRangeException(name, a, $"Mlp: {(int)a} is not an activation; use one of {string.Join(", ", Enum.GetNames<Activation>())}.");
    }

    // ---- weight files (safetensors, PyTorch names and layout) ----

    /// <summary>The safetensors name of layer <paramref name="layer"/>'s weight: <c>layers.LAYER.weight</c>.</summary>
    public static string WeightName(int layer) => $"layers.{layer}.weight";

    /// <summary>The safetensors name of layer <paramref name="layer"/>'s bias: <c>layers.LAYER.bias</c>.</summary>
    public static string BiasName(int layer) => $"layers.{layer}.bias";

    /// <summary>The metadata key that records <see cref="Architecture"/> in weight files.</summary>
    public const string ArchitectureKey = "jetsharp.architecture";

    /// <summary>
    /// Writes the parameters as a safetensors file in PyTorch's layout, so that
    /// <c>model.load_state_dict(safetensors.torch.load_file(path))</c> loads them into
    /// <code>
    /// class Mlp(torch.nn.Module):                   # widths [in, h1, …, out], activation after every hidden layer
    ///     def __init__(self, widths):
    ///         super().__init__()
    ///         self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
    /// </code>
    /// Layer l is stored as <c>layers.l.weight</c> with shape [out, in] — the <b>transpose</b> of JetSharp's W [in, out]
    /// (JetSharp computes x·W + b, PyTorch x·Wᵀ + b) — and <c>layers.l.bias</c> [out], in the network's dtype (F32 or F64).
    /// The metadata holds <c>format = pt</c> and <see cref="ArchitectureKey"/> = <see cref="Architecture"/>.
    /// </summary>
    public void SaveWeights(string path) => SafeTensors.Write(path, WeightTensors(), WeightMetadata());

    /// <summary>As <see cref="SaveWeights(string)"/>, to a stream (not closed).</summary>
    public void SaveWeights(Stream stream) => SafeTensors.Write(stream, WeightTensors(), WeightMetadata());

    /// <summary>
    /// Replaces the parameters by those of a safetensors weight file in PyTorch's layout (see <see cref="SaveWeights(string)"/>):
    /// exactly the tensors <c>layers.l.weight</c> [out, in] and <c>layers.l.bias</c> [out] of this network's widths,
    /// transposed back and converted to the network's dtype (float64 → float32 rounds to nearest). Nothing changes unless
    /// the whole file fits.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not valid safetensors, or a tensor is missing, extra, of another shape or not finite (named, with the file).</exception>
    /// <exception cref="CheckpointMismatchException">The file records another architecture (e.g. another activation).</exception>
    public void LoadWeights(string path) => LoadWeights(SafeTensors.Read(path), $"'{path}'");

    /// <summary>As <see cref="LoadWeights(string)"/>, from a stream holding exactly one safetensors file.</summary>
    public void LoadWeights(Stream stream, string? source = null) => LoadWeights(SafeTensors.Read(stream, source is null ? null : $"'{source}'"), source is null ? "stream" : $"'{source}'");

    private IEnumerable<KeyValuePair<string, NDArray>> WeightTensors()
    {
        for (int l = 0; l < LayerCount; l++)
        {
            yield return new(WeightName(l), Transpose(Parameters[2 * l]));
            yield return new(BiasName(l), Parameters[2 * l + 1]);
        }
    }

    private Dictionary<string, string> WeightMetadata() => new() { ["format"] = "pt", [ArchitectureKey] = Architecture };

    private void LoadWeights(SafeTensorsFile file, string where)
    {
        if (file.Metadata.TryGetValue(ArchitectureKey, out var arch) && arch != Architecture)
            throw new CheckpointMismatchException($"Weight file {where} was saved for '{arch}'; this network is '{Architecture}'.");
        var expected = new HashSet<string>(Enumerable.Range(0, LayerCount).SelectMany(l => new[] { WeightName(l), BiasName(l) }));
        if (file.Names.Where(n => !expected.Contains(n)).ToList() is { Count: > 0 } extra)
            throw new InvalidDataException($"Weight file {where} holds tensors that the network [{string.Join("→", Widths)}] has no place for: {string.Join(", ", extra.Take(10))}{(extra.Count > 10 ? ", …" : "")}.");
        var dtype = Parameters[0].DType;
        var loaded = new NDArray[2 * LayerCount];
        for (int l = 0; l < LayerCount; l++)
        {
            loaded[2 * l] = Transpose(Take(WeightName(l), new Shape(Widths[l + 1], Widths[l])));
            loaded[2 * l + 1] = Take(BiasName(l), new Shape(Widths[l + 1]));
        }
        Parameters = loaded;

        NDArray Take(string name, Shape shape)
        {
            if (!file.Tensors.TryGetValue(name, out var t))
                throw new InvalidDataException($"Weight file {where} has no tensor '{name}' (the network [{string.Join("→", Widths)}] needs layers.0…{LayerCount - 1}, each with weight [out, in] and bias [out]).");
            if (t.Shape != shape)
                throw new InvalidDataException($"Weight file {where}: tensor '{name}' has shape {t.Shape}; the network [{string.Join("→", Widths)}] needs {shape} (PyTorch layout: weight [out, in]).");
            NDArray converted = dtype == DType.Float32 ? ParameterVector.Unflatten<float>(ParameterVector.Flatten<float>([t]), [shape])[0]
                                                       : ParameterVector.Unflatten<double>(ParameterVector.Flatten<double>([t]), [shape])[0];
            for (int i = 0; i < converted.Size; i++)
                if (!double.IsFinite(converted.GetDouble(i)))
                    throw new InvalidDataException($"Weight file {where}: tensor '{name}' is {converted.GetDouble(i)} at element {i}{(double.IsFinite(t.GetDouble(i)) ? $" after conversion to {dtype.Name()}" : "")}; weights must be finite.");
            return converted;
        }
    }

    /// <summary>A new [n, m] array holding the transpose of an [m, n] array.</summary>
    private static NDArray Transpose(NDArray a)
    {
        return a switch
        {
            NDArray<float> f => Of(f),
            NDArray<double> d => Of(d),
            _ => throw new NotSupportedException($"Mlp: a parameter of dtype {a.DType.Name()}."),
        };

        static NDArray<T> Of<T>(NDArray<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int rows = x.Shape[0], cols = x.Shape[1];
            var r = new NDArray<T>(new Shape(cols, rows));
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) r.Data[j * rows + i] = x.Data[i * cols + j];
            return r;
        }
    }

    public static Node Activate(Node x, Activation a) => CheckedActivation(a) switch
    {
        Activation.Tanh => Fn.Tanh(x),
        Activation.Sigmoid => Fn.Sigmoid(x),
        Activation.Sin => Fn.Sin(x),
        Activation.Softplus => Fn.Softplus(x),
        Activation.Relu => Fn.Relu(x),
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    private static Activation CheckedActivation(Activation a)
    {
        CheckActivation(a, nameof(a));
        return a;
    }
}
