using System.Diagnostics;
using JetSharp.Nn;
using JetSharp.Plotting;

namespace JetSharp.Examples;

/// <summary>Error measures, figures and timings shared by the examples.</summary>
public static class Reporting
{
    /// <summary>‖u − u*‖₂ / ‖u*‖₂ over the evaluation points (a discrete relative L2 error).</summary>
    public static double RelativeL2(ReadOnlySpan<double> u, ReadOnlySpan<double> exact)
    {
        if (u.Length != exact.Length) throw new ShapeException($"RelativeL2: {u.Length} values against {exact.Length} exact values.");
        double num = 0, den = 0;
        for (int i = 0; i < u.Length; i++)
        {
            num += (u[i] - exact[i]) * (u[i] - exact[i]);
            den += exact[i] * exact[i];
        }
        return Math.Sqrt(num / Math.Max(den, 1e-300));
    }

    /// <summary>The n×n cell centres of [x0, x1] × [y0, y1] as [n², 2] points, row i (y) major.</summary>
    public static NDArray<double> Grid(int n, double x0 = 0, double x1 = 1, double y0 = 0, double y1 = 1)
    {
        var t = new NDArray<double>(new Shape(n * n, 2));
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                t.Data[2 * (i * n + j)] = x0 + (x1 - x0) * (j + 0.5) / n;
                t.Data[2 * (i * n + j) + 1] = y0 + (y1 - y0) * (i + 0.5) / n;
            }
        return t;
    }

    /// <summary>Values on a <see cref="Grid"/> as a matrix for <see cref="Heatmap"/> (row = y).</summary>
    public static double[,] AsGrid(ReadOnlySpan<double> values, int n)
    {
        var m = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) m[i, j] = values[i * n + j];
        return m;
    }

    /// <summary>Loss (and error, where measured) against the step, logarithmic y axis.</summary>
    public static string LossCurve(IReadOnlyList<TrainingRecord> history, string directory, string title, string lossName = "loss", string? errorName = "relative L2 error", bool logY = true, double? reference = null)
    {
        var chart = new LineChart { Title = title, XLabel = "step", YLabel = logY ? "value (log scale)" : "value", LogY = logY };
        // Thin long histories so the SVG stays small (every k-th step; the curve shape is unchanged).
        int k = Math.Max(1, history.Count / 1500);
        var thinned = history.Where((_, i) => i % k == 0 || i == history.Count - 1).ToList();
        chart.Add(lossName, [.. thinned.Select(h => (double)h.Step)], [.. thinned.Select(h => h.Loss)]);
        var errors = history.Where(h => h.Error is not null).ToList();
        if (errors.Count > 0 && errorName is not null) chart.Add(errorName, [.. errors.Select(h => (double)h.Step)], [.. errors.Select(h => h.Error!.Value)]);
        if (reference is { } r && history.Count > 0) chart.Add($"exact {r:g4}", [history[0].Step, history[^1].Step], [r, r]);
        return Save(directory, "loss.svg", chart.ToSvg());
    }

    public static string Heat(string directory, string file, string title, double[,] values, (double, double) xRange, (double, double) yRange, string xLabel = "x", string yLabel = "y") =>
        Save(directory, file, new Heatmap { Title = title, XRange = xRange, YRange = yRange, XLabel = xLabel, YLabel = yLabel }.ToSvg(values));

    public static string Save(string directory, string file, string svg)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, file);
        File.WriteAllText(path, svg);
        return path;
    }

    /// <summary>
    /// Seconds per training step (one loss-and-gradient evaluation) of the same objective built with each
    /// strategy: objectives are built first and warmed up, then timed in turns, a block of three
    /// consecutive steps per strategy and turn (turns share machine load alike between strategies; blocks keep
    /// caches as warm as in training), and the minimum over all timed steps is kept. Also checks that the
    /// strategies agree on the loss.
    /// </summary>
    public static IReadOnlyList<StrategyTiming> TimeSteps<T>(Func<Strategy, IObjective<T>> build, T[] theta, Strategy[] strategies, int repeats = 5)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var objectives = strategies.Select(build).ToArray();
        var grads = objectives.Select(_ => new T[theta.Length]).ToArray();
        var losses = new double[objectives.Length];
        for (int s = 0; s < objectives.Length; s++)
        {
            objectives[s].Resample(0, theta);
            losses[s] = double.CreateTruncating(objectives[s].Evaluate(theta, grads[s]));
        }
        var best = Enumerable.Repeat(double.MaxValue, objectives.Length).ToArray();
        for (int r = 0; r < repeats; r++)
            for (int s = 0; s < objectives.Length; s++)
                for (int k = 0; k < 3; k++)
                {
                    var clock = Stopwatch.StartNew();
                    objectives[s].Evaluate(theta, grads[s]);
                    best[s] = Math.Min(best[s], clock.Elapsed.TotalSeconds);
                }
        for (int s = 1; s < objectives.Length; s++)
            if (Math.Abs(losses[s] - losses[0]) > (typeof(T) == typeof(float) ? 1e-3 : 1e-6) * Math.Max(1, Math.Abs(losses[0])))
                throw new InvalidOperationException($"TimeSteps: strategies disagree on the loss ({strategies[0]}: {losses[0]:R}, {strategies[s]}: {losses[s]:R}).");
        return [.. strategies.Select((s, i) => new StrategyTiming(s, best[i], losses[i]))];
    }

    /// <summary>Milliseconds per step against the batch size, one line per strategy.</summary>
    public static string StepTimeChart(string directory, string title, string xLabel, IReadOnlyList<(int Size, IReadOnlyList<StrategyTiming> Timings)> rows)
    {
        var chart = new LineChart { Title = title, XLabel = xLabel, YLabel = "ms per training step", LogX = true, LogY = true };
        foreach (var strategy in rows[0].Timings.Select(t => t.Strategy))
            chart.Add(strategy.Description, [.. rows.Select(r => (double)r.Size)], [.. rows.Select(r => r.Timings.First(t => ReferenceEquals(t.Strategy, strategy)).SecondsPerStep * 1e3)]);
        return Save(directory, "step-time.svg", chart.ToSvg());
    }
}
