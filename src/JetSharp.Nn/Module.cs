using System.Text;

namespace JetSharp.Nn;

/// <summary>
/// How a parameter's initial values are drawn: from its shape, the fan-in and fan-out of the layer it
/// belongs to, and a seed (see <see cref="Initializers"/> for the usual schemes).
/// </summary>
public delegate NDArray<double> Initializer(Shape shape, int fanIn, int fanOut, long seed);

/// <summary>
/// A tensor a module owns. Trainable parameters are graph inputs when the module is applied to parameter
/// nodes; non-trainable ones (buffers, such as a fixed Fourier-feature matrix) are always constants.
/// Values are float64; a float32 graph rounds them when it embeds or receives them.
/// </summary>
public sealed class Parameter
{
    private NDArray<double>? _value;

    internal Parameter(string name, Shape shape, Initializer initializer, int fanIn, int fanOut, bool trainable)
    {
        Name = name;
        Shape = shape;
        Initializer = initializer;
        FanIn = fanIn;
        FanOut = fanOut;
        Trainable = trainable;
    }

    /// <summary>The name within its module ("weight", "bias", …).</summary>
    public string Name { get; }
    /// <summary>The shape.</summary>
    public Shape Shape { get; }
    /// <summary>How <see cref="Module.Initialize"/> draws its values.</summary>
    public Initializer Initializer { get; }
    /// <summary>Inputs of the layer the parameter belongs to (for fan-in scaled initialisers).</summary>
    public int FanIn { get; }
    /// <summary>Outputs of the layer the parameter belongs to.</summary>
    public int FanOut { get; }
    /// <summary>Whether the parameter is trained (a graph input) or fixed (a constant).</summary>
    public bool Trainable { get; }

    /// <summary>The current values (a copy on read and on write), or null before <see cref="Module.Initialize"/>.</summary>
    public NDArray<double>? Value
    {
        get => _value?.Clone();
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Shape != Shape)
                throw new ShapeException($"parameter '{Name}': value of shape {value.Shape} given; the parameter has shape {Shape}.");
            foreach (double v in value.Data)
                if (!double.IsFinite(v))
                    throw new ArgumentException($"parameter '{Name}': the value holds {v}; parameters must be finite.", nameof(value));
            _value = value.Clone();
        }
    }

    internal NDArray<double> Current(string path) =>
        _value ?? throw new InvalidOperationException($"parameter '{path}' has no value: call Initialize(seed) on the network (or set its values) before applying it.");
}

/// <summary>
/// A network building block with named parameters, composable into larger ones (<see cref="Sequential"/>,
/// <see cref="Residual"/>, …). A module declares its parameters and submodules in its constructor,
/// gets seeded values from <see cref="Initialize"/>, and is applied inside a trace either to parameter
/// nodes (<see cref="Apply(IReadOnlyList{Node}, Node)"/>, for gradients with respect to them) or with
/// its current values as constants (<see cref="Apply(Node)"/>, for operators of x alone). Every layer is
/// built from JetSharp primitives, so every operator and strategy applies to it.
/// </summary>
/// <remarks>
/// Parameters are listed depth first in declaration order with dotted paths ("2.body.0.weight"); that
/// order is the order of <see cref="ParameterShapes"/> and of the nodes <c>Apply</c> takes. A module may
/// be shared by reference in two places; its parameters are then listed once. Modules are not
/// thread-safe while their values are being set; applying them (tracing) only reads.
/// </remarks>
public abstract class Module
{
    private readonly List<Parameter> _parameters = [];
    private readonly List<(string Name, Module Module)> _children = [];

    /// <summary>The module's kind, for listings (e.g. "Linear(3 → 16)").</summary>
    public abstract string Description { get; }

    /// <summary>Declares a parameter.</summary>
    protected Parameter AddParameter(string name, Shape shape, Initializer initializer, int fanIn, int fanOut, bool trainable = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(initializer);
        if (_parameters.Any(p => p.Name == name) || _children.Any(c => c.Name == name))
            throw new ArgumentException($"{Description}: the name '{name}' is already used.", nameof(name));
        var p = new Parameter(name, shape, initializer, fanIn, fanOut, trainable);
        _parameters.Add(p);
        return p;
    }

