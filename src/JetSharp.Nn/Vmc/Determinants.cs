using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Nn.Vmc;

/// <summary>
/// Spin-blocked determinants of orbital matrices and their signed sum, shared by <see cref="SlaterJastrow"/> and
/// FermiNet. Electrons 0…n↑−1 are spin up. For orbitals Φ [N, n, K·n] (K determinants, each with its
/// own n orbitals; determinant d uses columns d·n … d·n + n − 1, its up block the first n↑ of them and its down block
/// the last n↓), the wavefunction is ψ = Σ_d det Φ_d↑ · det Φ_d↓, evaluated as a signed log-sum-exp of slogdet results:
/// <code>
///   (s_d, l_d) = slogdet Φ_d↑ ⊗ slogdet Φ_d↓,   m = mean_d l_d,
///   S = Σ_d s_d exp(l_d − m),   log|ψ| = m + ½ log S²,   sign ψ = sign S.
/// </code>
/// m only keeps the exponentials in range; the identity holds for any m, so it is an ordinary smooth (linear) function of
/// the l_d that every strategy differentiates like the rest, and log|ψ| is smooth away from the nodes S = 0. It is the mean
/// rather than the maximum because reduce_max has no higher-order Taylor rule; in float64 the exponentials stay finite
/// while the determinants differ by less than e^700. With K = 1 the sum is
/// skipped: log|ψ| = l_1 exactly.
/// </summary>
public static class Determinants
{
    /// <summary>(sign ψ [N], log|ψ| [N]) for orbitals Φ [N, n, K·n] of <paramref name="molecule"/>.</summary>
    public static (Node Sign, Node LogAbs) SignedLogSum(Molecule molecule, Node phi, int determinants)
    {
        int n = molecule.Electrons;
        if (determinants < 1) throw new ArgumentOutOfRangeException(nameof(determinants), $"Determinants.SignedLogSum: needs at least one determinant, got {determinants}.");
        if (phi.Rank != 3 || phi.Shape[1] != n || phi.Shape[2] != determinants * n)
            throw new ShapeException($"Determinants.SignedLogSum: orbitals of {molecule.Name} with {determinants} determinant(s) must be [N, {n}, {determinants * n}], got {phi.Shape}.");
        var signs = new List<Node>();
        var logs = new List<Node>();
        for (int d = 0; d < determinants; d++)
        {
            Node? sign = null, logAbs = null;
            foreach (var (start, count) in new[] { (0, molecule.Up), (molecule.Up, molecule.Down) })
            {
                if (count == 0) continue;
                int[] rows = [.. Enumerable.Range(start, count)];
                int[] cols = [.. rows.Select(i => d * n + i)];
                var (s, l) = Linalg.Slogdet(Fn.Take(Fn.Take(phi, rows, 1), cols, 2));   // [N]
                sign = sign is null ? s : sign * s;
                logAbs = logAbs is null ? l : logAbs + l;
            }
            signs.Add(sign!);
            logs.Add(logAbs!);
        }
        if (determinants == 1) return (signs[0], logs[0]);
        // Elementwise on [N] only: m and S are plain sums over the determinants.
        var m = logs.Aggregate((a, b) => a + b) * (1.0 / determinants);
        var sum = signs.Zip(logs, (s, l) => s * Fn.Exp(l - m)).Aggregate((a, b) => a + b);
        return (Fn.Sign(sum), m + Fn.Log(sum * sum) * 0.5);
    }
}
