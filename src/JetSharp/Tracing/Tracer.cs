using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Tracing;

/// <summary>
/// Turns ordinary C# functions over <see cref="Node"/>s into graphs: the function is called once with
/// input placeholders of the given shapes, and every operation it performs is recorded.
/// Nodes remember the line of user code that created them, for error messages.
/// </summary>
public static class Tracer
{
    /// <summary>Traces a function of one input into a graph with one input (named <c>x</c>) and one output.</summary>
    public static Graph Function(Func<Node, Node> f, Shape inputShape, DType dtype = DType.Float64) =>
        Function(xs => [f(xs[0])], [inputShape], dtype);

    /// <summary>Traces a function of several inputs (named <c>x0</c>, <c>x1</c>, …) into a graph with one output.</summary>
    public static Graph Function(Func<Node[], Node> f, Shape[] inputShapes, DType dtype = DType.Float64) =>
        Function(xs => [f(xs)], inputShapes, dtype);

    /// <summary>
    /// Traces a function of several inputs and outputs. Inputs are named by <paramref name="names"/>, or
    /// <c>x</c> for a single input and <c>x0</c>, <c>x1</c>, … otherwise. The graph can be retraced for
    /// other input shapes (<see cref="Graph.Retrace"/>).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="f"/> returned no outputs, or an output of another graph.</exception>
    public static Graph Function(Func<Node[], Node[]> f, Shape[] inputShapes, DType dtype = DType.Float64, string[]? names = null)
    {
        var g = new Graph(dtype) { RecordOrigins = true };
        var inputs = inputShapes.Select((s, i) => g.Input(s, names?[i] ?? (inputShapes.Length == 1 ? "x" : $"x{i}"))).ToArray();
        var outputs = f(inputs);
        if (outputs.Length == 0) throw new ArgumentException("trace: the function returned no outputs.");
        g.SetOutputs(outputs);
        g.RecordOrigins = false;
        g.Retrace = shapes => Function(f, shapes, dtype, names);
        return g;
    }
}
