using JetSharp.Backend;

namespace JetSharp.CodeGen;

/// <summary>How a node is classified for a per-point region (its role, its layout when per point, the multiply-adds of a product).</summary>
internal readonly record struct PointClass(PointRole Role, PointLayout Layout, double Flops = 0);

/// <summary>
/// What a primitive family does inside a per-point region: from its inputs' roles, whether the node runs per
/// point (and with which layout), is a sum over the points, or cannot run in the region (null); and the code
/// for one block of points. One small class per family, found by <see cref="PointRules.For"/>.
/// </summary>
internal abstract class PointRule
{
    /// <summary>Whether the node may produce a merged layout (the points folded into the leading rows).</summary>
    public virtual bool AcceptsMerged => false;

    /// <summary>Whether the node can read <paramref name="input"/> in a merged layout.</summary>
    public virtual bool ReadsMerged(Node node, Node input) => false;

    public abstract PointClass? Classify(Node node, Func<Node, (PointRole Role, PointLayout Layout)> input, int points);

    public abstract void Emit(PointContext c);

    /// <summary>The layout of a tensor of <paramref name="shape"/> whose points lie along <paramref name="axis"/>.</summary>
    protected static PointLayout At(Shape shape, int axis) =>
        new(axis, shape.Take(axis).Aggregate(1, (p, e) => p * e), shape.Skip(axis + 1).Aggregate(1, (p, e) => p * e));
}

/// <summary>The per-point rule of each primitive family: elementwise ones from their arithmetic trait, the rest by type.</summary>
internal static class PointRules
{
    private static readonly Dictionary<Type, PointRule> ByType = new()
    {
        [typeof(PowOp)] = new PointElementwise(),
        [typeof(MatMulOp)] = new PointMatMul(),
        [typeof(SumOp)] = new PointSum(),
        [typeof(BroadcastToOp)] = new PointBroadcast(),
        [typeof(SliceOp)] = new PointSlice(),
        [typeof(ReshapeOp)] = new PointView(),
        [typeof(StopGradientOp)] = new PointView(),
    };

    private static readonly PointElementwise Elementwise = new();

    /// <summary>The rule for <paramref name="node"/>, or null when its primitive cannot run per point.</summary>
    public static PointRule? For(Node node) =>
        ByType.TryGetValue(node.Op.GetType(), out var r) ? r
        : node.Op.Arithmetic is { } a && ElementwiseEmitter.Supports(a) ? Elementwise : null;
}

/// <summary>
/// Elementwise arithmetic and pow: per point when some operand is, all per-point operands agreeing on the points'
/// axis (NumPy broadcasting, right-aligned) and every point-free operand broadcast along it.
/// </summary>
internal sealed class PointElementwise : PointRule
{
    public override PointClass? Classify(Node node, Func<Node, (PointRole Role, PointLayout Layout)> input, int points)
    {
        var s = node.Shape;
        int axis = -1;
        foreach (var x in node.Inputs)
        {
            var (role, layout) = input(x);
            if (role != PointRole.PerPoint) continue;
            if (layout.Merged) return null;
            int k = layout.Axis + (s.Rank - x.Shape.Rank);
            if (axis >= 0 && axis != k) return null;
            axis = k;
        }
        if (axis < 0 || s[axis] != points) return null;
        foreach (var x in node.Inputs)
        {
            int j = axis - (s.Rank - x.Shape.Rank);
            if (input(x).Role == PointRole.Free && j >= 0 && x.Shape[j] != 1) return null;   // a whole-batch operand computed elsewhere
        }
        return new PointClass(PointRole.PerPoint, At(s, axis));
    }

    public override void Emit(PointContext c)
    {
        var node = c.Node;
        var x = node.Inputs[0];
        var unary = node.Op.Arithmetic?.Unary;
        // Transcendental functions of a whole block: the backend's vectorised kernel (the interpreter's function).
        if (unary is { } u && !Vectorisable(node, PointContext.Wide) && c.IsLocal(x) && !c.Inlined.Contains(x) && c.LocalSize(x) == c.LocalSize(node))
        {
            c.Line($"EmittedKernels.Unary<{c.T}>(JetSharp.Backend.UnaryOp.{u}, {c.Name(x)}, {c.Result});");
            return;
        }
        var leaves = Leaves(c, node);
        bool vector = Vectorisable(node, PointContext.Wide) && Tree(c, node).All(n => Vectorisable(n, PointContext.Wide));
        c.ElementLoop(c.Result, false, leaves, leaf => Expression(c, node, leaf, false),
            vector ? leaf => Expression(c, node, leaf, true) : null);
    }

