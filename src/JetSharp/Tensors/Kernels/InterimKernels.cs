namespace JetSharp.Kernels;

// Interim index-loop kernels, replaced by the vectorised Elementwise/Reduce/Layout files.
public enum BinaryOp { Add, Sub, Mul, Div }
public enum UnaryOp { Neg, Exp, Log, Sin, Cos, Tanh, Sigmoid, Sqrt, Softplus, Relu, Step, Reciprocal, Square, Abs }

internal static class Idx
{
    public static int Offset(int flat, Shape outShape, Shape inShape)
    {
        int off = 0, stride = 1, rem = flat;
        int lead = outShape.Rank - inShape.Rank;
        var coords = new int[outShape.Rank];
        for (int i = outShape.Rank - 1; i >= 0; i--) { coords[i] = rem % outShape[i]; rem /= outShape[i]; }
        for (int i = inShape.Rank - 1; i >= 0; i--)
        {
            int c = inShape[i] == 1 ? 0 : coords[i + lead];
            off += c * stride;
            stride *= inShape[i];
        }
        return off;
    }
}

public static class Elementwise
{
    public static void Binary<T>(BinaryOp op, Tensor<T> a, Tensor<T> b, Tensor<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < result.Size; i++)
        {
            T x = a.Data[Idx.Offset(i, result.Shape, a.Shape)], y = b.Data[Idx.Offset(i, result.Shape, b.Shape)];
            result.Data[i] = op switch { BinaryOp.Add => x + y, BinaryOp.Sub => x - y, BinaryOp.Mul => x * y, _ => x / y };
        }
    }

    public static void Unary<T>(UnaryOp op, Tensor<T> x, Tensor<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Size; i++)
        {
            T v = x.Data[i];
            result.Data[i] = op switch
            {
                UnaryOp.Neg => -v, UnaryOp.Exp => T.Exp(v), UnaryOp.Log => T.Log(v), UnaryOp.Sin => T.Sin(v), UnaryOp.Cos => T.Cos(v),
                UnaryOp.Tanh => T.Tanh(v), UnaryOp.Sigmoid => T.One / (T.One + T.Exp(-v)), UnaryOp.Sqrt => T.Sqrt(v),
                UnaryOp.Softplus => T.Log(T.One + T.Exp(-T.Abs(v))) + T.Max(v, T.Zero), UnaryOp.Relu => T.Max(v, T.Zero),
                UnaryOp.Step => v > T.Zero ? T.One : T.Zero, UnaryOp.Reciprocal => T.One / v, UnaryOp.Square => v * v, _ => T.Abs(v),
            };
        }
    }

    public static void Pow<T>(Tensor<T> x, double p, Tensor<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Size; i++) result.Data[i] = p == 0 ? T.One : T.Pow(x.Data[i], T.CreateTruncating(p));
    }
}

public static class Reduce
{
    public static void Sum<T>(Tensor<T> x, int[] axes, bool keepDims, Tensor<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Array.Clear(result.Data);
        var keep = x.Shape.Select((d, i) => axes.Contains(i) ? 1 : d).ToArray();
        var keptShape = new Shape(keep);
        var strides = keptShape.Strides();
        var coords = new int[x.Rank];
        for (int i = 0; i < x.Size; i++)
        {
            int rem = i, off = 0;
            for (int d = x.Rank - 1; d >= 0; d--) { coords[d] = rem % x.Shape[d]; rem /= x.Shape[d]; }
            for (int d = 0; d < x.Rank; d++) off += (axes.Contains(d) ? 0 : coords[d]) * strides[d];
            result.Data[off] += x.Data[i];
        }
    }
}

public static class Layout
{
    public static void Transpose<T>(Tensor<T> x, int[] perm, Tensor<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xs = x.Shape.Strides();
        var coords = new int[result.Rank];
        for (int i = 0; i < result.Size; i++)
        {
            int rem = i, off = 0;
            for (int d = result.Rank - 1; d >= 0; d--) { coords[d] = rem % result.Shape[d]; rem /= result.Shape[d]; }
            for (int d = 0; d < result.Rank; d++) off += coords[d] * xs[perm[d]];
            result.Data[i] = x.Data[off];
        }
    }

    public static void BroadcastTo<T>(Tensor<T> x, Tensor<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < result.Size; i++) result.Data[i] = x.Data[Idx.Offset(i, result.Shape, x.Shape)];
    }

    public static void Slice<T>(Tensor<T> x, int[] starts, Tensor<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xs = x.Shape.Strides();
        var coords = new int[result.Rank];
        for (int i = 0; i < result.Size; i++)
        {
            int rem = i, off = 0;
            for (int d = result.Rank - 1; d >= 0; d--) { coords[d] = rem % result.Shape[d]; rem /= result.Shape[d]; }
            for (int d = 0; d < result.Rank; d++) off += (coords[d] + starts[d]) * xs[d];
            result.Data[i] = x.Data[off];
        }
    }

    public static void Pad<T>(Tensor<T> x, int[] before, Tensor<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Array.Clear(result.Data);
        var rs = result.Shape.Strides();
        var coords = new int[x.Rank];
        for (int i = 0; i < x.Size; i++)
        {
            int rem = i, off = 0;
            for (int d = x.Rank - 1; d >= 0; d--) { coords[d] = rem % x.Shape[d]; rem /= x.Shape[d]; }
            for (int d = 0; d < x.Rank; d++) off += (coords[d] + before[d]) * rs[d];
            result.Data[off] = x.Data[i];
        }
    }

    public static void Concat<T>(IReadOnlyList<Tensor<T>> xs, int axis, Tensor<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int offset = 0;
        foreach (var x in xs)
        {
            var before = new int[x.Rank];
            before[axis] = offset;
            var rs = result.Shape.Strides();
            var coords = new int[x.Rank];
            for (int i = 0; i < x.Size; i++)
            {
                int rem = i, off = 0;
                for (int d = x.Rank - 1; d >= 0; d--) { coords[d] = rem % x.Shape[d]; rem /= x.Shape[d]; }
                for (int d = 0; d < x.Rank; d++) off += (coords[d] + before[d]) * rs[d];
                result.Data[off] = x.Data[i];
            }
            offset += x.Shape[axis];
        }
    }
}