    /// <summary>Declares a submodule.</summary>
    protected T AddModule<T>(string name, T module) where T : Module
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(module);
        if (_parameters.Any(p => p.Name == name) || _children.Any(c => c.Name == name))
            throw new ArgumentException($"{Description}: the name '{name}' is already used.", nameof(name));
        if (module == this || module.Contains(this))
            throw new ArgumentException($"{Description}: a module cannot contain itself.", nameof(module));
        _children.Add((name, module));
        return module;
    }

    private bool Contains(Module m) => _children.Any(c => c.Module == m || c.Module.Contains(m));

    /// <summary>Every parameter (trainable or not) with its dotted path, depth first, each once.</summary>
    public IReadOnlyList<(string Path, Parameter Parameter)> AllParameters()
    {
        var list = new List<(string, Parameter)>();
        var seen = new HashSet<Parameter>();
        Collect("", list, seen);
        return list;
    }

    private void Collect(string prefix, List<(string, Parameter)> into, HashSet<Parameter> seen)
    {
        foreach (var p in _parameters)
            if (seen.Add(p)) into.Add((prefix + p.Name, p));
        foreach (var (name, child) in _children)
            child.Collect(prefix + name + ".", into, seen);
    }

    /// <summary>The trainable parameters with their dotted paths: the order of <see cref="ParameterShapes"/>.</summary>
    public IReadOnlyList<(string Path, Parameter Parameter)> NamedParameters() =>
        [.. AllParameters().Where(p => p.Parameter.Trainable)];

    /// <summary>Shapes of the trainable parameters.</summary>
    public Shape[] ParameterShapes => [.. NamedParameters().Select(p => p.Parameter.Shape)];

    /// <summary>Number of trainable scalars.</summary>
    public int ParameterCount => NamedParameters().Sum(p => p.Parameter.Shape.Size);

    /// <summary>The trainable parameters' current values (copies), in <see cref="NamedParameters"/> order; set them to load trained values.</summary>
    public NDArray<double>[] ParameterValues
    {
        get => [.. NamedParameters().Select(p => p.Parameter.Current(p.Path).Clone())];
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            var named = NamedParameters();
            if (value.Length != named.Count)
                throw new ArgumentException($"{Description}: {value.Length} values given for {named.Count} parameters.", nameof(value));
            for (int i = 0; i < value.Length; i++)
            {
                ArgumentNullException.ThrowIfNull(value[i], $"{nameof(value)}[{i}]");
                if (value[i].Shape != named[i].Parameter.Shape)
                    throw new ShapeException($"{Description}: value {i} has shape {value[i].Shape}; parameter '{named[i].Path}' has shape {named[i].Parameter.Shape}.");
            }
            for (int i = 0; i < value.Length; i++) named[i].Parameter.Value = value[i];
        }
    }

    /// <summary>
    /// Draws every parameter's values (trainable or not) from its initializer. The seed of a parameter
    /// is a hash of <paramref name="seed"/> and its dotted path, so values do not depend on the order in
    /// which modules were built, and a network of the same structure and seed is identical everywhere.
    /// Returns the module itself, for chaining after construction.
    /// </summary>
    public Module Initialize(long seed)
    {
        foreach (var (path, p) in AllParameters())
        {
            var value = p.Initializer(p.Shape, p.FanIn, p.FanOut, PathSeed(seed, path));
            if (value.Shape != p.Shape)
                throw new InvalidOperationException($"the initializer of '{path}' returned shape {value.Shape} for a parameter of shape {p.Shape}.");
            p.Value = value;
        }
        return this;
    }

    private static long PathSeed(long seed, string path)
    {
        ulong h = 14695981039346656037UL; // FNV-1a over the path's UTF-8 bytes, mixed with the seed
        foreach (byte b in Encoding.UTF8.GetBytes(path)) h = (h ^ b) * 1099511628211UL;
        return (long)(h ^ (ulong)seed * 0x9E3779B97F4A7C15UL);
    }

    /// <summary>The module applied to <paramref name="x"/> with the trainable parameters as <paramref name="parameters"/> (in <see cref="NamedParameters"/> order).</summary>
    public Node Apply(IReadOnlyList<Node> parameters, Node x)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(x);
        var named = NamedParameters();
        if (parameters.Count != named.Count)
            throw new ArgumentException($"{Description}: {parameters.Count} parameter node(s) given; the module has {named.Count} ({string.Join(", ", named.Select(p => p.Path))}).", nameof(parameters));
        var nodes = new Dictionary<Parameter, Node>();
        for (int i = 0; i < named.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(parameters[i], $"{nameof(parameters)}[{i}]");
            if (parameters[i].Shape != named[i].Parameter.Shape)
                throw new ShapeException($"{Description}: parameter node {i} ('{named[i].Path}') has shape {parameters[i].Shape}; expected {named[i].Parameter.Shape}.");
            nodes[named[i].Parameter] = parameters[i];
        }
        foreach (var (path, p) in AllParameters().Where(p => !p.Parameter.Trainable))
            nodes[p] = x.Graph.Constant(p.Current(path));
        return Forward(x, new Bindings(nodes));
    }

    /// <summary>The module applied to <paramref name="x"/> with its current values embedded as constants.</summary>
    public Node Apply(Node x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return Apply([.. NamedParameters().Select(p => x.Graph.Constant(p.Parameter.Current(p.Path)))], x);
    }

    /// <summary>The computation, given the nodes of the parameters (<see cref="Bindings"/>).</summary>
    protected internal abstract Node Forward(Node x, Bindings parameters);

    /// <summary>Applies a submodule inside <see cref="Forward"/>.</summary>
    protected static Node Call(Module child, Node x, Bindings parameters) => child.Forward(x, parameters);

    /// <summary>The module tree with parameter shapes, one line per module.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        Describe(sb, "", 0);
        sb.Append($"{ParameterCount} trainable parameters");
        return sb.ToString();
    }

    private void Describe(StringBuilder sb, string name, int depth)
    {
        sb.Append(' ', 2 * depth).Append(name.Length > 0 ? name + ": " : "").Append(Description);
        if (_parameters.Count > 0)
            sb.Append("  [").Append(string.Join(", ", _parameters.Select(p => $"{p.Name}{p.Shape}{(p.Trainable ? "" : " fixed")}"))).Append(']');
        sb.Append('\n');
        foreach (var (n, c) in _children) c.Describe(sb, n, depth + 1);
    }
}

