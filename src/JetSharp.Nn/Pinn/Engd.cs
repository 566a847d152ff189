namespace JetSharp.Nn.Pinn;

/// <summary>
/// Energy natural gradient descent (Müller &amp; Zeinhofer, ICML 2023) for a least-squares loss
/// L(θ) = ‖R(θ)‖², optionally with SPRING momentum (Goldshlager, Abrahamsen &amp; Lin 2024), which the
/// Woodbury form makes cheap when there are fewer residuals than parameters.
/// <para><b>Step.</b> For a linear PDE the energy Gram matrix is G = JᵀJ (J = ∂R/∂θ), and the natural
/// gradient G⁺∇L = 2G⁺JᵀR is twice the Gauss–Newton step; the line search below makes that factor
/// irrelevant. With damping λ (relative: λ = <see cref="EngdOptions.Damping"/>·‖J‖²_F/P, the mean
/// eigenvalue of G times the factor) and momentum μ:
/// <code>
///   φ_k = argmin_φ ‖Jφ − R‖² + λ‖φ − μφ_{k−1}‖² = μφ_{k−1} + (JᵀJ + λI)⁻¹Jᵀ(R − μJφ_{k−1})
///       = μφ_{k−1} + Jᵀ(JJᵀ + λI)⁻¹(R − μJφ_{k−1})            (Woodbury, M×M)
///   θ_{k+1} = θ_k − η_k φ_k,   η_k = argmin over the grid {1, ½, ¼, …, 2^{1−K}} of L(θ_k − ηφ_k)
/// </code>
/// μ = 0 is plain ENGD (the paper's damped Gram solve with its grid line search, K = 30); μ &gt; 0 is SPRING.
/// When no grid point lowers the loss the step is not taken, λ grows tenfold and the momentum is reset
/// (λ shrinks back tenfold per successful step, down to its configured value).</para>
/// <para>The optimizer works on the <see cref="ILeastSquaresProblem"/> it was built for; the
/// <see cref="Objective{T}"/> delegate that <see cref="Step"/> receives from a <see cref="Trainer{T}"/> is
/// only checked to belong to that problem. Resampled points (<see cref="ObjectiveChanged"/>) keep the momentum.
/// It works in float64: a float32 <see cref="PinnProblem{T}"/> is refused when the optimizer is built.</para>
/// </summary>
public sealed class Engd : IOptimizer<double>
{
    private readonly ILeastSquaresProblem _problem;
    private readonly DampedLeastSquares _solver = new();
    private double[]? _momentum;
    private double _dampingFactor = 1;

    /// <summary>An optimizer for <paramref name="problem"/> with the given options (defaults: plain ENGD).</summary>
    public Engd(ILeastSquaresProblem problem, EngdOptions? options = null)
    {
        _problem = LeastSquaresStates.CheckProblem(problem, "Engd");
        Options = options ?? new EngdOptions();
        Options.Validate();
    }

    /// <summary>"engd", or "spring" when momentum is on (checked when a checkpoint is restored).</summary>
    public string Name => Options.Momentum > 0 ? "spring" : "engd";

    /// <summary>The settings.</summary>
    public EngdOptions Options { get; }

    /// <inheritdoc/>
    public long Steps { get; private set; }

    /// <summary>True once a step found no decrease even with the damping raised to its limit.</summary>
    public bool Converged { get; private set; }

    /// <summary>Step size η chosen by the last step (0 when it was rejected).</summary>
    public double LastStepSize { get; private set; }

    /// <summary>Absolute damping λ used by the last step.</summary>
    public double LastDamping { get; private set; }

    /// <summary>Seconds of the last step spent on J, on the solve and on the line search.</summary>
    public (double Jacobian, double Solve, double LineSearch) LastTimes { get; private set; }

    /// <inheritdoc/>
    public void ObjectiveChanged() => Converged = false;

