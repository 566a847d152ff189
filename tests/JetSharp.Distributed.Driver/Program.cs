using System.Globalization;
using JetSharp.Distributed;
using JetSharp.Ir;
using JetSharp.Nn;
using JetSharp.Nn.Pinn;
using JetSharp.Operators;
using JetSharp.Primitives;
using JetSharp.Tensors;

// Usage: JetSharp.Distributed.Driver <output file> <steps>. Every rank trains; rank 0 writes the number of ranks, θ and the losses.
if (args.Length != 2) { Console.Error.WriteLine("usage: JetSharp.Distributed.Driver <output file> <steps>"); return 2; }
using var mpi = MpiCommunicator.Initialize();
var result = DriverProblem.Train(new DataParallelObjective(DriverProblem.Objective(mpi.Rank, mpi.Size, combined: false), mpi), int.Parse(args[1], CultureInfo.InvariantCulture));
if (mpi.Rank == 0) File.WriteAllLines(args[0], [$"ranks {mpi.Size}", .. result.Select(v => v.ToString("R", CultureInfo.InvariantCulture))]);
mpi.Barrier();
return 0;

/// <summary>
/// −Δu = 2π² sin(πx) sin(πy) on [0, 1]², u an MLP 2→8→8→1, PointsPerRank interior points per rank per step.
/// Rank r draws its points from the step's seed and r; the combined objective (one process) draws the points of
/// all ranks, in rank order, as one batch.
/// </summary>
public static class DriverProblem
{
    public const int PointsPerRank = 16;
    private static readonly Mlp Net = Mlp.Create(2, [8, 8], 1, Activation.Tanh, seed: 5);

    public static NDArray<double> Points(long drawSeed, int rank)
    {
        long seed = unchecked((long)SeededRandom.Word(drawSeed, rank));
        var p = new NDArray<double>(new Shape(PointsPerRank, 2));
        for (int i = 0; i < p.Data.Length; i++) p.Data[i] = SeededRandom.Uniform(seed, i);
        return p;
    }

    public static IObjective<double> Objective(int rank, int ranks, bool combined)
    {
        var term = new PinnTerm
        {
            Name = "interior",
            Points = combined ? PointsPerRank * ranks : PointsPerRank,
            Sample = drawSeed =>
            {
                if (!combined) return Points(drawSeed, rank);
                var all = new NDArray<double>(new Shape(PointsPerRank * ranks, 2));
                for (int r = 0; r < ranks; r++) Points(drawSeed, r).Data.CopyTo(all.Data, r * PointsPerRank * 2);
                return all;
            },
            Residual = c => c.Apply(DifferentialOperator.Laplacian()) +
                Fn.Sin(c.Coordinate(0) * Math.PI) * Fn.Sin(c.Coordinate(1) * Math.PI) * (2 * Math.PI * Math.PI),
        };
        return new PinnProblem<double>(Net.Architecture, Net.ParameterShapes, (p, x) => Net.Apply(p, x), 2, [term], seed: 3);
    }

    /// <summary>θ after <paramref name="steps"/> Adam steps, followed by the loss of each step.</summary>
    public static double[] Train(IObjective<double> objective, int steps)
    {
        var trainer = new Trainer<double>(objective, ParameterVector.Flatten<double>(Net.Parameters), [new TrainingPhase<double>(new Adam<double>(1e-2), steps)]);
        trainer.Run();
        return [.. trainer.Parameters, .. trainer.History.Select(h => h.Loss)];
    }
}
