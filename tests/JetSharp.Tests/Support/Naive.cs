namespace JetSharp.Tests;

/// <summary>
/// Deliberately simple reference implementations of the primitives' forward values (coordinate loops,
/// NumPy broadcasting written out by hand). They share no code with the library's kernels, so a kernel
/// that computes the wrong thing is caught here rather than silently agreeing with itself in a
/// finite-difference test (which runs the same kernel on both sides).
/// </summary>
internal static class Naive
{
    public static IEnumerable<int[]> Coords(Shape s)
    {
        var c = new int[s.Rank];
        for (int flat = 0; flat < s.Size; flat++)
        {
            int rem = flat;
            for (int d = s.Rank - 1; d >= 0; d--) { c[d] = rem % s[d]; rem /= s[d]; }
            yield return (int[])c.Clone();
        }
    }

    public static int Flat(int[] c, Shape s)
    {
        int f = 0;
        for (int d = 0; d < s.Rank; d++) f = f * s[d] + c[d];
        return f;
    }

    public static Shape BroadcastShape(Shape a, Shape b)
    {
        int r = Math.Max(a.Rank, b.Rank);
        var dims = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Rank) >= 0 ? a[i - (r - a.Rank)] : 1;
            int db = i - (r - b.Rank) >= 0 ? b[i - (r - b.Rank)] : 1;
            if (da != db && da != 1 && db != 1) throw new InvalidOperationException("test reference: incompatible shapes");
            dims[i] = Math.Max(da, db);
        }
        return new Shape(dims);
    }

    /// <summary>Flat index into a tensor of shape <paramref name="from"/> that is broadcast to coordinates <paramref name="c"/> of a larger shape.</summary>
    public static int BroadcastIndex(int[] c, Shape from)
    {
        int lead = c.Length - from.Rank, f = 0;
        for (int d = 0; d < from.Rank; d++) f = f * from[d] + (from[d] == 1 ? 0 : c[d + lead]);
        return f;
    }

    public static NDArray<double> Map(NDArray<double> x, Func<double, double> f)
    {
        var r = new NDArray<double>(x.Shape);
        for (int i = 0; i < x.Size; i++) r.Data[i] = f(x.Data[i]);
        return r;
    }

    public static NDArray<double> Zip(NDArray<double> a, NDArray<double> b, Func<double, double, double> f)
    {
        var shape = BroadcastShape(a.Shape, b.Shape);
        var r = new NDArray<double>(shape);
        foreach (var c in Coords(shape))
            r.Data[Flat(c, shape)] = f(a.Data[BroadcastIndex(c, a.Shape)], b.Data[BroadcastIndex(c, b.Shape)]);
        return r;
    }

    public static NDArray<double> BroadcastTo(NDArray<double> x, Shape shape)
    {
        var r = new NDArray<double>(shape);
        foreach (var c in Coords(shape)) r.Data[Flat(c, shape)] = x.Data[BroadcastIndex(c, x.Shape)];
        return r;
    }

    /// <summary>op(A)·op(B) with broadcast batch axes, as a triple loop per batch entry.</summary>
    public static NDArray<double> MatMul(NDArray<double> a, NDArray<double> b, bool ta = false, bool tb = false)
    {
        Shape sa = a.Shape, sb = b.Shape;
        int m = ta ? sa[^1] : sa[^2], k = ta ? sa[^2] : sa[^1], n = tb ? sb[^2] : sb[^1];
        var batchA = new Shape(sa.ToArray()[..^2]);
        var batchB = new Shape(sb.ToArray()[..^2]);
        var batch = BroadcastShape(batchA, batchB);
        var shape = new Shape([.. batch, m, n]);
        var r = new NDArray<double>(shape);
        foreach (var bc in Coords(batch))
        {
            int offA = BroadcastIndex(bc, batchA) * sa[^1] * sa[^2];
            int offB = BroadcastIndex(bc, batchB) * sb[^1] * sb[^2];
            int offC = Flat(bc, batch) * m * n;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                    {
                        double av = ta ? a.Data[offA + p * sa[^1] + i] : a.Data[offA + i * sa[^1] + p];
                        double bv = tb ? b.Data[offB + j * sb[^1] + p] : b.Data[offB + p * sb[^1] + j];
                        s += av * bv;
                    }
                    r.Data[offC + i * n + j] = s;
                }
        }
        return r;
    }

    public static NDArray<double> Sum(NDArray<double> x, int[]? axes, bool keepDims)
    {
        var ax = (axes ?? [.. Enumerable.Range(0, x.Rank)]).Select(a => a < 0 ? a + x.Rank : a).ToHashSet();
        var kept = new Shape([.. x.Shape.Select((d, i) => ax.Contains(i) ? 1 : d)]);
        var acc = new NDArray<double>(kept);
        foreach (var c in Coords(x.Shape))
        {
            var kc = c.Select((v, i) => ax.Contains(i) ? 0 : v).ToArray();
            acc.Data[Flat(kc, kept)] += x.Data[Flat(c, x.Shape)];
        }
        if (keepDims) return acc;
        return new NDArray<double>(new Shape([.. x.Shape.Where((_, i) => !ax.Contains(i))]), acc.Data);
    }

    public static NDArray<double> Reshape(NDArray<double> x, Shape s) => new(s, (double[])x.Data.Clone());

    public static NDArray<double> Transpose(NDArray<double> x, int[] perm)
    {
        var shape = new Shape([.. perm.Select(p => x.Shape[p])]);
        var r = new NDArray<double>(shape);
        foreach (var c in Coords(shape))
        {
            var src = new int[x.Rank];
            for (int i = 0; i < perm.Length; i++) src[perm[i]] = c[i];
            r.Data[Flat(c, shape)] = x.Data[Flat(src, x.Shape)];
        }
        return r;
    }

    public static NDArray<double> Slice(NDArray<double> x, int[] starts, int[] sizes)
    {
        var shape = new Shape(sizes);
        var r = new NDArray<double>(shape);
        foreach (var c in Coords(shape))
            r.Data[Flat(c, shape)] = x.Data[Flat([.. c.Select((v, i) => v + starts[i])], x.Shape)];
        return r;
    }

    public static NDArray<double> Pad(NDArray<double> x, int[] before, int[] after)
    {
        var shape = new Shape([.. x.Shape.Select((d, i) => d + before[i] + after[i])]);
        var r = new NDArray<double>(shape);
        foreach (var c in Coords(x.Shape))
            r.Data[Flat([.. c.Select((v, i) => v + before[i])], shape)] = x.Data[Flat(c, x.Shape)];
        return r;
    }

    public static NDArray<double> Concat(int axis, params NDArray<double>[] xs)
    {
        var dims = xs[0].Shape.ToArray();
        dims[axis] = xs.Sum(x => x.Shape[axis]);
        var shape = new Shape(dims);
        var r = new NDArray<double>(shape);
        int offset = 0;
        foreach (var x in xs)
        {
            foreach (var c in Coords(x.Shape))
            {
                var dc = (int[])c.Clone();
                dc[axis] += offset;
                r.Data[Flat(dc, shape)] = x.Data[Flat(c, x.Shape)];
            }
            offset += x.Shape[axis];
        }
        return r;
    }
}
