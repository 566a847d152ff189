using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace JetSharp.Examples;

/// <summary>
/// The stde example's sampler, 16 float32 lanes at a time: uniform points of the unit ball in ℝᴰ and the two-body source
/// there. Each point has its own xoshiro128** streams (16 lanes) seeded from <see cref="SeededRandom.Word"/>(seed, point),
/// so a draw is a pure function of (seed, point) whatever the thread or the hardware (one code path, on
/// <see cref="Vector512{T}"/>). The transcendental functions are short polynomials on the ranges the problem gives them,
/// not the general library functions (which reduce any argument, and for float32 work in float64):
/// <list type="bullet">
/// <item>normals by Box–Muller, r = √(−2 ln u₁) (<see cref="Log"/>: exponent and an atanh series) times a uniform point of
/// the circle: (cos φ, sin φ) for φ uniform on [0, π/4) (<see cref="SinCosQuarter"/>), reflected into a uniform octant by three
/// random bits (swap the pair, negate either) — exact operations, so the angle stays uniform on [0, 2π);</item>
/// <item>sin and cos of the coordinates, |x_d| ≤ 1: Taylor polynomials to degree 11 and 12, no reduction
/// (<see cref="SinCosUnit"/>);</item>
/// <item>sin and cos of z_i = x_i + cos x_{i+1} + x_{i+1} cos x_i ∈ [−1.5, 3.1]: reduced by multiples of π/2 (two-part
/// constant) onto [−π/4, π/4] (<see cref="SinCos"/>).</item>
/// </list>
/// Each is within a few float32 ulps of the float64 function (tested). Polynomial steps and the running sums are fused
/// multiply-adds (one rounding each). Sums over coordinates are carried in float32 lanes for at most 256 terms, then in
/// float64.
/// </summary>
internal static class FastSampler
{
    private const int Lanes = 16;

    /// <summary>Per-thread buffers: a point (for float64 batches), and sin and cos of its coordinates.</summary>
    public sealed class Scratch(int d)
    {
        public readonly float[] Row = new float[d], Sin = new float[d + Lanes], Cos = new float[d + Lanes];
    }

    /// <summary>Point <paramref name="index"/> of the draw <paramref name="seed"/>: a Gaussian direction times radius U^{1/D}.</summary>
    public static void BallPoint(long seed, int index, Span<float> row)
    {
        int d = row.Length;
        double norm2 = Normals(seed, index, row);
        double radius = Math.Pow(SeededRandom.Uniform(seed, 1L << 50 | (long)index), 1.0 / d);
        float scale = (float)(radius / Math.Sqrt(norm2));
        var vs = Vector512.Create(scale);
        ref float r = ref MemoryMarshal.GetReference(row);
        int i = 0;
        for (; i + Lanes <= d; i += Lanes) (Vector512.LoadUnsafe(ref r, (nuint)i) * vs).StoreUnsafe(ref r, (nuint)i);
        for (; i < d; i++) row[i] *= scale;
    }

