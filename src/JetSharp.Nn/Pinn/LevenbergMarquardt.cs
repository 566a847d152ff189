namespace JetSharp.Nn.Pinn;

/// <summary>
/// Levenberg–Marquardt for a least-squares loss L(θ) = ‖R(θ)‖² with Nielsen's adaptive damping
/// (H. B. Nielsen, "Damping parameter in Marquardt's method", IMM-REP-1999-05).
/// <para><b>Step.</b> d = argmin ‖J·d − R‖² + λ‖d‖² (Gram or Woodbury form, <see cref="GramForm"/>); the gain
/// ratio ρ = (L(θ) − L(θ − d)) / (L(θ) − ‖R − J·d‖²) compares the actual decrease with the one the linear
/// model predicts. ρ &gt; 0: the step is taken and λ ← λ·max(⅓, 1 − (2ρ − 1)³), ν ← 2; otherwise λ ← λ·ν,
/// ν ← 2ν and the solve is repeated with the same J, up to <see cref="LevenbergMarquardtOptions.MaxTries"/>
/// times. The first λ is <see cref="LevenbergMarquardtOptions.InitialDamping"/>·max_p (JᵀJ)_pp.
/// Rank deficiency is handled by λ &gt; 0. It works in float64: a float32 <see cref="PinnProblem{T}"/> is refused when the
/// optimizer is built.</para>
/// </summary>
public sealed class LevenbergMarquardt : IOptimizer<double>
{
    private readonly ILeastSquaresProblem _problem;
    private readonly DampedLeastSquares _solver = new();
    private double _lambda = double.NaN, _nu = 2;

    /// <summary>An optimizer for <paramref name="problem"/>.</summary>
    public LevenbergMarquardt(ILeastSquaresProblem problem, LevenbergMarquardtOptions? options = null)
    {
        _problem = LeastSquaresStates.CheckProblem(problem, "LevenbergMarquardt");
        Options = options ?? new LevenbergMarquardtOptions();
        Options.Validate();
    }

    /// <summary>"lm".</summary>
    public string Name => "lm";

    /// <summary>The settings.</summary>
    public LevenbergMarquardtOptions Options { get; }

    /// <inheritdoc/>
    public long Steps { get; private set; }

    /// <summary>True when a step could not lower the loss within the allowed tries, or the loss reached 0.</summary>
    public bool Converged { get; private set; }

    /// <summary>The current damping λ (NaN before the first step).</summary>
    public double Damping => _lambda;

    /// <summary>Gain ratio ρ of the last accepted step (NaN if it was rejected).</summary>
    public double LastGainRatio { get; private set; } = double.NaN;

    /// <inheritdoc/>
    public void ObjectiveChanged() => Converged = false;

    /// <summary>One LM step (one Jacobian, one or more solves); returns the loss at the parameters it started from.</summary>
    public double Step(double[] theta, Objective<double> objective)
    {
        ArgumentNullException.ThrowIfNull(theta);
        Engd.CheckObjective(objective, _problem, "LevenbergMarquardt");
        int p = _problem.ParameterCount, m = _problem.ResidualCount;
        if (theta.Length != p) throw new ShapeException($"LevenbergMarquardt.Step: {theta.Length} parameters; the problem has {p}.");
        var r = new double[m];
        var j = _problem.Linearize(theta, r, out double loss0);
        if (Converged || !double.IsFinite(loss0)) return loss0;
        if (loss0 == 0) { Converged = true; return loss0; }
        Steps++;
        if (double.IsNaN(_lambda))
        {
            double maxDiag = 0;
            for (int k = 0; k < p; k++)
            {
                double s = 0;
                for (int i = 0; i < m; i++) s += j.Data[i * p + k] * j.Data[i * p + k];
                maxDiag = Math.Max(maxDiag, s);
            }
            _lambda = Options.InitialDamping * Math.Max(maxDiag, double.Epsilon);
        }

        var d = new double[p];
        var jd = new double[m];
        var trial = new double[p];
        var scratch = new double[m];
        for (int attempt = 0; attempt < Options.MaxTries; attempt++)
        {
            _lambda = _solver.Solve(j, r, _lambda, Options.Form, d);
            DampedLeastSquares.Times(j, d, jd);
            double model = 0;
            for (int i = 0; i < m; i++) model += (r[i] - jd[i]) * (r[i] - jd[i]);
            double predicted = loss0 - model;
            for (int i = 0; i < p; i++) trial[i] = theta[i] - d[i];
            double loss = _problem.Residuals(trial, scratch);
            double rho = predicted > 0 ? (loss0 - loss) / predicted : -1;
            if (rho > 0 && double.IsFinite(loss))
            {
                Array.Copy(trial, theta, p);
                LastGainRatio = rho;
                double c = 2 * rho - 1;
                _lambda *= Math.Max(1.0 / 3, 1 - c * c * c);
                _nu = 2;
                return loss0;
            }
            _lambda *= _nu;
            _nu *= 2;
        }
        LastGainRatio = double.NaN;
        Converged = true;
        return loss0;
    }

