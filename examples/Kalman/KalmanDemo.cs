using System.Diagnostics;
using JetSharp.Plotting;
using JetSharp.Runtime;
using JetSharp.StateSpace;

namespace JetSharp.Examples.Kalman;

/// <summary>Settings of <see cref="KalmanDemo"/>.</summary>
public sealed record KalmanOptions
{
    /// <summary>Independent series B simulated from the true model.</summary>
    public int Series { get; init; } = 8;

    /// <summary>Time steps T per series (at least 2).</summary>
    public int Steps { get; init; } = 100;

    /// <summary>Gradient-ascent iterations.</summary>
    public int Iterations { get; init; } = 150;

    /// <summary>Seed of the simulated noise.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Adam's learning rate (scaled by a cosine schedule).</summary>
    public double LearningRate { get; init; } = 0.03;
}

/// <summary>One iteration of the fit: its index (from 0), the total, and the log-likelihood per observation before the step.</summary>
/// <param name="Iteration">Index of the iteration, from 0.</param>
/// <param name="Iterations">Total number of iterations.</param>
/// <param name="LogLikelihood">Log marginal likelihood per observation at the parameters before the step.</param>
public readonly record struct KalmanStep(int Iteration, int Iterations, double LogLikelihood);

/// <summary>A fitted parameter next to its true and initial value.</summary>
/// <param name="Name">Display name (F₁₁ … F₂₂, σ_q, σ_r).</param>
/// <param name="True">Value in the simulating model.</param>
/// <param name="Initial">Starting value of the fit.</param>
/// <param name="Fitted">Fitted value.</param>
/// <param name="FittedInTrueUnit">Fitted value with the velocity rescaled so that F₁₂ = dt (the unit of the true model).</param>
public sealed record KalmanParameter(string Name, double True, double Initial, double Fitted, double FittedInTrueUnit);

/// <summary>Outcome of <see cref="KalmanDemo.Fit"/>.</summary>
/// <param name="Parameters">F's four entries, σ_q and σ_r.</param>
/// <param name="TrueEigenvalues">Modulus and argument of the true F's eigenvalues.</param>
/// <param name="FittedEigenvalues">Modulus and argument of the fitted F's eigenvalues.</param>
/// <param name="InitialLogLikelihood">Log-likelihood per observation at the starting point.</param>
/// <param name="FittedLogLikelihood">Log-likelihood per observation at the fitted parameters.</param>
/// <param name="TrueLogLikelihood">Log-likelihood per observation at the true parameters.</param>
/// <param name="Curve">Log-likelihood per observation at each iteration.</param>
/// <param name="FitSeconds">Wall time of the gradient evaluations and updates.</param>
/// <param name="FittedMeans">Filtered means [B, T, 2] of the fitted model, velocity in the true unit.</param>
/// <param name="TrueModelMeans">Filtered means [B, T, 2] of the true model.</param>
public sealed record KalmanResult(IReadOnlyList<KalmanParameter> Parameters,
    (double Modulus, double Argument) TrueEigenvalues, (double Modulus, double Argument) FittedEigenvalues,
    double InitialLogLikelihood, double FittedLogLikelihood, double TrueLogLikelihood, IReadOnlyList<double> Curve,
    double FitSeconds, NDArray<double> FittedMeans, NDArray<double> TrueModelMeans)
{
    /// <summary>Whether the fit reaches (within 10⁻³) at least the likelihood of the true parameters.</summary>
    public bool ReachesTrueLikelihood => double.IsFinite(FittedLogLikelihood) && FittedLogLikelihood >= TrueLogLikelihood - 1e-3;
}

/// <summary>
/// Learns a linear-Gaussian state-space model by gradient ascent on its log marginal likelihood,
/// computed by the square-root Kalman filter and differentiated in reverse mode through tria's Gramian
/// rule. The data come from a damped oscillator (state: position and velocity; only the position is
/// observed) whose process noise drives the velocity alone and whose initial state is known exactly, so
/// the filter's first triangularizations are rank-deficient — the case where a QR-differentiated filter
/// returns NaN gradients. Fitted: the four entries of F and the two noise scales (as logarithms).
/// <para>Stages: the constructor simulates the data and compiles the gradient; <see cref="QrGradientCheck"/>
/// counts the non-finite gradient entries of a QR-differentiated filter; <see cref="Fit"/> runs the ascent;
/// <see cref="WritePlots"/> draws the result.</para>
/// </summary>
public sealed class KalmanDemo
{
    /// <summary>Time step of the oscillator.</summary>
    public const double Dt = 0.1;

