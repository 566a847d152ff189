#:project ../../examples/JetSharp.Examples/JetSharp.Examples.csproj
#:property TreatWarningsAsErrors=false
// Float32 against float64 training, and checkpoint sizes.  Run from the repository root:
//     dotnet run -c Release tools/bench/precision.cs [STEPS [SCALE]]
// 1. Seconds per training step (loss + gradient + Adam update) of the full poisson2d and heat PINNs in float64 and
//    float32: the same objective, parameters and points; warm-up, then per-step times in alternating blocks
//    (so machine load hits both alike); best and median reported, with their ratio.
// 2. Accuracy: the full poisson2d run (its step counts times SCALE, default 0.3) in float64 and float32:
//    relative L2 error, training time, steps.
// 3. Checkpoint bytes per parameter for the benchmarks' reference MLP (50 → 768 → 768 → 512 → 512 → 1,
//    1 286 657 parameters) with Adam state: the version-1 indented JSON (the structure the old writer emitted,
//    re-created here) against the safetensors checkpoint in float64 and float32.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using JetSharp.Examples;
using JetSharp.Nn;
using JetSharp.Operators;
using JetSharp.Tensors;

int steps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 30;
double scale = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 0.3;
Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores; timings are only comparable within one run");
foreach (PinnExample example in new PinnExample[] { new Poisson2d(), new Heat() })
{
    var config = example.Config(fast: false);
    var t64 = new List<double>();
    var t32 = new List<double>();
    var s64 = Stepper<double>(example, config);
    var s32 = Stepper<float>(example, config);
    for (int i = 0; i < 5; i++) { s64(); s32(); }
    for (int block = 0; block < steps / 5; block++)
    {
        for (int i = 0; i < 5; i++) t64.Add(s64());
        for (int i = 0; i < 5; i++) t32.Add(s32());
    }
    double Median(List<double> t) { var s = t.Order().ToList(); return s[s.Count / 2]; }
    Console.WriteLine($"{example.Name} ({config.Interior} interior points, hidden [{string.Join(", ", config.Hidden)}]): " +
        $"float64 best {t64.Min() * 1e3:0.00} ms, median {Median(t64) * 1e3:0.00} ms; float32 best {t32.Min() * 1e3:0.00} ms, median {Median(t32) * 1e3:0.00} ms; " +
        $"float64/float32 = {t64.Min() / t32.Min():0.00} (best), {Median(t64) / Median(t32):0.00} (median)");
}

foreach (var precision in new[] { DType.Float64, DType.Float32 })
{
    var r = new Poisson2d().Run(new ExampleOptions { Precision = precision, StepScale = scale });
    Console.WriteLine($"poisson2d full run × {scale} in {precision.Name()}: relative L2 error {r.Error:0.000e0} (target {r.Target:0.0e0}), " +
        $"{r.Training.Steps} steps in {r.Training.Elapsed.TotalSeconds:0.0} s ({r.Training.Steps / r.Training.Elapsed.TotalSeconds:0.0} steps/s), stopped: {r.Training.Stop}, final loss {r.Training.Loss:0.000e0}");
}

static Func<double> Stepper<T>(PinnExample example, PinnConfig config) where T : unmanaged, IFloatingPointIeee754<T>
{
    var objective = example.Build<T>(config, Strategy.Collapsed, seed: 0);
    var theta = example.InitialParameters<T>(fast: false);
    var adam = new Adam<T>(1e-3);
    objective.Resample(0, theta);
    return () =>
    {
        var clock = Stopwatch.StartNew();
        adam.Step(theta, objective.Evaluate);
        return clock.Elapsed.TotalSeconds;
    };
}