    /// <summary>Standard normals into <paramref name="row"/> from the streams of (seed, index); returns their sum of squares.</summary>
    public static double Normals(long seed, int index, Span<float> row)
    {
        int d = row.Length;
        Vector512<uint> s0, s1, s2, s3;
        {
            Span<uint> a = stackalloc uint[Lanes], b = stackalloc uint[Lanes], c = stackalloc uint[Lanes], e = stackalloc uint[Lanes];
            for (int l = 0; l < Lanes; l++)
            {
                ulong w1 = SeededRandom.Word(seed, (long)index * 2 * Lanes + l), w2 = SeededRandom.Word(seed, (long)index * 2 * Lanes + Lanes + l);
                a[l] = (uint)w1 | 1; b[l] = (uint)(w1 >> 32); c[l] = (uint)w2; e[l] = (uint)(w2 >> 32);
            }
            s0 = Vector512.Create<uint>(a); s1 = Vector512.Create<uint>(b); s2 = Vector512.Create<uint>(c); s3 = Vector512.Create<uint>(e);
        }
        // (0, 1): the top 24 bits plus half a unit, so log never sees 0.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<float> Uniform(Vector512<uint> bits) =>
            (Vector512.ConvertToSingle(Vector512.ShiftRightLogical(bits, 8).AsInt32()) + Vector512.Create(0.5f)) * Vector512.Create(1f / (1 << 24));

        double norm2 = 0;
        var acc = Vector512<float>.Zero;
        Span<float> tail = stackalloc float[2 * Lanes];
        var signBit = Vector512.Create(0x8000_0000u);
        ref float row0 = ref MemoryMarshal.GetReference(row);
        for (int k = 0; k < d; k += 2 * Lanes)
        {
            // Two steps of xoshiro128** (written out: a local function capturing the state kept it in memory and was not inlined).
            var first = Rotl(s1 * 5u, 7) * 9u;
            var t = Vector512.ShiftLeft(s1, 9);
            s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = Rotl(s3, 11);
            var bits = Rotl(s1 * 5u, 7) * 9u;
            t = Vector512.ShiftLeft(s1, 9);
            s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = Rotl(s3, 11);
            var r = Vector512.Sqrt(Vector512.Create(-2f) * Log(Uniform(first)));
            var (sin, cos) = SinCosQuarter(Uniform(bits) * Vector512.Create(MathF.PI / 4));
            // Reflect (cos φ, sin φ) into one of the eight octants with the three low bits (unused by the angle).
            var swap = Vector512.Equals(bits & Vector512<uint>.One, Vector512<uint>.One).AsSingle();
            var c = Vector512.ConditionalSelect(swap, sin, cos);
            var s = Vector512.ConditionalSelect(swap, cos, sin);
            c = (c.AsUInt32() ^ (Vector512.ShiftLeft(bits, 30) & signBit)).AsSingle();
            s = (s.AsUInt32() ^ (Vector512.ShiftLeft(bits, 29) & signBit)).AsSingle();
            var z1 = r * c; var z2 = r * s;
            if (k + 2 * Lanes <= d)
            {
                z1.StoreUnsafe(ref row0, (nuint)k); z2.StoreUnsafe(ref row0, (nuint)(k + Lanes));
                acc = Fma(z2, z2, Fma(z1, z1, acc));
                if ((k & 255) == 256 - 2 * Lanes) { norm2 += Vector512.Sum(acc); acc = Vector512<float>.Zero; }
            }
            else
            {
                z1.CopyTo(tail); z2.CopyTo(tail[Lanes..]);
                for (int j = 0; j < d - k; j++) { row[k + j] = tail[j]; norm2 += (double)tail[j] * tail[j]; }   // draws past D do not count
            }
        }
        return norm2 + Vector512.Sum(acc);
    }

    /// <summary>a·b + c rounded once (one instruction where the hardware has it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Rotl(Vector512<uint> v, int k) => Vector512.ShiftLeft(v, k) | Vector512.ShiftRightLogical(v, 32 - k);

    /// <summary>
    /// ln u for normal positive u: u = m·2ᵉ with m ∈ [√½, √2), ln m = 2·atanh(s), s = (m − 1)/(m + 1), |s| ≤ 0.172, by its
    /// series to s⁹ (next term below 10⁻⁹).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Log(Vector512<float> u)
    {
        var bits = u.AsInt32();
        var e = Vector512.ShiftRightArithmetic(bits, 23) - Vector512.Create(127);
        var m = ((bits & Vector512.Create(0x007F_FFFF)) | Vector512.Create(0x3F80_0000)).AsSingle();   // [1, 2)
        var big = Vector512.GreaterThan(m, Vector512.Create(MathF.Sqrt(2)));
        m = Vector512.ConditionalSelect(big, m * 0.5f, m);
        e -= big.AsInt32();                                   // true lanes are −1
        var s = (m - Vector512<float>.One) / (m + Vector512<float>.One);
        var s2 = s * s;
        var series = Vector512.Create(1f / 9);
        series = Fma(series, s2, Vector512.Create(1f / 7));
        series = Fma(series, s2, Vector512.Create(1f / 5));
        series = Fma(series, s2, Vector512.Create(1f / 3));
        series = Fma(series, s2, Vector512<float>.One);
        return Fma(Vector512.ConvertToSingle(e), Vector512.Create(MathF.Log(2)), 2f * s * series);
    }