    /// <summary>The operands, with inlined elementwise operands replaced by their own operands (recursively).</summary>
    public static List<Node> Leaves(PointContext c, Node node)
    {
        var leaves = new List<Node>();
        void Collect(Node n)
        {
            foreach (var i in n.Inputs)
                if (c.Inlined.Contains(i)) Collect(i);
                else if (!leaves.Contains(i)) leaves.Add(i);
        }
        Collect(node);
        return leaves;
    }

    /// <summary>The inlined nodes computed inside <paramref name="n"/>'s expression.</summary>
    public static IEnumerable<Node> Tree(PointContext c, Node n) => n.Inputs.Where(c.Inlined.Contains).SelectMany(i => Tree(c, i).Prepend(i));

    /// <summary>The vector formula of <paramref name="n"/> (with its inlined operands) given each leaf's vector expression.</summary>
    public static string VectorExpression(PointContext c, Node n, Func<Node, string> leaf) => Expression(c, n, leaf, true);

    /// <summary>
    /// Whether the node can be computed inside another elementwise node's loop: arithmetic with a vector formula, and
    /// with 512-bit vectors (<paramref name="wide"/>) tanh (<see cref="PointKernels.Tanh{T}"/>), so that a layer's bias,
    /// tanh and the derivative polynomials in tanh run in one loop.
    /// </summary>
    public static bool Vectorisable(Node n, bool wide) =>
        n.Op is PowOp pow ? pow.Exponent is 1 or 2 or 3 or -1 or -2
        : n.Op.Arithmetic is { } a && (a.Binary is BinaryOp.Add or BinaryOp.Sub or BinaryOp.Mul or BinaryOp.Div || a.Unary == UnaryOp.Neg
            || wide && a.Unary == UnaryOp.Tanh);

    private static string Expression(PointContext c, Node n, Func<Node, string> leaf, bool vector)
    {
        var a = n.Inputs.Select(i => c.Inlined.Contains(i) ? $"({Expression(c, i, leaf, vector)})" : leaf(i)).ToArray();
        string one = vector ? c.Splat(c.Sub.Literal(1)) : c.Sub.Literal(1);
        if (n.Op is PowOp pow) return PowFormula(c, pow.Exponent, a[0], one);
        var op = n.Op.Arithmetic!.Value;
        if (!vector) return ElementwiseEmitter.Formula(c.Sub, op, a);
        return op.Binary switch
        {
            BinaryOp.Add => $"{a[0]} + {a[1]}",
            BinaryOp.Sub => $"{a[0]} - {a[1]}",
            BinaryOp.Mul => $"{a[0]} * {a[1]}",
            BinaryOp.Div => $"{a[0]} / {a[1]}",
            _ when op.Unary == UnaryOp.Tanh => $"PointKernels.Tanh({a[0]})",
            _ => $"-{a[0]}",
        };
    }

    private static string PowFormula(PointContext c, double p, string a, string one) => p switch
    {
        0 => one,
        1 => a,
        2 => $"{a} * {a}",
        3 => $"{a} * {a} * {a}",
        -1 => $"{one} / {a}",
        -2 => $"{one} / ({a} * {a})",
        0.5 => $"{c.Sub.MathClass}.Sqrt({a})",
        _ => $"{c.Sub.MathClass}.Pow({a}, {c.Sub.Literal(p)})",
    };
}

/// <summary>
/// matmul. Per point: a per-point left operand (points on a row or batch axis, not the contracted one) times a
/// small point-free matrix — the block's rows stacked into one product. A reduction: op(A) = Aᵀ with A and B
/// per point and the points (with any leading axes) as the contracted rows — a weight gradient, accumulated
/// block by block.
/// </summary>
internal sealed class PointMatMul : PointRule
{
    public override bool ReadsMerged(Node node, Node input) => ((MatMulOp)node.Op).TransposeA;

