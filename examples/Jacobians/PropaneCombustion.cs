namespace JetSharp.Examples.Jacobians;

/// <summary>
/// Combustion of propane in air, full formulation ("CPF"), from the MINPACK-2 collection (B. M. Averick,
/// R. G. Carter, J. J. Moré and G.-L. Xue, "The MINPACK-2 test problem collection", 1992; subroutine dcpffj),
/// after K. Meintjes and A. P. Morgan, "Chemical equilibrium systems as numerical test problems", ACM TOMS 16,
/// 1990: eleven equations in the eleven unknowns x₁..x₁₀ (moles of the combustion products) and x₁₁ (their
/// total). Element balances (C, O, H, N), equilibrium relations at pressure P and the total:
/// <code>
/// f₁  = x₁ + x₄ − 3
/// f₂  = 2x₁ + x₂ + x₄ + x₇ + x₈ + x₉ + 2x₁₀ − R
/// f₃  = 2x₂ + 2x₅ + x₆ + x₇ − 8
/// f₄  = 2x₃ + x₉ − 4R
/// f₅  = K₅ x₂ x₄ − x₁ x₅
/// f₆  = K₆ √(x₂ x₄) − √x₁ x₆ √(P/x₁₁)
/// f₇  = K₇ √(x₁ x₂) − √x₄ x₇ √(P/x₁₁)
/// f₈  = K₈ x₁ − x₄ x₈ (P/x₁₁)
/// f₉  = K₉ x₁ √x₃ − x₄ x₉ √(P/x₁₁)
/// f₁₀ = K₁₀ x₁² − x₄² x₁₀ (P/x₁₁)
/// f₁₁ = x₁₁ − Σᵢ₌₁¹⁰ xᵢ
/// </code>
/// with R = 10, P = 40, K₅ = 0.193, K₆ = 2.597·10⁻³, K₇ = 3.448·10⁻³, K₈ = 1.799·10⁻⁵, K₉ = 2.155·10⁻⁴,
/// K₁₀ = 3.846·10⁻⁵, as in dcpffj (which keeps P out of the K's; the reduced formulation dcprfj, five unknowns,
/// is the one that folds it in). Each residual is written term by term as dcpffj writes it — √(x₂x₄) and
/// √(x₁x₂) as square roots of products, constant factors applied from the left (K₅x₂ first, then ·x₄),
/// P/x₁₁ and its square root formed once — so the traced graph is that of the MINPACK-2 expressions.
/// <see cref="StandardStart"/> is dcpffj's standard starting point.
/// </summary>
public static class PropaneCombustion
{
    // MINPACK-2, Averick, Carter, Moré & Xue 1992, subroutine dcpffj.
    private const double R = 10, P = 40;
    private const double K5 = 0.193, K6 = 2.597e-3, K7 = 3.448e-3, K8 = 1.799e-5, K9 = 2.155e-4, K10 = 3.846e-5;

    /// <summary>The standard starting point of dcpffj (task 'XS').</summary>
    public static double[] StandardStart
    {
        get
        {
            double sqrtP = Math.Sqrt(P);
            return [5, 2.5, 5, 0.1, 0.05 * K5, K6 / sqrtP, 50 * K7 / sqrtP, 1000 * K8 / P, 500 * K9 / sqrtP, 50000 * K10 / P, 20];
        }
    }

    public static BenchmarkFunction Benchmark { get; } = new("propane", "MINPACK-2 propane combustion (full)", 11, 11, Residuals, SamplePoints,
        "Averick, Carter, Moré, Xue: The MINPACK-2 test problem collection (1992), subroutine dcpffj; Meintjes & Morgan (1990)");

    public static Node[] Residuals(Node[] x)
    {
        if (x.Length != 11) throw new ArgumentException($"propane combustion: expects 11 unknowns, got {x.Length}.");
        var (x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11) = (x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9], x[10]);
        var pOverTotal = P / x11;
        var sqrtPOverTotal = Fn.Sqrt(pOverTotal);
        var total = x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10;
        return
        [
            x1 + x4 - 3,
            2 * x1 + x2 + x4 + x7 + x8 + x9 + 2 * x10 - R,
            2 * x2 + 2 * x5 + x6 + x7 - 8,
            2 * x3 + x9 - 4 * R,
            K5 * x2 * x4 - x1 * x5,
            K6 * Fn.Sqrt(x2 * x4) - Fn.Sqrt(x1) * x6 * sqrtPOverTotal,
            K7 * Fn.Sqrt(x1 * x2) - Fn.Sqrt(x4) * x7 * sqrtPOverTotal,
            K8 * x1 - x4 * x8 * pOverTotal,
            K9 * x1 * Fn.Sqrt(x3) - x4 * x9 * sqrtPOverTotal,
            K10 * (x1 * x1) - x4 * x4 * x10 * pOverTotal,
            x11 - total,
        ];
    }

    /// <summary>
    /// Positive unknowns: x₁..x₁₀ uniform on [0.5, 2], the total x₁₁ on [5, 20]. (The standard starting point
    /// lies outside this box — seven of its components are below 0.5 — but the function is smooth there too.)
    /// </summary>
    public static NDArray<double> SamplePoints(int points, long seed) =>
        BenchmarkFunction.Uniform(points, seed, [.. Enumerable.Repeat((0.5, 2.0), 10), (5.0, 20.0)]);
}
