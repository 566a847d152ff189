using System.Buffers.Binary;

namespace JetSharp.Onnx;

/// <summary>The ONNX file does not follow the format (truncated, malformed, or using something unsupported).</summary>
public sealed class OnnxFormatException(string message) : Exception(message);

/// <summary>ONNX's TensorProto.DataType values that the importer reads.</summary>
internal enum OnnxDataType
{
    Undefined = 0, Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7,
    String = 8, Bool = 9, Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13,
}

/// <summary>A TensorProto: dims and data, decoded to doubles (floating types) or longs (integer and bool types).</summary>
internal sealed class OnnxTensorProto
{
    public string Name = "";
    public OnnxDataType DataType;
    public long[] Dims = [];
    public double[]? Floating;
    public long[]? Integer;

    public bool IsFloating => DataType is OnnxDataType.Float or OnnxDataType.Double;

    public static OnnxTensorProto Read(ProtoReader r)
    {
        var t = new OnnxTensorProto();
        var dims = new List<long>();
        var floats = new List<float>();
        var doubles = new List<double>();
        var ints = new List<long>();
        ReadOnlyMemory<byte>? raw = null;
        bool external = false;
        while (r.Next(out int field, out int wire))
        {
            switch (field)
            {
                case 1: r.ReadRepeatedInt64(wire, dims); break;
                case 2: t.DataType = (OnnxDataType)r.ReadInt32(); break;
                case 4: r.ReadRepeatedFloat(wire, floats); break;
                case 5: // int32_data also carries bool/int8/uint8/int16/uint16/float16 values
                case 7: r.ReadRepeatedInt64(wire, ints); break;
                case 8: t.Name = r.ReadString(); break;
                case 9: raw = r.ReadBytes(); break;
                case 10: r.ReadRepeatedDouble(wire, doubles); break;
                case 13: r.Skip(wire); external = true; break;
                case 14: external |= r.ReadInt32() == 1; break;
                default: r.Skip(wire); break;
            }
        }
        t.Dims = [.. dims];
        string label = t.Name.Length > 0 ? $"tensor '{t.Name}'" : "a constant tensor";
        if (external)
            throw new OnnxFormatException($"{label} stores its data in an external file; export the model with the weights inside it (save_as_external_data=False).");
        foreach (long d in t.Dims)
            if (d < 0) throw new OnnxFormatException($"{label} has a negative dimension in [{string.Join(", ", t.Dims)}].");
        long count = 1;
        foreach (long d in t.Dims) count = checked(count * d);
        switch (t.DataType)
        {
            case OnnxDataType.Float:
                t.Floating = raw is { } rf ? Decode(rf.Span, 4, count, label, (s) => BinaryPrimitives.ReadSingleLittleEndian(s)) : Check([.. floats.Select(f => (double)f)], count, label);
                break;
            case OnnxDataType.Double:
                t.Floating = raw is { } rd ? Decode(rd.Span, 8, count, label, (s) => BinaryPrimitives.ReadDoubleLittleEndian(s)) : Check([.. doubles], count, label);
                break;
            case OnnxDataType.Int64:
                t.Integer = raw is { } r64 ? DecodeInt(r64.Span, 8, count, label, s => BinaryPrimitives.ReadInt64LittleEndian(s)) : CheckInt([.. ints], count, label);
                break;
            case OnnxDataType.Int32:
                t.Integer = raw is { } r32 ? DecodeInt(r32.Span, 4, count, label, s => BinaryPrimitives.ReadInt32LittleEndian(s)) : CheckInt([.. ints], count, label);
                break;
            case OnnxDataType.Bool or OnnxDataType.UInt8:
                t.Integer = raw is { } rb ? DecodeInt(rb.Span, 1, count, label, s => s[0]) : CheckInt([.. ints], count, label);
                break;
            case OnnxDataType.Int8:
                t.Integer = raw is { } ri8 ? DecodeInt(ri8.Span, 1, count, label, s => (sbyte)s[0]) : CheckInt([.. ints], count, label);
                break;
            default:
                throw new OnnxFormatException($"{label} has data type {t.DataType}; the importer reads float, double, int64, int32, int8, uint8 and bool tensors.");
        }
        return t;
    }

