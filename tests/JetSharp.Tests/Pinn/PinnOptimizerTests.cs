using JetSharp.Nn;
using JetSharp.Nn.Pinn;
using JetSharp.Transforms;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.Pinn;

/// <summary>
/// The PINN problem's residual, Jacobian and loss agree with each other and with finite differences; the
/// Gram and Woodbury solves agree with the normal equations solved independently; ENGD, SPRING and
/// Levenberg–Marquardt drive a tiny problem's loss 10–14 orders of magnitude down where Adam cannot in the same steps; their state
/// survives a checkpoint.
/// </summary>
public class PinnOptimizerTests
{
    /// <summary>
    /// u″ = u*″ on (0, 1), u = u* at 0 and 1, where u* is a "teacher" network of the student's architecture
    /// (1→4→1 tanh, P = 13) with other weights: the loss has exact zeros. 24 + 2 points (M = 26 &gt; P).
    /// </summary>
    private static (PinnProblem<double> Problem, double[] Theta) Tiny() => Tiny<double>();

    private static (PinnProblem<T> Problem, T[] Theta) Tiny<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var net = Mlp.Create(1, [4], 1, Activation.Tanh, seed: 5);
        var teacher = Mlp.Create(1, [4], 1, Activation.Tanh, seed: 6);
        var second = DifferentialOperator.Laplacian();
        var teacherSecond = second.Compile(x => teacher.Apply(x), new Shape(24, 1), DTypes.Of<T>());
        var terms = new List<PinnTerm>
        {
            new()
            {
                Name = "interior",
                Points = 24,
                Sample = s => Box.UnitCube(1).Interior<double>(24, s),
                Residual = c => c.Apply(second) - Inline.Apply(teacherSecond.Graph, [c.X])[0],
            },
            new()
            {
                Name = "boundary",
                Points = 2,
                Sample = _ => NDArray.FromArray([0.0, 1.0], new Shape(2, 1)),
                Residual = c => c.U - teacher.Apply(c.X),
                Weight = 2,
            },
        };
        var problem = new PinnProblem<T>(net.Architecture, net.ParameterShapes, net.Apply, 1, terms, seed: 1);
        var theta = ParameterVector.Flatten<T>(net.Parameters);
        problem.Resample(0, theta);
        return (problem, theta);
    }

    [Fact]
    public void LossGradientResidualAndJacobianAgree()
    {
        var (problem, theta) = Tiny();
        int m = problem.ResidualCount, p = problem.ParameterCount;
        var r = new double[m];
        var j = problem.Linearize(theta, r, out double loss);
        var g = new double[p];
        Close(problem.Evaluate(theta, g), loss, 1e-13);
        var r2 = new double[m];
        Close(loss, problem.Residuals(theta, r2), 1e-14);
        for (int k = 0; k < p; k++)
        {
            double jtr = 0;
            for (int i = 0; i < m; i++) jtr += j.Data[i * p + k] * r[i];
            Close(g[k], 2 * jtr, 1e-11);
        }
        // Columns of J by central differences of R.
        double h = 1e-6;
        for (int k = 0; k < p; k++)
        {
            var plus = (double[])theta.Clone();
            var minus = (double[])theta.Clone();
            plus[k] += h;
            minus[k] -= h;
            var rp = new double[m];
            var rm = new double[m];
            problem.Residuals(plus, rp);
            problem.Residuals(minus, rm);
            for (int i = 0; i < m; i++)
                Assert.True(Math.Abs((rp[i] - rm[i]) / (2 * h) - j.Data[i * p + k]) < 1e-6, $"J[{i}, {k}]");
        }
        // Matrix-free products.
        var v = Randn(3, p).Data;
        var jv = new double[m];
        problem.JacobianTimes(theta, v, jv);
        var u = Randn(4, m).Data;
        var jtu = new double[p];
        problem.JacobianTransposeTimes(theta, u, jtu);
        for (int i = 0; i < m; i++)
        {
            double s = 0;
            for (int k = 0; k < p; k++) s += j.Data[i * p + k] * v[k];
            Close(s, jv[i], 1e-12);
        }
        for (int k = 0; k < p; k++)
        {
            double s = 0;
            for (int i = 0; i < m; i++) s += j.Data[i * p + k] * u[i];
            Close(s, jtu[k], 1e-12);
        }
    }

    /// <summary>Both forms against (JᵀJ + λI)d = Jᵀb solved by Gaussian elimination with partial pivoting, for wide, tall and rank-deficient J.</summary>
    [Theory]
    [InlineData(6, 15, false)]
    [InlineData(15, 6, false)]
    [InlineData(8, 12, true)]
    public void GramAndWoodburyFormsGiveTheNormalEquationsStep(int m, int p, bool rankDeficient)
    {
        var j = Randn(40 + m, m, p);
        if (rankDeficient)
            for (int k = 0; k < p; k++) j.Data[(m - 1) * p + k] = j.Data[k];   // a repeated row
        var b = Randn(50 + m, m).Data;
        double lambda = 1e-3;
        var solver = new DampedLeastSquares();
        var gram = new double[p];
        var woodbury = new double[p];
        Assert.Equal(lambda, solver.Solve(j, b, lambda, GramForm.Parameter, gram));
        Assert.Equal(lambda, solver.Solve(j, b, lambda, GramForm.Woodbury, woodbury));

        var a = new double[p, p + 1];
        for (int r = 0; r < p; r++)
        {
            for (int c = 0; c < p; c++)
            {
                double s = r == c ? lambda : 0;
                for (int i = 0; i < m; i++) s += j.Data[i * p + r] * j.Data[i * p + c];
                a[r, c] = s;
            }
            double t = 0;
            for (int i = 0; i < m; i++) t += j.Data[i * p + r] * b[i];
            a[r, p] = t;
        }
        var expected = Gauss(a, p);
        for (int k = 0; k < p; k++)
        {
            Close(expected[k], gram[k], 1e-8);
            Close(expected[k], woodbury[k], 1e-8);
        }
    }

    private static double[] Gauss(double[,] a, int n)
    {
        for (int c = 0; c < n; c++)
        {
            int piv = c;
            for (int r = c + 1; r < n; r++) if (Math.Abs(a[r, c]) > Math.Abs(a[piv, c])) piv = r;
            for (int k = 0; k <= n; k++) (a[c, k], a[piv, k]) = (a[piv, k], a[c, k]);
            for (int r = c + 1; r < n; r++)
            {
                double f = a[r, c] / a[c, c];
                for (int k = c; k <= n; k++) a[r, k] -= f * a[c, k];
            }
        }
        var x = new double[n];
        for (int r = n - 1; r >= 0; r--)
        {
            double s = a[r, n];
            for (int k = r + 1; k < n; k++) s -= a[r, k] * x[k];
            x[r] = s / a[r, r];
        }
        return x;
    }

    [Fact]
    public void SingularSystemIsSolvedWithRaisedDamping()
    {
        var j = new NDArray<double>(new Shape(3, 4));   // all zeros: JᵀJ = 0
        var d = new double[4];
        double used = new DampedLeastSquares().Solve(j, [1, 2, 3], 0, GramForm.Parameter, d);
        Assert.True(used > 0);
        Assert.All(d, v => Assert.Equal(0, v));
    }

    private static double Train(IOptimizer<double> optimizer, PinnProblem<double> problem, double[] theta, int steps)
    {
        for (int k = 0; k < steps && !optimizer.Converged; k++) optimizer.Step(theta, problem.Evaluate);
        return problem.Residuals(theta, new double[problem.ResidualCount]);
    }

    [Fact]
    public void EngdSpringAndLevenbergMarquardtReachRoundOffWhereAdamCannot()
    {
        const int steps = 20;
        var (p0, t0) = Tiny();
        double start = p0.Residuals(t0, new double[p0.ResidualCount]);
        Assert.True(start > 1e-2);

        var (p1, t1) = Tiny();
        double engd = Train(new Engd(p1), p1, t1, steps);
        var (p2, t2) = Tiny();
        double spring = Train(new Engd(p2, new EngdOptions { Momentum = 0.5 }), p2, t2, steps);
        var (p3, t3) = Tiny();
        double lm = Train(new LevenbergMarquardt(p3), p3, t3, steps);
        var (p4, t4) = Tiny();
        double adam = Train(new Adam<double>(1e-2), p4, t4, steps);

        // Measured: ENGD 5.6e-16 (‖R‖ ≈ 2e-8, where the loss valley's conditioning stalls it), SPRING 4e-13, LM 3e-12; Adam ≈ 0.2.
        Assert.True(engd < 1e-14, $"ENGD loss {engd:e3}");
        Assert.True(spring < 1e-11, $"SPRING loss {spring:e3}");
        Assert.True(lm < 1e-10, $"LM loss {lm:e3}");
        Assert.True(adam > 1e-3, $"Adam loss {adam:e3}");
    }

    /// <summary>A run interrupted after 3 steps and resumed from its checkpoint ends where an uninterrupted run does.</summary>
    [Theory]
    [InlineData("spring")]
    [InlineData("lm")]
    public void OptimizerStateSurvivesCheckpoint(string kind)
    {
        IOptimizer<double> Make(PinnProblem<double> p) => kind == "lm" ? new LevenbergMarquardt(p) : new Engd(p, new EngdOptions { Momentum = 0.7 });
        string path = Path.Combine(Path.GetTempPath(), $"jetsharp-pinn-{kind}-{Guid.NewGuid():N}.safetensors");
        try
        {
            var (pa, ta) = Tiny();
            var full = new Trainer<double>(pa, ta, [new TrainingPhase<double>(Make(pa), 6, ResampleEvery: 0)]);
            full.Run();

            var (pb, tb) = Tiny();
            using var stop = new CancellationTokenSource();
            var interrupted = new Trainer<double>(pb, tb, [new TrainingPhase<double>(Make(pb), 6, ResampleEvery: 0)], new TrainerOptions<double>
            {
                CheckpointPath = path,
                Cancellation = stop.Token,
                ProgressEvery = 1,
                Progress = p => { if (p.Step == 3) stop.Cancel(); },
            });
            Assert.Equal(TrainingStop.Cancelled, interrupted.Run().Stop);
            var (pc, tc) = Tiny();
            var resumed = new Trainer<double>(pc, tc, [new TrainingPhase<double>(Make(pc), 6, ResampleEvery: 0)]);
            resumed.Restore(path);
            Assert.Equal(3, resumed.Step);
            resumed.Run();
            for (int k = 0; k < full.Parameters.Length; k++) Assert.Equal(full.Parameters[k], resumed.Parameters[k], 12);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void OptimizerRefusesAnotherProblemAndBadOptions()
    {
        var (p1, t1) = Tiny();
        var (p2, _) = Tiny();
        var engd = new Engd(p1);
        Assert.Throws<ArgumentException>(() => engd.Step(t1, p2.Evaluate));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Engd(p1, new EngdOptions { Momentum = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Engd(p1, new EngdOptions { Damping = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LevenbergMarquardt(p1, new LevenbergMarquardtOptions { MaxTries = 0 }));
        Assert.Throws<ShapeException>(() => engd.Step(new double[3], p1.Evaluate));
    }

    /// <summary>
    /// The same problem in float32: its loss and gradient agree with the float64 ones to float32 round-off (against an
    /// independent float64 evaluation), and the float64-only least-squares side is refused with the precision named.
    /// </summary>
    [Fact]
    public void Float32ProblemMatchesFloat64LossAndRefusesTheJacobian()
    {
        var (p64, t64) = Tiny<double>();
        var (p32, t32) = Tiny<float>();
        Assert.Equal(DType.Float32, p32.DType);
        var g64 = new double[t64.Length];
        var g32 = new float[t32.Length];
        double l64 = p64.Evaluate(t64, g64);
        double l32 = p32.Evaluate(t32, g32);
        Assert.True(Math.Abs(l32 - l64) <= 1e-4 * l64, $"loss float32 {l32:R}, float64 {l64:R}");
        double gNorm = Math.Sqrt(g64.Sum(v => v * v));
        for (int k = 0; k < g64.Length; k++) Assert.True(Math.Abs(g32[k] - g64[k]) <= 1e-4 * gNorm, $"gradient {k}: {g32[k]} vs {g64[k]}");

        var r = new double[p32.ResidualCount];
        var theta = Array.ConvertAll(t32, v => (double)v);
        foreach (var call in new Action[]
        {
            () => p32.Residuals(theta, r),
            () => p32.Linearize(theta, r, out _),
            () => p32.JacobianTimes(theta, new double[p32.ParameterCount], r),
            () => p32.JacobianTransposeTimes(theta, r, new double[p32.ParameterCount]),
        })
            Assert.Contains("float32", Assert.Throws<NotSupportedException>(call).Message);
        Assert.Contains("float32", Assert.Throws<NotSupportedException>(() => new Engd(p32)).Message);
        Assert.Contains("float32", Assert.Throws<NotSupportedException>(() => new LevenbergMarquardt(p32)).Message);
    }

    /// <summary>Restoring a state checks the kind, the length and every value before anything changes.</summary>
    [Fact]
    public void LoadStateRefusesStatesThatDoNotFit()
    {
        var (p, t) = Tiny();
        var spring = new Engd(p, new EngdOptions { Momentum = 0.5 });
        spring.Step(t, p.Evaluate);
        spring.Step(t, p.Evaluate);
        var saved = spring.SaveState();
        Assert.Equal(DType.Float64, saved.Arrays["momentum"].DType);
        Assert.Throws<ArgumentException>(() => new Engd(p).LoadState(saved, p.ParameterCount));            // "spring" into "engd"
        Assert.Throws<ArgumentException>(() => new Engd(p, new EngdOptions { Momentum = 0.5 }).LoadState(saved, p.ParameterCount + 1));
        var bad = saved with { Scalars = new Dictionary<string, double> { ["dampingFactor"] = 0.5 } };
        Assert.Throws<ArgumentException>(() => new Engd(p, new EngdOptions { Momentum = 0.5 }).LoadState(bad, p.ParameterCount));
        var float32 = saved with { Arrays = new Dictionary<string, NDArray> { ["momentum"] = new NDArray<float>(new Shape(p.ParameterCount)) } };
        Assert.Contains("float32", Assert.Throws<ArgumentException>(() => new Engd(p, new EngdOptions { Momentum = 0.5 }).LoadState(float32, p.ParameterCount)).Message);

        var restored = new Engd(p, new EngdOptions { Momentum = 0.5 });
        restored.LoadState(saved, p.ParameterCount);
        Assert.Equal(saved.Steps, restored.Steps);

        var lm = new LevenbergMarquardt(p);
        var fresh = lm.SaveState();                                   // before any step: no λ yet
        Assert.False(fresh.Scalars.ContainsKey("lambda"));
        lm.LoadState(fresh, p.ParameterCount);
        Assert.Throws<ArgumentException>(() => lm.LoadState(fresh with { Scalars = new Dictionary<string, double> { ["lambda"] = -1 } }, p.ParameterCount));
        Assert.Throws<ArgumentException>(() => lm.LoadState(fresh with { Scalars = new Dictionary<string, double> { ["converged"] = 0.5 } }, p.ParameterCount));
        Assert.Throws<ArgumentException>(() => lm.LoadState(saved, p.ParameterCount));
    }
}
