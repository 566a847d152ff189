using System.Runtime.Intrinsics;

namespace JetSharp.Examples;

/// <summary>
/// The stde example's sampler, 8 float32 lanes at a time: uniform points of the unit ball in ℝᴰ and the two-body source
/// there. Each point has its own xoshiro128** streams (8 lanes) seeded from <see cref="SeededRandom.Word"/>(seed, point),
/// so a draw is a pure function of (seed, point) whatever the thread; normals come from Box–Muller with the vector
/// <c>Log</c> and <c>SinCos</c>; sums over coordinates are carried in float32 lanes for at most 256 terms, then in float64.
/// </summary>
internal static class FastSampler
{
    /// <summary>Per-thread buffers: the point, and sin and cos of its coordinates.</summary>
    public sealed class Scratch(int d)
    {
        public readonly float[] Row = new float[d], Sin = new float[d + 8], Cos = new float[d + 8];
    }

    /// <summary>Point <paramref name="index"/> of the draw <paramref name="seed"/>: a Gaussian direction times radius U^{1/D}.</summary>
    public static void BallPoint(long seed, int index, float[] row)
    {
        int d = row.Length;
        Vector256<uint> s0, s1, s2, s3;
        {
            Span<uint> a = stackalloc uint[8], b = stackalloc uint[8], c = stackalloc uint[8], e = stackalloc uint[8];
            for (int l = 0; l < 8; l++)
            {
                ulong w1 = SeededRandom.Word(seed, (long)index * 16 + l), w2 = SeededRandom.Word(seed, (long)index * 16 + 8 + l);
                a[l] = (uint)w1 | 1; b[l] = (uint)(w1 >> 32); c[l] = (uint)w2; e[l] = (uint)(w2 >> 32);
            }
            s0 = Vector256.Create<uint>(a); s1 = Vector256.Create<uint>(b); s2 = Vector256.Create<uint>(c); s3 = Vector256.Create<uint>(e);
        }
        Vector256<uint> Next()
        {
            var result = Rotl(s1 * 5u, 7) * 9u;
            var t = Vector256.ShiftLeft(s1, 9);
            s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = Rotl(s3, 11);
            return result;
        }
        // (0, 1]: 24 random bits plus half a unit, so log never sees 0.
        Vector256<float> Uniform() =>
            (Vector256.ConvertToSingle(Vector256.ShiftRightLogical(Next(), 8).AsInt32()) + Vector256.Create(0.5f)) * Vector256.Create(1f / (1 << 24));

        double norm2 = 0;
        Span<float> tail = stackalloc float[16];
        int k = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            // Two blocks of 16 at once: the same draws in the same order, with Log and SinCos over 16 lanes (lane for lane
            // the functions of the 8-lane path), the per-block sums added in the same order.
            for (; k + 32 <= d; k += 32)
            {
                var u1 = Uniform(); var u2 = Uniform(); var u3 = Uniform(); var u4 = Uniform();
                var r = Vector512.Sqrt(Vector512.Create(-2f) * Vector512.Log(Vector512.Create(u1, u3)));
                var (sin, cos) = Vector512.SinCos(Vector512.Create(u2, u4) * Vector512.Create(2 * MathF.PI));
                var z1 = r * cos; var z2 = r * sin;
                var q = z1 * z1 + z2 * z2;
                norm2 += Vector256.Sum(q.GetLower());
                norm2 += Vector256.Sum(q.GetUpper());
                z1.GetLower().CopyTo(row, k); z2.GetLower().CopyTo(row, k + 8);
                z1.GetUpper().CopyTo(row, k + 16); z2.GetUpper().CopyTo(row, k + 24);
            }
        }
        for (; k < d; k += 16)
        {
            var r = Vector256.Sqrt(Vector256.Create(-2f) * Vector256.Log(Uniform()));
            var (sin, cos) = Vector256.SinCos(Uniform() * Vector256.Create(2 * MathF.PI));
            var z1 = r * cos; var z2 = r * sin;
            norm2 += Vector256.Sum(z1 * z1 + z2 * z2);
            if (k + 16 <= d)
            {
                z1.CopyTo(row, k);
                z2.CopyTo(row, k + 8);
            }
            else
            {
                z1.CopyTo(tail); z2.CopyTo(tail[8..]);
                for (int j = 0; j < d - k; j++) row[k + j] = tail[j];
                norm2 -= SumOfSquares(tail[(d - k)..]);     // draws past D do not count
            }
        }
        double radius = Math.Pow(SeededRandom.Uniform(seed, 1L << 50 | (long)index), 1.0 / d);
        float scale = (float)(radius / Math.Sqrt(norm2));
        var vs = Vector256.Create(scale);
        int i = 0;
        for (; i + 8 <= d; i += 8) (Vector256.Create(row, i) * vs).CopyTo(row, i);
        for (; i < d; i++) row[i] *= scale;
    }

    private static double SumOfSquares(ReadOnlySpan<float> v)
    {
        double s = 0;
        foreach (var x in v) s += (double)x * x;
        return s;
    }

    private static Vector256<uint> Rotl(Vector256<uint> v, int k) => Vector256.ShiftLeft(v, k) | Vector256.ShiftRightLogical(v, 32 - k);

    /// <summary>g = Δu* + u* − u*³ and u* at <paramref name="x"/> (float32 lanes, float64 totals).</summary>
    public static (double Source, double U) Source(float[] x, float[] c, Scratch scratch)
    {
        int d = x.Length;
        var sinX = scratch.Sin; var cosX = scratch.Cos;
        int i = 0;
        double r2 = 0;
        var acc = Vector256<float>.Zero;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= d; i += 16)
            {
                var v = Vector512.Create(x, i);
                var (s, co) = Vector512.SinCos(v);
                s.CopyTo(sinX, i); co.CopyTo(cosX, i);
                var sq = v * v;
                acc += sq.GetLower();    // the 8-lane accumulator sees the same terms in the same order
                acc += sq.GetUpper();
                if ((i & 255) == 240) { r2 += Vector256.Sum(acc); acc = Vector256<float>.Zero; }
            }
        for (; i + 8 <= d; i += 8)
        {
            var v = Vector256.Create(x, i);
            var (s, co) = Vector256.SinCos(v);
            s.CopyTo(sinX, i); co.CopyTo(cosX, i);
            acc += v * v;
            if ((i & 255) == 248) { r2 += Vector256.Sum(acc); acc = Vector256<float>.Zero; }
        }
        r2 += Vector256.Sum(acc);
        for (; i < d; i++) { (sinX[i], cosX[i]) = MathF.SinCos(x[i]); r2 += (double)x[i] * x[i]; }

        // Terms i = 0..D−2 (pairs (x_i, x_{i+1})).
        double psi = 0, xGrad = 0, lap = 0;
        Vector256<float> aPsi = default, aGrad = default, aLap = default;
        int n = d - 1;
        i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
            {
                var xi = Vector512.Create(x, i); var xj = Vector512.Create(x, i + 1);
                var sinA = Vector512.Create(sinX, i); var cosA = Vector512.Create(cosX, i);
                var sinB = Vector512.Create(sinX, i + 1); var cosB = Vector512.Create(cosX, i + 1);
                var ci = Vector512.Create(c, i);
                var z = xi + cosB + xj * cosA;
                var (sz, cz) = Vector512.SinCos(z);
                var a = Vector512<float>.One - xj * sinA;
                var b = cosA - sinB;
                var tPsi = ci * sz;
                var tGrad = ci * cz * (xi * a + xj * b);
                var tLap = ci * (cz * (xj * cosA + cosB) + sz * (a * a + b * b));
                aPsi += tPsi.GetLower(); aPsi += tPsi.GetUpper();
                aGrad += tGrad.GetLower(); aGrad += tGrad.GetUpper();
                aLap -= tLap.GetLower(); aLap -= tLap.GetUpper();
                if ((i & 255) == 240)
                {
                    psi += Vector256.Sum(aPsi); xGrad += Vector256.Sum(aGrad); lap += Vector256.Sum(aLap);
                    aPsi = aGrad = aLap = Vector256<float>.Zero;
                }
            }
        for (; i + 8 <= n; i += 8)
        {
            var xi = Vector256.Create(x, i); var xj = Vector256.Create(x, i + 1);
            var sinA = Vector256.Create(sinX, i); var cosA = Vector256.Create(cosX, i);
            var sinB = Vector256.Create(sinX, i + 1); var cosB = Vector256.Create(cosX, i + 1);
            var ci = Vector256.Create(c, i);
            var z = xi + cosB + xj * cosA;
            var (sz, cz) = Vector256.SinCos(z);
            var a = Vector256<float>.One - xj * sinA;
            var b = cosA - sinB;
            aPsi += ci * sz;
            aGrad += ci * cz * (xi * a + xj * b);
            aLap -= ci * (cz * (xj * cosA + cosB) + sz * (a * a + b * b));
            if ((i & 255) == 248)
            {
                psi += Vector256.Sum(aPsi); xGrad += Vector256.Sum(aGrad); lap += Vector256.Sum(aLap);
                aPsi = aGrad = aLap = Vector256<float>.Zero;
            }
        }
        psi += Vector256.Sum(aPsi); xGrad += Vector256.Sum(aGrad); lap += Vector256.Sum(aLap);
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
