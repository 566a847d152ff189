#:project ../../src/JetSharp.Benchmarks/JetSharp.Benchmarks.csproj
#:property PublishAot=false
// Exports the bench's weighted-Laplacian cases for a cross-check with torch-jet (torchjet_extra.py --check-jetsharp DIR):
// the bench network (D = 50, seed 0) as DIR/weights.safetensors in PyTorch's layout, and DIR/case.json with σ (the
// bench's RandomNormal(D × R, seed 11) for R = 50, 25, 5), N = 3 points and JetSharp's collapsed tr(σσᵀ∇²f) at them,
// all float64. Run from the repository root:
//     dotnet run -c Release tools/peers/export_case.cs -- DIR
using System.Text.Json;
using JetSharp.Benchmarks;
using JetSharp.Nn;

string dir = args.Length > 0 ? args[0] : "peer-case";
Directory.CreateDirectory(dir);
const int d = OperatorBenchmark.ReferenceDimension, n = 3;
var net = Mlp.Create(d, OperatorBenchmark.Hidden, 1, Activation.Tanh, seed: 0, DType.Float64);
net.SaveWeights(Path.Combine(dir, "weights.safetensors"));
var x = NDArray.RandomNormal<double>(new Shape(n, d), seed: 1);
double[][] Rows(NDArray a, int rows, int cols) => [.. Enumerable.Range(0, rows).Select(i => Enumerable.Range(0, cols).Select(j => a.GetDouble(i * cols + j)).ToArray())];
var cases = new[] { 50, 25, 5 }.Select(rank =>
{
    // The bench's σ: OperatorBenchmark.Cases draws it exactly so (weighted-laplacian-r{rank}).
    var sigma = NDArray.RandomNormal<double>(new Shape(d, rank), seed: 11);
    var value = DifferentialOperator.WeightedLaplacian(sigma).Apply(v => net.Apply(v), x, Strategy.Collapsed);
    return new { rank, sigma = Rows(sigma, d, rank), value = Enumerable.Range(0, n).Select(i => value.GetDouble(i)).ToArray() };
}).ToArray();
File.WriteAllText(Path.Combine(dir, "case.json"), JsonSerializer.Serialize(new { widths = net.Widths, x = Rows(x, n, d), cases }));
Console.WriteLine($"wrote {dir}/weights.safetensors and {dir}/case.json");
