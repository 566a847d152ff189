#:project ../../src/JetSharp.Benchmarks/JetSharp.Benchmarks.csproj
#:property TieredCompilationQuickJit=false
#:property TieredPGO=true
#:property ServerGarbageCollection=false
#:property PublishAot=false
// The collapsed strategy of `jetsharp bench` cases alone, as JSON on stdout, for tools/peers/compare.py.
// Same cases (OperatorBenchmark.Cases), same measurement (OperatorBenchmark.Run: compile, warm-up, minimum over
// repeats per grid point, least-squares slope) and the CLI's JIT settings; only the strategies are restricted to
// Collapsed, so one round costs a third of `bench --only ...`. Run from the repository root:
//     dotnet run -c Release tools/peers/jetsharp_collapsed.cs -- float32|float64 REPEATS KEY[,KEY...]
using System.Globalization;
using System.Text.Json;
using JetSharp.Benchmarks;

var dtype = args.Length > 0 && args[0] == "float32" ? DType.Float32 : DType.Float64;
int repeats = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
var only = (args.Length > 2 ? args[2] : "weighted-laplacian-r50,weighted-laplacian-r25,weighted-laplacian-r5,stochastic-biharmonic")
    .Split(',').ToHashSet();
var options = new BenchmarkOptions { DType = dtype, Repeats = repeats, Training = false, Only = only, Strategies = [Strategy.Collapsed] };
var results = OperatorBenchmark.Run(options, p => Console.Error.WriteLine(p));
var json = results.Select(r => new
{
    key = r.Case.Key,
    axis = r.Case.Axis.ToString(),
    fixedBatch = r.Case.FixedBatch,
    msPerUnit = r.Of(Strategy.Collapsed).SecondsPerUnit * 1e3,
    points = r.Of(Strategy.Collapsed).Points.Select(p => new { x = p.X, seconds = p.Seconds }),
});
Console.WriteLine(JsonSerializer.Serialize(json));
