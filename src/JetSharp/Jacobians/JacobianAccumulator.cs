using System.Diagnostics;
using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Transforms;
using JetSharp.Runtime;
using JetSharp.Tracing;

namespace JetSharp.Jacobians;

/// <summary>A Jacobian accumulated by vertex elimination.</summary>
/// <param name="Value">∂y_j/∂x_i at every point, shape [N, m, n].</param>
/// <param name="Multiplications">Multiplications of edge labels per point: the sum of the step costs.</param>
/// <param name="OrderName">The rule that produced the order.</param>
/// <param name="Order">The elimination order (vertex indices).</param>
/// <param name="Steps">The log of the elimination.</param>
/// <param name="PartialsTime">Time to evaluate the local partials (the labels) at the N points.</param>
/// <param name="EliminationTime">Time of the elimination itself over the N points (the compiled program's run).</param>
public sealed record JacobianResult(NDArray<double> Value, long Multiplications, string OrderName, int[] Order,
    IReadOnlyList<EliminationStep> Steps, TimeSpan PartialsTime, TimeSpan EliminationTime);

/// <summary>
/// Jacobians by cross-country elimination, batched over points, and the reference Jacobians of the
/// library's forward mode (one JVP per input, all in one pass) and reverse mode (one VJP per output).
/// A function takes n nodes of shape [N] (the columns of the points) and returns m nodes of shape [N];
/// see <see cref="LinearizedFunction"/> for what it may contain.
/// </summary>
public static class JacobianAccumulator
{
    /// <summary>∂f/∂x at each row of <paramref name="x"/> ([N, n]), by eliminating in <paramref name="order"/>.</summary>
    public static JacobianResult Jacobian(Func<Node[], Node[]> f, NDArray<double> x, EliminationOrder order)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(order);
        var (points, inputs) = PointShape(x, "jacobian");
        return Jacobian(LinearizedFunction.Trace(f, inputs, points), x, order);
    }

    /// <summary>As above for a function already linearized (traced for x's number of points).</summary>
    public static JacobianResult Jacobian(LinearizedFunction function, NDArray<double> x, EliminationOrder order)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(order);
        PointShape(x, "jacobian");
        LinearizedFunction.CheckPoints(x, function.InputCount, function.PointCount, "jacobian");
        var vertices = order.For(function.Structure);
        EliminationOrder.Validate(function.Structure, vertices, $"jacobian ({order.Name} order)");
        var program = EliminationProgram.Compile(function.Structure, vertices);
        var clock = Stopwatch.StartNew();
        var graph = function.At(x);
        var partials = clock.Elapsed;
        clock.Restart();
        var jacobian = program.Run(graph);
        return new JacobianResult(jacobian, program.Multiplications, order.Name, vertices, program.Steps, partials, clock.Elapsed);
    }

    /// <summary>Forward mode: the JVPs with the n unit tangents, as one Jet pass with a direction axis of n.</summary>
    public static NDArray<double> ForwardMode(Func<Node[], Node[]> f, NDArray<double> x) => ForwardModeGraph(f, x).Run(x);

    /// <summary>Reverse mode: one VJP per output, each seeded with ones on that output.</summary>
    public static NDArray<double> ReverseMode(Func<Node[], Node[]> f, NDArray<double> x) => ReverseModeGraph(f, x).Run(x);

    /// <summary>A compiled forward-mode Jacobian for points of x's shape (for timing repeated runs).</summary>
    public static ReferenceJacobian ForwardModeGraph(Func<Node[], Node[]> f, NDArray<double> x)
    {
        ArgumentNullException.ThrowIfNull(f);
        var (points, inputs) = PointShape(x, "forward-mode jacobian");
        var g = TraceColumns(f, inputs, points);
        var jg = new Graph(DType.Float64);
        var xs = GraphWalk.MirrorInputs(g, jg);
        var prefix = new Shape(inputs);
        var tangents = new Node?[inputs];
        for (int i = 0; i < inputs; i++)
        {
            var unit = new NDArray<double>(new Shape(inputs, points));
            for (int k = 0; k < points; k++) unit.Data[i * points + k] = 1;
            tangents[i] = jg.Constant(unit);
        }
        var (_, outs) = Jvp.Apply(g, xs, tangents, prefix);
        // Each output tangent is [n, N]; stack the m of them as [m, n, N].
        var rows = outs.Select(t => Fn.ExpandDims(t ?? Fn.Zeros(jg, new Shape(inputs, points)), 0)).ToArray();
        jg.SetOutputs(rows.Length == 1 ? rows[0] : Fn.Concat(0, rows));
        return new ReferenceJacobian(jg, inputs, points);
    }

    /// <summary>A compiled reverse-mode Jacobian for points of x's shape.</summary>
    public static ReferenceJacobian ReverseModeGraph(Func<Node[], Node[]> f, NDArray<double> x)
    {
        ArgumentNullException.ThrowIfNull(f);
        var (points, inputs) = PointShape(x, "reverse-mode jacobian");
        var g = TraceColumns(f, inputs, points);
        var jg = new Graph(DType.Float64);
        var xs = GraphWalk.MirrorInputs(g, jg);
        var rows = new List<Node>();
        for (int j = 0; j < g.Outputs.Count; j++)
        {
            // Row j: the VJP seeded with ones on output j. Each point's outputs depend on that point's
            // inputs only, so the cotangent of x_i at point k is ∂y_j/∂x_i there.
            var seeds = g.Outputs.Select((o, jj) => jj == j ? Fn.BroadcastTo(jg.Scalar(1), o.Shape) : null).ToArray();
            var (_, cts) = Vjp.Apply(g, xs, seeds);
            var row = cts.Select(c => Fn.ExpandDims(c ?? Fn.Zeros(jg, new Shape(points)), 0)).ToArray();
            rows.Add(Fn.ExpandDims(row.Length == 1 ? row[0] : Fn.Concat(0, row), 0));
        }
        jg.SetOutputs(rows.Count == 1 ? rows[0] : Fn.Concat(0, [.. rows]));
        return new ReferenceJacobian(jg, inputs, points);
    }

    /// <summary>f traced on n columns of N points (the references use the library's transforms on it, not the linearization).</summary>
    private static Graph TraceColumns(Func<Node[], Node[]> f, int inputs, int points) =>
        Tracer.Function(f, [.. Enumerable.Repeat(new Shape(points), inputs)], DType.Float64, [.. Enumerable.Range(0, inputs).Select(i => $"x{i}")]);

    internal static (int Points, int Inputs) PointShape(NDArray<double> x, string op)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 2 || x.Shape[0] < 1 || x.Shape[1] < 1)
            throw new ShapeException($"{op}: points must have shape [N, n] with N, n ≥ 1 (one row per point, one column per input); got {x.Shape}.");
        return (x.Shape[0], x.Shape[1]);
    }
}

/// <summary>A compiled forward- or reverse-mode Jacobian program for a fixed number of points; its graph returns [m, n, N].</summary>
public sealed class ReferenceJacobian
{
    private readonly Executable _exe;
    private readonly int _inputs, _points;

    internal ReferenceJacobian(Graph graph, int inputs, int points)
    {
        _exe = Executable.Compile(graph);
        _inputs = inputs;
        _points = points;
    }

    /// <summary>The Jacobian [N, m, n] at the rows of x.</summary>
    public NDArray<double> Run(NDArray<double> x)
    {
        var columns = LinearizedFunction.Columns(x, _inputs, _points, "reference jacobian");
        var mnN = _exe.Run(columns)[0];
        int m = mnN.Shape[0], n = mnN.Shape[1], points = mnN.Shape[2];
        var j = new NDArray<double>(new Shape(points, m, n));
        for (int a = 0; a < m; a++)
            for (int i = 0; i < n; i++)
                for (int k = 0; k < points; k++)
                    j.Data[(k * m + a) * n + i] = mnN.Data[(a * n + i) * points + k];
        return j;
    }
}
