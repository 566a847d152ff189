namespace JetSharp.Examples.Jacobians;

/// <summary>
/// Roe's approximate Riemann solver for the 1-D Euler equations (P. L. Roe, "Approximate Riemann solvers,
/// parameter vectors, and difference schemes", J. Comput. Phys. 43, 1981; the form of E. F. Toro, "Riemann
/// Solvers and Numerical Methods for Fluid Dynamics", ch. 11): the numerical flux between a left and a right
/// state, ℝ⁶ → ℝ³.
/// <para>Inputs: the conservative states U_L = (ρ_L, (ρu)_L, E_L) and U_R = (ρ_R, (ρu)_R, E_R); ideal gas with
/// γ = 1.4. Output: F = ½(F(U_L) + F(U_R)) − ½ Σ_k |λ̃_k| α̃_k r̃_k with the physical flux
/// F(U) = (ρu, ρu² + p, u(E + p)), p = (γ − 1)(E − ½ρu²), Roe averages ũ, H̃ weighted by √ρ, ρ̃ = √(ρ_L ρ_R),
/// c̃² = (γ − 1)(H̃ − ½ũ²), eigenvalues ũ − c̃, ũ, ũ + c̃, eigenvectors (1, ũ − c̃, H̃ − ũc̃), (1, ũ, ½ũ²),
/// (1, ũ + c̃, H̃ + ũc̃) and wave strengths α̃₁,₃ = (Δp ∓ ρ̃c̃Δu)/(2c̃²), α̃₂ = Δρ − Δp/c̃².</para>
/// <para>Choices: no entropy fix (Harten's fix is piecewise), and |λ| is written √(λ²), which is smooth
/// wherever λ ≠ 0 and has derivative sign(λ) there. The sampler draws subsonic states with positive velocity
/// (0.2 ≤ u ≤ 0.6 against c ≈ 1.2), where no eigenvalue comes near zero.</para>
/// </summary>
public static class RoeFlux
{
    public const double Gamma = 1.4;

    public static BenchmarkFunction Benchmark { get; } = new("roe", "Roe flux (1-D Euler)", 6, 3, Flux, SamplePoints,
        "Roe 1981; Toro, Riemann Solvers and Numerical Methods for Fluid Dynamics, ch. 11");

    public static Node[] Flux(Node[] state)
    {
        if (state.Length != 6) throw new ArgumentException($"Roe flux: expects 6 inputs (ρ, ρu, E left and right), got {state.Length}.");
        var (rhoL, mL, eL, rhoR, mR, eR) = (state[0], state[1], state[2], state[3], state[4], state[5]);

        // Primitive variables of each side.
        var uL = mL / rhoL;
        var uR = mR / rhoR;
        var pL = (eL - 0.5 * mL * uL) * (Gamma - 1);
        var pR = (eR - 0.5 * mR * uR) * (Gamma - 1);
        var ePL = eL + pL;
        var ePR = eR + pR;
        var hL = ePL / rhoL;
        var hR = ePR / rhoR;

        // Roe averages, weighted by √ρ.
        var sL = Fn.Sqrt(rhoL);
        var sR = Fn.Sqrt(rhoR);
        var sSum = sL + sR;
        var u = (sL * uL + sR * uR) / sSum;
        var h = (sL * hL + sR * hR) / sSum;
        var rho = sL * sR;
        var uu = u * u;
        var c2 = (h - 0.5 * uu) * (Gamma - 1);
        var c = Fn.Sqrt(c2);
        var uc = u * c;

        // Wave strengths from the jumps.
        var dRho = rhoR - rhoL;
        var du = uR - uL;
        var dp = pR - pL;
        var rcdu = rho * c * du;
        var twoC2 = 2 * c2;
        var a1 = (dp - rcdu) / twoC2;
        var a2 = dRho - dp / c2;
        var a3 = (dp + rcdu) / twoC2;

        // |λ_k| α_k: the weight of each wave in the upwind dissipation.
        var lam1 = u - c;
        var lam3 = u + c;
        var w1 = Abs(lam1) * a1;
        var w2 = Abs(u) * a2;
        var w3 = Abs(lam3) * a3;

        // Σ_k w_k r_k, component by component.
        var d0 = w1 + w2 + w3;
        var d1 = w1 * lam1 + w2 * u + w3 * lam3;
        var d2 = w1 * (h - uc) + w2 * (0.5 * uu) + w3 * (h + uc);

        // Physical fluxes of both sides.
        var f1L = mL * uL + pL;
        var f1R = mR * uR + pR;
        var f2L = uL * ePL;
        var f2R = uR * ePR;

        return
        [
            0.5 * (mL + mR - d0),
            0.5 * (f1L + f1R - d1),
            0.5 * (f2L + f2R - d2),
        ];
    }

    /// <summary>|x| as √(x²): smooth away from 0 (see the class remarks).</summary>
    private static Node Abs(Node x) => Fn.Sqrt(x * x);

    /// <summary>Subsonic left and right states: ρ, p ∈ [0.8, 1.2], u ∈ [0.2, 0.6], converted to (ρ, ρu, E).</summary>
    public static NDArray<double> SamplePoints(int points, long seed)
    {
        var prim = BenchmarkFunction.Uniform(points, seed, [(0.8, 1.2), (0.2, 0.6), (0.8, 1.2), (0.8, 1.2), (0.2, 0.6), (0.8, 1.2)]);
        for (int k = 0; k < points; k++)
            for (int side = 0; side < 2; side++)
            {
                int o = k * 6 + side * 3;
                double rho = prim.Data[o], u = prim.Data[o + 1], p = prim.Data[o + 2];
                prim.Data[o + 1] = rho * u;
                prim.Data[o + 2] = p / (Gamma - 1) + 0.5 * rho * u * u;
            }
        return prim;
    }
}