    /// <summary>sin and cos for |x| ≤ π/4: Taylor polynomials to x⁹ and x¹⁰ (remainders below 2·10⁻⁹).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector512<float> Sin, Vector512<float> Cos) SinCosQuarter(Vector512<float> x)
    {
        var x2 = x * x;
        var s = Vector512.Create(1f / 362_880);
        s = Fma(s, x2, Vector512.Create(-1f / 5_040));
        s = Fma(s, x2, Vector512.Create(1f / 120));
        s = Fma(s, x2, Vector512.Create(-1f / 6));
        s = Fma(s * x2, x, x);
        var c = Vector512.Create(-1f / 3_628_800);
        c = Fma(c, x2, Vector512.Create(1f / 40_320));
        c = Fma(c, x2, Vector512.Create(-1f / 720));
        c = Fma(c, x2, Vector512.Create(1f / 24));
        c = Fma(c, x2, Vector512.Create(-0.5f));
        c = Fma(c, x2, Vector512<float>.One);
        return (s, c);
    }

    /// <summary>sin and cos for |x| ≤ 1 (any coordinate of a point of the unit ball): Taylor to x¹¹ and x¹² (remainders below 2·10⁻¹⁰).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector512<float> Sin, Vector512<float> Cos) SinCosUnit(Vector512<float> x)
    {
        var x2 = x * x;
        var s = Vector512.Create(-1f / 39_916_800);
        s = Fma(s, x2, Vector512.Create(1f / 362_880));
        s = Fma(s, x2, Vector512.Create(-1f / 5_040));
        s = Fma(s, x2, Vector512.Create(1f / 120));
        s = Fma(s, x2, Vector512.Create(-1f / 6));
        s = Fma(s * x2, x, x);
        var c = Vector512.Create(1f / 479_001_600);
        c = Fma(c, x2, Vector512.Create(-1f / 3_628_800));
        c = Fma(c, x2, Vector512.Create(1f / 40_320));
        c = Fma(c, x2, Vector512.Create(-1f / 720));
        c = Fma(c, x2, Vector512.Create(1f / 24));
        c = Fma(c, x2, Vector512.Create(-0.5f));
        c = Fma(c, x2, Vector512<float>.One);
        return (s, c);
    }

    /// <summary>
    /// sin and cos for moderate |x| (exact reduction needs |k·π/2| to stay small against float32's spacing; the source uses
    /// |x| ≤ 3.1): x = k·π/2 + r with |r| ≤ π/4 (π/2 in two parts), the pair of r rotated by k quarter turns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector512<float> Sin, Vector512<float> Cos) SinCos(Vector512<float> x)
    {
        var k = Vector512.Round(x * Vector512.Create((float)(2 / Math.PI)));
        const float hi = 1.5703125f;                              // π/2 to 11 bits: k·hi is exact for |k| < 2¹²
        float lo = (float)(Math.PI / 2 - hi);
        var r = Fma(-k, Vector512.Create(lo), Fma(-k, Vector512.Create(hi), x));
        var (s, c) = SinCosQuarter(r);
        var q = Vector512.ConvertToInt32(k).AsUInt32();
        var swap = Vector512.Equals(q & Vector512<uint>.One, Vector512<uint>.One).AsSingle();
        var sin = Vector512.ConditionalSelect(swap, c, s);
        var cos = Vector512.ConditionalSelect(swap, s, c);
        var signBit = Vector512.Create(0x8000_0000u);
        sin = (sin.AsUInt32() ^ (Vector512.ShiftLeft(q, 30) & signBit)).AsSingle();                          // k mod 4 ∈ {2, 3}
        cos = (cos.AsUInt32() ^ (Vector512.ShiftLeft(q + Vector512<uint>.One, 30) & signBit)).AsSingle();   // k mod 4 ∈ {1, 2}
        return (sin, cos);
    }