    /// <inheritdoc/>
    public OptimizerState SaveState()
    {
        var scalars = new Dictionary<string, double> { ["nu"] = _nu, ["converged"] = Converged ? 1 : 0 };
        if (!double.IsNaN(_lambda)) scalars["lambda"] = _lambda;   // absent before the first step
        return new(Name, Steps, new Dictionary<string, NDArray>(), scalars);
    }

    /// <inheritdoc/>
    public void LoadState(OptimizerState state, int parameterCount)
    {
        OptimizerStates.Check(state, Name, allowedArrays: _ => false, allowedScalars: n => n is "lambda" or "nu" or "converged");
        if (parameterCount != _problem.ParameterCount)
            throw new ArgumentException($"{Name}: a state for {parameterCount} parameters; the problem has {_problem.ParameterCount}.", nameof(parameterCount));
        double lambda = state.Scalars.TryGetValue("lambda", out var l) ? l : double.NaN;
        if (!double.IsNaN(lambda) && !(lambda > 0)) throw new ArgumentException($"{Name}: scalar 'lambda' is {lambda}; it must be > 0.", nameof(state));
        double nu = state.Scalars.TryGetValue("nu", out var n) ? n : 2;
        if (!(nu >= 2)) throw new ArgumentException($"{Name}: scalar 'nu' is {nu}; it must be ≥ 2.", nameof(state));
        bool converged = LeastSquaresStates.Flag(state, "converged");
        _lambda = lambda;
        _nu = nu;
        Converged = converged;
        Steps = state.Steps;
    }

    /// <inheritdoc/>
    public override string ToString() => $"Levenberg–Marquardt ({Options.Form})";
}

/// <summary>Settings of <see cref="LevenbergMarquardt"/>.</summary>
public sealed record LevenbergMarquardtOptions
{
    /// <summary>τ in the first damping λ₀ = τ·max_p (JᵀJ)_pp. Must be &gt; 0.</summary>
    public double InitialDamping { get; init; } = 1e-3;

    /// <summary>Solves per step before it gives up (each one with λ raised).</summary>
    public int MaxTries { get; init; } = 20;

    /// <summary>Which system to solve; <see cref="GramForm.Auto"/> takes the Woodbury form when M &lt; P.</summary>
    public GramForm Form { get; init; } = GramForm.Auto;

    internal void Validate()
    {
        if (!(InitialDamping > 0) || double.IsInfinity(InitialDamping)) throw new ArgumentOutOfRangeException(nameof(InitialDamping), $"LevenbergMarquardt: the initial damping must be finite and > 0, got {InitialDamping}.");
        if (MaxTries < 1) throw new ArgumentOutOfRangeException(nameof(MaxTries), $"LevenbergMarquardt: at least one try per step, got {MaxTries}.");
    }
}
