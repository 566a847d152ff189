using JetSharp.Nn;
using JetSharp.Simplify;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.Nn;

/// <summary>
/// The module system and its layers: every network built from them goes through every operator in every
/// strategy (collapsed = standard Taylor to 1e-12, nested first-order to 1e-10, finite differences to
/// their truncation error), the collapsed Laplacian keeps its 2 + D vectors per layer, and parameters
/// are named, seeded and validated.
/// </summary>
public class LayerTests
{
    private const int Particles = 3;

    /// <summary>The networks under test, each a per-datum function of x ∈ R^D.</summary>
    public static Module Network(string name) => name switch
    {
        "residual-layernorm" => new Sequential(
            new Linear(3, 8), new Lambda("tanh", Fn.Tanh),
            new Residual(new Sequential(new LayerNorm(8), new Linear(8, 8), new Lambda("tanh", Fn.Tanh))),
            new Residual(new Sequential(new RmsNorm(8), new Linear(8, 8), new Lambda("sigmoid", Fn.Sigmoid))),
            new Linear(8, 1)).Initialize(seed: 11),
        "attention" => new Sequential(
            new Lambda("particles", x => Fn.Reshape(x, x.Shape[0], Particles, 3)),
            new Linear(3, 8), new Lambda("tanh", Fn.Tanh),
            new Residual(new MultiHeadSelfAttention(8, 2)),
            new LayerNorm(8),
            new Lambda("pool", h => Fn.Mean(h, 1)),
            new Linear(8, 1)).Initialize(seed: 12),
        "fourier" => new Sequential(
            new FourierFeatures(2, 6, sigma: 0.7), new Linear(12, 10), new Lambda("tanh", Fn.Tanh), new Linear(10, 1)).Initialize(seed: 13),
        "modified-mlp" => new ModifiedMlp(3, 8, 2, 1, Fn.Tanh).Initialize(seed: 14),
        "mlp" => Sequential.Mlp(4, [8, 8], 2, Fn.Sin, "sin").Initialize(seed: 15),
        _ => throw new ArgumentException(name),
    };

    private static int Dimension(string name) => name switch { "attention" => 3 * Particles, "fourier" => 2, "mlp" => 4, _ => 3 };

    public static TheoryData<string> Networks => ["residual-layernorm", "attention", "fourier", "modified-mlp", "mlp"];