    /// <summary>One ENGD/SPRING step on the problem; returns the loss at the parameters the step started from.</summary>
    public double Step(double[] theta, Objective<double> objective)
    {
        ArgumentNullException.ThrowIfNull(theta);
        CheckObjective(objective, _problem, "Engd");
        int p = _problem.ParameterCount, m = _problem.ResidualCount;
        if (theta.Length != p) throw new ShapeException($"Engd.Step: {theta.Length} parameters; the problem has {p}.");
        if (_momentum is not null && _momentum.Length != p) throw new ShapeException($"Engd.Step: the momentum has {_momentum.Length} entries; the problem has {p} parameters.");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = new double[m];
        var j = _problem.Linearize(theta, r, out double loss0);
        double tJ = clock.Elapsed.TotalSeconds;
        if (Converged || !double.IsFinite(loss0)) return loss0;
        Steps++;

        double mu = Options.Momentum;
        var rhs = (double[])r.Clone();
        if (mu > 0 && _momentum is not null)
        {
            var jphi = new double[m];
            DampedLeastSquares.Times(j, _momentum, jphi);
            for (int i = 0; i < m; i++) rhs[i] -= mu * jphi[i];
        }
        double scale = PinnProblem.SquaredNorm(j.Data) / p;
        var phi = new double[p];
        LastDamping = _solver.Solve(j, rhs, Options.Damping * _dampingFactor * scale, Options.Form, phi);
        if (mu > 0 && _momentum is not null)
            for (int i = 0; i < p; i++) phi[i] += mu * _momentum[i];
        double tSolve = clock.Elapsed.TotalSeconds;

        // Grid line search: the η with the lowest loss.
        var trial = new double[p];
        var scratch = new double[m];
        double bestLoss = loss0, bestEta = 0, eta = 1;
        for (int k = 0; k < Options.LineSearchPoints; k++, eta *= 0.5)
        {
            for (int i = 0; i < p; i++) trial[i] = theta[i] - eta * phi[i];
            double l = _problem.Residuals(trial, scratch);
            if (l < bestLoss) { bestLoss = l; bestEta = eta; }
        }
        LastTimes = (tJ, tSolve - tJ, clock.Elapsed.TotalSeconds - tSolve);
        LastStepSize = bestEta;
        if (bestEta == 0)
        {
            _momentum = null;
            _dampingFactor *= 10;
            if (_dampingFactor * Options.Damping * scale > 1e6 * scale) Converged = true;
            return loss0;
        }
        for (int i = 0; i < p; i++) theta[i] -= bestEta * phi[i];
        _momentum = mu > 0 ? phi : null;
        _dampingFactor = Math.Max(1, _dampingFactor / 10);
        return loss0;
    }

    /// <inheritdoc/>
    public OptimizerState SaveState()
    {
        var arrays = new Dictionary<string, NDArray>();
        if (_momentum is not null) arrays["momentum"] = NDArray.FromArray(_momentum, new Shape(_momentum.Length));
        return new(Name, Steps, arrays, new Dictionary<string, double> { ["dampingFactor"] = _dampingFactor, ["converged"] = Converged ? 1 : 0 });
    }

    /// <inheritdoc/>
    public void LoadState(OptimizerState state, int parameterCount)
    {
        OptimizerStates.Check(state, Name, allowedArrays: n => n == "momentum", allowedScalars: n => n is "dampingFactor" or "converged");
        if (parameterCount != _problem.ParameterCount)
            throw new ArgumentException($"{Name}: a state for {parameterCount} parameters; the problem has {_problem.ParameterCount}.", nameof(parameterCount));
        var momentum = state.Arrays.TryGetValue("momentum", out var phi) ? OptimizerStates.Values<double>(state, "momentum", phi, parameterCount) : null;
        double factor = state.Scalars.TryGetValue("dampingFactor", out var f) ? f : 1;
        if (!(factor >= 1)) throw new ArgumentException($"{Name}: scalar 'dampingFactor' is {factor}; it must be ≥ 1.", nameof(state));
        bool converged = LeastSquaresStates.Flag(state, "converged");
        _momentum = momentum;
        _dampingFactor = factor;
        Converged = converged;
        Steps = state.Steps;
    }

    /// <inheritdoc/>
    public override string ToString() => Options.Momentum > 0
        ? $"SPRING (μ = {Options.Momentum}, damping {Options.Damping:g3}, {Options.Form})"
        : $"ENGD (damping {Options.Damping:g3}, {Options.Form})";

    /// <summary>A Trainer passes its objective's Evaluate; it must be the problem this optimizer was built for.</summary>
    internal static void CheckObjective(Objective<double> objective, ILeastSquaresProblem problem, string who)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (objective.Target is ILeastSquaresProblem other && !ReferenceEquals(other, problem))
            throw new ArgumentException($"{who}.Step: the objective belongs to another least-squares problem than the one this optimizer was built for.");
    }
}

/// <summary>Settings of <see cref="Engd"/>.</summary>
public sealed record EngdOptions
{
    /// <summary>Relative damping: λ = Damping·‖J‖²_F/P (the mean eigenvalue of JᵀJ times this). Must be &gt; 0.</summary>
    public double Damping { get; init; } = 1e-10;

    /// <summary>SPRING momentum μ ∈ [0, 1); 0 is plain ENGD.</summary>
    public double Momentum { get; init; }

    /// <summary>Grid points of the line search: η ∈ {1, ½, …, 2^{1−K}} (the ENGD paper's K = 30).</summary>
    public int LineSearchPoints { get; init; } = 30;

    /// <summary>Which system to solve; <see cref="GramForm.Auto"/> takes the Woodbury form when M &lt; P.</summary>
    public GramForm Form { get; init; } = GramForm.Auto;

    internal void Validate()
    {
        if (!(Damping > 0) || double.IsInfinity(Damping)) throw new ArgumentOutOfRangeException(nameof(Damping), $"Engd: the damping must be finite and > 0, got {Damping}.");
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentOutOfRangeException(nameof(Momentum), $"Engd: the momentum μ must lie in [0, 1), got {Momentum}.");
        if (LineSearchPoints < 1) throw new ArgumentOutOfRangeException(nameof(LineSearchPoints), $"Engd: the line search needs at least 1 grid point, got {LineSearchPoints}.");
    }
}
