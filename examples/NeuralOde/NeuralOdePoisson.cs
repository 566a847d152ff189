using JetSharp.Nn;

namespace JetSharp.Examples.NeuralOde;

/// <summary>
/// <c>neural-ode</c>: the poisson2d problem (−Δu = 2π² sin(πx) sin(πy) on the unit square, u = 0 on its boundary)
/// solved by a PINN whose hidden layer is a neural ODE:
/// <code>
///   h(0) = tanh(x·A + a),   dh/dt = tanh(h·W₁ + b₁)·W₂ on [0, 1],   u(x) = h(1)·w + c,
/// </code>
/// with h(1) from fixed-step RK4 written as one <c>scan</c> over the steps whose body applies the vector field as
/// one called subgraph four times (the four stages). Training differentiates the collapsed Laplacian of u — a
/// scan over 2-jets of the state, the top coefficient carried summed — in reverse mode through the scan with
/// respect to the weights it closes over. Adam, then L-BFGS, as poisson2d.
/// </summary>
public sealed class NeuralOdePoisson : PinnExample
{
    /// <summary>RK4 steps over the unit time interval.</summary>
    public int Steps { get; init; } = 4;

    public override string Name => "neural-ode";
    public override string Summary => "poisson2d with a neural-ODE hidden layer (RK4 flow as one scan, the vector field one called subgraph)";
    public override double Target => 1e-2;

    /// <summary>Adam + L-BFGS only: the weights are closed over by the scan body, which per-sample Jacobians do not expand.</summary>
    public override IReadOnlyList<PinnOptimizer> Optimizers => [PinnOptimizer.AdamLbfgs];

    /// <summary>Hidden = [state width H, vector-field width M].</summary>
    public override PinnConfig Config(bool fast) => fast
        ? new PinnConfig { Dimension = 2, Hidden = [6, 6], Interior = 32, Boundary = 16, AdamSteps = 6, LearningRate = 1e-2, FinalLearningRate = 5e-3, ResampleEvery = 0, ErrorEvery = 2, TimingSizes = [16, 32] }
        : new PinnConfig { Dimension = 2, Hidden = [16, 16], Interior = 256, Boundary = 64, AdamSteps = 1500, LearningRate = 1e-2, FinalLearningRate = 1e-3, LbfgsSteps = 300, ErrorEvery = 50, TimingSizes = [128, 256, 512] };

    private static Shape[] Shapes(PinnConfig config)
    {
        int d = config.Dimension, h = config.Hidden[0], m = config.Hidden[1];
        return [new(d, h), new(1, h), new(h, m), new(1, m), new(m, h), new(h, 1), new(1, 1)];
    }

    /// <summary>u(x) for the weights [A, a, W₁, b₁, W₂, w, c] (see the class summary).</summary>
    public Node Apply(IReadOnlyList<Node> p, Node x)
    {
        var g = x.Graph;
        var h0 = Fn.Tanh(Fn.MatMul(x, p[0]) + p[1]);
        // The vector field, traced once; every RK4 stage calls it with the state and the weights.
        var field = Tracer.Function(v => [Fn.MatMul(Fn.Tanh(Fn.MatMul(v[0], v[1]) + v[2]), v[3])],
            [h0.Shape, p[2].Shape, p[3].Shape, p[4].Shape], g.DType);
        double dt = 1.0 / Steps;
        Node V(Node h) => Tracer.Call(field, h, p[2], p[3], p[4])[0];
        var end = Tracer.Scan(h =>
        {
            var k1 = V(h);
            var k2 = V(h + k1 * (dt / 2));
            var k3 = V(h + k2 * (dt / 2));
            var k4 = V(h + k3 * dt);
            return h + (k1 + k2 * 2.0 + k3 * 2.0 + k4) * (dt / 6);
        }, h0, Steps);
        return Fn.MatMul(end, p[5]) + p[6];
    }

    public override PinnObjective<T> Build<T>(PinnConfig config, Strategy strategy, long seed, int? interior = null)
    {
        string architecture = $"x → tanh(x·A + a) [{config.Hidden[0]}] → RK4 flow of tanh(h·W₁ + b₁)·W₂ (width {config.Hidden[1]}, {Steps} steps, one scan) → h·w + c";
        return new PinnObjective<T>(architecture, Shapes(config), Apply, 2, Poisson2d.Terms(interior ?? config.Interior, config.Boundary), strategy, seed);
    }

    /// <summary>Normal weights scaled by 1/√fan-in (the vector field's output by a further ½), zero biases; seeded.</summary>
    protected override IReadOnlyList<NDArray> InitialWeights(PinnConfig config, long seed)
    {
        var shapes = Shapes(config);
        var weights = new NDArray[shapes.Length];
        for (int i = 0; i < shapes.Length; i++)
        {
            var w = NDArray.RandomNormal<double>(shapes[i], seed * 31 + i);
            bool bias = shapes[i][0] == 1;
            double s = bias ? 0 : (i == 4 ? 0.5 : 1) / Math.Sqrt(shapes[i][0]);
            for (int j = 0; j < w.Size; j++) w.Data[j] *= s;
            weights[i] = w;
        }
        return weights;
    }

    public override (NDArray<double> Points, double[] Exact) EvaluationSet(bool fast) => new Poisson2d().EvaluationSet(fast);
}
