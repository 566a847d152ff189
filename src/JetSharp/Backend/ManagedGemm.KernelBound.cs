using System.Runtime.CompilerServices;

namespace JetSharp.Backend;

/// <summary>Where a kernel-bound run stores its tiles (<see cref="GemmKernelBound"/>).</summary>
internal enum KernelBoundStores
{
    /// <summary>Into one MR×NR tile per thread, which stays in L1: the kernel's own rate.</summary>
    L1Tile,
    /// <summary>Into C, where the product writes them, with the driver's C prefetch.</summary>
    IntoC,
}

/// <summary>
/// What the managed micro-kernel alone reaches on a product's shape, for <c>jetsharp bench gemm --kernel-bound</c>: the
/// kernel calls of every full MR×NR tile of C = A·B (A row-major, read in place as the driver reads it; B̃ packed beforehand
/// in the driver's k blocks), and nothing else: no packing, no edge columns or rows, no worker pool (the threads split the
/// row slivers evenly, each running its share as many times as asked). With the stores into a tile in L1 this is the
/// kernel's own rate; with the stores into C it adds C's memory traffic. The product's own time adds the driver's work
/// (packing B̃, edges, scheduling) to that.
/// </summary>
/// <remarks>
/// The kernel is the one the driver picks for the shape (<see cref="ManagedGemm.UsesShortKKernel{T}"/>), on the default
/// path. Not safe to run from several threads at once on the same C (it writes C like a product).
/// </remarks>
internal static unsafe class GemmKernelBound
{
    /// <summary>A prepared run: the packed B̃ and the flops of the full tiles; <see cref="Plan{T, TK}"/> runs them.</summary>
    internal abstract class Plan<T>(int m, int k, int n, int mr, int nr, int kcMax, T[] packedB)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public int M => m;
        public int K => k;
        public int N => n;
        public int MR => mr;
        public int NR => nr;
        public int KcMax => kcMax;
        public int Slivers => m / mr;
        public int FullCols => n / nr * nr;
        protected T[] PackedB => packedB;

        /// <summary>2·(full slivers·MR)·(full columns)·K: the flops the kernel calls compute.</summary>
        public double Flops => 2.0 * Slivers * MR * FullCols * K;

