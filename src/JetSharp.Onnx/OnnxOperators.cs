using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Tensors;
using Ints = JetSharp.Onnx.OnnxValue.Ints;
using FloatValue = JetSharp.Onnx.OnnxValue.Float;

namespace JetSharp.Onnx;

/// <summary>
/// The translation of each supported ONNX operator (semantics of the ONNX operator specification, opsets
/// 7–17) into JetSharp primitives. Floating-point operators become graph nodes; integer operators (the
/// shape arithmetic <c>torch.onnx.export</c> emits for a dynamic batch axis) are evaluated on the spot.
/// </summary>
internal static class OnnxOperators
{
    public static readonly IReadOnlyDictionary<string, Func<OnnxContext, OnnxNodeProto, OnnxValue?[]>> Table =
        new Dictionary<string, Func<OnnxContext, OnnxNodeProto, OnnxValue?[]>>(StringComparer.Ordinal)
        {
            ["Identity"] = (c, _) => [c.Required(0)],
            ["Constant"] = (c, _) => [Constant(c)],
            ["Cast"] = (c, _) => [Cast(c)],
            ["Shape"] = (c, _) => [ShapeOf(c)],
            ["ConstantOfShape"] = (c, _) => [ConstantOfShape(c)],
            ["Add"] = (c, _) => [Binary(c, Fn.Add, (a, b) => a + b)],
            ["Sub"] = (c, _) => [Binary(c, Fn.Sub, (a, b) => a - b)],
            ["Mul"] = (c, _) => [Binary(c, Fn.Mul, (a, b) => a * b)],
            ["Div"] = (c, _) => [Binary(c, Fn.Div, (a, b) => b == 0 ? throw new DivideByZeroException("integer division by zero in shape arithmetic") : a / b)],
            ["Equal"] = (c, _) => [c.Required(0) is Ints && c.Required(1) is Ints ? IntBinary(c, (a, b) => a == b ? 1 : 0) : Float(c, Fn.Equal(c.Node(0), c.Node(1)))],
            ["Where"] = (c, _) => [Where(c)],
            ["Pow"] = (c, _) => [Float(c, Pow(c))],
            ["Erf"] = Unary(Fn.Erf),
            ["Abs"] = Unary(Fn.Abs),
            ["Max"] = (c, n) => [Float(c, Variadic(c, n.Inputs.Count, Fn.Maximum))],
            ["Min"] = (c, n) => [Float(c, Variadic(c, n.Inputs.Count, Fn.Minimum))],
            ["Less"] = (c, _) => [Float(c, Fn.Less(c.Node(0), c.Node(1)))],
            ["Greater"] = (c, _) => [Float(c, Fn.Greater(c.Node(0), c.Node(1)))],
            ["ReduceMax"] = (c, _) => [Float(c, Reduce(c, Fn.Max, axesFromInputSince: 18))],
            ["ReduceMin"] = (c, _) => [Float(c, Reduce(c, Fn.Min, axesFromInputSince: 18))],
            ["Neg"] = Unary(Fn.Neg),
            ["Sqrt"] = Unary(Fn.Sqrt),
            ["Exp"] = Unary(Fn.Exp),
            ["Log"] = Unary(Fn.Log),
            ["Tanh"] = Unary(Fn.Tanh),
            ["Sigmoid"] = Unary(Fn.Sigmoid),
            ["Softplus"] = Unary(Fn.Softplus),
            ["Relu"] = Unary(Fn.Relu),
            ["Sin"] = Unary(Fn.Sin),
            ["Cos"] = Unary(Fn.Cos),
            ["MatMul"] = (c, _) => [Float(c, MatMul(c.Node(0), c.Node(1)))],
            ["Gemm"] = (c, _) => [Float(c, Gemm(c))],
            ["Transpose"] = (c, _) => [Transpose(c)],
            ["Reshape"] = (c, _) => [Reshape(c)],
            ["Flatten"] = (c, _) => [Flatten(c)],
            ["Unsqueeze"] = (c, _) => [Unsqueeze(c)],
            ["Squeeze"] = (c, _) => [Squeeze(c)],
            ["Concat"] = (c, n) => [Concat(c, n.Inputs.Count)],
            ["Slice"] = (c, _) => [Slice(c)],
            ["Gather"] = (c, _) => [Gather(c)],
            ["Expand"] = (c, _) => [Expand(c)],
            ["ReduceSum"] = (c, _) => [Float(c, Reduce(c, Fn.Sum, axesFromInputSince: 13))],
            ["ReduceMean"] = (c, _) => [Float(c, Reduce(c, Fn.Mean, axesFromInputSince: 18))],
            ["Softmax"] = (c, _) => [Float(c, Softmax(c))],
            ["LayerNormalization"] = (c, _) => [Float(c, LayerNorm(c))],
        };