    /// <summary>The true transition matrix (ω² = 4, damping 0.5).</summary>
    public static double[,] TrueF => new double[,] { { 1, Dt }, { -4 * Dt, 1 - 0.5 * Dt } };

    /// <summary>True process-noise scale (on the velocity).</summary>
    public const double TrueSigmaQ = 0.3;

    /// <summary>True observation-noise scale.</summary>
    public const double TrueSigmaR = 0.5;

    /// <summary>The starting F of the fit: generic, not diagonal (a diagonal F is a saddle where the gradient in F₁₂, F₂₁, F₂₂ and σ_q vanishes).</summary>
    public static double[,] InitialF => new double[,] { { 0.9, 0.05 }, { -0.05, 0.8 } };

    private static readonly double[] M0 = [1, 0];
    private readonly Graph _objective;
    private readonly Executable _gradient;

    /// <summary>Simulates the data and builds and compiles the objective's gradient.</summary>
    public KalmanDemo(KalmanOptions? options = null)
    {
        Options = options ?? new KalmanOptions();
        if (Options.Series < 1 || Options.Steps < 2 || Options.Iterations < 1)
            throw new ArgumentException("--series ≥ 1, --steps ≥ 2 and --iterations ≥ 1 are required.");
        if (!(Options.LearningRate > 0)) throw new ArgumentException($"--lr expects a positive number, got '{Options.LearningRate}'.");
        (States, Observations) = Simulate(Options.Series, Options.Steps, Options.Seed);
        var clock = Stopwatch.StartNew();
        var ys = Observations;
        _objective = Tracer.Function(xs => new[] { Objective(xs[0], xs[1], xs[1].Graph.Constant(ys)) }, [new Shape(2, 2), new Shape(2)], names: ["F", "log_sigma"]);
        _gradient = Executable.Compile(Vjp.Grad(_objective));
        CompileSeconds = clock.Elapsed.TotalSeconds;
    }

    /// <summary>The settings.</summary>
    public KalmanOptions Options { get; }

    /// <summary>True states [B, T, 2].</summary>
    public NDArray<double> States { get; }

    /// <summary>Observed positions [B, T, 1].</summary>
    public NDArray<double> Observations { get; }

    /// <summary>Nodes of the objective graph.</summary>
    public int ObjectiveNodes => _objective.Nodes.Count;

    /// <summary>Nodes of the gradient graph.</summary>
    public int GradientNodes => _gradient.Graph.Nodes.Count;

    /// <summary>Wall time of building and compiling the objective and its gradient.</summary>
    public double CompileSeconds { get; }

    /// <summary>Log-likelihood per observation and its gradient with respect to F (4 entries) and log σ (2 entries).</summary>
    public (double Value, double[] GradF, double[] GradLogSigma) ValueAndGradient(double[,] f, double[] logSigma)
    {
        var outs = _gradient.Run<double>(NDArray.FromArray(f), NDArray.FromArray(logSigma));
        return (outs[0].ToScalar(), outs[1].Data.ToArray(), outs[2].Data.ToArray());
    }

    /// <summary>Log-likelihood per observation at (F, log σ).</summary>
    public double LogLikelihood(double[,] f, double[] logSigma) => Evaluate(NDArray.FromArray(f), NDArray.FromArray(logSigma));

    /// <summary>How many gradient entries at the initial point are non-finite when tria is differentiated through QR (R⁻¹) instead of the Gramian rule, out of how many.</summary>
    public (int NonFinite, int Total) QrGradientCheck()
    {
        static Node QrTria(Node a) => Linalg.MatrixTranspose(Linalg.QrR(Linalg.MatrixTranspose(a)));
        var ys = Observations;
        var (f, logSigma) = (NDArray.FromArray(InitialF), NDArray.FromArray([0.0, 0.0]));
        var g = Tracer.Function(xs => Objective(xs[0], xs[1], xs[1].Graph.Constant(ys), QrTria), [f.Shape, logSigma.Shape]);
        var grads = Executable.Compile(Vjp.Grad(g)).Run<double>(f, logSigma)[1..];
        return (grads.Sum(t => t.Data.Count(x => !double.IsFinite(x))), grads.Sum(t => t.Size));
    }

