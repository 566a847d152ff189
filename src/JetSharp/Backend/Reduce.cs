using System.Buffers;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using JetSharp.Tensors;

namespace JetSharp.Backend;

/// <summary>Reductions over dense row-major tensors.</summary>
internal static class Reduce
{
    /// <summary>Runs shorter than this are summed with a plain loop rather than a TensorPrimitives call.</summary>
    private const int SmallRun = 16;

    /// <summary>
    /// Width of the column strips a kept innermost axis is cut into. The strip of the result being
    /// accumulated stays in L1/L2 while the rows of x stream past it, instead of the whole result
    /// row making a round trip through memory for every reduced row.
    /// </summary>
    private const int MaxStrip = 4096;
    private const int MinStrip = 512;

    /// <summary>Fewer independent output blocks than this, and the reduced range itself is split instead.</summary>
    private const int MinItems = 16;

    /// <summary>
    /// Sums <paramref name="x"/> over <paramref name="axes"/> (distinct, non-negative, any order).
    /// The result has those axes removed, or kept with extent 1 when <paramref name="keepDims"/>.
    /// Accumulation is in T (float sums accumulate in float). Contiguous runs are summed with
    /// TensorPrimitives.Sum (several SIMD accumulators); when a reduction is split into partial sums
    /// the split depends only on the shapes, never on the core count, so results are reproducible.
    /// An empty reduction gives 0.
    /// </summary>
    public static void Sum<T>(NDArray<T> x, int[] axes, bool keepDims, NDArray<T> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = x.Rank;
        Span<bool> reduced = stackalloc bool[rank];
        foreach (int ax in axes)
        {
            if ((uint)ax >= (uint)rank || reduced[ax])
                throw new ArgumentException($"Reduce.Sum: axes [{string.Join(", ", axes)}] are not distinct axes of a tensor of shape {x.Shape}.");
            reduced[ax] = true;
        }
        CheckResultShape(x.Shape, reduced, axes.Length, keepDims, result.Shape);

        T[] X = x.Data, R = result.Data;
        if (X.Length == 0)
        {
            Array.Clear(R);
            return;
        }

        // Extent-1 axes change nothing; neighbouring axes that are both kept or both reduced act as one.
        Span<int> cd = stackalloc int[rank];
        Span<bool> cr = stackalloc bool[rank];
        int m = 0;
        bool anyReduced = false;
        for (int i = 0; i < rank; i++)
        {
            int d = x.Shape[i];
            if (d == 1) continue;
            anyReduced |= reduced[i];
            if (m > 0 && cr[m - 1] == reduced[i]) cd[m - 1] *= d;
            else
            {
                cd[m] = d;
                cr[m] = reduced[i];
                m++;
            }
        }
        if (!anyReduced)
        {
            Elementwise.Copy(X, R);
            return;
        }

        Span<int> cs = stackalloc int[m];
        ShapeMath.RowMajorStrides(cd[..m], cs);
        int nk = 0, nr = 0;
        for (int i = 0; i < m - 1; i++)
            if (cr[i]) nr++; else nk++;
        int[] keptDims = new int[nk], keptStrides = new int[nk], redDims = new int[nr], redStrides = new int[nr];
        nk = nr = 0;
        for (int i = 0; i < m - 1; i++)
        {
            if (cr[i]) { redDims[nr] = cd[i]; redStrides[nr++] = cs[i]; }
            else { keptDims[nk] = cd[i]; keptStrides[nk++] = cs[i]; }
        }
        var plan = new Plan(keptDims, keptStrides, redDims, redStrides, cd[m - 1]);
        if (cr[m - 1]) SumRows(X, R, plan);
        else SumColumns(X, R, plan);
    }

    /// <summary>
    /// x seen as outer kept axes × outer reduced axes (interleaved in memory in any order) × one
    /// innermost contiguous axis of length L, which is either kept or reduced.
    /// </summary>
    private sealed record Plan(int[] KeptDims, int[] KeptStrides, int[] RedDims, int[] RedStrides, int L)
    {
        public long Q => Product(KeptDims);
        public long Rc => Product(RedDims);
        public int Nk => KeptDims.Length;
        public int Nr => RedDims.Length;

