using static JetSharp.Tests.Numeric;

namespace JetSharp.Tests;

/// <summary>
/// One primitive (or composition) of the extended set, applied to inputs of given shapes sampled from its
/// smooth domain. <see cref="MaxOrder"/> is the highest jet order tested (1 for functions with a kink,
/// which refuse order 2). <see cref="PerDatum"/> maps x [N, D] to per-datum outputs through the primitive,
/// for the strategy-agreement Laplacian; <see cref="Reference"/> is an independent value reference.
/// </summary>
public sealed record ExtendedCase(
    string Name,
    Func<Node[], Node> F,
    Shape[] Shapes,
    Func<Shape, long, NDArray<double>>[] Samplers,
    int MaxOrder,
    Func<Node, Node>? PerDatum = null,
    Func<NDArray<double>[], NDArray<double>>? Reference = null,
    bool Kink = false)
{
    public override string ToString() => Name;

    public NDArray<double>[] Points(long seed) => [.. Shapes.Select((s, i) => Samplers[i](s, seed * 31 + i))];
}

/// <summary>The cases of the extended primitive set (see docs/primitives.md).</summary>
internal static class ExtendedCases
{
    // ---- samplers: each keeps a margin of ≥ 0.1 to kinks, jumps and singularities, so difference steps stay smooth ----

    public static NDArray<double> Any(Shape s, long seed) => NDArray.RandomNormal<double>(s, seed);
    public static NDArray<double> Positive(Shape s, long seed) => NDArray.RandomUniform<double>(s, seed, 0.7, 2.0);
    public static NDArray<double> Unit(Shape s, long seed) => NDArray.RandomUniform<double>(s, seed, -0.8, 0.8);
    public static NDArray<double> AboveOne(Shape s, long seed) => NDArray.RandomUniform<double>(s, seed, 1.3, 2.5);
    public static NDArray<double> AwayFromZero(Shape s, long seed) =>
        Combine(NDArray.RandomUniform<double>(s, seed, -1, 1), NDArray.RandomUniform<double>(s, seed, -1, 1), (u, _) => Math.Sign(u) * (0.3 + Math.Abs(u)));
    /// <summary>k + u with u ∈ (0.1, 0.4) ∪ (0.6, 0.9): away from integers and half-integers (floor, ceil, round jump there).</summary>
    public static NDArray<double> OffGrid(Shape s, long seed) =>
        Combine(NDArray.RandomUniform<double>(s, seed, -3, 3), NDArray.RandomUniform<double>(s, seed + 7, 0, 1),
            (k, u) => Math.Floor(k) + (u < 0.5 ? 0.1 + 0.6 * u : 0.6 + 0.6 * (u - 0.5)));
    /// <summary>Well-conditioned square matrices: 2.5·I + 0.4·normal.</summary>
    public static NDArray<double> WellConditioned(Shape s, long seed)
    {
        var a = NDArray.RandomNormal<double>(s, seed);
        int n = s[^1];
        for (int i = 0; i < a.Size; i++)
        {
            a.Data[i] *= 0.4;
            if ((i / n) % n == i % n) a.Data[i] += 2.5;
        }
        return a;
    }

    private static Func<Shape, long, NDArray<double>>[] Same(int n, Func<Shape, long, NDArray<double>> f) => [.. Enumerable.Repeat(f, n)];

    /// <summary>x [N, 4] mixed by a fixed 4×3 matrix: every output depends on every coordinate, so Laplacians mix.</summary>
    private static Node Mix(Node x)
    {
        var w = NDArray.FromArray(new double[,] { { 0.6, -0.3, 0.2 }, { 0.1, 0.5, -0.4 }, { -0.2, 0.3, 0.7 }, { 0.4, 0.2, 0.1 } });
        return Fn.MatMul(x, x.Graph.Constant(w));
    }

