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

    /// <summary>Current parameter values W₁, b₁, W₂, b₂, … (replaceable, e.g. by an optimiser).</summary>
    public NDArray[] Parameters { get; set; }

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
        int[] widths = [inputs, .. hidden, outputs];
        if (widths.Any(w => w <= 0)) throw new ArgumentException($"Mlp: layer widths must be positive, got [{string.Join(", ", widths)}].");
        var ps = new List<NDArray>();
        for (int l = 0; l + 1 < widths.Length; l++)
        {
            var (w, b) = Linear.Init<double>(widths[l], widths[l + 1], seed * 1000 + l);
            ps.Add(dtype == DType.Float64 ? w : w.To<float>());
            ps.Add(dtype == DType.Float64 ? b : b.To<float>());
        }
        return new Mlp(widths, activation, [.. ps]);
    }

    /// <summary>The network applied to x ([..., inputs] → [..., outputs]) with the given parameter nodes.</summary>
    public Node Apply(IReadOnlyList<Node> parameters, Node x)
    {
        var shapes = ParameterShapes;
        if (parameters.Count != shapes.Length)
            throw new ShapeException($"Mlp.Apply: {parameters.Count} parameter(s) given; the network [{string.Join("→", Widths)}] has {shapes.Length} (W and b per layer).");
        for (int i = 0; i < shapes.Length; i++)
            if (parameters[i].Shape != shapes[i])
                throw new ShapeException($"Mlp.Apply: parameter {i} has shape {parameters[i].Shape}; expected {shapes[i]}.");
        if (x.Shape[^1] != Widths[0])
            throw new ShapeException($"Mlp.Apply: input {x.Shape} has {x.Shape[^1]} features; the network expects {Widths[0]}.");
        var h = x;
        for (int l = 0; l < LayerCount; l++)
        {
            h = Linear.Apply(h, parameters[2 * l], parameters[2 * l + 1]);
            if (l + 1 < LayerCount) h = Activate(h, Activation);
        }
        return h;
    }

    /// <summary>The network applied to a concrete input (embedded as a constant).</summary>
    public Node Apply(IReadOnlyList<Node> parameters, NDArray x) => Apply(parameters, parameters[0].Graph.Constant(x));

    /// <summary>The network with its current parameters embedded as constants: a function of x alone.</summary>
    public Node Apply(Node x) => Apply([.. Parameters.Select(p => x.Graph.Constant(p))], x);

    public static Node Activate(Node x, Activation a) => a switch
    {
        Activation.Tanh => Fn.Tanh(x),
        Activation.Sigmoid => Fn.Sigmoid(x),
        Activation.Sin => Fn.Sin(x),
        Activation.Softplus => Fn.Softplus(x),
        Activation.Relu => Fn.Relu(x),
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };
}
