using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using JetSharp.Tensors;

namespace JetSharp.Backend;

/// <summary>
/// Kernels that move elements without arithmetic. The result is pre-allocated by the caller with
/// the right shape and completely overwritten; it must not share storage with an input.
/// </summary>
internal static class Layout
{
    /// <summary>
    /// Edge of the transpose buffer (32 KB of doubles, the size of L1). Measured best of 8–64 on
    /// [2048, 3072], [2000, 3000], [768, 16384] and [16384, 768], float and double.
    /// </summary>
    private const int Tile = 64;

    /// <summary>result.Shape[i] = x.Shape[perm[i]].</summary>
    public static void Transpose<T>(NDArray<T> x, int[] perm, NDArray<T> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = x.Rank;
        CheckPermutation(x.Shape, perm, result.Shape);
        T[] X = x.Data, R = result.Data;
        if (X.Length == 0) return;

        // Extent-1 axes can go anywhere without moving data: drop them and renumber the rest.
        Span<int> newIndex = stackalloc int[rank], xd = stackalloc int[rank];
        int k = 0;
        for (int i = 0; i < rank; i++)
        {
            if (x.Shape[i] == 1) newIndex[i] = -1;
            else
            {
                newIndex[i] = k;
                xd[k++] = x.Shape[i];
            }
        }
        Span<int> p2 = stackalloc int[k];
        for (int i = 0, j = 0; i < rank; i++)
            if (newIndex[perm[i]] >= 0) p2[j++] = newIndex[perm[i]];

        // Axes of x that stay adjacent and in order in the result move as one block: merge them.
        Span<int> gStart = stackalloc int[k], gLen = stackalloc int[k];
        int g = 0;
        for (int i = 0; i < k; i++)
        {
            if (g > 0 && p2[i] == gStart[g - 1] + gLen[g - 1]) gLen[g - 1]++;
            else
            {
                gStart[g] = p2[i];
                gLen[g] = 1;
                g++;
            }
        }
        // cp: the collapsed permutation; cd: the collapsed extents of x in x's order.
        int[] cp = new int[g], cd = new int[g];
        for (int a = 0; a < g; a++)
        {
            int order = 0;
            for (int b = 0; b < g; b++)
                if (gStart[b] < gStart[a]) order++;
            cp[a] = order;
            int d = 1;
            for (int i = gStart[a]; i < gStart[a] + gLen[a]; i++) d *= xd[i];
            cd[order] = d;
        }

        if (g <= 1)
        {
            Elementwise.Copy(X, R);
            return;
        }
        if (g == 2)
        {
            Transpose2D(X, R, 1, cd[0], cd[1]);
            return;
        }
        if (g == 3 && cp[0] == 0 && cp[1] == 2 && cp[2] == 1)
        {
            Transpose2D(X, R, cd[0], cd[1], cd[2]);
            return;
        }
        StridedGather(X, R, cd, cp);
    }