    private static double[] Decode(ReadOnlySpan<byte> raw, int size, long count, string label, Func<ReadOnlySpan<byte>, double> read)
    {
        if (raw.Length != count * size)
            throw new OnnxFormatException($"{label} has {raw.Length} bytes of raw data; its shape needs {count} × {size}.");
        var values = new double[count];
        for (int i = 0; i < values.Length; i++)
            values[i] = read(raw.Slice(i * size, size));
        return values;
    }

    private static long[] DecodeInt(ReadOnlySpan<byte> raw, int size, long count, string label, Func<ReadOnlySpan<byte>, long> read)
    {
        if (raw.Length != count * size)
            throw new OnnxFormatException($"{label} has {raw.Length} bytes of raw data; its shape needs {count} × {size}.");
        var values = new long[count];
        for (int i = 0; i < values.Length; i++)
            values[i] = read(raw.Slice(i * size, size));
        return values;
    }

    private static double[] Check(double[] values, long count, string label) =>
        values.Length == count ? values : throw new OnnxFormatException($"{label} has {values.Length} values; its shape [..] needs {count}.");

    private static long[] CheckInt(long[] values, long count, string label) =>
        values.Length == count ? values : throw new OnnxFormatException($"{label} has {values.Length} values; its shape needs {count}.");
}

/// <summary>An AttributeProto (the kinds ONNX operators of the supported set use).</summary>
internal sealed class OnnxAttribute
{
    public string Name = "";
    public int Type;
    public float F;
    public long I;
    public string S = "";
    public OnnxTensorProto? T;
    public List<float> Floats = [];
    public List<long> Ints = [];
    public bool HasGraph;

    public static OnnxAttribute Read(ProtoReader r)
    {
        var a = new OnnxAttribute();
        while (r.Next(out int field, out int wire))
        {
            switch (field)
            {
                case 1: a.Name = r.ReadString(); break;
                case 2: r.Expect(wire, 5); a.F = r.ReadFloat(); break;
                case 3: a.I = r.ReadInt64(); break;
                case 4: a.S = r.ReadString(); break;
                case 5: a.T = OnnxTensorProto.Read(r.ReadMessage("TensorProto")); break;
                case 6: case 11: r.Skip(wire); a.HasGraph = true; break;
                case 7: r.ReadRepeatedFloat(wire, a.Floats); break;
                case 8: r.ReadRepeatedInt64(wire, a.Ints); break;
                case 20: a.Type = r.ReadInt32(); break;
                default: r.Skip(wire); break;
            }
        }
        return a;
    }
}

/// <summary>A NodeProto.</summary>
internal sealed class OnnxNodeProto
{
    public List<string> Inputs = [];
    public List<string> Outputs = [];
    public string Name = "";
    public string OpType = "";
    public string Domain = "";
    public Dictionary<string, OnnxAttribute> Attributes = [];

    public static OnnxNodeProto Read(ProtoReader r)
    {
        var n = new OnnxNodeProto();
        while (r.Next(out int field, out int wire))
        {
            switch (field)
            {
                case 1: n.Inputs.Add(r.ReadString()); break;
                case 2: n.Outputs.Add(r.ReadString()); break;
                case 3: n.Name = r.ReadString(); break;
                case 4: n.OpType = r.ReadString(); break;
                case 5:
                    var a = OnnxAttribute.Read(r.ReadMessage("AttributeProto"));
                    n.Attributes[a.Name] = a;
                    break;
                case 7: n.Domain = r.ReadString(); break;
                default: r.Skip(wire); break;
            }
        }
        return n;
    }
}

/// <summary>A ValueInfoProto of a tensor: name, element type, dimensions (null where symbolic or absent).</summary>
internal sealed class OnnxValueInfo
{
    public string Name = "";
    public OnnxDataType ElementType;
    public List<long?> Dims = [];
    public List<string?> DimNames = [];
    public bool HasShape;