    [Theory]
    [MemberData(nameof(Networks))]
    public void Laplacian_agrees_across_strategies_and_with_finite_differences(string name)
    {
        var net = Network(name);
        int d = Dimension(name);
        var x = Rand(21, -0.8, 0.8, 4, d);
        var collapsed = Pde.Laplacian(net.Apply, x, Strategy.Collapsed);
        Close(Pde.Laplacian(net.Apply, x, Strategy.StandardTaylor), collapsed, 1e-12);
        Close(Pde.Laplacian(net.Apply, x, Strategy.NestedFirstOrder), collapsed, 1e-10);
        Close(FiniteDifferenceLaplacian(net, x), collapsed, 1e-5);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Biharmonic_and_weighted_Laplacian_agree_across_strategies(string name)
    {
        var net = Network(name);
        int d = Dimension(name);
        var x = Rand(22, -0.8, 0.8, 2, d);
        var sigma = Rand(23, -1, 1, d, 2);
        var bi = Pde.Biharmonic(net.Apply, x, Strategy.Collapsed);
        Close(Pde.Biharmonic(net.Apply, x, Strategy.StandardTaylor), bi, 1e-12);
        Close(Pde.Biharmonic(net.Apply, x, Strategy.NestedFirstOrder), bi, 1e-9);
        var w = Pde.WeightedLaplacian(net.Apply, x, sigma, strategy: Strategy.Collapsed);
        Close(Pde.WeightedLaplacian(net.Apply, x, sigma, strategy: Strategy.StandardTaylor), w, 1e-12);
        Close(Pde.WeightedLaplacian(net.Apply, x, sigma, strategy: Strategy.NestedFirstOrder), w, 1e-10);
    }

    /// <summary>Σ_d (f(x + h e_d) − 2 f(x) + f(x − h e_d)) / h², per datum and output.</summary>
    private static NDArray<double> FiniteDifferenceLaplacian(Module net, NDArray<double> x)
    {
        const double h = 2e-4;
        NDArray<double> F(NDArray<double> z) => Eval(xs => net.Apply(xs[0]), z);
        var f0 = F(x);
        var result = new NDArray<double>(f0.Shape);
        int n = x.Shape[0], d = x.Shape[1];
        for (int k = 0; k < d; k++)
        {
            var plus = x.Clone();
            var minus = x.Clone();
            for (int i = 0; i < n; i++) { plus.Data[i * d + k] += h; minus.Data[i * d + k] -= h; }
            var fp = F(plus);
            var fm = F(minus);
            for (int j = 0; j < result.Size; j++) result.Data[j] += (fp.Data[j] - 2 * f0.Data[j] + fm.Data[j]) / (h * h);
        }
        return result;
    }

    [Fact]
    public void LayerNorm_output_has_zero_mean_and_unit_variance()
    {
        var norm = new LayerNorm(5, epsilon: 1e-12).Initialize(0);
        var x = Randn(3, 4, 5);
        var y = Eval(xs => norm.Apply(xs[0]), x);
        for (int i = 0; i < 4; i++)
        {
            var row = y.Data.AsSpan(5 * i, 5).ToArray();
            Assert.Equal(0, row.Average(), 12);
            Assert.Equal(1, row.Select(v => v * v).Average(), 10);
        }
    }

    [Fact]
    public void RmsNorm_output_has_unit_mean_square()
    {
        var norm = new RmsNorm(6, epsilon: 1e-12).Initialize(0);
        var y = Eval(xs => norm.Apply(xs[0]), Randn(4, 3, 6));
        for (int i = 0; i < 3; i++)
            Assert.Equal(1, y.Data.AsSpan(6 * i, 6).ToArray().Select(v => v * v).Average(), 10);
    }

    [Fact]
    public void Attention_is_equivariant_under_a_permutation_of_the_tokens()
    {
        var attention = new MultiHeadSelfAttention(4, 2).Initialize(5);
        var x = Randn(6, 2, 3, 4);
        var permuted = x.Clone();
        int[] perm = [2, 0, 1];
        for (int n = 0; n < 2; n++)
            for (int t = 0; t < 3; t++)
                Array.Copy(x.Data, (n * 3 + perm[t]) * 4, permuted.Data, (n * 3 + t) * 4, 4);
        var y = Eval(xs => attention.Apply(xs[0]), x);
        var yp = Eval(xs => attention.Apply(xs[0]), permuted);
        for (int n = 0; n < 2; n++)
            for (int t = 0; t < 3; t++)
                for (int f = 0; f < 4; f++)
                    Assert.Equal(y.Data[(n * 3 + perm[t]) * 4 + f], yp.Data[(n * 3 + t) * 4 + f], 12);
    }

    [Fact]
    public void Collapsed_Laplacian_propagates_two_plus_D_vectors_through_a_residual_LayerNorm_network()
    {
        const int n = 5, d = 3;
        var net = Network("residual-layernorm");
        var standard = GraphStats.Of(Pde.LaplacianGraph(net.Apply, new Shape(n, d), DType.Float64, Strategy.StandardTaylor), n);
        var collapsed = GraphStats.Of(Pde.LaplacianGraph(net.Apply, new Shape(n, d), DType.Float64, Strategy.Collapsed), n);
        Assert.True(4 == collapsed.PerLayer.Count, collapsed.Listing());
        Assert.True(collapsed.PerLayer[1].Vectors == 2 + d && collapsed.PerLayer[2].Vectors == 2 + d, collapsed.Listing());
        // Hidden layers (after the first, which multiplies the basis without a data axis, and before the head).
        for (int l = 1; l < 3; l++)
        {
            Assert.Equal(1 + 2 * d, standard.PerLayer[l].Vectors);
            Assert.Equal(2 + d, collapsed.PerLayer[l].Vectors);
        }
        Assert.Equal(1, collapsed.PerLayer[3].Vectors);
    }

    [Fact]
    public void Collapsed_Laplacian_propagates_two_plus_D_vectors_through_an_attention_network()
    {
        const int n = 4;
        int d = 3 * Particles;
        var net = Network("attention");
        var standard = Pde.LaplacianGraph(net.Apply, new Shape(n, d), DType.Float64, Strategy.StandardTaylor);
        var collapsed = Pde.LaplacianGraph(net.Apply, new Shape(n, d), DType.Float64, Strategy.Collapsed);
        // Vectors per datum of the products with the attention's four projection matrices ([8, 8] weights):
        // a node [R..., N, P, 8] holds Size / (N·P·8) vectors.
        double[] Projections(Graph g) => [.. GraphWalk.Reachable(g)
            .Where(m => m.Op is JetSharp.Primitives.MatMulOp && m.Inputs[1].Shape == new Shape(8, 8) && m.Rank >= 3 && m.Shape[^3] == n)
            .GroupBy(m => m.Inputs[1])
            .Select(grp => grp.Sum(m => m.Shape.Size / (double)(n * Particles * 8)))];
        var s = Projections(standard);
        var c = Projections(collapsed);
        Assert.Equal(4, c.Length);
        Assert.All(s, v => Assert.Equal(1 + 2 * d, v));
        Assert.All(c, v => Assert.Equal(2 + d, v));
        var x = Rand(3, -1, 1, n, d);
        Close(Run(standard, x)[0], Run(collapsed, x)[0], 1e-12);
    }

    [Fact]
    public void Parameters_are_named_by_path_and_seeded_by_name()
    {
        var net = Network("residual-layernorm");
        Assert.Equal(["0.weight", "0.bias", "2.body.0.weight", "2.body.0.bias", "2.body.1.weight", "2.body.1.bias",
                      "3.body.0.weight", "3.body.1.weight", "3.body.1.bias", "4.weight", "4.bias"],
                     net.NamedParameters().Select(p => p.Path));
        var again = Network("residual-layernorm");
        Assert.Equal(net.ParameterValues.SelectMany(v => v.Data), again.ParameterValues.SelectMany(v => v.Data));
        var other = new Sequential(new Linear(3, 8), new Lambda("tanh", Fn.Tanh)).Initialize(seed: 12);
        Assert.NotEqual(net.ParameterValues[0].Data, other.ParameterValues[0].Data);
        // Fixed Fourier frequencies are not trainable parameters but are listed among all parameters.
        var fourier = Network("fourier");
        Assert.DoesNotContain(fourier.NamedParameters(), p => p.Path == "0.frequencies");
        Assert.Contains(fourier.AllParameters(), p => p.Path == "0.frequencies");
    }

    [Fact]
    public void Gradient_of_the_Laplacian_with_respect_to_the_parameters_matches_finite_differences()
    {
        var net = Network("residual-layernorm");
        var x = Rand(31, -0.5, 0.5, 3, 3);
        var shapes = net.ParameterShapes;
        var op = DifferentialOperator.Laplacian().Compile((z, p) => net.Apply(p, z), x.Shape, shapes);
        var theta = net.ParameterValues;
        double Loss(NDArray<double>[] values) => op.Run(x, values).Data.Sum();
        var u = Tracer.Function(xs => net.Apply(xs[1..], xs[0]), [x.Shape, .. shapes]);
        var lap = DifferentialOperator.Laplacian().Build(u, Strategy.Collapsed);
        var loss = Tracer.Function(xs => Fn.Sum(JetSharp.Transforms.Inline.Apply(lap, xs)[0]), [x.Shape, .. shapes]);
        var grad = Run(Vjp.Grad(loss, [false, .. shapes.Select(_ => true)]), [x, .. theta]);
        // Check a few entries of the LayerNorm's scale (index 2) and the head's weight (index 9).
        foreach (var (index, entry) in new[] { (2, 0), (2, 5), (9, 3), (4, 10) })
        {
            const double h = 1e-5;
            var plus = theta.Select(t => t.Clone()).ToArray();
            var minus = theta.Select(t => t.Clone()).ToArray();
            plus[index].Data[entry] += h;
            minus[index].Data[entry] -= h;
            double fd = (Loss(plus) - Loss(minus)) / (2 * h);
            Close(fd, grad[1 + index].Data[entry], 1e-6);
            Close(Loss(theta), grad[0].Data[0], 1e-12);
        }
    }

    [Fact]
    public void Misuse_is_reported_before_any_work()
    {
        var net = new Sequential(new Linear(3, 4), new Lambda("tanh", Fn.Tanh));
        var e = Assert.Throws<InvalidOperationException>(() => Tracer.Function(net.Apply, new Shape(2, 3)));
        Assert.Contains("0.weight", e.Message);
        net.Initialize(1);
        Assert.Throws<ShapeException>(() => Tracer.Function(net.Apply, new Shape(2, 5)));
        Assert.Throws<ArgumentException>(() => net.ParameterValues = [NDArray.Zeros<double>(new Shape(3, 4))]);
        Assert.Throws<ShapeException>(() => net.ParameterValues = [NDArray.Zeros<double>(new Shape(4, 3)), NDArray.Zeros<double>(new Shape(4))]);
        var bad = NDArray.Zeros<double>(new Shape(3, 4));
        bad.Data[0] = double.NaN;
        Assert.Throws<ArgumentException>(() => net.ParameterValues = [bad, NDArray.Zeros<double>(new Shape(4))]);
        Assert.Throws<ArgumentException>(() => new MultiHeadSelfAttention(6, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LayerNorm(4, epsilon: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Linear(0, 3));
        Assert.Throws<ArgumentException>(() => new Sequential());
        Assert.Throws<ShapeException>(() => Tracer.Function(new Residual(new Linear(3, 2)).Initialize(0).Apply, new Shape(2, 3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Lambda.Of((Activation)42));
    }
}
