using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Nn.Vmc;

/// <summary>Sizes of a <see cref="FermiNet"/>.</summary>
public sealed record FermiNetOptions
{
    /// <summary>Widths of the one-electron stream, one per interaction layer.</summary>
    public int[] OneElectron { get; init; } = [16, 16];

    /// <summary>Widths of the two-electron stream: one fewer than <see cref="OneElectron"/> (the last layer's pair update would feed nothing).</summary>
    public int[] TwoElectron { get; init; } = [8];

    /// <summary>Number K of determinants.</summary>
    public int Determinants { get; init; } = 2;

    /// <summary>Multiply ψ by the Padé electron–electron cusp factor (see <see cref="FermiNet"/>).</summary>
    public bool Cusp { get; init; } = true;

    internal void Validate()
    {
        if (OneElectron.Length == 0 || OneElectron.Any(v => v < 1) || TwoElectron.Any(v => v < 1))
            throw new ArgumentException($"FermiNet: needs at least one interaction layer and positive widths, got one-electron [{string.Join(", ", OneElectron)}], two-electron [{string.Join(", ", TwoElectron)}].");
        if (TwoElectron.Length != OneElectron.Length - 1)
            throw new ArgumentException($"FermiNet: the two-electron stream needs {OneElectron.Length - 1} width(s) for {OneElectron.Length} layer(s), got {TwoElectron.Length}.");
        if (Determinants < 1) throw new ArgumentOutOfRangeException(nameof(Determinants), $"FermiNet: needs at least one determinant, got {Determinants}.");
    }
}

/// <summary>
/// A compact FermiNet-style wavefunction (after Pfau, Spencer, Matthews &amp; Foulkes 2020), built from JetSharp
/// primitives so every operator and strategy applies.
/// <para><b>Streams.</b> One-electron features h_i⁰ = (r_i − R_I, |r_i − R_I|)_I [4M] and two-electron features
/// g_ij⁰ = (r_i − r_j, √(1 + r_ij²)) [4]. Layer ℓ mixes them through spin-separated means (↑: electrons 0…n↑−1, ↓: the rest):
/// <code>
///   f_i = (h_i, ⟨h_j⟩_{j↑}, ⟨h_j⟩_{j↓}, ⟨g_ij⟩_{j↑}, ⟨g_ij⟩_{j↓}),
///   h_i ← tanh(W_ℓ f_i + b_ℓ) (+ h_i when the width is unchanged),   g_ij ← tanh(V_ℓ g_ij + c_ℓ) (+ g_ij likewise).
/// </code>
/// Every update is equivariant under permutations of same-spin electrons (the means are symmetric in j).</para>
/// <para><b>Orbitals and determinants.</b> φ_k(r_i; x) = (w_k·h_i^L + β_k) · Σ_I π_kI exp(−ζ_kI |r_i − R_I|) for K·n orbitals
/// (isotropic exponential envelopes; ζ starts at Z_I/shell, π at 1), and ψ = Σ_d det Φ_d↑ det Φ_d↓ by the signed
/// log-sum-exp of <see cref="Determinants"/>. Exchanging two same-spin electrons permutes the rows of every Φ_d↑ (or Φ_d↓)
/// alike, so ψ changes sign and log|ψ| does not.</para>
/// <para><b>Cusps.</b> The pair feature √(1 + r_ij²) is smooth at r_ij = 0 (|r_ij| would make the network's Laplacian
/// singular where electrons meet, and a learned kink cannot be exact), so the electron–electron cusp comes only from
/// the optional Padé factor exp(Σ_{i&lt;j} a_ij r_ij/(1 + b r_ij)), a = ½ antiparallel, ¼ parallel, which satisfies it
/// exactly for every θ. The electron–nucleus cusp is learned: the network and the envelopes see |r_i − R_I|, whose
/// slope at the nucleus is free (it is not imposed).</para>
/// </summary>
public sealed class FermiNet : IWavefunction
{
    private readonly int _n, _m, _orbitals;
    private readonly int[] _up, _down;
    private readonly int[] _inOne;

    /// <summary>A network for <paramref name="molecule"/>; <paramref name="seed"/> seeds <see cref="InitialParameters"/>.</summary>
    public FermiNet(Molecule molecule, FermiNetOptions? options = null, long seed = 0)
    {
        Molecule = molecule;
        Options = options ?? new FermiNetOptions();
        Options.Validate();
        Seed = seed;
        _n = molecule.Electrons;
        _m = molecule.Nuclei.Count;
        _orbitals = Options.Determinants * _n;
        _up = [.. Enumerable.Range(0, molecule.Up)];
        _down = [.. Enumerable.Range(molecule.Up, molecule.Down)];
        int spins = (_up.Length > 0 ? 1 : 0) + (_down.Length > 0 ? 1 : 0);
        var shapes = new List<Shape>();
        int h = 4 * _m, g = 4;
        _inOne = new int[Options.OneElectron.Length];
        for (int l = 0; l < Options.OneElectron.Length; l++)
        {
            int width = Options.OneElectron[l];
            _inOne[l] = h * (1 + spins) + g * spins;
            shapes.Add(new Shape(_inOne[l], width));
            shapes.Add(new Shape(width));
            if (l < Options.TwoElectron.Length)
            {
                shapes.Add(new Shape(g, Options.TwoElectron[l]));
                shapes.Add(new Shape(Options.TwoElectron[l]));
                g = Options.TwoElectron[l];
            }
            h = width;
        }
        shapes.Add(new Shape(h, _orbitals));        // orbital weights
        shapes.Add(new Shape(_orbitals));           // orbital biases
        shapes.Add(new Shape(_orbitals, _m));       // ζ
        shapes.Add(new Shape(_orbitals, _m));       // π
        if (Options.Cusp && _n > 1) shapes.Add(new Shape(1));   // β of the Padé factor
        ParameterShapes = shapes;
    }