    private static Func<OnnxContext, OnnxNodeProto, OnnxValue?[]> Unary(Func<Node, Node> f) => (c, _) => [Float(c, f(c.Node(0)))];

    private static FloatValue Float(OnnxContext c, Node node) => new(node, null);

    // ---------------------------------------------------------------- constants, casts, shapes

    private static OnnxValue Constant(OnnxContext c)
    {
        if (c.Attribute("value") is { T: { } t })
            return t.IsFloating ? FloatConstant(c, t.Floating!, OnnxModel.ToShape(t.Dims, "Constant")) : Ints.From(t);
        if (c.Attribute("value_float") is { } f) return FloatConstant(c, [f.F], Shape.Scalar);
        if (c.Attribute("value_floats") is { } fs) return FloatConstant(c, [.. fs.Floats.Select(v => (double)v)], new Shape(fs.Floats.Count));
        if (c.Attribute("value_int") is { } i) return new Ints([i.I], []);
        if (c.Attribute("value_ints") is { } ints) return Ints.Vector(ints.Ints);
        throw new NotSupportedException("a Constant without a tensor, float(s) or int(s) value (sparse or string constants are not supported).");
    }

    private static FloatValue FloatConstant(OnnxContext c, double[] data, Shape shape)
    {
        var value = NDArray.FromArray(data, shape);
        return new FloatValue(c.Graph.Constant(value), value);
    }

    private static OnnxValue Cast(OnnxContext c)
    {
        var to = (OnnxDataType)c.Int("to", 0);
        bool toFloat = to is OnnxDataType.Float or OnnxDataType.Double;
        bool toInt = to is OnnxDataType.Int64 or OnnxDataType.Int32 or OnnxDataType.Bool;
        return c.Required(0) switch
        {
            Ints n when toInt => n with { Data = to == OnnxDataType.Bool ? [.. n.Data.Select(v => v != 0 ? 1L : 0L)] : n.Data },
            Ints n when toFloat => FloatConstant(c, [.. n.Data.Select(v => (double)v)], new Shape(n.Dims)),
            FloatValue f when toFloat => f,
            _ => throw new NotSupportedException($"Cast to {to}: floating-point data is cast to float or double only, integers to int32, int64 or bool."),
        };
    }

    private static Ints ShapeOf(OnnxContext c)
    {
        int[] dims = c.Required(0) switch
        {
            FloatValue f => f.Node.Shape.ToArray(),
            Ints n => n.Dims,
            _ => [],
        };
        int rank = dims.Length;
        long start = c.Int("start", 0), end = c.Attribute("end") is { } e ? e.I : rank;
        int s = (int)Math.Clamp(start < 0 ? start + rank : start, 0, rank), t = (int)Math.Clamp(end < 0 ? end + rank : end, 0, rank);
        return Ints.Vector(dims[s..Math.Max(s, t)].Select(d => (long)d));
    }

    private static OnnxValue ConstantOfShape(OnnxContext c)
    {
        var shape = c.Ints(0, "shape");
        int[] dims = [.. shape.Data.Select(d => checked((int)d))];
        int size = dims.Aggregate(1, (a, b) => checked(a * b));
        var t = c.Attribute("value")?.T;
        if (t is { IsFloating: true })
            return FloatConstant(c, Enumerable.Repeat(t.Floating![0], size).ToArray(), new Shape(dims));
        long fill = t?.Integer?[0] ?? 0;
        if (t is null)
            return FloatConstant(c, new double[size], new Shape(dims)); // the default is a float32 zero
        return new Ints(Enumerable.Repeat(fill, size).ToArray(), dims);
    }

    // ---------------------------------------------------------------- elementwise

    private static OnnxValue Binary(OnnxContext c, Func<Node, Node, Node> f, Func<long, long, long> ints)
    {
        if (c.Required(0) is Ints a && c.Required(1) is Ints b)
            return Broadcast(a, b, ints);
        return Float(c, f(c.Node(0), c.Node(1)));
    }