    public override PointClass? Classify(Node node, Func<Node, (PointRole Role, PointLayout Layout)> input, int points)
    {
        var op = (MatMulOp)node.Op;
        Node a = node.Inputs[0], b = node.Inputs[1];
        var (ra, la) = input(a);
        var (rb, lb) = input(b);
        if (!op.TransposeA && ra == PointRole.PerPoint && rb == PointRole.Free)
        {
            if (la.Merged || la.Axis == a.Shape.Rank - 1 || b.Shape.Size > PerPointPlanner.MaxWeight || b.Shape.Rank > a.Shape.Rank) return null;
            if (b.Shape.Take(b.Shape.Rank - 2).Any(e => e != 1)) return null;
            int axis = la.Axis + (node.Shape.Rank - a.Shape.Rank);
            if (node.Shape[axis] != points) return null;
            int k = a.Shape[^1], n = node.Shape[^1];
            return new PointClass(PointRole.PerPoint, At(node.Shape, axis), (double)a.Shape.Size / k * n * k);
        }
        if (op.TransposeA && !op.TransposeB && ra == PointRole.PerPoint && rb == PointRole.PerPoint)
        {
            // Rows (o, b) of both operands contracted: A [O·N, m], B [O·N, n] (leading unit axes allowed).
            int m = a.Shape[^1], n = b.Shape[^1];
            if (la.Inner != m || lb.Inner != n || la.Outer != lb.Outer || node.Shape.Size != m * n) return null;
            if (node.Shape[^2] != m || node.Shape[^1] != n) return null;
            return new PointClass(PointRole.Reduction, default, (double)la.Outer * points * m * n);
        }
        return null;
    }

    public override void Emit(PointContext c)
    {
        var op = (MatMulOp)c.Node.Op;
        Node a = c.Node.Inputs[0], b = c.Node.Inputs[1];
        if (c.IsReduction(c.Node))
        {
            int m = a.Shape[^1], n = b.Shape[^1];
            int rows = c.LocalSize(a) / m;
            c.Line($"PointKernels.AddTransposedProduct({c.Name(a)}, {rows}, {m}, {c.Name(b)}, {n}, {c.Result});");
            return;
        }
        int k = a.Shape[^1], cols = c.Node.Shape[^1];
        string w = c.Name(b);
        if (op.TransposeB) w = c.TransposedWeight(b);
        c.Line($"PointKernels.MatMulRows({c.Name(a)}, {c.LocalSize(a) / k}, {k}, {w}, {cols}, {c.Result});");
    }
}

/// <summary>sum: per point when the points' axis is kept (a sum within each point), a reduction when it is summed.</summary>
internal sealed class PointSum : PointRule
{
    public override PointClass? Classify(Node node, Func<Node, (PointRole Role, PointLayout Layout)> input, int points)
    {
        var op = (SumOp)node.Op;
        var (role, layout) = input(node.Inputs[0]);
        if (role != PointRole.PerPoint || layout.Merged) return null;
        if (op.Axes.Contains(layout.Axis)) return new PointClass(PointRole.Reduction, default);
        int axis = op.KeepDims ? layout.Axis : layout.Axis - op.Axes.Count(x => x < layout.Axis);
        return new PointClass(PointRole.PerPoint, At(node.Shape, axis));
    }

