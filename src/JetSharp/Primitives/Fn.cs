using System.Runtime.CompilerServices;
using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>
/// The functions users (and rules) write graphs with. Each appends one primitive, or a short
/// composition of primitives, to the graph of its inputs. Arguments are checked immediately, before
/// anything is appended: a null node or array gives <see cref="ArgumentNullException"/> naming the
/// parameter, a bad axis, extent or shape a <see cref="ShapeException"/> naming the operation and the shapes.
/// Negative axes count from the end (−1 is the last axis) wherever an axis is taken.
/// </summary>
public static partial class Fn
{
    /// <summary>a + b elementwise, NumPy broadcasting.</summary>
    public static Node Add(Node a, Node b) => In(a, b).Apply(AddOp.Instance, a, b);
    /// <summary>a − b elementwise, NumPy broadcasting.</summary>
    public static Node Sub(Node a, Node b) => In(a, b).Apply(SubOp.Instance, a, b);
    /// <summary>a · b elementwise, NumPy broadcasting.</summary>
    public static Node Mul(Node a, Node b) => In(a, b).Apply(MulOp.Instance, a, b);
    /// <summary>a / b elementwise, NumPy broadcasting (IEEE: division by zero gives ±inf or NaN).</summary>
    public static Node Div(Node a, Node b) => In(a, b).Apply(DivOp.Instance, a, b);
    /// <summary>−x elementwise.</summary>
    public static Node Neg(Node x) => In(x).Apply(NegOp.Instance, x);

    /// <summary>eˣ elementwise.</summary>
    public static Node Exp(Node x) => In(x).Apply(ExpOp.Instance, x);
    /// <summary>Natural logarithm elementwise (NaN for x &lt; 0, −inf at 0).</summary>
    public static Node Log(Node x) => In(x).Apply(LogOp.Instance, x);
    /// <summary>sin x elementwise.</summary>
    public static Node Sin(Node x) => In(x).Apply(SinOp.Instance, x);
    /// <summary>cos x elementwise.</summary>
    public static Node Cos(Node x) => In(x).Apply(CosOp.Instance, x);
    /// <summary>tanh x elementwise.</summary>
    public static Node Tanh(Node x) => In(x).Apply(TanhOp.Instance, x);
    /// <summary>Logistic function 1 / (1 + e⁻ˣ) elementwise.</summary>
    public static Node Sigmoid(Node x) => In(x).Apply(SigmoidOp.Instance, x);
    /// <summary>log(1 + eˣ) elementwise, computed without overflow.</summary>
    public static Node Softplus(Node x) => In(x).Apply(SoftplusOp.Instance, x);
    /// <summary>√x elementwise (NaN for x &lt; 0).</summary>
    public static Node Sqrt(Node x) => In(x).Apply(SqrtOp.Instance, x);
    /// <summary>max(x, 0) elementwise.</summary>
    public static Node Relu(Node x) => In(x).Apply(ReluOp.Instance, x);

    /// <summary>Heaviside step 1[x &gt; 0] (the derivative of relu; its own derivative is zero).</summary>
    public static Node Step(Node x) => In(x).Apply(StepOp.Instance, x);

    /// <summary>xᵖ for a finite real exponent (any sign; 0 gives ones).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="exponent"/> is NaN or infinite.</exception>
    public static Node Pow(Node x, double exponent) => In(x).Apply(new PowOp(exponent), x);

    /// <summary>x² elementwise (a <see cref="PowOp"/> with exponent 2).</summary>
    public static Node Square(Node x) => Pow(x, 2);

    /// <summary>
    /// Matrix product with NumPy batching: [..., m, k] · [..., k, n] → [..., m, n], batch axes broadcast.
    /// Both operands need rank ≥ 2. The flags multiply by the transpose of the last two axes instead.
    /// </summary>
    public static Node MatMul(Node a, Node b, bool transposeA = false, bool transposeB = false) =>
        In(a, b).Apply(new MatMulOp(transposeA, transposeB), a, b);

