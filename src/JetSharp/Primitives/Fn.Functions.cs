using JetSharp.Backend;
using JetSharp.Ir;
using JetSharp.Tensors;
using F = JetSharp.Primitives.ElementwiseFunctions;

namespace JetSharp.Primitives;

// The primitives of the extended set (elementwise functions, comparisons, reductions, indexing) and the
// compositions built from them (softmax, norms, attention). docs/primitives.md lists each with its rules.
public static partial class Fn
{
    // ---------------------------------------------------------------- elementwise functions

    /// <summary>|x|; f′ = sign x (0 at 0); no second derivative (see <see cref="ElementwiseFunctions"/>).</summary>
    public static Node Abs(Node x) => F.Abs.Apply(x);
    /// <summary>sign x ∈ {−1, 0, 1}; zero derivatives.</summary>
    public static Node Sign(Node x) => F.Sign.Apply(x);
    /// <summary>⌊x⌋; zero derivatives.</summary>
    public static Node Floor(Node x) => F.Floor.Apply(x);
    /// <summary>⌈x⌉; zero derivatives.</summary>
    public static Node Ceil(Node x) => F.Ceil.Apply(x);
    /// <summary>Nearest integer, halves to even; zero derivatives.</summary>
    public static Node Round(Node x) => F.Round.Apply(x);
    /// <summary>eˣ − 1, accurate near 0.</summary>
    public static Node Expm1(Node x) => F.Expm1.Apply(x);
    /// <summary>ln(1 + x), accurate near 0.</summary>
    public static Node Log1p(Node x) => F.Log1p.Apply(x);
    /// <summary>1/√x.</summary>
    public static Node Rsqrt(Node x) => F.Rsqrt.Apply(x);
    /// <summary>Real cube root (negative for negative x; not differentiable at 0).</summary>
    public static Node Cbrt(Node x) => F.Cbrt.Apply(x);
    /// <summary>1/x.</summary>
    public static Node Reciprocal(Node x) => F.Reciprocal.Apply(x);
    /// <summary>tan x.</summary>
    public static Node Tan(Node x) => F.Tan.Apply(x);
    /// <summary>arcsin x (derivatives need |x| &lt; 1).</summary>
    public static Node Asin(Node x) => F.Asin.Apply(x);
    /// <summary>arccos x (derivatives need |x| &lt; 1).</summary>
    public static Node Acos(Node x) => F.Acos.Apply(x);
    /// <summary>arctan x.</summary>
    public static Node Atan(Node x) => F.Atan.Apply(x);
    /// <summary>sinh x.</summary>
    public static Node Sinh(Node x) => F.Sinh.Apply(x);
    /// <summary>cosh x.</summary>
    public static Node Cosh(Node x) => F.Cosh.Apply(x);
    /// <summary>arsinh x.</summary>
    public static Node Asinh(Node x) => F.Asinh.Apply(x);
    /// <summary>arcosh x (x ≥ 1; derivatives need x &gt; 1).</summary>
    public static Node Acosh(Node x) => F.Acosh.Apply(x);
    /// <summary>artanh x (|x| &lt; 1).</summary>
    public static Node Atanh(Node x) => F.Atanh.Apply(x);
    /// <summary>The error function.</summary>
    public static Node Erf(Node x) => F.Erf.Apply(x);
    /// <summary>The complementary error function 1 − erf x.</summary>
    public static Node Erfc(Node x) => F.Erfc.Apply(x);
    /// <summary>GELU, exact form x·Φ(x) (Φ the standard normal distribution function).</summary>
    public static Node Gelu(Node x) => F.Gelu.Apply(x);

    /// <summary>
    /// GELU, tanh approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³))): a composition of primitives (its
    /// derivatives are those of tanh, products and powers).
    /// </summary>
    public static Node GeluTanh(Node x) => x * 0.5 * (1.0 + Tanh((x + Pow(x, 3) * 0.044715) * Math.Sqrt(2 / Math.PI)));