    private static Ints IntBinary(OnnxContext c, Func<long, long, long> f) =>
        Broadcast(c.Ints(0, "left operand"), c.Ints(1, "right operand"), f);

    private static OnnxValue Where(OnnxContext c)
    {
        var cond = c.Required(0);
        if (cond is Ints condition && c.Required(1) is Ints x && c.Required(2) is Ints y)
        {
            var xy = Broadcast(x, y, (p, _) => p);
            var pick = Broadcast(Broadcast(condition, xy, (k, _) => k), Broadcast(x, y, (_, q) => q), (k, _) => k);
            var xs = Broadcast(x, pick, (p, _) => p);
            var ys = Broadcast(y, pick, (q, _) => q);
            return new Ints([.. pick.Data.Select((k, i) => k != 0 ? xs.Data[i] : ys.Data[i])], pick.Dims);
        }
        return Float(c, Fn.Where(c.Node(cond), c.Node(1), c.Node(2)));
    }

    /// <summary>NumPy broadcasting of two integer tensors.</summary>
    private static Ints Broadcast(Ints a, Ints b, Func<long, long, long> f)
    {
        var shape = Shape.Broadcast(new Shape(a.Dims), new Shape(b.Dims), "integer shape arithmetic");
        int rank = shape.Rank, size = shape.Size;
        var result = new long[size];
        var index = new int[rank];
        for (int flat = 0; flat < size; flat++)
        {
            int rem = flat;
            for (int d = rank - 1; d >= 0; d--) { index[d] = rem % shape[d]; rem /= shape[d]; }
            result[flat] = f(a.Data[Offset(a.Dims, index)], b.Data[Offset(b.Dims, index)]);
        }
        return new Ints(result, shape.ToArray());
    }

    private static int Offset(int[] dims, int[] index)
    {
        int offset = 0, skip = index.Length - dims.Length;
        for (int d = 0; d < dims.Length; d++)
            offset = offset * dims[d] + (dims[d] == 1 ? 0 : index[d + skip]);
        return offset;
    }

    /// <summary>Pow: a constant scalar exponent uses the power rule of any order; a tensor exponent needs a positive base for its derivatives.</summary>
    private static Node Pow(OnnxContext c)
    {
        var exponent = c.Required(1);
        bool constant = exponent is Ints { Data.Length: 1 } || exponent is FloatValue { Constant: { } k } && k.Shape.Size == 1;
        return constant ? Fn.Pow(c.Node(0), c.ConstantScalar(1, "exponent")) : Fn.Pow(c.Node(0), c.Node(exponent));
    }

    private static Node Variadic(OnnxContext c, int count, Func<Node, Node, Node> f)
    {
        var y = c.Node(0);
        for (int i = 1; i < count; i++) y = f(y, c.Node(i));
        return y;
    }

    // ---------------------------------------------------------------- linear algebra

    /// <summary>ONNX/NumPy MatMul: 1-D operands are promoted to matrices and the added axis removed again.</summary>
    private static Node MatMul(Node a, Node b)
    {
        if (a.Shape.Rank == 0 || b.Shape.Rank == 0)
            throw new ShapeException($"MatMul of {a.Shape} and {b.Shape}: scalars are not matrices.");
        bool vecA = a.Shape.Rank == 1, vecB = b.Shape.Rank == 1;
        var left = vecA ? Fn.Reshape(a, 1, a.Shape[0]) : a;
        var right = vecB ? Fn.Reshape(b, b.Shape[0], 1) : b;
        var y = Fn.MatMul(left, right);
        if (!vecA && !vecB) return y;
        int[] dims = y.Shape.ToArray();
        var kept = dims.Where((_, i) => !(vecA && i == dims.Length - 2) && !(vecB && i == dims.Length - 1)).ToArray();
        return Fn.Reshape(y, kept);
    }

    private static Node Gemm(OnnxContext c)
    {
        Node a = c.Node(0), b = c.Node(1);
        if (a.Shape.Rank != 2 || b.Shape.Rank != 2)
            throw new ShapeException($"Gemm needs matrices; got {a.Shape} and {b.Shape}.");
        double alpha = c.Float("alpha", 1f), beta = c.Float("beta", 1f);
        var y = Fn.MatMul(a, b, transposeA: c.Int("transA", 0) != 0, transposeB: c.Int("transB", 0) != 0);
        if (alpha != 1) y = y * c.Graph.Scalar(alpha);
        if (c.Input(2) is { } bias && beta != 0)
        {
            var term = c.Node(bias);
            y = y + (beta == 1 ? term : term * c.Graph.Scalar(beta));
        }
        return y;
    }