        private static long Product(int[] d)
        {
            long p = 1;
            foreach (int v in d) p *= v;
            return p;
        }
    }

    /// <summary>
    /// Innermost axis kept: result[q, c] = Σ_r x[kept(q) + red(r) + c]. Rows of x are added into
    /// a strip of the result with vectorised adds. Strips are independent and run in parallel;
    /// when there are too few of them (e.g. a bias gradient [N, H] → [H]) the reduced rows are cut
    /// into pieces summed into private buffers, then added in piece order.
    /// </summary>
    private static void SumColumns<T>(T[] X, T[] R, Plan plan)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int L = plan.L;
        long Q = plan.Q, Rc = plan.Rc;
        long outSize = Q * L, work = outSize * Rc;
        int strip = L <= MinStrip ? L : Math.Clamp(((L + MinItems - 1) / MinItems + 63) & ~63, MinStrip, MaxStrip);
        int nStrips = (L + strip - 1) / strip;
        long items = Q * nStrips;

        if (items >= MinItems || work < Parallelism.Threshold(false))
        {
            int pieces = (int)Math.Min(Parallelism.Pieces(work), items);
            Parallelism.Run(pieces, p =>
            {
                long i0 = Parallelism.Start(items, pieces, p), i1 = Parallelism.Start(items, pieces, p + 1);
                Span<int> ridx = stackalloc int[plan.Nr];
                for (long it = i0; it < i1; it++)
                {
                    long q = it / nStrips;
                    int c0 = (int)(it % nStrips) * strip, w = Math.Min(strip, L - c0);
                    int off = Offset(q, plan.KeptDims, plan.KeptStrides) + c0;
                    AccumulateRows(X, off, plan, ridx, 0, Rc, R.AsSpan((int)(q * L) + c0, w));
                }
            });
            return;
        }

