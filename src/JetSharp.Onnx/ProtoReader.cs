using System.Buffers.Binary;
using System.Text;

namespace JetSharp.Onnx;

/// <summary>
/// A reader of the protobuf wire format over one message's bytes: field tags, varints, fixed 32/64-bit
/// values and length-delimited fields (strings, bytes, nested messages, packed repeated scalars).
/// Unknown fields are skipped, as protobuf requires. Every malformed byte sequence is an
/// <see cref="OnnxFormatException"/> naming the message being read.
/// </summary>
internal sealed class ProtoReader(ReadOnlyMemory<byte> data, string message)
{
    private readonly ReadOnlyMemory<byte> _data = data;
    private int _position;

    /// <summary>Whether every byte has been read.</summary>
    public bool AtEnd => _position >= _data.Length;

    /// <summary>The message type being read, for error messages.</summary>
    public string Message { get; } = message;

    /// <summary>Reads the next field's number and wire type; false at the end of the message.</summary>
    public bool Next(out int field, out int wireType)
    {
        if (AtEnd)
        {
            field = wireType = 0;
            return false;
        }
        ulong tag = ReadVarint();
        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        if (field <= 0)
            throw Error($"invalid field number {field}");
        return true;
    }

    /// <summary>A base-128 varint.</summary>
    public ulong ReadVarint()
    {
        ulong value = 0;
        var span = _data.Span;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_position >= span.Length)
                throw Error("truncated varint");
            byte b = span[_position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
                return value;
        }
        throw Error("varint longer than 10 bytes");
    }

    /// <summary>An int64 field (two's complement in a varint).</summary>
    public long ReadInt64() => (long)ReadVarint();

    /// <summary>An int32 field.</summary>
    public int ReadInt32() => (int)(long)ReadVarint();

    /// <summary>A 32-bit float (wire type 5).</summary>
    public float ReadFloat() => BinaryPrimitives.ReadSingleLittleEndian(Take(4).Span);

    /// <summary>A 64-bit float (wire type 1).</summary>
    public double ReadDouble() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8).Span);

    /// <summary>A length-delimited field's bytes.</summary>
    public ReadOnlyMemory<byte> ReadBytes()
    {
        ulong length = ReadVarint();
        if (length > (ulong)(_data.Length - _position))
            throw Error($"a length-delimited field of {length} bytes runs past the end ({_data.Length - _position} left)");
        return Take((int)length);
    }

    /// <summary>A UTF-8 string field.</summary>
    public string ReadString() => Encoding.UTF8.GetString(ReadBytes().Span);

    /// <summary>A nested message.</summary>
    public ProtoReader ReadMessage(string type) => new(ReadBytes(), type);

    /// <summary>
    /// Appends a repeated int64 field's values: one varint (wire type 0) or a packed run (wire type 2).
    /// </summary>
    public void ReadRepeatedInt64(int wireType, List<long> into)
    {
        if (wireType == 0)
        {
            into.Add(ReadInt64());
            return;
        }
        Expect(wireType, 2);
        var packed = new ProtoReader(ReadBytes(), Message);
        while (!packed.AtEnd)
            into.Add(packed.ReadInt64());
    }

    /// <summary>Appends a repeated float field's values (wire type 5, or packed).</summary>
    public void ReadRepeatedFloat(int wireType, List<float> into)
    {
        if (wireType == 5)
        {
            into.Add(ReadFloat());
            return;
        }
        Expect(wireType, 2);
        var bytes = ReadBytes().Span;
        if (bytes.Length % 4 != 0)
            throw Error($"packed floats of {bytes.Length} bytes (not a multiple of 4)");
        for (int i = 0; i < bytes.Length; i += 4)
            into.Add(BinaryPrimitives.ReadSingleLittleEndian(bytes[i..]));
    }

    /// <summary>Appends a repeated double field's values (wire type 1, or packed).</summary>
    public void ReadRepeatedDouble(int wireType, List<double> into)
    {
        if (wireType == 1)
        {
            into.Add(ReadDouble());
            return;
        }
        Expect(wireType, 2);
        var bytes = ReadBytes().Span;
        if (bytes.Length % 8 != 0)
            throw Error($"packed doubles of {bytes.Length} bytes (not a multiple of 8)");
        for (int i = 0; i < bytes.Length; i += 8)
            into.Add(BinaryPrimitives.ReadDoubleLittleEndian(bytes[i..]));
    }

    /// <summary>Checks a field's wire type.</summary>
    public void Expect(int wireType, int expected)
    {
        if (wireType != expected)
            throw Error($"wire type {wireType} where {expected} was expected");
    }

    /// <summary>Skips a field of an unknown number.</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case 0: ReadVarint(); break;
            case 1: Take(8); break;
            case 2: ReadBytes(); break;
            case 5: Take(4); break;
            default: throw Error($"unsupported wire type {wireType} (groups are not used by ONNX)");
        }
    }

    private ReadOnlyMemory<byte> Take(int count)
    {
        if (count > _data.Length - _position)
            throw Error($"truncated: {count} bytes needed, {_data.Length - _position} left");
        var slice = _data.Slice(_position, count);
        _position += count;
        return slice;
    }

    private OnnxFormatException Error(string what) => new($"malformed {Message}: {what}.");
}
