using JetSharp.Jacobians;
using JetSharp.Examples.Jacobians;

namespace JetSharp.Tests.Jacobians;

/// <summary>
/// The two MINPACK-2 benchmarks against their public definitions (Averick, Carter, Moré & Xue, "The MINPACK-2
/// test problem collection", 1992): subroutine dhhdfj (human heart dipole, version 'DHHD1') and dcpffj
/// (combustion of propane, full formulation). The residuals and the analytic Jacobian that each subroutine
/// codes (its task 'J' branch) are written out again here in plain doubles, independently of the traced
/// benchmark functions, and the standard starting points are typed in from the subroutines' task 'XS'. The
/// elimination Jacobian of every order must match the analytic one to 1e-12 at the standard starting point
/// and at sampled points.
/// </summary>
public class MinpackDefinitionTests
{
    // ---- dhhdfj, prob = 'DHHD1' ----

    private static readonly double[] HeartStart = [0.299, 0.186, -0.0273, 0.0254, -0.474, 0.474, -0.0892, 0.0892];
    private static readonly double[] HeartSigma = [0.485, -0.0019, -0.0581, 0.015, 0.105, 0.0406, 0.167, -0.399];

    private static double[] HeartResiduals(double[] x)
    {
        double a = x[0], b = x[1], c = x[2], d = x[3], t = x[4], u = x[5], v = x[6], w = x[7];
        double[] s = HeartSigma;
        return
        [
            a + b - s[0],
            c + d - s[1],
            t * a + u * b - v * c - w * d - s[2],
            v * a + w * b + t * c + u * d - s[3],
            a * (t * t - v * v) - 2 * c * t * v + b * (u * u - w * w) - 2 * d * u * w - s[4],
            c * (t * t - v * v) + 2 * a * t * v + d * (u * u - w * w) + 2 * b * u * w - s[5],
            a * t * (t * t - 3 * v * v) + c * v * (v * v - 3 * t * t) + b * u * (u * u - 3 * w * w) + d * w * (w * w - 3 * u * u) - s[6],
            c * t * (t * t - 3 * v * v) - a * v * (v * v - 3 * t * t) + d * u * (u * u - 3 * w * w) - b * w * (w * w - 3 * u * u) - s[7],
        ];
    }

    /// <summary>The Jacobian that dhhdfj codes, rows = residuals, columns = (a, b, c, d, t, u, v, w).</summary>
    private static double[,] HeartJacobian(double[] x)
    {
        double a = x[0], b = x[1], c = x[2], d = x[3], t = x[4], u = x[5], v = x[6], w = x[7];
        double tv = t * v, uw = u * w;
        double tsvs = t * t - v * v, usws = u * u - w * w;
        double ts3vs = t * t - 3 * v * v, vs3ts = v * v - 3 * t * t, us3ws = u * u - 3 * w * w, ws3us = w * w - 3 * u * u;
        return new double[,]
        {
            { 1, 1, 0, 0, 0, 0, 0, 0 },
            { 0, 0, 1, 1, 0, 0, 0, 0 },
            { t, u, -v, -w, a, b, -c, -d },
            { v, w, t, u, c, d, a, b },
            { tsvs, usws, -2 * tv, -2 * uw, 2 * (a * t - c * v), 2 * (b * u - d * w), -2 * (a * v + c * t), -2 * (b * w + d * u) },
            { 2 * tv, 2 * uw, tsvs, usws, 2 * (c * t + a * v), 2 * (d * u + b * w), 2 * (a * t - c * v), 2 * (b * u - d * w) },
            { t * ts3vs, u * us3ws, v * vs3ts, w * ws3us, 3 * (a * tsvs - 2 * c * tv), 3 * (b * usws - 2 * d * uw), -3 * (c * tsvs + 2 * a * tv), -3 * (d * usws + 2 * b * uw) },
            { -v * vs3ts, -w * ws3us, t * ts3vs, u * us3ws, 3 * (c * tsvs + 2 * a * tv), 3 * (d * usws + 2 * b * uw), 3 * (a * tsvs - 2 * c * tv), 3 * (b * usws - 2 * d * uw) },
        };
    }

    // ---- dcpffj ----

    private const double P = 40, R = 10;
    private static readonly double[] K = [0, 0, 0, 0, 0.193, 2.597e-3, 3.448e-3, 1.799e-5, 2.155e-4, 3.846e-5]; // K[4] is K₅, …

