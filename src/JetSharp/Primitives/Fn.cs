using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>
/// The functions users (and rules) write graphs with. Each appends one primitive, or a short
/// composition of primitives, to the graph of its inputs. Shapes are checked immediately.
/// </summary>
public static class Fn
{
    /// <summary>a + b elementwise, NumPy broadcasting.</summary>
    public static Node Add(Node a, Node b) => GraphOf(a, b).Apply(AddOp.Instance, a, b);
    /// <summary>a − b elementwise, NumPy broadcasting.</summary>
    public static Node Sub(Node a, Node b) => GraphOf(a, b).Apply(SubOp.Instance, a, b);
    /// <summary>a · b elementwise, NumPy broadcasting.</summary>
    public static Node Mul(Node a, Node b) => GraphOf(a, b).Apply(MulOp.Instance, a, b);
    /// <summary>a / b elementwise, NumPy broadcasting (IEEE: division by zero gives ±inf or NaN).</summary>
    public static Node Div(Node a, Node b) => GraphOf(a, b).Apply(DivOp.Instance, a, b);
    /// <summary>−x elementwise.</summary>
    public static Node Neg(Node x) => x.Graph.Apply(NegOp.Instance, x);

    /// <summary>eˣ elementwise.</summary>
    public static Node Exp(Node x) => x.Graph.Apply(ExpOp.Instance, x);
    /// <summary>Natural logarithm elementwise (NaN for x &lt; 0, −inf at 0).</summary>
    public static Node Log(Node x) => x.Graph.Apply(LogOp.Instance, x);
    /// <summary>sin x elementwise.</summary>
    public static Node Sin(Node x) => x.Graph.Apply(SinOp.Instance, x);
    /// <summary>cos x elementwise.</summary>
    public static Node Cos(Node x) => x.Graph.Apply(CosOp.Instance, x);
    /// <summary>tanh x elementwise.</summary>
    public static Node Tanh(Node x) => x.Graph.Apply(TanhOp.Instance, x);
    /// <summary>Logistic function 1 / (1 + e⁻ˣ) elementwise.</summary>
    public static Node Sigmoid(Node x) => x.Graph.Apply(SigmoidOp.Instance, x);
    /// <summary>log(1 + eˣ) elementwise, computed without overflow.</summary>
    public static Node Softplus(Node x) => x.Graph.Apply(SoftplusOp.Instance, x);
    /// <summary>√x elementwise (NaN for x &lt; 0).</summary>
    public static Node Sqrt(Node x) => x.Graph.Apply(SqrtOp.Instance, x);
    /// <summary>max(x, 0) elementwise.</summary>
    public static Node Relu(Node x) => x.Graph.Apply(ReluOp.Instance, x);

    /// <summary>Heaviside step 1[x &gt; 0] (the derivative of relu; its own derivative is zero).</summary>
    public static Node Step(Node x) => x.Graph.Apply(StepOp.Instance, x);

    /// <summary>xᵖ for a real exponent (any sign; 0 gives ones).</summary>
    public static Node Pow(Node x, double exponent) => x.Graph.Apply(new PowOp(exponent), x);

    /// <summary>x² elementwise (a <see cref="PowOp"/> with exponent 2).</summary>
    public static Node Square(Node x) => Pow(x, 2);

    /// <summary>
    /// Matrix product with NumPy batching: [..., m, k] · [..., k, n] → [..., m, n], batch axes broadcast.
    /// Both operands need rank ≥ 2. The flags multiply by the transpose of the last two axes instead.
    /// </summary>
    public static Node MatMul(Node a, Node b, bool transposeA = false, bool transposeB = false) =>
        GraphOf(a, b).Apply(new MatMulOp(transposeA, transposeB), a, b);

    /// <summary>Sum over <paramref name="axes"/> (all axes when null); negative axes count from the end.</summary>
    public static Node Sum(Node x, int[]? axes = null, bool keepDims = false)
    {
        axes ??= [.. Enumerable.Range(0, x.Rank)];
        return x.Graph.Apply(new SumOp(SumOp.Normalize(axes, x.Shape), keepDims), x);
    }

    /// <summary>Sum over one axis (negative counts from the end).</summary>
    public static Node Sum(Node x, int axis, bool keepDims = false) => Sum(x, [axis], keepDims);

    /// <summary>Mean over axes: a sum scaled by 1/count (a composition, not a primitive of its own).</summary>
    public static Node Mean(Node x, int[]? axes = null, bool keepDims = false)
    {
        axes ??= [.. Enumerable.Range(0, x.Rank)];
        var norm = SumOp.Normalize(axes, x.Shape);
        long count = 1;
        foreach (var a in norm) count *= x.Shape[a];
        return Sum(x, norm, keepDims) * (1.0 / count);
    }

    /// <summary>Mean over one axis (negative counts from the end).</summary>
    public static Node Mean(Node x, int axis, bool keepDims = false) => Mean(x, [axis], keepDims);

    /// <summary>Same elements, new shape; one extent may be −1 (inferred).</summary>
    public static Node Reshape(Node x, params int[] shape) =>
        x.Graph.Apply(new ReshapeOp(ReshapeOp.Resolve(shape, x.Shape)), x);

