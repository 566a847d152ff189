namespace JetSharp.Nn.Vmc;

/// <summary>One level of a blocking analysis: block length, number of blocks, standard error of the mean from the block means, and that estimate's own standard error.</summary>
public readonly record struct BlockingLevel(int BlockLength, int Blocks, double StandardError, double ErrorOfError);

/// <summary>The mean of a correlated series with its error bar (see <see cref="Blocking.Analyse"/>).</summary>
public sealed record BlockingResult(double Mean, double StandardError, double NaiveStandardError, int ChosenBlockLength, IReadOnlyList<BlockingLevel> Levels)
{
    /// <summary>Integrated autocorrelation time estimate τ = (SE / naive SE)², the factor by which correlation inflates the variance of the mean.</summary>
    public double AutocorrelationTime => StandardError * StandardError / (NaiveStandardError * NaiveStandardError);
}

/// <summary>
/// Blocking analysis (Flyvbjerg–Petersen) of a stationary series: average neighbouring pairs repeatedly; at
/// level k the block means are 2^k samples long and, once blocks are longer than the correlation time,
/// nearly independent, so s_k = √(var(block means) / blocks) stops growing. The plateau is the first level whose
/// successor does not exceed it by more than its own uncertainty s_k/√(2(B_k − 1)), among levels with at least
/// <c>minBlocks</c> blocks (if none, the last such level, and the error may be underestimated); the error bar reported
/// is the larger of the plateau level's and the next level's.
/// </summary>
public static class Blocking
{
    public static BlockingResult Analyse(IReadOnlyList<double> series, int minBlocks = 32)
    {
        if (series.Count < 2 * minBlocks)
            throw new ArgumentException($"Blocking.Analyse: needs at least 2·minBlocks = {2 * minBlocks} samples, got {series.Count}.");
        if (minBlocks < 2) throw new ArgumentOutOfRangeException(nameof(minBlocks), $"Blocking.Analyse: minBlocks must be ≥ 2, got {minBlocks}.");
        if (series.Any(v => !double.IsFinite(v))) throw new ArgumentException("Blocking.Analyse: the series has NaN or infinite values.");
        double mean = series.Average();
        var levels = new List<BlockingLevel>();
        var current = series.ToArray();
        int length = 1;
        while (current.Length >= minBlocks)
        {
            int b = current.Length;
            double m = current.Average();
            double var = current.Sum(v => (v - m) * (v - m)) / (b - 1);
            double se = Math.Sqrt(var / b);
            levels.Add(new BlockingLevel(length, b, se, se / Math.Sqrt(2.0 * (b - 1))));
            var next = new double[b / 2];
            for (int i = 0; i < next.Length; i++) next[i] = 0.5 * (current[2 * i] + current[2 * i + 1]);
            current = next;
            length *= 2;
        }
        int chosen = levels.Count - 1;
        for (int k = 0; k + 1 < levels.Count; k++)
            if (levels[k + 1].StandardError - levels[k].StandardError <= levels[k].ErrorOfError) { chosen = k; break; }
        // The plateau's first level may still lie a little below it; take the largest estimate from there on.
        double error = levels.Skip(chosen).Take(2).Max(l => l.StandardError);
        return new BlockingResult(mean, error, levels[0].StandardError, levels[chosen].BlockLength, levels);
    }
}
