using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Nn.Vmc;

/// <summary>Sizes of a <see cref="SlaterJastrow"/> wavefunction.</summary>
public sealed record SlaterJastrowOptions
{
    /// <summary>Hidden widths of the orbital network (one network, n↑ + n↓ outputs).</summary>
    public int[] OrbitalHidden { get; init; } = [16];

    /// <summary>Hidden widths of the electron–electron–nucleus Jastrow network (none: no network term).</summary>
    public int[] JastrowHidden { get; init; } = [16, 16];

    /// <summary>Initial scale of the networks' last layers (small: the ansatz starts near the envelope product).</summary>
    public double OutputScale { get; init; } = 0.1;

    /// <summary>Number K of determinants (each with its own orbitals; ψ = Σ_d det Φ_d↑ det Φ_d↓, see <see cref="Determinants"/>).</summary>
    public int Determinants { get; init; } = 1;

    /// <summary>
    /// Backflow: the orbital network sees quasi-particle positions q_i = r_i + Σ_{j≠i} η_s(r_ij²)(r_i − r_j) with
    /// η_s(t) = a_s exp(−softplus(c_s)·t), one (a, c) for parallel and one for antiparallel spins (a starts at 0).
    /// </summary>
    public bool Backflow { get; init; }

    internal void Validate()
    {
        if (Determinants < 1) throw new ArgumentOutOfRangeException(nameof(Determinants), $"SlaterJastrow: needs at least one determinant, got {Determinants}.");
        if (!(OutputScale >= 0) || double.IsInfinity(OutputScale)) throw new ArgumentOutOfRangeException(nameof(OutputScale), $"SlaterJastrow: the output scale must be finite and ≥ 0, got {OutputScale}.");
    }
}

/// <summary>
/// A Slater–Jastrow wavefunction built only from JetSharp primitives, so every operator and strategy applies:
/// <code>
/// log|ψ(x)| = log|Σ_d det Φ_d↑ · det Φ_d↓| + J(x)      (d = 1…K determinants; K = 1: ln|det Φ↑| + ln|det Φ↓|),
/// Φ[i, k] = (1 + NN_k(h_i)) · Σ_I π_kI exp(−ζ_kI |r_i − R_I|),    h_i = (q_i − R_I, |q_i − R_I|)_I,
/// q_i = r_i (no backflow)   or   q_i = r_i + Σ_{j≠i} a_s exp(−c_s r_ij²)(r_i − r_j)   (backflow),
/// J(x) = Σ_{i&lt;j} a_ij r_ij / (1 + b r_ij) + Σ_{i&lt;j} Σ_I [u(r_iI, r_jI, r_ij², s_ij) + u(r_jI, r_iI, r_ij², s_ij)].
/// </code>
/// Electrons 0…n↑−1 fill the up block, the rest the down block; each determinant and block uses its own n_σ outputs
/// of the orbital network (K·n outputs in all), so exchanging two same-spin electrons exchanges two rows of a determinant and flips the
/// sign of ψ (backflow is permutation-equivariant: q_i is symmetric in the other electrons, so this still holds). The envelopes
/// use the bare |r_i − R_I|, so ψ decays as without backflow. u is a small MLP symmetrised in i ↔ j; s_ij = 1 for parallel spins, 0 otherwise.
/// <para><b>Cusps.</b> The electron–electron cusp ∂ ln ψ/∂r_ij = a_ij at r_ij = 0 holds exactly for every θ:
/// a = ½ for antiparallel and ¼ for parallel spins come from the Padé term (b = softplus(β) > 0 is learned),
/// and the network sees r_ij only through the smooth r_ij², which adds no kink. The electron–nucleus cusp
/// (∂ ln ψ/∂r_iI = −Z_I) is not imposed: the exponents ζ start at Z_I/(shell), and the orbital and Jastrow
/// networks see |r_i − R_I|, so the slope at a nucleus is learned; a violated cusp shows as a 1/r spike of
/// E_L near the nucleus, which the energy gradient (and the variance) penalise.</para>
/// </summary>
public sealed class SlaterJastrow : IWavefunction
{
    private readonly Mlp _orbitals;
    private readonly Mlp? _jastrow;
    private readonly int _k, _m, _n;