        int np = (int)Math.Min(Parallelism.DeterministicPieces(work, MinItems), Rc);
        var partials = new T[np][];
        partials[0] = R;
        for (int p = 1; p < np; p++) partials[p] = ArrayPool<T>.Shared.Rent((int)outSize);
        try
        {
            Parallelism.Run(np, p =>
            {
                long r0 = Parallelism.Start(Rc, np, p), r1 = Parallelism.Start(Rc, np, p + 1);
                T[] dst = partials[p];
                Span<int> ridx = stackalloc int[plan.Nr];
                for (long q = 0; q < Q; q++)
                {
                    int off = Offset(q, plan.KeptDims, plan.KeptStrides);
                    for (int c0 = 0; c0 < L; c0 += strip)
                    {
                        int w = Math.Min(strip, L - c0);
                        AccumulateRows(X, off + c0, plan, ridx, r0, r1, dst.AsSpan((int)(q * L) + c0, w));
                    }
                }
            });
            var r = R.AsSpan(0, (int)outSize);
            for (int p = 1; p < np; p++) TensorPrimitives.Add(r, partials[p].AsSpan(0, (int)outSize), r);
        }
        finally
        {
            for (int p = 1; p < np; p++) ArrayPool<T>.Shared.Return(partials[p]);
        }
    }

    /// <summary>dst = Σ over reduced rows r0..r1-1 of the strip of x starting at baseOff.</summary>
    private static void AccumulateRows<T>(T[] X, int baseOff, Plan plan, Span<int> ridx, long r0, long r1, Span<T> dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var od = new Odometer(plan.RedDims, plan.RedStrides, plan.RedStrides, ridx, r0);
        int w = dst.Length;
        X.AsSpan(baseOff + od.Off0, w).CopyTo(dst);
        od.Next();
        if (w < SmallRun)
        {
            for (long r = r0 + 1; r < r1; r++)
            {
                int o = baseOff + od.Off0;
                for (int t = 0; t < w; t++) dst[t] += X[o + t];
                od.Next();
            }
            return;
        }
        for (long r = r0 + 1; r < r1; r++)
        {
            TensorPrimitives.Add(dst, X.AsSpan(baseOff + od.Off0, w), dst);
            od.Next();
        }
    }

    /// <summary>
    /// Innermost axis reduced: result[q] = Σ_r Σ_c x[kept(q) + red(r) + c], each contiguous run
    /// summed by TensorPrimitives.Sum. Outputs run in parallel when there are enough of them;
    /// otherwise (a full sum, or a few long rows) each output's reduced range is cut into pieces
    /// whose partial sums are added in piece order.
    /// </summary>
    private static void SumRows<T>(T[] X, T[] R, Plan plan)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long Q = plan.Q, per = plan.Rc * plan.L, work = Q * per;
        if (Q >= MinItems || work < Parallelism.Threshold(false))
        {
            int pieces = (int)Math.Min(Parallelism.Pieces(work), Q);
            Parallelism.Run(pieces, p =>
            {
                long q0 = Parallelism.Start(Q, pieces, p), q1 = Parallelism.Start(Q, pieces, p + 1);
                Span<int> kidx = stackalloc int[plan.Nk], ridx = stackalloc int[plan.Nr];
                var kept = new Odometer(plan.KeptDims, plan.KeptStrides, plan.KeptStrides, kidx, q0);
                for (long q = q0; q < q1; q++)
                {
                    R[q] = SumRange(X, kept.Off0, plan, ridx, 0, per);
                    kept.Next();
                }
            });
            return;
        }

        int np = Parallelism.DeterministicPieces(per);
        int tasks = (int)Q * np;
        var partial = new T[tasks];
        Parallelism.Run(tasks, t =>
        {
            long q = t / np;
            int p = t % np;
            Span<int> ridx = stackalloc int[plan.Nr];
            int off = Offset(q, plan.KeptDims, plan.KeptStrides);
            partial[t] = SumRange(X, off, plan, ridx, Parallelism.Start(per, np, p), Parallelism.Start(per, np, p + 1));
        });
        for (int q = 0; q < Q; q++)
        {
            T acc = partial[q * np];
            for (int p = 1; p < np; p++) acc += partial[q * np + p];
            R[q] = acc;
        }
    }

    /// <summary>Σ over flat indices f0..f1-1 of the (reduced rows × L) block starting at baseOff.</summary>
    private static T SumRange<T>(T[] X, int baseOff, Plan plan, Span<int> ridx, long f0, long f1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int L = plan.L;
        var od = new Odometer(plan.RedDims, plan.RedStrides, plan.RedStrides, ridx, f0 / L);
        int j = (int)(f0 % L);
        T acc = T.Zero;
        for (long f = f0; f < f1;)
        {
            int len = (int)Math.Min(L - j, f1 - f);
            var run = X.AsSpan(baseOff + od.Off0 + j, len);
            if (len < SmallRun)
                foreach (T v in run) acc += v;
            else
                acc += TensorPrimitives.Sum<T>(run);
            f += len;
            j = 0;
            od.Next();
        }
        return acc;
    }

    private static int Offset(long index, int[] dims, int[] strides)
    {
        int off = 0;
        for (int k = dims.Length - 1; k >= 0; k--)
        {
            off += (int)(index % dims[k]) * strides[k];
            index /= dims[k];
        }
        return off;
    }

    private static void CheckResultShape(Shape x, ReadOnlySpan<bool> reduced, int nAxes, bool keepDims, Shape r)
    {
        bool ok = r.Rank == (keepDims ? x.Rank : x.Rank - nAxes);
        for (int i = 0, k = 0; ok && i < x.Rank; i++)
        {
            if (!reduced[i]) ok = r[k++] == x[i];
            else if (keepDims) ok = r[k++] == 1;
        }
        if (!ok)
            throw new ArgumentException($"Reduce.Sum: result shape {r} does not match input {x} summed over the given axes (keepDims={keepDims}).");
    }
}