    public static OnnxValueInfo Read(ProtoReader r)
    {
        var v = new OnnxValueInfo();
        while (r.Next(out int field, out int wire))
        {
            if (field == 1) v.Name = r.ReadString();
            else if (field == 2) ReadType(r.ReadMessage("TypeProto"), v);
            else r.Skip(wire);
        }
        return v;
    }

    private static void ReadType(ProtoReader r, OnnxValueInfo v)
    {
        while (r.Next(out int field, out int wire))
        {
            if (field != 1) { r.Skip(wire); continue; } // only tensor types
            var tensor = r.ReadMessage("TypeProto.Tensor");
            while (tensor.Next(out int tf, out int tw))
            {
                if (tf == 1) v.ElementType = (OnnxDataType)tensor.ReadInt32();
                else if (tf == 2)
                {
                    v.HasShape = true;
                    var shape = tensor.ReadMessage("TensorShapeProto");
                    while (shape.Next(out int sf, out int sw))
                    {
                        if (sf != 1) { shape.Skip(sw); continue; }
                        var dim = shape.ReadMessage("TensorShapeProto.Dimension");
                        long? value = null;
                        string? name = null;
                        while (dim.Next(out int df, out int dw))
                        {
                            if (df == 1) value = dim.ReadInt64();
                            else if (df == 2) name = dim.ReadString();
                            else dim.Skip(dw);
                        }
                        v.Dims.Add(value);
                        v.DimNames.Add(name);
                    }
                }
                else tensor.Skip(tw);
            }
        }
    }
}

/// <summary>A GraphProto.</summary>
internal sealed class OnnxGraphProto
{
    public string Name = "";
    public List<OnnxNodeProto> Nodes = [];
    public List<OnnxTensorProto> Initializers = [];
    public List<OnnxValueInfo> Inputs = [];
    public List<OnnxValueInfo> Outputs = [];

    public static OnnxGraphProto Read(ProtoReader r)
    {
        var g = new OnnxGraphProto();
        while (r.Next(out int field, out int wire))
        {
            switch (field)
            {
                case 1: g.Nodes.Add(OnnxNodeProto.Read(r.ReadMessage("NodeProto"))); break;
                case 2: g.Name = r.ReadString(); break;
                case 5: g.Initializers.Add(OnnxTensorProto.Read(r.ReadMessage("TensorProto"))); break;
                case 11: g.Inputs.Add(OnnxValueInfo.Read(r.ReadMessage("ValueInfoProto"))); break;
                case 12: g.Outputs.Add(OnnxValueInfo.Read(r.ReadMessage("ValueInfoProto"))); break;
                case 15: throw new OnnxFormatException("the graph has sparse initializers, which the importer does not read.");
                default: r.Skip(wire); break;
            }
        }
        return g;
    }
}

/// <summary>A ModelProto: IR version, opset imports, producer and the graph.</summary>
internal sealed class OnnxModelProto
{
    public long IrVersion;
    public Dictionary<string, long> Opsets = [];
    public string Producer = "";
    public OnnxGraphProto? Graph;

    public static OnnxModelProto Read(ReadOnlyMemory<byte> bytes)
    {
        var m = new OnnxModelProto();
        var r = new ProtoReader(bytes, "ModelProto");
        string producerVersion = "";
        while (r.Next(out int field, out int wire))
        {
            switch (field)
            {
                case 1: m.IrVersion = r.ReadInt64(); break;
                case 2: m.Producer = r.ReadString(); break;
                case 3: producerVersion = r.ReadString(); break;
                case 7: m.Graph = OnnxGraphProto.Read(r.ReadMessage("GraphProto")); break;
                case 8:
                    var set = r.ReadMessage("OperatorSetIdProto");
                    string domain = "";
                    long version = 0;
                    while (set.Next(out int sf, out int sw))
                    {
                        if (sf == 1) domain = set.ReadString();
                        else if (sf == 2) version = set.ReadInt64();
                        else set.Skip(sw);
                    }
                    m.Opsets[domain == "ai.onnx" ? "" : domain] = version;
                    break;
                default: r.Skip(wire); break;
            }
        }
        if (producerVersion.Length > 0) m.Producer = $"{m.Producer} {producerVersion}".Trim();
        return m;
    }
}
