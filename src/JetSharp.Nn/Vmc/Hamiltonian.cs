using JetSharp.Ir;
using JetSharp.Operators;
using JetSharp.Primitives;
using JetSharp.Transforms;

namespace JetSharp.Nn.Vmc;

/// <summary>A log-wavefunction: parameters θ (nodes, in the order of the shapes it declares) and walkers x [N, 3n] → log|ψ| [N, 1].</summary>
public delegate Node LogWavefunction(IReadOnlyList<Node> parameters, Node x);

/// <summary>
/// The electronic Hamiltonian H = −½ Σ_i Δ_i + V of a <see cref="Molecule"/> with fixed nuclei, and its local
/// energy E_L = Hψ/ψ = −½(Δ log|ψ| + ‖∇ log|ψ|‖²) + V, where
/// V = −Σ_{i,I} Z_I/|r_i − R_I| + Σ_{i&lt;j} 1/|r_i − r_j| + Σ_{I&lt;J} Z_I Z_J/|R_I − R_J|.
/// The kinetic term needs log|ψ|, its gradient and its Laplacian in all 3n coordinates: one
/// <see cref="ValueGradientLaplacian"/> graph (with <see cref="Strategy.Collapsed"/>, the forward Laplacian).
/// </summary>
public static class Hamiltonian
{
    /// <summary>
    /// V(x) [N, 1] for walkers x [N, 3n]. <paramref name="electronRepulsion"/> = false drops the e–e term (a
    /// non-interacting reference system, for tests).
    /// </summary>
    public static Node Potential(Molecule molecule, Node x, bool electronRepulsion = true)
    {
        CheckWalkers(molecule, x, "Hamiltonian.Potential");
        var g = x.Graph;
        int n = molecule.Electrons, m = molecule.Nuclei.Count, w = x.Shape[0];
        var (rNuc, _) = Geometry.ElectronNucleus(molecule, x);                          // [N, n, M]
        var charges = g.Constant(new NDArray<double>(new Shape(1, 1, m), [.. molecule.Nuclei.Select(u => u.Charge)]));
        var v = -Fn.Sum(charges / rNuc, [1, 2]);                                          // [N]
        if (electronRepulsion && n > 1) v += Fn.Sum(Fn.Reciprocal(Geometry.ElectronElectron(molecule, x).Distance), 1);
        v = Fn.Reshape(v, w, 1);
        double nn = molecule.NuclearRepulsion;
        return nn == 0 ? v : v + nn;
    }

    /// <summary>
    /// The local-energy graph: inputs x [N, 3n] then the parameters θ (shapes <paramref name="parameterShapes"/>),
    /// outputs E_L [N, 1], log|ψ| [N, 1] and the kinetic energy −½(Δ log|ψ| + ‖∇ log|ψ|‖²) [N, 1].
    /// A null <paramref name="strategy"/> means <see cref="Strategy.Collapsed"/>.
    /// </summary>
    public static Graph LocalEnergy(Molecule molecule, LogWavefunction logPsi, IReadOnlyList<Shape> parameterShapes, int walkers,
        Strategy? strategy = null, bool electronRepulsion = true)
    {
        if (walkers < 1) throw new ArgumentOutOfRangeException(nameof(walkers), $"Hamiltonian.LocalEnergy: need at least one walker, got {walkers}.");
        var x = new Shape(walkers, molecule.Dimension);
        var f = Tracing.Tracer.Function(xs => logPsi(xs[1..], xs[0]), [x, .. parameterShapes]);
        var vgl = ValueGradientLaplacian.Build(f, strategy ?? Strategy.Collapsed);
        var g = new Graph(DType.Float64);
        var xe = g.Input(x, "x");
        var pe = parameterShapes.Select((s, i) => g.Input(s, $"θ{i}")).ToArray();
        var outs = Inline.Apply(vgl, [xe, .. pe]);
        var value = Fn.Reshape(outs[0], walkers, 1);
        var kinetic = (Fn.Reshape(outs[2], walkers, 1) + Fn.Sum(outs[1] * outs[1], 1, keepDims: true)) * -0.5;
        g.SetOutputs([kinetic + Potential(molecule, xe, electronRepulsion), value, kinetic]);
        return g;
    }

    internal static void CheckWalkers(Molecule molecule, Node x, string op)
    {
        if (x.Rank != 2 || x.Shape[1] != molecule.Dimension)
            throw new ShapeException($"{op}: walkers of {molecule.Name} ({molecule.Electrons} electrons) must be [N, {molecule.Dimension}], got {x.Shape}.");
    }
}

/// <summary>Distances between electrons and nuclei, built from primitives (differentiable to any order away from coincidences).</summary>
public static class Geometry
{
    /// <summary>Electron–nucleus distances |r_i − R_I| [N, n, M] and displacements r_i − R_I [N, n, M, 3].</summary>
    public static (Node Distance, Node Displacement) ElectronNucleus(Molecule molecule, Node x)
    {
        Hamiltonian.CheckWalkers(molecule, x, "Geometry.ElectronNucleus");
        int n = molecule.Electrons, m = molecule.Nuclei.Count, w = x.Shape[0];
        var r = Fn.Reshape(x, w, n, 1, 3);
        var nuc = x.Graph.Constant(new NDArray<double>(new Shape(1, 1, m, 3), [.. molecule.Nuclei.SelectMany(u => new[] { u.X, u.Y, u.Z })]));
        var d = r - nuc;
        return (Fn.Sqrt(Fn.Sum(d * d, -1)), d);
    }

    /// <summary>
    /// The electron pairs i &lt; j (in the order (0,1), (0,2), …, (1,2), …), their distances |r_i − r_j| [N, P]
    /// and squared distances [N, P]. Only pairs of distinct electrons appear, so no square root is taken at 0.
    /// </summary>
    public static (int[] First, int[] Second, Node Distance, Node SquaredDistance) ElectronElectron(Molecule molecule, Node x)
    {
        Hamiltonian.CheckWalkers(molecule, x, "Geometry.ElectronElectron");
        int n = molecule.Electrons, w = x.Shape[0];
        if (n < 2) throw new ArgumentException($"Geometry.ElectronElectron: {molecule.Name} has a single electron, so no pairs.");
        var first = new List<int>();
        var second = new List<int>();
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) { first.Add(i); second.Add(j); }
        var r = Fn.Reshape(x, w, n, 3);
        var d = Fn.Take(r, [.. first], 1) - Fn.Take(r, [.. second], 1);
        var sq = Fn.Sum(d * d, -1);
        return ([.. first], [.. second], Fn.Sqrt(sq), sq);
    }
}
