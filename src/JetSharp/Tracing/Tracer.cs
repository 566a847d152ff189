using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Tracing;

/// <summary>
/// Turns ordinary C# functions over <see cref="Node"/>s into graphs: the function is called once with
/// input placeholders of the given shapes, and every operation it performs is recorded.
/// Nodes remember the line of user code that created them, for error messages.
/// </summary>
public static partial class Tracer
{
    /// <summary>Traces a function of one input into a graph with one input (named <c>x</c>) and one output.</summary>
    public static Graph Function(Func<Node, Node> f, Shape inputShape, DType dtype = DType.Float64)
    {
        ArgumentNullException.ThrowIfNull(f);
        return Function(xs => [f(xs[0])], [inputShape], dtype);
    }

    /// <summary>Traces a function of several inputs (named <c>x0</c>, <c>x1</c>, …) into a graph with one output.</summary>
    public static Graph Function(Func<Node[], Node> f, Shape[] inputShapes, DType dtype = DType.Float64)
    {
        ArgumentNullException.ThrowIfNull(f);
        return Function(xs => [f(xs)], inputShapes, dtype);
    }

    /// <summary>
    /// Traces a function of several inputs and outputs. Inputs are named by <paramref name="names"/>, or
    /// <c>x</c> for a single input and <c>x0</c>, <c>x1</c>, … otherwise. The graph can be retraced for
    /// other input shapes (<see cref="Graph.Retrace"/>).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> or <paramref name="inputShapes"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined value.</exception>
    /// <exception cref="ArgumentException"><paramref name="names"/> does not name every input, or <paramref name="f"/> returned null, no outputs, or an output of another graph.</exception>
    public static Graph Function(Func<Node[], Node[]> f, Shape[] inputShapes, DType dtype = DType.Float64, string[]? names = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputShapes);
        if (names is not null && names.Length != inputShapes.Length)
            throw new ArgumentException($"trace: {names.Length} name(s) for {inputShapes.Length} input(s).", nameof(names));
        var g = new Graph(dtype) { RecordOrigins = true };
        var inputs = inputShapes.Select((s, i) => g.Input(s, names?[i] ?? (inputShapes.Length == 1 ? "x" : $"x{i}"))).ToArray();
        var outputs = f(inputs) ?? throw new ArgumentException("trace: the function returned null instead of its output nodes.", nameof(f));
        if (outputs.Length == 0) throw new ArgumentException("trace: the function returned no outputs.");
        for (int i = 0; i < outputs.Length; i++)
            if (outputs[i] is null) throw new ArgumentException($"trace: the function returned null as output {i}.", nameof(f));
        g.SetOutputs(outputs);
        g.RecordOrigins = false;
        g.Retrace = shapes => Function(f, shapes, dtype, names);
        return g;
    }
}
