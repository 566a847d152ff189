using JetSharp.Ir;
using JetSharp.Nn;
using JetSharp.Primitives;
using JetSharp.Runtime;
using JetSharp.Transforms;
using static JetSharp.Tests.Numeric;

namespace JetSharp.Tests;

/// <summary>
/// x³ as a primitive defined outside the library, with a kernel that counts its executions, a VJP
/// and deliberately no Taylor rule (the base class's default must then refuse jets by name).
/// </summary>
internal sealed class CubeWithoutTaylorRule(bool withVjp = true) : Primitive
{
    public int Executions;
    public override string Name => "test_cube";

    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        return inputs[0].Shape;
    }

    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        Interlocked.Increment(ref Executions);
        for (int i = 0; i < output.Size; i++) output.Data[i] = inputs[0].Data[i] * inputs[0].Data[i] * inputs[0].Data[i];
    }

    public override Node?[] Vjp(Node node, Node ct) =>
        withVjp ? [ct * 3.0 * Fn.Square(node.Inputs[0])] : base.Vjp(node, ct);
}

/// <summary>
/// Bad inputs are refused up front, by exceptions whose messages name the operation and the shapes
/// involved (and, for rules that do not exist, the primitive and where the user applied it).
/// </summary>
public class BadInputTests
{
    private static void Mentions(Exception e, params string[] parts)
    {
        foreach (var p in parts)
            Assert.True(e.Message.Contains(p, StringComparison.Ordinal), $"message does not mention \"{p}\": {e.Message}");
    }

    private static T Throws<T>(Action a, params string[] parts) where T : Exception
    {
        var e = Assert.ThrowsAny<T>(a);
        Mentions(e, parts);
        return e;
    }

    // ---- shapes ------------------------------------------------------------------------------------

    [Fact]
    public void AddWithIncompatibleShapes()
    {
        Throws<ArgumentException>(() => Tracer.Function(xs => xs[0] + xs[1], [new Shape(3, 4), new Shape(5)]), "add", "[3, 4]", "[5]");
        Throws<ArgumentException>(() => Tracer.Function(xs => xs[0] * xs[1], [new Shape(2, 3), new Shape(3, 2)]), "mul", "[2, 3]", "[3, 2]");
    }

    [Fact]
    public void MatMulWithIncompatibleShapes()
    {
        Throws<ArgumentException>(() => Tracer.Function(xs => Fn.MatMul(xs[0], xs[1]), [new Shape(2, 3), new Shape(4, 5)]), "matmul", "[2, 3]", "[4, 5]");
        Throws<ArgumentException>(() => Tracer.Function(xs => Fn.MatMul(xs[0], xs[1], transposeB: true), [new Shape(2, 3), new Shape(3, 5)]), "matmul", "[2, 3]", "[3, 5]");
        Throws<ArgumentException>(() => Tracer.Function(xs => Fn.MatMul(xs[0], xs[1]), [new Shape(3), new Shape(3, 4)]), "matmul", "[3]", "[3, 4]");
        // Batch axes that do not broadcast: the message must show the operands, not only their batch parts.
        Throws<ArgumentException>(() => Tracer.Function(xs => Fn.MatMul(xs[0], xs[1]), [new Shape(2, 3, 4), new Shape(3, 4, 5)]), "matmul", "[2, 3, 4]", "[3, 4, 5]");
    }

    [Fact]
    public void SumOverAnAxisThatDoesNotExist()
    {
        Throws<ArgumentException>(() => Tracer.Function(x => Fn.Sum(x, 2), new Shape(3, 4)), "sum", "2", "[3, 4]");
        Throws<ArgumentException>(() => Tracer.Function(x => Fn.Sum(x, -3), new Shape(3, 4)), "sum", "-3", "[3, 4]");
        Throws<ArgumentException>(() => Tracer.Function(x => Fn.Sum(x, [1, -1]), new Shape(3, 4)), "sum", "[3, 4]");
        Throws<ArgumentException>(() => Tracer.Function(x => Fn.Mean(x, 5), new Shape(3, 4)), "sum", "5", "[3, 4]");
        // The primitive checks too, when applied directly.
        Throws<ShapeException>(() => Tracer.Function(x => x.Graph.Apply(new SumOp([4], false), x), new Shape(3, 4)), "sum", "4", "[3, 4]");
    }