/// <summary>The nodes that stand for a module tree's parameters during one application.</summary>
public sealed class Bindings
{
    private readonly Dictionary<Parameter, Node> _nodes;

    internal Bindings(Dictionary<Parameter, Node> nodes) => _nodes = nodes;

    /// <summary>The node of <paramref name="parameter"/>.</summary>
    public Node this[Parameter parameter] =>
        _nodes.TryGetValue(parameter, out var n) ? n : throw new InvalidOperationException($"parameter '{parameter.Name}' is not part of the module being applied (declare it with AddParameter).");
}

/// <summary>Initialisation schemes for <see cref="Module"/> parameters (all seeded, via <see cref="SeededRandom"/>).</summary>
public static class Initializers
{
    /// <summary>Uniform on [−1/√fanIn, 1/√fanIn]: PyTorch's default for linear layers (weights and biases).</summary>
    public static Initializer UniformFanIn { get; } = (shape, fanIn, _, seed) => Uniform(1 / Math.Sqrt(fanIn))(shape, fanIn, 0, seed);

    /// <summary>Glorot/Xavier uniform: U[−a, a] with a = √(6 / (fanIn + fanOut)); common for tanh PINNs.</summary>
    public static Initializer XavierUniform { get; } = (shape, fanIn, fanOut, seed) => Uniform(Math.Sqrt(6.0 / (fanIn + fanOut)))(shape, fanIn, fanOut, seed);

    /// <summary>Glorot/Xavier normal: N(0, 2 / (fanIn + fanOut)).</summary>
    public static Initializer XavierNormal { get; } = (shape, fanIn, fanOut, seed) => Normal(Math.Sqrt(2.0 / (fanIn + fanOut)))(shape, fanIn, fanOut, seed);

    /// <summary>He/Kaiming normal: N(0, 2 / fanIn), for ReLU-like activations.</summary>
    public static Initializer HeNormal { get; } = (shape, fanIn, fanOut, seed) => Normal(Math.Sqrt(2.0 / fanIn))(shape, fanIn, fanOut, seed);

    /// <summary>All zeros.</summary>
    public static Initializer Zeros { get; } = (shape, _, _, _) => NDArray.Zeros<double>(shape);

    /// <summary>All ones.</summary>
    public static Initializer Ones { get; } = (shape, _, _, _) => NDArray.Ones<double>(shape);

    /// <summary>Uniform on [−bound, bound].</summary>
    public static Initializer Uniform(double bound)
    {
        if (!(bound >= 0) || double.IsInfinity(bound)) throw new ArgumentOutOfRangeException(nameof(bound), bound, "the bound must be finite and ≥ 0.");
        return (shape, _, _, seed) => NDArray.RandomUniform<double>(shape, seed, -bound, bound);
    }

    /// <summary>Normal with mean 0 and standard deviation <paramref name="std"/>.</summary>
    public static Initializer Normal(double std)
    {
        if (!(std >= 0) || double.IsInfinity(std)) throw new ArgumentOutOfRangeException(nameof(std), std, "the standard deviation must be finite and ≥ 0.");
        return (shape, _, _, seed) =>
        {
            var z = NDArray.RandomNormal<double>(shape, seed);
            for (int i = 0; i < z.Data.Length; i++) z.Data[i] *= std;
            return z;
        };
    }
}
