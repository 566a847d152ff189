using JetSharp.Runtime;

namespace JetSharp.Nn.Vmc;

/// <summary>
/// Metropolis–Hastings walkers for |ψ|²: each sweep every walker proposes an all-electron Gaussian move
/// x′ = x + s·ξ (ξ standard normal, drawn from the seeded generator) and accepts it with probability
/// min(1, |ψ(x′)|²/|ψ(x)|²). The proposal is symmetric, so |ψ|² is invariant. During burn-in (and whenever
/// <c>adapt</c> is set) the step s is multiplied by exp(0.2·(acceptance − target)) after each sweep, driving
/// the acceptance towards <see cref="TargetAcceptance"/> (½); sweeps used for estimates keep s fixed.
/// Walkers start normally distributed (width initialWidth) around the nuclei, electron i at nucleus i mod M.
/// </summary>
public sealed class MetropolisSampler
{
    private readonly Executable _logPsi;
    private readonly NDArray<double>[] _parameters;
    private readonly NDArray<double> _proposal;
    private double[] _current;
    private readonly long _seed;
    private long _sweeps;
    private bool _hasParameters;

    /// <summary><paramref name="logPsi"/>: a graph x [W, 3n], θ… → log|ψ| [W, 1] (its first output is used).</summary>
    public MetropolisSampler(Molecule molecule, Graph logPsi, int walkers, long seed, double initialWidth = 1.0)
    {
        if (logPsi.Inputs.Count == 0 || logPsi.Inputs[0].Shape != new Shape(walkers, molecule.Dimension))
            throw new ShapeException($"MetropolisSampler: the log ψ graph's first input must be the walkers [{walkers}, {molecule.Dimension}], got {(logPsi.Inputs.Count == 0 ? "no inputs" : logPsi.Inputs[0].Shape.ToString())}.");
        Molecule = molecule;
        _logPsi = new Executable(logPsi);
        _parameters = [.. logPsi.Inputs.Skip(1).Select(i => new NDArray<double>(i.Shape))];
        _seed = seed;
        Walkers = new NDArray<double>(new Shape(walkers, molecule.Dimension));
        _proposal = new NDArray<double>(Walkers.Shape);
        int n = molecule.Electrons, m = molecule.Nuclei.Count;
        for (int w = 0; w < walkers; w++)
            for (int i = 0; i < n; i++)
            {
                var nuc = molecule.Nuclei[i % m];
                double[] c = [nuc.X, nuc.Y, nuc.Z];
                for (int d = 0; d < 3; d++)
                {
                    int k = (w * n + i) * 3 + d;
                    Walkers.Data[k] = c[d] + initialWidth * SeededRandom.Normal(seed, k);
                }
            }
        StepSize = 0.5 / Math.Sqrt(n);
        _current = new double[walkers];
    }

    public Molecule Molecule { get; }

    /// <summary>The walkers [W, 3n] (the sampler owns this array; copy it to keep it).</summary>
    public NDArray<double> Walkers { get; }

    public double StepSize { get; private set; }
    public double TargetAcceptance { get; init; } = 0.5;

    /// <summary>Acceptance rate of the last sweep.</summary>
    public double Acceptance { get; private set; }

    /// <summary>log|ψ| of every walker at the current parameters.</summary>
    public IReadOnlyList<double> LogPsi => _current;

    /// <summary>Sets θ (flat) and recomputes log|ψ| at the walkers.</summary>
    public void SetParameters(ReadOnlySpan<double> theta)
    {
        ParameterVector.CopyTo(theta, _parameters);
        _current = Evaluate(Walkers);
        _hasParameters = true;
    }

    /// <summary>Sets θ and runs <paramref name="sweeps"/> adapting sweeps (burn-in); returns the mean acceptance.</summary>
    public double BurnIn(ReadOnlySpan<double> theta, int sweeps)
    {
        SetParameters(theta);
        double acc = 0;
        for (int s = 0; s < sweeps; s++) acc += Sweep(adapt: true);
        return sweeps == 0 ? double.NaN : acc / sweeps;
    }

    /// <summary>One sweep (every walker one all-electron move); returns the acceptance rate. Call <see cref="SetParameters"/> first.</summary>
    public double Sweep(bool adapt)
    {
        if (!_hasParameters) throw new InvalidOperationException("MetropolisSampler.Sweep: no parameters yet; call SetParameters or BurnIn first.");
        long seed = unchecked((long)SeededRandom.Word(_seed + 1, _sweeps++));
        int w = Walkers.Shape[0], d = Walkers.Shape[1];
        var x = Walkers.Data;
        var y = _proposal.Data;
        for (int i = 0; i < x.Length; i++) y[i] = x[i] + StepSize * SeededRandom.Normal(seed, i);
        var proposed = Evaluate(_proposal);
        int accepted = 0;
        for (int k = 0; k < w; k++)
        {
            double logRatio = 2 * (proposed[k] - _current[k]);
            if (Math.Log(1 - SeededRandom.Uniform(seed, (long)w * d + k)) < logRatio)
            {
                Array.Copy(y, k * d, x, k * d, d);
                _current[k] = proposed[k];
                accepted++;
            }
        }
        Acceptance = (double)accepted / w;
        if (adapt) StepSize *= Math.Exp(0.2 * (Acceptance - TargetAcceptance));
        return Acceptance;
    }

    private double[] Evaluate(NDArray<double> x) => _logPsi.Run([x, .. _parameters])[0].Data.ToArray();
}