    [Fact]
    public void SliceOutsideTheTensor()
    {
        Throws<ArgumentException>(() => Tracer.Function(x => Fn.Slice(x, 2, 0, 1), new Shape(3, 4)), "slice", "2", "[3, 4]");
        Throws<ArgumentException>(() => Tracer.Function(x => Fn.Slice(x, 1, 2, 3), new Shape(3, 4)), "slice", "2:5", "[3, 4]");
        Throws<ArgumentException>(() => Tracer.Function(x => Fn.Slice(x, [0], [1]), new Shape(3, 4)), "slice", "[3, 4]");
        Throws<ArgumentException>(() => Tracer.Function(x => Fn.Slice(x, [-1, 0], [2, 2]), new Shape(3, 4)), "slice", "[3, 4]");
    }

    [Fact]
    public void ConcatAlongAWrongAxisOrOfMismatchedShapes()
    {
        Throws<ArgumentException>(() => Tracer.Function(xs => Fn.Concat(2, xs), [new Shape(2, 3), new Shape(2, 3)]), "concat", "2", "[2, 3]");
        Throws<ArgumentException>(() => Tracer.Function(xs => Fn.Concat(0, xs), [new Shape(2, 3), new Shape(2, 4)]), "concat", "[2, 3]", "[2, 4]");
        Throws<ArgumentException>(() => Tracer.Function(xs => Fn.Concat(1, xs), [new Shape(2, 3), new Shape(2, 3, 1)]), "concat", "[2, 3]", "[2, 3, 1]");
    }

    [Fact]
    public void OtherShapeOperationsNameTheirShapes()
    {
        Throws<ArgumentException>(() => Tracer.Function(x => Fn.Reshape(x, 5, 2), new Shape(3, 4)), "reshape", "[3, 4]", "[5, 2]");
        Throws<ArgumentException>(() => Tracer.Function(x => Fn.Transpose(x, 0, 0), new Shape(3, 4)), "transpose", "[3, 4]");
        Throws<ArgumentException>(() => Tracer.Function(x => Fn.BroadcastTo(x, new Shape(2, 4)), new Shape(3, 1)), "broadcast", "[3, 1]", "[2, 4]");
        Throws<ArgumentException>(() => Tracer.Function(x => Fn.Pad(x, [1], [1]), new Shape(3, 4)), "pad", "[3, 4]");
        Throws<ArgumentException>(() => Vjp.Grad(Tracer.Function(Fn.Exp, new Shape(3))), "grad", "[3]");
    }

    // ---- dtypes ------------------------------------------------------------------------------------

    [Fact]
    public void Float32GraphFedFloat64Tensors()
    {
        var prim = new CubeWithoutTaylorRule();
        var g = Tracer.Function(x => x.Graph.Apply(prim, x), new Shape(2, 3), DType.Float32);
        var exe = Executable.Compile(g);
        NDArray x64 = Randn(400, 2, 3);
        Throws<ArgumentException>(() => exe.Run(x64), "run", "float64", "float32", "[2, 3]");
        Throws<ArgumentException>(() => exe.Run((NDArray<double>)x64), "run", "float64", "float32", "[2, 3]");
        Assert.Equal(0, prim.Executions);
        // The same graph runs with float32 tensors.
        exe.Run(x64.To<float>());
        Assert.Equal(1, prim.Executions);
    }

    [Fact]
    public void NodesOfAFloat32AndAFloat64GraphCombined()
    {
        var g32 = new Graph(DType.Float32);
        var g64 = new Graph(DType.Float64);
        var a = g32.Input(new Shape(3), "a");
        var b = g64.Input(new Shape(3), "b");
        Throws<ArgumentException>(() => Fn.Add(a, b), "add", "[3]", "float32", "float64");
        Throws<ArgumentException>(() => Fn.MatMul(Fn.Reshape(b, 1, 3), Fn.Reshape(a, 3, 1)), "matmul", "float32", "float64");
    }

    [Fact]
    public void TransformingAFloat32GraphIntoAFloat64Graph()
    {
        // A function traced in float32 (with a tensor constant) transformed at float64 primals would
        // build a graph that cannot run: refuse it when the transform is applied.
        var c = NDArray.FromArray([1f, 2f, 3f]);
        var g32 = Tracer.Function(x => x * x.Graph.Constant(c), new Shape(3), DType.Float32);
        var h = new Graph(DType.Float64);
        var x = h.Input(new Shape(3), "x");
        Throws<ArgumentException>(() => Jet.Apply(g32, [x], [[x]], 1, default), "jet", "float32", "float64", "[3]");
        Throws<ArgumentException>(() => Vjp.Apply(g32, [x], [x]), "vjp", "float32", "float64", "[3]");
    }

