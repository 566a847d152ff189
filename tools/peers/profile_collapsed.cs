#:project ../../src/JetSharp.Benchmarks/JetSharp.Benchmarks.csproj
#:property TieredCompilationQuickJit=false
#:property TieredPGO=true
#:property PublishAot=false
// Where the time of one bench case's collapsed graph goes: per-layer vectors and the executable's per-step profile.
// Run from the repository root:
//     dotnet run -c Release tools/peers/profile_collapsed.cs -- float32|float64 KEY X [RUNS]
// X is the grid point (N for the per-datum cases, S for the stochastic ones).
using System.Globalization;
using JetSharp.Benchmarks;
using JetSharp.Nn;
using JetSharp.Runtime;
using JetSharp.Simplify;

var dtype = args[0] == "float32" ? DType.Float32 : DType.Float64;
var options = new BenchmarkOptions { DType = dtype, Training = false, Only = new HashSet<string> { args[1] } };
int x = int.Parse(args[2], CultureInfo.InvariantCulture), runs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 10;
var c = OperatorBenchmark.Cases(options).Single();
int n = c.Axis == GridAxis.Batch ? x : c.FixedBatch;
var net = Mlp.Create(c.Dimension, OperatorBenchmark.Hidden, 1, Activation.Tanh, seed: 0, dtype);
var input = NDArray.RandomNormal<double>(new Shape(n, c.Dimension), seed: 1);
NDArray xs = dtype == DType.Float64 ? input : input.To<float>();
var graph = c.Operator(x).Build(Tracer.Function(v => net.Apply(v), xs.Shape, dtype), Strategy.Collapsed);
var stats = GraphStats.Of(graph, n);
Console.WriteLine($"{c.Title}, {dtype}, N = {n}, x = {x}: {stats.NodeCount} nodes, {stats.MatMulFlops / 1e9:0.00} GFLOP in MatMuls; vectors per layer: {string.Join(", ", stats.PerLayer.Select(l => l.Vectors.ToString("0.#", CultureInfo.InvariantCulture)))}");
var exe = new Executable(graph);
exe.Run(xs);
exe.Profile = true;
var clock = System.Diagnostics.Stopwatch.StartNew();
for (int i = 0; i < runs; i++) exe.Run(xs);
Console.WriteLine($"{clock.Elapsed.TotalMilliseconds / runs:0.00} ms per run (wall, profiled)");
Console.WriteLine(exe.ProfileReport(40));
