using System.Runtime.Intrinsics;

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
    /// <paramref name="seed"/> into <paramref name="dest"/>, rounded to <typeparamref name="T"/>: the same values as
    /// <see cref="Uniform"/>, <see cref="Rademacher"/> and <see cref="Normal"/> element by element (bit for bit), with
    /// the words hashed eight (or four) at a time in SIMD registers.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="distribution"/> is not a defined value.</exception>
    public static void Fill<T>(Span<T> dest, Distribution distribution, long seed) where T : unmanaged, IFloatingPointIeee754<T> =>
        Fill(dest, distribution, seed, 0);

    /// <summary>
    /// Writes elements <paramref name="first"/> … <paramref name="first"/> + <c>dest.Length</c>−1 of the
    /// <paramref name="distribution"/> stream for <paramref name="seed"/> into <paramref name="dest"/>: a piece of the fill
    /// above, so pieces filled separately (on several cores) give the same values as one fill.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="distribution"/> is not a defined value, or <paramref name="first"/> is negative.</exception>
    public static void Fill<T>(Span<T> dest, Distribution distribution, long seed, long first) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(distribution);
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ulong key = Mix((ulong)seed);
        Span<ulong> words = stackalloc ulong[WordBlock];
        int perBlock = distribution == Distribution.Normal ? WordBlock / 2 : WordBlock;   // Box–Muller takes two words per value
        for (int start = 0; start < dest.Length; start += perBlock)
        {
            int count = Math.Min(perBlock, dest.Length - start);
            var block = dest.Slice(start, count);
            if (distribution == Distribution.Normal)
            {
                var w = words[..(2 * count)];
                Words(key, 2 * (first + start), w);
                for (int i = 0; i < count; i++)
                {
                    double u1 = 1.0 - (w[2 * i] >> 11) * (1.0 / (1UL << 53));
                    double u2 = (w[2 * i + 1] >> 11) * (1.0 / (1UL << 53));
                    block[i] = T.CreateTruncating(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
                }
                continue;
            }
            var ws = words[..count];
            Words(key, first + start, ws);
            if (distribution == Distribution.Uniform)
                for (int i = 0; i < count; i++) block[i] = T.CreateTruncating((ws[i] >> 11) * (1.0 / (1UL << 53)));
            else
                for (int i = 0; i < count; i++) block[i] = T.CreateTruncating(1.0 - 2.0 * (ws[i] >> 63));   // no branch on a random bit
        }
    }

    private const int WordBlock = 256;

    /// <summary>words[j] = M(key + (first + j + 1)·φ): words first … first + words.Length − 1 of the stream whose hashed seed is <paramref name="key"/>.</summary>
    private static void Words(ulong key, long first, Span<ulong> words)
    {
        int j = 0;
        unchecked
        {
            if (Vector512.IsHardwareAccelerated && words.Length >= Vector512<ulong>.Count)
            {
                var counter = Vector512.Create(key) + (Vector512.Create((ulong)first + 1) + Vector512<ulong>.Indices) * Vector512.Create(Golden);
                var step = Vector512.Create((ulong)Vector512<ulong>.Count * Golden);
                for (; j <= words.Length - Vector512<ulong>.Count; j += Vector512<ulong>.Count, counter += step)
                    Mix(counter).CopyTo(words[j..]);
            }
            else if (Vector256.IsHardwareAccelerated && words.Length >= Vector256<ulong>.Count)
            {
                var counter = Vector256.Create(key) + (Vector256.Create((ulong)first + 1) + Vector256<ulong>.Indices) * Vector256.Create(Golden);
                var step = Vector256.Create((ulong)Vector256<ulong>.Count * Golden);
                for (; j <= words.Length - Vector256<ulong>.Count; j += Vector256<ulong>.Count, counter += step)
                    Mix(counter).CopyTo(words[j..]);
            }
            for (; j < words.Length; j++) words[j] = Mix(key + ((ulong)(first + j) + 1) * Golden);
        }
    }

    private static Vector512<ulong> Mix(Vector512<ulong> z)
    {
        z = (z ^ Vector512.ShiftRightLogical(z, 30)) * Vector512.Create(0xBF58476D1CE4E5B9UL);
        z = (z ^ Vector512.ShiftRightLogical(z, 27)) * Vector512.Create(0x94D049BB133111EBUL);
        return z ^ Vector512.ShiftRightLogical(z, 31);
    }

    private static Vector256<ulong> Mix(Vector256<ulong> z)
    {
        z = (z ^ Vector256.ShiftRightLogical(z, 30)) * Vector256.Create(0xBF58476D1CE4E5B9UL);
        z = (z ^ Vector256.ShiftRightLogical(z, 27)) * Vector256.Create(0x94D049BB133111EBUL);
        return z ^ Vector256.ShiftRightLogical(z, 31);
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
