using JetSharp.Backend;
using JetSharp.Transforms;
using static JetSharp.Tests.Numeric;

namespace JetSharp.Tests;

// The examples of docs/extending.md, verbatim: this file is what keeps them compiling and correct.

// ---- Example 1: an elementwise function from a kernel and a derivative table ----

/// <summary>The Gaussian bump g(x) = e^(−x²), defined by data.</summary>
public static class Bump
{
    /// <summary>g⁽ᵐ⁾(x) = P_m(x)·e^(−x²) with P₁ = −2x and P_(m+1) = P_m′ − 2x·P_m.</summary>
    public static readonly ElementwiseFunction Function = new(
        name: "bump",
        kernel: UnaryKernel.FromScalar(x => Math.Exp(-x * x)),
        derivatives: DerivativeTables.PolynomialTimesExp(h: [0, 0, -1], first: [0, -2]));

    public static Node Apply(Node x) => Function.Apply(x);
}

// ---- Example 2: a general primitive with its own kernel, VJP and Taylor rule ----

/// <summary>y = Σ_j x[..., j]² over the last axis (a squared norm), with its rules written out.</summary>
public sealed class SquaredNormOp : Primitive
{
    public static readonly SquaredNormOp Instance = new();
    public override string Name => "squared_norm";

    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        if (inputs[0].Rank < 1) throw new ShapeException($"squared_norm: needs rank ≥ 1, got {inputs[0].Shape}.");
        return new Shape(inputs[0].Shape.ToArray()[..^1]);
    }

    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var x = inputs[0].Data;
        int n = inputs[0].Shape[^1];
        for (int i = 0; i < output.Size; i++)
        {
            T s = T.Zero;
            for (int j = 0; j < n; j++) s += x[i * n + j] * x[i * n + j];
            output.Data[i] = s;
        }
    }

    // ∂y/∂x = 2x: the cotangent broadcast over the last axis, times 2x.
    public override Node?[] Vjp(Node node, Node ct) => [Fn.ExpandDims(ct, -1) * node.Inputs[0] * 2.0];

    // y = Σ x·x, so by Leibniz y_k = Σ_j C(k, j)·Σ(x_j·x_(k−j)) over the last axis (derivative convention).
    // Coefficients of order ≥ 1 carry the direction axes in front; the primal does not, and broadcasts.
    public override Node?[] Taylor(JetRuleArgs a) =>
        TaylorMath.Leibniz(k => a.X(0, k), k => a.X(0, k), a.Order, (p, q) => Fn.Sum(p * q, -1));

    public static Node Apply(Node x) => x.Graph.Apply(Instance, x);
}

// ---- Example 3: custom derivatives for a composition (custom_jvp) ----

public static class StableSoftplus
{
    /// <summary>ln(1 + eˣ) written naively, with the derivative σ(x) supplied instead of differentiating through exp and log.</summary>
    public static Node Apply(Node x) =>
        CustomJvp.Apply(xs => Fn.Log(1.0 + Fn.Exp(xs[0])), (xs, vs) => vs[0] * Fn.Sigmoid(xs[0]), x);
}

public class ExtendingExamplesTests
{
    [Fact]
    public void ElementwiseFunctionFromATableMatchesItsClosedForm()
    {
        // 4-jet of e^(−x²) against the power series of exp(−a²).
        var shape = new Shape(5);
        var x = new[] { NDArray.RandomNormal<double>(shape, 1) }.Concat(Enumerable.Range(1, 4).Select(k => NDArray.RandomNormal<double>(shape, 1 + k))).ToArray();
        var jet = Run(Jet.Transform(Tracer.Function(Bump.Apply, shape), 4), x);
        for (int e = 0; e < 5; e++)
        {
            var d = (-(PowerSeries.FromDerivatives([.. x.Select(t => t.Data[e])]) is var a ? a * a : null!)).Exp().ToDerivatives();
            for (int k = 0; k <= 4; k++) AssertClose(d[k], jet[k].Data[e], 1e-10, $"bump coefficient {k}", scale: d.Max(Math.Abs));
        }
    }

