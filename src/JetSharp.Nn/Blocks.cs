namespace JetSharp.Nn;

/// <summary>
/// Layer normalisation over the last axis: (x − mean) / √(var + ε) · γ + β, with the biased variance
/// (mean of squares of the centred values), as PyTorch's LayerNorm. γ starts at 1 and β at 0.
/// </summary>
public sealed class LayerNorm : Module
{
    /// <summary>Normalises <paramref name="features"/> features; <paramref name="affine"/> adds γ and β.</summary>
    public LayerNorm(int features, double epsilon = 1e-5, bool affine = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 1);
        if (!(epsilon > 0) || double.IsInfinity(epsilon)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "ε must be finite and > 0.");
        Features = features;
        Epsilon = epsilon;
        Scale = affine ? AddParameter("weight", new Shape(features), Initializers.Ones, features, features) : null;
        Shift = affine ? AddParameter("bias", new Shape(features), Initializers.Zeros, features, features) : null;
    }

    /// <summary>Features normalised (the last axis).</summary>
    public int Features { get; }
    /// <summary>ε added to the variance.</summary>
    public double Epsilon { get; }
    /// <summary>γ, or null without affine parameters.</summary>
    public Parameter? Scale { get; }
    /// <summary>β, or null without affine parameters.</summary>
    public Parameter? Shift { get; }

    /// <inheritdoc/>
    public override string Description => $"LayerNorm({Features}, ε = {Epsilon:G3})";

    /// <inheritdoc/>
    protected internal override Node Forward(Node x, Bindings p)
    {
        if (x.Rank == 0 || x.Shape[^1] != Features)
            throw new ShapeException($"{Description}: input {x.Shape} does not end in {Features} features.");
        return Scale is null ? Fn.LayerNorm(x, epsilon: Epsilon) : Fn.LayerNorm(x, p[Scale], p[Shift!], Epsilon);
    }
}

/// <summary>RMS normalisation over the last axis: x / √(mean(x²) + ε) · γ (Zhang &amp; Sennrich, 2019).</summary>
public sealed class RmsNorm : Module
{
    /// <summary>Normalises <paramref name="features"/> features; <paramref name="affine"/> adds γ.</summary>
    public RmsNorm(int features, double epsilon = 1e-6, bool affine = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 1);
        if (!(epsilon > 0) || double.IsInfinity(epsilon)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "ε must be finite and > 0.");
        Features = features;
        Epsilon = epsilon;
        Scale = affine ? AddParameter("weight", new Shape(features), Initializers.Ones, features, features) : null;
    }

    /// <summary>Features normalised (the last axis).</summary>
    public int Features { get; }
    /// <summary>ε added to the mean square.</summary>
    public double Epsilon { get; }
    /// <summary>γ, or null without affine parameters.</summary>
    public Parameter? Scale { get; }

    /// <inheritdoc/>
    public override string Description => $"RmsNorm({Features}, ε = {Epsilon:G3})";

    /// <inheritdoc/>
    protected internal override Node Forward(Node x, Bindings p)
    {
        if (x.Rank == 0 || x.Shape[^1] != Features)
            throw new ShapeException($"{Description}: input {x.Shape} does not end in {Features} features.");
        return Fn.RmsNorm(x, Scale is null ? null : p[Scale], Epsilon);
    }
}

/// <summary>
/// Random Fourier features [sin(2π x·B), cos(2π x·B)] with B ~ N(0, σ²) of shape [in, features], fixed
/// (not trained) unless <c>trainable</c> is set (Tancik et al., 2020; used by PINNs for multiscale
/// solutions). Output: 2·features.
/// </summary>
public sealed class FourierFeatures : Module
{
    /// <summary>Features of <paramref name="inputs"/>-dimensional points at scale <paramref name="sigma"/>.</summary>
    public FourierFeatures(int inputs, int features, double sigma = 1, bool trainable = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 1);
        Inputs = inputs;
        Features = features;
        Sigma = sigma;
        Frequencies = AddParameter("frequencies", new Shape(inputs, features), Initializers.Normal(sigma), inputs, features, trainable);
    }

    /// <summary>Input dimension.</summary>
    public int Inputs { get; }
    /// <summary>Number of frequencies (the output has twice as many features).</summary>
    public int Features { get; }
    /// <summary>Standard deviation of the frequencies.</summary>
    public double Sigma { get; }
    /// <summary>B, [in, features].</summary>
    public Parameter Frequencies { get; }

    /// <inheritdoc/>
    public override string Description => $"FourierFeatures({Inputs} → 2×{Features}, σ = {Sigma:G3})";

    /// <inheritdoc/>
    protected internal override Node Forward(Node x, Bindings p)
    {
        if (x.Rank < 2 || x.Shape[^1] != Inputs)
            throw new ShapeException($"{Description}: input {x.Shape} does not end in {Inputs} features.");
        var z = Fn.MatMul(x, p[Frequencies]) * x.Graph.Scalar(2 * Math.PI);
        return Fn.Concat(-1 + x.Rank, Fn.Sin(z), Fn.Cos(z));
    }
}

