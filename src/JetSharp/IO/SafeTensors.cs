using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using JetSharp.Tensors;

namespace JetSharp.IO;

/// <summary>
/// Reads and writes the <b>safetensors</b> format, the weight-file format PyTorch, JAX and Hugging Face
/// users exchange. A file is
/// <list type="number">
/// <item>8 bytes: N, the header length, an unsigned 64-bit little-endian integer (at most
///   <see cref="MaxHeaderBytes"/>);</item>
/// <item>N bytes: a UTF-8 JSON object, starting with <c>{</c> and possibly padded with spaces,
///   <c>{"NAME": {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]}, …, "__metadata__": {"key": "value", …}}</c>;
///   offsets count bytes from the start of the data section, END is one past the last byte;</item>
/// <item>the data section: every tensor's elements, row-major and little-endian, back to back. The
///   tensors cover the section exactly: no holes, no overlaps, nothing after the last one.</item>
/// </list>
/// JetSharp reads and writes the dtypes <c>F32</c> and <c>F64</c>; a file holding another dtype (F16, BF16,
/// integers …) is refused with a <see cref="NotSupportedException"/> naming the tensor and its dtype.
/// <para>
/// Writing follows the reference implementation's layout, so the same tensors and metadata give the same
/// bytes: tensors ordered by element size (largest first) and then by name, a compact header padded with
/// spaces to a multiple of 8 bytes (so every tensor starts 8-byte aligned), metadata keys sorted. Reading
/// streams each tensor straight into the storage of a new <see cref="NDArray{T}"/>: the file is never held
/// in memory whole, and no result shares memory with anything else.
/// </para>
/// </summary>
public static class SafeTensors
{
    /// <summary>The largest header accepted (100 MB, the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>The header key of the string-to-string metadata map.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>
    /// Writes tensors (float32 or float64) and optional string metadata to <paramref name="path"/>. The file is
    /// written under a temporary name and then moved into place, so an interrupted write never leaves a
    /// truncated file at <paramref name="path"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A name is empty, repeated or <c>__metadata__</c>.</exception>
    public static void Write(string path, IEnumerable<KeyValuePair<string, NDArray>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var layout = Plan(tensors, metadata);   // argument errors before the file is touched
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        var temp = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
                Emit(stream, layout);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Writes tensors and optional string metadata to <paramref name="stream"/> (at its current position; the stream is not closed).</summary>
    /// <exception cref="ArgumentException">A name is empty, repeated or <c>__metadata__</c>.</exception>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, NDArray>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Emit(stream, Plan(tensors, metadata));
    }

