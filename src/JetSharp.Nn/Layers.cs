namespace JetSharp.Nn;

/// <summary>
/// A fully connected layer y = x·W + b with W of shape [in, out] and b of shape [out]; x may have any
/// number of leading axes (data, tokens). Weights and biases default to PyTorch's initialisation
/// (<see cref="Initializers.UniformFanIn"/>). The static <see cref="Apply(Node, Node, Node)"/> is the same
/// computation on explicit nodes.
/// </summary>
public sealed class Linear : Module
{
    /// <summary>A layer from <paramref name="inputs"/> to <paramref name="outputs"/> features.</summary>
    public Linear(int inputs, int outputs, bool bias = true, Initializer? weightInit = null, Initializer? biasInit = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputs, 1);
        Inputs = inputs;
        Outputs = outputs;
        Weight = AddParameter("weight", new Shape(inputs, outputs), weightInit ?? Initializers.UniformFanIn, inputs, outputs);
        Bias = bias ? AddParameter("bias", new Shape(outputs), biasInit ?? Initializers.UniformFanIn, inputs, outputs) : null;
    }

    /// <summary>Input features.</summary>
    public int Inputs { get; }
    /// <summary>Output features.</summary>
    public int Outputs { get; }
    /// <summary>W, [in, out].</summary>
    public Parameter Weight { get; }
    /// <summary>b, [out], or null for a layer without bias.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    public override string Description => $"Linear({Inputs} → {Outputs}{(Bias is null ? ", no bias" : "")})";

    /// <inheritdoc/>
    protected internal override Node Forward(Node x, Bindings p)
    {
        if (x.Rank == 0 || x.Shape[^1] != Inputs)
            throw new ShapeException($"{Description}: input {x.Shape} does not end in {Inputs} features.");
        var y = Fn.MatMul(x.Rank == 1 ? Fn.Reshape(x, 1, Inputs) : x, p[Weight]);
        if (x.Rank == 1) y = Fn.Reshape(y, Outputs);
        return Bias is null ? y : y + p[Bias];
    }

    /// <summary>x·W + b on explicit nodes: x [..., in], W [in, out], b [out].</summary>
    public static Node Apply(Node x, Node weight, Node bias)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(bias);
        if (weight.Rank != 2 || bias.Rank != 1 || bias.Shape[0] != weight.Shape[1] || x.Rank < 2 || x.Shape[^1] != weight.Shape[0])
            throw new ShapeException($"linear: input {x.Shape}, weight {weight.Shape} and bias {bias.Shape} do not fit (need x[..., in], W[in, out], b[out]).");
        return Fn.MatMul(x, weight) + bias;
    }

    /// <summary>
    /// Seeded initial parameters: W and b uniform on [−1/√in, 1/√in] (the common default for tanh
    /// networks). W uses seed·2 and b seed·2+1 of the project's generator (<see cref="SeededRandom"/>).
    /// </summary>
    public static (NDArray<T> Weight, NDArray<T> Bias) Init<T>(int inputs, int outputs, long seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputs, 1);
        double bound = 1 / Math.Sqrt(inputs);
        return (NDArray.RandomUniform<T>(new Shape(inputs, outputs), 2 * seed, -bound, bound),
                NDArray.RandomUniform<T>(new Shape(outputs), 2 * seed + 1, -bound, bound));
    }
}

/// <summary>Modules applied one after another; children are named "0", "1", ….</summary>
public sealed class Sequential : Module
{
    private readonly Module[] _layers;

    /// <summary>A chain of <paramref name="layers"/> (at least one).</summary>
    public Sequential(params Module[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Length == 0) throw new ArgumentException("Sequential needs at least one layer.", nameof(layers));
        for (int i = 0; i < layers.Length; i++)
            AddModule(i.ToString(System.Globalization.CultureInfo.InvariantCulture), layers[i] ?? throw new ArgumentNullException($"{nameof(layers)}[{i}]"));
        _layers = layers;
    }

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<Module> Layers => _layers;

    /// <inheritdoc/>
    public override string Description => $"Sequential({_layers.Length})";

    /// <inheritdoc/>
    protected internal override Node Forward(Node x, Bindings p)
    {
        foreach (var layer in _layers) x = Call(layer, x, p);
        return x;
    }

    /// <summary>
    /// A multilayer perceptron inputs → hidden… → outputs with <paramref name="activation"/> after each
    /// hidden layer and a linear last layer (children: Linear, activation, Linear, …).
    /// </summary>
    public static Sequential Mlp(int inputs, int[] hidden, int outputs, Func<Node, Node> activation, string activationName = "activation")
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(activation);
        int[] widths = [inputs, .. hidden, outputs];
        var layers = new List<Module>();
        for (int l = 0; l + 1 < widths.Length; l++)
        {
            layers.Add(new Linear(widths[l], widths[l + 1]));
            if (l + 2 < widths.Length) layers.Add(new Lambda(activationName, activation));
        }
        return new Sequential([.. layers]);
    }
}

/// <summary>A parameter-free module from a function of nodes (an activation, a reshape, a pooling).</summary>
public sealed class Lambda : Module
{
    private readonly Func<Node, Node> _f;

    /// <summary>A module computing <paramref name="f"/>, listed as <paramref name="name"/>.</summary>
    public Lambda(string name, Func<Node, Node> f)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        _f = f ?? throw new ArgumentNullException(nameof(f));
        Name = name;
    }

    /// <summary>The name shown in listings.</summary>
    public string Name { get; }

    /// <summary>The activation of <see cref="Activation"/> as a module.</summary>
    public static Lambda Of(Activation activation) =>
        Enum.IsDefined(activation)
            ? new(activation.ToString().ToLowerInvariant(), x => JetSharp.Nn.Mlp.Activate(x, activation))
            : throw new ArgumentOutOfRangeException(nameof(activation), activation, "not a defined Activation.");

    /// <inheritdoc/>
    public override string Description => Name;

    /// <inheritdoc/>
    protected internal override Node Forward(Node x, Bindings p) => _f(x);
}

/// <summary>A residual connection x + body(x); the body must keep the shape.</summary>
public sealed class Residual : Module
{
    /// <summary>x + <paramref name="body"/>(x).</summary>
    public Residual(Module body) => Body = AddModule("body", body);

    /// <summary>The wrapped module.</summary>
    public Module Body { get; }

    /// <inheritdoc/>
    public override string Description => "Residual";

    /// <inheritdoc/>
    protected internal override Node Forward(Node x, Bindings p)
    {
        var y = Call(Body, x, p);
        if (y.Shape != x.Shape)
            throw new ShapeException($"Residual: the body maps {x.Shape} to {y.Shape}; a residual connection needs the same shape.");
        return x + y;
    }
}