    public override void Emit(PointContext c)
    {
        var op = (SumOp)c.Node.Op;
        var x = c.Node.Inputs[0];
        var kept = EmitContext.Strides(SumOp.ReducedShape(c.LocalShape(x), op.Axes, true));
        var target = new int[x.Shape.Rank];
        for (int k = 0; k < target.Length; k++) target[k] = op.Axes.Contains(k) ? 0 : kept[k];
        if (Accumulated(c, c.Node) is { } runs)
        {
            // A sum over consecutive axes into whole vectors of kept elements: each vector of the result summed in a register
            // over the reduced rows and stored once — the same additions in the same order as the element loop below
            // (a reduction continues from its running total, a per-point sum starts from zero), without a load and a store of
            // the result per row. An operand computed inline (elementwise arithmetic read only here) is never stored.
            int inner = runs.Inner;
            var dims = c.LocalShape(x);
            int first = op.Axes.Min(), last = op.Axes.Max();
            bool inlined = c.Inlined.Contains(x);
            var leaves = inlined ? PointElementwise.Leaves(c, x) : [x];
            var keptStrides = EmitContext.Strides(new Shape([.. dims.Take(first), .. dims.Skip(last + 1)]));
            string Index(int[] strides, bool summed)
            {
                // The element at (outer axes q…, summed axes r…, inner offset v) under the strides.
                var terms = new List<string>();
                for (int k = 0; k < dims.Rank; k++)
                {
                    int stride = k < first ? strides[k] : k <= last ? (summed ? strides[k] : 0) : 0;
                    if (stride != 0) terms.Add(k < first ? $"q{k} * {stride}" : $"r{k} * {stride}");
                }
                return terms.Count == 0 ? "0" : string.Join(" + ", terms);
            }
            string At(string index, string v) => index == "0" ? v : $"{index} + {v}";
            string accIndex = Index([.. keptStrides.Take(first), .. Enumerable.Repeat(0, last - first + 1)], false);
            string Leaf(Node leaf)
            {
                if (c.IsLiteral(leaf)) return c.Splat(c.Name(leaf));
                var strides = EmitContext.BroadcastStrides(c.LocalShape(leaf), dims);
                string at = Index(strides, true);
                return strides.Skip(last + 1).All(t => t == 0) ? c.Splat($"{c.Name(leaf)}[{at}]") : c.Load(c.Name(leaf), At(at, "v"));
            }
            string vector = c.VectorType, acc = c.Result;
            for (int k = 0; k < first; k++) c.Line($"for (int q{k} = 0; q{k} < {dims[k]}; q{k}++)");
            c.Line($"for (int v = 0; v < {inner}; v += {c.Lanes})");
            c.Line("{");
            c.Line($"    {vector} s = {(c.IsReduction(c.Node) ? c.Load(acc, At(accIndex, "v")) : $"{vector}.Zero")};");
            for (int k = first; k <= last; k++) c.Line($"    {new string(' ', 4 * (k - first))}for (int r{k} = 0; r{k} < {dims[k]}; r{k}++)");
            c.Line($"    {new string(' ', 4 * (last - first + 1))}s += {(inlined ? PointElementwise.VectorExpression(c, x, Leaf) : Leaf(x))};");
            c.Line($"    {c.Store("s", acc, At(accIndex, "v"))};");
            c.Line("}");
            return;
        }
        // A per-point sum starts from zero in every block; a reduction accumulates over the blocks (cleared once).
        if (!c.IsReduction(c.Node)) c.Line($"System.Array.Clear({c.Result});");
        c.ElementLoop(c.Result, true, [x], leaf => leaf(x), leaf => leaf(x), dims: c.LocalShape(x), targetStrides: target);
    }

    /// <summary>
    /// For a sum over consecutive axes of its operand's block whose trailing kept elements are whole 512-bit vectors: the
    /// operand as [outer, rows, inner] (the kept leading elements, the summed ones, the kept trailing ones); else null
    /// (then the sum is an element loop).
    /// </summary>
    public static (int Outer, int Rows, int Inner)? Accumulated(PointContext c, Node sum)
    {
        var x = sum.Inputs[0];
        var axes = ((SumOp)sum.Op).Axes.Order().ToArray();
        if (c.Lanes == 0 || !c.IsLocal(x) || axes.Length == 0) return null;
        var dims = c.LocalShape(x);
        if (axes.Where((a, k) => a != axes[0] + k).Any()) return null;
        int outer = dims.Take(axes[0]).Aggregate(1, (p, e) => p * e);
        int rows = axes.Aggregate(1, (p, a) => p * dims[a]);
        int inner = dims.Skip(axes[^1] + 1).Aggregate(1, (p, e) => p * e);
        if (inner % c.Lanes != 0 || rows < 2) return null;
        // An operand computed inline: every leaf read along the kept trailing elements contiguously, or one element of it throughout.
        if (c.Inlined.Contains(x))
            foreach (var leaf in PointElementwise.Leaves(c, x).Where(l => !c.IsLiteral(l)))
            {
                var inside = EmitContext.BroadcastStrides(c.LocalShape(leaf), dims).Skip(axes[^1] + 1).ToArray();
                var dense = EmitContext.Strides(new Shape([.. dims.Skip(axes[^1] + 1)]));
                if (!inside.All(t => t == 0) && !inside.SequenceEqual(dense)) return null;
            }
        return (outer, rows, inner);
    }

