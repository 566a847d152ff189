using JetSharp.Nn;

namespace JetSharp.Tests.Nn;

public class OptimizerTests
{
    // f(θ) = ½ Σ a_i (θ_i − c_i)², an ill-conditioned quadratic (a from 1 to 100).
    private static readonly double[] A = [1, 3, 10, 30, 100];
    private static readonly double[] C = [1, -2, 0.5, 3, -1];

    private static double Quadratic(double[] theta, double[] g)
    {
        double f = 0;
        for (int i = 0; i < theta.Length; i++)
        {
            f += 0.5 * A[i] * (theta[i] - C[i]) * (theta[i] - C[i]);
            g[i] = A[i] * (theta[i] - C[i]);
        }
        return f;
    }

    private static double Rosenbrock(double[] x, double[] g)
    {
        double f = 0;
        Array.Clear(g);
        for (int i = 0; i + 1 < x.Length; i++)
        {
            double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
            f += 100 * a * a + b * b;
            g[i] += -400 * x[i] * a - 2 * b;
            g[i + 1] += 200 * a;
        }
        return f;
    }

    [Fact]
    public void AdamFirstStepMovesEachCoordinateByTheLearningRate()
    {
        // With bias correction, m̂ = g and v̂ = g² after one step, so θ moves by η·g/(|g| + ε) ≈ η·sign(g).
        var adam = new Adam<double>(0.1);
        var theta = new double[5];
        double loss = adam.Step(theta, Quadratic);
        Assert.Equal(Quadratic(new double[5], new double[5]), loss);
        for (int i = 0; i < 5; i++) Assert.Equal(-0.1 * Math.Sign(-A[i] * C[i]), theta[i], 1e-8);
        Assert.Equal(1, adam.Steps);
    }

    [Fact]
    public void AdamReachesTheMinimumOfAnIllConditionedQuadratic()
    {
        var adam = new Adam<double>(LearningRate.Exponential(0.1, 1e-3, 3000));
        var theta = new double[5];
        for (int s = 0; s < 3000; s++) adam.Step(theta, Quadratic);
        for (int i = 0; i < 5; i++) Assert.Equal(C[i], theta[i], 1e-6);
    }

    [Fact]
    public void LbfgsFindsTheRosenbrockMinimum()
    {
        foreach (int n in new[] { 2, 10 })
        {
            var opt = new Lbfgs<double>(memory: 10);
            var x = Enumerable.Range(0, n).Select(i => i % 2 == 0 ? -1.2 : 1.0).ToArray();
            int steps = 0;
            while (!opt.Converged && steps < 500) { opt.Step(x, Rosenbrock); steps++; }
            for (int i = 0; i < n; i++) Assert.Equal(1, x[i], 1e-5);
            Assert.True(Rosenbrock(x, new double[n]) < 1e-10, $"f = {Rosenbrock(x, new double[n])} after {steps} iterations (D = {n})");
            Assert.True(steps < 200, $"{steps} iterations for D = {n}");
        }
    }

    [Fact]
    public void LbfgsSolvesAQuadraticInAFewTimesDimensionIterations()
    {
        var opt = new Lbfgs<double>();
        var theta = new double[5];
        int steps = 0;
        while (!opt.Converged && steps < 100) { opt.Step(theta, Quadratic); steps++; }
        for (int i = 0; i < 5; i++) Assert.Equal(C[i], theta[i], 1e-7);
        Assert.True(steps <= 25, $"{steps} iterations");
        Assert.NotNull(opt.StopReason);
    }

    [Fact]
    public void LbfgsReturnsTheLossAtTheStartingPointAndNeverIncreasesIt()
    {
        var opt = new Lbfgs<double>();
        var x = new[] { -1.2, 1.0 };
        double previous = double.MaxValue;
        for (int s = 0; s < 30 && !opt.Converged; s++)
        {
            double before = Rosenbrock((double[])x.Clone(), new double[2]);
            double loss = opt.Step(x, Rosenbrock);
            Assert.Equal(before, loss);
            Assert.True(loss <= previous);
            previous = loss;
        }
    }

    [Fact]
    public void AdamStateRoundTripContinuesExactly()
    {
        var straight = new Adam<double>(LearningRate.Cosine(0.05, 40));
        var theta1 = new double[5];
        for (int s = 0; s < 40; s++) straight.Step(theta1, Quadratic);

        var first = new Adam<double>(LearningRate.Cosine(0.05, 40));
        var theta2 = new double[5];
        for (int s = 0; s < 17; s++) first.Step(theta2, Quadratic);
        var second = new Adam<double>(LearningRate.Cosine(0.05, 40));
        second.LoadState(first.SaveState(), theta2.Length);
        Assert.Equal(17, second.Steps);
        for (int s = 17; s < 40; s++) second.Step(theta2, Quadratic);
        Assert.Equal(theta1, theta2);
    }

    [Fact]
    public void LbfgsStateRoundTripContinuesExactly()
    {
        var straight = new Lbfgs<double>(memory: 5);
        var x1 = new[] { -1.2, 1.0, -1.2, 1.0 };
        for (int s = 0; s < 20; s++) straight.Step(x1, Rosenbrock);

        var first = new Lbfgs<double>(memory: 5);
        var x2 = new[] { -1.2, 1.0, -1.2, 1.0 };
        for (int s = 0; s < 8; s++) first.Step(x2, Rosenbrock);
        var second = new Lbfgs<double>(memory: 5);
        second.LoadState(first.SaveState(), x2.Length);
        for (int s = 8; s < 20; s++) second.Step(x2, Rosenbrock);
        Assert.Equal(x1, x2);
    }

