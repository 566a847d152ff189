// Uses the packed JetSharp and JetSharp.Nn the way a consumer would, and checks what they compute:
// the Laplacian of a function with a known Laplacian, and the Laplacian of a small MLP by two strategies.
using JetSharp.Nn;
using JetSharp.Operators;
using JetSharp.Primitives;
using JetSharp.Tensors;

var x = NDArray.RandomUniform<double>([32, 3], seed: 1, low: -1, high: 1);

// f(x) = Σ x_i³ + sin x₀ · cos x₁, so Δf = 6 Σ x_i − 2 sin x₀ cos x₁ (per row).
var lap = Pde.Laplacian(v => Fn.Sum(v * v * v, 1, keepDims: true) + Fn.Sin(Fn.Slice(v, 1, 0, 1)) * Fn.Cos(Fn.Slice(v, 1, 1, 1)), x);
double worst = 0;
for (int n = 0; n < 32; n++)
{
    double exact = 6 * (x[n, 0] + x[n, 1] + x[n, 2]) - 2 * Math.Sin(x[n, 0]) * Math.Cos(x[n, 1]);
    worst = Math.Max(worst, Math.Abs(lap[n, 0] - exact));
}

// A tanh MLP: collapsed Taylor mode against nested first-order AD (Hessian-vector products).
var net = Mlp.Create(inputs: 3, hidden: [16, 16], outputs: 1, Activation.Tanh, seed: 0);
var collapsed = Pde.Laplacian(net.Apply, x);
var nested = Pde.Laplacian(net.Apply, x, Strategy.NestedFirstOrder);
double mlpDiff = 0;
for (int n = 0; n < 32; n++) mlpDiff = Math.Max(mlpDiff, Math.Abs(collapsed[n, 0] - nested[n, 0]));

bool ok = worst < 1e-12 && mlpDiff < 1e-10;
Console.WriteLine($"consumer: Laplacian max |error| {worst:0.0e0} against the closed form, MLP collapsed vs nested {mlpDiff:0.0e0}: {(ok ? "ok" : "FAILED")}");
return ok ? 0 : 1;