    /// <summary>Reads every tensor and the metadata of the safetensors file at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not valid safetensors (the message names the file and the problem).</exception>
    /// <exception cref="NotSupportedException">A tensor has a dtype other than F32 or F64 (named, with the tensor).</exception>
    public static SafeTensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors: no file '{path}'.", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(stream, $"'{path}'");
    }

    /// <summary>
    /// Reads every tensor and the metadata of a safetensors file from <paramref name="stream"/>, which must end
    /// where the file ends (a seekable stream is checked against its length, any other is read to its end).
    /// </summary>
    /// <param name="stream">The file's bytes from the current position on.</param>
    /// <param name="source">How errors name the file (e.g. its path); "stream" when null.</param>
    /// <exception cref="InvalidDataException">The bytes are not valid safetensors (the message names <paramref name="source"/> and the problem).</exception>
    /// <exception cref="NotSupportedException">A tensor has a dtype other than F32 or F64 (named, with the tensor).</exception>
    public static SafeTensorsFile Read(Stream stream, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        string where = source ?? "stream";
        long? available = stream.CanSeek ? stream.Length - stream.Position : null;

        Span<byte> prefix = stackalloc byte[8];
        int got = stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false);
        if (got < 8)
            throw Invalid(where, $"it has {got} byte(s); a safetensors file starts with an 8-byte header length");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderBytes)
            throw Invalid(where, $"the header length is {n} bytes, over the limit of {MaxHeaderBytes}");
        if (available is { } a && (long)n > a - 8)
            throw Invalid(where, $"the header length is {n} bytes but only {a - 8} bytes follow the length field (truncated file?)");
        var header = new byte[(int)n];
        if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length)
            throw Invalid(where, $"the file ends inside the {n}-byte header (truncated file?)");

        var (entries, metadata) = ParseHeader(header, where);
        long dataBytes = CheckLayout(entries, where);
        if (available is { } total && total != 8 + (long)n + dataBytes)
            throw Invalid(where, total < 8 + (long)n + dataBytes
                ? $"the header describes {dataBytes} bytes of tensor data but only {total - 8 - (long)n} follow it (truncated file?)"
                : $"{total - 8 - (long)n - dataBytes} byte(s) follow the last tensor; the tensors must cover the data section exactly");

        var tensors = new List<KeyValuePair<string, NDArray>>(entries.Count);
        foreach (var e in entries)   // in offset order: the data section is read front to back
        {
            NDArray t = e.DType == DType.Float32 ? ReadTensor<float>(stream, e, where) : ReadTensor<double>(stream, e, where);
            tensors.Add(new(e.Name, t));
        }
        if (available is null && stream.ReadByte() >= 0)
            throw Invalid(where, "bytes follow the last tensor; the tensors must cover the data section exactly");
        return new SafeTensorsFile(tensors, metadata);
    }

    // ---- writing ----

    private sealed record Planned(string Name, NDArray Tensor, long Begin, long End);

    private sealed record Layout(byte[] Header, IReadOnlyList<Planned> Tensors);

    private static Layout Plan(IEnumerable<KeyValuePair<string, NDArray>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = new List<KeyValuePair<string, NDArray>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, t) in tensors)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("SafeTensors.Write: a tensor name is empty.", nameof(tensors));
            if (name == MetadataKey) throw new ArgumentException($"SafeTensors.Write: '{MetadataKey}' is reserved for the metadata and cannot name a tensor.", nameof(tensors));
            if (t is null) throw new ArgumentException($"SafeTensors.Write: tensor '{name}' is null.", nameof(tensors));
            if (!seen.Add(name)) throw new ArgumentException($"SafeTensors.Write: the name '{name}' is given twice.", nameof(tensors));
            list.Add(new(name, t));
        }
        if (metadata is not null)
            foreach (var (k, v) in metadata)
                if (v is null) throw new ArgumentException($"SafeTensors.Write: metadata '{k}' is null; metadata values are strings.", nameof(metadata));

        // Largest elements first, then by name (UTF-8 byte order), as the reference writer does: every tensor stays aligned to its element size.
        list.Sort((x, y) =>
        {
            int bySize = y.Value.DType.SizeInBytes().CompareTo(x.Value.DType.SizeInBytes());
            return bySize != 0 ? bySize : CompareUtf8(x.Key, y.Key);
        });
        var planned = new List<Planned>(list.Count);
        long offset = 0;
        foreach (var (name, t) in list)
        {
            planned.Add(new(name, t, offset, offset + t.Bytes));
            offset += t.Bytes;
        }

        var json = new ArrayBufferWriter();
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata.OrderBy(p => p.Key, Comparer<string>.Create(CompareUtf8))) w.WriteString(k, v);
                w.WriteEndObject();
            }
            foreach (var p in planned)
            {
                w.WriteStartObject(p.Name);
                w.WriteString("dtype", p.Tensor.DType == DType.Float32 ? "F32" : "F64");
                w.WriteStartArray("shape");
                foreach (var d in p.Tensor.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(p.Begin);
                w.WriteNumberValue(p.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int padded = (json.Length + 7) / 8 * 8;
        if (padded > MaxHeaderBytes) throw new ArgumentException($"SafeTensors.Write: the header would be {padded} bytes, over the limit of {MaxHeaderBytes}.", nameof(tensors));
        var header = new byte[padded];
        json.Written.CopyTo(header);
        header.AsSpan(json.Length).Fill((byte)' ');
        return new Layout(header, planned);
    }

    private static void Emit(Stream stream, Layout layout)
    {
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)layout.Header.Length);
        stream.Write(prefix);
        stream.Write(layout.Header);
        foreach (var p in layout.Tensors)
        {
            switch (p.Tensor)
            {
                case NDArray<float> f: WriteElements<float>(stream, f.Data); break;
                case NDArray<double> d: WriteElements<double>(stream, d.Data); break;
                default: throw new NotSupportedException($"SafeTensors.Write: tensor '{p.Name}' has dtype {p.Tensor.DType.Name()}.");
            }
        }
        stream.Flush();
    }

    private static void WriteElements<T>(Stream stream, T[] data) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (BitConverter.IsLittleEndian) { stream.Write(MemoryMarshal.AsBytes(data.AsSpan())); return; }
        var copy = (T[])data.Clone();
        SwapBytes<T>(MemoryMarshal.AsBytes(copy.AsSpan()));
        stream.Write(MemoryMarshal.AsBytes(copy.AsSpan()));
    }

    // ---- reading ----

    private sealed record Entry(string Name, DType DType, int[] Dims, long Begin, long End);

    private static (List<Entry> Entries, Dictionary<string, string> Metadata) ParseHeader(byte[] header, string where)
    {
        if (header.Length == 0 || header[0] != (byte)'{')
            throw Invalid(where, "the header does not start with '{'");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 }); }
        catch (JsonException e) { throw Invalid(where, $"the header is not valid JSON ({e.Message})"); }
        catch (ArgumentException e) { throw Invalid(where, $"the header is not valid UTF-8 JSON ({e.Message})"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Invalid(where, "the header is not a JSON object");
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!names.Add(prop.Name)) throw Invalid(where, $"the header names '{prop.Name}' twice");
                if (prop.Name == MetadataKey)
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw Invalid(where, $"'{MetadataKey}' is {prop.Value.ValueKind}, not an object of strings");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw Invalid(where, $"metadata '{m.Name}' is {m.Value.ValueKind}; metadata values must be strings");
                        if (!metadata.TryAdd(m.Name, m.Value.GetString()!)) throw Invalid(where, $"the metadata names '{m.Name}' twice");
                    }
                    continue;
                }
                entries.Add(ParseEntry(prop.Name, prop.Value, where));
            }
            return (entries, metadata);
        }
    }

    private static Entry ParseEntry(string name, JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Invalid(where, $"tensor '{name}': its entry is {e.ValueKind}, not an object");
        string? dtype = null;
        int[]? dims = null;
        long[]? offsets = null;
        foreach (var f in e.EnumerateObject())
        {
            switch (f.Name)
            {
                case "dtype" when dtype is null:
                    dtype = f.Value.ValueKind == JsonValueKind.String ? f.Value.GetString() : throw Invalid(where, $"tensor '{name}': 'dtype' is {f.Value.ValueKind}, not a string");
                    break;
                case "shape" when dims is null:
                    dims = [.. Integers(f.Value, name, "shape", where).Select(d => d <= int.MaxValue ? (int)d : throw Invalid(where, $"tensor '{name}': extent {d} in 'shape' exceeds {int.MaxValue}"))];
                    break;
                case "data_offsets" when offsets is null:
                    offsets = Integers(f.Value, name, "data_offsets", where);
                    if (offsets.Length != 2) throw Invalid(where, $"tensor '{name}': 'data_offsets' has {offsets.Length} entries, not 2 ([BEGIN, END])");
                    break;
                case "dtype" or "shape" or "data_offsets":
                    throw Invalid(where, $"tensor '{name}': '{f.Name}' is given twice");
                default:
                    throw Invalid(where, $"tensor '{name}': unknown field '{f.Name}' (an entry has dtype, shape and data_offsets)");
            }
        }
        if (dtype is null || dims is null || offsets is null)
            throw Invalid(where, $"tensor '{name}': missing '{(dtype is null ? "dtype" : dims is null ? "shape" : "data_offsets")}'");
        var dt = dtype switch
        {
            "F32" => DType.Float32,
            "F64" => DType.Float64,
            "BOOL" or "U8" or "I8" or "F8_E5M2" or "F8_E4M3" or "F8_E8M0" or "F4" or "F6_E2M3" or "F6_E3M2" or "I16" or "U16" or "F16" or "BF16"
                or "I32" or "U32" or "I64" or "U64" or "C64"
                => throw new NotSupportedException($"safetensors {where}: tensor '{name}' has dtype {dtype}; JetSharp reads F32 and F64 only (convert it, e.g. with tensor.float() or tensor.double() in PyTorch)."),
            _ => throw Invalid(where, $"tensor '{name}': unknown dtype '{dtype}'"),
        };
        if (offsets[1] < offsets[0]) throw Invalid(where, $"tensor '{name}': data_offsets [{offsets[0]}, {offsets[1]}] end before they begin");
        long count = 1;
        foreach (var d in dims)
        {
            count *= d;   // each factor ≤ 2³¹ − 1, and count stays ≤ 2³¹ − 1 below, so no overflow
            if (count > int.MaxValue) throw Invalid(where, $"tensor '{name}': shape [{string.Join(", ", dims)}] has more than {int.MaxValue} elements");
        }
        long bytes = count * dt.SizeInBytes();
        if (offsets[1] - offsets[0] != bytes)
            throw Invalid(where, $"tensor '{name}': shape [{string.Join(", ", dims)}] of {dtype} needs {bytes} bytes but data_offsets [{offsets[0]}, {offsets[1]}] span {offsets[1] - offsets[0]}");
        return new Entry(name, dt, dims, offsets[0], offsets[1]);
    }

    private static long[] Integers(JsonElement e, string name, string field, string where)
    {
        if (e.ValueKind != JsonValueKind.Array) throw Invalid(where, $"tensor '{name}': '{field}' is {e.ValueKind}, not an array of integers");
        var r = new long[e.GetArrayLength()];
        int i = 0;
        foreach (var v in e.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x) || x < 0)
                throw Invalid(where, $"tensor '{name}': '{field}' entry {i} is {v.GetRawText()}, not a non-negative integer");
            r[i++] = x;
        }
        return r;
    }

    /// <summary>Sorts the entries by offset and checks that they tile [0, end) exactly; returns end.</summary>
    private static long CheckLayout(List<Entry> entries, string where)
    {
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long end = 0;
        Entry? previous = null;
        foreach (var e in entries)
        {
            if (e.Begin != end)
                throw Invalid(where, e.Begin < end
                    ? $"tensor '{e.Name}' (bytes {e.Begin}–{e.End}) overlaps tensor '{previous!.Name}' (bytes {previous.Begin}–{previous.End})"
                    : $"no tensor covers bytes {end}–{e.Begin} of the data section (before tensor '{e.Name}'); the data section may not have holes");
            end = e.End;
            previous = e;
        }
        return end;
    }

    private static NDArray<T> ReadTensor<T>(Stream stream, Entry e, string where) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = new NDArray<T>(new Shape(e.Dims));
        var bytes = MemoryMarshal.AsBytes(t.Data.AsSpan());
        int got = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (got < bytes.Length)
            throw Invalid(where, $"the data of tensor '{e.Name}' (bytes {e.Begin}–{e.End}) is cut off after {got} of {bytes.Length} bytes (truncated file?)");
        if (!BitConverter.IsLittleEndian) SwapBytes<T>(bytes);
        return t;
    }

    // ---- helpers ----

    private static void SwapBytes<T>(Span<byte> bytes) where T : unmanaged
    {
        int size = Marshal.SizeOf<T>();
        for (int i = 0; i < bytes.Length; i += size) bytes.Slice(i, size).Reverse();
    }

    private static int CompareUtf8(string a, string b) => Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b));

    private static InvalidDataException Invalid(string where, string problem) => new($"safetensors {where}: {problem}.");

    /// <summary>A growable byte buffer for the header (System.Buffers.ArrayBufferWriter without the package reference).</summary>
    private sealed class ArrayBufferWriter : System.Buffers.IBufferWriter<byte>
    {
        private byte[] _buffer = new byte[256];
        public int Length { get; private set; }
        public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, Length);
        public void Advance(int count) => Length += count;
        public Memory<byte> GetMemory(int sizeHint = 0) { Ensure(sizeHint); return _buffer.AsMemory(Length); }
        public Span<byte> GetSpan(int sizeHint = 0) { Ensure(sizeHint); return _buffer.AsSpan(Length); }
        private void Ensure(int hint)
        {
            int need = Length + Math.Max(hint, 1);
            if (need > _buffer.Length) Array.Resize(ref _buffer, Math.Max(need, 2 * _buffer.Length));
        }
    }
}