    [Fact]
    public void AdFunctionsRefuseMixedDtypesAndWrongDirections()
    {
        Throws<ArgumentException>(() => Ad.Grad(xs => Fn.Sum(xs[0] * xs[1]), [Randn(401, 3), Randn(402, 3).To<float>()]), "grad", "float64", "float32", "[3]");
        Throws<ArgumentException>(() => Ad.Hvp(x => Fn.Sum(Fn.Exp(x)), Randn(403, 3), Randn(404, 2, 4)), "hvp", "[2, 4]", "[3]");
        Throws<ArgumentException>(() => Ad.Jvp(Fn.Exp, Randn(405, 3), Randn(406, 3, 1)), "jvp", "[3, 1]", "[3]");
    }

    // ---- counts and shapes of runtime inputs -------------------------------------------------------

    [Fact]
    public void MlpApplyWithWrongParameters()
    {
        var net = Mlp.Create(3, [4], 1, Activation.Tanh, seed: 1);
        var shapes = net.ParameterShapes;
        Throws<ShapeException>(() => Tracer.Function(xs => net.Apply(xs[..3], xs[3]), [.. shapes[..3], new Shape(2, 3)]), "Mlp.Apply", "3 parameter(s)", "4");
        Throws<ShapeException>(() => Tracer.Function(xs => net.Apply(xs[..4], xs[4]), [new Shape(3, 5), .. shapes[1..], new Shape(2, 3)]), "Mlp.Apply", "[3, 5]", "[3, 4]");
        Throws<ShapeException>(() => Tracer.Function(xs => net.Apply(xs[..4], xs[4]), [.. shapes, new Shape(2, 2)]), "Mlp.Apply", "[2, 2]", "3");
    }

    [Fact]
    public void ExecutableRunWithWrongInputCountOrShape()
    {
        var prim = new CubeWithoutTaylorRule();
        var g = Tracer.Function(xs => xs[0].Graph.Apply(prim, xs[0]) + xs[1], [new Shape(2, 3), new Shape(3)]);
        var exe = Executable.Compile(g);
        Throws<ArgumentException>(() => exe.Run(Randn(410, 2, 3)), "run", "1 input", "2", "[2, 3]", "[3]");
        Throws<ArgumentException>(() => exe.Run(Randn(411, 2, 3), Randn(412, 3), Randn(413, 3)), "run", "3 input", "[2, 3]", "[3]");
        Throws<ShapeException>(() => exe.Run(Randn(414, 3, 2), Randn(415, 3)), "run", "[3, 2]", "[2, 3]");
        Throws<ShapeException>(() => exe.Run(Randn(416, 2, 3), Randn(417, 4)), "run", "[4]", "[3]");
        // Refused before anything ran.
        Assert.Equal(0, prim.Executions);
    }

    // ---- jets --------------------------------------------------------------------------------------

    [Fact]
    public void JetWithMismatchedCoefficientShapes()
    {
        var g = Tracer.Function(Fn.Sin, new Shape(3, 4));
        var h = new Graph(DType.Float64);
        var x = h.Input(new Shape(3, 4), "x");
        Throws<ShapeException>(() => Jet.Apply(g, [x], [[h.Input(new Shape(4, 3))]], 1, default), "jet", "x_1", "[4, 3]", "[3, 4]");
        Throws<ShapeException>(() => Jet.Apply(g, [x], [[h.Input(new Shape(3, 4)), h.Input(new Shape(3, 4))]], 2, new Shape(2)), "jet", "[3, 4]", "[2, 3, 4]");
        Throws<ArgumentException>(() => Jet.Apply(g, [x], [[h.Input(new Shape(3, 4))]], 2, default), "jet", "1 coefficients", "2");
        Throws<ShapeException>(() => Jet.Apply(g, [h.Input(new Shape(4, 3))], [[null]], 1, default), "jet", "[4, 3]", "[3, 4]");
    }

    [Fact]
    public void JetOfNegativeOrder()
    {
        var g = Tracer.Function(Fn.Sin, new Shape(3));
        var h = new Graph(DType.Float64);
        var x = h.Input(new Shape(3), "x");
        Throws<ArgumentOutOfRangeException>(() => Jet.Apply(g, [x], [[]], -1, default), "jet", "-1");
        Throws<ArgumentOutOfRangeException>(() => Jet.Transform(g, -1), "jet", "-1");
        Throws<ArgumentOutOfRangeException>(() => Jet.Transform(g, -2, new Shape(2)), "jet", "-2");
    }