/// <summary>
/// Multi-head self-attention over the token axis: x [..., tokens, width] → softmax(Q Kᵀ / √d_h) V per
/// head, heads concatenated and projected (Vaswani et al., 2017), without masking or dropout. For a
/// set of particles per datum (the per-datum function reshapes [N, P·k] to [N, P, k] first), the output
/// is permutation-equivariant in the particles.
/// </summary>
public sealed class MultiHeadSelfAttention : Module
{
    /// <summary>Attention on <paramref name="width"/> features split into <paramref name="heads"/> heads.</summary>
    public MultiHeadSelfAttention(int width, int heads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        if (width % heads != 0)
            throw new ArgumentException($"MultiHeadSelfAttention: width {width} is not divisible by {heads} heads.", nameof(heads));
        Width = width;
        Heads = heads;
        Query = AddModule("query", new Linear(width, width));
        Key = AddModule("key", new Linear(width, width));
        Value = AddModule("value", new Linear(width, width));
        Output = AddModule("output", new Linear(width, width));
    }

    /// <summary>Model width.</summary>
    public int Width { get; }
    /// <summary>Number of heads.</summary>
    public int Heads { get; }
    /// <summary>Projections.</summary>
    public Linear Query { get; }
    /// <inheritdoc cref="Query"/>
    public Linear Key { get; }
    /// <inheritdoc cref="Query"/>
    public Linear Value { get; }
    /// <inheritdoc cref="Query"/>
    public Linear Output { get; }

    /// <inheritdoc/>
    public override string Description => $"MultiHeadSelfAttention(width {Width}, {Heads} heads)";

    /// <inheritdoc/>
    protected internal override Node Forward(Node x, Bindings p)
    {
        if (x.Rank < 2 || x.Shape[^1] != Width)
            throw new ShapeException($"{Description}: input {x.Shape} is not [..., tokens, {Width}].");
        int[] lead = x.Shape.ToArray()[..^2];
        int tokens = x.Shape[^2], dh = Width / Heads, r = lead.Length;
        // [..., T, W] → [..., H, T, dh]
        Node Split(Node z) => Fn.Transpose(Fn.Reshape(z, [.. lead, tokens, Heads, dh]), [.. Enumerable.Range(0, r), r + 1, r, r + 2]);
        Node q = Split(Call(Query, x, p)), k = Split(Call(Key, x, p)), v = Split(Call(Value, x, p));
        var heads = Fn.Attention(q, k, v);                                     // [..., H, T, dh]
        var joined = Fn.Reshape(Fn.Transpose(heads, [.. Enumerable.Range(0, r), r + 1, r, r + 2]), [.. lead, tokens, Width]);
        return Call(Output, joined, p);
    }
}

/// <summary>
/// The "modified MLP" of Wang, Teng &amp; Perdikaris (2021) for PINNs: two encoders U = σ(x·W_u + b_u),
/// V = σ(x·W_v + b_v) gate every hidden layer, H ← (1 − Z) ⊙ U + Z ⊙ V with Z = σ(H·W + b), and a
/// linear output layer.
/// </summary>
public sealed class ModifiedMlp : Module
{
    private readonly Linear[] _hidden;
    private readonly Func<Node, Node> _activation;

    /// <summary>A network inputs → width (×<paramref name="depth"/> gated layers) → outputs.</summary>
    public ModifiedMlp(int inputs, int width, int depth, int outputs, Func<Node, Node> activation)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        _activation = activation ?? throw new ArgumentNullException(nameof(activation));
        Inputs = inputs;
        Width = width;
        EncoderU = AddModule("encoder_u", new Linear(inputs, width, weightInit: Initializers.XavierNormal, biasInit: Initializers.Zeros));
        EncoderV = AddModule("encoder_v", new Linear(inputs, width, weightInit: Initializers.XavierNormal, biasInit: Initializers.Zeros));
        _hidden = new Linear[depth];
        for (int l = 0; l < depth; l++)
            _hidden[l] = AddModule($"hidden{l}", new Linear(l == 0 ? inputs : width, width, weightInit: Initializers.XavierNormal, biasInit: Initializers.Zeros));
        Head = AddModule("head", new Linear(width, outputs, weightInit: Initializers.XavierNormal, biasInit: Initializers.Zeros));
    }

    /// <summary>Input dimension.</summary>
    public int Inputs { get; }
    /// <summary>Hidden width.</summary>
    public int Width { get; }
    /// <summary>The encoders.</summary>
    public Linear EncoderU { get; }
    /// <inheritdoc cref="EncoderU"/>
    public Linear EncoderV { get; }
    /// <summary>The output layer.</summary>
    public Linear Head { get; }

    /// <inheritdoc/>
    public override string Description => $"ModifiedMlp({Inputs} → {Width} × {_hidden.Length} → {Head.Outputs})";

    /// <inheritdoc/>
    protected internal override Node Forward(Node x, Bindings p)
    {
        var u = _activation(Call(EncoderU, x, p));
        var v = _activation(Call(EncoderV, x, p));
        var h = x;
        foreach (var layer in _hidden)
        {
            var z = _activation(Call(layer, h, p));
            h = u + z * (v - u); // (1 − z) ⊙ u + z ⊙ v
        }
        return Call(Head, h, p);
    }
}
