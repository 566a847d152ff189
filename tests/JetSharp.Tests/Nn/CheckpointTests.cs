using JetSharp.Nn;

namespace JetSharp.Tests.Nn;

public class CheckpointTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"jetsharp-ckpt-{Guid.NewGuid():N}");

    public CheckpointTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void EverythingRoundTripsBitForBit()
    {
        var net = Mlp.Create(3, [5, 4], 2, Activation.Tanh, seed: 7);
        var ps = net.Parameters.Cast<NDArray<double>>().ToArray();
        ps[0].Data[0] = 1.0 / 3;          // needs all 17 digits
        ps[1].Data[1] = -4.9e-324;        // subnormal
        var adam = new Adam(0.01);
        adam.Step(new double[3], (t, g) => { g[0] = 1; g[1] = -2; g[2] = 0.1; return 1; });
        var c = new Checkpoint(net.Architecture, ps)
        {
            Step = 123,
            Phase = 1,
            PhaseStep = 23,
            ElapsedSeconds = 4.5,
            Optimizer = adam.SaveState(),
            History = [new(1, 2.5, null, 0.1), new(2, double.NaN, 0.25, 0.2), new(3, double.PositiveInfinity, null, 0.3)],
            Metadata = new Dictionary<string, string> { ["example"] = "poisson2d", ["note"] = "ünïcode → ok" },
        };
        var path = Path.Combine(_dir, "a.json");
        c.Save(path);
        var back = Checkpoint.Load(path, net.Architecture, net.ParameterShapes);
        Assert.Equal(c.Architecture, back.Architecture);
        for (int i = 0; i < ps.Length; i++)
        {
            Assert.Equal(ps[i].Shape, back.Parameters[i].Shape);
            Assert.Equal(ps[i].Data.Select(BitConverter.DoubleToInt64Bits), back.Parameters[i].Data.Select(BitConverter.DoubleToInt64Bits));
        }
        Assert.Equal((123L, 1, 23L, 4.5), (back.Step, back.Phase, back.PhaseStep, back.ElapsedSeconds));
        Assert.Equal("adam", back.Optimizer!.Name);
        Assert.Equal(1, back.Optimizer.Steps);
        Assert.Equal(c.Optimizer.Arrays["m"], back.Optimizer.Arrays["m"]);
        Assert.Equal(c.Optimizer.Arrays["v"], back.Optimizer.Arrays["v"]);
        Assert.Equal(c.History, back.History);
        Assert.Equal(c.Metadata, back.Metadata);
    }

    [Fact]
    public void LoadingIntoAnotherArchitectureNamesBoth()
    {
        var small = Mlp.Create(2, [8], 1, Activation.Tanh, seed: 0);
        var wide = Mlp.Create(2, [16], 1, Activation.Tanh, seed: 0);
        var path = Path.Combine(_dir, "small.json");
        Checkpoint.Save(small, path);
        var e = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.LoadInto(wide, path));
        Assert.Contains("mlp 2→8→1 tanh", e.Message);
        Assert.Contains("mlp 2→16→1 tanh", e.Message);
        Assert.Contains(path, e.Message);
        // Same widths, different activation: also a different architecture.
        var sine = Mlp.Create(2, [8], 1, Activation.Sin, seed: 0);
        Assert.Contains("mlp 2→8→1 sin", Assert.Throws<CheckpointMismatchException>(() => Checkpoint.LoadInto(sine, path)).Message);
    }

    [Fact]
    public void MlpParametersRoundTrip()
    {
        var a = Mlp.Create(2, [8], 1, Activation.Tanh, seed: 1);
        var b = Mlp.Create(2, [8], 1, Activation.Tanh, seed: 2);
        var path = Path.Combine(_dir, "mlp.json");
        Checkpoint.Save(a, path);
        Checkpoint.LoadInto(b, path);
        for (int i = 0; i < a.Parameters.Length; i++)
            Assert.Equal(((NDArray<double>)a.Parameters[i]).Data, ((NDArray<double>)b.Parameters[i]).Data);
    }

    [Fact]
    public void DamagedOrForeignFilesGiveAClearError()
    {
        var path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, "{ \"format\": \"jetsharp-checkpoint\", \"version\": 1, \"architecture\": \"x\", \"parameters\": [ { \"shape\": [2], \"values\": [1] } ] }");
        Assert.Contains("shape [2]", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);
        File.WriteAllText(path, "{ \"hello\": 1 }");
        Assert.Contains("not a jetsharp-checkpoint", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);
        File.WriteAllText(path, "{ truncated");
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);
        Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(Path.Combine(_dir, "missing.json")));
    }

    [Fact]
    public void ATrainerRefusesACheckpointOfAnotherModel()
    {
        var path = Path.Combine(_dir, "other.json");
        new Checkpoint("something else", [new NDArray<double>(new Shape(3))]).Save(path);
        var trainer = new Trainer(new PolynomialFit(), new double[3], [new TrainingPhase(new Adam(0.1), 3)]);
        var e = Assert.Throws<CheckpointMismatchException>(() => trainer.Restore(path));
        Assert.Contains("something else", e.Message);
        Assert.Contains("quadratic polynomial", e.Message);
        // The right architecture with another optimizer in the current phase is refused too.
        new Checkpoint("quadratic polynomial", [new NDArray<double>(new Shape(3))]) { Optimizer = new Lbfgs().SaveState() }.Save(path);
        Assert.Contains("'lbfgs'", Assert.Throws<CheckpointMismatchException>(() => trainer.Restore(path)).Message);
    }
}