    private static double[] PropaneStart =>
    [
        5, 2.5, 5, 0.1, 0.05 * K[4], K[5] / Math.Sqrt(P), 50 * K[6] / Math.Sqrt(P), 1000 * K[7] / P,
        500 * K[8] / Math.Sqrt(P), 50000 * K[9] / P, 20,
    ];

    private static double[] PropaneResiduals(double[] x)
    {
        double pdx = P / x[10], sqpdx = Math.Sqrt(pdx);
        double xtau = 0;
        for (int i = 0; i < 10; i++) xtau += x[i];
        return
        [
            x[0] + x[3] - 3,
            2 * x[0] + x[1] + x[3] + x[6] + x[7] + x[8] + 2 * x[9] - R,
            2 * x[1] + 2 * x[4] + x[5] + x[6] - 8,
            2 * x[2] + x[8] - 4 * R,
            K[4] * x[1] * x[3] - x[0] * x[4],
            K[5] * Math.Sqrt(x[1] * x[3]) - Math.Sqrt(x[0]) * x[5] * sqpdx,
            K[6] * Math.Sqrt(x[0] * x[1]) - Math.Sqrt(x[3]) * x[6] * sqpdx,
            K[7] * x[0] - x[3] * x[7] * pdx,
            K[8] * x[0] * Math.Sqrt(x[2]) - x[3] * x[8] * sqpdx,
            K[9] * x[0] * x[0] - x[3] * x[3] * x[9] * pdx,
            x[10] - xtau,
        ];
    }

    /// <summary>The Jacobian that dcpffj codes (0-based indices: J[i, j] = ∂f_{i+1}/∂x_{j+1}).</summary>
    private static double[,] PropaneJacobian(double[] x)
    {
        double pdx = P / x[10], sqpdx = Math.Sqrt(pdx), xfrac = 1 / Math.Pow(Math.Sqrt(x[10]), 3);
        var j = new double[11, 11];
        for (int c = 0; c < 11; c++) j[10, c] = -1;
        j[10, 10] = 1;

        j[0, 0] = 1;
        j[1, 0] = 2;
        j[4, 0] = -x[4];
        j[5, 0] = -0.5 * x[5] * sqpdx / Math.Sqrt(x[0]);
        j[6, 0] = 0.5 * K[6] * Math.Sqrt(x[1]) / Math.Sqrt(x[0]);
        j[7, 0] = K[7];
        j[8, 0] = K[8] * Math.Sqrt(x[2]);
        j[9, 0] = 2 * K[9] * x[0];

        j[1, 1] = 1;
        j[2, 1] = 2;
        j[4, 1] = K[4] * x[3];
        j[5, 1] = 0.5 * K[5] * Math.Sqrt(x[3]) / Math.Sqrt(x[1]);
        j[6, 1] = 0.5 * K[6] * Math.Sqrt(x[0]) / Math.Sqrt(x[1]);

        j[3, 2] = 2;
        j[8, 2] = 0.5 * K[8] * x[0] / Math.Sqrt(x[2]);

        j[0, 3] = 1;
        j[1, 3] = 1;
        j[4, 3] = K[4] * x[1];
        j[5, 3] = 0.5 * K[5] * Math.Sqrt(x[1]) / Math.Sqrt(x[3]);
        j[6, 3] = -0.5 * x[6] * sqpdx / Math.Sqrt(x[3]);
        j[7, 3] = -x[7] * pdx;
        j[8, 3] = -x[8] * sqpdx;
        j[9, 3] = -2 * x[3] * x[9] * pdx;

        j[2, 4] = 2;
        j[4, 4] = -x[0];

        j[2, 5] = 1;
        j[5, 5] = -Math.Sqrt(x[0]) * sqpdx;

        j[1, 6] = 1;
        j[2, 6] = 1;
        j[6, 6] = -Math.Sqrt(x[3]) * sqpdx;

        j[1, 7] = 1;
        j[7, 7] = -x[3] * pdx;

        j[1, 8] = 1;
        j[3, 8] = 1;
        j[8, 8] = -x[3] * sqpdx;

        j[1, 9] = 2;
        j[9, 9] = -(x[3] * x[3]) * pdx;

        j[5, 10] = 0.5 * Math.Sqrt(x[0]) * x[5] * Math.Sqrt(P) * xfrac;
        j[6, 10] = 0.5 * Math.Sqrt(x[3]) * x[6] * Math.Sqrt(P) * xfrac;
        j[7, 10] = x[3] * x[7] * P / (x[10] * x[10]);
        j[8, 10] = 0.5 * x[3] * x[8] * Math.Sqrt(P) * xfrac;
        j[9, 10] = x[3] * x[3] * x[9] * P / (x[10] * x[10]);
        return j;
    }

