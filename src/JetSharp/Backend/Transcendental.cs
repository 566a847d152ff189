using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.InteropServices;

namespace JetSharp.Backend;

/// <summary>
/// Elementwise functions that TensorPrimitives gets wrong or slow. Each works through its input in
/// L1-sized chunks (none shorter than <see cref="Elementwise.MinSpan"/> when the input is longer, so no element's bits
/// depend on where a chunk ends): TensorPrimitives.Exp into a stack buffer, then one hand-vectorised pass
/// (Vector&lt;T&gt;, so AVX2 or AVX-512 as available) that finishes the formula. Every function
/// here may run in place (r the same memory as x).
/// </summary>
internal static class Transcendental
{
    private const int Chunk = Elementwise.Chunk;

    private static bool Vectorised<T>() where T : unmanaged => Vector.IsHardwareAccelerated && Vector<T>.IsSupported;

    // ---------------------------------------------------------------- tanh

    /// <summary>
    /// tanh. TensorPrimitives.Tanh (System.Numerics.Tensors 10.0) has a large relative error near 0
    /// (tanh(0f) = -6e-8, ~1e-3 relative at x = 1e-3 in float, thousands of ulps in double), which
    /// derivative checks trip over. This is the Cephes scheme: below |x| = 0.625 the odd rational
    /// x + x·s·P(s)/Q(s) with s = x² (about 1 ulp; ±0 map to themselves); above, 1 - 2/(e^{2|x|} + 1)
    /// with the sign restored, which saturates to exactly ±1 once the exponential overflows.
    /// </summary>
    public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> r)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> e = stackalloc T[Chunk];
        for (int c = 0, chunks = (x.Length + Chunk - 1) / Chunk; c < chunks; c++)
        {
            int s = Elementwise.ChunkStart(c, x.Length, Chunk), len = Elementwise.ChunkStart(c + 1, x.Length, Chunk) - s;
            var xs = x.Slice(s, len);
            var es = e[..len];
            TensorPrimitives.Add(xs, xs, es);
            TensorPrimitives.Abs(es, es);
            TensorPrimitives.Exp(es, es);
            TanhFinish(xs, es, r.Slice(s, len));
        }
    }

    private static class TanhConstants<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly T P0 = T.CreateTruncating(-9.64399179425052238628e-1);
        public static readonly T P1 = T.CreateTruncating(-9.92877231001918586564e1);
        public static readonly T P2 = T.CreateTruncating(-1.61468768441708447952e3);
        public static readonly T Q0 = T.CreateTruncating(1.12811678491632931402e2);
        public static readonly T Q1 = T.CreateTruncating(2.23548839060100448583e3);
        public static readonly T Q2 = T.CreateTruncating(4.84406305325125486048e3);
        public static readonly T Cut = T.CreateTruncating(0.625);
        public static readonly T Two = T.CreateTruncating(2);
    }

    /// <summary>r = |x| &lt; 0.625 ? rational(x) : ±(1 - 2/(e + 1)), e = e^{2|x|}. NaN fails the test and takes the second branch, which is NaN.</summary>
    private static void TanhFinish<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> e, Span<T> r)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T p0 = TanhConstants<T>.P0, p1 = TanhConstants<T>.P1, p2 = TanhConstants<T>.P2;
        T q0 = TanhConstants<T>.Q0, q1 = TanhConstants<T>.Q1, q2 = TanhConstants<T>.Q2;
        T cut = TanhConstants<T>.Cut, two = TanhConstants<T>.Two;
        CheckLengths(x.Length, e.Length, r.Length, "tanh");
        int i = 0;
        if (Vectorised<T>())
        {
            ref T xr = ref MemoryMarshal.GetReference(x);
            ref T er = ref MemoryMarshal.GetReference(e);
            ref T rr = ref MemoryMarshal.GetReference(r);
            Vector<T> vp0 = new(p0), vp1 = new(p1), vp2 = new(p2), vq0 = new(q0), vq1 = new(q1), vq2 = new(q2);
            Vector<T> vcut = new(cut), vtwo = new(two), one = Vector<T>.One, zero = Vector<T>.Zero;
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var v = Vector.LoadUnsafe(ref xr, (nuint)i);
                var s = v * v;
                var p = ((vp0 * s + vp1) * s + vp2) * s;
                var q = ((s + vq0) * s + vq1) * s + vq2;
                // The correction has the opposite sign to x, so at x = -0 the sum would be +0: keep x there.
                var small = Vector.ConditionalSelect(Vector.Equals(v, zero), v, v + v * (p / q));
                var big = one - vtwo / (Vector.LoadUnsafe(ref er, (nuint)i) + one);
                big = Vector.ConditionalSelect(Vector.LessThan(v, zero), -big, big);
                Vector.StoreUnsafe(Vector.ConditionalSelect(Vector.LessThan(Vector.Abs(v), vcut), small, big), ref rr, (nuint)i);
            }
        }
        for (; i < x.Length; i++)
        {
            T v = x[i], s = v * v;
            if (v == T.Zero)
                r[i] = v;
            else if (T.Abs(v) < cut)
                r[i] = v + v * (((p0 * s + p1) * s + p2) * s / (((s + q0) * s + q1) * s + q2));
            else
            {
                T big = T.One - two / (e[i] + T.One);
                r[i] = v < T.Zero ? -big : big;
            }
        }
    }

    // ---------------------------------------------------------------- softplus

    /// <summary>
    /// softplus(x) = max(x, 0) + log1p(u), u = e^-|x| ∈ (0, 1]. log1p is not taken from
    /// TensorPrimitives: LogP1 is log(1 + u), which loses u entirely below ε (softplus(-40) would be
    /// 0 instead of 4e-18), and Log itself is ~3× slower than Exp. Instead
    /// log1p(u) = 2·atanh(z) = 2z·(1 + z²/3 + z⁴/5 + …) with z = u / (2 + u) ∈ (0, 1/3]: no
    /// cancellation anywhere, and the series converges by a factor 9 per term.
    /// </summary>
    public static void Softplus<T>(ReadOnlySpan<T> x, Span<T> r)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> u = stackalloc T[Chunk];
        for (int c = 0, chunks = (x.Length + Chunk - 1) / Chunk; c < chunks; c++)
        {
            int s = Elementwise.ChunkStart(c, x.Length, Chunk), len = Elementwise.ChunkStart(c + 1, x.Length, Chunk) - s;
            var xs = x.Slice(s, len);
            var us = u[..len];
            TensorPrimitives.Abs(xs, us);
            TensorPrimitives.Negate(us, us);
            TensorPrimitives.Exp(us, us);
            SoftplusFinish(xs, us, r.Slice(s, len));
        }
    }

    /// <summary>Coefficients 1/(2k+1) of the atanh series, as many as reach T's precision at z = 1/3.</summary>
    private static class AtanhSeries<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        // The first omitted term at z = 1/3, (1/9)^n / (2n+1), is 1.5e-9 for float (n = 8) and
        // 1.6e-17 for double (n = 16): well under half an ulp of the leading 1.
        public static readonly T[] C = Build(typeof(T) == typeof(float) ? 8 : 16);
        public static readonly Vector<T>[] V = C.Select(c => new Vector<T>(c)).ToArray();

        private static T[] Build(int n)
        {
            var c = new T[n];
            for (int k = 0; k < n; k++) c[k] = T.One / T.CreateTruncating(2 * k + 1);
            return c;
        }
    }

    /// <summary>r = relu(x) + log1p(u). relu is written as x &gt; 0 ? x : 0 so NaN reaches the sum (via u) rather than being dropped by a max.</summary>
    private static void SoftplusFinish<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> u, Span<T> r)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] c = AtanhSeries<T>.C;
        T two = T.One + T.One;
        CheckLengths(x.Length, u.Length, r.Length, "softplus");
        int i = 0;
        if (Vectorised<T>())
        {
            Vector<T>[] vc = AtanhSeries<T>.V;
            ref T xr = ref MemoryMarshal.GetReference(x);
            ref T ur = ref MemoryMarshal.GetReference(u);
            ref T rr = ref MemoryMarshal.GetReference(r);
            Vector<T> vtwo = new(two), zero = Vector<T>.Zero;
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var v = Vector.LoadUnsafe(ref xr, (nuint)i);
                var uv = Vector.LoadUnsafe(ref ur, (nuint)i);
                var z = uv / (vtwo + uv);
                var s = z * z;
                var p = vc[^1];
                for (int k = vc.Length - 2; k >= 0; k--) p = p * s + vc[k];
                var relu = Vector.ConditionalSelect(Vector.GreaterThan(v, zero), v, zero);
                Vector.StoreUnsafe(relu + vtwo * z * p, ref rr, (nuint)i);
            }
        }
        for (; i < x.Length; i++)
        {
            T v = x[i], z = u[i] / (two + u[i]), s = z * z, p = c[^1];
            for (int k = c.Length - 2; k >= 0; k--) p = p * s + c[k];
            r[i] = (v > T.Zero ? v : T.Zero) + two * z * p;
        }
    }

    // ---------------------------------------------------------------- step

    /// <summary>r = x &gt; 0 ? 1 : 0 (0 for NaN).</summary>
    public static void Step<T>(ReadOnlySpan<T> x, Span<T> r)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckLengths(x.Length, x.Length, r.Length, "step");
        int i = 0;
        if (Vectorised<T>())
        {
            ref T xr = ref MemoryMarshal.GetReference(x);
            ref T rr = ref MemoryMarshal.GetReference(r);
            var one = Vector<T>.One;
            // GreaterThan yields all-ones lanes where x > 0 (never for NaN); masking 1.0 with it gives 1 or +0.
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var v = Vector.LoadUnsafe(ref xr, (nuint)i);
                Vector.StoreUnsafe(Vector.GreaterThan(v, Vector<T>.Zero) & one, ref rr, (nuint)i);
            }
        }
        for (; i < x.Length; i++) r[i] = x[i] > T.Zero ? T.One : T.Zero;
    }

    /// <summary>
    /// The vector loops above store through unchecked references for x.Length elements: a destination (or scratch) shorter
    /// than x would be written past its end, so that is refused up front (one comparison per call).
    /// </summary>
    private static void CheckLengths(int x, int scratch, int r, string kernel)
    {
        if (scratch < x || r < x)
            throw new ArgumentException($"Transcendental.{kernel}: {x} inputs for a destination of {r} (scratch {scratch}).");
    }
}