    // ---------------------------------------------------------------- shapes

    private static OnnxValue Transpose(OnnxContext c)
    {
        var x = c.Required(0);
        int rank = x is Ints n ? n.Rank : ((FloatValue)x).Node.Shape.Rank;
        int[] perm = c.IntsAttribute("perm") is { } p
            ? [.. p.Select(a => OnnxContext.Axis(a, rank, "perm axis"))]
            : [.. Enumerable.Range(0, rank).Reverse()];
        if (x is Ints ints)
        {
            if (rank <= 1) return ints;
            throw new NotSupportedException("Transpose of an integer tensor of rank > 1.");
        }
        return Float(c, Fn.Transpose(((FloatValue)x).Node, perm));
    }

    /// <summary>ONNX Reshape: 0 copies the input's size (unless allowzero), −1 is inferred.</summary>
    private static OnnxValue Reshape(OnnxContext c)
    {
        var x = c.Required(0);
        int[] input = x is Ints n ? n.Dims : ((FloatValue)x).Node.Shape.ToArray();
        long[] spec = c.Opset >= 5 ? c.Ints(1, "shape").Data : c.IntsAttribute("shape") ?? throw new NotSupportedException("Reshape without a shape.");
        bool allowZero = c.Int("allowzero", 0) != 0;
        var dims = new int[spec.Length];
        int infer = -1;
        long known = 1;
        for (int i = 0; i < spec.Length; i++)
        {
            long s = spec[i];
            if (s == -1)
            {
                if (infer >= 0) throw new ShapeException($"Reshape to [{string.Join(", ", spec)}]: more than one −1.");
                infer = i;
                continue;
            }
            if (s == 0 && !allowZero)
            {
                if (i >= input.Length) throw new ShapeException($"Reshape of [{string.Join(", ", input)}] to [{string.Join(", ", spec)}]: 0 at axis {i} copies a size the input does not have.");
                s = input[i];
            }
            if (s < 0) throw new ShapeException($"Reshape to [{string.Join(", ", spec)}]: negative size {s}.");
            dims[i] = checked((int)s);
            known *= s;
        }
        long total = input.Aggregate(1L, (a, b) => a * b);
        if (infer >= 0)
        {
            if (known == 0 || total % known != 0)
                throw new ShapeException($"Reshape of [{string.Join(", ", input)}] to [{string.Join(", ", spec)}]: the −1 cannot be inferred.");
            dims[infer] = checked((int)(total / known));
        }
        else if (known != total)
            throw new ShapeException($"Reshape of [{string.Join(", ", input)}] ({total} elements) to [{string.Join(", ", spec)}] ({known} elements).");
        return x is Ints ints ? ints with { Dims = dims } : Float(c, Fn.Reshape(((FloatValue)x).Node, dims));
    }

    private static OnnxValue Flatten(OnnxContext c)
    {
        var x = c.Node(0);
        int rank = x.Shape.Rank;
        long axis = c.Int("axis", 1);
        int a = axis == rank ? rank : OnnxContext.Axis(axis, rank, "axis");
        int outer = x.Shape.ToArray()[..a].Aggregate(1, (p, q) => p * q);
        return Float(c, Fn.Reshape(x, outer, x.Shape.Size / Math.Max(outer, 1)));
    }

    private static long[] AxesFor(OnnxContext c, int inputIndex, int since)
    {
        if (c.Opset >= since)
            return c.Input(inputIndex) is null ? [] : c.Ints(inputIndex, "axes").Data;
        return c.IntsAttribute("axes") ?? [];
    }

    private static OnnxValue Unsqueeze(OnnxContext c)
    {
        var x = c.Required(0);
        int[] input = x is Ints n ? n.Dims : ((FloatValue)x).Node.Shape.ToArray();
        long[] axes = AxesFor(c, 1, 13);
        int rank = input.Length + axes.Length;
        var inserted = new bool[rank];
        foreach (long a in axes)
        {
            int axis = OnnxContext.Axis(a, rank, "axis");
            if (inserted[axis]) throw new ShapeException($"Unsqueeze: axis {a} repeated.");
            inserted[axis] = true;
        }
        var dims = new int[rank];
        for (int d = 0, k = 0; d < rank; d++)
            dims[d] = inserted[d] ? 1 : input[k++];
        return x is Ints ints ? ints with { Dims = dims } : Float(c, Fn.Reshape(((FloatValue)x).Node, dims));
    }