    /// <summary>Gradient ascent (Adam, cosine step schedule) from <see cref="InitialF"/> and unit noise scales; <paramref name="onStep"/> is called after every iteration.</summary>
    public KalmanResult Fit(Action<KalmanStep>? onStep = null)
    {
        int iterations = Options.Iterations;
        var initialF = InitialF;
        var f = NDArray.FromArray(initialF);
        var logSigma = NDArray.FromArray([0.0, 0.0]);
        var adam = new Adam(Options.LearningRate, [f.Size, logSigma.Size]);
        var clock = Stopwatch.StartNew();
        var curve = new List<double>();
        for (int it = 0; it < iterations; it++)
        {
            var outs = _gradient.Run<double>(f, logSigma);
            double value = outs[0].ToScalar();
            curve.Add(value);
            // A cosine step schedule: large steps to find the basin, small ones to settle in it.
            double step = 0.5 * (1 + Math.Cos(Math.PI * it / iterations));
            adam.Ascend([f.Data, logSigma.Data], [outs[1].Data, outs[2].Data], step);
            onStep?.Invoke(new KalmanStep(it, iterations, value));
        }
        double fitSeconds = clock.Elapsed.TotalSeconds;

        var trueF = TrueF;
        var trueLogSigma = NDArray.FromArray([Math.Log(TrueSigmaQ), Math.Log(TrueSigmaR)]);
        double final = Evaluate(f, logSigma);
        double atTruth = Evaluate(NDArray.FromArray(trueF), trueLogSigma);
        // Only the position is observed, so the velocity's unit is not identifiable: x ↦ diag(1, c)·x maps F to
        // D·F·D⁻¹ and σ_q to c·σ_q with the same likelihood. Compare in the unit that makes F₁₂ = dt again.
        double c = f.Data[1] / Dt;
        string[] names = ["F₁₁", "F₁₂", "F₂₁", "F₂₂"];
        double[] scale = [1, 1 / c, c, 1];
        var parameters = new List<KalmanParameter>();
        for (int i = 0; i < 4; i++)
            parameters.Add(new(names[i], trueF[i / 2, i % 2], initialF[i / 2, i % 2], f.Data[i], f.Data[i] * scale[i]));
        parameters.Add(new("σ_q", TrueSigmaQ, 1, Math.Exp(logSigma.Data[0]), c * Math.Exp(logSigma.Data[0])));
        parameters.Add(new("σ_r", TrueSigmaR, 1, Math.Exp(logSigma.Data[1]), Math.Exp(logSigma.Data[1])));
        var fitted = FilteredMeans(f, logSigma);
        for (int i = 1; i < fitted.Size; i += 2) fitted.Data[i] *= c;   // velocity in the true unit
        var truthFiltered = FilteredMeans(NDArray.FromArray(trueF), trueLogSigma);
        return new KalmanResult(parameters, Eigen(trueF[0, 0], trueF[0, 1], trueF[1, 0], trueF[1, 1]),
            Eigen(f.Data[0], f.Data[1], f.Data[2], f.Data[3]), curve[0], final, atTruth, curve, fitSeconds, fitted, truthFiltered);
    }

    /// <summary>Writes kalman-states.svg (series 1: truth, observations, filtered means) and kalman-loglik.svg (the fit's curve) into <paramref name="dir"/>; returns their paths.</summary>
    public string[] WritePlots(KalmanResult result, string dir)
    {
        Directory.CreateDirectory(dir);
        int steps = States.Shape[1];
        var time = Enumerable.Range(1, steps).Select(t => t * Dt).ToArray();
        double[] Column(NDArray<double> x, int c) => [.. Enumerable.Range(0, steps).Select(t => x[0, t, c])];
        var chart = new LineChart { Title = "Series 1: true state, observations and filtered means (fitted model)", XLabel = "time", YLabel = "value", Width = 760, Height = 440 };
        chart.Add("observed position", time, Column(Observations, 0))
            .Add("true position", time, Column(States, 0))
            .Add("filtered position (fitted)", time, Column(result.FittedMeans, 0))
            .Add("true velocity", time, Column(States, 1))
            .Add("filtered velocity (fitted, rescaled)", time, Column(result.FittedMeans, 1))
            .Add("filtered velocity (true model)", time, Column(result.TrueModelMeans, 1));
        string states = Path.Combine(dir, "kalman-states.svg"), loglik = Path.Combine(dir, "kalman-loglik.svg");
        chart.Save(states);
        var ll = new LineChart { Title = "Log marginal likelihood per observation during the fit", XLabel = "iteration", YLabel = "log p(y) / (B·T)", Width = 640, Height = 400 };
        var iters = Enumerable.Range(0, result.Curve.Count).Select(i => (double)i).ToArray();
        ll.Add("fitted parameters", iters, [.. result.Curve]);
        ll.Add("true parameters", iters, [.. iters.Select(_ => result.TrueLogLikelihood)]);
        ll.Save(loglik);
        return [states, loglik];
    }