    public SlaterJastrow(Molecule molecule, SlaterJastrowOptions? options = null, long seed = 0)
    {
        Molecule = molecule;
        Options = options ?? new SlaterJastrowOptions();
        Options.Validate();
        _m = molecule.Nuclei.Count;
        _n = molecule.Electrons;
        _k = Options.Determinants * _n;
        _orbitals = Mlp.Create(4 * _m, Options.OrbitalHidden, _k, Activation.Tanh, seed);
        if (molecule.Electrons > 1 && Options.JastrowHidden.Length > 0)
            _jastrow = Mlp.Create(4, Options.JastrowHidden, 1, Activation.Tanh, seed + 1);
        ParameterShapes =
        [
            .. _orbitals.ParameterShapes,
            new Shape(_k, _m),          // ζ: envelope exponents
            new Shape(_k, _m),          // π: envelope weights
            new Shape(1),               // β: Padé b = softplus(β)
            .. _jastrow?.ParameterShapes ?? [],
            .. Backflow ? new[] { new Shape(2), new Shape(2) } : [],   // a_s, c_s (s = parallel, antiparallel)
        ];
    }

    public Molecule Molecule { get; }
    public SlaterJastrowOptions Options { get; }

    public IReadOnlyList<Shape> ParameterShapes { get; }

    private bool Backflow => Options.Backflow && _n > 1;

    public string Architecture =>
        $"Slater–Jastrow {Molecule.Name}: {(Options.Determinants == 1 ? "1 determinant" : $"{Options.Determinants} determinants")} of orbitals (1 + {_orbitals.Architecture}) × exp envelopes" +
        (Backflow ? " of backflow coordinates" : "") + ", Padé e–e cusp" + (_jastrow is null ? "" : $" + e–e–n {_jastrow.Architecture}");

    /// <summary>Seeded initial θ: network weights from <see cref="Mlp.Create"/> (last layers × OutputScale), ζ_kI = Z_I / shell(k), π = 1, b = 1; backflow a = 0, c = 1.</summary>
    public double[] InitialParameters()
    {
        var ps = new List<NDArray>();
        AddScaled(ps, _orbitals);
        ps.Add(WavefunctionParts.InitialExponents(Molecule, _k));
        ps.Add(NDArray.FromArray(Enumerable.Repeat(1.0, _k * _m).ToArray(), new Shape(_k, _m)));
        ps.Add(new NDArray<double>(new Shape(1), [Math.Log(Math.E - 1)]));
        if (_jastrow is not null) AddScaled(ps, _jastrow);
        if (Backflow)
        {
            ps.Add(new NDArray<double>(new Shape(2)));
            ps.Add(new NDArray<double>(new Shape(2), [Math.Log(Math.E - 1), Math.Log(Math.E - 1)]));
        }
        return ParameterVector.Flatten<double>(ps);
    }

    private void AddScaled(List<NDArray> ps, Mlp net)
    {
        for (int i = 0; i < net.Parameters.Length; i++)
        {
            var p = (NDArray<double>)net.Parameters[i];
            if (i >= net.Parameters.Length - 2) p = new NDArray<double>(p.Shape, [.. p.Data.ToArray().Select(v => v * Options.OutputScale)]);
            ps.Add(p);
        }
    }

    /// <summary>log|ψ| [N, 1] for walkers x [N, 3n].</summary>
    public Node LogPsi(IReadOnlyList<Node> parameters, Node x) => Evaluate(parameters, x).LogAbs;

    /// <summary>(sign ψ [N], log|ψ| [N, 1]) for walkers x [N, 3n].</summary>
    public (Node Sign, Node LogAbs) Evaluate(IReadOnlyList<Node> parameters, Node x)
    {
        Hamiltonian.CheckWalkers(Molecule, x, "SlaterJastrow");
        WavefunctionParts.CheckParameters("SlaterJastrow", parameters, ParameterShapes);
        int w = x.Shape[0], n = Molecule.Electrons;
        int no = _orbitals.ParameterShapes.Length;
        var orbitalParams = parameters.Take(no).ToArray();
        Node zeta = parameters[no], pi = parameters[no + 1], beta = parameters[no + 2];
        int nj = _jastrow?.ParameterShapes.Length ?? 0;
        var jastrowParams = parameters.Skip(no + 3).Take(nj).ToArray();

        // Orbitals Φ[N, n, K·n].
        var (rNuc, disp) = Geometry.ElectronNucleus(Molecule, x);                     // [N, n, M], [N, n, M, 3]
        var (qNuc, qDisp) = Backflow ? BackflowFeatures(x, parameters[no + 3 + nj], parameters[no + 4 + nj]) : (rNuc, disp);
        var features = Fn.Concat(-1, Fn.Reshape(qDisp, w * n, 3 * _m), Fn.Reshape(qNuc, w * n, _m));
        var net = Fn.Reshape(_orbitals.Apply(orbitalParams, features), w, n, _k);
        var phi = (net + 1.0) * WavefunctionParts.Envelope(rNuc, zeta, pi);

        var (sign, logAbs) = Determinants.SignedLogSum(Molecule, phi, Options.Determinants);
        var result = Fn.Reshape(logAbs, w, 1);
        if (n > 1) result += Fn.Reshape(Jastrow(x, rNuc, beta, jastrowParams), w, 1);
        return (sign, result);
    }