    /// <summary>SiLU (swish) x·σ(x).</summary>
    public static Node Silu(Node x) => F.Silu.Apply(x);
    /// <summary>ln σ(x) = −softplus(−x), computed without overflow.</summary>
    public static Node LogSigmoid(Node x) => F.LogSigmoid.Apply(x);
    /// <summary>Mish x·tanh(softplus x): a composition of primitives.</summary>
    public static Node Mish(Node x) => x * Tanh(Softplus(x));

    /// <summary>ELU: x for x &gt; 0, α(eˣ − 1) otherwise. Twice differentiable for α = 1, once otherwise (derivatives at 0 from the left).</summary>
    public static Node Elu(Node x, double alpha = 1) => (alpha == 1 ? F.EluOne : F.Elu(alpha)).Apply(x);
    /// <summary>SELU λ·elu_α(x) with the self-normalising constants; differentiable once.</summary>
    public static Node Selu(Node x) => F.Selu.Apply(x);
    /// <summary>Leaky relu: x for x &gt; 0, slope·x otherwise; differentiable once (derivative at 0: slope).</summary>
    public static Node LeakyRelu(Node x, double slope = 0.01) => F.LeakyRelu(slope).Apply(x);

    // ---------------------------------------------------------------- binary elementwise

    /// <summary>aᵇ elementwise with a tensor exponent (broadcasting); derivatives need a &gt; 0.</summary>
    public static Node Pow(Node a, Node b) => In(a, b).Apply(PowerOp.Instance, a, b);
    /// <summary>atan2(a, b), the angle of the point (b, a), elementwise with broadcasting.</summary>
    public static Node Atan2(Node a, Node b) => In(a, b).Apply(Atan2Op.Instance, a, b);
    /// <summary>√(a² + b²) elementwise without overflow.</summary>
    public static Node Hypot(Node a, Node b) => In(a, b).Apply(HypotOp.Instance, a, b);
    /// <summary>max(a, b) elementwise; differentiable once, the derivative split ½–½ at ties.</summary>
    public static Node Maximum(Node a, Node b) => In(a, b).Apply(ExtremumOp.Max, a, b);
    /// <summary>min(a, b) elementwise; differentiable once, the derivative split ½–½ at ties.</summary>
    public static Node Minimum(Node a, Node b) => In(a, b).Apply(ExtremumOp.Min, a, b);
    /// <summary>a where cond ≠ 0, else b (all three broadcast); derivatives are those of the selected operand.</summary>
    public static Node Where(Node cond, Node a, Node b) => GraphOf("where", [cond, a, b]).Apply(WhereOp.Instance, cond, a, b);
    /// <summary>1 where a &lt; b, else 0 (zero derivatives).</summary>
    public static Node Less(Node a, Node b) => Compare(MathBinary.Less, a, b);
    /// <summary>1 where a ≤ b, else 0 (zero derivatives).</summary>
    public static Node LessEqual(Node a, Node b) => Compare(MathBinary.LessEqual, a, b);
    /// <summary>1 where a &gt; b, else 0 (zero derivatives).</summary>
    public static Node Greater(Node a, Node b) => Compare(MathBinary.Greater, a, b);
    /// <summary>1 where a ≥ b, else 0 (zero derivatives).</summary>
    public static Node GreaterEqual(Node a, Node b) => Compare(MathBinary.GreaterEqual, a, b);
    /// <summary>1 where a = b, else 0 (zero derivatives).</summary>
    public static Node Equal(Node a, Node b) => Compare(MathBinary.Equal, a, b);
    /// <summary>1 where a ≠ b, else 0 (zero derivatives).</summary>
    public static Node NotEqual(Node a, Node b) => Compare(MathBinary.NotEqual, a, b);

    private static Node Compare(MathBinary c, Node a, Node b) => In(a, b).Apply(new CompareOp(c), a, b);

    /// <summary>The value of x with zero derivatives in every mode (gradients do not flow through it).</summary>
    public static Node StopGradient(Node x) => In(x).Apply(StopGradientOp.Instance, x);

    // ---------------------------------------------------------------- reductions