    public static TheoryData<string> Strategies => [.. Strategy.All.Select(s => s.Name)];

    [Theory, MemberData(nameof(Strategies))]
    public void CustomPrimitivesWorkInEveryStrategy(string strategy)
    {
        var s = Strategy.FromName(strategy);
        var x = NDArray.RandomNormal<double>(new Shape(3, 4), 9);
        // Δ Σ_j e^(−x_j²) = Σ_j (4x_j² − 2)e^(−x_j²);  Δ |x|² = 2D;  Δ softplus(Σx) = D·σ′(Σx).
        var bump = Pde.Laplacian(v => Fn.Sum(Bump.Apply(v), -1, keepDims: true), x, s);
        var norm = Pde.Laplacian(v => Fn.ExpandDims(SquaredNormOp.Apply(v), -1), x, s);
        var soft = Pde.Laplacian(v => StableSoftplus.Apply(Fn.Sum(v, -1, keepDims: true)), x, s);
        for (int n = 0; n < 3; n++)
        {
            var row = Enumerable.Range(0, 4).Select(j => x.Data[n * 4 + j]).ToArray();
            TestUtil.Close(row.Sum(v => (4 * v * v - 2) * Math.Exp(-v * v)), bump.Data[n], 1e-10);
            TestUtil.Close(8, norm.Data[n], 1e-12);
            double z = row.Sum(), sig = 1 / (1 + Math.Exp(-z));
            TestUtil.Close(4 * sig * (1 - sig), soft.Data[n], 1e-10);
        }
    }

    [Fact]
    public void CustomJvpJetsAndVjpMatchTheBuiltInFunction()
    {
        var shape = new Shape(2, 3);
        var x = Enumerable.Range(0, 5).Select(k => NDArray.RandomNormal<double>(shape, 30 + k)).ToArray();
        var custom = Run(Jet.Transform(Tracer.Function(StableSoftplus.Apply, shape), 4), x);
        var builtIn = Run(Jet.Transform(Tracer.Function(Fn.Softplus, shape), 4), x);
        for (int k = 0; k <= 4; k++) AssertClose(builtIn[k], custom[k], 1e-12, $"custom_jvp coefficient {k}");
        var grad = Ad.Grad(v => Fn.Sum(StableSoftplus.Apply(v)), x[0]);
        AssertClose(Naive.Map(x[0], v => 1 / (1 + Math.Exp(-v))), grad, 1e-14, "custom_jvp gradient");
        // Hessian-vector product: the VJP graph is differentiated again through the JVP rule's primitives.
        var hvp = Ad.Hvp(v => Fn.Sum(StableSoftplus.Apply(v)), x[0], x[1]);
        AssertClose(Combine(Naive.Map(x[0], v => Math.Exp(-v) / Math.Pow(1 + Math.Exp(-v), 2)), x[1], (a, b) => a * b), hvp, 1e-12, "custom_jvp HVP");
    }

    [Fact]
    public void CustomDefinitionsWithTheSameNameAreNotMerged()
    {
        var a = new ElementwiseFunction("f", UnaryKernel.FromScalar(v => v + 1), (x0, y0, m) => m == 1 ? Fn.Zeros(x0.Graph, x0.Shape) + 1.0 : null);
        var b = new ElementwiseFunction("f", UnaryKernel.FromScalar(v => v + 2), (x0, y0, m) => m == 1 ? Fn.Zeros(x0.Graph, x0.Shape) + 1.0 : null);
        var x = NDArray.FromArray(new[] { 1.0 });
        var y = TestUtil.Eval(v => a.Apply(v[0]) * b.Apply(v[0]), x);
        var simplified = Run(Pde.LaplacianGraph(v => a.Apply(v) * b.Apply(v), new Shape(1, 1), DType.Float64), NDArray.FromArray(new[] { 1.0 }, new Shape(1, 1)));
        Assert.Equal(6.0, y.Data[0]);
        Assert.Equal(2.0, simplified[0].Data[0], 12);
    }
}
