using JetSharp.Nn.Pinn;

namespace JetSharp.Nn.Vmc;

/// <summary>Settings of <see cref="StochasticReconfiguration"/>.</summary>
public sealed record SrOptions
{
    /// <summary>Damping λ added to the (sample-normalised) Fisher matrix ŌᵀŌ. Must be &gt; 0.</summary>
    public double Damping { get; init; } = 1e-3;

    /// <summary>SPRING momentum μ ∈ [0, 1); 0 is plain stochastic reconfiguration.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>
    /// Upper bound on the step's root-mean-square change of log|ψ| over the walkers (centred), ‖Ō·δθ‖ — a trust region in
    /// the Fisher metric; a longer step is scaled down to it.
    /// </summary>
    public double MaxChange { get; init; } = 0.05;

    /// <summary>Which linear system to solve; <see cref="GramForm.Auto"/> takes the Woodbury (walker-space) form when walkers &lt; parameters.</summary>
    public GramForm Form { get; init; } = GramForm.Auto;

    internal void Validate()
    {
        if (!(Damping > 0) || double.IsInfinity(Damping)) throw new ArgumentOutOfRangeException(nameof(Damping), $"StochasticReconfiguration: the damping must be finite and > 0, got {Damping}.");
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentOutOfRangeException(nameof(Momentum), $"StochasticReconfiguration: the momentum μ must lie in [0, 1), got {Momentum}.");
        if (!(MaxChange > 0)) throw new ArgumentOutOfRangeException(nameof(MaxChange), $"StochasticReconfiguration: the trust radius must be > 0, got {MaxChange}.");
    }
}

/// <summary>
/// Stochastic reconfiguration (Sorella's natural gradient for VMC) with SPRING momentum (Goldshlager, Abrahamsen &amp; Lin
/// 2024). With W walkers, O[n, ·] = ∇θ log|ψ(x_n)| (<see cref="VmcEnergy.Linearize"/>), the centred and scaled
/// Ō = (O − ⟨O⟩)/√W and ε_n = (Ẽ_n − ⟨Ẽ⟩)/√W (E_L clipped as for the gradient, <see cref="VmcSettings.ClipWidth"/>), the
/// energy gradient is 2Ōᵀε and the Fisher (overlap) matrix S = ŌᵀŌ. Each step solves
/// <code>
///   φ_k = argmin_φ ‖Ōφ − ε‖² + λ‖φ − μφ_{k−1}‖²    (<see cref="SpringDirection"/>; Woodbury form: a W×W system when W &lt; P)
///   δ = η_t φ_k, shortened so that ‖Ōδ‖ ≤ MaxChange;   θ ← θ − δ
/// </code>
/// μ = 0 is damped SR, δ = η(S + λI)⁻¹Ōᵀε (half the natural gradient; the factor is in η). The linear algebra is the PINN
/// natural gradient's (<see cref="DampedLeastSquares"/>). Float64 only; checkpoints keep φ_{k−1}.
/// </summary>
public sealed class StochasticReconfiguration : IOptimizer<double>
{
    private readonly VmcEnergy _energy;
    private readonly SpringDirection _direction = new();

    /// <summary>An optimizer for <paramref name="energy"/> with step sizes η_t from <paramref name="learningRate"/>.</summary>
    public StochasticReconfiguration(VmcEnergy energy, LearningRate learningRate, SrOptions? options = null)
    {
        _energy = energy ?? throw new ArgumentNullException(nameof(energy));
        LearningRate = learningRate ?? throw new ArgumentNullException(nameof(learningRate));
        Options = options ?? new SrOptions();
        Options.Validate();
    }

    /// <summary>"sr", or "spring" with momentum.</summary>
    public string Name => Options.Momentum > 0 ? "spring" : "sr";

    /// <summary>The settings.</summary>
    public SrOptions Options { get; }

    /// <summary>η_t.</summary>
    public LearningRate LearningRate { get; }

    /// <inheritdoc/>
    public long Steps { get; private set; }

    /// <summary>Never: SR keeps stepping (the energy is stochastic).</summary>
    public bool Converged => false;

    /// <summary>‖δ‖ of the last step and whether the trust region shortened it.</summary>
    public (double Norm, bool Clipped) LastStep { get; private set; }

    /// <inheritdoc/>
    public void ObjectiveChanged() { }

    /// <summary>One SR/SPRING step at the current walkers; returns the mean local energy at the parameters the step started from.</summary>
    public double Step(double[] theta, Objective<double> objective)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(objective);
        if (objective.Target is VmcEnergy other && !ReferenceEquals(other, _energy))
            throw new ArgumentException("StochasticReconfiguration.Step: the objective is another VmcEnergy than the one this optimizer was built for.");
        var o = _energy.Linearize(theta, out var el);
        int w = o.Shape[0], p = o.Shape[1];
        var data = o.Data;
        double scale = 1 / Math.Sqrt(w);
        for (int k = 0; k < p; k++)
        {
            double mean = 0;
            for (int n = 0; n < w; n++) mean += data[n * p + k];
            mean /= w;
            for (int n = 0; n < w; n++) data[n * p + k] = (data[n * p + k] - mean) * scale;
        }
        var eps = VmcEnergy.Weights(el, _energy.Settings.ClipWidth);        // 2(Ẽ − ⟨Ẽ⟩)/W
        for (int n = 0; n < w; n++) eps[n] *= 0.5 * Math.Sqrt(w);
        var phi = new double[p];
        _direction.Compute(o, eps, Options.Damping, Options.Momentum, Options.Form, phi);

        double eta = LearningRate.At(Steps);
        var change = new double[w];
        DampedLeastSquares.Times(o, phi, change);
        double rms = eta * Math.Sqrt(change.Sum(c => c * c));
        bool clipped = rms > Options.MaxChange;
        if (clipped) eta *= Options.MaxChange / rms;
        double norm = 0;
        for (int k = 0; k < p; k++)
        {
            theta[k] -= eta * phi[k];
            norm += eta * eta * phi[k] * phi[k];
        }
        LastStep = (Math.Sqrt(norm), clipped);
        Steps++;
        return el.Average();
    }

    /// <inheritdoc/>
    public OptimizerState SaveState()
    {
        var arrays = new Dictionary<string, NDArray>();
        if (_direction.Previous is { } prev) arrays["momentum"] = NDArray.FromArray(prev, new Shape(prev.Length));
        return new(Name, Steps, arrays, new Dictionary<string, double>());
    }

    /// <inheritdoc/>
    public void LoadState(OptimizerState state, int parameterCount)
    {
        OptimizerStates.Check(state, Name, allowedArrays: n => n == "momentum", allowedScalars: _ => false);
        int p = ParameterVector.Count(_energy.ParameterShapes);
        if (parameterCount != p) throw new ArgumentException($"{Name}: a state for {parameterCount} parameters; the wavefunction has {p}.", nameof(parameterCount));
        _direction.Previous = state.Arrays.TryGetValue("momentum", out var phi) ? OptimizerStates.Values<double>(state, "momentum", phi, parameterCount) : null;
        Steps = state.Steps;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{(Options.Momentum > 0 ? $"SPRING (μ = {Options.Momentum}" : "SR (")}, damping {Options.Damping:g3}, η {LearningRate}, trust ‖Ōδ‖ ≤ {Options.MaxChange})";
}
