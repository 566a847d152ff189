using System.Globalization;
using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Operators;

/// <summary>
/// Refuses, before anything is allocated, an operator whose evaluation cannot fit in the memory this
/// process may use (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>), with a message that names the
/// operator, the dimension D, the bytes needed and the stochastic alternative — rather than a generic
/// out-of-memory error deep in a kernel after gigabytes were allocated. The bytes needed are a lower
/// bound (the largest single tensor a run must hold, or a table about to be built), so nothing that
/// could run is refused.
/// </summary>
internal static class MemoryGuard
{
    /// <summary>Bytes this process may use: the GC's limit (physical memory, or a container's or configured limit).</summary>
    public static long Available => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>
    /// The largest tensor a run of <paramref name="g"/> computes (inputs, constants and views excluded:
    /// they are the caller's, already exist, or share storage): a lower bound of the run's peak memory.
    /// Element-wise fused trees hold no intermediates, but their root has the same shape, so the bound holds.
    /// </summary>
    public static (double Bytes, Node? Node) LargestComputed(Graph g)
    {
        double best = 0;
        Node? at = null;
        foreach (var node in GraphWalk.Reachable(g))
        {
            if (node.Op is InputOp or ConstantOp || node.Op.IsView) continue;
            double bytes = Elements(node.Shape) * node.DType.SizeInBytes();
            if (bytes > best) { best = bytes; at = node; }
        }
        return (best, at);
    }

    /// <summary>Elements of a shape as a double (no overflow for shapes beyond 2^31 elements).</summary>
    public static double Elements(Shape s)
    {
        double e = 1;
        for (int i = 0; i < s.Rank; i++) e *= s[i];
        return e;
    }

    /// <summary>Refuses to run <paramref name="g"/>, the graph of operator <paramref name="op"/>, when its largest tensor cannot be held.</summary>
    public static void CheckRun(string op, Graph g)
    {
        var (bytes, node) = LargestComputed(g);
        if (node is not null && !Fits(bytes, node.Shape))
            throw Refusal(op, g.Inputs[0].Shape, bytes, $"its largest tensor, {node.Op.Name} {node.Shape} (%{node.Id})");
    }

    /// <summary>Refuses to build a table of <paramref name="bytes"/> for <paramref name="op"/> on inputs of dimension <paramref name="dimension"/>.</summary>
    public static void CheckTable(string op, int dimension, double bytes, string what)
    {
        if (bytes > Available) throw Refusal(op, null, bytes, what, dimension);
    }

    /// <summary>
    /// Runs <paramref name="build"/>, turning the failure of a shape too large for any tensor (more than
    /// 2^31 elements: <see cref="Shape.Size"/> throws while the graph is built or simplified) into the same
    /// refusal as a run that cannot fit, naming operator <paramref name="op"/> and the inputs <paramref name="x"/>.
    /// </summary>
    public static T WhileBuilding<T>(string op, Shape x, DType dtype, Func<T> build)
    {
        try { return build(); }
        catch (InvalidOperationException e) when (e.TargetSite?.DeclaringType == typeof(Shape))
        {
            throw Refusal(op, x, (double)int.MaxValue * dtype.SizeInBytes(), $"a tensor beyond 2^31 elements ({e.Message.TrimEnd('.')})", inner: e);
        }
    }

    /// <summary>A tensor fits when the process may hold its bytes and an array can index its elements.</summary>
    private static bool Fits(double bytes, Shape s) => bytes <= Available && Elements(s) <= Array.MaxLength;

    private static InsufficientMemoryException Refusal(string op, Shape? x, double bytes, string what, int? dimension = null, Exception? inner = null)
    {
        int d = dimension ?? x!.Value[1];
        string points = x is { } shape ? $"inputs {shape} (D = {d})" : $"D = {d}";
        string limit = bytes > Available
            ? $"more than the {Format(Available)} this process may use"
            : $"more elements than one array can hold ({Array.MaxLength})";
        return new InsufficientMemoryException(
            $"{op}: for {points} the exact evaluation needs at least {Format(bytes)} for {what}, {limit}. Nothing was allocated. " +
            $"Use a stochastic estimate instead (e.g. Estimate.Stochastic(S) for the Laplacian, the weighted Laplacian or the " +
            $"biharmonic), whose memory grows with the number of samples S rather than with D.", inner);
    }

    private static string Format(double bytes) =>
        bytes >= 1e9 ? (bytes / 1e9).ToString("0.0", CultureInfo.InvariantCulture) + $" GB ({bytes:0} bytes)"
        : bytes >= 1e6 ? (bytes / 1e6).ToString("0.0", CultureInfo.InvariantCulture) + $" MB ({bytes:0} bytes)"
        : $"{bytes:0} bytes";
}
