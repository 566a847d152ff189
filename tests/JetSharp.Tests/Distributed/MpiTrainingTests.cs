using System.Diagnostics;
using System.Globalization;
using JetSharp.Distributed;
using JetSharp.Nn;
using Xunit.Abstractions;

namespace JetSharp.Tests;

/// <summary>
/// Issue 22, part 3: data-parallel PINN training over MPI. Two ranks, each sampling its own points, must reach the
/// parameters that one process reaches on the union of their points (to 1e-12). Runs when Open MPI's mpirun is on
/// the PATH and libmpi loads; otherwise it says so and passes without checking anything.
/// </summary>
public class MpiTrainingTests(ITestOutputHelper output)
{
    private const int Steps = 5;

    /// <summary>The program's path in the first PATH folder that has it, with a linked folder resolved (Open MPI infers its
    /// installation prefix from mpirun's path, and /bin → /usr/bin would give the prefix "/").</summary>
    private static string? OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(new DirectoryInfo(dir).ResolveLinkTarget(true)?.FullName ?? dir, program)).FirstOrDefault(File.Exists);

    [Fact]
    public async Task TwoRanksEqualOneProcessOnTheCombinedBatch()
    {
        var mpirun = OnPath("mpirun");
        if (mpirun is null || !MpiCommunicator.IsAvailable)
        {
            output.WriteLine($"skipped: {(mpirun is null ? "mpirun is not on the PATH" : "libmpi (Open MPI) cannot be loaded")}; install openmpi-bin libopenmpi-dev to run this test.");
            return;
        }
        var driver = typeof(DriverProblem).Assembly.Location;
        var file = Path.Combine(Path.GetTempPath(), $"jetsharp-mpi-{Environment.ProcessId}-{Guid.NewGuid():N}.txt");
        var start = new ProcessStartInfo(mpirun)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(driver)!,
        };
        foreach (var a in new[] { "--oversubscribe", "-np", "2", OnPath("dotnet") ?? "dotnet", driver, file, Steps.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(a);
        // Open MPI starts its helpers (orted) from the PATH: put mpirun's own folder first.
        start.Environment["PATH"] = Path.GetDirectoryName(mpirun) + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";            // CI containers run as root; harmless otherwise
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"mpirun exited with {process.ExitCode}: {await stdout}\n{await stderr}");
        var lines = File.ReadAllLines(file);
        File.Delete(file);
        Assert.Equal("ranks 2", lines[0]);
        var distributed = lines[1..].Select(l => double.Parse(l, CultureInfo.InvariantCulture)).ToArray();

        var single = DriverProblem.Train(DriverProblem.Objective(0, 2, combined: true), Steps);
        Assert.Equal(single.Length, distributed.Length);
        double worst = single.Zip(distributed).Max(p => Math.Abs(p.First - p.Second) / Math.Max(1, Math.Abs(p.First)));
        output.WriteLine($"2 ranks × {DriverProblem.PointsPerRank} points vs 1 process × {2 * DriverProblem.PointsPerRank}: {Steps} Adam steps, " +
            $"largest difference of θ and the losses {worst:e2}; final loss {single[^1]:g6}");
        Assert.True(worst <= 1e-12, $"largest relative difference {worst:e3}");
        // The rank's own batch alone is a different objective: the comparison can fail.
        var rankZero = DriverProblem.Train(DriverProblem.Objective(0, 2, combined: false), Steps);
        Assert.True(rankZero.Zip(distributed).Max(p => Math.Abs(p.First - p.Second)) > 1e-6);
    }

    [Fact]
    public void OneLocalRankIsTheObjectiveItself()
    {
        var alone = DriverProblem.Objective(0, 1, combined: false);
        var wrapped = new DataParallelObjective(DriverProblem.Objective(0, 1, combined: false), new LocalCommunicator());
        var theta = Enumerable.Range(0, alone.ParameterShapes.Sum(s => s.Size)).Select(i => Math.Sin(i)).ToArray();
        alone.Resample(3, theta);
        wrapped.Resample(3, theta);
        double[] g1 = new double[theta.Length], g2 = new double[theta.Length];
        Assert.Equal(alone.Evaluate(theta, g1), wrapped.Evaluate(theta, g2));
        Assert.Equal(g1, g2);
    }
}