    /// <summary>Maps a mixed input into a sampler's domain (smoothly), for the per-datum Laplacian.</summary>
    private static Func<Node, Node> Into(Func<Shape, long, NDArray<double>> domain) => domain switch
    {
        _ when domain == Positive => z => Fn.Sigmoid(z) + 0.8,
        _ when domain == Unit => z => Fn.Tanh(z) * 0.7,
        _ when domain == AboveOne => z => Fn.Sigmoid(z) + 1.4,
        _ when domain == AwayFromZero => z => z + 3.0,
        _ => z => z,
    };

    private static NDArray<double> Map(NDArray<double> x, Func<double, double> f) => Naive.Map(x, f);

    /// <summary>A reduction by a plain loop over coordinates (the reference for max, min, prod, logsumexp).</summary>
    private static NDArray<double> Reduce(NDArray<double> x, int[]? axes, bool keepDims, double init, Func<double, double, double> f)
    {
        var ax = (axes ?? [.. Enumerable.Range(0, x.Rank)]).Select(a => a < 0 ? a + x.Rank : a).ToHashSet();
        var kept = new Shape([.. x.Shape.Select((d, i) => ax.Contains(i) ? 1 : d)]);
        var acc = NDArray.Full(kept, init);
        foreach (var c in Naive.Coords(x.Shape))
        {
            int k = Naive.Flat([.. c.Select((v, i) => ax.Contains(i) ? 0 : v)], kept);
            acc.Data[k] = f(acc.Data[k], x.Data[Naive.Flat(c, x.Shape)]);
        }
        return keepDims ? acc : new NDArray<double>(new Shape([.. x.Shape.Where((_, i) => !ax.Contains(i))]), acc.Data);
    }