        /// <summary>
        /// Runs the full tiles <paramref name="times"/> times on <paramref name="threads"/> threads (each its share of the
        /// row slivers, all of its repeats back to back). C is written only for <see cref="KernelBoundStores.IntoC"/>.
        /// </summary>
        public void Run(T[] a, T[] c, KernelBoundStores stores, int threads, int times)
        {
            if (a.Length < (long)M * K) throw new ArgumentException($"Kernel bound {M}×{K}×{N}: A has {a.Length} elements, needs {(long)M * K}.", nameof(a));
            if (c.Length < (long)M * N) throw new ArgumentException($"Kernel bound {M}×{K}×{N}: C has {c.Length} elements, needs {(long)M * N}.", nameof(c));
            ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
            ArgumentOutOfRangeException.ThrowIfLessThan(times, 1);
            threads = Math.Min(threads, Slivers);
            if (threads == 1) { Share(a, c, stores, 0, Slivers, times); return; }
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                Share(a, c, stores, (int)((long)Slivers * t / threads), (int)((long)Slivers * (t + 1) / threads), times));
        }

        /// <summary>Row slivers [s0, s1), <paramref name="times"/> times, on the calling thread.</summary>
        protected abstract void Share(T[] a, T[] c, KernelBoundStores stores, int s0, int s1, int times);
    }

    /// <summary>
    /// Packs B (row-major K×N) for the kernel a product on <paramref name="path"/> would use and returns the run; null when
    /// the shape has no full tile (M &lt; MR or N &lt; NR) or the path is the portable one.
    /// </summary>
    public static Plan<T>? Prepare<T>(int m, int k, int n, T[] b, GemmKernelPath path = GemmKernelPath.Auto)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(m, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (b.Length < (long)k * n) throw new ArgumentException($"Kernel bound {m}×{k}×{n}: B has {b.Length} elements, needs {(long)k * n}.", nameof(b));
        return (path == GemmKernelPath.Auto ? ManagedGemm.DefaultPath : path) switch
        {
            GemmKernelPath.Vector512 when ManagedGemm.UsesShortKKernel<T>(k) => Prepare<T, Vector512Kernel8<T>>(m, k, n, b),
            GemmKernelPath.Vector512 => Prepare<T, Vector512Kernel<T>>(m, k, n, b),
            GemmKernelPath.Vector256 => Prepare<T, Vector256Kernel<T>>(m, k, n, b),
            _ => null,
        };
    }

    private static Plan<T>? Prepare<T, TK>(int m, int k, int n, T[] b)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TK : IGemmKernel<T>
    {
        int mr = TK.MR, nr = TK.NR;
        int slivers = m / mr, fullCols = n / nr * nr;
        if (slivers == 0 || fullCols == 0) return null;
        var (_, kcMax) = GemmDriver<T, TK>.Blocking.KBlocks(n, k, nr);
        // k block pc (kc rows) of the full columns at pc·fullCols, its column sliver jr at jr·kc: the layout RunRange reads.
        var packed = GC.AllocateUninitializedArray<T>(k * fullCols, pinned: true);
        fixed (T* pb = b, dst = packed)
            for (int pc = 0; pc < k; pc += kcMax)
                GemmPacking.PackSlivers(pb + (nint)pc * n, 1, n, fullCols, Math.Min(kcMax, k - pc), nr, dst + (nint)pc * fullCols);
        return new Plan<T, TK>(m, k, n, kcMax, packed);
    }

    /// <summary>The run on kernel <typeparamref name="TK"/>.</summary>
    private sealed class Plan<T, TK>(int m, int k, int n, int kcMax, T[] packedB) : Plan<T>(m, k, n, TK.MR, TK.NR, kcMax, packedB)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TK : IGemmKernel<T>
    {
        /// <summary>RunRange's loop order: k blocks, slivers, column tiles.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        protected override void Share(T[] a, T[] c, KernelBoundStores stores, int s0, int s1, int times)
        {
            int mr = MR, nr = NR, k = K, n = N, fullCols = FullCols;
            bool intoC = stores == KernelBoundStores.IntoC;
            // As RunRange: the next tile of C is prefetched when C is read (later k blocks) or larger than L2.
            bool prefetchFirst = GemmPrefetch.FirstBlockPrefetchesC<T>((long)(s1 - s0) * mr, n);
            byte* tileStorage = stackalloc byte[mr * nr * sizeof(T) + 64];
            T* tile = (T*)(((nint)tileStorage + 63) & ~(nint)63);
            fixed (T* pa = a, pc0 = c, pb = PackedB)
            {
                for (int time = 0; time < times; time++)
                {
                    for (int pc = 0; pc < k; pc += KcMax)
                    {
                        int kc = Math.Min(KcMax, k - pc);
                        T beta = pc == 0 ? T.Zero : T.One;
                        bool prefetch = intoC && (pc > 0 || prefetchFirst);
                        T* bBlock = pb + (nint)pc * fullCols;
                        for (int s = s0; s < s1; s++)
                        {
                            T* asl = pa + (nint)s * mr * k + pc;
                            T* ct = pc0 + (nint)s * mr * n;
                            for (int jr = 0; jr < fullCols; jr += nr)
                            {
                                T* next = !prefetch ? null : GemmPrefetch.NextTile(ct, jr, nr, fullCols, s + 1 < s1 ? ct + (nint)mr * n : null);
                                if (intoC) TK.Full(kc, asl, k, 1, bBlock + (nint)jr * kc, ct + jr, n, T.One, beta, next);
                                else TK.Full(kc, asl, k, 1, bBlock + (nint)jr * kc, tile, nr, T.One, beta, null);
                            }
                        }
                    }
                }
            }
        }
    }
}
