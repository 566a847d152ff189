using System.Text.Json;
using JetSharp.Onnx;

namespace JetSharp.Tests.Onnx;

/// <summary>
/// Models exported by torch.onnx.export (tools/fixtures/make_onnx.py, PyTorch 1.13, opsets 13–17) are
/// imported and compared with values PyTorch's autograd computed in float64 on the same weights: the
/// output, the Laplacian and (for the small-D models) the biharmonic, in all three strategies.
/// </summary>
public class OnnxImportTests
{
    public static readonly string FixtureDirectory = Path.Combine(AppContext.BaseDirectory, "Fixtures", "onnx");

    public static TheoryData<string> Models =>
        ["mlp", "residual_layernorm", "residual_layernorm_opset13", "fourier", "attention", "vector_output"];

    private sealed record Expected(NDArray<double> Points, NDArray<double> Value, NDArray<double> Laplacian, NDArray<double>? Biharmonic, long Opset);

    private static Expected Load(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(FixtureDirectory, name + ".json")));
        var root = doc.RootElement;
        NDArray<double> Matrix(string key)
        {
            var rows = root.GetProperty(key).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
            var m = new double[rows.Length, rows[0].Length];
            for (int i = 0; i < rows.Length; i++)
                for (int j = 0; j < rows[0].Length; j++) m[i, j] = rows[i][j];
            return NDArray.FromArray(m);
        }
        return new(Matrix("points"), Matrix("value"), Matrix("laplacian"),
                   root.TryGetProperty("biharmonic", out _) ? Matrix("biharmonic") : null, root.GetProperty("opset").GetInt64());
    }

    private static OnnxModel Model(string name) => OnnxModel.Load(Path.Combine(FixtureDirectory, name + ".onnx"));

    private static void Close(NDArray<double> expected, NDArray<double> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        double scale = expected.Data.Max(Math.Abs) + 1;
        for (int i = 0; i < expected.Data.Length; i++)
            Assert.True(Math.Abs(expected.Data[i] - actual.Data[i]) <= tolerance * scale,
                $"{what}[{i}]: expected {expected.Data[i]:R}, got {actual.Data[i]:R}");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Values_match_pytorch(string name)
    {
        var model = Model(name);
        var e = Load(name);
        Assert.Equal(e.Opset, model.OpsetVersion);
        var graph = Tracer.Function(model.Function, e.Points.Shape);
        var y = JetSharp.Runtime.Executable.Compile(graph).Run(e.Points)[0];
        Close(e.Value, y, 1e-12, name + " value");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Laplacians_match_pytorch_in_every_strategy(string name)
    {
        var model = Model(name);
        var e = Load(name);
        foreach (var strategy in OperatorTestUtil.AllStrategies)
            Close(e.Laplacian, Pde.Laplacian(model.Function, e.Points, strategy), 1e-10, $"{name} Laplacian ({strategy.Name})");
    }

    [Theory]
    [InlineData("mlp")]
    [InlineData("residual_layernorm")]
    [InlineData("fourier")]
    [InlineData("vector_output")]
    public void Biharmonics_match_pytorch_in_every_strategy(string name)
    {
        var model = Model(name);
        var e = Load(name);
        foreach (var strategy in OperatorTestUtil.AllStrategies)
            Close(e.Biharmonic!, Pde.Biharmonic(model.Function, e.Points, strategy), 1e-9, $"{name} biharmonic ({strategy.Name})");
    }

    [Fact]
    public void Weights_as_parameters_give_the_same_operator_and_a_gradient()
    {
        var model = Model("mlp");
        var e = Load("mlp");
        var op = DifferentialOperator.Laplacian().Compile((x, p) => model.Apply(x, p), e.Points.Shape, model.ParameterShapes);
        var weights = model.ParameterValues;
        Close(e.Laplacian, op.Run(e.Points, weights), 1e-10, "parameterised Laplacian");
        Assert.Equal(["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "head.weight", "head.bias"],
                     model.Parameters.Select(p => p.Name));
        Assert.All(model.Parameters, p => Assert.True(p.StoredAsFloat32));
        // The values are copies: changing them changes nothing in the model.
        weights[0].Data[0] += 1;
        Assert.NotEqual(weights[0].Data[0], model.Parameters[0].Value.Data[0]);
    }

    [Fact]
    public void Imported_models_describe_their_inputs_and_outputs()
    {
        var model = Model("attention");
        var input = Assert.Single(model.Inputs);
        Assert.Equal("x", input.Name);
        Assert.Equal([null, 9L], input.Dimensions);
        Assert.Equal("y", Assert.Single(model.Outputs).Name);
        Assert.StartsWith("pytorch", model.Producer);
        Assert.Throws<ShapeException>(() => Tracer.Function(model.Function, new Shape(2, 8)));
    }

    [Fact]
    public void A_truncated_file_is_a_format_error_naming_the_file()
    {
        var bytes = File.ReadAllBytes(Path.Combine(FixtureDirectory, "mlp.onnx"));
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(new MemoryStream(bytes[..(bytes.Length / 2)]), "half.onnx"));
        Assert.Contains("half.onnx", e.Message);
    }

    [Fact]
    public void An_unsupported_operator_is_named_with_its_node_and_the_supported_list()
    {
        var bytes = ProtoWriter.Model(opset: 17, ("Einsum", "my_einsum", ["x"], ["y"]));
        var e = Assert.Throws<NotSupportedException>(() => OnnxModel.Load(new MemoryStream(bytes), "custom.onnx"));
        Assert.Contains("'Einsum'", e.Message);
        Assert.Contains("my_einsum", e.Message);
        Assert.Contains("Gemm", e.Message);
    }

    [Fact]
    public void A_model_without_the_default_opset_is_refused()
    {
        var bytes = ProtoWriter.Model(opset: null, ("Tanh", "t", ["x"], ["y"]));
        Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(new MemoryStream(bytes), "no-opset.onnx"));
    }

    [Fact]
    public void A_hand_written_model_replays_shape_arithmetic_for_any_batch()
    {
        // y = reshape(tanh(x), [shape(x)[0], -1]) summed over axis 1: the torch idiom x.view(x.shape[0], -1).
        var bytes = ProtoWriter.Model(opset: 13,
            ("Tanh", "t", ["x"], ["h"]),
            ("Shape", "s", ["h"], ["shape"]),
            ("Gather", "g", ["shape", "zero"], ["n"]),
            ("Unsqueeze", "u", ["n", "axes0"], ["n1"]),
            ("Concat", "c", ["n1", "minus_one"], ["target"]),
            ("Reshape", "r", ["h", "target"], ["flat"]),
            ("ReduceSum", "sum", ["flat", "axes1"], ["y"]));
        var model = OnnxModel.Load(new MemoryStream(bytes), "idiom.onnx");
        var x = NDArray.FromArray(new double[,] { { 0.1, -0.2 }, { 0.3, 0.4 }, { -0.5, 0.6 } });
        var lap = Pde.Laplacian(model.Function, x);
        for (int n = 0; n < 3; n++)
        {
            double expected = 0;
            for (int d = 0; d < 2; d++)
            {
                double t = Math.Tanh(x.Data[2 * n + d]);
                expected += -2 * t * (1 - t * t);
            }
            Assert.Equal(expected, lap.Data[n], 1e-13);
        }
    }

    /// <summary>A minimal protobuf writer for hand-made ModelProtos (independent of the reader under test).</summary>
    private static class ProtoWriter
    {
        public static byte[] Model(long? opset, params (string Op, string Name, string[] Inputs, string[] Outputs)[] nodes)
        {
            var graph = new List<byte>();
            foreach (var (op, name, inputs, outputs) in nodes)
            {
                var node = new List<byte>();
                foreach (var i in inputs) Field(node, 1, Str(i));
                foreach (var o in outputs) Field(node, 2, Str(o));
                Field(node, 3, Str(name));
                Field(node, 4, Str(op));
                if (op == "ReduceSum") { } // axes come from an input since opset 13
                Field(graph, 1, node);
            }
            Field(graph, 5, IntTensor("zero", [], [0]));
            Field(graph, 5, IntTensor("axes0", [1], [0]));
            Field(graph, 5, IntTensor("axes1", [1], [1]));
            Field(graph, 5, IntTensor("minus_one", [1], [-1]));
            Field(graph, 11, ValueInfo("x", [null, 2]));
            Field(graph, 12, ValueInfo("y", [null]));
            var model = new List<byte>();
            Varint(model, (1 << 3) | 0); Varint(model, 8);
            if (opset is { } v)
            {
                var set = new List<byte>();
                Field(set, 1, Str(""));
                Varint(set, (2 << 3) | 0); Varint(set, (ulong)v);
                Field(model, 8, set);
            }
            Field(model, 7, graph);
            return [.. model];
        }

        private static List<byte> IntTensor(string name, long[] dims, long[] values)
        {
            var t = new List<byte>();
            foreach (var d in dims) { Varint(t, (1 << 3) | 0); Varint(t, (ulong)d); }
            Varint(t, (2 << 3) | 0); Varint(t, 7);
            foreach (var v in values) { Varint(t, (7 << 3) | 0); Varint(t, (ulong)v); }
            Field(t, 8, Str(name));
            return t;
        }

        private static List<byte> ValueInfo(string name, long?[] dims)
        {
            var shape = new List<byte>();
            foreach (var d in dims)
            {
                var dim = new List<byte>();
                if (d is { } size) { Varint(dim, (1 << 3) | 0); Varint(dim, (ulong)size); }
                else Field(dim, 2, Str("batch"));
                Field(shape, 1, dim);
            }
            var tensor = new List<byte>();
            Varint(tensor, (1 << 3) | 0); Varint(tensor, 11);
            Field(tensor, 2, shape);
            var type = new List<byte>();
            Field(type, 1, tensor);
            var info = new List<byte>();
            Field(info, 1, Str(name));
            Field(info, 2, type);
            return info;
        }

        private static List<byte> Str(string s) => [.. System.Text.Encoding.UTF8.GetBytes(s)];

        private static void Field(List<byte> into, int field, List<byte> payload)
        {
            Varint(into, (ulong)((field << 3) | 2));
            Varint(into, (ulong)payload.Count);
            into.AddRange(payload);
        }

        private static void Varint(List<byte> into, ulong v)
        {
            do
            {
                byte b = (byte)(v & 0x7F);
                v >>= 7;
                into.Add(v != 0 ? (byte)(b | 0x80) : b);
            } while (v != 0);
        }
    }
}

