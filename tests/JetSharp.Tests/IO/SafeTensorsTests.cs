using System.Text;
using JetSharp.IO;

namespace JetSharp.Tests.IO;

public class SafeTensorsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"jetsharp-st-{Guid.NewGuid():N}");

    public SafeTensorsTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "safetensors", name);

    /// <summary>A file from its parts: the 8-byte little-endian length, the header text as given, the data.</summary>
    private static byte[] File(string header, params byte[] data) =>
        [.. BitConverter.GetBytes((ulong)Encoding.UTF8.GetByteCount(header)), .. Encoding.UTF8.GetBytes(header), .. data];

    private static KeyValuePair<string, NDArray> Named(string name, NDArray t) => new(name, t);

    [Fact]
    public void TheWriterProducesTheBytesTheFormatPrescribes()
    {
        // One F32 tensor [1, 2, 3] holding 0…5: the compact header, padded with spaces to a multiple of 8,
        // then the six little-endian floats (the reference implementation's own test case).
        var t = new NDArray<float>(new Shape(1, 2, 3), [0, 1, 2, 3, 4, 5]);
        using var stream = new MemoryStream();
        SafeTensors.Write(stream, [Named("attn.0", t)]);
        const string header = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
        Assert.Equal(64, header.Length);        // already a multiple of 8: no padding
        var expected = File(header, [.. new float[] { 0, 1, 2, 3, 4, 5 }.SelectMany(BitConverter.GetBytes)]);
        Assert.Equal(expected, stream.ToArray());

        // No tensors, one metadata entry: 35 header bytes padded to 40.
        stream.SetLength(0);
        SafeTensors.Write(stream, [], new Dictionary<string, string> { ["framework"] = "pt" });
        Assert.Equal(File("{\"__metadata__\":{\"framework\":\"pt\"}}     "), stream.ToArray());
    }

    [Fact]
    public void AFileWrittenByAnIndependentWriterReadsExactlyAndIsWrittenBackByteForByte()
    {
        // mixed_stdlib.safetensors comes from tools/fixtures/make_safetensors.py (Python standard library only).
        var path = Fixture("mixed_stdlib.safetensors");
        var file = SafeTensors.Read(path);
        Assert.Equal(["empty", "matrix", "scalar", "vector"], file.Names);   // file order: by offset
        var m = file.Get<double>("matrix");
        Assert.Equal(new Shape(2, 3), m.Shape);
        Assert.Equal([1.0 / 3, -0.0, double.Epsilon, 1e300, -2.5, 7], m.Data);
        Assert.True(double.IsNegative(m.Data[1]));
        var s = file.Get<float>("scalar");
        Assert.Equal(Shape.Scalar, s.Shape);
        Assert.Equal(0.1f, s.Data[0]);
        Assert.Equal(new Shape(0, 3), file.Get<double>("empty").Shape);
        Assert.Equal([1f, 2, 3], file.Get<float>("vector").Data);
        Assert.Equal("ünïcode → ok", file.Metadata["note"]);
        Assert.Equal("jetsharp-test", file.Metadata["framework"]);

        using var stream = new MemoryStream();
        SafeTensors.Write(stream, file.Names.Select(n => Named(n, file.Tensors[n])).Reverse(), file.Metadata);
        Assert.Equal(System.IO.File.ReadAllBytes(path), stream.ToArray());
    }

    [Fact]
    public void RoundTripsThroughFilesAndUnseekableStreams()
    {
        var a = NDArray.RandomNormal<double>(new Shape(4, 5), 3);
        var b = NDArray.RandomNormal<float>(new Shape(7), 4);
        var path = Path.Combine(_dir, "sub", "x.safetensors");
        SafeTensors.Write(path, [Named("b", b), Named("a", a)], new Dictionary<string, string> { ["k"] = "v" });
        Assert.False(System.IO.File.Exists(path + ".tmp"));
        var back = SafeTensors.Read(path);
        Assert.Equal(a.Data, back.Get<double>("a").Data);
        Assert.Equal(b.Data, back.Get<float>("b").Data);
        Assert.NotSame(a.Data, back.Get<double>("a").Data);

        using var unseekable = new ForwardOnly(System.IO.File.ReadAllBytes(path));
        Assert.Equal(b.Data, SafeTensors.Read(unseekable, "pipe").Get<float>("b").Data);
        using var longer = new ForwardOnly([.. System.IO.File.ReadAllBytes(path), 1]);
        Assert.Contains("pipe", Assert.Throws<InvalidDataException>(() => SafeTensors.Read(longer, "pipe")).Message);

        Assert.Contains("float32", Assert.Throws<InvalidCastException>(() => back.Get<double>("b")).Message);
        Assert.Contains("'c'", Assert.Throws<KeyNotFoundException>(() => back.Get<double>("c")).Message);
    }

    private sealed class ForwardOnly(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => base.Position; set => throw new NotSupportedException(); }
    }

    [Fact]
    public void WritingRefusesNamesThatCannotBeRead()
    {
        var t = new NDArray<double>(new Shape(1));
        using var s = new MemoryStream();
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => SafeTensors.Write(s, [Named("x", t), Named("x", t)])).Message);
        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() => SafeTensors.Write(s, [Named("__metadata__", t)])).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => SafeTensors.Write(s, [Named("", t)])).Message);
        Assert.Equal(0, s.Length);
    }

    public static TheoryData<string, byte[], string> Malformed() => new()
    {
        { "short", [1, 2, 3], "8-byte header length" },
        { "huge header", [.. BitConverter.GetBytes(200_000_000UL), .. "{}"u8.ToArray()], "over the limit" },
        { "header past end", [.. BitConverter.GetBytes(64UL), .. "{}"u8.ToArray()], "truncated" },
        { "not an object", File("[1, 2]  "), "does not start with '{'" },
        { "bad json", File("{\"a\": {\"dtype\": \"F32\",}"), "not valid JSON" },
        { "duplicate name", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]), "'a' twice" },
        { "size mismatch", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", new byte[12]), "needs 16 bytes" },
        { "overlap", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]), "overlaps" },
        { "hole", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]), "holes" },
        { "trailing bytes", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[6]), "follow the last tensor" },
        { "short data", File("{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}", new byte[9]), "truncated" },
        { "negative extent", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]), "'shape'" },
        { "fractional offset", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.5]}}", new byte[4]), "'data_offsets'" },
        { "reversed offsets", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}"), "end before they begin" },
        { "unknown field", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"strides\":[1]}}", new byte[4]), "unknown field 'strides'" },
        { "missing field", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}"), "missing 'data_offsets'" },
        { "unknown dtype", File("{\"a\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "unknown dtype 'F12'" },
        { "metadata not strings", File("{\"__metadata__\":{\"n\":1}}"), "must be strings" },
        { "too many elements", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[100000,100000],\"data_offsets\":[0,4]}}", new byte[4]), "more than" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedFilesAreRefusedNamingTheFileAndTheProblem(string name, byte[] bytes, string problem)
    {
        var path = Path.Combine(_dir, $"{name.Replace(' ', '-')}.safetensors");
        System.IO.File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void OtherDtypesAreRefusedNamingTheTensorAndTheDtype()
    {
        var path = Path.Combine(_dir, "bf16.safetensors");
        System.IO.File.WriteAllBytes(path, File("{\"ok\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"emb\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}}", new byte[8]));
        var e = Assert.Throws<NotSupportedException>(() => SafeTensors.Read(path));
        Assert.Contains("'emb'", e.Message);
        Assert.Contains("BF16", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void TrailingSpacesInTheHeaderAreAllowed()
    {
        var path = Path.Combine(_dir, "spaces.safetensors");
        System.IO.File.WriteAllBytes(path, File("{\"a\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}      ", BitConverter.GetBytes(2.5)));
        Assert.Equal(2.5, SafeTensors.Read(path).Get<double>("a").ToScalar());
    }
}
