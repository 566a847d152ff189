using JetSharp.Primitives;
using JetSharp.Tensors;

namespace JetSharp.Operators;

/// <summary>
/// Exact evaluation, a seeded Monte-Carlo estimate along S random dense directions (<see cref="Stochastic"/>),
/// or a seeded estimate from S sampled coordinates or terms (<see cref="Coordinates"/>).
/// </summary>
public sealed record Estimate
{
    private readonly double[]? _probabilities;

    private Estimate(int samples, Distribution distribution, long seed, bool coordinates = false, bool withReplacement = false, double[]? probabilities = null, bool resample = false)
    {
        Resample = resample;
        Samples = samples;
        Distribution = distribution;
        Seed = seed;
        IsCoordinates = coordinates;
        WithReplacement = withReplacement;
        _probabilities = probabilities;
    }

    /// <summary>0 for exact evaluation.</summary>
    public int Samples { get; }
    /// <summary>Distribution of the random directions (used by <see cref="Stochastic"/> estimates only).</summary>
    public Distribution Distribution { get; }
    /// <summary>Seed of the random directions or of the sampled coordinates (ignored when <see cref="IsExact"/>).</summary>
    public long Seed { get; }
    /// <summary>True for exact evaluation (no sampling).</summary>
    public bool IsExact => Samples == 0;
    /// <summary>True for a coordinate-sampled estimate (<see cref="Coordinates"/>).</summary>
    public bool IsCoordinates { get; }
    /// <summary>For <see cref="Coordinates"/>: whether coordinates are drawn with replacement.</summary>
    public bool WithReplacement { get; }
    /// <summary>
    /// For <see cref="Coordinates"/>: true when the coordinates are drawn afresh on every run of the compiled operator
    /// (from <see cref="Seed"/> plus the run's seed offset, which a training loop advances every step), false when they are
    /// drawn once when the operator is built.
    /// </summary>
    public bool Resample { get; }
    /// <summary>For <see cref="Coordinates"/>: the sampling probabilities p_d (a copy), or null for uniform sampling.</summary>
    public double[]? Probabilities => _probabilities is null ? null : (double[])_probabilities.Clone();

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

    /// <summary>
    /// S seeded coordinates (for the Laplacian: axes d; for σ: columns r; for a general linear operator: terms α),
    /// the same for every datum, drawn once when the operator is built for a dimension. Without replacement
    /// (uniform, S ≤ the count M): M/S·Σ_sampled. With replacement: (1/S)·Σ_s term/p_{d_s}, with p uniform or
    /// proportional to <paramref name="importance"/> (non-negative, finite, not all zero; the count must match M).
    /// Both are unbiased; docs/estimators.md gives their variances. The directions are unit vectors, emitted as a
    /// structural selection (<see cref="Primitives.SelectionMatrixOp"/>) that the simplifier turns into row gathers.
    /// With <paramref name="resample"/>, the coordinates are instead drawn on every run of the compiled operator, from
    /// <paramref name="seed"/> plus the run's seed offset (<see cref="Ir.RunContext.SeedOffset"/>; a training loop advances it
    /// every step), still the same for every datum of a run and still gathered, never stored: what training needs, since a
    /// fixed draw would only ever see S of the M terms. Resampling is uniform (no importance weights) and for the Laplacian
    /// and the weighted Laplacian with a constant σ (a linear operator's sampled terms shape its graph).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="samples"/> is not positive.</exception>
    /// <exception cref="ArgumentException">Importance weights without replacement or with <paramref name="resample"/>, or weights that are negative, not finite or all zero.</exception>
    public static Estimate Coordinates(int samples, bool withReplacement = false, long seed = 0, double[]? importance = null, bool resample = false)
    {
        if (samples <= 0) throw new ArgumentOutOfRangeException(nameof(samples), $"Estimate.Coordinates: the number of samples must be positive, got {samples}.");
        if (importance is not null && resample)
            throw new ArgumentException("Estimate.Coordinates: importance weights cannot be resampled per run (each draw's factors 1/(S·p) would change the graph); sample uniformly, or draw once (resample: false).", nameof(importance));
        double[]? p = null;
        if (importance is not null)
        {
            if (!withReplacement)
                throw new ArgumentException("Estimate.Coordinates: importance weights need sampling with replacement (the without-replacement estimator M/S·Σ is unbiased only for uniform sampling).", nameof(importance));
            double total = 0;
            for (int i = 0; i < importance.Length; i++)
            {
                if (!double.IsFinite(importance[i]) || importance[i] < 0)
                    throw new ArgumentException($"Estimate.Coordinates: importance weight {i} is {importance[i]}; weights must be finite and non-negative.", nameof(importance));
                total += importance[i];
            }
            if (!(total > 0)) throw new ArgumentException($"Estimate.Coordinates: the {importance.Length} importance weights are all zero.", nameof(importance));
            p = importance.Select(w => w / total).ToArray();
        }
        return new(samples, Distribution.Uniform, seed, coordinates: true, withReplacement, p, resample);
    }

