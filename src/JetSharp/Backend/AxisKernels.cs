using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using JetSharp.Tensors;

namespace JetSharp.Backend;

/// <summary>How <see cref="AxisKernels.Reduce{T}"/> combines the elements of a row.</summary>
internal enum Reduction
{
    Max,
    Min,
    Prod,
}

/// <summary>
/// Kernels along axes: reductions other than the sum (max, min, product, and the tie-splitting indicator of
/// the extremum), cumulative sums, and gathering / scatter-adding slices along one axis. Reductions move
/// the reduced axes last (one transpose) and then work on contiguous rows with TensorPrimitives.
/// </summary>
internal static class AxisKernels
{
    /// <summary>x with the kept axes first and the reduced ones last, as a tensor of rows (one row per output element).</summary>
    private static T[] Rows<T>(NDArray<T> x, int[] axes, out int rowLength) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var kept = Enumerable.Range(0, x.Rank).Where(i => !axes.Contains(i)).ToArray();
        rowLength = 1;
        foreach (var a in axes) rowLength *= x.Shape[a];
        int[] perm = [.. kept, .. axes];
        if (perm.Select((p, i) => p == i).All(b => b)) return x.Data;
        var t = new NDArray<T>(new Shape([.. perm.Select(p => x.Shape[p])]));
        Layout.Transpose(x, perm, t);
        return t.Data;
    }

    private static void CheckAxes(Shape s, int[] axes, string op)
    {
        if (axes.Any(a => (uint)a >= (uint)s.Rank) || axes.Distinct().Count() != axes.Length)
            throw new ArgumentException($"{op}: axes [{string.Join(", ", axes)}] are not distinct axes of {s}.");
    }

    /// <summary>result[row] = max / min / product over the reduced axes; result has one element per kept position (any keepDims layout).</summary>
    public static void Reduce<T>(Reduction op, NDArray<T> x, int[] axes, NDArray<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckAxes(x.Shape, axes, $"AxisKernels.Reduce({op})");
        var rows = Rows(x, axes, out int len);
        var r = result.Data;
        if (len == 0)
            throw new ArgumentException($"AxisKernels.Reduce({op}): cannot reduce over an empty axis of {x.Shape}.");
        if (r.Length * (long)len != rows.Length)
            throw new ArgumentException($"AxisKernels.Reduce({op}): result {result.Shape} does not match {x.Shape} reduced over [{string.Join(", ", axes)}].");
        int n = r.Length;
        int pieces = Parallelism.Pieces((long)n * len);
        Parallelism.Run(pieces, p =>
        {
            int s = (int)Parallelism.Start(n, pieces, p), e = (int)Parallelism.Start(n, pieces, p + 1);
            for (int i = s; i < e; i++)
            {
                var row = new ReadOnlySpan<T>(rows, i * len, len);
                r[i] = op switch
                {
                    Reduction.Max => TensorPrimitives.Max(row),
                    Reduction.Min => TensorPrimitives.Min(row),
                    _ => TensorPrimitives.Product(row),
                };
            }
        });
    }

    /// <summary>
    /// result = 1/c where x equals the max (min) of its row over <paramref name="axes"/>, c the number of
    /// elements that do, else 0: the derivative of the extremum, ties sharing it evenly. Same shape as x.
    /// </summary>
    public static void ExtremumWeights<T>(bool max, NDArray<T> x, int[] axes, NDArray<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckAxes(x.Shape, axes, "AxisKernels.ExtremumWeights");
        if (result.Shape != x.Shape) throw new ArgumentException($"AxisKernels.ExtremumWeights: result {result.Shape} differs from {x.Shape}.");
        var rows = Rows(x, axes, out int len);
        var w = new T[rows.Length];
        int n = len == 0 ? 0 : rows.Length / len;
        for (int i = 0; i < n; i++)
        {
            var row = new ReadOnlySpan<T>(rows, i * len, len);
            T m = max ? TensorPrimitives.Max(row) : TensorPrimitives.Min(row);
            int count = 0;
            foreach (var v in row) if (v == m) count++;
            T share = count == 0 ? T.Zero : T.One / T.CreateTruncating(count);
            for (int j = 0; j < len; j++) w[i * len + j] = row[j] == m ? share : T.Zero;
        }
        // Back from the rows layout to x's: the inverse of the permutation kept-then-reduced.
        var kept = Enumerable.Range(0, x.Rank).Where(i => !axes.Contains(i)).ToArray();
        int[] perm = [.. kept, .. axes];
        var inverse = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        var permuted = new NDArray<T>(new Shape([.. perm.Select(p => x.Shape[p])]), w);
        Layout.Transpose(permuted, inverse, result);
    }

    /// <summary>(product of extents before axis, extent of axis, product after).</summary>
    private static (int Outer, int N, int Inner) Split(Shape s, int axis)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= s[i];
        for (int i = axis + 1; i < s.Rank; i++) inner *= s[i];
        return (outer, s[axis], inner);
    }

    /// <summary>Cumulative sum along <paramref name="axis"/> (from the far end when <paramref name="reverse"/>); same shape.</summary>
    public static void CumSum<T>(NDArray<T> x, int axis, bool reverse, NDArray<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (result.Shape != x.Shape || (uint)axis >= (uint)x.Rank)
            throw new ArgumentException($"AxisKernels.CumSum: axis {axis} of {x.Shape} into {result.Shape}.");
        var (outer, n, inner) = Split(x.Shape, axis);
        T[] X = x.Data, R = result.Data;
        int pieces = Parallelism.Pieces((long)outer * n * inner);
        pieces = Math.Max(1, Math.Min(pieces, outer));
        Parallelism.Run(pieces, p =>
        {
            int s = (int)Parallelism.Start(outer, pieces, p), e = (int)Parallelism.Start(outer, pieces, p + 1);
            for (int o = s; o < e; o++)
            {
                int baseOffset = o * n * inner;
                for (int step = 0; step < n; step++)
                {
                    int i = reverse ? n - 1 - step : step;
                    var dst = R.AsSpan(baseOffset + i * inner, inner);
                    var src = X.AsSpan(baseOffset + i * inner, inner);
                    if (step == 0) src.CopyTo(dst);
                    else TensorPrimitives.Add(src, R.AsSpan(baseOffset + (reverse ? i + 1 : i - 1) * inner, inner), dst);
                }
            }
        });
    }

    /// <summary>result[o, j, :] = x[o, indices[j], :] along <paramref name="axis"/> (indices already validated).</summary>
    public static void Take<T>(NDArray<T> x, int axis, int[] indices, NDArray<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (outer, n, inner) = Split(x.Shape, axis);
        if ((long)outer * indices.Length * inner != result.Size)
            throw new ArgumentException($"AxisKernels.Take: {indices.Length} indices along axis {axis} of {x.Shape} do not fill {result.Shape}.");
        T[] X = x.Data, R = result.Data;
        int m = indices.Length;
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < m; j++)
            {
                int idx = indices[j];
                if ((uint)idx >= (uint)n) throw new IndexOutOfRangeException($"AxisKernels.Take: index {idx} outside axis {axis} of {x.Shape}.");
                X.AsSpan((o * n + idx) * inner, inner).CopyTo(R.AsSpan((o * m + j) * inner, inner));
            }
    }

    /// <summary>result = zeros with result[o, indices[j], :] += x[o, j, :] (the adjoint of <see cref="Take{T}"/>).</summary>
    public static void ScatterAdd<T>(NDArray<T> x, int axis, int[] indices, NDArray<T> result) where T : unmanaged, IFloatingPointIeee754<T> =>
        AddSlices(null, x, axis, indices, result, "ScatterAdd");

    /// <summary>
    /// result = target with result[o, indices[j], :] += x[o, j, :] (repeated indices accumulate). When result's storage is
    /// target's (the executor hands target's buffer over when it dies here) only the slices are added; otherwise target is
    /// copied first.
    /// </summary>
    public static void ScatterAddInto<T>(NDArray<T> target, NDArray<T> x, int axis, int[] indices, NDArray<T> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (result.Shape != target.Shape)
            throw new ArgumentException($"AxisKernels.ScatterAddInto: result {result.Shape} differs from the target {target.Shape}.");
        AddSlices(target, x, axis, indices, result, "ScatterAddInto");
    }

    /// <summary>
    /// result = target (zeros when null) with slice j of x added at indices[j] along the axis. Every index is checked
    /// before anything is written.
    /// </summary>
    private static void AddSlices<T>(NDArray<T>? target, NDArray<T> x, int axis, int[] indices, NDArray<T> result, string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (outer, n, inner) = Split(result.Shape, axis);
        int m = indices.Length;
        if ((long)outer * m * inner != x.Size)
            throw new ArgumentException($"AxisKernels.{name}: {x.Shape} does not hold {m} slices along axis {axis} of {result.Shape}.");
        foreach (int idx in indices)
            if ((uint)idx >= (uint)n) throw new IndexOutOfRangeException($"AxisKernels.{name}: index {idx} outside axis {axis} of {result.Shape}.");
        T[] X = x.Data, R = result.Data;
        if (target is null) Array.Clear(R);
        else if (!ReferenceEquals(target.Data, R)) target.Data.AsSpan().CopyTo(R);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < m; j++)
            {
                var dst = R.AsSpan((o * n + indices[j]) * inner, inner);
                TensorPrimitives.Add(dst, X.AsSpan((o * m + j) * inner, inner), dst);
            }
    }
}
