namespace JetSharp.Nn;

/// <summary>
/// A learning-rate schedule: the rate for optimizer step t (counted from 0 within the optimizer).
/// Schedules are small immutable objects, so an optimizer restored from a checkpoint continues on
/// the same curve once its step counter is restored.
/// </summary>
public abstract class LearningRate
{
    /// <summary>The rate for step <paramref name="step"/> (0-based, so ≥ 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is negative.</exception>
    public double At(long step) => step >= 0 ? RateAt(step)
        : throw new ArgumentOutOfRangeException(nameof(step), step, $"LearningRate.At: steps count from 0, got {step}.");

    /// <summary>The rate for step <paramref name="step"/> ≥ 0 (the schedule's formula).</summary>
    private protected abstract double RateAt(long step);

    /// <summary>A fixed rate.</summary>
    public static LearningRate Constant(double rate) => new ConstantRate(Check(rate, "Constant"));

    /// <summary>rate · decay^(step / every) (smooth exponential decay: a factor <paramref name="decay"/> every <paramref name="every"/> steps).</summary>
    public static LearningRate Exponential(double rate, double decay, long every)
    {
        Check(rate, "Exponential");
        if (!(decay > 0 && decay <= 1)) throw new ArgumentOutOfRangeException(nameof(decay), $"LearningRate.Exponential: decay must lie in (0, 1], got {decay}.");
        if (every <= 0) throw new ArgumentOutOfRangeException(nameof(every), $"LearningRate.Exponential: the decay interval must be positive, got {every}.");
        return new ExponentialRate(rate, decay, every);
    }

    /// <summary>rate · factor^⌊step / every⌋ (piecewise constant: multiplied by <paramref name="factor"/> every <paramref name="every"/> steps).</summary>
    public static LearningRate StepDecay(double rate, double factor, long every)
    {
        Check(rate, "StepDecay");
        if (!(factor > 0 && factor <= 1)) throw new ArgumentOutOfRangeException(nameof(factor), $"LearningRate.StepDecay: factor must lie in (0, 1], got {factor}.");
        if (every <= 0) throw new ArgumentOutOfRangeException(nameof(every), $"LearningRate.StepDecay: the interval must be positive, got {every}.");
        return new StepRate(rate, factor, every);
    }

    /// <summary>
    /// Cosine annealing from <paramref name="rate"/> to <paramref name="minimum"/> over <paramref name="steps"/> steps,
    /// min + ½(rate − min)(1 + cos(π·t/steps)); the minimum afterwards.
    /// </summary>
    public static LearningRate Cosine(double rate, long steps, double minimum = 0)
    {
        Check(rate, "Cosine");
        if (steps <= 0) throw new ArgumentOutOfRangeException(nameof(steps), $"LearningRate.Cosine: the number of steps must be positive, got {steps}.");
        if (!(minimum >= 0 && minimum <= rate)) throw new ArgumentOutOfRangeException(nameof(minimum), $"LearningRate.Cosine: the minimum must lie in [0, {rate}], got {minimum}.");
        return new CosineRate(rate, steps, minimum);
    }

    /// <summary>Linear warm-up from 0 over <paramref name="steps"/> steps, then <paramref name="after"/> (shifted so its step 0 follows the warm-up).</summary>
    public static LearningRate Warmup(long steps, LearningRate after)
    {
        ArgumentNullException.ThrowIfNull(after);
        if (steps <= 0) throw new ArgumentOutOfRangeException(nameof(steps), $"LearningRate.Warmup: the warm-up length must be positive, got {steps}.");
        return new WarmupRate(steps, after);
    }

    private static double Check(double rate, string name) =>
        rate > 0 && double.IsFinite(rate) ? rate : throw new ArgumentOutOfRangeException(nameof(rate), $"LearningRate.{name}: the rate must be positive and finite, got {rate}.");

    private sealed class ConstantRate(double rate) : LearningRate
    {
        private protected override double RateAt(long step) => rate;
        public override string ToString() => $"constant {rate:g3}";
    }

    private sealed class ExponentialRate(double rate, double decay, long every) : LearningRate
    {
        private protected override double RateAt(long step) => rate * Math.Pow(decay, (double)step / every);
        public override string ToString() => $"{rate:g3}·{decay:g3}^(t/{every})";
    }

    private sealed class StepRate(double rate, double factor, long every) : LearningRate
    {
        private protected override double RateAt(long step) => rate * Math.Pow(factor, step / every);
        public override string ToString() => $"{rate:g3}·{factor:g3}^⌊t/{every}⌋";
    }

    private sealed class CosineRate(double rate, long steps, double minimum) : LearningRate
    {
        private protected override double RateAt(long step) => step >= steps ? minimum : minimum + 0.5 * (rate - minimum) * (1 + Math.Cos(Math.PI * step / steps));
        public override string ToString() => $"cosine {rate:g3} → {minimum:g3} over {steps}";
    }

    private sealed class WarmupRate(long steps, LearningRate after) : LearningRate
    {
        private protected override double RateAt(long step) => step < steps ? after.At(0) * (step + 1) / steps : after.At(step - steps);
        public override string ToString() => $"warm-up {steps}, then {after}";
    }
}