    private static int[] ReductionAxes(Node x, int[]? axes, string op)
    {
        axes ??= [.. Enumerable.Range(0, x.Rank)];
        var r = axes.Select(a => x.Shape.Axis(a, op)).Order().ToArray();
        if (r.Distinct().Count() != r.Length)
            throw new ShapeException($"{op}: repeated axis in [{string.Join(", ", axes)}] for shape {x.Shape}.");
        return r;
    }

    /// <summary>Max over <paramref name="axes"/> (all when null); differentiable once, ties share the derivative evenly.</summary>
    public static Node Max(Node x, int[]? axes = null, bool keepDims = false) =>
        x.Graph.Apply(new ReduceExtremumOp(ReductionAxes(x, axes, "reduce_max"), keepDims, true), x);
    /// <summary>Max over one axis.</summary>
    public static Node Max(Node x, int axis, bool keepDims = false) => Max(x, [axis], keepDims);
    /// <summary>Min over <paramref name="axes"/> (all when null); differentiable once, ties share the derivative evenly.</summary>
    public static Node Min(Node x, int[]? axes = null, bool keepDims = false) =>
        x.Graph.Apply(new ReduceExtremumOp(ReductionAxes(x, axes, "reduce_min"), keepDims, false), x);
    /// <summary>Min over one axis.</summary>
    public static Node Min(Node x, int axis, bool keepDims = false) => Min(x, [axis], keepDims);
    /// <summary>Product over <paramref name="axes"/> (all when null); derivatives need non-zero factors.</summary>
    public static Node Prod(Node x, int[]? axes = null, bool keepDims = false) =>
        x.Graph.Apply(new ProdOp(ReductionAxes(x, axes, "prod"), keepDims), x);
    /// <summary>Product over one axis.</summary>
    public static Node Prod(Node x, int axis, bool keepDims = false) => Prod(x, [axis], keepDims);

    /// <summary>
    /// ln Σ eˣ over axes, stabilised: m + ln Σ e^(x − m) with m the max of the (gradient-stopped) input, so
    /// nothing overflows; the shift m cancels in the value and has zero derivatives, so the derivatives are
    /// those of ln Σ eˣ (smooth: softmax weights).
    /// </summary>
    public static Node LogSumExp(Node x, int[]? axes = null, bool keepDims = false)
    {
        var ax = ReductionAxes(x, axes, "logsumexp");
        var m = Max(StopGradient(x), ax, keepDims: true);
        var r = m + Log(Sum(Exp(x - m), ax, keepDims: true));
        return keepDims ? r : Reshape(r, SumOp.ReducedShape(x.Shape, ax, false).ToArray());
    }

    /// <summary>Log-sum-exp over one axis.</summary>
    public static Node LogSumExp(Node x, int axis, bool keepDims = false) => LogSumExp(x, [axis], keepDims);

    /// <summary>The L2 norm √(Σ x²) over axes (all when null); not differentiable where the norm is 0.</summary>
    public static Node Norm(Node x, int[]? axes = null, bool keepDims = false) =>
        Sqrt(Sum(Square(x), ReductionAxes(x, axes, "norm"), keepDims));

    /// <summary>Variance over axes: Σ(x − mean)² / (n − ddof) (population variance for ddof = 0).</summary>
    public static Node Variance(Node x, int[]? axes = null, bool keepDims = false, int ddof = 0)
    {
        var ax = ReductionAxes(x, axes, "variance");
        long n = ax.Aggregate(1L, (p, a) => p * x.Shape[a]);
        if (n - ddof <= 0) throw new ShapeException($"variance: {n} element(s) per group with ddof = {ddof} leave no degrees of freedom (shape {x.Shape}).");
        var centred = x - Mean(x, ax, keepDims: true);
        return Sum(Square(centred), ax, keepDims) * (1.0 / (n - ddof));
    }

    /// <summary>Cumulative sum along an axis (from the far end when <paramref name="reverse"/>).</summary>
    public static Node CumSum(Node x, int axis, bool reverse = false) => In(x).Apply(new CumSumOp(x.Shape.Axis(axis, "cumsum"), reverse), x);

    // ---------------------------------------------------------------- indexing and shape