    /// <summary>Sum over <paramref name="axes"/> (all axes when null); negative axes count from the end.</summary>
    public static Node Sum(Node x, int[]? axes = null, bool keepDims = false)
    {
        In(x);
        axes ??= [.. Enumerable.Range(0, x.Rank)];
        return In(x).Apply(new SumOp(SumOp.Normalize(axes, x.Shape), keepDims), x);
    }

    /// <summary>Sum over one axis (negative counts from the end).</summary>
    public static Node Sum(Node x, int axis, bool keepDims = false) => Sum(x, [axis], keepDims);

    /// <summary>Mean over axes: a sum scaled by 1/count (a composition, not a primitive of its own).</summary>
    /// <exception cref="ShapeException">An axis is out of range or repeated, or a reduced axis is empty (the mean of nothing is undefined).</exception>
    public static Node Mean(Node x, int[]? axes = null, bool keepDims = false)
    {
        In(x);
        axes ??= [.. Enumerable.Range(0, x.Rank)];
        var norm = SumOp.Normalize(axes, x.Shape);
        long count = 1;
        foreach (var a in norm) count *= x.Shape[a];
        if (count == 0)
            throw new ShapeException($"mean: axes [{string.Join(", ", axes)}] of {x.Shape} hold no elements; the mean of nothing is undefined.");
        return Sum(x, norm, keepDims) * (1.0 / count);
    }

    /// <summary>Mean over one axis (negative counts from the end).</summary>
    public static Node Mean(Node x, int axis, bool keepDims = false) => Mean(x, [axis], keepDims);

    /// <summary>Same elements, new shape; one extent may be −1 (inferred).</summary>
    public static Node Reshape(Node x, params int[] shape)
    {
        In(x);
        ArgumentNullException.ThrowIfNull(shape);
        return x.Graph.Apply(new ReshapeOp(ReshapeOp.Resolve(shape, x.Shape)), x);
    }

    /// <summary>Permutes axes: result axis i is input axis perm[i]. Without perm, reverses the axes.</summary>
    public static Node Transpose(Node x, params int[] perm)
    {
        In(x);
        ArgumentNullException.ThrowIfNull(perm);
        if (perm.Length == 0) perm = [.. Enumerable.Range(0, x.Rank).Reverse()];
        return In(x).Apply(new TransposeOp(perm), x);
    }

    /// <summary>NumPy broadcast of x to <paramref name="shape"/>.</summary>
    public static Node BroadcastTo(Node x, Shape shape) =>
        In(x) is var g && x.Shape == shape ? x : g.Apply(new BroadcastToOp(shape), x);

    /// <summary>The block x[starts[i] : starts[i] + sizes[i]] along every axis.</summary>
    public static Node Slice(Node x, int[] starts, int[] sizes) => In(x).Apply(new SliceOp(starts, sizes), x);

    /// <summary>The range [start, start + length) along one axis.</summary>
    public static Node Slice(Node x, int axis, int start, int length)
    {
        In(x);
        int a = x.Shape.Axis(axis, "slice");
        var starts = new int[x.Rank];
        var sizes = x.Shape.ToArray();
        starts[a] = start;
        sizes[a] = length;
        return Slice(x, starts, sizes);
    }


    /// <summary>Zero padding: <paramref name="before"/>[i] zeros before and <paramref name="after"/>[i] after, per axis.</summary>
    public static Node Pad(Node x, int[] before, int[] after) => In(x).Apply(new PadOp(before, after), x);

    /// <summary>Concatenation of <paramref name="xs"/> along <paramref name="axis"/> (negative counts from the end); the other extents must agree.</summary>
    /// <exception cref="ShapeException">No inputs, or mismatched shapes.</exception>
    public static Node Concat(int axis, params Node[] xs)
    {
        ArgumentNullException.ThrowIfNull(xs);
        if (xs.Length == 0) throw new ShapeException("concat: no inputs.");
        var g = GraphOf("concat", xs);
        return g.Apply(new ConcatOp(xs[0].Shape.Axis(axis, "concat")), xs);
    }

    /// <summary>A tensor of zeros (a broadcast scalar: costs no memory until something reads it).</summary>
    public static Node Zeros(Graph g, Shape shape)
    {
        ArgumentNullException.ThrowIfNull(g);
        return BroadcastTo(g.Scalar(0), shape);
    }