    /// <summary>Permutes axes: result axis i is input axis perm[i]. Without perm, reverses the axes.</summary>
    public static Node Transpose(Node x, params int[] perm)
    {
        if (perm.Length == 0) perm = [.. Enumerable.Range(0, x.Rank).Reverse()];
        return x.Graph.Apply(new TransposeOp(perm), x);
    }

    /// <summary>NumPy broadcast of x to <paramref name="shape"/>.</summary>
    public static Node BroadcastTo(Node x, Shape shape) =>
        x.Shape == shape ? x : x.Graph.Apply(new BroadcastToOp(shape), x);

    /// <summary>The block x[starts[i] : starts[i] + sizes[i]] along every axis.</summary>
    public static Node Slice(Node x, int[] starts, int[] sizes) => x.Graph.Apply(new SliceOp(starts, sizes), x);

    /// <summary>The range [start, start + length) along one axis.</summary>
    public static Node Slice(Node x, int axis, int start, int length)
    {
        int a = x.Shape.Axis(axis, "slice");
        var starts = new int[x.Rank];
        var sizes = x.Shape.ToArray();
        starts[a] = start;
        sizes[a] = length;
        return Slice(x, starts, sizes);
    }

    /// <summary>Gather along <paramref name="axis"/> (negative counts from the end): result slice s is x's slice indices[s].</summary>
    public static Node Take(Node x, int axis, int[] indices) => x.Graph.Apply(new TakeOp(x.Shape.Axis(axis, "take"), indices), x);

    /// <summary>Zero padding: <paramref name="before"/>[i] zeros before and <paramref name="after"/>[i] after, per axis.</summary>
    public static Node Pad(Node x, int[] before, int[] after) => x.Graph.Apply(new PadOp(before, after), x);

    /// <summary>Concatenation of <paramref name="xs"/> along <paramref name="axis"/> (negative counts from the end); the other extents must agree.</summary>
    /// <exception cref="ShapeException">No inputs, or mismatched shapes.</exception>
    public static Node Concat(int axis, params Node[] xs)
    {
        if (xs.Length == 0) throw new ShapeException("concat: no inputs.");
        return GraphOf(xs).Apply(new ConcatOp(xs[0].Shape.Axis(axis, "concat")), xs);
    }

    /// <summary>A tensor of zeros (a broadcast scalar: costs no memory until something reads it).</summary>
    public static Node Zeros(Graph g, Shape shape) => BroadcastTo(g.Scalar(0), shape);

    /// <summary>Seeded samples of the given shape, drawn afresh by every run from the same seed (see <see cref="SeededRandom"/>).</summary>
    public static Node Random(Graph g, Shape shape, Distribution distribution, long seed) =>
        g.Apply(new RandomOp(shape, distribution, seed));

    /// <summary>
    /// Sums <paramref name="x"/> down to <paramref name="shape"/>, undoing NumPy broadcasting
    /// (leading axes are summed away, stretched size-1 axes are summed with keepDims).
    /// </summary>
    public static Node SumToShape(Node x, Shape shape)
    {
        if (x.Shape == shape) return x;
        if (!shape.BroadcastsTo(x.Shape))
            throw new ShapeException($"sum_to_shape: {shape} does not broadcast to {x.Shape}.");
        int lead = x.Rank - shape.Rank;
        var axes = new List<int>();
        for (int i = 0; i < x.Rank; i++)
            if (i < lead || (shape[i - lead] == 1 && x.Shape[i] != 1)) axes.Add(i);
        var s = axes.Count == 0 ? x : Sum(x, [.. axes], keepDims: true);
        return s.Shape == shape ? s : Reshape(s, shape.ToArray());
    }

    /// <summary>Inserts size-1 axes at the given positions of the result.</summary>
    public static Node ExpandDims(Node x, params int[] axes)
    {
        int rank = x.Rank + axes.Length;
        var norm = axes.Select(a => a < 0 ? a + rank : a).ToHashSet();
        var dims = new int[rank];
        int src = 0;
        for (int i = 0; i < rank; i++) dims[i] = norm.Contains(i) ? 1 : x.Shape[src++];
        return Reshape(x, dims);
    }

    /// <summary>The graph an operation on these nodes belongs to: that of the first non-constant one (constants travel between graphs).</summary>
    private static Graph GraphOf(params Node[] xs) => (xs.FirstOrDefault(x => x.Op is not ConstantOp) ?? xs[0]).Graph;

    /// <summary>
    /// Applies any primitive to <paramref name="inputs"/> in the graph of the first non-constant input, as
    /// the named functions here do (for rules that rebuild a node with the primitive they matched).
    /// </summary>
    public static Node Apply(Primitive op, params Node[] inputs)
    {
        ArgumentNullException.ThrowIfNull(op);
        if (inputs.Length == 0) throw new ArgumentException($"{op.Name}: Fn.Apply needs at least one input; use Graph.Apply for a primitive without inputs.", nameof(inputs));
        return GraphOf(inputs).Apply(op, inputs);
    }

    /// <summary>Dot product of the last axes: Σ_j a[..., j]·b[..., j].</summary>
    public static Node Dot(Node a, Node b) => Sum(a * b, -1);
}