    /// <summary>np.take: x[..., indices, ...] along <paramref name="axis"/> (a vector of indices; repeats allowed).</summary>
    public static Node Take(Node x, int[] indices, int axis) => Take(x, new IndexList(indices), axis);

    /// <summary>np.take with indices of any shape: the axis is replaced by the indices' shape.</summary>
    public static Node Take(Node x, IndexList indices, int axis) => In(x).Apply(new TakeOp(x.Shape.Axis(axis, "take"), indices), x);

    /// <summary>
    /// <paramref name="target"/> with slice j of <paramref name="updates"/> added at position indices[j] along
    /// <paramref name="axis"/> (repeated indices accumulate). Updates have target's shape with that axis
    /// replaced by the indices' shape. One operation (<see cref="ScatterAddIntoOp"/>), which the executor runs in the
    /// target's buffer when the target is not needed afterwards.
    /// </summary>
    public static Node ScatterAdd(Node target, IndexList indices, Node updates, int axis)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(updates);
        return In(target, updates).Apply(new ScatterAddIntoOp(target.Shape.Axis(axis, "scatter_add"), indices), target, updates);
    }

    /// <summary>Scatter-add with a vector of indices.</summary>
    public static Node ScatterAdd(Node target, int[] indices, Node updates, int axis) => ScatterAdd(target, new IndexList(indices), updates, axis);

    /// <summary>The elements in reverse order along each of <paramref name="axes"/>.</summary>
    public static Node Flip(Node x, params int[] axes)
    {
        if (axes.Length == 0) throw new ArgumentException("flip: no axes given.", nameof(axes));
        foreach (var a in ReductionAxes(x, axes, "flip"))
            x = Take(x, [.. Enumerable.Range(0, x.Shape[a]).Reverse()], a);
        return x;
    }

    /// <summary>
    /// x[start:stop:step] along one axis (Python range semantics without clamping: every index must lie
    /// inside the axis; a negative step walks backwards). A unit step is a plain slice.
    /// </summary>
    public static Node Slice(Node x, int axis, int start, int stop, int step)
    {
        int a = x.Shape.Axis(axis, "slice");
        int n = x.Shape[a];
        if (step == 0) throw new ShapeException($"slice: step 0 along axis {axis} of {x.Shape}.");
        var idx = new List<int>();
        for (int i = start; step > 0 ? i < stop : i > stop; i += step) idx.Add(i);
        if (idx.Any(i => i < 0 || i >= n))
            throw new ShapeException($"slice: {start}:{stop}:{step} reaches outside axis {axis} (extent {n}) of {x.Shape}.");
        if (step == 1) return Slice(x, a, start, idx.Count);
        return Take(x, [.. idx], a);
    }

    /// <summary>Inserts size-1 axes (alias of <see cref="ExpandDims"/>).</summary>
    public static Node Unsqueeze(Node x, params int[] axes) => ExpandDims(x, axes);

    /// <summary>Removes the given size-1 axes (all size-1 axes when none are given).</summary>
    public static Node Squeeze(Node x, params int[] axes)
    {
        var drop = axes.Length == 0
            ? [.. Enumerable.Range(0, x.Rank).Where(i => x.Shape[i] == 1)]
            : ReductionAxes(x, axes, "squeeze");
        foreach (var a in drop)
            if (x.Shape[a] != 1) throw new ShapeException($"squeeze: axis {a} of {x.Shape} has extent {x.Shape[a]}, not 1.");
        return Reshape(x, [.. x.Shape.Where((_, i) => !drop.Contains(i))]);
    }

    /// <summary>Joins equally shaped tensors along a new axis at <paramref name="axis"/>.</summary>
    public static Node Stack(int axis, params Node[] xs)
    {
        if (xs.Length == 0) throw new ShapeException("stack: no inputs.");
        foreach (var x in xs)
            if (x.Shape != xs[0].Shape)
                throw new ShapeException($"stack: shapes {string.Join(", ", xs.Select(i => i.Shape))} differ.");
        int a = axis < 0 ? axis + xs[0].Rank + 1 : axis;
        if (a < 0 || a > xs[0].Rank) throw new ShapeException($"stack: axis {axis} is out of range for {xs.Length} tensors of shape {xs[0].Shape}.");
        return Concat(a, [.. xs.Select(x => ExpandDims(x, a))]);
    }

    /// <summary>Cuts x along <paramref name="axis"/> into pieces of the given extents (which must add up to the axis).</summary>
    public static Node[] Split(Node x, int axis, params int[] sizes)
    {
        int a = x.Shape.Axis(axis, "split");
        if (sizes.Length == 0 || sizes.Any(s => s < 0) || sizes.Sum() != x.Shape[a])
            throw new ShapeException($"split: sizes [{string.Join(", ", sizes)}] do not add up to axis {axis} (extent {x.Shape[a]}) of {x.Shape}.");
        var parts = new Node[sizes.Length];
        int offset = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            parts[i] = Slice(x, a, offset, sizes[i]);
            offset += sizes[i];
        }
        return parts;
    }

    /// <summary>np.tile: x repeated reps[i] times along axis i (reps has x's rank).</summary>
    public static Node Tile(Node x, params int[] reps)
    {
        if (reps.Length != x.Rank || reps.Any(r => r < 1))
            throw new ShapeException($"tile: repetitions [{string.Join(", ", reps)}] must be positive, one per axis of {x.Shape}.");
        var interleaved = new List<int>();
        var target = new List<int>();
        for (int i = 0; i < x.Rank; i++)
        {
            interleaved.AddRange([1, x.Shape[i]]);
            target.AddRange([reps[i], x.Shape[i]]);
        }
        var b = BroadcastTo(Reshape(x, [.. interleaved]), new Shape([.. target]));
        return Reshape(b, [.. x.Shape.Select((d, i) => d * reps[i])]);
    }

    /// <summary>np.repeat: each element repeated <paramref name="repeats"/> times in place along <paramref name="axis"/>.</summary>
    public static Node Repeat(Node x, int repeats, int axis)
    {
        int a = x.Shape.Axis(axis, "repeat");
        if (repeats < 1) throw new ShapeException($"repeat: repeats must be ≥ 1, got {repeats}.");
        var dims = x.Shape.ToArray();
        int[] expanded = [.. dims.Take(a + 1), 1, .. dims.Skip(a + 1)];
        int[] target = [.. dims.Take(a + 1), repeats, .. dims.Skip(a + 1)];
        var b = BroadcastTo(Reshape(x, expanded), new Shape(target));
        dims[a] *= repeats;
        return Reshape(b, dims);
    }

    // ---------------------------------------------------------------- linear algebra helpers

    /// <summary>Einstein summation, e.g. "ij,jk->ik", "bhqd,bhkd->bhqk", "ii->i", "...ij,...j->...i" (see <see cref="Einsum"/>).</summary>
    public static Node Einsum(string spec, params Node[] operands) => Primitives.Einsum.Apply(spec, operands);

    /// <summary>The outer product a[..., i]·b[..., j] → [..., i, j] (batch axes broadcast).</summary>
    public static Node Outer(Node a, Node b) => ExpandDims(a, -1) * ExpandDims(b, -2);

    // ---------------------------------------------------------------- network building blocks

    /// <summary>Softmax along an axis, stabilised by subtracting the (gradient-stopped) max: e^(x−m) / Σ e^(x−m).</summary>
    public static Node Softmax(Node x, int axis = -1)
    {
        int a = x.Shape.Axis(axis, "softmax");
        var e = Exp(x - Max(StopGradient(x), a, keepDims: true));
        return e / Sum(e, a, keepDims: true);
    }

    /// <summary>log softmax along an axis: x − logsumexp(x), stabilised.</summary>
    public static Node LogSoftmax(Node x, int axis = -1) => x - LogSumExp(x, [axis], keepDims: true);

    /// <summary>
    /// Layer normalisation over the last <paramref name="normalizedRank"/> axes: (x − μ)/√(σ² + ε), then
    /// times <paramref name="gamma"/> and plus <paramref name="beta"/> when given (they broadcast against x).
    /// </summary>
    public static Node LayerNorm(Node x, Node? gamma = null, Node? beta = null, double epsilon = 1e-5, int normalizedRank = 1)
    {
        if (normalizedRank < 1 || normalizedRank > x.Rank)
            throw new ShapeException($"layer_norm: cannot normalise the last {normalizedRank} axes of {x.Shape}.");
        int[] axes = [.. Enumerable.Range(x.Rank - normalizedRank, normalizedRank)];
        var centred = x - Mean(x, axes, keepDims: true);
        var y = centred * Rsqrt(Mean(Square(centred), axes, keepDims: true) + epsilon);
        if (gamma is not null) y *= gamma;
        if (beta is not null) y += beta;
        return y;
    }

    /// <summary>RMS normalisation over the last axis: x/√(mean x² + ε), times <paramref name="gamma"/> when given.</summary>
    public static Node RmsNorm(Node x, Node? gamma = null, double epsilon = 1e-6)
    {
        var y = x * Rsqrt(Mean(Square(x), -1, keepDims: true) + epsilon);
        return gamma is null ? y : y * gamma;
    }

    /// <summary>
    /// Scaled dot-product attention softmax(q·kᵀ/√d + mask)·v for q [..., Lq, d], k [..., Lk, d], v [..., Lk, dv];
    /// <paramref name="causal"/> masks keys after the query's position (Lq = Lk).
    /// </summary>
    public static Node Attention(Node q, Node k, Node v, bool causal = false)
    {
        if (q.Rank < 2 || k.Rank < 2 || v.Rank < 2 || q.Shape[^1] != k.Shape[^1] || k.Shape[^2] != v.Shape[^2])
            throw new ShapeException($"attention: expected q [..., Lq, d], k [..., Lk, d], v [..., Lk, dv]; got {q.Shape}, {k.Shape}, {v.Shape}.");
        var scores = MatMul(q, k, transposeB: true) * (1 / Math.Sqrt(q.Shape[^1]));
        if (causal)
        {
            int lq = q.Shape[^2], lk = k.Shape[^2];
            if (lq != lk) throw new ShapeException($"attention: a causal mask needs as many queries as keys, got {lq} and {lk}.");
            var allowed = new NDArray<double>(new Shape(lq, lk));
            for (int i = 0; i < lq; i++)
                for (int j = 0; j <= i; j++) allowed.Data[i * lk + j] = 1;
            scores = Where(scores.Graph.Constant(allowed), scores, scores.Graph.Scalar(double.NegativeInfinity));
        }
        return MatMul(Softmax(scores, -1), v);
    }

    /// <summary>
    /// Multi-head self-attention of a sequence x [..., L, D]: q, k, v = x·W_q, x·W_k, x·W_v ([D, D] each), split
    /// into <paramref name="heads"/> heads of D/heads features, attention per head, heads joined, times W_o.
    /// </summary>
    public static Node MultiHeadAttention(Node x, Node wq, Node wk, Node wv, Node wo, int heads, bool causal = false)
    {
        if (x.Rank < 2) throw new ShapeException($"multi-head attention: x must be [..., L, D], got {x.Shape}.");
        int l = x.Shape[^2], d = x.Shape[^1];
        if (heads < 1 || d % heads != 0) throw new ShapeException($"multi-head attention: {d} features cannot be split into {heads} heads.");
        foreach (var w in new[] { wq, wk, wv, wo })
            if (w.Shape != new Shape(d, d)) throw new ShapeException($"multi-head attention: projection weights must be [{d}, {d}], got {w.Shape}.");
        int lead = x.Rank - 2, dh = d / heads;
        int[] batch = x.Shape.ToArray()[..lead];
        int[] toHeads = [.. Enumerable.Range(0, lead), lead + 1, lead, lead + 2];   // [..., L, H, dh] → [..., H, L, dh]
        Node Split(Node y) => Transpose(Reshape(y, [.. batch, l, heads, dh]), toHeads);
        var o = Attention(Split(MatMul(x, wq)), Split(MatMul(x, wk)), Split(MatMul(x, wv)), causal);
        var joined = Reshape(Transpose(o, toHeads), [.. batch, l, d]);
        return MatMul(joined, wo);
    }
}
