using JetSharp.Nn;

namespace JetSharp.Tests.Nn;

/// <summary>
/// The vectorised, chunk-parallel Adam update and finiteness scan against plain scalar loops written here (not the
/// library's own scalar tail), bit for bit, on lengths that exercise the vector body, the scalar tail and the
/// parallel split.
/// </summary>
public class VectorisedUpdateTests
{
    /// <summary>Adam as the textbook loop: one element at a time, moments and θ in T, bias corrections in double.</summary>
    private static void ReferenceAdam<T>(T[] theta, T[] m, T[] v, T[] g, double rate, long step, double b1 = 0.9, double b2 = 0.999, double eps = 1e-8)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T c1 = T.CreateTruncating(1 - Math.Pow(b1, step)), c2 = T.CreateTruncating(1 - Math.Pow(b2, step));
        T r = T.CreateTruncating(rate);
        for (int i = 0; i < theta.Length; i++)
        {
            m[i] = T.CreateTruncating(b1) * m[i] + T.CreateTruncating(1 - b1) * g[i];
            v[i] = T.CreateTruncating(b2) * v[i] + T.CreateTruncating(1 - b2) * g[i] * g[i];
            theta[i] -= r * (m[i] / c1) / (T.Sqrt(v[i] / c2) + T.CreateTruncating(eps));
        }
    }

    private static T[] Random<T>(int n, int seed, double scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        var a = new T[n];
        for (int i = 0; i < n; i++) a[i] = T.CreateTruncating(scale * (2 * rng.NextDouble() - 1));
        return a;
    }

    private static void AdamMatchesTheScalarLoop<T>(int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // A gradient that depends on θ (so a wrong θ or moment shows up in later steps) and varies over many scales.
        var center = Random<T>(n, 1, 3);
        var weights = Random<T>(n, 2, 1e3);
        void Gradient(T[] theta, T[] g)
        {
            for (int i = 0; i < n; i++) g[i] = weights[i] * (theta[i] - center[i]);
        }
        var rate = LearningRate.Exponential(1e-2, 0.1, 5);
        var adam = new Adam<T>(rate);
        var theta = Random<T>(n, 3, 1);
        var refTheta = (T[])theta.Clone();
        var m = new T[n]; var v = new T[n]; var g = new T[n];
        for (int step = 1; step <= 5; step++)
        {
            T seenLoss = T.Zero;
            adam.Step(theta, (th, grad) =>
            {
                Assert.All(grad, x => Assert.Equal(T.Zero, x));   // the contract: cleared before the call
                Gradient(th, grad);
                return seenLoss = T.One;
            });
            Gradient(refTheta, g);
            ReferenceAdam(refTheta, m, v, g, rate.At(step - 1), step);
            Assert.Equal(refTheta, theta);   // bitwise
        }
        var state = adam.SaveState();
        Assert.Equal(m, ((NDArray<T>)state.Arrays["m"]).Data);
        Assert.Equal(v, ((NDArray<T>)state.Arrays["v"]).Data);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(1000)]
    [InlineData(VectorMathLengths.Parallel)]
    public void AdamFloat32MatchesTheScalarLoopBitwise(int n) => AdamMatchesTheScalarLoop<float>(n);

    [Theory]
    [InlineData(3)]
    [InlineData(1001)]
    [InlineData(VectorMathLengths.Parallel)]
    public void AdamFloat64MatchesTheScalarLoopBitwise(int n) => AdamMatchesTheScalarLoop<double>(n);

    [Fact]
    public void AnInterruptedStepLeavesNoGradientBehind()
    {
        // The objective throws after writing part of the gradient; the next step must still see a cleared one.
        var adam = new Adam<double>(0.1);
        var theta = new double[33];
        Assert.Throws<InvalidOperationException>(() => adam.Step(theta, (_, g) => { g.AsSpan().Fill(5); throw new InvalidOperationException("boom"); }));
        adam.Step(theta, (_, g) => { Assert.All(g, x => Assert.Equal(0.0, x)); return 0; });
    }

    [Theory]
    [InlineData(7, 6)]
    [InlineData(1000, 517)]
    [InlineData(1000, 999)]
    [InlineData(VectorMathLengths.Parallel, 0)]
    [InlineData(VectorMathLengths.Parallel, VectorMathLengths.Parallel - 3)]
    [InlineData(VectorMathLengths.Parallel, 200_123)]
    public void AdamReportsWhetherTheParametersItWroteAreFinite(int n, int at)
    {
        // Against the scan of θ after the step: finite steps say so; a NaN or infinite gradient, or an infinite parameter,
        // anywhere (vector body, scalar tail, any parallel chunk) makes the step report false.
        void Check<T>(T badGradient, T badTheta) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var adam = new Adam<T>(0.1);
            Assert.Null(adam.ParametersFiniteAfterStep);
            var theta = Random<T>(n, 7, 1);
            adam.Step(theta, (_, g) => { for (int i = 0; i < n; i++) g[i] = T.CreateTruncating(i % 5 - 2); return T.Zero; });
            Assert.True(adam.ParametersFiniteAfterStep);
            Assert.True(VectorMath.AllFinite<T>(theta));
            adam.Step(theta, (_, g) => { g[at] = badGradient; return T.Zero; });
            Assert.False(adam.ParametersFiniteAfterStep);
            Assert.False(VectorMath.AllFinite<T>(theta));
            var fresh = new Adam<T>(0.1);
            var theta2 = Random<T>(n, 8, 1);
            theta2[at] = badTheta;
            fresh.Step(theta2, (_, g) => T.Zero);
            Assert.False(fresh.ParametersFiniteAfterStep);
        }
        Check(float.NaN, float.PositiveInfinity);
        Check(double.PositiveInfinity, double.NegativeInfinity);
    }

    [Theory]
    [InlineData(0, -1)]
    [InlineData(5, 4)]
    [InlineData(64, 0)]
    [InlineData(64, 63)]
    [InlineData(1000, 517)]
    public void AllFiniteFindsEveryKindOfNonFiniteValueAnywhere(int n, int at)
    {
        foreach (var bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
        {
            var a = Random<double>(n, 4, 1e300);
            Assert.True(VectorMath.AllFinite<double>(a));
            var f = Array.ConvertAll(Random<double>(n, 5, 3e38), x => (float)x);
            Assert.True(VectorMath.AllFinite<float>(f));
            if (at < 0) continue;
            a[at] = bad;
            f[at] = (float)bad;
            Assert.False(VectorMath.AllFinite<double>(a));
            Assert.False(VectorMath.AllFinite<float>(f));
        }
    }
}

