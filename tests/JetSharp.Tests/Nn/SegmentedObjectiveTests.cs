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

    /// <summary>The quadratic holding θ in its own segments (<see cref="IResidentObjective{T}"/>); counts resident evaluations and checks that resampling never reads θ.</summary>
    private sealed class ResidentQuadratic(int[] lengths, int seed) : IResidentObjective<double>
    {
        private readonly Quadratic<double> _inner = new(lengths, seed);
        private readonly double[][] _theta = [.. lengths.Select(n => new double[n])];
        public int Resident, Resamples;
        public string Architecture => _inner.Architecture;
        public IReadOnlyList<Shape> ParameterShapes => _inner.ParameterShapes;
        public void Resample(long step, double[] theta) => Resamples++;
        public double Evaluate(double[] theta, double[] gradient) => _inner.Evaluate(theta, gradient);
        public double Evaluate(double[] theta, out IReadOnlyList<double[]> gradient) => _inner.Evaluate(theta, out gradient);
        public IReadOnlyList<double[]> ParameterSegments => _theta;
        public double Evaluate(out IReadOnlyList<double[]> gradient) { Resident++; return _inner.Evaluate([.. _theta.SelectMany(t => t)], out gradient); }
    }

    /// <summary>The same objective seen only through <see cref="ISegmentedObjective{T}"/> (what the trainer did before resident θ).</summary>
    private sealed class Hidden(ResidentQuadratic inner) : ISegmentedObjective<double>
    {
        public string Architecture => inner.Architecture;
        public IReadOnlyList<Shape> ParameterShapes => inner.ParameterShapes;
        public void Resample(long step, double[] theta) { }
        public double Evaluate(double[] theta, double[] gradient) => inner.Evaluate(theta, gradient);
        public double Evaluate(double[] theta, out IReadOnlyList<double[]> gradient) => inner.Evaluate(theta, out gradient);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TheTrainerKeepsThetaResidentForAdamAndTakesTheSameStepsBitwise(bool rollBack)
    {
        // Adam (resident: no copy of θ in) then L-BFGS (flat) then Adam again, with error measurements between steps: θ after
        // each run, the errors (measured on the flat θ) and the losses are bitwise those of the trainer on the same objective
        // without resident θ, and the trainer's Parameters hold θ after the run.
        int[] lengths = [VectorMathLengths.Parallel, 7, 40];
        var resident = new ResidentQuadratic(lengths, 5);
        var reference = new ResidentQuadratic(lengths, 5);
        TrainingResult Train(IObjective<double> objective, out double[] theta)
        {
            var phases = new[]
            {
                new TrainingPhase<double>(new Adam<double>(LearningRate.Exponential(1e-2, 0.1, 6)), 6),
                new TrainingPhase<double>(new Lbfgs<double>(), 2, 0),
                new TrainingPhase<double>(new Adam<double>(1e-3), 3),
            };
            var trainer = new Trainer<double>(objective, Random<double>(lengths.Sum(), 8, 1), phases,
                new TrainerOptions<double> { Error = t => t.Sum(v => v * v), ErrorEvery = 2, RollBack = rollBack });
            var result = trainer.Run();
            theta = trainer.Parameters;
            return result;
        }
        var a = Train(resident, out var thetaA);
        var b = Train(new Hidden(reference), out var thetaB);
        Assert.Equal(TrainingStop.Completed, a.Stop);
        Assert.Equal(thetaB, thetaA);
        Assert.Equal(b.History.Select(h => (h.Loss, h.Error)), a.History.Select(h => (h.Loss, h.Error)));
        Assert.Equal(9, resident.Resident);     // both Adam phases stepped on the segments
        Assert.Equal(0, reference.Resident);
        Assert.True(resident.Resamples >= 3);
    }

    [Fact]
    public void AdamRefusesParameterSegmentsThatDoNotMatchTheGradients()
    {
        var objective = new ResidentQuadratic([10, 20], 1);
        var adam = new Adam<double>(0.1);
        var wrong = new Quadratic<double>([20, 10], 1);   // same total, other seams
        var mismatched = new Mismatched(objective, wrong);
        Assert.Contains("segment 0", Assert.Throws<ShapeException>(() => adam.StepResident(mismatched)).Message);
        Assert.Equal(0, adam.Steps);
        Assert.False(((IOptimizer<double>)new Lbfgs<double>()).CanStepResident);
        Assert.Throws<NotSupportedException>(() => ((IOptimizer<double>)new Lbfgs<double>()).StepResident(objective));
    }

    private sealed class Mismatched(ResidentQuadratic parameters, Quadratic<double> gradients) : IResidentObjective<double>
    {
        public string Architecture => "mismatched";
        public IReadOnlyList<Shape> ParameterShapes => parameters.ParameterShapes;
        public void Resample(long step, double[] theta) { }
        public double Evaluate(double[] theta, double[] gradient) => throw new InvalidOperationException();
        public double Evaluate(double[] theta, out IReadOnlyList<double[]> gradient) => throw new InvalidOperationException();
        public IReadOnlyList<double[]> ParameterSegments => parameters.ParameterSegments;
        public double Evaluate(out IReadOnlyList<double[]> gradient) => gradients.Evaluate(new double[gradients.Count], out gradient);
    }

    [Fact]
    public void TheStdeProblemEvaluatesAtTheThetaItHolds()
    {
        // θ written into the problem's parameter segments gives the loss and gradient of an evaluation at that flat θ, bitwise.
        var problem = StdeAllenCahn.Create<float>(fast: true, dimension: 40, seed: 3);
        var theta = problem.InitialParameters();
        problem.Resample(0, theta);
        var flat = new float[theta.Length];
        float loss = problem.Evaluate(theta, flat);
        var other = (float[])theta.Clone();
        other[0] += 1;
        problem.Evaluate(other, new float[theta.Length]);   // the segments now hold another θ
        int at = 0;
        foreach (var segment in problem.ParameterSegments) { theta.AsSpan(at, segment.Length).CopyTo(segment); at += segment.Length; }
        Assert.Equal(theta.Length, at);
        Assert.Equal(loss, problem.Evaluate(out var gradient));
        Assert.Equal(flat, gradient.SelectMany(g => g).ToArray());
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
