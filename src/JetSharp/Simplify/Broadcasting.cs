using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Simplify;

/// <summary>
/// Axis bookkeeping for rules that move a sum across NumPy broadcasting. An operand is aligned to
/// an output shape from the right; it "carries" output axis a when it has that axis with the
/// output's extent. A size-1 axis facing a larger output axis is a broadcast axis (not carried);
/// a size-1 axis facing a size-1 output axis counts as carried, so guards stay conservative.
/// </summary>
internal static class Broadcasting
{
    /// <summary>Position in <paramref name="x"/> of output axis <paramref name="a"/>, or −1 when x lacks it.</summary>
    public static int Align(Shape x, Shape output, int a) => a - (output.Rank - x.Rank) is var p && p >= 0 ? p : -1;

    public static bool Carries(Shape x, Shape output, int a)
    {
        int p = Align(x, output, a);
        return p >= 0 && x[p] == output[a];
    }

    public static bool CarriesAny(Shape x, Shape output, IEnumerable<int> axes) => axes.Any(a => Carries(x, output, a));

    /// <summary>
    /// Σ over output axes <paramref name="axes"/> of x broadcast to <paramref name="output"/>, without
    /// materialising the broadcast: carried axes are summed in x, the others multiply by their extent.
    /// The result has x's rank minus the positions of the summed axes (or keeps them as 1 with
    /// <paramref name="keepDims"/>), so it broadcasts against the reduced output.
    /// </summary>
    public static Node SumOfBroadcast(Node x, Shape output, int[] axes, bool keepDims)
    {
        double factor = 1;
        var own = new List<int>();
        foreach (var a in axes)
        {
            if (Carries(x.Shape, output, a)) own.Add(Align(x.Shape, output, a));
            else factor *= output[a];
        }
        var s = own.Count > 0 ? Fn.Sum(x, [.. own], keepDims: true) : x;
        if (!keepDims) s = DropAxes(s, output, axes);
        return factor == 1 ? s : s * factor;
    }

    /// <summary>Removes from x the (size-1) positions of the given output axes.</summary>
    public static Node DropAxes(Node x, Shape output, int[] axes)
    {
        var drop = axes.Select(a => Align(x.Shape, output, a)).Where(p => p >= 0).ToHashSet();
        if (drop.Count == 0) return x;
        return Fn.Reshape(x, [.. x.Shape.Where((_, i) => !drop.Contains(i))]);
    }

    /// <summary>x broadcast (or reshaped, when only size-1 axes differ) to exactly <paramref name="shape"/>.</summary>
    public static Node Conform(Node x, Shape shape)
    {
        if (x.Shape == shape) return x;
        if (x.Shape.Size == shape.Size && x.Shape.Where(d => d != 1).SequenceEqual(shape.Where(d => d != 1)))
            return Fn.Reshape(x, shape.ToArray());
        return Fn.BroadcastTo(x, shape);
    }
}