public class VectorMathForTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    [InlineData(VectorMath.ParallelThreshold - 1)]
    [InlineData(VectorMath.ParallelThreshold)]
    [InlineData(VectorMath.ParallelThreshold + 70_001)]
    public void ForVisitsEveryIndexExactlyOnceInRangesWithinTheVector(int length)
    {
        // The pieces run on the runtime's workers (or the thread pool when those are busy): each index once, no range
        // past the end — also with two passes at once from two threads, where one of them finds the workers taken.
        var first = new int[length];
        var second = new int[length];
        void Pass(int[] counts) => VectorMath.For(length, (start, n) =>
        {
            Assert.True(start >= 0 && n >= 0 && start + n <= length, $"range [{start}, {start + n}) of {length}");
            for (int i = start; i < start + n; i++) Interlocked.Increment(ref counts[i]);
        });
        Pass(first);
        Assert.All(first, c => Assert.Equal(1, c));
        Array.Clear(first);
        System.Threading.Tasks.Parallel.Invoke(() => Pass(first), () => Pass(second));
        Assert.All(first, c => Assert.Equal(1, c));
        Assert.All(second, c => Assert.Equal(1, c));
    }

    [Fact]
    public void AFailingPieceSurfacesItsOwnException()
    {
        var e = Assert.Throws<InvalidOperationException>(() => VectorMath.For(VectorMath.ParallelThreshold * 2, (start, _) =>
        {
            if (start > 0) throw new InvalidOperationException("piece");
        }));
        Assert.Equal("piece", e.Message);
    }
}

internal static class VectorMathLengths
{
    /// <summary>Long enough to be split over threads, and not a multiple of the chunk or the vector width.</summary>
    public const int Parallel = VectorMath.ParallelThreshold + 70_001;
}

public class OptimizerSnapshotTests
{
    [Fact]
    public void AdamsSnapshotForWritingSharesItsMomentsAndEqualsTheSavedState()
    {
        var adam = new Adam<double>(JetSharp.Nn.LearningRate.Constant(0.1));
        var theta = new[] { 1.0, -2.0, 0.5 };
        Objective<double> f = (t, g) => { double l = 0; for (int i = 0; i < t.Length; i++) { l += t[i] * t[i]; g[i] = 2 * t[i]; } return l; };
        adam.Step(theta, f);
        adam.Step(theta, f);
        var saved = adam.SaveState();
        var snapshot = adam.SnapshotForWriting();
        Assert.Equal(saved.Steps, snapshot.Steps);
        foreach (var key in new[] { "m", "v" })
            Assert.Equal(((NDArray<double>)saved.Arrays[key]).Data, ((NDArray<double>)snapshot.Arrays[key]).Data);
        // The snapshot shares the moments (valid until the next step); the saved state is a copy.
        adam.Step(theta, f);
        Assert.NotEqual(((NDArray<double>)saved.Arrays["m"]).Data, ((NDArray<double>)snapshot.Arrays["m"]).Data);
        Assert.Equal(((NDArray<double>)adam.SaveState().Arrays["m"]).Data, ((NDArray<double>)snapshot.Arrays["m"]).Data);
    }
}
