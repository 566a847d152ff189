namespace JetSharp.Examples.Jacobians;

/// <summary>
/// The human heart dipole problem of MINPACK-2 (B. M. Averick, R. G. Carter, J. J. Moré and G.-L. Xue, "The
/// MINPACK-2 test problem collection", Argonne preprint MCS-P153-0692, 1992; subroutine dhhdfj, problem
/// version 'DHHD1'). Formulated by C. V. Nelson and B. C. Hodgkin, in the form of Dennis, Gay and Vu: eight
/// equations in eight unknowns x = (a, b, c, d, t, u, v, w), in that order, the residuals of fitting two
/// dipoles to measured moments σ:
/// <code>
/// f₁ = a + b − σ_mx
/// f₂ = c + d − σ_my
/// f₃ = t a + u b − v c − w d − σ_A
/// f₄ = v a + w b + t c + u d − σ_B
/// f₅ = a(t² − v²) − 2 c t v + b(u² − w²) − 2 d u w − σ_C
/// f₆ = c(t² − v²) + 2 a t v + d(u² − w²) + 2 b u w − σ_D
/// f₇ = a t(t² − 3v²) + c v(v² − 3t²) + b u(u² − 3w²) + d w(w² − 3u²) − σ_E
/// f₈ = c t(t² − 3v²) − a v(v² − 3t²) + d u(u² − 3w²) − b w(w² − 3u²) − σ_F
/// </code>
/// The σ are dhhdfj's data for version 'DHHD1' (experiment 791129 of Dennis, Gay and Vu): σ_mx = 0.485,
/// σ_my = −0.0019, σ_A = −0.0581, σ_B = 0.015, σ_C = 0.105, σ_D = 0.0406, σ_E = 0.167, σ_F = −0.399; the
/// other four versions change only the σ and the starting point, so they shift the residuals and change
/// neither the Jacobian nor the graph. <see cref="StandardStart"/> is that version's standard starting point.
/// Common subexpressions are computed once: t², v², u², w², tv, uw and the differences built from them
/// (as dhhdfj does), and also the products a t, b u, c v, d w, c t, a v, d u, b w that occur in two residuals
/// and c·tv, a·tv, d·uw, b·uw for the products 2ctv, … (dhhdfj writes those inline, e.g. two*c*t*v).
/// </summary>
public static class HumanHeartDipole
{
    // MINPACK-2, Averick, Carter, Moré & Xue 1992, subroutine dhhdfj, prob = 'DHHD1'.
    private const double Smx = 0.485, Smy = -0.0019, SA = -0.0581, SB = 0.015, SC = 0.105, SD = 0.0406, SE = 0.167, SF = -0.399;

    /// <summary>The standard starting point of dhhdfj for 'DHHD1' (task 'XS'), in the order (a, b, c, d, t, u, v, w).</summary>
    public static double[] StandardStart => [0.299, 0.186, -0.0273, 0.0254, -0.474, 0.474, -0.0892, 0.0892];

    public static BenchmarkFunction Benchmark { get; } = new("heart", "MINPACK-2 human heart dipole", 8, 8, Residuals, SamplePoints,
        "Averick, Carter, Moré, Xue: The MINPACK-2 test problem collection (1992), subroutine dhhdfj, version DHHD1");

    public static Node[] Residuals(Node[] x)
    {
        if (x.Length != 8) throw new ArgumentException($"human heart dipole: expects 8 unknowns (a, b, c, d, t, u, v, w), got {x.Length}.");
        var (a, b, c, d, t, u, v, w) = (x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]);
        var tt = t * t;
        var vv = v * v;
        var uu = u * u;
        var ww = w * w;
        var tv = t * v;
        var uw = u * w;
        var ttMinusVv = tt - vv;
        var uuMinusWw = uu - ww;
        var p = tt - 3 * vv; // t² − 3v²
        var q = vv - 3 * tt; // v² − 3t²
        var r = uu - 3 * ww; // u² − 3w²
        var s = ww - 3 * uu; // w² − 3u²
        var at = a * t;
        var bu = b * u;
        var cv = c * v;
        var dw = d * w;
        var ct = c * t;
        var av = a * v;
        var du = d * u;
        var bw = b * w;
        return
        [
            a + b - Smx,
            c + d - Smy,
            at + bu - cv - dw - SA,
            av + bw + ct + du - SB,
            a * ttMinusVv - 2 * (c * tv) + b * uuMinusWw - 2 * (d * uw) - SC,
            c * ttMinusVv + 2 * (a * tv) + d * uuMinusWw + 2 * (b * uw) - SD,
            at * p + cv * q + bu * r + dw * s - SE,
            ct * p - av * q + du * r - bw * s - SF,
        ];
    }

    /// <summary>Unknowns uniform on [−1, 1] (the box holds the standard starting point).</summary>
    public static NDArray<double> SamplePoints(int points, long seed) =>
        BenchmarkFunction.Uniform(points, seed, [.. Enumerable.Repeat((-1.0, 1.0), 8)]);
}