    /// <inheritdoc/>
    public Molecule Molecule { get; }

    /// <summary>The sizes.</summary>
    public FermiNetOptions Options { get; }

    /// <summary>Seed of <see cref="InitialParameters"/>.</summary>
    public long Seed { get; }

    /// <inheritdoc/>
    public IReadOnlyList<Shape> ParameterShapes { get; }

    /// <inheritdoc/>
    public string Architecture =>
        $"FermiNet {Molecule.Name}: one-electron [{string.Join(", ", Options.OneElectron)}], two-electron [{string.Join(", ", Options.TwoElectron)}] tanh, " +
        $"{Options.Determinants} determinant(s) × exp envelopes" + (Options.Cusp && _n > 1 ? ", Padé e–e cusp" : "");

    /// <inheritdoc/>
    public double[] InitialParameters()
    {
        var ps = new List<NDArray>();
        int layer = 0;
        foreach (var s in ParameterShapes.Take(ParameterShapes.Count - 4 - (Options.Cusp && _n > 1 ? 1 : 0)))
            if (s.Rank == 2)
            {
                var (w, b) = Linear.Init<double>(s[0], s[1], Seed * 1000 + layer++);
                ps.Add(w);
                ps.Add(b);
            }
        var (wo, _) = Linear.Init<double>(Options.OneElectron[^1], _orbitals, Seed * 1000 + layer);
        ps.Add(wo);
        ps.Add(NDArray.FromArray(Enumerable.Repeat(1.0, _orbitals).ToArray(), new Shape(_orbitals)));   // orbitals start near the envelopes
        ps.Add(WavefunctionParts.InitialExponents(Molecule, _orbitals));
        ps.Add(NDArray.FromArray(Enumerable.Repeat(1.0, _orbitals * _m).ToArray(), new Shape(_orbitals, _m)));
        if (Options.Cusp && _n > 1) ps.Add(NDArray.FromArray([Math.Log(Math.E - 1)], new Shape(1)));
        return ParameterVector.Flatten<double>(ps);
    }

    /// <inheritdoc/>
    public Node LogPsi(IReadOnlyList<Node> parameters, Node x) => Evaluate(parameters, x).LogAbs;

    /// <inheritdoc/>
    public (Node Sign, Node LogAbs) Evaluate(IReadOnlyList<Node> parameters, Node x)
    {
        Hamiltonian.CheckWalkers(Molecule, x, "FermiNet");
        WavefunctionParts.CheckParameters("FermiNet", parameters, ParameterShapes);
        int w = x.Shape[0], n = _n, p = 0;
        var (rNuc, disp) = Geometry.ElectronNucleus(Molecule, x);                          // [N, n, M], [N, n, M, 3]
        var h = Fn.Concat(-1, Fn.Reshape(disp, w, n, 3 * _m), rNuc);                       // [N, n, 4M]
        var r = Fn.Reshape(x, w, n, 3);
        var d = Fn.Reshape(r, w, n, 1, 3) - Fn.Reshape(r, w, 1, n, 3);                      // r_i − r_j [N, n, n, 3]
        var g = Fn.Concat(-1, d, Fn.Sqrt(Fn.Sum(d * d, -1, keepDims: true) + 1.0));         // [N, n, n, 4]

        for (int l = 0; l < Options.OneElectron.Length; l++)
        {
            var parts = new List<Node> { h };
            foreach (var block in new[] { _up, _down })
                if (block.Length > 0) parts.Add(Fn.BroadcastTo(Fn.Mean(Fn.Take(h, block, 1), 1, keepDims: true), new Shape(w, n, h.Shape[2])));
            foreach (var block in new[] { _up, _down })
                if (block.Length > 0) parts.Add(Fn.Mean(Fn.Take(g, block, 2), 2));
            var next = Fn.Tanh(Linear.Apply(Fn.Concat(-1, [.. parts]), parameters[p], parameters[p + 1]));
            p += 2;
            h = next.Shape == h.Shape ? next + h : next;
            if (l < Options.TwoElectron.Length)
            {
                var gNext = Fn.Tanh(Linear.Apply(g, parameters[p], parameters[p + 1]));
                p += 2;
                g = gNext.Shape == g.Shape ? gNext + g : gNext;
            }
        }
        var orbitals = Linear.Apply(h, parameters[p], parameters[p + 1]);                  // [N, n, K·n]
        var phi = orbitals * WavefunctionParts.Envelope(rNuc, parameters[p + 2], parameters[p + 3]);
        p += 4;
        var (sign, logAbs) = Determinants.SignedLogSum(Molecule, phi, Options.Determinants);
        var result = Fn.Reshape(logAbs, w, 1);
        if (Options.Cusp && n > 1) result += Fn.Reshape(WavefunctionParts.PadeCusp(Molecule, x, parameters[p]), w, 1);
        return (sign, result);
    }
}
