#:project ../../src/JetSharp.Nn/JetSharp.Nn.csproj
#:property TreatWarningsAsErrors=false
// Adam's update pass on ordinary and on tiny gradients. Run from the repository root:
//     dotnet run -c Release tools/bench/adam.cs [PARAMETERS [BLOCKS]]
// PARAMETERS float32 parameters (default 128 033 281, the STDE model at D = 10⁶), one Adam<float> (default ε = 10⁻⁸).
// What it showed (stde7 round, docs/examples/stde.md): tiny gradients make the pass ≈ 2.4× slower at 4.8·10⁷ parameters
// (subnormal (1−β₂)g²), but at 1.28·10⁸ the pass costs ≈ 1 s of CPU per step on ordinary values too — 10× the
// per-element cost at 4.8·10⁷ — and the STDE gradients at D = 10⁶ are not tiny enough to make subnormals.
// Each step's objective copies a prepared gradient into Adam's buffer; that copy is timed on its own and subtracted,
// so what is reported is Adam.Step less the objective: the update pass. Gradients: "ordinary" uniform in ±10⁻³, and
// "tiny" uniform in ±10⁻²⁰ (the textbook (1−β₂)g² is subnormal in float32). Blocks of 3 steps alternate between the two
// after one warm-up step each; minimum and median per kind, of wall time and of the process's CPU time (the latter
// less sensitive to other processes on the cores; it includes workers that spin while waiting).
using System.Diagnostics;
using System.Globalization;
using JetSharp.Nn;

int n = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 128_033_281;
int blocks = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
var rng = new Random(1);
float[] ordinary = new float[n], tiny = new float[n];
for (int i = 0; i < n; i++)
{
    float r = (float)(2 * rng.NextDouble() - 1);
    ordinary[i] = 1e-3f * r;
    tiny[i] = 1e-20f * r;
}
var theta = new float[n];
for (int i = 0; i < n; i++) theta[i] = (float)(0.1 * (2 * rng.NextDouble() - 1));
var adam = new Adam<float>(1e-4);
var times = new Dictionary<string, List<double>> { ["ordinary"] = [], ["tiny"] = [] };
var cpuTimes = new Dictionary<string, List<double>> { ["ordinary"] = [], ["tiny"] = [] };
var process = Process.GetCurrentProcess();
TimeSpan Cpu() { process.Refresh(); return process.TotalProcessorTime; }
(double Wall, double Cpu) Step(float[] source)
{
    var fill = new Stopwatch();
    TimeSpan fillCpu = TimeSpan.Zero;
    var cpu = Cpu();
    var all = Stopwatch.StartNew();
    adam.Step(theta, (_, g) => { var c = Cpu(); fill.Start(); source.CopyTo(g, 0); fill.Stop(); fillCpu = Cpu() - c; return 0f; });
    return ((all.Elapsed - fill.Elapsed).TotalMilliseconds, (Cpu() - cpu - fillCpu).TotalMilliseconds);
}
Console.WriteLine($"{n} float32 parameters, {Environment.ProcessorCount} cores");
for (int b = 0; b <= blocks; b++)
    foreach (var (kind, source) in new[] { ("ordinary", ordinary), ("tiny", tiny) })
        for (int s = 0; s < (b == 0 ? 1 : 3); s++)
        {
            var (wall, cpu) = Step(source);
            if (b > 0) { times[kind].Add(wall); cpuTimes[kind].Add(cpu); }
        }
foreach (var (kind, t) in times)
{
    var sorted = t.Order().ToList();
    var cpu = cpuTimes[kind].Order().ToList();
    Console.WriteLine($"{kind}: update pass wall min {sorted[0]:0.000} ms, median {sorted[sorted.Count / 2]:0.000} ms, max {sorted[^1]:0.000} ms; " +
        $"process CPU min {cpu[0]:0.000} ms, median {cpu[cpu.Count / 2]:0.000} ms ({t.Count} steps)");
}