    /// <summary>Modulus and argument of the eigenvalues of a 2×2 matrix (a complex pair, or the larger real one with argument 0).</summary>
    public static (double Modulus, double Argument) Eigen(double a, double b, double c, double d)
    {
        double tr = a + d, det = a * d - b * c, disc = tr * tr / 4 - det;
        return disc >= 0 ? (Math.Abs(tr / 2) + Math.Sqrt(disc), 0) : (Math.Sqrt(det), Math.Atan2(Math.Sqrt(-disc), tr / 2));
    }

    /// <summary>The model as graph nodes: F as given, L_Q = diag(0, σ_q), L_R = [σ_r], H = [1, 0], m₀ known, L₀ = 0.</summary>
    private static LinearGaussianModel Model(Node f, Node logSigma)
    {
        var g = f.Graph;
        var sigma = Fn.Exp(logSigma);
        var lq = Fn.Reshape(Fn.Slice(sigma, 0, 0, 1), 1, 1) * g.Constant(NDArray.FromArray(new double[,] { { 0, 0 }, { 0, 1 } }));
        var lr = Fn.Reshape(Fn.Slice(sigma, 0, 1, 1), 1, 1);
        return new LinearGaussianModel(f, g.Constant(NDArray.FromArray(new double[,] { { 1, 0 } })), lq, lr,
            g.Constant(NDArray.FromArray(M0)), g.Constant(NDArray.FromArray(new double[,] { { 0, 0 }, { 0, 0 } })));
    }

    /// <summary>Log marginal likelihood per observation, averaged over series and time.</summary>
    private static Node Objective(Node f, Node logSigma, Node ys, Func<Node, Node>? tria = null) =>
        Fn.Reshape(Fn.Mean(SquareRootKalmanFilter.Filter(Model(f, logSigma), ys, tria).LogLikelihood), 1) * (1.0 / ys.Shape[1]);

    private double Evaluate(NDArray<double> f, NDArray<double> logSigma) =>
        Executable.Compile(_objective).Run<double>(f, logSigma)[0].ToScalar();

    private NDArray<double> FilteredMeans(NDArray<double> f, NDArray<double> logSigma)
    {
        var ys = Observations;
        var g = Tracer.Function(xs => SquareRootKalmanFilter.Filter(Model(xs[0], xs[1]), xs[1].Graph.Constant(ys)).Means, [f.Shape, logSigma.Shape]);
        return Executable.Compile(g).Run<double>(f, logSigma)[0];
    }

    /// <summary>States [B, T, 2] and observations [B, T, 1] of the true model, from seeded normal draws.</summary>
    private static (NDArray<double> States, NDArray<double> Observations) Simulate(int series, int steps, int seed)
    {
        var trueF = TrueF;
        var states = new NDArray<double>(new Shape(series, steps, 2));
        var ys = new NDArray<double>(new Shape(series, steps, 1));
        long draw = 0;
        for (int s = 0; s < series; s++)
        {
            double x0 = M0[0], x1 = M0[1];
            for (int t = 0; t < steps; t++)
            {
                (x0, x1) = (trueF[0, 0] * x0 + trueF[0, 1] * x1, trueF[1, 0] * x0 + trueF[1, 1] * x1 + TrueSigmaQ * SeededRandom.Normal(seed, draw++));
                states[s, t, 0] = x0;
                states[s, t, 1] = x1;
                ys[s, t, 0] = x0 + TrueSigmaR * SeededRandom.Normal(seed, draw++);
            }
        }
        return (states, ys);
    }

    /// <summary>Adam (Kingma and Ba) for ascent, kept local to the example: per-coordinate step sizes from running moments.</summary>
    private sealed class Adam(double rate, int[] sizes)
    {
        private const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;
        private readonly double[][] _m = [.. sizes.Select(n => new double[n])];
        private readonly double[][] _v = [.. sizes.Select(n => new double[n])];
        private int _t;

        public void Ascend(double[][] parameters, double[][] gradients, double scale)
        {
            _t++;
            double c1 = 1 - Math.Pow(Beta1, _t), c2 = 1 - Math.Pow(Beta2, _t);
            for (int p = 0; p < parameters.Length; p++)
                for (int i = 0; i < parameters[p].Length; i++)
                {
                    double g = gradients[p][i];
                    _m[p][i] = Beta1 * _m[p][i] + (1 - Beta1) * g;
                    _v[p][i] = Beta2 * _v[p][i] + (1 - Beta2) * g * g;
                    parameters[p][i] += scale * rate * (_m[p][i] / c1) / (Math.Sqrt(_v[p][i] / c2) + Epsilon);
                }
        }
    }
}