    /// <summary>
    /// The S sampled indices among <paramref name="count"/> candidates and the factor c_s of each sample, so that
    /// Σ_s c_s·term(index_s) is the unbiased estimate of Σ_m term(m) (c_s = M/S without replacement,
    /// 1/(S·p_{index_s}) with replacement). Deterministic in <see cref="Seed"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not a coordinate estimate.</exception>
    /// <exception cref="ArgumentException">More samples than candidates without replacement, or importance weights of another count.</exception>
    public (int[] Indices, double[] Factors) Draw(int count, string op)
    {
        if (!IsCoordinates) throw new InvalidOperationException($"{op}: {this} does not sample coordinates.");
        if (count <= 0) throw new ArgumentException($"{op}: there is nothing to sample ({count} candidates).");
        var indices = new int[Samples];
        var factors = new double[Samples];
        if (!WithReplacement)
        {
            if (Samples > count)
                throw new ArgumentException($"{op}: {Samples} coordinates without replacement out of {count}; use at most {count} or sample with replacement.");
            IndexList.Draw(count, withReplacement: false, Seed, indices);     // a partial Fisher–Yates shuffle of the seeded stream
            Array.Fill(factors, (double)count / Samples);
            return (indices, factors);
        }
        if (_probabilities is not null && _probabilities.Length != count)
            throw new ArgumentException($"{op}: {_probabilities.Length} importance weights for {count} candidates.");
        var cumulative = new double[count];
        double acc = 0;
        for (int m = 0; m < count; m++) cumulative[m] = acc += _probabilities?[m] ?? 1.0 / count;
        for (int s = 0; s < Samples; s++)
        {
            double u = SeededRandom.Uniform(Seed, s) * acc;
            int lo = 0, hi = count - 1;                 // the first m with cumulative[m] > u (never a zero-probability slot)
            while (lo < hi)
            {
                int mid = (lo + hi) / 2;
                if (cumulative[mid] > u) hi = mid; else lo = mid + 1;
            }
            int m = lo;
            while (_probabilities is not null && _probabilities[m] == 0) m--;    // only when rounding put u at the very end
            indices[s] = m;
            factors[s] = 1.0 / (Samples * (_probabilities?[m] ?? 1.0 / count));
        }
        return (indices, factors);
    }

    /// <summary>
    /// The S indices among <paramref name="count"/> candidates drawn on every run (<see cref="Resample"/>), as a sampled
    /// <see cref="IndexList"/>, and their common factor M/S (uniform sampling, with or without replacement).
    /// </summary>
    /// <exception cref="InvalidOperationException">Not a resampled coordinate estimate.</exception>
    /// <exception cref="ArgumentException">More samples than candidates without replacement.</exception>
    public (IndexList Indices, double Factor) DrawPerRun(int count, string op)
    {
        if (!IsCoordinates || !Resample) throw new InvalidOperationException($"{op}: {this} does not resample coordinates per run.");
        if (count <= 0) throw new ArgumentException($"{op}: there is nothing to sample ({count} candidates).");
        if (!WithReplacement && Samples > count)
            throw new ArgumentException($"{op}: {Samples} coordinates without replacement out of {count}; use at most {count} or sample with replacement.");
        return (IndexList.Sampled(count, Samples, WithReplacement, Seed), (double)count / Samples);
    }

    /// <summary>Throws unless this estimate draws dense random directions (or is exact), for operators that do not sample coordinates.</summary>
    internal void RequireDirections(string op)
    {
        if (IsCoordinates)
            throw new ArgumentException($"{op}: coordinate sampling is not supported here (it is for the Laplacian, the weighted Laplacian with a constant σ and general linear operators); use Estimate.Stochastic.");
    }

    /// <inheritdoc/>
    public override string ToString() => IsExact ? "exact"
        : IsCoordinates ? $"coordinates (S = {Samples}, {(WithReplacement ? "with" : "without")} replacement{(_probabilities is null ? "" : ", importance-weighted")}{(Resample ? ", redrawn every run" : "")}, seed {Seed})"
        : $"stochastic (S = {Samples}, {Distribution}, seed {Seed})";
}
