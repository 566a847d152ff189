namespace JetSharp.Nn.Vmc;

/// <summary>A fixed nucleus: position in bohr and charge Z.</summary>
public readonly record struct Nucleus(double X, double Y, double Z, double Charge);

/// <summary>
/// An atom or molecule in the Born–Oppenheimer approximation (fixed nuclei, atomic units: bohr, hartree).
/// The electrons are ordered spin-up first: electron i is up for i &lt; <see cref="Up"/>. A configuration of all
/// electrons is a row of 3n coordinates (x₁, y₁, z₁, x₂, …), so a batch of walkers is [N, 3n].
/// </summary>
public sealed record Molecule
{
    /// <summary>The molecule; throws for no nuclei, non-positive charges, negative spin counts or no electrons.</summary>
    public Molecule(string name, IReadOnlyList<Nucleus> nuclei, int up, int down)
    {
        if (nuclei.Count == 0) throw new ArgumentException($"Molecule '{name}': needs at least one nucleus.");
        if (nuclei.Any(n => !(n.Charge > 0) || !double.IsFinite(n.X + n.Y + n.Z)))
            throw new ArgumentException($"Molecule '{name}': nuclear charges must be positive and positions finite.");
        if (up < 0 || down < 0 || up + down == 0) throw new ArgumentException($"Molecule '{name}': needs n↑, n↓ ≥ 0 and at least one electron, got n↑ = {up}, n↓ = {down}.");
        if (down > up) throw new ArgumentException($"Molecule '{name}': electrons are ordered with the larger spin block up; got n↑ = {up} < n↓ = {down}.");
        for (int i = 0; i < nuclei.Count; i++)
            for (int j = 0; j < i; j++)
                if (Distance(nuclei[i], nuclei[j]) == 0) throw new ArgumentException($"Molecule '{name}': nuclei {j} and {i} coincide.");
        Name = name;
        Nuclei = [.. nuclei];
        Up = up;
        Down = down;
    }

    public string Name { get; }
    public IReadOnlyList<Nucleus> Nuclei { get; }
    public int Up { get; }
    public int Down { get; }
    public int Electrons => Up + Down;

    /// <summary>Coordinates per configuration, 3n.</summary>
    public int Dimension => 3 * Electrons;

    /// <summary>Nucleus–nucleus repulsion Σ_{I&lt;J} Z_I Z_J / R_IJ (a constant for fixed nuclei).</summary>
    public double NuclearRepulsion
    {
        get
        {
            double v = 0;
            for (int i = 0; i < Nuclei.Count; i++)
                for (int j = 0; j < i; j++) v += Nuclei[i].Charge * Nuclei[j].Charge / Distance(Nuclei[i], Nuclei[j]);
            return v;
        }
    }

    private static double Distance(Nucleus a, Nucleus b) => Math.Sqrt((a.X - b.X) * (a.X - b.X) + (a.Y - b.Y) * (a.Y - b.Y) + (a.Z - b.Z) * (a.Z - b.Z));

    /// <summary>Whether electron i has spin up.</summary>
    public bool IsUp(int i) => i < Up;

    /// <summary>A neutral atom of charge Z at the origin, electrons filling up/down alternately (He: 1↑1↓, Li: 2↑1↓, Be: 2↑2↓).</summary>
    public static Molecule Atom(string name, int charge) => new(name, [new Nucleus(0, 0, 0, charge)], (charge + 1) / 2, charge / 2);

    /// <summary>The hydrogen atom (exact energy −½).</summary>
    public static Molecule Hydrogen => Atom("H", 1);

    /// <summary>Helium (exact non-relativistic energy −2.903724 Ha).</summary>
    public static Molecule Helium => Atom("He", 2);

    /// <summary>Lithium (exact −7.478060 Ha).</summary>
    public static Molecule Lithium => Atom("Li", 3);

    /// <summary>Beryllium (exact −14.66736 Ha).</summary>
    public static Molecule Beryllium => Atom("Be", 4);

    /// <summary>H₂ at bond length <paramref name="bond"/> bohr along z (exact −1.174475 Ha at 1.4011 bohr).</summary>
    public static Molecule H2(double bond = 1.4011) =>
        new("H2", [new Nucleus(0, 0, -bond / 2, 1), new Nucleus(0, 0, bond / 2, 1)], 1, 1);
}