// ---- checkpoint sizes ----
var net = Mlp.Create(50, [768, 768, 512, 512], 1, Activation.Tanh, seed: 0);
int n = ParameterVector.Count(net.ParameterShapes);
var theta64 = ParameterVector.Flatten<double>(net.Parameters);
var gradient = NDArray.RandomNormal<double>(new Shape(n), 5).Data;
var adam64 = new Adam<double>(1e-3);
for (int s = 0; s < 3; s++) adam64.Step(theta64, (t, g) => { gradient.CopyTo(g, 0); return 1.0; });
var state = adam64.SaveState();
string dir = Path.Combine(Path.GetTempPath(), $"jetsharp-sizes-{Environment.ProcessId}");
Directory.CreateDirectory(dir);
try
{
    var history = Enumerable.Range(1, 3).Select(i => new TrainingRecord(i, 1.0 / i, null, 0.1 * i)).ToArray();
    var c64 = new Checkpoint(net.Architecture, ParameterVector.Unflatten<double>(theta64, net.ParameterShapes)) { Step = 3, PhaseStep = 3, Optimizer = state, History = history };
    string p64 = Path.Combine(dir, "c64.safetensors");
    c64.Save(p64);
    var theta32 = Array.ConvertAll(theta64, v => (float)v);
    var adam32 = new Adam<float>(1e-3);
    var g32 = Array.ConvertAll(gradient, v => (float)v);
    for (int s = 0; s < 3; s++) adam32.Step(theta32, (t, g) => { g32.CopyTo(g, 0); return 1f; });
    var c32 = new Checkpoint(net.Architecture, ParameterVector.Unflatten<float>(theta32, net.ParameterShapes)) { Step = 3, PhaseStep = 3, Optimizer = adam32.SaveState(), History = history };
    string p32 = Path.Combine(dir, "c32.safetensors");
    c32.Save(p32);
    string pJson = Path.Combine(dir, "v1.json");
    WriteVersion1(pJson, c64);
    var pWeights = Path.Combine(dir, "weights.safetensors");
    net.SaveWeights(pWeights);
    long Size(string p) => new FileInfo(p).Length;
    Console.WriteLine($"reference MLP, {n} parameters, Adam state (θ, m, v = 3 values per parameter):");
    Console.WriteLine($"  version-1 JSON (indented):   {Size(pJson),12:N0} bytes = {Size(pJson) / (double)n,6:0.00} bytes per parameter");
    Console.WriteLine($"  safetensors float64:         {Size(p64),12:N0} bytes = {Size(p64) / (double)n,6:0.00} bytes per parameter");
    Console.WriteLine($"  safetensors float32:         {Size(p32),12:N0} bytes = {Size(p32) / (double)n,6:0.00} bytes per parameter");
    Console.WriteLine($"  weights only (Mlp.SaveWeights, float64): {Size(pWeights):N0} bytes = {Size(pWeights) / (double)n:0.00} bytes per parameter");
    var clock = Stopwatch.StartNew();
    Checkpoint.Load(p64);
    Console.WriteLine($"  loading the float64 checkpoint: {clock.Elapsed.TotalMilliseconds:0} ms");
}
finally { Directory.Delete(dir, recursive: true); }

// The version-1 layout (indented UTF-8 JSON, shortest round-trip numbers), as the previous Checkpoint.Save wrote it.
static void WriteVersion1(string path, Checkpoint c)
{
    using var stream = File.Create(path);
    using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
    void Array(string name, IEnumerable<double> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteRawValue(v.ToString("R", CultureInfo.InvariantCulture), skipInputValidation: true);
        w.WriteEndArray();
    }
    w.WriteStartObject();
    w.WriteString("format", "jetsharp-checkpoint");
    w.WriteNumber("version", 1);
    w.WriteString("architecture", c.Architecture);
    w.WriteStartArray("parameters");
    foreach (var p in c.Parameters)
    {
        w.WriteStartObject();
        w.WriteStartArray("shape");
        foreach (var d in p.Shape) w.WriteNumberValue(d);
        w.WriteEndArray();
        Array("values", ((NDArray<double>)p).Data);
        w.WriteEndObject();
    }
    w.WriteEndArray();
    w.WriteNumber("step", c.Step);
    w.WriteStartObject("optimizer");
    w.WriteString("name", c.Optimizer!.Name);
    w.WriteNumber("steps", c.Optimizer.Steps);
    w.WriteStartObject("arrays");
    foreach (var (k, v) in c.Optimizer.Arrays) Array(k, ((NDArray<double>)v).Data);
    w.WriteEndObject();
    w.WriteEndObject();
    w.WriteEndObject();
}