    private static OnnxValue Squeeze(OnnxContext c)
    {
        var x = c.Required(0);
        int[] input = x is Ints n ? n.Dims : ((FloatValue)x).Node.Shape.ToArray();
        long[] axes = AxesFor(c, 1, 13);
        var drop = new bool[input.Length];
        if (axes.Length == 0)
            for (int d = 0; d < input.Length; d++) drop[d] = input[d] == 1;
        foreach (long a in axes)
        {
            int axis = OnnxContext.Axis(a, input.Length, "axis");
            if (input[axis] != 1) throw new ShapeException($"Squeeze: axis {a} of [{string.Join(", ", input)}] has size {input[axis]}, not 1.");
            drop[axis] = true;
        }
        int[] dims = [.. input.Where((_, d) => !drop[d])];
        return x is Ints ints ? ints with { Dims = dims } : Float(c, Fn.Reshape(((FloatValue)x).Node, dims));
    }

    private static OnnxValue Concat(OnnxContext c, int count)
    {
        var inputs = Enumerable.Range(0, count).Select(c.Required).ToList();
        if (inputs.Count == 0) throw new ShapeException("Concat of no inputs.");
        int rank = inputs[0] is Ints n0 ? n0.Rank : ((FloatValue)inputs[0]).Node.Shape.Rank;
        int axis = OnnxContext.Axis(c.Int("axis", 0), rank, "axis");
        if (inputs.All(v => v is Ints))
        {
            var parts = inputs.Cast<Ints>().ToList();
            if (rank != 1) throw new NotSupportedException("Concat of integer tensors of rank > 1.");
            return Ints.Vector(parts.SelectMany(p => p.Data));
        }
        return Float(c, Fn.Concat(axis, [.. inputs.Select(v => c.Node(v))]));
    }