    /// <summary>
    /// For a sum within each point over the leading axes of its operand's block (the directions of a jet, say), whose
    /// result is a whole number of vectors: the number of terms (the result is the sum of that many consecutive
    /// slices of the operand); else 0.
    /// </summary>
    public static int LeadingTerms(PointContext c, Node x)
    {
        var op = (SumOp)x.Op;
        var input = c.LocalShape(x.Inputs[0]);
        var axes = op.Axes.Order().ToArray();
        if (!c.IsLocal(x.Inputs[0]) || axes.Length == 0 || axes.Where((a, k) => a != k).Any() || axes[^1] >= input.Rank) return 0;
        int terms = input.Take(axes.Length).Aggregate(1, (p, e) => p * e), size = c.LocalSize(x);
        return terms * size == input.Size && size % c.Lanes == 0 ? terms : 0;
    }
}

/// <summary>broadcast: per point when its operand is, or when it spreads a point-free value along exactly one axis of N elements.</summary>
internal sealed class PointBroadcast : PointRule
{
    public override PointClass? Classify(Node node, Func<Node, (PointRole Role, PointLayout Layout)> input, int points)
    {
        var x = node.Inputs[0];
        var (role, layout) = input(x);
        int offset = node.Shape.Rank - x.Shape.Rank;
        if (role == PointRole.PerPoint) return layout.Merged ? null : new PointClass(PointRole.PerPoint, At(node.Shape, layout.Axis + offset));
        if (role != PointRole.Free) return null;
        var axes = Enumerable.Range(0, node.Shape.Rank).Where(k => node.Shape[k] == points && (k < offset || x.Shape[k - offset] == 1)).ToList();
        return axes.Count == 1 ? new PointClass(PointRole.PerPoint, At(node.Shape, axes[0])) : null;
    }

    public override void Emit(PointContext c) => c.ElementLoop(c.Result, false, [c.Node.Inputs[0]], leaf => leaf(c.Node.Inputs[0]), leaf => leaf(c.Node.Inputs[0]));
}

/// <summary>slice: per point when the points' axis is taken whole.</summary>
internal sealed class PointSlice : PointRule
{
    public override PointClass? Classify(Node node, Func<Node, (PointRole Role, PointLayout Layout)> input, int points)
    {
        var op = (SliceOp)node.Op;
        var (role, layout) = input(node.Inputs[0]);
        if (role != PointRole.PerPoint || layout.Merged || op.Starts[layout.Axis] != 0 || op.Sizes[layout.Axis] != points) return null;
        return new PointClass(PointRole.PerPoint, At(node.Shape, layout.Axis));
    }

    public override void Emit(PointContext c)
    {
        var op = (SliceOp)c.Node.Op;
        var x = c.Node.Inputs[0];
        var strides = EmitContext.Strides(c.LocalShape(x));
        int start = op.Starts.Select((s, k) => s * strides[k]).Sum();
        c.Sub.Loops([.. c.LocalShape(c.Node)], [EmitContext.Strides(c.LocalShape(c.Node)), strides], [0, start],
            o => c.Line($"{c.Result}[{o[0]}] = {c.Name(x)}[{o[1]}];"), prefix: "q");
    }
}

/// <summary>reshape and stop-gradient: the same block under another shape (no code), the points found again in the new shape or merged into its rows.</summary>
internal sealed class PointView : PointRule
{
    public override bool AcceptsMerged => true;

    public override bool ReadsMerged(Node node, Node input) => true;

    public override PointClass? Classify(Node node, Func<Node, (PointRole Role, PointLayout Layout)> input, int points)
    {
        var (role, layout) = input(node.Inputs[0]);
        if (role != PointRole.PerPoint) return null;
        var s = node.Shape;
        int before = 1;
        for (int k = 0; k < s.Rank; k++)
        {
            if (before == layout.Outer && s[k] == points && s.Size / (before * points) == layout.Inner) return new PointClass(PointRole.PerPoint, new PointLayout(k, layout.Outer, layout.Inner));
            before *= s[k];
        }
        before = 1;
        for (int k = 0; k <= s.Rank; k++)
        {
            if (before == layout.Outer * points) return new PointClass(PointRole.PerPoint, new PointLayout(-1, layout.Outer, layout.Inner));
            if (k < s.Rank) before *= s[k];
        }
        return null;
    }

    public override void Emit(PointContext c) => throw new InvalidOperationException("CodeGen: a per-point view has no code (the region aliases it).");
}
