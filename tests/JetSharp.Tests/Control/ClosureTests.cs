using JetSharp.Control;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.ControlFlow;

/// <summary>
/// Closures in cond branches and while bodies: a value of the enclosing trace used inside becomes an extra operand,
/// so derivatives reach it. Each closure is checked against the same function with the value passed explicitly
/// (an independent formulation) and against central differences.
/// </summary>
public class ClosureTests
{
    private static readonly NDArray<double> XThen = T(0.4, 0.3, 0.2), XElse = T(-0.4, 0.1, 0.2), W = T(0.7, -1.1, 0.5);
    private static readonly NDArray<double> V = T(0.3, -0.8, 0.6), U = T(-0.5, 0.2, 0.9);

    // The branches read w from the enclosing trace (closure) or as an operand.
    private static Node CondClosure(Node x, Node w) =>
        Fn.Sum(Tracer.Cond(Fn.Sum(x) - 0.5, a => Fn.Sin(a[0] * w) * a[0], a => Fn.Exp(-0.5 * a[0]) * w + w * w, x));

    private static Node CondExplicit(Node x, Node w) =>
        Fn.Sum(Tracer.Cond(Fn.Sum(x) - 0.5, a => Fn.Sin(a[0] * a[1]) * a[0], a => Fn.Exp(-0.5 * a[0]) * a[1] + a[1] * a[1], x, w));

    // Three damped steps h ← h + 0.3·tanh(h·w) + w² until the counter reaches 3; the body and the condition read w, s.
    private static Node WhileClosure(Node x, Node w)
    {
        var s = Fn.Sum(w) * 0.0 + 2.5;   // a traced value the condition reads from outside
        var r = Tracer.While((c, _) => s - c[1], (c, _) => [c[0] + 0.3 * Fn.Tanh(c[0] * w) + w * w * 0.1, c[1] + 1.0],
            [x, Fn.Zeros(x.Graph, Shape.Scalar)], maxIterations: 10);
        return Fn.Sum(Fn.Sin(r.Values[0]));
    }

    private static Node WhileExplicit(Node x, Node w)
    {
        var r = Tracer.While((c, _) => 2.5 - c[1], (c, k) => [c[0] + 0.3 * Fn.Tanh(c[0] * k[0]) + k[0] * k[0] * 0.1, c[1] + 1.0],
            [x, Fn.Zeros(x.Graph, Shape.Scalar)], [w], maxIterations: 10);
        return Fn.Sum(Fn.Sin(r.Values[0]));
    }

    public static TheoryData<string, bool> Cases => new() { { "cond", true }, { "cond", false }, { "while", true } };

    private static (Func<Node[], Node> Closure, Func<Node[], Node> Explicit) Functions(string kind) => kind == "cond"
        ? (xs => CondClosure(xs[0], xs[1]), xs => CondExplicit(xs[0], xs[1]))
        : (xs => WhileClosure(xs[0], xs[1]), xs => WhileExplicit(xs[0], xs[1]));

    [Theory]
    [MemberData(nameof(Cases))]
    public void CapturedValuesBecomeOperands(string kind, bool thenSide)
    {
        var (closure, _) = Functions(kind);
        var g = Tracer.Function(closure, [new Shape(3), new Shape(3)]);
        var op = Assert.Single(g.Nodes, n => n.Op is CondOp or WhileOp);
        Assert.Contains(g.Inputs[1], op.Inputs);   // w is an operand, not a value hidden in a body
        var x = thenSide ? XThen : XElse;
        Close(Eval(Functions(kind).Explicit, x, W), Eval(closure, x, W), 0);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradientReachesTheCapturedValue(string kind, bool thenSide)
    {
        var (closure, explicitly) = Functions(kind);
        var x = thenSide ? XThen : XElse;
        Shape[] shapes = [new Shape(3), new Shape(3)];
        var grad = Run(Vjp.Grad(Tracer.Function(closure, shapes)), x, W);
        var reference = Run(Vjp.Grad(Tracer.Function(explicitly, shapes)), x, W);
        Close(reference[1], grad[1], 1e-14);
        Close(reference[2], grad[2], 1e-14);
        // ∇f·(v, u) against a central difference along (v, u).
        double directional = Enumerable.Range(0, 3).Sum(i => grad[1].Data[i] * V.Data[i] + grad[2].Data[i] * U.Data[i]);
        Close(CentralDifference(closure, [x, W], [V, U]).Data[0], directional, 1e-8);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SecondOrderJetReachesTheCapturedValue(string kind, bool thenSide)
    {
        // The second directional derivative along (v, u): the Taylor rule through the closure, against the explicit
        // formulation and against a central difference of the gradient.
        var (closure, explicitly) = Functions(kind);
        var x = thenSide ? XThen : XElse;
        double Second(Func<Node[], Node> f)
        {
            var g = new Graph(DType.Float64);
            var ins = new[] { g.Input(new Shape(3)), g.Input(new Shape(3)), g.Input(new Shape(3)), g.Input(new Shape(3)) };
            var y = Jet.Apply(Tracer.Function(f, [new Shape(3), new Shape(3)]), [ins[0], ins[1]], [[ins[2], null], [ins[3], null]], 2, Shape.Scalar)[0];
            g.SetOutputs(y[2]!);
            return Run(g, x, W, V, U)[0].Data[0];
        }
        double closed = Second(closure);
        Close(Second(explicitly), closed, 1e-13);
        Func<Node[], Node> directional = xs =>
        {
            var gradient = Tracer.Call(Vjp.Grad(Tracer.Function(closure, [new Shape(3), new Shape(3)])), xs[0], xs[1]);
            return Fn.Sum(gradient[1] * xs[0].Graph.Constant(V)) + Fn.Sum(gradient[2] * xs[0].Graph.Constant(U));
        };
        Close(CentralDifference(directional, [x, W], [V, U]).Data[0], closed, 1e-7);
    }
}