    [Fact]
    public void LoadingAnotherOptimizersStateNamesBoth()
    {
        var e = Assert.Throws<ArgumentException>(() => new Lbfgs<double>().LoadState(new Adam<double>(0.1).SaveState(), 5));
        Assert.Contains("adam", e.Message);
        Assert.Contains("lbfgs", e.Message);
    }

    [Fact]
    public void ParameterCountChangesAreRejected()
    {
        var adam = new Adam<double>(0.1);
        adam.Step(new double[5], Quadratic);
        var e = Assert.Throws<ShapeException>(() => adam.Step(new double[3], (t, g) => 0));
        Assert.Contains("Adam.Step", e.Message);
        Assert.Contains("3", e.Message);
    }

    [Fact]
    public void BadHyperparametersAreRejectedWithTheirNames()
    {
        Assert.Contains("β₁", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam<double>(LearningRate.Constant(0.1), beta1: 1)).Message);
        Assert.Contains("memory", Assert.Throws<ArgumentOutOfRangeException>(() => new Lbfgs<double>(memory: 0)).Message);
        Assert.Contains("Wolfe", Assert.Throws<ArgumentOutOfRangeException>(() => new Lbfgs<double>(c1: 0.5, c2: 0.1)).Message);
        Assert.Contains("rate", Assert.Throws<ArgumentOutOfRangeException>(() => LearningRate.Constant(-1)).Message);
        Assert.Contains("decay", Assert.Throws<ArgumentOutOfRangeException>(() => LearningRate.Exponential(0.1, 2, 10)).Message);
    }

    [Fact]
    public void LearningRateSchedules()
    {
        Assert.Equal(0.3, LearningRate.Constant(0.3).At(1000));
        var exp = LearningRate.Exponential(1, 0.1, 100);
        Assert.Equal(1, exp.At(0));
        Assert.Equal(0.1, exp.At(100), 1e-15);
        Assert.Equal(Math.Sqrt(0.1), exp.At(50), 1e-15);
        var step = LearningRate.StepDecay(1, 0.5, 10);
        Assert.Equal(1, step.At(9));
        Assert.Equal(0.5, step.At(10));
        Assert.Equal(0.25, step.At(25));
        var cos = LearningRate.Cosine(1, 100, 0.1);
        Assert.Equal(1, cos.At(0), 1e-15);
        Assert.Equal(0.55, cos.At(50), 1e-15);
        Assert.Equal(0.1, cos.At(100), 1e-15);
        Assert.Equal(0.1, cos.At(500), 1e-15);
        var warm = LearningRate.Warmup(4, LearningRate.Constant(2));
        Assert.Equal([0.5, 1, 1.5, 2, 2, 2], Enumerable.Range(0, 6).Select(i => warm.At(i)).ToArray());
    }

    private static float QuadraticF(float[] theta, float[] g)
    {
        float f = 0;
        for (int i = 0; i < theta.Length; i++)
        {
            f += 0.5f * (float)A[i] * (theta[i] - (float)C[i]) * (theta[i] - (float)C[i]);
            g[i] = (float)A[i] * (theta[i] - (float)C[i]);
        }
        return f;
    }

    [Fact]
    public void Float32OptimizersReachTheMinimumToFloat32Accuracy()
    {
        var adam = new Adam<float>(LearningRate.Exponential(0.1, 1e-3, 3000));
        var theta = new float[5];
        for (int s = 0; s < 3000; s++) adam.Step(theta, QuadraticF);
        for (int i = 0; i < 5; i++) Assert.Equal(C[i], theta[i], 1e-4);

        var lbfgs = new Lbfgs<float>();
        var x = new float[5];
        for (int s = 0; s < 50 && !lbfgs.Converged; s++) lbfgs.Step(x, QuadraticF);
        for (int i = 0; i < 5; i++) Assert.Equal(C[i], x[i], 1e-4);
    }

    [Fact]
    public void RestoringAStateOfAnotherLengthPrecisionOrWithNonFiniteValuesIsRefusedBeforeAnythingChanges()
    {
        var adam = new Adam<double>(0.1);
        adam.Step(new double[5], Quadratic);
        var state = adam.SaveState();
        var target = new Adam<double>(0.1);
        Assert.Contains("the model has 6 parameters", Assert.Throws<ArgumentException>(() => target.LoadState(state, 6)).Message);
        Assert.Contains("float64", Assert.Throws<ArgumentException>(() => new Adam<float>(0.1).LoadState(state, 5)).Message);
        var m = (NDArray<double>)state.Arrays["m"];
        var broken = state with { Arrays = new Dictionary<string, NDArray> { ["m"] = m, ["v"] = new NDArray<double>(new Shape(5), [1, 1, double.NaN, 1, 1]) } };
        Assert.Contains("'v' is NaN at index 2", Assert.Throws<ArgumentException>(() => target.LoadState(broken, 5)).Message);
        Assert.Contains("step count is -3", Assert.Throws<ArgumentException>(() => target.LoadState(state with { Steps = -3 }, 5)).Message);
        Assert.Equal(0, target.Steps);   // nothing was restored
        var lbfgs = new Lbfgs<double>(memory: 3);
        var extra = new OptimizerState("lbfgs", 2, new Dictionary<string, NDArray> { ["s0"] = m, ["y0"] = m, ["s1"] = m }, new Dictionary<string, double> { ["pairs"] = 1 });
        Assert.Contains("s1", Assert.Throws<ArgumentException>(() => lbfgs.LoadState(extra, 5)).Message);
    }
}