    /// <summary>Seeded samples of the given shape, drawn afresh by every run from the same seed (see <see cref="SeededRandom"/>).</summary>
    public static Node Random(Graph g, Shape shape, Distribution distribution, long seed)
    {
        ArgumentNullException.ThrowIfNull(g);
        return g.Apply(new RandomOp(shape, distribution, seed));
    }

    /// <summary>
    /// Sums <paramref name="x"/> down to <paramref name="shape"/>, undoing NumPy broadcasting
    /// (leading axes are summed away, stretched size-1 axes are summed with keepDims).
    /// </summary>
    public static Node SumToShape(Node x, Shape shape)
    {
        In(x);
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

    /// <summary>
    /// Inserts size-1 axes at the given positions of the result (of rank x.Rank + axes.Length; negative
    /// positions count from its end). The positions must be distinct.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A position is outside the result's axes.</exception>
    /// <exception cref="ArgumentException">Two positions name the same axis.</exception>
    public static Node ExpandDims(Node x, params int[] axes)
    {
        In(x);
        ArgumentNullException.ThrowIfNull(axes);
        int rank = x.Rank + axes.Length;
        var norm = new HashSet<int>();
        foreach (var a in axes)
        {
            int n = a < 0 ? a + rank : a;
            if (n < 0 || n >= rank)
                throw new ArgumentOutOfRangeException(nameof(axes), $"expand_dims: axis {a} is out of range for a result of rank {rank} (input {x.Shape}, {axes.Length} new axes).");
            if (!norm.Add(n))
                throw new ArgumentException($"expand_dims: axes [{string.Join(", ", axes)}] name axis {n} twice (input {x.Shape}).", nameof(axes));
        }
        var dims = new int[rank];
        int src = 0;
        for (int i = 0; i < rank; i++) dims[i] = norm.Contains(i) ? 1 : x.Shape[src++];
        return Reshape(x, dims);
    }

    /// <summary>The graph of <paramref name="x"/>, or <see cref="ArgumentNullException"/> naming the caller's parameter.</summary>
    private static Graph In(Node x, [CallerArgumentExpression(nameof(x))] string name = "x") =>
        (x ?? throw new ArgumentNullException(name)).Graph;

    /// <summary>The graph an operation on a and b belongs to (see <see cref="GraphOf"/>); null operands are refused by name.</summary>
    private static Graph In(Node a, Node b, [CallerArgumentExpression(nameof(a))] string aName = "a", [CallerArgumentExpression(nameof(b))] string bName = "b")
    {
        ArgumentNullException.ThrowIfNull(a, aName);
        ArgumentNullException.ThrowIfNull(b, bName);
        return a.Op is not ConstantOp || b.Op is ConstantOp ? a.Graph : b.Graph;
    }

    /// <summary>The graph an operation on these nodes belongs to: that of the first non-constant one (constants travel between graphs).</summary>
    private static Graph GraphOf(string op, Node[] xs)
    {
        for (int i = 0; i < xs.Length; i++)
            if (xs[i] is null) throw new ArgumentNullException(nameof(xs), $"{op}: input {i} is null.");
        return (xs.FirstOrDefault(x => x.Op is not ConstantOp) ?? xs[0]).Graph;
    }

    /// <summary>
    /// Applies any primitive to <paramref name="inputs"/> in the graph of the first non-constant input, as
    /// the named functions here do (for rules that rebuild a node with the primitive they matched).
    /// </summary>
    public static Node Apply(Primitive op, params Node[] inputs)
    {
        ArgumentNullException.ThrowIfNull(op);
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length == 0) throw new ArgumentException($"{op.Name}: Fn.Apply needs at least one input; use Graph.Apply for a primitive without inputs.", nameof(inputs));
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i] is null) throw new ArgumentNullException(nameof(inputs), $"{op.Name}: input {i} is null.");
        return (inputs.FirstOrDefault(x => x.Op is not ConstantOp) ?? inputs[0]).Graph.Apply(op, inputs);
    }

    /// <summary>Dot product of the last axes: Σ_j a[..., j]·b[..., j].</summary>
    public static Node Dot(Node a, Node b)
    {
        In(a, b);
        return Sum(Mul(a, b), -1);
    }
}
