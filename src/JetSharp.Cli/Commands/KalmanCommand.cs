using System.Diagnostics;
using JetSharp.Plotting;
using JetSharp.Runtime;
using JetSharp.StateSpace;
using JetSharp.Transforms;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary>
/// Learns a linear-Gaussian state-space model by gradient ascent on its log marginal likelihood,
/// computed by the square-root Kalman filter and differentiated in reverse mode through tria's Gramian
/// rule. The data come from a damped oscillator (state: position and velocity; only the position is
/// observed) whose process noise drives the velocity alone and whose initial state is known exactly, so
/// the filter's first triangularizations are rank-deficient — the case where a QR-differentiated filter
/// returns NaN gradients. Fitted: the four entries of F and the two noise scales (as logarithms).
/// </summary>
public static class KalmanCommand
{
    private const double Dt = 0.1;
    private static readonly double[,] TrueF = { { 1, Dt }, { -4 * Dt, 1 - 0.5 * Dt } };   // ω² = 4, damping 0.5
    private const double TrueSigmaQ = 0.3, TrueSigmaR = 0.5;
    private static readonly double[] M0 = [1, 0];

    public static int Run(Args args)
    {
        int series = args.Int("series", 8), steps = args.Int("steps", 100), iterations = args.Int("iterations", 150);
        int seed = args.Int("seed", 1);
        double rate = 0.03;
        if (args.Value("lr") is { } lr && !(double.TryParse(lr, System.Globalization.CultureInfo.InvariantCulture, out rate) && rate > 0))
            throw new ArgumentException($"--lr expects a positive number, got '{lr}'.");
        string outDir = args.Value("out") ?? "kalman-out";
        if (series < 1 || steps < 2 || iterations < 1) throw new ArgumentException("--series ≥ 1, --steps ≥ 2 and --iterations ≥ 1 are required.");
        Directory.CreateDirectory(outDir);

        AnsiConsole.Write(new Rule("[bold]Square-root Kalman filter: maximum-likelihood fit[/]").LeftJustified());
        AnsiConsole.MarkupLine($"damped oscillator, dt = {Dt}; {series} series × {steps} steps; observed: position; " +
                               "process noise on the velocity only (L_Q singular); initial state known exactly (L₀ = 0)");
        var (states, ys) = Simulate(series, steps, seed);

        var clock = Stopwatch.StartNew();
        var objective = Trace.Function(xs => new[] { Objective(xs[0], xs[1], xs[1].Graph.Constant(ys)) }, [new Shape(2, 2), new Shape(2)], names: ["F", "log_sigma"]);
        var gradient = Executable.Compile(Vjp.Grad(objective));
        double compileSeconds = clock.Elapsed.TotalSeconds;

        // θ = (F, log σ_q, log σ_r), started from a generic F and unit noise scales. (Not from a diagonal F:
        // there the unobserved velocity never reaches the position and, by symmetry, the gradient in F₁₂, F₂₁,
        // F₂₂ and σ_q is exactly zero — a saddle.)
        var initialF = new double[,] { { 0.9, 0.05 }, { -0.05, 0.8 } };
        var f = Tensor.FromArray(initialF);
        var logSigma = Tensor.FromArray([0.0, 0.0]);
        var (bad, total) = NaiveGradient(ys, f, logSigma);
        AnsiConsole.MarkupLine($"at the initial point, a filter whose tria is differentiated through QR gives [red]{bad}/{total} non-finite gradient entries[/]; " +
                               "the Gramian rule's are all finite");
        var adam = new Adam(rate, [f.Size, logSigma.Size]);
        clock.Restart();
        var curve = new List<double>();
        double initial = double.NaN;
        AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("gradient ascent", maxValue: iterations);
                for (int it = 0; it < iterations; it++)
                {
                    var outs = gradient.Run<double>(f, logSigma);
                    double value = outs[0].ToScalar();
                    if (it == 0) initial = value;
                    curve.Add(value);
                    // A cosine step schedule: large steps to find the basin, small ones to settle in it.
                    double step = 0.5 * (1 + Math.Cos(Math.PI * it / iterations));
                    adam.Ascend([f.Data, logSigma.Data], [outs[1].Data, outs[2].Data], step);
                    task.Description = $"gradient ascent  log-lik/obs {value:F4}";
                    task.Increment(1);
                }
            });
        double fitSeconds = clock.Elapsed.TotalSeconds;

        double final = Evaluate(objective, f, logSigma);
        double atTruth = Evaluate(objective, Tensor.FromArray(TrueF), Tensor.FromArray([Math.Log(TrueSigmaQ), Math.Log(TrueSigmaR)]));
        // Only the position is observed, so the velocity's unit is not identifiable: x ↦ diag(1, c)·x maps F to
        // D·F·D⁻¹ and σ_q to c·σ_q with the same likelihood. Compare in the unit that makes F₁₂ = dt again.
        double c = f.Data[1] / Dt;
        var table = new Table().Border(TableBorder.Rounded).AddColumns("parameter", "true", "initial", "fitted", "fitted, velocity unit with F₁₂ = dt");
        string[] names = ["F₁₁", "F₁₂", "F₂₁", "F₂₂"];
        double[] scale = [1, 1 / c, c, 1];
        for (int i = 0; i < 4; i++)
            table.AddRow(names[i], $"{TrueF[i / 2, i % 2]:F3}", $"{initialF[i / 2, i % 2]:F3}", $"{f.Data[i]:F3}", $"{f.Data[i] * scale[i]:F3}");
        table.AddRow("σ_q", $"{TrueSigmaQ:F3}", "1.000", $"{Math.Exp(logSigma.Data[0]):F3}", $"{c * Math.Exp(logSigma.Data[0]):F3}");
        table.AddRow("σ_r", $"{TrueSigmaR:F3}", "1.000", $"{Math.Exp(logSigma.Data[1]):F3}", $"{Math.Exp(logSigma.Data[1]):F3}");
        AnsiConsole.Write(table);
        var (trueMod, trueArg) = Eigen(TrueF[0, 0], TrueF[0, 1], TrueF[1, 0], TrueF[1, 1]);
        var (fitMod, fitArg) = Eigen(f.Data[0], f.Data[1], f.Data[2], f.Data[3]);
        AnsiConsole.MarkupLine($"eigenvalues of F (unit-free): true |λ| = {trueMod:F4}, arg λ = ±{trueArg:F4}; fitted |λ| = {fitMod:F4}, arg λ = ±{fitArg:F4}");
        AnsiConsole.MarkupLine($"log-likelihood per observation: initial {initial:F4}, fitted {final:F4}, at the true parameters {atTruth:F4}");
        AnsiConsole.MarkupLine($"graph: {objective.Nodes.Count} nodes, gradient graph {gradient.Graph.Nodes.Count} nodes, built and compiled in {compileSeconds:F2} s; " +
                               $"{iterations} gradient evaluations in {fitSeconds:F2} s ({1e3 * fitSeconds / iterations:F1} ms each)");
        var fitted = FilteredMeans(f, logSigma, ys);
        for (int i = 1; i < fitted.Size; i += 2) fitted.Data[i] *= c;   // velocity in the true unit
        var truthFiltered = FilteredMeans(Tensor.FromArray(TrueF), Tensor.FromArray([Math.Log(TrueSigmaQ), Math.Log(TrueSigmaR)]), ys);
        WritePlots(outDir, states, ys, fitted, truthFiltered, curve, atTruth);
        AnsiConsole.MarkupLine($"plots written to {Markup.Escape(Path.Combine(outDir, "kalman-states.svg"))} and {Markup.Escape(Path.Combine(outDir, "kalman-loglik.svg"))}");
        bool ok = double.IsFinite(final) && final >= atTruth - 1e-3;
        AnsiConsole.MarkupLine(ok ? "[green]The fit reaches (at least) the likelihood of the true parameters.[/]" : "[red]The fit stayed below the likelihood of the true parameters.[/]");
        return ok ? 0 : 1;
    }

    /// <summary>Modulus and argument of the eigenvalues of a 2×2 matrix (a complex pair, or the larger real one with argument 0).</summary>
    private static (double Modulus, double Argument) Eigen(double a, double b, double c, double d)
    {
        double tr = a + d, det = a * d - b * c, disc = tr * tr / 4 - det;
        return disc >= 0 ? (Math.Abs(tr / 2) + Math.Sqrt(disc), 0) : (Math.Sqrt(det), Math.Atan2(Math.Sqrt(-disc), tr / 2));
    }

    /// <summary>The model as graph nodes: F as given, L_Q = diag(0, σ_q), L_R = [σ_r], H = [1, 0], m₀ known, L₀ = 0.</summary>
    private static LinearGaussianModel Model(Node f, Node logSigma)
    {
        var g = f.Graph;
        var sigma = Fn.Exp(logSigma);
        var lq = Fn.Reshape(Fn.Slice(sigma, 0, 0, 1), 1, 1) * g.Constant(Tensor.FromArray(new double[,] { { 0, 0 }, { 0, 1 } }));
        var lr = Fn.Reshape(Fn.Slice(sigma, 0, 1, 1), 1, 1);
        return new LinearGaussianModel(f, g.Constant(Tensor.FromArray(new double[,] { { 1, 0 } })), lq, lr,
            g.Constant(Tensor.FromArray(M0)), g.Constant(Tensor.FromArray(new double[,] { { 0, 0 }, { 0, 0 } })));
    }

    /// <summary>Log marginal likelihood per observation, averaged over series and time.</summary>
    private static Node Objective(Node f, Node logSigma, Node ys, Func<Node, Node>? tria = null) =>
        Fn.Reshape(Fn.Mean(SquareRootKalmanFilter.Filter(Model(f, logSigma), ys, tria).LogLikelihood), 1) * (1.0 / ys.Shape[1]);

    /// <summary>How many gradient entries are non-finite when tria is differentiated through QR (R⁻¹) instead of the Gramian rule.</summary>
    private static (int Bad, int Total) NaiveGradient(Tensor<double> ys, Tensor<double> f, Tensor<double> logSigma)
    {
        static Node QrTria(Node a) => Linalg.MatrixTranspose(Linalg.QrR(Linalg.MatrixTranspose(a)));
        var g = Trace.Function(xs => Objective(xs[0], xs[1], xs[1].Graph.Constant(ys), QrTria), [f.Shape, logSigma.Shape]);
        var grads = Executable.Compile(Vjp.Grad(g)).Run<double>(f, logSigma)[1..];
        return (grads.Sum(t => t.Data.Count(x => !double.IsFinite(x))), grads.Sum(t => t.Size));
    }

    private static double Evaluate(Graph objective, Tensor<double> f, Tensor<double> logSigma) =>
        Executable.Compile(objective).Run<double>(f, logSigma)[0].ToScalar();

    private static Tensor<double> FilteredMeans(Tensor<double> f, Tensor<double> logSigma, Tensor<double> ys)
    {
        var g = Trace.Function(xs => SquareRootKalmanFilter.Filter(Model(xs[0], xs[1]), xs[1].Graph.Constant(ys)).Means, [f.Shape, logSigma.Shape]);
        return Executable.Compile(g).Run<double>(f, logSigma)[0];
    }

    /// <summary>States [B, T, 2] and observations [B, T, 1] of the true model, from seeded normal draws.</summary>
    private static (Tensor<double> States, Tensor<double> Observations) Simulate(int series, int steps, int seed)
    {
        var states = new Tensor<double>(new Shape(series, steps, 2));
        var ys = new Tensor<double>(new Shape(series, steps, 1));
        long draw = 0;
        for (int s = 0; s < series; s++)
        {
            double x0 = M0[0], x1 = M0[1];
            for (int t = 0; t < steps; t++)
            {
                (x0, x1) = (TrueF[0, 0] * x0 + TrueF[0, 1] * x1, TrueF[1, 0] * x0 + TrueF[1, 1] * x1 + TrueSigmaQ * SeededRandom.Normal(seed, draw++));
                states[s, t, 0] = x0;
                states[s, t, 1] = x1;
                ys[s, t, 0] = x0 + TrueSigmaR * SeededRandom.Normal(seed, draw++);
            }
        }
        return (states, ys);
    }

    private static void WritePlots(string dir, Tensor<double> states, Tensor<double> ys, Tensor<double> fitted, Tensor<double> truthFiltered, List<double> curve, double atTruth)
    {
        int steps = states.Shape[1];
        var time = Enumerable.Range(1, steps).Select(t => t * Dt).ToArray();
        double[] Column(Tensor<double> x, int c) => [.. Enumerable.Range(0, steps).Select(t => x[0, t, c])];
        var chart = new LineChart { Title = "Series 1: true state, observations and filtered means (fitted model)", XLabel = "time", YLabel = "value", Width = 760, Height = 440 };
        chart.Add("observed position", time, Column(ys, 0))
            .Add("true position", time, Column(states, 0))
            .Add("filtered position (fitted)", time, Column(fitted, 0))
            .Add("true velocity", time, Column(states, 1))
            .Add("filtered velocity (fitted, rescaled)", time, Column(fitted, 1))
            .Add("filtered velocity (true model)", time, Column(truthFiltered, 1));
        chart.Save(Path.Combine(dir, "kalman-states.svg"));
        var ll = new LineChart { Title = "Log marginal likelihood per observation during the fit", XLabel = "iteration", YLabel = "log p(y) / (B·T)", Width = 640, Height = 400 };
        var iters = Enumerable.Range(0, curve.Count).Select(i => (double)i).ToArray();
        ll.Add("fitted parameters", iters, curve);
        ll.Add("true parameters", iters, [.. iters.Select(_ => atTruth)]);
        ll.Save(Path.Combine(dir, "kalman-loglik.svg"));
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
