using System.Globalization;
using System.Text.Json;

namespace JetSharp.Nn;

/// <summary>Raised when a checkpoint was saved for a different model than the one it is loaded into; names both.</summary>
public sealed class CheckpointMismatchException(string message) : IOException(message);

/// <summary>
/// A snapshot of training: the model's architecture and parameters, and (optionally) the step count,
/// training time, optimizer state, loss history and free-form metadata.
/// <para>
/// The file is UTF-8 JSON (human-readable, diffable, no dependencies):
/// <code>
/// {
///   "format": "jetsharp-checkpoint", "version": 1,
///   "architecture": "mlp 2→32→32→1 tanh",          // compared on load
///   "parameters": [ { "shape": [2, 32], "values": [ … ] }, … ],   // row-major, float64
///   "step": 1200, "phase": 0, "phaseStep": 1200, "elapsedSeconds": 81.4,
///   "optimizer": { "name": "adam", "steps": 1200, "arrays": { "m": [ … ], "v": [ … ] }, "scalars": { } },
///   "history": { "step": [ … ], "loss": [ … ], "error": [ … ], "seconds": [ … ] },
///   "metadata": { "example": "poisson2d" }
/// }
/// </code>
/// Numbers are written in the shortest form that round-trips exactly; NaN and ±∞ are written as the
/// strings "NaN", "Infinity", "-Infinity" (JSON has no such numbers), and a missing error is null.
/// </para>
/// </summary>
public sealed class Checkpoint
{
    public const string FormatName = "jetsharp-checkpoint";
    public const int FormatVersion = 1;

    public Checkpoint(string architecture, IReadOnlyList<NDArray<double>> parameters)
    {
        if (string.IsNullOrWhiteSpace(architecture)) throw new ArgumentException("Checkpoint: the architecture description must not be empty.", nameof(architecture));
        ArgumentNullException.ThrowIfNull(parameters);
        Architecture = architecture;
        Parameters = [.. parameters.Select(p => p.Clone())];
    }

    /// <summary>A short description of the model (e.g. <see cref="Mlp.Architecture"/>); checkpoints only load into the same architecture.</summary>
    public string Architecture { get; }

    /// <summary>Parameter values (float64 copies).</summary>
    public NDArray<double>[] Parameters { get; }

    public Shape[] ParameterShapes => [.. Parameters.Select(p => p.Shape)];

    /// <summary>Training steps completed.</summary>
    public long Step { get; init; }

    /// <summary>Index of the training phase the next step belongs to.</summary>
    public int Phase { get; init; }

    /// <summary>Steps completed within that phase.</summary>
    public long PhaseStep { get; init; }

    /// <summary>Training wall time so far (summed over resumed runs).</summary>
    public double ElapsedSeconds { get; init; }

    public OptimizerState? Optimizer { get; init; }

    public IReadOnlyList<TrainingRecord> History { get; init; } = [];

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Checks that the checkpoint fits a model; throws <see cref="CheckpointMismatchException"/> naming both architectures otherwise.</summary>
    public void CheckCompatible(string architecture, IReadOnlyList<Shape> shapes, string? source = null)
    {
        bool sameShapes = shapes.Count == Parameters.Length && shapes.Select((s, i) => s == Parameters[i].Shape).All(b => b);
        if (architecture == Architecture && sameShapes) return;
        string Describe(string arch, IEnumerable<Shape> ss) => $"'{arch}' (parameters {string.Join(", ", ss)})";
        throw new CheckpointMismatchException(
            $"Checkpoint{(source is null ? "" : $" '{source}'")} holds {Describe(Architecture, ParameterShapes)}, " +
            $"but the model is {Describe(architecture, shapes)}; it cannot be loaded into a different architecture.");
    }