    /// <summary>ONNX Slice (opset ≥ 10 takes starts/ends/axes/steps as inputs): bounds are clamped to the axis as the specification says.</summary>
    private static OnnxValue Slice(OnnxContext c)
    {
        var x = c.Required(0);
        int[] input = x is Ints n ? n.Dims : ((FloatValue)x).Node.Shape.ToArray();
        long[] starts, ends, axes, steps;
        if (c.Opset >= 10)
        {
            starts = c.Ints(1, "starts").Data;
            ends = c.Ints(2, "ends").Data;
            axes = c.Input(3) is null ? [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)] : c.Ints(3, "axes").Data;
            steps = c.Input(4) is null ? [.. Enumerable.Repeat(1L, starts.Length)] : c.Ints(4, "steps").Data;
        }
        else
        {
            starts = c.IntsAttribute("starts") ?? [];
            ends = c.IntsAttribute("ends") ?? [];
            axes = c.IntsAttribute("axes") ?? [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
            steps = [.. Enumerable.Repeat(1L, starts.Length)];
        }
        if (starts.Length != ends.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            throw new ShapeException($"Slice: starts ({starts.Length}), ends ({ends.Length}), axes ({axes.Length}) and steps ({steps.Length}) differ in length.");
        var begin = new int[input.Length];
        var size = (int[])input.Clone();
        for (int i = 0; i < starts.Length; i++)
        {
            int axis = OnnxContext.Axis(axes[i], input.Length, "axis");
            if (steps[i] != 1)
            {
                if (x is not FloatValue fv || starts.Length != 1)
                    throw new NotSupportedException($"Slice with step {steps[i]} on axis {axis} is supported for one axis of floating-point data.");
                long extent = input[axis], st = steps[i];
                long lo = st > 0 ? 0 : -1, hi = st > 0 ? extent : extent - 1;
                long from = Math.Clamp(starts[i] < 0 ? starts[i] + extent : starts[i], lo, hi);
                long to = Math.Clamp(ends[i] < 0 && ends[i] > long.MinValue / 2 ? ends[i] + extent : ends[i], lo, hi);
                return Float(c, Fn.Slice(fv.Node, axis, (int)from, (int)to, (int)st));
            }
            long dim = input[axis];
            long s = starts[i] < 0 ? starts[i] + dim : starts[i], e = ends[i] < 0 ? ends[i] + dim : ends[i];
            s = Math.Clamp(s, 0, dim);
            e = Math.Clamp(e, 0, dim);
            begin[axis] = (int)s;
            size[axis] = (int)Math.Max(0, e - s);
        }
        if (x is Ints ints)
        {
            if (ints.Rank != 1) throw new NotSupportedException("Slice of an integer tensor of rank > 1.");
            return Ints.Vector(ints.Data.Skip(begin[0]).Take(size[0]));
        }
        return Float(c, Fn.Slice(((FloatValue)x).Node, begin, size));
    }

    /// <summary>Gather along an axis with import-time indices (negative indices count from the end).</summary>
    private static OnnxValue Gather(OnnxContext c)
    {
        var data = c.Required(0);
        var indices = c.Ints(1, "indices");
        int[] input = data is Ints n ? n.Dims : ((FloatValue)data).Node.Shape.ToArray();
        int axis = OnnxContext.Axis(c.Int("axis", 0), input.Length, "axis");
        int dim = input[axis];
        int[] picks = [.. indices.Data.Select(i =>
            i >= -dim && i < dim ? (int)(i < 0 ? i + dim : i) : throw new ArgumentOutOfRangeException(nameof(indices), $"index {i} is out of range for axis {axis} of size {dim}."))];
        int[] outDims = [.. input[..axis], .. indices.Dims, .. input[(axis + 1)..]];
        if (data is Ints ints)
        {
            int outer = input[..axis].Aggregate(1, (a, b) => a * b), inner = input[(axis + 1)..].Aggregate(1, (a, b) => a * b);
            var result = new long[outer * picks.Length * inner];
            for (int o = 0; o < outer; o++)
                for (int p = 0; p < picks.Length; p++)
                    Array.Copy(ints.Data, (o * dim + picks[p]) * inner, result, (o * picks.Length + p) * inner, inner);
            return new Ints(result, outDims);
        }
        var x = ((FloatValue)data).Node;
        var slices = picks.Select(p => Fn.Slice(x, axis, p, 1)).ToArray();
        var joined = slices.Length == 1 ? slices[0] : Fn.Concat(axis, slices);
        return Float(c, Fn.Reshape(joined, outDims));
    }

    private static OnnxValue Expand(OnnxContext c)
    {
        var x = c.Node(0);
        var target = new Shape([.. c.Ints(1, "shape").Data.Select(d => checked((int)d))]);
        return Float(c, Fn.BroadcastTo(x, Shape.Broadcast(x.Shape, target, "Expand")));
    }

    // ---------------------------------------------------------------- reductions and blocks

    private static Node Reduce(OnnxContext c, Func<Node, int[]?, bool, Node> reduce, int axesFromInputSince)
    {
        var x = c.Node(0);
        long[] axes = AxesFor(c, 1, axesFromInputSince);
        bool keep = c.Int("keepdims", 1) != 0;
        if (axes.Length == 0)
        {
            if (c.Int("noop_with_empty_axes", 0) != 0) return x;
            return reduce(x, null, keep);
        }
        return reduce(x, [.. axes.Select(a => OnnxContext.Axis(a, x.Shape.Rank, "axis"))], keep);
    }

    /// <summary>Softmax along one axis (opset ≥ 13; earlier opsets flatten from the axis, the same thing for the last axis).</summary>
    private static Node Softmax(OnnxContext c)
    {
        var x = c.Node(0);
        int rank = x.Shape.Rank;
        int axis = OnnxContext.Axis(c.Int("axis", c.Opset >= 13 ? -1 : 1), rank, "axis");
        if (c.Opset < 13 && axis != rank - 1)
            throw new NotSupportedException($"Softmax of opset {c.Opset} with axis {axis} < rank − 1 (it flattens the trailing axes); export with opset ≥ 13.");
        return Fn.Softmax(x, axis);
    }

    /// <summary>LayerNormalization (opset 17): normalise over the axes from <c>axis</c> on, then scale and shift.</summary>
    private static Node LayerNorm(OnnxContext c)
    {
        var x = c.Node(0);
        int rank = x.Shape.Rank;
        int axis = OnnxContext.Axis(c.Int("axis", -1), rank, "axis");
        double epsilon = c.Float("epsilon", 1e-5f);
        return Fn.LayerNorm(x, c.Node(1), c.Input(2) is { } bias ? c.Node(bias) : null, epsilon, normalizedRank: rank - axis);
    }
}