/// <summary>`jetsharp operator` on an imported model: the CSV it writes holds PyTorch's Laplacian.</summary>
public class OperatorCommandTests
{
    [Fact]
    public void Operator_command_writes_the_Laplacian_of_an_onnx_model()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"jetsharp-operator-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(OnnxImportTests.FixtureDirectory, "mlp.json")));
            var points = doc.RootElement.GetProperty("points").EnumerateArray().Select(r => string.Join(",", r.EnumerateArray().Select(v => v.GetDouble().ToString("R", System.Globalization.CultureInfo.InvariantCulture)))).ToArray();
            var expected = doc.RootElement.GetProperty("laplacian").EnumerateArray().Select(r => r[0].GetDouble()).ToArray();
            File.WriteAllLines(Path.Combine(dir, "p.csv"), ["# points", .. points]);
            using StringWriter output = new(), error = new();
            int code = JetSharp.Cli.Program.Run(["operator", "--onnx", Path.Combine(OnnxImportTests.FixtureDirectory, "mlp.onnx"), "--points", Path.Combine(dir, "p.csv"), "--out", Path.Combine(dir, "o.csv")], output, error);
            Assert.True(code == 0, error.ToString());
            var lines = File.ReadAllLines(Path.Combine(dir, "o.csv"));
            Assert.Equal("point,laplacian0", lines[0]);
            for (int i = 0; i < expected.Length; i++)
                Assert.Equal(expected[i], double.Parse(lines[i + 1].Split(',')[1], System.Globalization.CultureInfo.InvariantCulture), 1e-10);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