    [Fact]
    public void ReluUnderASecondOrderJetNamesReluAndWhereItCameFrom()
    {
        var g = Tracer.Function(x => Fn.Sum(Fn.Relu(x) * x), new Shape(3));
        // First order is fine.
        Jet.Transform(g, 1);
        var e = Assert.Throws<NotSmoothException>(() => Jet.Transform(g, 2));
        Mentions(e, "relu", "order 2", "[3]", nameof(ReluUnderASecondOrderJetNamesReluAndWhereItCameFrom), "BadInputTests.cs");
        Assert.Equal("relu", e.Node.Op.Name);
    }

    [Fact]
    public void ReluInsideAnMlpUnderTheLaplacian()
    {
        var net = Mlp.Create(3, [4], 1, Activation.Relu, seed: 2);
        var e = Assert.Throws<NotSmoothException>(() => Pde.LaplacianGraph(x => net.Apply(x), new Shape(2, 3), DType.Float64, Strategy.StandardTaylor));
        Mentions(e, "relu", "[2, 4]", nameof(ReluInsideAnMlpUnderTheLaplacian));
    }

    [Fact]
    public void ReluUnderAJetOfAGradientKeepsTheUsersOrigin()
    {
        // The gradient graph's nodes inherit the origin of the nodes they were derived from.
        var grad = Vjp.Grad(Tracer.Function(x => Fn.Sum(Fn.Relu(x) * Fn.Sin(x)), new Shape(3)));
        var e = Assert.Throws<NotSmoothException>(() => Jet.Transform(grad, 2));
        Mentions(e, "relu", nameof(ReluUnderAJetOfAGradientKeepsTheUsersOrigin));
    }

    [Fact]
    public void APrimitiveWithoutATaylorRuleIsNamedWithItsOrigin()
    {
        var prim = new CubeWithoutTaylorRule();
        var g = Tracer.Function(x => Fn.Sin(x.Graph.Apply(prim, x)), new Shape(2, 3));
        // Its value and VJP work: the missing rule is the only problem.
        var x0 = Randn(420, 2, 3);
        var grad = Run(Vjp.Grad(Tracer.Function(x => Fn.Sum(x.Graph.Apply(prim, x)), new Shape(2, 3))), x0)[1];
        AssertClose(Naive.Map(x0, v => 3 * v * v), grad, 1e-14, "VJP of the test primitive");
        int before = prim.Executions;

        var e = Assert.Throws<MissingRuleException>(() => Jet.Transform(g, 1));
        Mentions(e, "test_cube", "Taylor", "[2, 3]", nameof(APrimitiveWithoutATaylorRuleIsNamedWithItsOrigin), "BadInputTests.cs");
        Assert.Throws<MissingRuleException>(() => Jvp.Transform(g));
        Assert.Equal(before, prim.Executions);
    }

    /// <summary>Traced in a helper, so its nodes' origin names the helper, not the calling test.</summary>
    private static Graph CubeSumTracedElsewhere(CubeWithoutTaylorRule prim) =>
        Tracer.Function(x => Fn.Sum(x.Graph.Apply(prim, x)), new Shape(4));

    [Fact]
    public void AFailedTransformLeavesNoOriginBehindOnLaterNodes()
    {
        // Transforms stamp the source node's origin on the nodes they emit. After a rule throws, nodes the
        // user creates next in the same graph must again get their own origin, not the failed node's.
        var inner = CubeSumTracedElsewhere(new CubeWithoutTaylorRule(withVjp: false));
        var g = new Graph(DType.Float64) { RecordOrigins = true };
        var x = g.Input(new Shape(4), "x");
        Assert.Throws<MissingRuleException>(() => Vjp.Apply(inner, [x], [g.Scalar(1)]));
        var origin = Fn.Exp(x).Origin ?? "(none)";
        Assert.True(origin.Contains(nameof(AFailedTransformLeavesNoOriginBehindOnLaterNodes)), $"origin of a node created after the failed VJP: {origin}");
    }

    [Fact]
    public void APrimitiveWithoutAVjpRuleIsNamedWithItsOrigin()
    {
        var prim = new CubeWithoutTaylorRule(withVjp: false);
        var g = Tracer.Function(x => Fn.Sum(x.Graph.Apply(prim, x)), new Shape(4));
        var e = Assert.Throws<MissingRuleException>(() => Vjp.Grad(g));
        Mentions(e, "test_cube", "VJP", "[4]", nameof(APrimitiveWithoutAVjpRuleIsNamedWithItsOrigin));
        Assert.Equal(0, prim.Executions);
    }
}
