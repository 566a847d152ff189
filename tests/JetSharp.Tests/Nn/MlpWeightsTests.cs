using JetSharp.IO;
using JetSharp.Nn;
using JetSharp.Runtime;
using JetSharp.Tests.IO;

namespace JetSharp.Tests.Nn;

public class MlpWeightsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"jetsharp-mlpw-{Guid.NewGuid():N}");

    public MlpWeightsTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static NDArray<double> Forward(Mlp net, NDArray<double> x) =>
        Executable.Compile(Tracer.Function(v => net.Apply(v), x.Shape)).Run(x)[0];

    [Fact]
    public void WeightsWrittenByPyTorchGiveThePyTorchOutputs()
    {
        // mlp_torch.safetensors is the state_dict of torch.nn.Linear layers 3 → 5 → 4 → 2 with tanh between them
        // (tools/fixtures/make_safetensors.py); mlp_torch_io holds inputs and the outputs PyTorch computed in float64.
        var net = Mlp.Create(3, [5, 4], 2, Activation.Tanh, seed: 99);
        net.LoadWeights(SafeTensorsTests.Fixture("mlp_torch.safetensors"));
        var io = SafeTensors.Read(SafeTensorsTests.Fixture("mlp_torch_io.safetensors"));
        var y = Forward(net, io.Get<double>("x"));
        var expected = io.Get<double>("y");
        Assert.Equal(expected.Shape, y.Shape);
        for (int i = 0; i < y.Size; i++) Assert.Equal(expected.Data[i], y.Data[i], 1e-14);

        // The file stores PyTorch's weight [out, in]: JetSharp's W [in, out] is its transpose.
        var torchW = SafeTensors.Read(SafeTensorsTests.Fixture("mlp_torch.safetensors")).Get<float>("layers.0.weight");
        Assert.Equal(new Shape(5, 3), torchW.Shape);
        var w = (NDArray<double>)net.Parameters[0];
        Assert.Equal(new Shape(3, 5), w.Shape);
        Assert.Equal(torchW[4, 1], (float)w[1, 4]);
    }

    [Fact]
    public void SavedWeightsLoadBackInBothPrecisions()
    {
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var a = Mlp.Create(2, [8, 6], 3, Activation.Sin, seed: 1, dtype);
            var b = Mlp.Create(2, [8, 6], 3, Activation.Sin, seed: 2, dtype);
            var path = Path.Combine(_dir, $"w-{dtype.Name()}.safetensors");
            a.SaveWeights(path);
            var file = SafeTensors.Read(path);
            Assert.Equal(["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight", "layers.2.bias", "layers.2.weight"], file.Names.Order());
            Assert.Equal(new Shape(8, 2), file.Tensors["layers.0.weight"].Shape);
            Assert.Equal(a.Architecture, file.Metadata[Mlp.ArchitectureKey]);
            b.LoadWeights(path);
            for (int i = 0; i < a.Parameters.Length; i++)
            {
                Assert.Equal(dtype, b.Parameters[i].DType);
                Assert.Equal(ParameterVector.Flatten<double>([a.Parameters[i]]), ParameterVector.Flatten<double>([b.Parameters[i]]));
                Assert.NotSame(a.Parameters[i], b.Parameters[i]);
            }
        }
    }

    [Fact]
    public void WeightsThatDoNotFitAreRefusedAndNothingChanges()
    {
        var net = Mlp.Create(2, [4], 1, Activation.Tanh, seed: 0);
        var before = ParameterVector.Flatten<double>(net.Parameters);
        var path = Path.Combine(_dir, "bad.safetensors");
        var w0 = new NDArray<double>(new Shape(4, 2));
        var b0 = new NDArray<double>(new Shape(4));
        var w1 = new NDArray<double>(new Shape(1, 4));
        var b1 = new NDArray<double>(new Shape(1));
        KeyValuePair<string, NDArray> P(string n, NDArray t) => new(n, t);

        SafeTensors.Write(path, [P("layers.0.weight", w0), P("layers.0.bias", b0), P("layers.1.weight", w1)]);
        Assert.Contains("'layers.1.bias'", Assert.Throws<InvalidDataException>(() => net.LoadWeights(path)).Message);
        SafeTensors.Write(path, [P("layers.0.weight", new NDArray<double>(new Shape(2, 4))), P("layers.0.bias", b0), P("layers.1.weight", w1), P("layers.1.bias", b1)]);
        Assert.Contains("[out, in]", Assert.Throws<InvalidDataException>(() => net.LoadWeights(path)).Message);
        SafeTensors.Write(path, [P("layers.0.weight", w0), P("layers.0.bias", b0), P("layers.1.weight", w1), P("layers.1.bias", b1), P("layers.2.weight", w1)]);
        Assert.Contains("layers.2.weight", Assert.Throws<InvalidDataException>(() => net.LoadWeights(path)).Message);
        SafeTensors.Write(path, [P("layers.0.weight", w0), P("layers.0.bias", new NDArray<double>(new Shape(4), [0, double.NaN, 0, 0])), P("layers.1.weight", w1), P("layers.1.bias", b1)]);
        Assert.Contains("NaN", Assert.Throws<InvalidDataException>(() => net.LoadWeights(path)).Message);
        Mlp.Create(2, [4], 1, Activation.Sin, seed: 0).SaveWeights(path);
        Assert.Contains("mlp 2→4→1 sin", Assert.Throws<CheckpointMismatchException>(() => net.LoadWeights(path)).Message);
        Assert.Equal(before, ParameterVector.Flatten<double>(net.Parameters));
    }
}
