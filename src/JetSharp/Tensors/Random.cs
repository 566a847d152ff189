namespace JetSharp.Tensors;

/// <summary>
/// The project's reproducible random numbers. Element <c>i</c> of a sample drawn with seed <c>s</c>
/// is a pure function of (s, i): the SplitMix64 finaliser M applied to the counter
/// <c>M(s) + (i+1)·φ</c> (φ = 0x9E3779B97F4A7C15, arithmetic mod 2⁶⁴). Hashing the seed first makes
/// the streams of different seeds unrelated (with the counter s·φ + i·φ, seed s+1 would be seed s
/// shifted by one element). Being counter-based, the values do not depend on threading, on the order
/// of generation or on the machine.
/// <list type="bullet">
/// <item>Uniform on [0, 1): the top 53 bits of the word times 2⁻⁵³ (bit-exact everywhere).</item>
/// <item>Rademacher ±1: the top bit of the word (bit-exact everywhere).</item>
/// <item>Standard normal: Box–Muller on the uniforms of words 2i and 2i+1 of the stream
///   (u₁ ∈ (0, 1], u₂ ∈ [0, 1)): √(−2 ln u₁)·cos(2πu₂). Computed in double and rounded to float
///   for float32 tensors, so float32 and float64 samples of one seed agree to float rounding. Its
///   reproducibility across machines is that of the runtime's <c>Math.Log</c> and <c>Math.Cos</c>.</item>
/// </list>
/// </summary>
public static class SeededRandom
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL;

    /// <summary>Word <paramref name="index"/> of the stream for <paramref name="seed"/>.</summary>
    public static ulong Word(long seed, long index) =>
        unchecked(Mix(Mix((ulong)seed) + ((ulong)index + 1) * Golden));

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Element <paramref name="index"/> of the uniform stream for <paramref name="seed"/>: a value in [0, 1).</summary>
    public static double Uniform(long seed, long index) => (Word(seed, index) >> 11) * (1.0 / (1UL << 53));

    /// <summary>Element <paramref name="index"/> of the Rademacher stream for <paramref name="seed"/>: +1 or −1.</summary>
    public static double Rademacher(long seed, long index) => (Word(seed, index) >> 63) == 0 ? 1.0 : -1.0;

    /// <summary>
    /// Element <paramref name="index"/> of the standard-normal stream for <paramref name="seed"/>
    /// (Box–Muller on uniform words 2·index and 2·index+1).
    /// </summary>
    public static double Normal(long seed, long index)
    {
        double u1 = 1.0 - Uniform(seed, 2 * index);
        double u2 = Uniform(seed, 2 * index + 1);
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>
    /// Writes elements 0 … <c>dest.Length</c>−1 of the <paramref name="distribution"/> stream for
    /// <paramref name="seed"/> into <paramref name="dest"/>, rounded to <typeparamref name="T"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="distribution"/> is not a defined value.</exception>
    public static void Fill<T>(Span<T> dest, Distribution distribution, long seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(distribution);
        for (int i = 0; i < dest.Length; i++)
        {
            double v = distribution switch
            {
                Distribution.Normal => Normal(seed, i),
                Distribution.Uniform => Uniform(seed, i),
                _ => Rademacher(seed, i),
            };
            dest[i] = T.CreateTruncating(v);
        }
    }

    /// <summary>Throws unless <paramref name="distribution"/> is a defined <see cref="Distribution"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="distribution"/> is not a defined value.</exception>
    public static void Check(Distribution distribution)
    {
        if (!Enum.IsDefined(distribution))
            throw new ArgumentOutOfRangeException(nameof(distribution), distribution, $"SeededRandom: {(int)distribution} is not a distribution; use Normal, Uniform or Rademacher.");
    }
}

/// <summary>Distributions of seeded samples.</summary>
public enum Distribution
{
    /// <summary>Standard normal N(0, 1).</summary>
    Normal,
    /// <summary>Uniform on [0, 1).</summary>
    Uniform,
    /// <summary>±1 with probability ½ each (unit variance).</summary>
    Rademacher,
}
