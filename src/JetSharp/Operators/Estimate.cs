using JetSharp.Tensors;

namespace JetSharp.Operators;

/// <summary>Exact evaluation or a seeded Monte-Carlo estimate with S samples.</summary>
public sealed record Estimate
{
    private Estimate(int samples, Distribution distribution, long seed)
    {
        Samples = samples;
        Distribution = distribution;
        Seed = seed;
    }

    /// <summary>0 for exact evaluation.</summary>
    public int Samples { get; }
    /// <summary>Distribution of the random directions (ignored when <see cref="IsExact"/>).</summary>
    public Distribution Distribution { get; }
    /// <summary>Seed of the random directions (ignored when <see cref="IsExact"/>).</summary>
    public long Seed { get; }
    /// <summary>True for exact evaluation (no sampling).</summary>
    public bool IsExact => Samples == 0;

    /// <summary>Exact evaluation: the operator is computed from a full set of directions, without sampling.</summary>
    public static Estimate Exact { get; } = new(0, Distribution.Normal, 0);

    /// <summary>
    /// S seeded random directions per datum (Gaussian or Rademacher, unit variance). The same seed gives
    /// the same directions in every strategy, so strategies agree sample by sample.
    /// </summary>
    public static Estimate Stochastic(int samples, Distribution distribution = Distribution.Normal, long seed = 0)
    {
        if (!Enum.IsDefined(distribution))
            throw new ArgumentOutOfRangeException(nameof(distribution), distribution, $"Estimate.Stochastic: distribution must be Normal or Rademacher, got {(int)distribution}.");
        if (samples <= 0) throw new ArgumentOutOfRangeException(nameof(samples), $"Estimate.Stochastic: the number of samples must be positive, got {samples}.");
        if (distribution == Distribution.Uniform)
            throw new ArgumentException("Estimate.Stochastic: uniform directions are not unit-variance; use Normal or Rademacher.", nameof(distribution));
        return new(samples, distribution, seed);
    }

    /// <inheritdoc/>
    public override string ToString() => IsExact ? "exact" : $"stochastic (S = {Samples}, {Distribution}, seed {Seed})";
}
