using JetSharp.Control;

namespace JetSharp.Examples.NeuralOde;

/// <summary>
/// A neural-ODE layer inside a PINN-style model: u(x) = tanh(φ_T(x))·w, where φ_T is the flow map of
/// dh/dt = v(h) = tanh(h·W₁ + b₁)·W₂ over [0, <paramref name="Horizon"/>], integrated by fixed-step RK4
/// in <paramref name="Steps"/> steps. <see cref="Flow"/> writes the integration as one scan whose body
/// applies the vector field v four times as one called subgraph (one callee, four call nodes);
/// <see cref="FlowUnrolled"/> writes the same steps out. Both compute the same function.
/// </summary>
/// <param name="Dimension">D, the dimension of x and of the state h.</param>
/// <param name="Hidden">Width of the vector field's hidden layer.</param>
/// <param name="Steps">RK4 steps.</param>
/// <param name="Horizon">Integration time T.</param>
/// <param name="Seed">Seed of the weights.</param>
public sealed record NeuralOdeModel(int Dimension, int Hidden, int Steps, double Horizon, long Seed = 1)
{
    private NDArray<double> W1 => Scaled(new Shape(Dimension, Hidden), Seed, 1);
    private NDArray<double> B1 => Scaled(new Shape(1, Hidden), Seed + 1, 0.1);
    private NDArray<double> W2 => Scaled(new Shape(Hidden, Dimension), Seed + 2, 1 / Math.Sqrt(Hidden));
    private NDArray<double> WOut => Scaled(new Shape(Dimension, 1), Seed + 3, 1);

    private static NDArray<double> Scaled(Shape shape, long seed, double scale)
    {
        var a = NDArray.RandomNormal<double>(shape, seed);
        for (int i = 0; i < a.Size; i++) a.Data[i] *= scale;
        return a;
    }

    /// <summary>The vector field v(h) for states of <paramref name="shape"/>, as a graph (the callee of every stage).</summary>
    public Graph VectorField(Shape shape)
    {
        var (w1, b1, w2) = (W1, B1, W2);
        return Tracer.Function(h => Fn.MatMul(Fn.Tanh(Fn.MatMul(h, h.Graph.Constant(w1)) + h.Graph.Constant(b1)), h.Graph.Constant(w2)), shape);
    }

    /// <summary>One RK4 step h + dt/6·(k₁ + 2k₂ + 2k₃ + k₄), each stage an application of <paramref name="v"/>.</summary>
    public Node Rk4Step(Func<Node, Node> v, Node h)
    {
        double dt = Horizon / Steps;
        var k1 = v(h);
        var k2 = v(h + k1 * (dt / 2));
        var k3 = v(h + k2 * (dt / 2));
        var k4 = v(h + k3 * dt);
        return h + (k1 + k2 * 2.0 + k3 * 2.0 + k4) * (dt / 6);
    }

    /// <summary>u(x) with the flow as one scan over the RK4 steps, the vector field a called subgraph.</summary>
    public Node Flow(Node x)
    {
        var field = VectorField(x.Shape);
        var end = Tracer.Scan(h => Rk4Step(s => Tracer.Call(field, s)[0], h), x, Steps);
        return Fn.MatMul(Fn.Tanh(end), x.Graph.Constant(WOut));
    }

    /// <summary>u(x) with the RK4 steps and the vector field written out (the reference).</summary>
    public Node FlowUnrolled(Node x)
    {
        var field = VectorField(x.Shape);
        var h = x;
        for (int i = 0; i < Steps; i++) h = Rk4Step(s => Inline.Apply(field, [s])[0], h);
        return Fn.MatMul(Fn.Tanh(h), x.Graph.Constant(WOut));
    }
}
