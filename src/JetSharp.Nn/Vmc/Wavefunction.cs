using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Nn.Vmc;

/// <summary>An antisymmetric trial wavefunction of a <see cref="Molecule"/> with parameters θ (<see cref="SlaterJastrow"/>, <see cref="FermiNet"/>).</summary>
public interface IWavefunction
{
    /// <summary>The system (nuclei, spins) the wavefunction is built for.</summary>
    Molecule Molecule { get; }

    /// <summary>Shapes of θ, in the order <see cref="LogPsi"/> takes them.</summary>
    IReadOnlyList<Shape> ParameterShapes { get; }

    /// <summary>A one-line description.</summary>
    string Architecture { get; }

    /// <summary>The seeded initial θ, flat.</summary>
    double[] InitialParameters();

    /// <summary>log|ψ| [N, 1] for walkers x [N, 3n].</summary>
    Node LogPsi(IReadOnlyList<Node> parameters, Node x);

    /// <summary>(sign ψ [N], log|ψ| [N, 1]) for walkers x [N, 3n].</summary>
    (Node Sign, Node LogAbs) Evaluate(IReadOnlyList<Node> parameters, Node x);
}

/// <summary>Pieces shared by the wavefunctions: parameter checks and the electron–electron cusp factor.</summary>
internal static class WavefunctionParts
{
    public static void CheckParameters(string who, IReadOnlyList<Node> parameters, IReadOnlyList<Shape> shapes)
    {
        if (parameters.Count != shapes.Count)
            throw new ShapeException($"{who}: {parameters.Count} parameter(s) given, the ansatz has {shapes.Count}.");
        for (int i = 0; i < parameters.Count; i++)
            if (parameters[i].Shape != shapes[i])
                throw new ShapeException($"{who}: parameter {i} has shape {parameters[i].Shape}, expected {shapes[i]}.");
    }

    /// <summary>
    /// The Padé cusp term Σ_{i&lt;j} a_ij r_ij / (1 + b r_ij) [N], a = ¼ for parallel and ½ for antiparallel spins,
    /// b = softplus(β) (β [1]): ∂/∂r_ij at r_ij = 0 is a_ij for every b, the Kato cusp, so the 1/r_ij of the potential
    /// cancels in E_L. The pair distances come from <see cref="Geometry.ElectronElectron"/>.
    /// </summary>
    public static Node PadeCusp(Molecule molecule, Node x, Node beta)
    {
        var (first, second, r, _) = Geometry.ElectronElectron(molecule, x);           // [N, P]
        var a = x.Graph.Constant(new NDArray<double>(new Shape(1, first.Length),
            [.. first.Zip(second, (i, j) => molecule.IsUp(i) == molecule.IsUp(j) ? 0.25 : 0.5)]));
        return Fn.Sum(a * r / (Fn.Softplus(beta) * r + 1.0), 1);
    }

    /// <summary>Envelope exponents ζ = Z_I / shell for orbital k of every determinant (shell 1 for the first orbital of a spin block, 2 for the next four, then 3).</summary>
    public static NDArray<double> InitialExponents(Molecule molecule, int orbitals)
    {
        int n = molecule.Electrons, m = molecule.Nuclei.Count;
        var zeta = new NDArray<double>(new Shape(orbitals, m));
        for (int k = 0; k < orbitals; k++)
        {
            int orbital = k % n, within = orbital < molecule.Up ? orbital : orbital - molecule.Up;
            int shell = within == 0 ? 1 : within <= 4 ? 2 : 3;
            for (int i = 0; i < m; i++) zeta.Data[k * m + i] = molecule.Nuclei[i].Charge / shell;
        }
        return zeta;
    }

    /// <summary>Isotropic exponential envelopes Σ_I π_kI exp(−ζ_kI |r_i − R_I|) [N, n, K] from distances [N, n, M], ζ and π [K, M].</summary>
    /// <remarks>ζ and π enter only elementwise (broadcast on the right, never reshaped), so per-sample parameter Jacobians
    /// (<see cref="Transforms.PerSampleParameters"/>) apply.</remarks>
    public static Node Envelope(Node rNuc, Node zeta, Node pi)
    {
        int w = rNuc.Shape[0], n = rNuc.Shape[1], m = rNuc.Shape[2];
        return Fn.Sum(pi * Fn.Exp(-(zeta * Fn.Reshape(rNuc, w, n, 1, m))), -1);
    }
}