/// <summary>
/// The contents of a safetensors file: its tensors in file order (by data offset) and its metadata.
/// Each tensor owns its storage.
/// </summary>
public sealed class SafeTensorsFile
{
    private readonly Dictionary<string, NDArray> _byName;

    /// <summary>Tensors (float32 or float64, in the given order) and string metadata; used by the reader and by tests.</summary>
    public SafeTensorsFile(IReadOnlyList<KeyValuePair<string, NDArray>> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(metadata);
        _byName = new Dictionary<string, NDArray>(StringComparer.Ordinal);
        foreach (var (name, t) in tensors)
            if (!_byName.TryAdd(name, t)) throw new ArgumentException($"SafeTensorsFile: the name '{name}' is given twice.", nameof(tensors));
        Names = [.. tensors.Select(p => p.Key)];
        Metadata = new Dictionary<string, string>(metadata, StringComparer.Ordinal);
    }

    /// <summary>Tensor names in file order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The tensors by name.</summary>
    public IReadOnlyDictionary<string, NDArray> Tensors => _byName;

    /// <summary>The <c>__metadata__</c> map (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>True when the file holds a tensor of that name.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The tensor <paramref name="name"/>, which must have element type <typeparamref name="T"/>.</summary>
    /// <exception cref="KeyNotFoundException">There is no such tensor (the message lists the names there are).</exception>
    /// <exception cref="InvalidCastException">The tensor has the other dtype.</exception>
    public NDArray<T> Get<T>(string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!_byName.TryGetValue(name, out var t))
            throw new KeyNotFoundException($"safetensors: no tensor '{name}'; the file holds {(Names.Count == 0 ? "none" : string.Join(", ", Names.Take(20)) + (Names.Count > 20 ? ", …" : ""))}.");
        return t as NDArray<T> ?? throw new InvalidCastException($"safetensors: tensor '{name}' is {t.DType.Name()}, not {DTypes.Of<T>().Name()}.");
    }
}