    public static IEnumerable<ExtendedCase> Build()
    {
        var s23 = new Shape(2, 3);

        // ---- unary elementwise: the derivative-table functions and the compositions ----
        var unary = new (string Name, Func<Node, Node> F, Func<double, double>? R, Func<Shape, long, NDArray<double>> D, int K, bool Kink)[]
        {
            ("abs", Fn.Abs, Math.Abs, AwayFromZero, 1, true),
            ("sign", Fn.Sign, x => Math.Sign(x), AwayFromZero, 4, false),
            ("floor", Fn.Floor, Math.Floor, OffGrid, 4, false),
            ("ceil", Fn.Ceil, Math.Ceiling, OffGrid, 4, false),
            ("round", Fn.Round, x => Math.Round(x, MidpointRounding.ToEven), OffGrid, 4, false),
            ("expm1", Fn.Expm1, x => Math.Exp(x) - 1, Any, 6, false),
            ("log1p", Fn.Log1p, x => Math.Log(1 + x), Positive, 6, false),
            ("rsqrt", Fn.Rsqrt, x => 1 / Math.Sqrt(x), Positive, 6, false),
            ("cbrt", Fn.Cbrt, Math.Cbrt, AwayFromZero, 6, false),
            ("reciprocal", Fn.Reciprocal, x => 1 / x, AwayFromZero, 6, false),
            ("tan", Fn.Tan, Math.Tan, Unit, 6, false),
            ("asin", Fn.Asin, Math.Asin, Unit, 6, false),
            ("acos", Fn.Acos, Math.Acos, Unit, 6, false),
            ("atan", Fn.Atan, Math.Atan, Any, 6, false),
            ("sinh", Fn.Sinh, Math.Sinh, Any, 6, false),
            ("cosh", Fn.Cosh, Math.Cosh, Any, 6, false),
            ("asinh", Fn.Asinh, Math.Asinh, Any, 6, false),
            ("acosh", Fn.Acosh, Math.Acosh, AboveOne, 6, false),
            ("atanh", Fn.Atanh, Math.Atanh, Unit, 6, false),
            ("erf", Fn.Erf, null, Any, 6, false),
            ("erfc", Fn.Erfc, null, Any, 6, false),
            ("gelu", Fn.Gelu, null, Any, 6, false),
            ("gelu_tanh", Fn.GeluTanh, x => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))), Any, 6, false),
            ("silu", Fn.Silu, x => x / (1 + Math.Exp(-x)), Any, 6, false),
            ("log_sigmoid", Fn.LogSigmoid, x => -Math.Log(1 + Math.Exp(-x)), Any, 6, false),
            ("mish", Fn.Mish, x => x * Math.Tanh(Math.Log(1 + Math.Exp(x))), Any, 6, false),
            ("elu", x => Fn.Elu(x), x => x > 0 ? x : Math.Exp(x) - 1, AwayFromZero, 2, true),
            ("elu α=0.5", x => Fn.Elu(x, 0.5), x => x > 0 ? x : 0.5 * (Math.Exp(x) - 1), AwayFromZero, 1, true),
            ("selu", Fn.Selu, x => 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * (Math.Exp(x) - 1)), AwayFromZero, 1, true),
            ("leaky_relu", x => Fn.LeakyRelu(x, 0.1), x => x > 0 ? x : 0.1 * x, AwayFromZero, 1, true),
        };
        foreach (var u in unary)
        {
            var into = Into(u.D);
            yield return new(u.Name, xs => u.F(xs[0]), [s23], [u.D], u.K, x => u.F(into(Mix(x))),
                u.R is null ? null : xs => Map(xs[0], u.R), u.Kink);
        }

        // ---- binary elementwise, with and without broadcasting ----
        foreach (var (sa, sb) in new (Shape, Shape)[] { (new(3, 4), new(3, 4)), (new(3, 4), new(4)) })
        {
            string tag = $" {sa}⊕{sb}";
            yield return new("pow" + tag, xs => Fn.Pow(xs[0], xs[1]), [sa, sb], [Positive, Any], 5,
                x => Fn.Pow(Fn.Sigmoid(Mix(x)) + 0.8, Fn.Sin(Mix(x))), xs => Naive.Zip(xs[0], xs[1], Math.Pow));
            yield return new("atan2" + tag, xs => Fn.Atan2(xs[0], xs[1]), [sa, sb], [Any, AwayFromZero], 5,
                x => Fn.Atan2(Mix(x), Fn.Cos(Mix(x)) + 2.0), xs => Naive.Zip(xs[0], xs[1], Math.Atan2));
            yield return new("hypot" + tag, xs => Fn.Hypot(xs[0], xs[1]), [sa, sb], [Any, AwayFromZero], 5,
                x => Fn.Hypot(Mix(x), Fn.Sin(Mix(x)) + 2.0), xs => Naive.Zip(xs[0], xs[1], (a, b) => Math.Sqrt(a * a + b * b)));
            yield return new("maximum" + tag, xs => Fn.Maximum(xs[0], xs[1]), [sa, sb], [Any, Any], 1,
                x => Fn.Maximum(Mix(x), Fn.Sin(Mix(x))), xs => Naive.Zip(xs[0], xs[1], Math.Max), Kink: true);
            yield return new("minimum" + tag, xs => Fn.Minimum(xs[0], xs[1]), [sa, sb], [Any, Any], 1,
                x => Fn.Minimum(Mix(x), Fn.Sin(Mix(x))), xs => Naive.Zip(xs[0], xs[1], Math.Min), Kink: true);
            yield return new("where(less)" + tag, xs => Fn.Where(Fn.Less(xs[0], xs[1]), xs[0] * xs[1], Fn.Sin(xs[0])), [sa, sb], [Any, Any], 6,
                x => Fn.Where(Fn.Less(Mix(x), x.Graph.Scalar(0.1)), Fn.Square(Mix(x)), Fn.Sin(Mix(x))),
                xs => Naive.Zip(Naive.BroadcastTo(xs[0], sa), Naive.BroadcastTo(xs[1], sa), (a, b) => a < b ? a * b : Math.Sin(a)));
        }
        foreach (var (name, f, r) in new (string, Func<Node, Node, Node>, Func<double, double, bool>)[]
        {
            ("less", Fn.Less, (a, b) => a < b), ("less_equal", Fn.LessEqual, (a, b) => a <= b), ("greater", Fn.Greater, (a, b) => a > b),
            ("greater_equal", Fn.GreaterEqual, (a, b) => a >= b), ("equal", Fn.Equal, (a, b) => a == b), ("not_equal", Fn.NotEqual, (a, b) => a != b),
        })
            yield return new(name, xs => f(xs[0], Fn.Round(xs[1])) * xs[0], [new(3, 4), new(3, 4)], [OffGrid, OffGrid], 4,
                x => f(Mix(x), x.Graph.Scalar(0.2)) * Fn.Sin(Mix(x)),
                xs => Naive.Zip(xs[0], Map(xs[1], v => Math.Round(v, MidpointRounding.ToEven)), (a, b) => r(a, b) ? a : 0));

        // ---- reductions ----
        var s234 = new Shape(2, 3, 4);
        foreach (var (axes, keep) in new (int[]?, bool)[] { ([1], false), ([0, 2], true), (null, false) })
        {
            string tag = $" {(axes is null ? "all" : string.Join(",", axes))}{(keep ? " keep" : "")}";
            yield return new("reduce_max" + tag, xs => Fn.Max(xs[0], axes, keep), [s234], [Any], 1,
                x => Fn.Max(Mix(x), -1, keepDims: true), xs => Reduce(xs[0], axes, keep, double.NegativeInfinity, Math.Max), Kink: true);
            yield return new("prod" + tag, xs => Fn.Prod(xs[0], axes, keep), [s234], [AwayFromZero], 4,
                x => Fn.Prod(Fn.Sin(Mix(x)) + 1.5, -1), xs => Reduce(xs[0], axes, keep, 1, (a, b) => a * b));
            yield return new("logsumexp" + tag, xs => Fn.LogSumExp(xs[0], axes, keep), [s234], [Any], 4,
                x => Fn.LogSumExp(Mix(x), -1), xs => Naive.Map(Reduce(Naive.Map(xs[0], Math.Exp), axes, keep, 0, (a, b) => a + b), Math.Log));
        }
        yield return new("reduce_min 2", xs => Fn.Min(xs[0], 2), [s234], [Any], 1,
            x => Fn.Min(Mix(x), -1), xs => Reduce(xs[0], [2], false, double.PositiveInfinity, Math.Min), Kink: true);
        yield return new("norm -1", xs => Fn.Norm(xs[0], [-1]), [s234], [Any], 4,
            x => Fn.Norm(Mix(x), [-1]), xs => Naive.Map(Reduce(Naive.Map(xs[0], v => v * v), [2], false, 0, (a, b) => a + b), Math.Sqrt));
        yield return new("variance 0,2 ddof 1", xs => Fn.Variance(xs[0], [0, 2], ddof: 1), [s234], [Any], 4,
            x => Fn.Variance(Mix(x), [-1], keepDims: true), null);
        yield return new("cumsum 1", xs => Fn.CumSum(xs[0], 1), [s234], [Any], 6, x => Fn.Sin(Fn.CumSum(Mix(x), -1)), null);
        yield return new("cumsum -1 reverse", xs => Fn.CumSum(xs[0], -1, reverse: true), [s234], [Any], 6, x => Fn.Sin(Fn.CumSum(Mix(x), -1, true)), null);

        // ---- indexing and shape ----
        var s34 = new Shape(3, 4);
        yield return new("take", xs => Fn.Take(xs[0], [3, 0, 0, 2], 1), [s34], [Any], 6, x => Fn.Sin(Fn.Take(Mix(x), [2, 0, 2], 1)), null);
        yield return new("take 2-d indices", xs => Fn.Take(xs[0], new IndexList([2, 1, 0, 2], new Shape(2, 2)), 0), [s34], [Any], 6, null, null);
        yield return new("scatter_add", xs => Fn.ScatterAdd(xs[0], [1, 3, 1], xs[1], 1), [s34, new(3, 3)], [Any, Any], 6,
            x => Fn.Sin(Fn.ScatterAdd(Mix(x), [0, 2], Fn.Slice(Fn.Square(Mix(x)), 1, 0, 2), 1)), null);
        yield return new("scatter_add into zeros", xs => Fn.Apply(new ScatterAddOp(1, new IndexList([1, 3, 1]), 4), xs[0]), [new(3, 3)], [Any], 6,
            x => Fn.Sin(Fn.Apply(new ScatterAddOp(1, new IndexList([0, 2]), 4), Fn.Slice(Fn.Square(Mix(x)), 1, 0, 2))), null);
        yield return new("flip", xs => Fn.Flip(xs[0], 0, 2), [s234], [Any], 6, x => Fn.Sin(Fn.Flip(Mix(x), -1)) * Mix(x), null);
        yield return new("slice step 2", xs => Fn.Slice(xs[0], 1, 0, 4, 2), [s34], [Any], 6, null, null);
        yield return new("slice step -2", xs => Fn.Slice(xs[0], -1, 3, -1, -2), [s34], [Any], 6, null, null);
        yield return new("stack", xs => Fn.Stack(1, xs[0], xs[1]), [s34, s34], [Any, Any], 6, x => Fn.Sin(Fn.Stack(-1, Mix(x), Fn.Square(Mix(x)))), null);
        yield return new("split", xs => Fn.Split(xs[0], 1, 1, 3)[1] * Fn.Split(xs[0], 1, 3, 1)[0], [s34], [Any], 6, null, null);
        yield return new("squeeze/unsqueeze", xs => Fn.Unsqueeze(Fn.Squeeze(xs[0], 1), 0), [new(3, 1, 4)], [Any], 6, null, null);
        yield return new("tile", xs => Fn.Tile(xs[0], 2, 3), [s34], [Any], 6, x => Fn.Sin(Fn.Tile(Mix(x), 1, 2)), null);
        yield return new("repeat", xs => Fn.Repeat(xs[0], 2, 0), [s34], [Any], 6, x => Fn.Sin(Fn.Repeat(Mix(x), 3, 1)), null);

        // ---- linear algebra ----
        yield return new("einsum ij,jk->ik", xs => Fn.Einsum("ij,jk->ik", xs[0], xs[1]), [s34, new(4, 2)], [Any, Any], 4, null, xs => Naive.MatMul(xs[0], xs[1], false, false));
        yield return new("einsum bij,bkj->bik", xs => Fn.Einsum("bij,bkj->bik", xs[0], xs[1]), [s234, new(2, 5, 4)], [Any, Any], 4, null, null);
        yield return new("einsum ...ij,...j->...i", xs => Fn.Einsum("...ij,...j->...i", xs[0], xs[1]), [s234, new(1, 4)], [Any, Any], 4, null, null);
        yield return new("einsum ii->i, ij->", xs => Fn.Einsum("ii->i", xs[0]) * Fn.Einsum("ij->", xs[0]), [new(3, 3)], [Any], 4, null, null);
        yield return new("einsum ij,ij,j->i", xs => Fn.Einsum("ij,ij,j->i", xs[0], xs[0], xs[1]), [s34, new(4)], [Any, Any], 4,
            x => Fn.Einsum("nd,nd,d->n", Mix(x), Fn.Sin(Mix(x)), x.Graph.Constant(NDArray.FromArray(new[] { 1.0, -2.0, 0.5 }))), null);
        yield return new("trace", xs => Linalg.Trace(xs[0]), [new(2, 3, 3)], [Any], 4, null, null);
        yield return new("diag", xs => Linalg.Diag(xs[0]), [s23], [Any], 4, null, null);
        yield return new("outer", xs => Fn.Outer(xs[0], xs[1]), [s23, new(2, 4)], [Any, Any], 4, null, null);
        Node Matrices(Node x) => Fn.Reshape(Mix(x), -1, 1, 3) * Fn.Reshape(Fn.Sin(Mix(x)), -1, 3, 1) * 0.3 + Linalg.Eye(x.Graph, 3) * 2.0;
        yield return new("solve", xs => Linalg.Solve(xs[0], xs[1]), [new(2, 3, 3), new(3, 2)], [WellConditioned, Any], 4,
            x => Fn.Reshape(Linalg.Solve(Matrices(x), Fn.ExpandDims(Fn.Cos(Mix(x)), -1)), -1, 3), null);
        yield return new("inverse", xs => Linalg.Inverse(xs[0]), [new(2, 3, 3)], [WellConditioned], 4,
            x => Fn.Reshape(Linalg.Inverse(Matrices(x)), -1, 9), null);
        yield return new("det", xs => Linalg.Det(xs[0]), [new(2, 3, 3)], [WellConditioned], 4, x => Linalg.Det(Matrices(x)), null);
        yield return new("logabsdet", xs => Linalg.LogAbsDet(xs[0]), [new(2, 3, 3)], [WellConditioned], 4, x => Linalg.LogAbsDet(Matrices(x)), null);
        yield return new("slogdet sign·e^logabsdet", xs => Linalg.Slogdet(xs[0]) is var (s, l) ? s * Fn.Exp(l) : null!, [new(3, 3)], [WellConditioned], 4, null, null);

        // ---- building blocks ----
        yield return new("softmax", xs => Fn.Softmax(xs[0], 1), [s234], [Any], 4, x => Fn.Softmax(Mix(x)), null);
        yield return new("log_softmax", xs => Fn.LogSoftmax(xs[0]), [s234], [Any], 4, x => Fn.LogSoftmax(Mix(x)), null);
        yield return new("layer_norm", xs => Fn.LayerNorm(xs[0], xs[1], xs[2]), [s234, new(4), new(4)], [Any, Any, Any], 4,
            x => Fn.LayerNorm(Mix(x)), null);
        yield return new("rms_norm", xs => Fn.RmsNorm(xs[0], xs[1]), [s234, new(4)], [Any, Any], 4, x => Fn.RmsNorm(Mix(x)), null);
        yield return new("attention", xs => Fn.Attention(xs[0], xs[1], xs[2]), [new(2, 3, 2), new(2, 4, 2), new(2, 4, 3)], [Any, Any, Any], 3,
            x => Fn.Reshape(Fn.Attention(Fn.Reshape(Mix(x), -1, 3, 1), Fn.Reshape(Mix(x), -1, 3, 1), Fn.Reshape(Fn.Sin(Mix(x)), -1, 3, 1)), -1, 3), null);
        yield return new("attention causal", xs => Fn.Attention(xs[0], xs[1], xs[2], causal: true), [new(3, 2), new(3, 2), new(3, 2)], [Any, Any, Any], 3, null, null);
        yield return new("multi-head attention", xs => Fn.MultiHeadAttention(xs[0], xs[1], xs[2], xs[3], xs[4], heads: 2),
            [new(3, 4), new(4, 4), new(4, 4), new(4, 4), new(4, 4)], Same(5, Any), 2,
            x => Fn.Reshape(Fn.MultiHeadAttention(Fn.Reshape(x, -1, 2, 2), Linalg.Eye(x.Graph, 2), Linalg.Eye(x.Graph, 2) * 0.5, Linalg.Eye(x.Graph, 2), Linalg.Eye(x.Graph, 2), heads: 1), -1, 4), null);
    }

    public static readonly Dictionary<string, ExtendedCase> All = Build().ToDictionary(c => c.Name);
}
