using System.Text;
using JetSharp.IO;
using JetSharp.Nn;

namespace JetSharp.Tests.Nn;

public class CheckpointTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"jetsharp-ckpt-{Guid.NewGuid():N}");

    public CheckpointTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static Checkpoint Sample<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var net = Mlp.Create(3, [5, 4], 2, Activation.Tanh, seed: 7, DTypes.Of<T>());
        var ps = net.Parameters.Cast<NDArray<T>>().ToArray();
        ps[0].Data[0] = T.CreateTruncating(1.0 / 3);     // needs every digit
        ps[1].Data[1] = -T.Epsilon;                        // the smallest subnormal
        var adam = new Adam<T>(0.01);
        adam.Step(new T[3], (t, g) => { g[0] = T.One; g[1] = T.CreateTruncating(-2); g[2] = T.CreateTruncating(0.1); return T.One; });
        return new Checkpoint(net.Architecture, ps)
        {
            Step = 123,
            Phase = 1,
            PhaseStep = 23,
            ElapsedSeconds = 4.5,
            Seed = -17,
            Optimizer = adam.SaveState(),
            History = [new(1, 2.5, null, 0.1), new(2, 1.0 / 3, 0.25, 0.2), new(3, 1e-300, null, 0.3)],
            Metadata = new Dictionary<string, string> { ["example"] = "poisson2d", ["note"] = "ünïcode → ok" },
        };
    }

    [Fact]
    public void EverythingRoundTripsBitForBitInBothPrecisions()
    {
        foreach (var c in new[] { Sample<double>(), Sample<float>() })
        {
            var path = PathOf($"a-{c.DType.Name()}.safetensors");
            c.Save(path);
            var back = Checkpoint.Load(path);
            Assert.Equal(c.Architecture, back.Architecture);
            Assert.Equal(c.DType, back.DType);
            for (int i = 0; i < c.Parameters.Length; i++)
            {
                Assert.Equal(c.Parameters[i].Shape, back.Parameters[i].Shape);
                Assert.Equal(Bits(c.Parameters[i]), Bits(back.Parameters[i]));
            }
            Assert.Equal((123L, 1, 23L, 4.5, (long?)-17), (back.Step, back.Phase, back.PhaseStep, back.ElapsedSeconds, back.Seed));
            Assert.Equal("adam", back.Optimizer!.Name);
            Assert.Equal(1, back.Optimizer.Steps);
            Assert.Equal(Bits(c.Optimizer!.Arrays["m"]), Bits(back.Optimizer.Arrays["m"]));
            Assert.Equal(Bits(c.Optimizer.Arrays["v"]), Bits(back.Optimizer.Arrays["v"]));
            Assert.Equal(c.History, back.History);
            Assert.Equal(c.Metadata, back.Metadata);
        }
    }

    private static long[] Bits(NDArray a) => [.. Enumerable.Range(0, a.Size).Select(i => a is NDArray<float> f ? BitConverter.SingleToInt32Bits(f.Data[i]) : BitConverter.DoubleToInt64Bits(a.GetDouble(i)))];

    [Fact]
    public void AStreamRoundTripsToo()
    {
        var c = Sample<float>();
        using var stream = new MemoryStream();
        c.Save(stream);
        stream.Position = 0;
        var back = Checkpoint.Load(stream, "memory");
        Assert.Equal(Bits(c.Parameters[2]), Bits(back.Parameters[2]));
    }

    [Fact]
    public void TheFileHoldsRawValuesAndOneHeader()
    {
        // The reference network of the benchmarks (50 → 768 → 768 → 512 → 512 → 1: 1 286 657 parameters) is too big for
        // a unit test; a 100 → 64 → 64 → 1 network shows the same layout: 4 or 8 bytes per value and a header of a few kB.
        var net = Mlp.Create(100, [64, 64], 1, Activation.Tanh, seed: 1);
        int n = ParameterVector.Count(net.ParameterShapes);
        var adam = new Adam<double>(0.01);
        var theta = ParameterVector.Flatten<double>(net.Parameters);
        adam.Step(theta, (t, g) => { g.AsSpan().Fill(1); return 1; });
        var c = new Checkpoint(net.Architecture, net.Parameters) { Step = 1, Optimizer = adam.SaveState(), History = [new(1, 1, null, 0.1)] };
        var path = PathOf("size.safetensors");
        c.Save(path);
        long bytes = new FileInfo(path).Length;
        Assert.InRange(bytes, 3L * 8 * n, 3L * 8 * n + 4096);      // θ, m, v at 8 bytes each
        var c32 = new Checkpoint(net.Architecture, [.. net.Parameters.Select(p => ((NDArray<double>)p).To<float>())]) { Step = 1 };
        c32.Save(path);
        Assert.InRange(new FileInfo(path).Length, 4L * n, 4L * n + 4096);
    }

    [Fact]
    public void ALoadedCheckpointIsCheckedAgainstTheModel()
    {
        var small = Mlp.Create(2, [8], 1, Activation.Tanh, seed: 0);
        var wide = Mlp.Create(2, [16], 1, Activation.Tanh, seed: 0);
        var path = PathOf("small.safetensors");
        new Checkpoint(small.Architecture, small.Parameters).Save(path);
        var c = Checkpoint.Load(path);
        var e = Assert.Throws<CheckpointMismatchException>(() => c.CheckCompatible(wide.Architecture, wide.ParameterShapes, DType.Float64, path));
        Assert.Contains("mlp 2→8→1 tanh", e.Message);
        Assert.Contains("mlp 2→16→1 tanh", e.Message);
        Assert.Contains(path, e.Message);
        var sine = Mlp.Create(2, [8], 1, Activation.Sin, seed: 0);
        Assert.Contains("mlp 2→8→1 sin", Assert.Throws<CheckpointMismatchException>(() => c.CheckCompatible(sine.Architecture, sine.ParameterShapes, DType.Float64)).Message);
        var f = Assert.Throws<CheckpointMismatchException>(() => c.CheckCompatible(small.Architecture, small.ParameterShapes, DType.Float32, path));
        Assert.Contains("float64", f.Message);
        Assert.Contains("float32", f.Message);
    }

    [Fact]
    public void ATrainerRefusesACheckpointOfAnotherModelOptimizerPrecisionOrSeed()
    {
        var path = PathOf("other.safetensors");
        new Checkpoint("something else", [new NDArray<double>(new Shape(3))]).Save(path);
        var trainer = new Trainer<double>(new PolynomialFit<double>(), new double[3], [new TrainingPhase<double>(new Adam<double>(0.1), 3)], new TrainerOptions<double> { Seed = 5 });
        var e = Assert.Throws<CheckpointMismatchException>(() => trainer.Restore(path));
        Assert.Contains("something else", e.Message);
        Assert.Contains("quadratic polynomial", e.Message);
        // The right architecture with another optimizer in the current phase is refused too.
        new Checkpoint("quadratic polynomial", [new NDArray<double>(new Shape(3))]) { Optimizer = new Lbfgs<double>().SaveState() }.Save(path);
        Assert.Contains("'lbfgs'", Assert.Throws<CheckpointMismatchException>(() => trainer.Restore(path)).Message);
        // A float32 checkpoint does not resume a float64 run.
        new Checkpoint("quadratic polynomial", [new NDArray<float>(new Shape(3))]).Save(path);
        Assert.Contains("float32", Assert.Throws<CheckpointMismatchException>(() => trainer.Restore(path)).Message);
        // Nor does a checkpoint of another seed (its points would differ).
        new Checkpoint("quadratic polynomial", [new NDArray<double>(new Shape(3))]) { Seed = 6 }.Save(path);
        var s = Assert.Throws<CheckpointMismatchException>(() => trainer.Restore(path));
        Assert.Contains("'seed'", s.Message);
        Assert.Contains(path, s.Message);
    }

    // ---- issue 15, defect 3: every loaded field is validated, every error names the file and the field ----

    /// <summary>Rewrites a valid checkpoint file with its metadata and tensors edited (a file as a damaged or hand-edited one would be).</summary>
    private static void Tamper(string path, Action<Dictionary<string, string>>? metadata = null, Action<Dictionary<string, NDArray>>? tensors = null)
    {
        var file = SafeTensors.Read(path);
        var meta = file.Metadata.ToDictionary();
        var ts = file.Tensors.ToDictionary();
        metadata?.Invoke(meta);
        tensors?.Invoke(ts);
        SafeTensors.Write(path, ts, meta);
    }

    private string Saved(Checkpoint c, string name)
    {
        var path = PathOf(name);
        c.Save(path);
        return path;
    }

    private static void AssertNames(Exception e, string path, string field)
    {
        Assert.Contains(path, e.Message);
        Assert.Contains($"'{field}'", e.Message);
    }

    [Fact]
    public void NonFiniteValuesAreRefusedNamingTheFileAndTheTensor()
    {
        foreach (double bad in new[] { double.NaN, double.PositiveInfinity, double.Parse("1e400", System.Globalization.CultureInfo.InvariantCulture) })
        {
            var path = Saved(Sample<double>(), "nan.safetensors");
            Tamper(path, tensors: t => ((NDArray<double>)t["parameters.2"]).Data[3] = bad);
            var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
            AssertNames(e, path, "parameters.2");
            Assert.Contains("at element 3;", e.Message);   // the first bad value's index, after the vector pass found one

            path = Saved(Sample<double>(), "nan-m.safetensors");
            Tamper(path, tensors: t => ((NDArray<double>)t["optimizer.m"]).Data[0] = bad);
            e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
            AssertNames(e, path, "optimizer.m");
            Assert.Contains("at element 0;", e.Message);
        }
        var p = Saved(Sample<double>(), "elapsed.safetensors");
        Tamper(p, metadata: m => m["elapsed_seconds"] = "1e400");
        AssertNames(Assert.Throws<InvalidDataException>(() => Checkpoint.Load(p)), p, "elapsed_seconds");
    }

    [Fact]
    public void NegativeOrInconsistentCountersAreRefused()
    {
        var path = Saved(Sample<double>(), "neg.safetensors");
        Tamper(path, metadata: m => { m["step"] = "-5"; m["phase_step"] = "-7"; });
        AssertNames(Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)), path, "step");

        path = Saved(Sample<double>(), "neg2.safetensors");
        Tamper(path, metadata: m => m["phase_step"] = "-7");
        AssertNames(Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)), path, "phase_step");

        path = Saved(Sample<double>(), "text.safetensors");
        Tamper(path, metadata: m => m["step"] = "twelve");
        AssertNames(Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)), path, "step");

        path = Saved(Sample<double>(), "phase.safetensors");
        Tamper(path, metadata: m => m["phase"] = "-1");
        AssertNames(Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)), path, "phase");
    }

    [Fact]
    public void ACheckpointWithNegativeStepsNoLongerMakesAPhaseRunLonger()
    {
        // Before: step −5, phase_step −7 made a 3-step phase run 10 steps.
        var fit = new PolynomialFit<double>();
        var trainer = new Trainer<double>(fit, new double[3], [new TrainingPhase<double>(new Adam<double>(0.1), 3)]);
        var c = new Checkpoint("quadratic polynomial", [new NDArray<double>(new Shape(3))]) { Step = -5, PhaseStep = -7 };
        var e = Assert.Throws<InvalidDataException>(() => trainer.Restore(c, "x.safetensors"));
        AssertNames(e, "x.safetensors", "step");
        Assert.Equal(0, trainer.Step);
        Assert.Equal(3, trainer.Run().Steps);
    }

    [Fact]
    public void APhaseStepBeyondThePhaseIsRefusedInsteadOfReportingCompleted()
    {
        // Before: phase_step 10⁶ in a 6-step phase reported "Completed" after 1 of 6 steps.
        var path = Saved(new Checkpoint("quadratic polynomial", [new NDArray<double>(new Shape(3))]) { Step = 1, PhaseStep = 1 }, "big.safetensors");
        Tamper(path, metadata: m => { m["step"] = "1000000"; m["phase_step"] = "1000000"; });
        var trainer = new Trainer<double>(new PolynomialFit<double>(), new double[3], [new TrainingPhase<double>(new Adam<double>(0.1), 6)]);
        var e = Assert.Throws<CheckpointMismatchException>(() => trainer.Restore(path));
        AssertNames(e, path, "phase_step");
        Assert.Contains("6 steps", e.Message);
        Assert.Equal(6, trainer.Run().Steps);
        // A step count the earlier phases cannot have produced is refused too.
        Tamper(path, metadata: m => { m["step"] = "50"; m["phase_step"] = "2"; });
        AssertNames(Assert.Throws<CheckpointMismatchException>(() => new Trainer<double>(new PolynomialFit<double>(), new double[3], [new TrainingPhase<double>(new Adam<double>(0.1), 6)]).Restore(path)), path, "step");
    }

    [Fact]
    public void AnUnknownVersionOrFieldNamesTheFileAndTheField()
    {
        var path = Saved(Sample<double>(), "version.safetensors");
        Tamper(path, metadata: m => m["version"] = "7");
        AssertNames(Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)), path, "version");

        path = Saved(Sample<double>(), "unknown.safetensors");
        Tamper(path, metadata: m => m["learning_rate"] = "0.1");
        AssertNames(Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)), path, "learning_rate");

        path = Saved(Sample<double>(), "unknown-tensor.safetensors");
        Tamper(path, tensors: t => t["extra"] = new NDArray<double>(new Shape(2)));
        AssertNames(Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)), path, "extra");

        path = Saved(Sample<double>(), "history.safetensors");
        Tamper(path, tensors: t => ((NDArray<double>)t["history.step"]).Data[1] = 1);
        AssertNames(Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)), path, "history.step");

        path = Saved(Sample<double>(), "dtype.safetensors");
        Tamper(path, tensors: t => t["parameters.1"] = ((NDArray<double>)t["parameters.1"]).To<float>());
        AssertNames(Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)), path, "parameters.1");
    }

    [Fact]
    public void ANegativeShapeInTheHeaderNamesTheFileTheTensorAndTheField()
    {
        var path = PathOf("shape.safetensors");
        var header = "{\"__metadata__\":{\"format\":\"jetsharp-checkpoint\"},\"parameters.0\":{\"dtype\":\"F64\",\"shape\":[-2],\"data_offsets\":[0,16]}}";
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)Encoding.UTF8.GetByteCount(header)), .. Encoding.UTF8.GetBytes(header), .. new byte[16]]);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'parameters.0'", e.Message);
        Assert.Contains("'shape'", e.Message);
    }

    [Fact]
    public void TruncatedOrForeignFilesGiveAClearErrorNamingTheFile()
    {
        var good = PathOf("good.safetensors");
        Sample<float>().Save(good);
        var bytes = File.ReadAllBytes(good);
        var path = PathOf("cut.safetensors");
        foreach (int length in new[] { 0, 3, 8, 20, bytes.Length / 2, bytes.Length - 1 })
        {
            File.WriteAllBytes(path, bytes[..length]);
            var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
            Assert.Contains(path, e.Message);
        }
        File.WriteAllBytes(path, [.. bytes, 0]);
        Assert.Contains("follow the last tensor", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);

        File.WriteAllText(path, "{ \"format\": \"jetsharp-checkpoint\", \"version\": 1, \"architecture\": \"x\", \"parameters\": [] }");
        Assert.Contains("version-1 JSON checkpoint", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);

        var weights = PathOf("weights.safetensors");
        Mlp.Create(2, [3], 1, Activation.Tanh, seed: 0).SaveWeights(weights);
        Assert.Contains("not a jetsharp-checkpoint", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(weights)).Message);
        Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(PathOf("missing.safetensors")));
    }

    [Fact]
    public void SavingAnInvalidCheckpointIsRefusedBeforeTheFileIsTouched()
    {
        var path = PathOf("never.safetensors");
        var c = new Checkpoint("x", [new NDArray<double>(new Shape(2), [1, double.NaN])]);
        Assert.Contains("'parameters.0'", Assert.Throws<InvalidOperationException>(() => c.Save(path)).Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void ParameterVectorsSaveAndLoadByName()
    {
        var shapes = new[] { new Shape(2, 3), new Shape(3) };
        var theta = Enumerable.Range(0, 9).Select(i => (float)(i * 0.1)).ToArray();
        var path = PathOf("theta.safetensors");
        ParameterVector.Save<float>(path, theta, shapes);
        Assert.Equal(["parameters.0", "parameters.1"], SafeTensors.Read(path).Names.Order());
        Assert.Equal(theta, ParameterVector.Load<float>(path, shapes));
        Assert.Equal(theta.Select(v => (double)v), ParameterVector.Load<double>(path, shapes));     // widening is exact
        Assert.Contains("parameters.1", Assert.Throws<InvalidDataException>(() => ParameterVector.Load<float>(path, [new Shape(2, 3), new Shape(4)])).Message);
        var ckpt = PathOf("ckpt.safetensors");
        Sample<double>().Save(ckpt);
        Assert.Contains("Checkpoint.Load", Assert.Throws<InvalidDataException>(() => ParameterVector.Load<double>(ckpt, Sample<double>().ParameterShapes)).Message);
    }
}