    // ---- the checks ----

    [Fact]
    public void StandardStartingPointsAreThoseOfTheSubroutines()
    {
        Assert.Equal(HeartStart, HumanHeartDipole.StandardStart);
        Assert.Equal(PropaneStart, PropaneCombustion.StandardStart);
        // The heart data are version 'DHHD1': at x = 0 every residual is −σ.
        Assert.Equal(HeartSigma.Select(s => -s), Values(HumanHeartDipole.Residuals, Points(new double[8]))[0]);
    }

    public static TheoryData<string> Problems => ["heart", "propane"];

    [Theory]
    [MemberData(nameof(Problems))]
    public void ResidualsMatchTheSubroutineAtTheStandardStartingPointAndSampledPoints(string name)
    {
        var (bench, start, residuals, _) = Problem(name);
        var x = Points([start, .. Rows(bench.SamplePoints(4, 7))]);
        var y = Values(bench.Function, x);
        for (int k = 0; k < y.Length; k++)
        {
            var expected = residuals(Row(x, k));
            Assert.Equal(bench.Outputs, expected.Length);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - y[k][i]) <= 1e-14 * Math.Max(1, Math.Abs(expected[i])),
                    $"{name}, point {k}, f{i + 1}: subroutine {expected[i]:R}, benchmark {y[k][i]:R}");
        }
    }

    [Theory]
    [MemberData(nameof(Problems))]
    public void EveryEliminationOrderGivesTheSubroutinesAnalyticJacobian(string name)
    {
        var (bench, start, _, jacobian) = Problem(name);
        var x = Points([start, .. Rows(bench.SamplePoints(4, 7))]);
        int points = x.Shape[0];
        var lf = LinearizedFunction.Trace(bench.Function, bench.Inputs, points);
        var orders = new[]
        {
            EliminationOrder.Forward, EliminationOrder.Reverse, EliminationOrder.Markowitz,
            EliminationOrder.Optimized(new OptimizerOptions { MaxEvaluations = 2_000, Threads = 1 }),
        };
        foreach (var order in orders)
        {
            var r = JacobianAccumulator.Jacobian(lf, x, order);
            Assert.Equal(new Shape(points, bench.Outputs, bench.Inputs), r.Value.Shape);
            for (int k = 0; k < points; k++)
            {
                var expected = jacobian(Row(x, k));
                for (int i = 0; i < bench.Outputs; i++)
                    for (int j = 0; j < bench.Inputs; j++)
                    {
                        double e = expected[i, j], a = r.Value[k, i, j];
                        Assert.True(Math.Abs(e - a) <= 1e-12 * Math.Max(1, Math.Abs(e)),
                            $"{name}, {order.Name}, point {k}: ∂f{i + 1}/∂x{j + 1} subroutine {e:R}, elimination {a:R}");
                    }
            }
        }
    }

    private static (BenchmarkFunction Bench, double[] Start, Func<double[], double[]> Residuals, Func<double[], double[,]> Jacobian) Problem(string name) =>
        name switch
        {
            "heart" => (HumanHeartDipole.Benchmark, HeartStart, HeartResiduals, HeartJacobian),
            "propane" => (PropaneCombustion.Benchmark, PropaneStart, PropaneResiduals, PropaneJacobian),
            _ => throw new ArgumentException(name),
        };

    private static NDArray<double> Points(params double[][] rows)
    {
        int n = rows[0].Length;
        return new NDArray<double>(new Shape(rows.Length, n), [.. rows.SelectMany(r => r)]);
    }

    private static double[][] Rows(NDArray<double> x) => [.. Enumerable.Range(0, x.Shape[0]).Select(k => Row(x, k))];

    private static double[] Row(NDArray<double> x, int k) => [.. Enumerable.Range(0, x.Shape[1]).Select(i => x[k, i])];

    /// <summary>f at each row of x ([N, n]), traced on columns and run by the executor: [N][m].</summary>
    private static double[][] Values(Func<Node[], Node[]> f, NDArray<double> x)
    {
        int points = x.Shape[0], n = x.Shape[1];
        var columns = Enumerable.Range(0, n).Select(i => new NDArray<double>(new Shape(points), [.. Enumerable.Range(0, points).Select(k => x[k, i])])).ToArray();
        var g = Tracer.Function(f, [.. Enumerable.Repeat(new Shape(points), n)]);
        var y = Runtime.Executable.Compile(g).Run(columns);
        return [.. Enumerable.Range(0, points).Select(k => y.Select(col => ((NDArray<double>)col).Data[k]).ToArray())];
    }
}