    /// <summary>g = Δu* + u* − u*³ and u* at <paramref name="x"/> (float32 lanes, float64 totals).</summary>
    public static (double Source, double U) Source(ReadOnlySpan<float> x, float[] c, Scratch scratch)
    {
        int d = x.Length;
        var sinX = scratch.Sin; var cosX = scratch.Cos;
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float sin0 = ref MemoryMarshal.GetArrayDataReference(sinX), cos0 = ref MemoryMarshal.GetArrayDataReference(cosX);
        ref float c0 = ref MemoryMarshal.GetArrayDataReference(c);
        if (c.Length < d - 1) throw new ArgumentException($"stde: {c.Length} coefficients for a point of {d} coordinates.", nameof(c));
        if (sinX.Length < d || cosX.Length < d) throw new ArgumentException($"stde: scratch rows of {sinX.Length} for a point of {d} coordinates.", nameof(scratch));
        int i = 0;
        double r2 = 0;
        var acc = Vector512<float>.Zero;
        for (; i + Lanes <= d; i += Lanes)
        {
            var v = Vector512.LoadUnsafe(ref x0, (nuint)i);
            var (s, co) = SinCosUnit(v);
            s.StoreUnsafe(ref sin0, (nuint)i); co.StoreUnsafe(ref cos0, (nuint)i);
            acc = Fma(v, v, acc);
            if ((i & 255) == 256 - Lanes) { r2 += Vector512.Sum(acc); acc = Vector512<float>.Zero; }
        }
        r2 += Vector512.Sum(acc);
        for (; i < d; i++) { (sinX[i], cosX[i]) = MathF.SinCos(x[i]); r2 += (double)x[i] * x[i]; }

        // Terms i = 0..D−2 (pairs (x_i, x_{i+1})).
        double psi = 0, xGrad = 0, lap = 0;
        // aLap carries −(Δψ's terms) so that every accumulation is one fused multiply-add; its totals are subtracted.
        Vector512<float> aPsi = default, aGrad = default, aLap = default;
        int n = d - 1;
        i = 0;
        for (; i + Lanes <= n; i += Lanes)
        {
            var xi = Vector512.LoadUnsafe(ref x0, (nuint)i); var xj = Vector512.LoadUnsafe(ref x0, (nuint)(i + 1));
            var sinA = Vector512.LoadUnsafe(ref sin0, (nuint)i); var cosA = Vector512.LoadUnsafe(ref cos0, (nuint)i);
            var sinB = Vector512.LoadUnsafe(ref sin0, (nuint)(i + 1)); var cosB = Vector512.LoadUnsafe(ref cos0, (nuint)(i + 1));
            var ci = Vector512.LoadUnsafe(ref c0, (nuint)i);
            var (sz, cz) = SinCos(Fma(xj, cosA, xi + cosB));
            var a = Fma(-xj, sinA, Vector512<float>.One);
            var b = cosA - sinB;
            aPsi = Fma(ci, sz, aPsi);
            aGrad = Fma(ci * cz, Fma(xi, a, xj * b), aGrad);
            aLap = Fma(ci, Fma(cz, Fma(xj, cosA, cosB), sz * Fma(a, a, b * b)), aLap);
            if ((i & 255) == 256 - Lanes)
            {
                psi += Vector512.Sum(aPsi); xGrad += Vector512.Sum(aGrad); lap -= Vector512.Sum(aLap);
                aPsi = aGrad = aLap = Vector512<float>.Zero;
            }
        }
        psi += Vector512.Sum(aPsi); xGrad += Vector512.Sum(aGrad); lap -= Vector512.Sum(aLap);
        for (; i < n; i++)
        {
            double xi = x[i], xj = x[i + 1], sinA = sinX[i], cosA = cosX[i], sinB = sinX[i + 1], cosB = cosX[i + 1];
            var (sz, cz) = Math.SinCos(xi + cosB + xj * cosA);
            double a = 1 - xj * sinA, b = cosA - sinB;
            psi += c[i] * sz;
            xGrad += c[i] * cz * (xi * a + xj * b);
            lap -= c[i] * (cz * (xj * cosA + cosB) + sz * (a * a + b * b));
        }
        double phi = 1 - r2, u = phi * psi;
        double laplacian = -2.0 * d * psi - 4 * xGrad + phi * lap;
        return (laplacian + u - u * u * u, u);
    }
}