    /// <summary>Writes the checkpoint (to a temporary file first, then moved into place, so an interrupted save never leaves a truncated file).</summary>
    public void Save(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        var temp = path + ".tmp";
        using (var stream = File.Create(temp))
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("format", FormatName);
            w.WriteNumber("version", FormatVersion);
            w.WriteString("architecture", Architecture);
            w.WriteStartArray("parameters");
            foreach (var p in Parameters)
            {
                w.WriteStartObject();
                w.WriteStartArray("shape");
                foreach (var d in p.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                WriteArray(w, "values", p.Data);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("step", Step);
            w.WriteNumber("phase", Phase);
            w.WriteNumber("phaseStep", PhaseStep);
            WriteNumber(w, "elapsedSeconds", ElapsedSeconds);
            if (Optimizer is { } o)
            {
                w.WriteStartObject("optimizer");
                w.WriteString("name", o.Name);
                w.WriteNumber("steps", o.Steps);
                w.WriteStartObject("arrays");
                foreach (var (k, v) in o.Arrays) WriteArray(w, k, v);
                w.WriteEndObject();
                w.WriteStartObject("scalars");
                foreach (var (k, v) in o.Scalars) WriteNumber(w, k, v);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteStartObject("history");
            WriteArray(w, "step", History.Select(h => (double)h.Step).ToArray());
            WriteArray(w, "loss", History.Select(h => h.Loss).ToArray());
            w.WriteStartArray("error");
            foreach (var h in History)
                if (h.Error is { } e) WriteValue(w, e); else w.WriteNullValue();
            w.WriteEndArray();
            WriteArray(w, "seconds", History.Select(h => h.Seconds).ToArray());
            w.WriteEndObject();
            w.WriteStartObject("metadata");
            foreach (var (k, v) in Metadata) w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Reads a checkpoint; throws <see cref="InvalidDataException"/> naming the file and the problem when it is not one.</summary>
    public static Checkpoint Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint: no file '{path}'.", path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            if (!root.TryGetProperty("format", out var fmt) || fmt.GetString() != FormatName)
                throw new InvalidDataException($"Checkpoint '{path}' is not a {FormatName} file.");
            int version = root.GetProperty("version").GetInt32();
            if (version != FormatVersion)
                throw new InvalidDataException($"Checkpoint '{path}' has format version {version}; this library reads version {FormatVersion}.");
            var parameters = new List<NDArray<double>>();
            foreach (var p in root.GetProperty("parameters").EnumerateArray())
            {
                var shape = new Shape([.. p.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32())]);
                var values = ReadArray(p.GetProperty("values"));
                if (values.Length != shape.Size)
                    throw new InvalidDataException($"Checkpoint '{path}': parameter {parameters.Count} has shape {shape} ({shape.Size} values) but stores {values.Length} values.");
                parameters.Add(new NDArray<double>(shape, values));
            }
            OptimizerState? optimizer = null;
            if (root.TryGetProperty("optimizer", out var o) && o.ValueKind == JsonValueKind.Object)
            {
                var arrays = o.GetProperty("arrays").EnumerateObject().ToDictionary(e => e.Name, e => ReadArray(e.Value));
                var scalars = o.GetProperty("scalars").EnumerateObject().ToDictionary(e => e.Name, e => ReadValue(e.Value));
                optimizer = new OptimizerState(o.GetProperty("name").GetString()!, o.GetProperty("steps").GetInt64(), arrays, scalars);
            }
            var history = new List<TrainingRecord>();
            if (root.TryGetProperty("history", out var h))
            {
                var steps = ReadArray(h.GetProperty("step"));
                var loss = ReadArray(h.GetProperty("loss"));
                var errors = h.GetProperty("error").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? (double?)null : ReadValue(e)).ToArray();
                var seconds = ReadArray(h.GetProperty("seconds"));
                if (loss.Length != steps.Length || errors.Length != steps.Length || seconds.Length != steps.Length)
                    throw new InvalidDataException($"Checkpoint '{path}': history columns have different lengths.");
                for (int i = 0; i < steps.Length; i++) history.Add(new TrainingRecord((long)steps[i], loss[i], errors[i], seconds[i]));
            }
            var metadata = root.TryGetProperty("metadata", out var m)
                ? m.EnumerateObject().ToDictionary(e => e.Name, e => e.Value.GetString() ?? "")
                : [];
            return new Checkpoint(root.GetProperty("architecture").GetString()!, parameters)
            {
                Step = root.GetProperty("step").GetInt64(),
                Phase = root.TryGetProperty("phase", out var ph) ? ph.GetInt32() : 0,
                PhaseStep = root.TryGetProperty("phaseStep", out var ps) ? ps.GetInt64() : 0,
                ElapsedSeconds = root.TryGetProperty("elapsedSeconds", out var el) ? ReadValue(el) : 0,
                Optimizer = optimizer,
                History = history,
                Metadata = metadata,
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"Checkpoint '{path}' is damaged or not a checkpoint: {e.Message}", e);
        }
    }

    /// <summary>Loads a checkpoint and checks it against the model's architecture and parameter shapes.</summary>
    public static Checkpoint Load(string path, string architecture, IReadOnlyList<Shape> shapes)
    {
        var c = Load(path);
        c.CheckCompatible(architecture, shapes, path);
        return c;
    }

    /// <summary>Saves an MLP's current parameters (architecture <see cref="Mlp.Architecture"/>).</summary>
    public static void Save(Mlp network, string path) =>
        new Checkpoint(network.Architecture, [.. network.Parameters.Select(p => p as NDArray<double> ?? p.To<double>())]).Save(path);

    /// <summary>Loads parameters saved for the same architecture into an MLP (converted to its dtype).</summary>
    public static void LoadInto(Mlp network, string path)
    {
        var c = Load(path, network.Architecture, network.ParameterShapes);
        network.Parameters = [.. c.Parameters.Select((p, i) => network.Parameters[i].DType == DType.Float64 ? (NDArray)p : p.To<float>())];
    }

    private static void WriteArray(Utf8JsonWriter w, string name, double[] values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) WriteValue(w, v);
        w.WriteEndArray();
    }

    private static void WriteNumber(Utf8JsonWriter w, string name, double v)
    {
        w.WritePropertyName(name);
        WriteValue(w, v);
    }

    private static void WriteValue(Utf8JsonWriter w, double v)
    {
        if (double.IsFinite(v)) w.WriteRawValue(v.ToString("R", CultureInfo.InvariantCulture), skipInputValidation: true);
        else w.WriteStringValue(double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    }

    private static double[] ReadArray(JsonElement e) => [.. e.EnumerateArray().Select(ReadValue)];

    private static double ReadValue(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.String => e.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var s => throw new FormatException($"'{s}' is not a number."),
        },
        _ => throw new FormatException($"expected a number, found {e.ValueKind}."),
    };
}