    /// <summary>result = x repeated along the axes where x has extent 1 (or is missing); x.Shape must broadcast to result.Shape.</summary>
    public static void BroadcastTo<T>(NDArray<T> x, NDArray<T> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!x.Shape.BroadcastsTo(result.Shape))
            throw new ArgumentException($"Layout.BroadcastTo: shape {x.Shape} does not broadcast to {result.Shape}.");
        T[] X = x.Data, R = result.Data;
        int n = R.Length;
        if (n == 0) return;
        int rank = result.Rank;
        Span<int> d = stackalloc int[rank + 1], sx = stackalloc int[rank + 1], unused = stackalloc int[rank + 1];
        int cr = ShapeMath.CollapseBroadcast(result.Shape, x.Shape, Shape.Scalar, d, sx, unused);
        int[] dims = d[..cr].ToArray(), strides = sx[..cr].ToArray();
        int inner = dims[cr - 1], si = strides[cr - 1], outerRank = cr - 1;
        int pieces = Parallelism.Pieces(n);
        Parallelism.Run(pieces, p =>
        {
            long s = Parallelism.Start(n, pieces, p), e = Parallelism.Start(n, pieces, p + 1);
            Span<int> idx = stackalloc int[outerRank];
            var od = new Odometer(dims.AsSpan(0, outerRank), strides.AsSpan(0, outerRank), strides.AsSpan(0, outerRank), idx, s / inner);
            int j = (int)(s % inner);
            while (s < e)
            {
                int len = (int)Math.Min(inner - j, e - s);
                var dst = R.AsSpan((int)s, len);
                if (si == 0) dst.Fill(X[od.Off0]);
                else X.AsSpan(od.Off0 + j, len).CopyTo(dst);
                s += len;
                j = 0;
                od.Next();
            }
        });
    }

    /// <summary>result = x[starts[i] : starts[i] + result.Shape[i]] along every axis i.</summary>
    public static void Slice<T>(NDArray<T> x, int[] starts, NDArray<T> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool ok = starts.Length == x.Rank && result.Rank == x.Rank;
        for (int i = 0; ok && i < x.Rank; i++)
            ok = starts[i] >= 0 && (long)starts[i] + result.Shape[i] <= x.Shape[i];
        if (!ok)
            throw new ArgumentException($"Layout.Slice: a {result.Shape} window at [{string.Join(", ", starts)}] does not fit in {x.Shape}.");
        CopyBox(x.Data, x.Shape, starts, result.Data, result.Shape, null, result.Shape);
    }

    /// <summary>result = zeros with x written at offset <paramref name="before"/> (the adjoint of <see cref="Slice{T}"/>).</summary>
    public static void Pad<T>(NDArray<T> x, int[] before, NDArray<T> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool ok = before.Length == x.Rank && result.Rank == x.Rank;
        for (int i = 0; ok && i < x.Rank; i++)
            ok = before[i] >= 0 && (long)before[i] + x.Shape[i] <= result.Shape[i];
        if (!ok)
            throw new ArgumentException($"Layout.Pad: {x.Shape} placed at [{string.Join(", ", before)}] does not fit in {result.Shape}.");
        if (x.Size != result.Size) Clear(result.Data);
        CopyBox(x.Data, x.Shape, null, result.Data, result.Shape, before, x.Shape);
    }

    /// <summary>result = the inputs laid end to end along <paramref name="axis"/>; all other extents must agree.</summary>
    public static void Concat<T>(IReadOnlyList<NDArray<T>> xs, int axis, NDArray<T> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = result.Rank;
        bool ok = xs.Count > 0 && (uint)axis < (uint)rank;
        long total = 0;
        for (int k = 0; ok && k < xs.Count; k++)
        {
            var s = xs[k].Shape;
            ok = s.Rank == rank;
            for (int i = 0; ok && i < rank; i++) ok = i == axis || s[i] == result.Shape[i];
            if (ok) total += s[axis];
        }
        if (!ok || total != result.Shape[axis])
            throw new ArgumentException(
                $"Layout.Concat: inputs {string.Join(", ", xs.Select(t => t.Shape.ToString()))} do not concatenate along axis {axis} to {result.Shape}.");
        var offset = new int[rank];
        foreach (var t in xs)
        {
            CopyBox(t.Data, t.Shape, null, result.Data, result.Shape, offset, t.Shape);
            offset[axis] += t.Shape[axis];
        }
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>
    /// Copies the box of extents <paramref name="box"/> at <paramref name="srcOff"/> in src to
    /// <paramref name="dstOff"/> in dst (null offsets mean the origin). Trailing axes the box spans
    /// completely in both tensors are contiguous together, so they fold into one long run per copy.
    /// </summary>
    private static void CopyBox<T>(T[] src, Shape srcShape, int[]? srcOff, T[] dst, Shape dstShape, int[]? dstOff, Shape box)
        where T : unmanaged
    {
        int rank = box.Rank;
        long total = box.Size;
        if (total == 0) return;
        Span<int> ss = stackalloc int[rank], ds = stackalloc int[rank];
        int accS = 1, accD = 1, baseS = 0, baseD = 0;
        for (int i = rank - 1; i >= 0; i--)
        {
            ss[i] = accS;
            ds[i] = accD;
            accS *= srcShape[i];
            accD *= dstShape[i];
            baseS += (srcOff?[i] ?? 0) * ss[i];
            baseD += (dstOff?[i] ?? 0) * ds[i];
        }
        int m = rank - 1;
        int run = rank == 0 ? 1 : box[m];
        while (m > 0 && box[m] == srcShape[m] && box[m] == dstShape[m])
        {
            m--;
            run *= box[m];
        }
        int outerRank = Math.Max(m, 0);
        int[] dims = new int[outerRank], sStr = ss[..outerRank].ToArray(), dStr = ds[..outerRank].ToArray();
        for (int i = 0; i < outerRank; i++) dims[i] = box[i];

        int pieces = Parallelism.Pieces(total);
        Parallelism.Run(pieces, p =>
        {
            long s = Parallelism.Start(total, pieces, p), e = Parallelism.Start(total, pieces, p + 1);
            Span<int> idx = stackalloc int[outerRank];
            var od = new Odometer(dims, sStr, dStr, idx, s / run);
            int j = (int)(s % run);
            while (s < e)
            {
                int len = (int)Math.Min(run - j, e - s);
                src.AsSpan(baseS + od.Off0 + j, len).CopyTo(dst.AsSpan(baseD + od.Off1 + j, len));
                s += len;
                j = 0;
                od.Next();
            }
        });
    }

    private static void Clear<T>(T[] data) where T : unmanaged
    {
        int n = data.Length;
        int pieces = Parallelism.Pieces(n);
        Parallelism.Run(pieces, p =>
        {
            int s = (int)Parallelism.Start(n, pieces, p), e = (int)Parallelism.Start(n, pieces, p + 1);
            data.AsSpan(s, e - s).Clear();
        });
    }

    /// <summary>
    /// batch × [M, N] → batch × [N, M] through a Tile × Tile buffer: each tile's source rows are
    /// read as contiguous runs and scattered into the buffer (which lives in L1), then the buffer's
    /// rows are written out as contiguous runs. Neither side ever has many strided streams live at
    /// once, which is what makes a direct tiled transpose slow when a row length is a power of two
    /// (the rows of a tile then share cache sets and evict each other from the 8-way L1) and what
    /// costs a TLB miss per cache line when a tile column is walked down thousands of rows. On
    /// [2048, 3072] and [16384, 768] this was ~2× faster than direct 8- to 64-wide tiles.
    /// Threads take disjoint groups of destination rows, so they never write the same cache line. X and R may be longer
    /// than batch·M·N (workspaces); only that many elements are read and written.
    /// </summary>
    internal static void Transpose2D<T>(T[] X, T[] R, int batch, int M, int N)
        where T : unmanaged
    {
        int groups = (N + Tile - 1) / Tile;
        long units = (long)batch * groups;
        int pieces = (int)Math.Min(Parallelism.Pieces((long)batch * M * N, computeBound: true), units);
        Parallelism.Run(pieces, p =>
        {
            long u0 = Parallelism.Start(units, pieces, p), u1 = Parallelism.Start(units, pieces, p + 1);
            Span<T> buffer = stackalloc T[Tile * Tile];
            for (long u = u0; u < u1; u++)
            {
                int b = (int)(u / groups);
                int j0 = (int)(u % groups) * Tile;
                TransposeTileColumn(X, R, (long)b * M * N, M, N, j0, Math.Min(Tile, N - j0), buffer);
            }
        });
    }

    /// <summary>Destination rows j0..j0+jw-1 (source columns) of one [M, N] → [N, M] transpose at element offset off.</summary>
    private static void TransposeTileColumn<T>(T[] X, T[] R, long off, int M, int N, int j0, int jw, Span<T> buffer)
        where T : unmanaged
    {
        ref T src = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(X), (nint)off + j0);
        ref T buf = ref MemoryMarshal.GetReference(buffer);
        for (int i0 = 0; i0 < M; i0 += Tile)
        {
            int iw = Math.Min(Tile, M - i0);
            for (int i = 0; i < iw; i++)
            {
                ref T s = ref Unsafe.Add(ref src, (nint)(i0 + i) * N);
                for (int j = 0; j < jw; j++)
                    Unsafe.Add(ref buf, j * Tile + i) = Unsafe.Add(ref s, j);
            }
            for (int j = 0; j < jw; j++)
                buffer.Slice(j * Tile, iw).CopyTo(R.AsSpan((int)(off + (long)(j0 + j) * M + i0), iw));
        }
    }

    /// <summary>
    /// General permutation: walks the (contiguous) result in order and gathers from x. When the
    /// innermost axis stays innermost the inner loop is a contiguous row copy.
    /// </summary>
    private static void StridedGather<T>(T[] X, T[] R, int[] cd, int[] cp)
        where T : unmanaged
    {
        int c = cd.Length;
        Span<int> xs = stackalloc int[c];
        ShapeMath.RowMajorStrides(cd, xs);
        int outerRank = c - 1;
        int[] dims = new int[outerRank], strides = new int[outerRank];
        for (int i = 0; i < outerRank; i++)
        {
            dims[i] = cd[cp[i]];
            strides[i] = xs[cp[i]];
        }
        int inner = cd[cp[c - 1]], si = xs[cp[c - 1]];
        long n = R.Length;
        // Strided reads are latency-bound; two cores keep twice as many misses in flight.
        int pieces = Parallelism.Pieces(n, computeBound: si != 1);
        Parallelism.Run(pieces, p =>
        {
            long s = Parallelism.Start(n, pieces, p), e = Parallelism.Start(n, pieces, p + 1);
            Span<int> idx = stackalloc int[outerRank];
            var od = new Odometer(dims, strides, strides, idx, s / inner);
            int j = (int)(s % inner);
            while (s < e)
            {
                int len = (int)Math.Min(inner - j, e - s);
                if (si == 1)
                    X.AsSpan(od.Off0 + j, len).CopyTo(R.AsSpan((int)s, len));
                else
                {
                    ref T src = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(X), od.Off0 + (nint)j * si);
                    var dst = R.AsSpan((int)s, len);
                    for (int t = 0; t < dst.Length; t++) dst[t] = Unsafe.Add(ref src, (nint)t * si);
                }
                s += len;
                j = 0;
                od.Next();
            }
        });
    }

    private static void CheckPermutation(Shape x, int[] perm, Shape r)
    {
        // A bit set keeps the check allocation-free; ranks above 64 are rejected.
        bool ok = perm.Length == x.Rank && r.Rank == x.Rank && x.Rank <= 64;
        ulong seen = 0;
        for (int i = 0; ok && i < perm.Length; i++)
        {
            int a = perm[i];
            ok = (uint)a < (uint)x.Rank && (seen & (1UL << a)) == 0 && r[i] == x[a];
            seen |= 1UL << a;
        }
        if (!ok)
            throw new ArgumentException($"Layout.Transpose: [{string.Join(", ", perm)}] is not a permutation taking {x} to {r}.");
    }
}
