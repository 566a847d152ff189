using JetSharp.Nn;
using JetSharp.Runtime;
using JetSharp.Transforms;
using static JetSharp.Tests.TestUtil;
using static JetSharp.Tests.OperatorTestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Training a PINN differentiates the operator's graph with respect to the network's parameters:
/// L(θ) = mean_n (Δu_θ(x_n) − g(x_n))². The gradient (reverse mode through the transformed graph) is
/// checked against central finite differences of L itself, and across the three strategies.
/// </summary>
public class GradientTests
{
    private const int N = 5, D = 2;
    private static readonly Mlp Net = Mlp.Create(D, [5, 4], 1, Activation.Tanh, seed: 21);
    private static readonly NDArray<double> X = Rand(77, -1, 1, N, D);
    private static NDArray<double>[] Theta => [.. Net.Parameters.Cast<NDArray<double>>()];

    /// <summary>u_θ(x) with x first and then the parameters as graph inputs.</summary>
    private static Graph U() =>
        Tracer.Function(xs => Net.Apply(xs[1..], xs[0]), [X.Shape, .. Net.ParameterShapes]);

    /// <summary>The loss graph (inputs x, θ; scalar output) for one strategy.</summary>
    private static Graph Loss(Strategy s)
    {
        var lap = DifferentialOperator.Laplacian().Build(U(), s);
        return Tracer.Function(xs =>
        {
            var residual = Inline.Apply(lap, xs)[0];                                          // [N, 1]
            var x0 = Fn.Slice(xs[0], 1, 0, 1);
            var x1 = Fn.Slice(xs[0], 1, 1, 1);
            var g = Fn.Sin(x0) * x1;                                                          // a target source term
            return Fn.Mean(Fn.Square(residual - g));
        }, [X.Shape, .. Net.ParameterShapes]);
    }

    /// <summary>(L, ∂L/∂θ_k for every parameter tensor) from the reverse-mode graph.</summary>
    private static (double Loss, NDArray<double>[] Grads) Gradient(Strategy s)
    {
        var loss = Loss(s);
        bool[] wrt = [false, .. Net.ParameterShapes.Select(_ => true)];
        var outs = Run(Vjp.Grad(loss, wrt), [X, .. Theta]);
        Assert.Equal(1 + Theta.Length, outs.Length);
        return (outs[0].Data[0], outs[1..]);
    }

    // A few entries spread over every parameter tensor: (tensor index, flat entry).
    private static readonly (int NDArray, int Entry)[] Probes = [(0, 0), (0, 7), (1, 2), (2, 5), (2, 19), (3, 3), (4, 1), (5, 0)];

    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void GradientMatchesCentralFiniteDifferences(string strategy)
    {
        var s = Strategy.FromName(strategy);
        var (value, grads) = Gradient(s);
        var lossExe = new Executable(Loss(s));
        double Eval(NDArray<double>[] theta) => lossExe.Run([X, .. theta])[0].Data[0];
        Close(value, Eval(Theta), 1e-12);
        Assert.True(value > 1e-3, "a near-zero loss would make the check weak");

        const double h = 1e-5;   // truncation error O(h²·L''') ≈ 1e-10, rounding ≈ 1e-16/h ≈ 1e-11
        foreach (var (t, e) in Probes)
        {
            var plus = Theta.Select(p => p.Clone()).ToArray();
            var minus = Theta.Select(p => p.Clone()).ToArray();
            plus[t].Data[e] += h;
            minus[t].Data[e] -= h;
            double fd = (Eval(plus) - Eval(minus)) / (2 * h);
            double g = grads[t].Data[e];
            Assert.True(Math.Abs(g - fd) <= 1e-6 * Math.Max(1e-2, Math.Abs(fd)), $"{s}: ∂L/∂θ[{t}][{e}] = {g:R}, finite difference {fd:R}");
        }
    }

    [Fact]
    public void GradientsAgreeAcrossStrategies()
    {
        var (l0, g0) = Gradient(Strategy.Collapsed);
        foreach (var s in new[] { Strategy.StandardTaylor, Strategy.NestedFirstOrder })
        {
            var (l, g) = Gradient(s);
            Close(l0, l, 1e-8);
            for (int k = 0; k < g0.Length; k++)
                Assert.True(RelErr(g[k], g0[k]) <= 1e-8, $"{s}: gradient of parameter {k} differs by {RelErr(g[k], g0[k]):E2}");
        }
    }

    /// <summary>A compiled operator with the parameters as inputs equals the operator of the network with embedded weights.</summary>
    [Theory]
    [MemberData(nameof(Strategies), MemberType = typeof(OperatorTestUtil))]
    public void CompiledWithParameterInputsMatchesEmbeddedWeights(string strategy)
    {
        var s = Strategy.FromName(strategy);
        var op = DifferentialOperator.Laplacian();
        var compiled = op.Compile((x, ps) => Net.Apply(ps, x), X.Shape, Net.ParameterShapes, strategy: s);
        Close(op.Apply(Net.Apply, X, s), compiled.Run(X, Theta), 1e-12);
        // New parameter values take effect without recompiling.
        var scaled = Theta.Select(p => { var c = p.Clone(); for (int i = 0; i < c.Size; i++) c.Data[i] *= 0.5; return c; }).ToArray();
        var reference = Mlp.Create(D, [5, 4], 1, Activation.Tanh, seed: 21);
        reference.Parameters = scaled;
        Close(op.Apply(reference.Apply, X, s), compiled.Run(X, scaled), 1e-12);
    }
}
