using JetSharp.Examples;
using JetSharp.Nn;

namespace JetSharp.Tests.Nn;

/// <summary>
/// Objectives that hand out their gradient in segments (<see cref="ISegmentedObjective{T}"/>): Adam reading them in place
/// against Adam on the same objective's flat gradient (bitwise), the checks on the segments, the trainer's use of them,
/// and the stde problem's segments against its own flat gradient.
/// </summary>
public class SegmentedObjectiveTests
{
    /// <summary>g = w ⊙ (θ − c) in segments of the given lengths; counts the calls of each flavour and keeps a copy of what it lent.</summary>
    private sealed class Quadratic<T>(int[] lengths, int seed) : ISegmentedObjective<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly T[] _center = Random<T>(lengths.Sum(), seed, 3), _weights = Random<T>(lengths.Sum(), seed + 1, 1e3);
        public T[][] Lent = [];
        public T[][] LentCopy = [];
        public int Flat, Segmented;
        public int Count => _center.Length;
        public Func<T[][], T[][]> Tamper { get; init; } = s => s;

        public string Architecture => "quadratic";
        public IReadOnlyList<Shape> ParameterShapes => [.. lengths.Select(n => new Shape(n))];
        public void Resample(long step, T[] theta) { }

        private T Fill(T[] theta, Span<T> g)
        {
            T loss = T.Zero;
            for (int i = 0; i < theta.Length; i++)
            {
                T d = theta[i] - _center[i];
                g[i] = _weights[i] * d;
                loss += d * d;
            }
            return loss;
        }

        public T Evaluate(T[] theta, T[] gradient) { Flat++; return Fill(theta, gradient); }

        public T Evaluate(T[] theta, out IReadOnlyList<T[]> gradient)
        {
            Segmented++;
            var flat = new T[theta.Length];
            T loss = Fill(theta, flat);
            int at = 0;
            Lent = Tamper([.. lengths.Select(n => { var s = flat[at..(at + n)]; at += n; return s; })]);
            LentCopy = [.. Lent.Select(s => s is null ? null! : (T[])s.Clone())];
            gradient = Lent;
            return loss;
        }
    }

    private static T[] Random<T>(int n, int seed, double scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        var a = new T[n];
        for (int i = 0; i < n; i++) a[i] = T.CreateTruncating(scale * (2 * rng.NextDouble() - 1));
        return a;
    }

    private static void SegmentsGiveTheFlatStepsBitwise<T>(int[] lengths) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var objective = new Quadratic<T>(lengths, 4);
        var rate = LearningRate.Exponential(1e-2, 0.1, 5);
        Adam<T> segmented = new(rate), flat = new(rate);
        var theta = Random<T>(objective.Count, 9, 1);
        var reference = (T[])theta.Clone();
        for (int step = 0; step < 5; step++)
        {
            T a = segmented.Step(theta, objective);
            T b = flat.Step(reference, objective.Evaluate);
            Assert.Equal(b, a);
            Assert.Equal(reference, theta);   // bitwise
            for (int s = 0; s < lengths.Length; s++) Assert.Equal(objective.LentCopy[s], objective.Lent[s]);   // read, not cleared or changed
        }
        Assert.Equal(5, objective.Segmented);
        Assert.Equal(5, objective.Flat);
        foreach (var key in new[] { "m", "v" })
            Assert.Equal(((NDArray<T>)flat.SaveState().Arrays[key]).Data, ((NDArray<T>)segmented.SaveState().Arrays[key]).Data);
        Assert.True(segmented.ParametersFiniteAfterStep);
    }

    [Theory]
    [InlineData(new[] { 7 })]
    [InlineData(new[] { 1000, 0, 17, 128 })]
    [InlineData(new[] { VectorMathLengths.Parallel, 33, VectorMath.ParallelThreshold + 5 })]
    public void AdamOnGradientSegmentsTakesTheFlatStepsBitwiseFloat32(int[] lengths) => SegmentsGiveTheFlatStepsBitwise<float>(lengths);

    [Theory]
    [InlineData(new[] { 3, 1001 })]
    [InlineData(new[] { VectorMathLengths.Parallel, 9 })]
    public void AdamOnGradientSegmentsTakesTheFlatStepsBitwiseFloat64(int[] lengths) => SegmentsGiveTheFlatStepsBitwise<double>(lengths);

    [Fact]
    public void SegmentsThatDoNotCoverThetaAreRefusedBeforeAnyUpdate()
    {
        var shortBy = new Quadratic<double>([10, 20], 1) { Tamper = s => [s[0], s[1][..19]] };
        var theta = new double[30];
        var adam = new Adam<double>(0.1);
        var e = Assert.Throws<ShapeException>(() => adam.Step(theta, shortBy));
        Assert.Contains("29 values", e.Message);
        Assert.Contains("θ has 30", e.Message);
        Assert.Equal(0, adam.Steps);
        Assert.All(theta, x => Assert.Equal(0.0, x));
        var withNull = new Quadratic<double>([10, 20], 1) { Tamper = s => [s[0], null!] };
        Assert.Contains("segment 1", Assert.Throws<InvalidOperationException>(() => adam.Step(theta, withNull)).Message);
        Assert.Equal(0, adam.Steps);
    }

    [Fact]
    public void TheTrainerLetsAdamReadSegmentsAndLbfgsTheFlatGradient()
    {
        var objective = new Quadratic<double>([40, 24], 2);
        var phases = new[] { new TrainingPhase<double>(new Adam<double>(1e-2), 3), new TrainingPhase<double>(new Lbfgs<double>(), 2, 0) };
        var trainer = new Trainer<double>(objective, Random<double>(64, 3, 1), phases);
        var result = trainer.Run();
        Assert.Equal(TrainingStop.Completed, result.Stop);
        Assert.Equal(3, objective.Segmented);
        Assert.True(objective.Flat >= 2, $"L-BFGS evaluated the flat gradient {objective.Flat} times");
    }

    [Fact]
    public void TheStdeProblemsSegmentsAreItsFlatGradient()
    {
        // Two evaluations each way at the same θ and batch: the lent arrays concatenate to the flat gradient, bitwise.
        var problem = StdeAllenCahn.Create<float>(fast: true, dimension: 40, seed: 3);
        var theta = problem.InitialParameters();
        problem.Resample(0, theta);
        var flat = new float[theta.Length];
        float loss = problem.Evaluate(theta, flat);
        for (int round = 0; round < 2; round++)
        {
            float segmentedLoss = problem.Evaluate(theta, out var segments);
            Assert.Equal(loss, segmentedLoss);
            Assert.Equal(problem.ParameterShapes.Select(s => s.Size), segments.Select(s => s.Length));
            Assert.Equal(flat, segments.SelectMany(s => s).ToArray());
        }
        var again = new float[theta.Length];
        Assert.Equal(loss, problem.Evaluate(theta, again));
        Assert.Equal(flat, again);
    }
}