    /// <summary>
    /// |q_i − R_I| [N, n, M] and q_i − R_I [N, n, M, 3] for the backflow coordinates q_i = r_i + Σ_j η_s(r_ij²)(r_i − r_j).
    /// All ordered pairs (i, j) enter, the diagonal with r_i − r_i = 0; η is a function of r_ij², so nothing is
    /// singular at coincidences.
    /// </summary>
    private (Node Distance, Node Displacement) BackflowFeatures(Node x, Node a, Node c)
    {
        var g = x.Graph;
        int w = x.Shape[0], n = _n;
        var r = Fn.Reshape(x, w, n, 3);
        var d = Fn.Reshape(r, w, n, 1, 3) - Fn.Reshape(r, w, 1, n, 3);                    // r_i − r_j [N, n, n, 3]
        var sq = Fn.Sum(d * d, -1);                                                        // [N, n, n]
        var parallel = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) parallel[i * n + j] = Molecule.IsUp(i) == Molecule.IsUp(j) ? 1 : 0;
        // mask[·, i, j, s]: s = 0 parallel, 1 antiparallel; a and c enter elementwise only (per-sample Jacobians apply).
        var mask = new double[n * n * 2];
        for (int k = 0; k < n * n; k++) { mask[2 * k] = parallel[k]; mask[2 * k + 1] = 1 - parallel[k]; }
        var masks = g.Constant(new NDArray<double>(new Shape(1, n, n, 2), mask));
        var eta = Fn.Sum(masks * a * Fn.Exp(-(Fn.Softplus(c) * Fn.Reshape(sq, w, n, n, 1))), -1);   // [N, n, n]
        var q = r + Fn.Sum(Fn.Reshape(eta, w, n, n, 1) * d, 2);                            // [N, n, 3]
        int m = _m;
        var nuc = g.Constant(new NDArray<double>(new Shape(1, 1, m, 3), [.. Molecule.Nuclei.SelectMany(u => new[] { u.X, u.Y, u.Z })]));
        var qd = Fn.Reshape(q, w, n, 1, 3) - nuc;
        return (Fn.Sqrt(Fn.Sum(qd * qd, -1)), qd);
    }

    /// <summary>J [N]: the Padé cusp term plus the symmetrised e–e–n network.</summary>
    private Node Jastrow(Node x, Node rNuc, Node beta, Node[] jastrowParams)
    {
        var g = x.Graph;
        int w = x.Shape[0];
        var j = WavefunctionParts.PadeCusp(Molecule, x, beta);
        if (_jastrow is null) return j;
        var (first, second, _, sq) = Geometry.ElectronElectron(Molecule, x);         // [N, P]
        int p = first.Length;
        var same = first.Zip(second, (a, b) => Molecule.IsUp(a) == Molecule.IsUp(b) ? 1.0 : 0.0).ToArray();

        var shape = new Shape(w, p, _m, 1);
        var ri = Fn.Reshape(Fn.Take(rNuc, first, 1), w, p, _m, 1);
        var rj = Fn.Reshape(Fn.Take(rNuc, second, 1), w, p, _m, 1);
        var rij2 = Fn.BroadcastTo(Fn.Reshape(sq, w, p, 1, 1), shape);
        var s = Fn.BroadcastTo(g.Constant(new NDArray<double>(new Shape(1, p, 1, 1), same)), shape);
        var total = Fn.Reshape(_jastrow.Apply(jastrowParams, Fn.Reshape(Fn.Concat(-1, ri, rj, rij2, s), w * p * _m, 4))
                             + _jastrow.Apply(jastrowParams, Fn.Reshape(Fn.Concat(-1, rj, ri, rij2, s), w * p * _m, 4)), w, p * _m);
        return j + Fn.Sum(total, 1);
    }
}
