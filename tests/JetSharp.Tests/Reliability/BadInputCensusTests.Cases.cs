using JetSharp.Backend;
using JetSharp.Jacobians;
using JetSharp.Nn;
using JetSharp.Nn.Pinn;
using JetSharp.Plotting;
using JetSharp.Primitives.LinearAlgebra;
using JetSharp.Runtime;
using JetSharp.StateSpace;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.Reliability;

/// <summary>
/// The census table. Each line: owner (the branch that owns the code), area, a unique description, the call,
/// and the expected outcome. Expected exceptions name their parameter (<see cref="Null"/>, <see cref="Range"/>)
/// or carry message fragments: the operation and the offending shapes or values.
/// </summary>
public static class BadInputCensus
{
    /// <summary>The owner tag of this branch's areas.</summary>
    public const string Mine = "valid";

    // ---- expectations ----------------------------------------------------------------------------------

    private static ThrowsExpectation Null(string param) => new(typeof(ArgumentNullException), param, []);
    private static ThrowsExpectation Range(string param, params string[] fragments) => new(typeof(ArgumentOutOfRangeException), param, fragments);
    private static ThrowsExpectation Shp(params string[] fragments) => new(typeof(ShapeException), null, fragments);
    private static ThrowsExpectation Arg(params string[] fragments) => new(typeof(ArgumentException), null, fragments);
    private static ThrowsExpectation Throws<TException>(params string[] fragments) where TException : Exception => new(typeof(TException), null, fragments);
    private static readonly CorrectExpectation Correct = new();

    // ---- fixtures --------------------------------------------------------------------------------------

    private static Node X(params int[] shape) => new Graph(DType.Float64).Input(new Shape(shape), "x");

    private static (Node A, Node B) Two(int[] a, int[] b)
    {
        var g = new Graph(DType.Float64);
        return (g.Input(new Shape(a), "a"), g.Input(new Shape(b), "b"));
    }

    private static NDArray<double> Eval1(Func<Node, Node> f, NDArray<double> x) => Run(Tracer.Function(f, x.Shape), x)[0];

    private static void Check(bool ok, string what)
    {
        if (!ok) throw new WrongAnswerException(what);
    }

    private static void Same(double[] expected, NDArray<double> actual, string what, double tol = 1e-12)
    {
        Check(actual.Size == expected.Length, $"{what}: {actual.Size} elements, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
            Check(actual.Data[i].Equals(expected[i]) || Math.Abs(actual.Data[i] - expected[i]) <= tol * Math.Max(1, Math.Abs(expected[i])),
                $"{what}: element {i} is {actual.Data[i]}, expected {expected[i]}");
    }

    private static NDArray<double> M(double[,] v) => NDArray.FromArray(v);

    /// <summary>A least-squares objective Σ(θ − 1)² on two parameters, for the trainer cases.</summary>
    private sealed class Quadratic : IObjective<double>
    {
        public string Architecture => "quadratic";
        public IReadOnlyList<Shape> ParameterShapes { get; init; } = [new Shape(2)];
        public void Resample(long step, double[] theta) { }
        public double Evaluate(double[] theta, double[] gradient)
        {
            double loss = 0;
            for (int i = 0; i < theta.Length; i++) { loss += (theta[i] - 1) * (theta[i] - 1); gradient[i] = 2 * (theta[i] - 1); }
            return loss;
        }
    }

    /// <summary>A user-defined binary primitive built on a kernel that does not exist.</summary>
    private sealed class UndefinedBinaryOp() : ElementwiseBinaryOp((BinaryOp)42);

    /// <summary>A user-defined unary primitive built on a kernel that does not exist.</summary>
    private sealed class UndefinedUnaryOp() : KernelUnaryOp((UnaryOp)42)
    {
        public override Node? Derivative(Node x0, Node y0, int m) => null;
    }

    private static Trainer<double> TrainerWith(TrainerOptions<double> options) =>
        new(new Quadratic(), [0, 0], [new TrainingPhase<double>(new Adam<double>(0.1), 3)], options);

    private static LinearGaussianModel Model(Graph g, int dx = 2, int dy = 1) => new(
        g.Input(new Shape(dx, dx), "F"), g.Input(new Shape(dy, dx), "H"), g.Input(new Shape(dx, dx), "LQ"),
        g.Input(new Shape(dy, dy), "LR"), g.Input(new Shape(dx), "m0"), g.Input(new Shape(dx, dx), "L0"));

    private static Node Smooth(Node v) => Fn.Sum(Fn.Sin(v) * v, 1, keepDims: true);

    private static LinearizedFunction Linearized() =>
        LinearizedFunction.Trace(xs => [Fn.Sin(xs[0]) * xs[1]], 2, 3);

    // ---- the table -------------------------------------------------------------------------------------

    public static IReadOnlyList<CensusCase> Cases()
    {
        var cases = new List<CensusCase>();
        string owner = Mine, area = "";
        void Add(string description, Action call, Expectation expected) => cases.Add(new(owner, area, description, call, expected));
        void AddF(string description, Func<object?> call, Expectation expected) => cases.Add(new(owner, area, description, () => call(), expected));

        // ===== Tensors ===================================================================================
        area = "Tensors";
        AddF("Shape from a null array", () => new Shape(null!), Null("dims"));
        AddF("Shape with a negative extent", () => new Shape(2, -1), Arg("negative", "[2, -1]"));
        AddF("Shape indexer past the rank", () => new Shape(3, 4)[2], Range("axis", "2", "[3, 4]"));
        AddF("Shape indexer with a negative axis", () => new Shape(3, 4)[-1], Range("axis", "-1", "[3, 4]"));
        AddF("Shape.Axis past the rank", () => new Shape(3, 4).Axis(2, "myop"), Shp("myop", "2", "[3, 4]"));
        AddF("Shape.Axis below minus the rank", () => new Shape(3, 4).Axis(-3, "myop"), Shp("myop", "-3", "[3, 4]"));
        AddF("Shape.Broadcast of incompatible shapes", () => Shape.Broadcast(new Shape(2, 3), new Shape(4), "myop"), Shp("myop", "[2, 3]", "[4]"));
        AddF("Shape.Skip more axes than the rank", () => new Shape(3, 4).Skip(3), Range("n", "3", "[3, 4]"));
        AddF("Shape.Skip a negative count", () => new Shape(3, 4).Skip(-1), Range("n", "-1", "[3, 4]"));
        AddF("Shape.Prepend null", () => new Shape(3).Prepend(null!), Null("leading"));
        AddF("Shape.Prepend a negative extent", () => new Shape(3).Prepend(-2), Arg("negative"));
        AddF("Shape with more than 2^31 elements", () => new Shape(65536, 65536).Size, Throws<InvalidOperationException>("[65536, 65536]"));
        Add("Shape indexer from the end (^1) and negative-axis helper agree", () =>
        {
            var s = new Shape(3, 4, 5);
            Check(s[^1] == 5 && s.Axis(-1, "t") == 2 && s.Axis(-3, "t") == 0, "negative axes");
        }, Correct);

        AddF("NDArray over a null array", () => new NDArray<double>(new Shape(2), null!), Null("data"));
        AddF("NDArray over an array of the wrong length", () => new NDArray<double>(new Shape(2, 3), new double[5]), Arg("5 elements", "[2, 3]"));
        AddF("NDArray of more than 2^31 elements", () => new NDArray<double>(new Shape(65536, 65536)), Throws<InvalidOperationException>("[65536, 65536]"));
        AddF("NDArray indexed with too few indices", () => NDArray.Zeros<double>(new Shape(2, 3))[0], Arg("1 indices", "[2, 3]"));
        AddF("NDArray indexed outside an axis", () => NDArray.Zeros<double>(new Shape(2, 3))[2, 0], Range("index", "[2, 0]", "[2, 3]"));
        AddF("NDArray indexed with a negative index", () => NDArray.Zeros<double>(new Shape(2, 3))[0, -1], Range("index", "[0, -1]", "[2, 3]"));
        AddF("NDArray indexed with a null index array", () => NDArray.Zeros<double>(new Shape(2, 3))[null!], Null("index"));
        Add("NDArray indexer write outside an axis", () => { var t = NDArray.Zeros<double>(new Shape(2)); t[5] = 1; }, Range("index", "[5]", "[2]"));
        AddF("NDArray.GetDouble past the end", () => NDArray.Zeros<double>(new Shape(2, 3)).GetDouble(6), Range("flatIndex", "6", "[2, 3]"));
        AddF("NDArray.GetDouble at a negative index", () => NDArray.Zeros<double>(new Shape(2, 3)).GetDouble(-1), Range("flatIndex", "-1", "[2, 3]"));
        AddF("NDArray.ToScalar of two elements", () => NDArray.Zeros<double>(new Shape(2)).ToScalar(), Throws<InvalidOperationException>("ToScalar", "[2]"));
        AddF("NDArray.Reshape to another size", () => NDArray.Zeros<double>(new Shape(2, 3)).Reshape(new Shape(7)), Arg("Reshape", "[2, 3]", "[7]"));
        AddF("NDArray.Identity of negative size", () => NDArray.Identity<double>(-1), Range("n", "-1"));
        AddF("NDArray.FromArray of a null vector", () => NDArray.FromArray((double[])null!), Null("data"));
        AddF("NDArray.FromArray of a null matrix", () => NDArray.FromArray((double[,])null!), Null("data"));
        AddF("NDArray.FromArray with a shape of another size", () => NDArray.FromArray(new double[] { 1, 2, 3 }, new Shape(2, 2)), Arg("3 elements", "[2, 2]"));
        AddF("NDArray.Random with an undefined distribution", () => NDArray.Random<double>(new Shape(3), (Distribution)42, 1), Range("distribution", "42"));
        AddF("NDArray.Random of an empty shape with an undefined distribution", () => NDArray.Random<double>(new Shape(0), (Distribution)42, 1), Range("distribution", "42"));
        AddF("NDArray.RandomUniform with low above high", () => NDArray.RandomUniform<double>(new Shape(3), 1, low: 1, high: 0), Range("high", "RandomUniform"));
        AddF("NDArray.RandomUniform with a NaN bound", () => NDArray.RandomUniform<double>(new Shape(3), 1, low: double.NaN), Range("low", "RandomUniform", "NaN"));
        AddF("NDArray.RandomUniform with an infinite bound", () => NDArray.RandomUniform<double>(new Shape(3), 1, high: double.PositiveInfinity), Range("high", "RandomUniform"));
        Add("SeededRandom.Fill of an empty span with an undefined distribution", () => SeededRandom.Fill<double>(Span<double>.Empty, (Distribution)9, 1), Range("distribution", "9"));
        AddF("DType name of an undefined dtype", () => ((DType)42).Name(), Range("dtype", "42"));
        AddF("DType size of an undefined dtype", () => ((DType)42).SizeInBytes(), Range("dtype", "42"));
        AddF("ToSystemTensor of null", () => ((NDArray<double>)null!).ToSystemTensor(), Null("tensor"));
        AddF("ToArray2D of null", () => ((NDArray<double>)null!).ToArray2D(), Null("tensor"));
        AddF("ToArray2D of a rank-3 tensor", () => NDArray.Zeros<double>(new Shape(2, 2, 2)).ToArray2D(), Throws<InvalidOperationException>("ToArray2D", "[2, 2, 2]"));
        Add("NDArray.FromArray copies its source", () =>
        {
            var src = new double[] { 1, 2, 3 };
            var t = NDArray.FromArray(src);
            src[0] = 99;
            Same([1, 2, 3], t, "FromArray copy");
        }, Correct);
        Add("System tensor round trip keeps shape and values", () =>
        {
            var t = NDArray.FromArray(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } });
            var back = t.ToSystemTensor().ToJetSharp();
            Check(back.Shape == new Shape(2, 3), $"shape {back.Shape}");
            Same([1, 2, 3, 4, 5, 6], back, "round trip");
        }, Correct);
        Add("Seeded samples are reproducible and agree across dtypes", () =>
        {
            var a = NDArray.RandomNormal<double>(new Shape(50), 7);
            var b = NDArray.RandomNormal<double>(new Shape(50), 7);
            var c = NDArray.RandomNormal<float>(new Shape(50), 7);
            for (int i = 0; i < 50; i++)
            {
                Check(a.Data[i] == b.Data[i], "same seed, same values");
                Check(Math.Abs(a.Data[i] - c.Data[i]) <= 1e-6 * Math.Max(1, Math.Abs(a.Data[i])), "float32 matches float64 to rounding");
            }
        }, Correct);
        Add("Full with NaN fills NaN", () => Same([double.NaN, double.NaN], NDArray.Full(new Shape(2), double.NaN), "Full NaN"), Correct);

        // ===== Ir ========================================================================================
        area = "Ir";
        AddF("Graph of an undefined dtype", () => new Graph((DType)42), Range("dtype", "42"));
        AddF("Graph.Apply of a null primitive", () => { var x = X(3); return x.Graph.Apply(null!, x); }, Null("op"));
        AddF("Graph.Apply with a null input array", () => X(3).Graph.Apply(ExpOp.Instance, null!), Null("inputs"));
        AddF("Graph.Apply with a null input", () => X(3).Graph.Apply(ExpOp.Instance, [null!]), Null("inputs"));
        AddF("Graph.Apply of an input placeholder", () => X(3).Graph.Apply(new InputOp("y", 1)), Throws<InvalidOperationException>("input", "Graph.Input"));
        AddF("Graph.Apply with the wrong arity", () => { var x = X(3); return x.Graph.Apply(AddOp.Instance, x); }, Shp("add", "expected 2 input(s), got 1"));
        AddF("Graph.Apply with a node of another non-constant graph", () => { var x = X(3); return x.Graph.Apply(AddOp.Instance, x, X(3)); }, Arg("add", "another graph"));
        AddF("Graph.Constant of null", () => new Graph(DType.Float64).Constant(null!), Null("value"));
        Add("Graph.SetOutputs with a null array", () => new Graph(DType.Float64).SetOutputs(null!), Null("outputs"));
        Add("Graph.SetOutputs with a null node", () => { var x = X(3); x.Graph.SetOutputs(x, null!); }, Null("outputs"));
        Add("Graph.SetOutputs with a node of another graph", () => new Graph(DType.Float64).SetOutputs(X(3)), Arg("SetOutputs", "another graph"));
        AddF("GraphWalk.Reachable of a null graph", () => GraphWalk.Reachable(null!), Null("g"));
        Add("GraphWalk.CheckInputs with the wrong count", () =>
        {
            var g = Tracer.Function(Fn.Exp, new Shape(3));
            GraphWalk.CheckInputs(g, [], "myop");
        }, Arg("myop", "0 input(s)", "1 input(s)"));
        Add("GraphWalk.CheckInputs with a null list", () => GraphWalk.CheckInputs(Tracer.Function(Fn.Exp, new Shape(3)), null!, "myop"), Null("primals"));
        AddF("GraphWalk.Copy onto nodes of another graph", () =>
        {
            var g = Tracer.Function(Fn.Exp, new Shape(3));
            return GraphWalk.Copy(g, new Graph(DType.Float64), [X(3)]);
        }, Arg("copy", "target graph"));
        AddF("GraphWalk.Copy of a null graph", () => GraphWalk.Copy(null!, new Graph(DType.Float64), []), Null("source"));
        AddF("GraphWalk.InputName of null", () => GraphWalk.InputName(null!), Null("input"));
        AddF("GraphWalk.MirrorInputs of a null graph", () => GraphWalk.MirrorInputs(null!, new Graph(DType.Float64)), Null("source"));
        Add("GraphWalk.ForEachNode with a null visitor", () => GraphWalk.ForEachNode(Tracer.Function(Fn.Exp, new Shape(3)), new Graph(DType.Float64), null!), Null("visit"));
        Add("Graph.SetOutputs keeps its own copy of the array", () =>
        {
            var x = X(3);
            var y = Fn.Exp(x);
            var outs = new[] { y };
            x.Graph.SetOutputs(outs);
            outs[0] = x;
            Check(x.Graph.Outputs[0] == y, "the graph's output changed with the caller's array");
        }, Correct);
        AddF("RunContext without a runner", () => new RunContext(null!), Null("runner"));
        Add("MemoryMeter.Allocate of negative bytes", () => new MemoryMeter().Allocate(-5), Range("bytes", "-5"));
        Add("MemoryMeter.Release of negative bytes", () => new MemoryMeter().Release(-5), Range("bytes", "-5"));
        AddF("ConstantOp of a null tensor", () => new ConstantOp(null!, DType.Float64), Null("value"));
        AddF("ConstantOp of an undefined dtype", () => new ConstantOp(NDArray.Zeros<double>(new Shape(2)), (DType)42), Range("dtype", "42"));
        AddF("MissingRuleException for a null node", () => new MissingRuleException(null!, "VJP"), Null("node"));
        AddF("NotSmoothException for a null node", () => new NotSmoothException(null!, 2, "why"), Null("node"));
        Add("Graph.Constant is not changed by later writes to the tensor", () =>
        {
            var c = NDArray.FromArray(new double[] { 1, 2, 3 });
            var g = Tracer.Function(x => x + x.Graph.Constant(c), new Shape(3));
            c.Data[0] = 100;
            Same([1, 2, 3], Run(g, NDArray.Zeros<double>(new Shape(3)))[0], "constant after the caller's write");
        }, Correct);

        // ===== Primitives: nulls =========================================================================
        area = "Fn";
        foreach (var (name, f) in new (string, Func<Node, Node>)[]
        {
            ("Neg", Fn.Neg), ("Exp", Fn.Exp), ("Log", Fn.Log), ("Sin", Fn.Sin), ("Cos", Fn.Cos), ("Tanh", Fn.Tanh),
            ("Sigmoid", Fn.Sigmoid), ("Softplus", Fn.Softplus), ("Sqrt", Fn.Sqrt), ("Relu", Fn.Relu), ("Step", Fn.Step),
            ("Square", Fn.Square), ("Pow", x => Fn.Pow(x, 3)), ("Sum", x => Fn.Sum(x)), ("Mean", x => Fn.Mean(x)),
            ("Sum over an axis", x => Fn.Sum(x, 0)), ("Reshape", x => Fn.Reshape(x, 3)), ("Transpose", x => Fn.Transpose(x)),
            ("BroadcastTo", x => Fn.BroadcastTo(x, new Shape(3))), ("Slice", x => Fn.Slice(x, [0], [1])),
            ("Slice along an axis", x => Fn.Slice(x, 0, 0, 1)), ("Pad", x => Fn.Pad(x, [1], [1])),
            ("ExpandDims", x => Fn.ExpandDims(x, 0)), ("SumToShape", x => Fn.SumToShape(x, new Shape(1))),
        })
            AddF($"Fn.{name} of null", () => f(null!), Null("x"));
        AddF("Fn.Add with a null left operand", () => Fn.Add(null!, X(3)), Null("a"));
        AddF("Fn.Add with a null right operand", () => Fn.Add(X(3), null!), Null("b"));
        AddF("Fn.Sub with a null operand", () => Fn.Sub(X(3), null!), Null("b"));
        AddF("Fn.Mul with a null operand", () => Fn.Mul(null!, X(3)), Null("a"));
        AddF("Fn.Div with a null operand", () => Fn.Div(X(3), null!), Null("b"));
        AddF("Fn.MatMul with a null left operand", () => Fn.MatMul(null!, X(3, 3)), Null("a"));
        AddF("Fn.MatMul with a null right operand", () => Fn.MatMul(X(3, 3), null!), Null("b"));
        AddF("Fn.Dot with a null operand", () => Fn.Dot(X(3), null!), Null("b"));
        AddF("Fn.Concat with a null array", () => Fn.Concat(0, null!), Null("xs"));
        AddF("Fn.Concat with a null node", () => Fn.Concat(0, X(3), null!), Null("xs"));
        AddF("Fn.Random in a null graph", () => Fn.Random(null!, new Shape(3), Distribution.Normal, 1), Null("g"));
        AddF("Fn.Zeros in a null graph", () => Fn.Zeros(null!, new Shape(3)), Null("g"));
        AddF("Fn.Apply with a null input array", () => Fn.Apply(ExpOp.Instance, null!), Null("inputs"));
        AddF("Fn.Apply with a null input", () => Fn.Apply(AddOp.Instance, X(3), null!), Null("inputs"));
        AddF("Fn.Reshape with a null shape", () => Fn.Reshape(X(3), null!), Null("shape"));
        AddF("Fn.Transpose with a null permutation", () => Fn.Transpose(X(3), null!), Null("perm"));
        AddF("Fn.Slice with null starts", () => Fn.Slice(X(3), null!, [1]), Null("starts"));
        AddF("Fn.Slice with null sizes", () => Fn.Slice(X(3), [0], null!), Null("sizes"));
        AddF("Fn.Pad with null widths", () => Fn.Pad(X(3), null!, [1]), Null("before"));
        AddF("Fn.ExpandDims with a null axis list", () => Fn.ExpandDims(X(3), null!), Null("axes"));
        AddF("Node operator + with a null left operand", () => (Node)null! + X(3), Null("a"));
        AddF("Node operator * with a null right operand", () => X(3) * (Node)null!, Null("b"));
        AddF("Node operator + scalar on null", () => (Node)null! + 2.0, Null("a"));
        AddF("Node operator scalar * null", () => 2.0 * (Node)null!, Null("b"));
        AddF("Node operator unary minus on null", () => -(Node)null!, Null("a"));
        AddF("Node operator scalar / null", () => 1.0 / (Node)null!, Null("b"));

        // ===== Primitives: shapes, axes, attributes =======================================================
        AddF("Fn.Add of incompatible shapes", () => { var (a, b) = Two([3, 4], [5]); return a + b; }, Shp("add", "[3, 4]", "[5]"));
        AddF("Fn.Mul of float64 and float32 nodes", () =>
        {
            var a = new Graph(DType.Float64).Input(new Shape(3));
            var b = new Graph(DType.Float32).Input(new Shape(3));
            return a * b;
        }, Arg("mul", "float32", "float64"));
        AddF("Fn.Pow with a NaN exponent", () => Fn.Pow(X(3), double.NaN), Range("exponent", "pow", "NaN"));
        AddF("Fn.Pow with an infinite exponent", () => Fn.Pow(X(3), double.PositiveInfinity), Range("exponent", "pow"));
        AddF("Fn.Sum over an axis past the rank", () => Fn.Sum(X(3, 4), 2), Shp("sum", "2", "[3, 4]"));
        AddF("Fn.Sum over a repeated axis", () => Fn.Sum(X(3, 4), [1, -1]), Shp("sum", "repeated", "[3, 4]"));
        AddF("Fn.Mean over an axis past the rank", () => Fn.Mean(X(3, 4), 5), Shp("sum", "5", "[3, 4]"));
        AddF("Fn.Mean over an empty axis", () => Fn.Mean(X(0, 3), 0), Shp("mean", "[0, 3]"));
        AddF("SumOp with a null axis list", () => new SumOp(null!, false), Null("axes"));
        AddF("SumOp applied with an axis past the rank", () => { var x = X(3, 4); return x.Graph.Apply(new SumOp([4], false), x); }, Shp("sum", "4", "[3, 4]"));
        AddF("Fn.Reshape to another size", () => Fn.Reshape(X(3, 4), 5, 2), Shp("reshape", "[3, 4]", "[5, 2]"));
        AddF("Fn.Reshape with two unknown extents", () => Fn.Reshape(X(3, 4), -1, -1), Shp("reshape", "[3, 4]"));
        AddF("Fn.Reshape with an extent below -1", () => Fn.Reshape(X(3, 4), -2, -6), Shp("reshape", "[-2, -6]"));
        AddF("Fn.Reshape of an empty tensor with an unknown extent", () => Fn.Reshape(X(0, 3), -1, 0), Shp("reshape", "[0, 3]"));
        AddF("Fn.Reshape with a non-dividing unknown extent", () => Fn.Reshape(X(3, 4), -1, 5), Shp("reshape", "[3, 4]"));
        AddF("ReshapeOp with a mismatched size", () => { var x = X(3, 4); return x.Graph.Apply(new ReshapeOp(new Shape(5)), x); }, Shp("reshape", "[3, 4]", "[5]"));
        AddF("Fn.Transpose with a repeated axis", () => Fn.Transpose(X(3, 4), 0, 0), Shp("transpose", "[0, 0]", "[3, 4]"));
        AddF("Fn.Transpose with an axis past the rank", () => Fn.Transpose(X(3, 4), 0, 2), Shp("transpose", "[0, 2]", "[3, 4]"));
        AddF("Fn.Transpose with too few axes", () => Fn.Transpose(X(3, 4, 5), 1, 0), Shp("transpose", "[1, 0]", "[3, 4, 5]"));
        AddF("TransposeOp with a null permutation", () => new TransposeOp(null!), Null("perm"));
        AddF("Fn.BroadcastTo an incompatible shape", () => Fn.BroadcastTo(X(3, 1), new Shape(2, 4)), Shp("broadcast", "[3, 1]", "[2, 4]"));
        AddF("Fn.BroadcastTo a lower rank", () => Fn.BroadcastTo(X(2, 3), new Shape(3)), Shp("broadcast", "[2, 3]", "[3]"));
        AddF("Fn.Slice along an axis past the rank", () => Fn.Slice(X(3, 4), 2, 0, 1), Shp("slice", "2", "[3, 4]"));
        AddF("Fn.Slice past the end of an axis", () => Fn.Slice(X(3, 4), 1, 2, 3), Shp("slice", "2:5", "[3, 4]"));
        AddF("Fn.Slice from a negative start", () => Fn.Slice(X(3, 4), 0, -1, 2), Shp("slice", "[3, 4]"));
        AddF("Fn.Slice of negative length", () => Fn.Slice(X(3, 4), 0, 1, -1), Shp("slice", "[3, 4]"));
        AddF("Fn.Slice whose end overflows int", () => Fn.Slice(X(3, 4), 0, int.MaxValue, 2), Shp("slice", "[3, 4]"));
        AddF("Fn.Slice with too few starts", () => Fn.Slice(X(3, 4), [0], [1]), Shp("slice", "[3, 4]"));
        AddF("SliceOp with null starts", () => new SliceOp(null!, [1]), Null("starts"));
        AddF("Fn.Pad with a negative width", () => Fn.Pad(X(3), [-1], [0]), Shp("pad", "[3]"));
        AddF("Fn.Pad with too few widths", () => Fn.Pad(X(3, 4), [1], [1]), Shp("pad", "[3, 4]"));
        AddF("Fn.Pad to more than int extents", () => Fn.Pad(X(3), [int.MaxValue], [1]), Shp("pad", "[3]"));
        AddF("Fn.Pad with fewer widths after than before", () => Fn.Pad(X(3, 4), [1, 1], [1]), Shp("pad", "2", "1"));
        AddF("SliceOp with more sizes than starts", () => { var x = X(3, 4); return x.Graph.Apply(new SliceOp([0], [1, 1]), x); }, Shp("slice", "1 starts", "2 sizes"));
        AddF("ReshapeOp.Resolve of a null target", () => ReshapeOp.Resolve(null!, new Shape(3)), Null("dims"));
        AddF("SumOp.Normalize of a null axis list", () => SumOp.Normalize(null!, new Shape(3)), Null("axes"));
        AddF("PadOp with null widths", () => new PadOp([1], null!), Null("after"));
        AddF("Fn.Concat of nothing", () => Fn.Concat(0), Shp("concat", "no inputs"));
        AddF("Fn.Concat along an axis past the rank", () => { var (a, b) = Two([2, 3], [2, 3]); return Fn.Concat(2, a, b); }, Shp("concat", "2", "[2, 3]"));
        AddF("Fn.Concat of mismatched shapes", () => { var (a, b) = Two([2, 3], [2, 4]); return Fn.Concat(0, a, b); }, Shp("concat", "[2, 3]", "[2, 4]"));
        AddF("Fn.Concat of mismatched ranks", () => { var (a, b) = Two([2, 3], [2, 3, 1]); return Fn.Concat(1, a, b); }, Shp("concat", "[2, 3]", "[2, 3, 1]"));
        AddF("Fn.Random with an undefined distribution", () => Fn.Random(new Graph(DType.Float64), new Shape(3), (Distribution)42, 1), Range("distribution", "42"));
        AddF("Fn.SumToShape to a shape that does not broadcast", () => Fn.SumToShape(X(3, 4), new Shape(2)), Shp("sum_to_shape", "[2]", "[3, 4]"));
        AddF("Fn.ExpandDims at an axis past the new rank", () => Fn.ExpandDims(X(3), 5), Range("axes", "expand_dims", "5", "[3]"));
        AddF("Fn.ExpandDims at an axis below minus the new rank", () => Fn.ExpandDims(X(3), -3), Range("axes", "expand_dims", "-3", "[3]"));
        AddF("Fn.ExpandDims at a repeated axis", () => Fn.ExpandDims(X(3), 0, 0), Arg("expand_dims", "[0, 0]", "[3]"));
        AddF("Fn.ExpandDims at the same axis given positive and negative", () => Fn.ExpandDims(X(3), 0, -3), Arg("expand_dims", "[0, -3]", "[3]"));
        AddF("Fn.Dot of mismatched vectors", () => { var (a, b) = Two([3], [4]); return Fn.Dot(a, b); }, Shp("mul", "[3]", "[4]"));
        AddF("Fn.MatMul with mismatched inner dimensions", () => { var (a, b) = Two([2, 3], [4, 5]); return Fn.MatMul(a, b); }, Shp("matmul", "[2, 3]", "[4, 5]"));
        AddF("Fn.MatMul of a vector", () => { var (a, b) = Two([3], [3, 4]); return Fn.MatMul(a, b); }, Shp("matmul", "[3]", "[3, 4]"));
        AddF("Fn.MatMul with batch axes that do not broadcast", () => { var (a, b) = Two([2, 3, 4], [3, 4, 5]); return Fn.MatMul(a, b); }, Shp("matmul", "[2, 3, 4]", "[3, 4, 5]"));
        AddF("Fn.Apply of a null primitive", () => Fn.Apply(null!, X(3)), Null("op"));
        AddF("Fn.Apply without inputs", () => Fn.Apply(ExpOp.Instance), Arg("exp", "at least one input"));
        AddF("A binary primitive on an undefined kernel", () => new UndefinedBinaryOp(), Range("kernel", "42"));
        AddF("A unary primitive on an undefined kernel", () => new UndefinedUnaryOp(), Range("kernel", "42"));
        AddF("RandomOp with an undefined distribution", () => new RandomOp(new Shape(2), (Distribution)42, 1), Range("distribution", "42"));
        Add("Fn.Sum without axes sums everything", () => Same([21], Eval1(x => Fn.Sum(x), T(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } })), "sum"), Correct);
        Add("Fn.Sum over axis -1 sums the rows", () => Same([6, 15], Eval1(x => Fn.Sum(x, -1), T(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } })), "row sums"), Correct);
        Add("Fn.Slice along axis -1", () => Same([2, 3, 5, 6], Eval1(x => Fn.Slice(x, -1, 1, 2), T(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } })), "slice"), Correct);
        Add("Fn.Concat along axis -1", () => Same([1, 2, 3, 1, 2, 3], Eval1(x => Fn.Concat(-1, x, x), T(1, 2, 3)), "concat"), Correct);
        Add("Fn.ExpandDims at axis -1", () =>
        {
            var y = Eval1(x => Fn.ExpandDims(x, -1), T(1, 2, 3));
            Check(y.Shape == new Shape(3, 1), $"shape {y.Shape}");
            Same([1, 2, 3], y, "values");
        }, Correct);
        Add("Fn.Reshape infers one extent", () => Check(Fn.Reshape(X(3, 4), 2, -1).Shape == new Shape(2, 6), "shape"), Correct);
        Add("Fn.Sum over an empty axis is zero", () => Same([0, 0, 0], Eval1(x => Fn.Sum(x, 0), NDArray.Zeros<double>(new Shape(0, 3))), "empty sum"), Correct);
        Add("Fn.MatMul with an empty inner dimension is zero", () =>
        {
            var g = Tracer.Function(xs => Fn.MatMul(xs[0], xs[1]), [new Shape(2, 0), new Shape(0, 3)]);
            Same([0, 0, 0, 0, 0, 0], Run(g, NDArray.Zeros<double>(new Shape(2, 0)), NDArray.Zeros<double>(new Shape(0, 3)))[0], "k = 0 product");
        }, Correct);
        Add("Fn.Pow with exponent 0 gives ones, at 0 too", () => Same([1, 1, 1], Eval1(x => Fn.Pow(x, 0), T(0, -2, 3)), "x^0"), Correct);
        Add("Fn.Div by zero gives IEEE infinities", () => Same([double.PositiveInfinity, double.NegativeInfinity], Eval1(x => 1.0 / x, T(0, -0.0)), "1/±0"), Correct);
        Add("A permutation array changed after Fn.Transpose does not change the graph", () =>
        {
            var perm = new[] { 1, 0 };
            var g = Tracer.Function(x => Fn.Transpose(x, perm), new Shape(2, 3));
            perm[0] = 0; perm[1] = 1;
            var y = Run(g, T(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } }))[0];
            Check(y.Shape == new Shape(3, 2), $"shape {y.Shape}");
            Same([1, 4, 2, 5, 3, 6], y, "transpose");
        }, Correct);
        Add("Slice bounds changed after Fn.Slice do not change the graph", () =>
        {
            int[] starts = [1], sizes = [2];
            var g = Tracer.Function(x => Fn.Slice(x, starts, sizes), new Shape(4));
            starts[0] = 0;
            Same([2, 3], Run(g, T(1, 2, 3, 4))[0], "slice");
        }, Correct);

        // ===== Linalg ====================================================================================
        area = "Linalg";
        foreach (var (name, f, param) in new (string, Func<Node, Node>, string)[]
        {
            ("MatrixTranspose", Linalg.MatrixTranspose, "x"), ("Tril", x => Linalg.Tril(x), "x"), ("Diagonal", Linalg.Diagonal, "x"),
            ("QrQ", Linalg.QrQ, "a"), ("Cholesky", Linalg.Cholesky, "a"), ("Tria", Linalg.Tria, "a"), ("Pinv", x => Linalg.Pinv(x), "a"),
            ("LogAbsDetTriangular", Linalg.LogAbsDetTriangular, "t"),
        })
            AddF($"Linalg.{name} of null", () => f(null!), Null(param));
        AddF("Linalg.SolveTriangular with a null matrix", () => Linalg.SolveTriangular(null!, X(3, 1)), Null("a"));
        AddF("Linalg.SolveTriangular with a null right-hand side", () => Linalg.SolveTriangular(X(3, 3), null!), Null("b"));
        AddF("Linalg.SolveTriangularRight with a null right-hand side", () => Linalg.SolveTriangularRight(null!, X(3, 3)), Null("b"));
        AddF("Linalg.Mask with an infinite weight", () => Linalg.Mask(X(3, 3), 1, double.PositiveInfinity, 0), Range("diagonal", "trimask"));
        AddF("Linalg.Eye in a null graph", () => Linalg.Eye(null!, 3), Null("g"));
        AddF("Linalg.Eye of negative size", () => Linalg.Eye(new Graph(DType.Float64), -1), Range("n", "-1"));
        AddF("Linalg.Diagonal of a vector", () => Linalg.Diagonal(X(3)), Shp("diagonal", "[3]"));
        AddF("Linalg.LogAbsDetTriangular of a vector", () => Linalg.LogAbsDetTriangular(X(3)), Shp("[3]"));
        AddF("Linalg.MatrixTranspose of a vector", () => Linalg.MatrixTranspose(X(3)), Shp("matrix transpose", "[3]"));
        AddF("Linalg.Mask with a NaN weight", () => Linalg.Mask(X(3, 3), double.NaN, 1, 0), Range("lower", "trimask", "NaN"));
        AddF("Linalg.Mask of a vector", () => Linalg.Mask(X(3), 1, 1, 0), Shp("trimask", "[3]"));
        AddF("Linalg.Qr of a vector", () => Linalg.QrR(X(3)), Shp("qr", "[3]"));
        AddF("QrOp of an undefined part", () => new QrOp((QrPart)42), Range("part", "42"));
        AddF("Linalg.Cholesky of a non-square matrix", () => Linalg.Cholesky(X(2, 3)), Shp("cholesky", "[2, 3]"));
        AddF("Linalg.SolveTriangular with a non-square matrix", () => { var (a, b) = Two([3, 2], [3, 1]); return Linalg.SolveTriangular(a, b); }, Shp("trisolve", "[3, 2]"));
        AddF("Linalg.SolveTriangular with a right-hand side of the wrong height", () => { var (a, b) = Two([3, 3], [2, 1]); return Linalg.SolveTriangular(a, b); }, Shp("trisolve", "[2, 1]", "[3, 3]"));
        AddF("Linalg.SolveTriangular with a vector right-hand side", () => { var (a, b) = Two([3, 3], [3]); return Linalg.SolveTriangular(a, b); }, Shp("trisolve", "[3]"));
        AddF("Linalg.SolveTriangularRight with mismatched widths", () => { var (b, a) = Two([2, 4], [3, 3]); return Linalg.SolveTriangularRight(b, a); }, Shp("trisolve"));
        AddF("Linalg.Tria of a vector", () => Linalg.Tria(X(3)), Shp("tria", "[3]"));
        AddF("Linalg.Pinv with a negative rcond", () => Linalg.Pinv(X(3, 3), -1), Arg("pinv", "rcond", "-1"));
        AddF("Linalg.Pinv with a NaN rcond", () => Linalg.Pinv(X(3, 3), double.NaN), Arg("pinv", "rcond", "NaN"));
        AddF("Linalg.Pinv with rcond 1.5", () => Linalg.Pinv(X(3, 3), 1.5), Arg("pinv", "rcond", "1.5"));
        AddF("Cholesky of an indefinite matrix at run time", () =>
            Eval1(Linalg.Cholesky, T(new double[,] { { 1, 2 }, { 2, 1 } })), Throws<SingularMatrixException>("cholesky"));
        Add("Linalg.Diagonal of a tall matrix", () => Same([1, 5], Eval1(Linalg.Diagonal, T(new double[,] { { 1, 2 }, { 4, 5 }, { 7, 8 } })), "diagonal"), Correct);
        Add("Linalg.Tria of a wide matrix has the Gramian A·Aᵀ", () =>
        {
            var a = T(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } });
            var r = Eval1(Linalg.Tria, a);
            // A·Aᵀ = [[14, 32], [32, 77]]; R lower triangular with R·Rᵀ equal to it.
            double r00 = r[0, 0], r10 = r[1, 0], r11 = r[1, 1];
            Check(Math.Abs(r[0, 1]) < 1e-14, "upper entry zero");
            Same([14, 32, 77], T(r00 * r00, r10 * r00, r10 * r10 + r11 * r11), "Gramian", 1e-12);
        }, Correct);

        // ===== Transforms ================================================================================
        area = "Transforms";
        var sinGraph = (Func<Graph>)(() => Tracer.Function(Fn.Sin, new Shape(3)));
        AddF("Jet.Apply of a null graph", () => { var x = X(3); return Jet.Apply(null!, [x], [[x]], 1, default); }, Null("g"));
        AddF("Jet.Apply with null primals", () => Jet.Apply(sinGraph(), null!, [[null]], 1, default), Null("primals"));
        AddF("Jet.Apply with a null primal", () => Jet.Apply(sinGraph(), [null!], [[null]], 1, default), Null("primals"));
        AddF("Jet.Apply with null coefficient lists", () => Jet.Apply(sinGraph(), [X(3)], null!, 1, default), Null("coefficients"));
        AddF("Jet.Apply with a null coefficient list", () => Jet.Apply(sinGraph(), [X(3)], [null!], 1, default), Null("coefficients"));
        AddF("Jet.Apply of negative order", () => Jet.Apply(sinGraph(), [X(3)], [[]], -1, default), Range("order", "jet", "-1"));
        AddF("Jet.Apply with too few coefficients", () => { var x = X(3); return Jet.Apply(sinGraph(), [x], [[x]], 2, default); }, Arg("jet", "1 coefficients", "2"));
        AddF("Jet.Apply with a coefficient of the wrong shape", () =>
        {
            var g = new Graph(DType.Float64);
            return Jet.Apply(sinGraph(), [g.Input(new Shape(3))], [[g.Input(new Shape(4))]], 1, default);
        }, Shp("jet", "[4]", "[3]"));
        AddF("Jet.Apply with a primal of the wrong shape", () => Jet.Apply(sinGraph(), [X(4)], [[null]], 1, default), Shp("jet", "[4]", "[3]"));
        AddF("Jet.Apply with the wrong number of coefficient lists", () => Jet.Apply(sinGraph(), [X(3)], [[null], [null]], 1, default), Arg("jet", "2 coefficient lists"));
        AddF("Jet.Transform of a null graph", () => Jet.Transform(null!, 1), Null("g"));
        AddF("Jet.Transform of negative order", () => Jet.Transform(sinGraph(), -1), Range("order", "jet", "-1"));
        AddF("Jvp.Apply with null tangents", () => Jvp.Apply(sinGraph(), [X(3)], null!), Null("tangents"));
        AddF("Jvp.Transform of a null graph", () => Jvp.Transform(null!), Null("g"));
        AddF("Vjp.Apply of a null graph", () => Vjp.Apply(null!, [X(3)], [null]), Null("g"));
        AddF("Vjp.Apply with null primals", () => Vjp.Apply(sinGraph(), null!, [null]), Null("primals"));
        AddF("Vjp.Apply with null cotangents", () => Vjp.Apply(sinGraph(), [X(3)], null!), Null("outputCotangents"));
        AddF("Vjp.Apply with a selection of the wrong length", () =>
        {
            var g = Tracer.Function(xs => xs[0] * xs[1], [new Shape(3), new Shape(3)]);
            var (a, b) = Two([3], [3]);
            return Vjp.Apply(g, [a, b], [null], [true]);
        }, Arg("vjp", "1", "2 input(s)"));
        AddF("Vjp.Apply with the wrong number of cotangents", () => Vjp.Apply(sinGraph(), [X(3)], [null, null]), Arg("vjp", "2 cotangent(s)", "1 output(s)"));
        AddF("Vjp.Apply with a cotangent of the wrong shape", () =>
        {
            var g = new Graph(DType.Float64);
            return Vjp.Apply(sinGraph(), [g.Input(new Shape(3))], [g.Input(new Shape(4))]);
        }, Shp("vjp", "[4]", "[3]"));
        AddF("Vjp.Grad of a null graph", () => Vjp.Grad(null!), Null("g"));
        AddF("Vjp.Grad of a non-scalar function", () => Vjp.Grad(Tracer.Function(Fn.Exp, new Shape(3))), Shp("grad", "[3]"));
        AddF("Vjp.Grad with a selection of the wrong length", () =>
            Vjp.Grad(Tracer.Function(xs => Fn.Sum(xs[0] * xs[1]), [new Shape(3), new Shape(3)]), [true, false, true]), Arg("grad", "3", "2 input(s)"));
        AddF("Inline.Apply of a null graph", () => Inline.Apply(null!, [X(3)]), Null("g"));
        AddF("Inline.Apply with null inputs", () => Inline.Apply(sinGraph(), null!), Null("inputs"));
        AddF("Inline.Apply with the wrong number of inputs", () => { var (a, b) = Two([3], [3]); return Inline.Apply(sinGraph(), [a, b]); }, Arg("2 input(s)", "1 input(s)"));
        AddF("Inline.Apply onto a float32 node", () => Inline.Apply(sinGraph(), [new Graph(DType.Float32).Input(new Shape(3))]), Shp("float32", "float64"));
        Add("Jet of order 0 is the function itself", () =>
        {
            var j = Jet.Transform(sinGraph(), 0);
            Same([Math.Sin(1), Math.Sin(2), Math.Sin(3)], Run(j, T(1, 2, 3))[0], "order-0 jet");
        }, Correct);
        Add("Vjp.Grad with no input selected returns the value only", () =>
        {
            var gg = Vjp.Grad(Tracer.Function(x => Fn.Sum(x * x), new Shape(3)), [false]);
            var outs = Run(gg, T(1, 2, 3));
            Check(outs.Length == 1, $"{outs.Length} outputs");
            Same([14], outs[0], "value");
        }, Correct);
        Add("Vjp.Grad of a one-element non-scalar output", () =>
        {
            var gg = Vjp.Grad(Tracer.Function(x => Fn.Sum(x * x, 0, keepDims: true), new Shape(3)));
            Same([2, 4, 6], Run(gg, T(1, 2, 3))[1], "gradient");
        }, Correct);

        // ===== Runtime ===================================================================================
        area = "Runtime";
        var expExe = (Func<Executable>)(() => Executable.Compile(Tracer.Function(Fn.Exp, new Shape(3))));
        AddF("Executable of a null graph", () => new Executable(null!), Null("graph"));
        AddF("Executable.Compile of a null graph", () => Executable.Compile(null!), Null("graph"));
        AddF("Executable.Run with a null untyped input array", () => expExe().Run((NDArray[])null!), Null("inputs"));
        AddF("Executable.Run with a null untyped input", () => expExe().Run(new NDArray[] { null! }), Null("inputs"));
        AddF("Executable.Run with a null typed input", () => expExe().Run(new NDArray<double>[] { null! }), Null("inputs"));
        AddF("Executable.Run with a null typed input array", () => expExe().Run((NDArray<double>[])null!), Null("inputs"));
        AddF("Executable.Run with a null context", () => expExe().Run([T(1, 2, 3)], (RunContext)null!), Null("context"));
        AddF("Executable.Run with too many inputs", () => expExe().Run(T(1, 2, 3), T(1, 2, 3)), Arg("run", "2 input tensor(s)", "[3]"));
        AddF("Executable.Run with an input of the wrong shape", () => expExe().Run(T(1, 2)), Shp("run", "[2]", "[3]"));
        AddF("Executable.Run with float32 inputs on a float64 graph", () => expExe().Run(NDArray.FromArray(new float[] { 1, 2, 3 })), Arg("run", "float32", "float64"));
        AddF("Executable.Run with mixed untyped inputs", () => expExe().Run(new NDArray[] { NDArray.FromArray(new float[] { 1, 2, 3 }) }), Arg("run", "float32", "float64"));
        AddF("Executable.Run after cancellation", () =>
        {
            using var cts = new CancellationTokenSource();
            cts.Cancel();
            return expExe().Run([T(1, 2, 3)], 0, cts.Token);
        }, Throws<OperationCanceledException>());
        AddF("GraphRunner.Compiled of a null graph", () => GraphRunner.Instance.Compiled(null!), Null("graph"));
        AddF("GraphRunner.Run of a null graph", () => GraphRunner.Instance.Run(null!, [T(1)], RunContext.Detached()), Null("graph"));
        Add("Executable output never aliases the input", () =>
        {
            var x = T(1, 2, 3);
            var y = Executable.Compile(Tracer.Function(v => v, new Shape(3))).Run(x)[0];
            Check(!ReferenceEquals(x.Data, y.Data), "the identity's output shares the input's storage");
            y.Data[0] = 7;
            Same([1, 2, 3], x, "input after writing into the output");
        }, Correct);
        Add("Two outputs of one node are two tensors", () =>
        {
            var g = Tracer.Function(xs => { var e = Fn.Exp(xs[0]); return [e, e]; }, [new Shape(2)]);
            var outs = Executable.Compile(g).Run(T(0, 0));
            Check(!ReferenceEquals(outs[0].Data, outs[1].Data), "shared storage");
            outs[0].Data[0] = 5;
            Same([1, 1], outs[1], "second output after writing the first");
        }, Correct);
        Add("An executable of a graph without outputs returns none", () =>
        {
            var g = new Graph(DType.Float64);
            g.Input(new Shape(2));
            Check(Executable.Compile(g).Run(T(1, 2)).Length == 0, "outputs");
        }, Correct);

        // ===== Tracing ===================================================================================
        area = "Tracing";
        AddF("Tracer.Function of a null function", () => Tracer.Function((Func<Node, Node>)null!, new Shape(3)), Null("f"));
        AddF("Tracer.Function of a null multi-input function", () => Tracer.Function((Func<Node[], Node>)null!, [new Shape(3)]), Null("f"));
        AddF("Tracer.Function with null shapes", () => Tracer.Function(xs => xs[0], (Shape[])null!), Null("inputShapes"));
        AddF("Tracer.Function with too few names", () => Tracer.Function(xs => [xs[0] + xs[1]], [new Shape(3), new Shape(3)], names: ["a"]), Arg("trace", "1 name", "2 input"));
        AddF("Tracer.Function with an undefined dtype", () => Tracer.Function(Fn.Exp, new Shape(3), (DType)42), Range("dtype", "42"));
        AddF("Tracer.Function of a function returning null", () => Tracer.Function(_ => null!, new Shape(3)), Arg("trace", "null"));
        AddF("Tracer.Function of a function returning a null array", () => Tracer.Function(_ => (Node[])null!, [new Shape(3)]), Arg("trace", "null"));
        AddF("Tracer.Function of a function returning no outputs", () => Tracer.Function(_ => Array.Empty<Node>(), [new Shape(3)]), Arg("trace", "no outputs"));
        AddF("Tracer.Function of a function returning a node of another graph", () => Tracer.Function(_ => X(3), new Shape(3)), Arg("another graph"));

        // ===== Jacobians =================================================================================
        area = "Jacobians";
        var pts = (Func<NDArray<double>>)(() => Randn(11, 3, 2));
        AddF("LinearizedFunction.Trace of a null function", () => LinearizedFunction.Trace(null!, 2, 3), Null("f"));
        AddF("LinearizedFunction.Trace with no inputs", () => LinearizedFunction.Trace(xs => xs, 0, 3), Arg("linearize", "at least one input"));
        AddF("LinearizedFunction.Trace with no points", () => LinearizedFunction.Trace(xs => xs, 2, 0), Arg("linearize", "points"));
        AddF("LinearizedFunction.FromGraph of null", () => LinearizedFunction.FromGraph(null!), Null("g"));
        AddF("LinearizedFunction.FromGraph of a float32 graph", () => LinearizedFunction.FromGraph(Tracer.Function(Fn.Sin, new Shape(3), DType.Float32)), Arg("linearize", "float32"));
        AddF("LinearizedFunction.FromGraph of matrix inputs", () => LinearizedFunction.FromGraph(Tracer.Function(Fn.Sin, new Shape(3, 2))), Shp("linearize", "[3, 2]"));
        AddF("LinearizedFunction.FromGraph of a function summing over points", () => LinearizedFunction.FromGraph(Tracer.Function(x => Fn.Sum(x), new Shape(3))), Shp("linearize", "[]", "[3]"));
        AddF("LinearizedFunction.At of null", () => Linearized().At(null!), Null("x"));
        AddF("LinearizedFunction.At of the wrong shape", () => Linearized().At(Randn(1, 4, 2)), Shp("linearize", "[4, 2]", "[3, 2]"));
        AddF("JacobianAccumulator.Jacobian of a null function", () => JacobianAccumulator.Jacobian((Func<Node[], Node[]>)null!, pts(), EliminationOrder.Forward), Null("f"));
        AddF("JacobianAccumulator.Jacobian at null points", () => JacobianAccumulator.Jacobian(xs => xs, null!, EliminationOrder.Forward), Null("x"));
        AddF("JacobianAccumulator.Jacobian with a null order", () => JacobianAccumulator.Jacobian(xs => [Fn.Sin(xs[0])], pts(), null!), Null("order"));
        AddF("JacobianAccumulator.Jacobian of a null linearized function", () => JacobianAccumulator.Jacobian((LinearizedFunction)null!, pts(), EliminationOrder.Forward), Null("function"));
        AddF("JacobianAccumulator.Jacobian at a vector of points", () => JacobianAccumulator.Jacobian(xs => xs, T(1, 2, 3), EliminationOrder.Forward), Shp("jacobian", "[3]"));
        AddF("JacobianAccumulator.Jacobian at points of another count", () => JacobianAccumulator.Jacobian(Linearized(), Randn(1, 5, 2), EliminationOrder.Forward), Shp("jacobian", "[5, 2]", "[3, 2]"));
        AddF("JacobianAccumulator.ForwardMode of a null function", () => JacobianAccumulator.ForwardMode(null!, pts()), Null("f"));
        AddF("JacobianAccumulator.ReverseMode at null points", () => JacobianAccumulator.ReverseMode(xs => xs, null!), Null("x"));
        AddF("ReferenceJacobian.Run at the wrong shape", () => JacobianAccumulator.ForwardModeGraph(xs => [Fn.Sin(xs[0])], pts()).Run(Randn(2, 4, 2)), Shp("reference jacobian", "[4, 2]"));
        AddF("EliminationOrder.Custom of null", () => EliminationOrder.Custom(null!), Null("vertices"));
        AddF("Custom order naming a vertex that does not exist", () => JacobianAccumulator.Jacobian(Linearized(), pts(), EliminationOrder.Custom([99])), Arg("custom", "vertex 99"));
        AddF("Custom order naming an independent", () => JacobianAccumulator.Jacobian(Linearized(), pts(), EliminationOrder.Custom([0])), Arg("custom", "vertex 0", "independent"));
        AddF("LinearizedGraph.Create without dependents", () => LinearizedGraph.Create(1, 0, 0, []), Arg("LinearizedGraph.Create", "m = 0"));
        AddF("LinearizedGraph.Create with a backward edge", () => LinearizedGraph.Create(1, 1, 1, [new Edge(2, 1)]), Arg("LinearizedGraph.Create", "2→1"));
        AddF("LinearizedGraph.Create with a null edge list", () => LinearizedGraph.Create(1, 0, 1, null!), Null("edges"));
        AddF("LinearizedGraph.Create with a null label", () => LinearizedGraph.Create(1, 0, 1, [new Edge(0, 1)], [null!]), Null("labels"));
        AddF("LinearizedGraph.Label out of range", () => LinearizedGraph.Create(1, 0, 1, [new Edge(0, 1)]).Label(3), Range("edge", "3"));
        AddF("LinearizedGraph.Predecessors of a vertex that does not exist", () => LinearizedGraph.Create(1, 0, 1, [new Edge(0, 1)]).Predecessors(9), Range("vertex", "9"));
        AddF("Elimination.Run with a null order", () => Elimination.Run(LinearizedGraph.Create(1, 0, 1, [new Edge(0, 1)]), null!), Null("order"));
        AddF("Elimination.Count with a repeated vertex", () => Elimination.Count(LinearizedGraph.Create(1, 1, 1, [new Edge(0, 1), new Edge(1, 2)]), [1, 1]), Arg("elimination count", "twice"));
        AddF("EliminationProgram.Run of a null graph", () => EliminationProgram.Compile(LinearizedGraph.Create(1, 0, 1, [new Edge(0, 1)]), []).Run(null!), Null("labelled"));
        AddF("EliminationOrder.Validate of a null order", () => { EliminationOrder.Validate(LinearizedGraph.Create(1, 0, 1, [new Edge(0, 1)]), null!, "myop"); return null; }, Null("order"));
        AddF("OrderOptimizer.Exhaustive of a null graph", () => OrderOptimizer.Exhaustive(null!), Null("graph"));
        AddF("OrderOptimizer.Heuristics of a null graph", () => OrderOptimizer.Heuristics(null!), Null("graph"));
        AddF("OrderOptimizer.Anneal without options", () => OrderOptimizer.Anneal(LinearizedGraph.Create(1, 1, 1, [new Edge(0, 1), new Edge(1, 2)]), null!), Null("options"));
        AddF("OrderOptimizer.Optimize of a null graph", () => OrderOptimizer.Optimize(null!), Null("graph"));
        AddF("OrderOptimizer with no threads", () => OrderOptimizer.Optimize(LinearizedGraph.Create(1, 1, 1, [new Edge(0, 1), new Edge(1, 2)]), new OptimizerOptions { Threads = 0 }), Arg("Threads"));
        AddF("OrderOptimizer with a negative time budget", () => OrderOptimizer.Optimize(LinearizedGraph.Create(1, 1, 1, [new Edge(0, 1), new Edge(1, 2)]), new OptimizerOptions { TimeBudget = TimeSpan.FromSeconds(-1) }), Arg("optimizer", "time budget"));
        Add("Elimination Jacobian of sin(x0)·x1 matches the closed form", () =>
        {
            var x = pts();
            var j = JacobianAccumulator.Jacobian(Linearized(), x, EliminationOrder.Reverse).Value;
            for (int k = 0; k < 3; k++)
                Same([Math.Cos(x[k, 0]) * x[k, 1], Math.Sin(x[k, 0])], T(j[k, 0, 0], j[k, 0, 1]), $"row of point {k}");
        }, Correct);

        // ===== Backend ===================================================================================
        area = "Backend";
        AddF("Gemm provider set to an undefined value", () => Gemm.Provider = (GemmProvider)42, Range("value", "provider"));
        Add("Gemm.Multiply with a short A", () => Gemm.Multiply(false, false, 2, 2, 2, 1.0, new double[3], 0, 2, new double[4], 0, 2, 0.0, new double[4], 0, 2), Arg("Gemm", "A needs 4 elements", "has 3"));
        Add("Gemm.Multiply with a null B", () => Gemm.Multiply(false, false, 2, 2, 2, 1.0, new double[4], 0, 2, null!, 0, 2, 0.0, new double[4], 0, 2), Null("b"));
        Add("Gemm.Multiply with a negative size", () => Gemm.Multiply(false, false, -1, 2, 2, 1.0, new double[4], 0, 2, new double[4], 0, 2, 0.0, new double[4], 0, 2), Arg("Gemm", "m=-1"));
        Add("Gemm.Multiply with a too small leading dimension", () => Gemm.Multiply(false, false, 2, 2, 2, 1.0, new double[4], 0, 1, new double[4], 0, 2, 0.0, new double[4], 0, 2), Arg("Gemm", "leading dimension 1"));
        Add("Gemm.MultiplyBatched with a negative batch", () => Gemm.MultiplyBatched(-1, false, false, 2, 2, 2, 1.0, new double[4], 0, 2, 0, new double[4], 0, 2, 0, 0.0, new double[4], 0, 2, 0), Arg("Gemm", "batch=-1"));
        Add("Gemm.Multiply with a negative offset", () => Gemm.Multiply(false, false, 2, 2, 2, 1.0, new double[4], -1, 2, new double[4], 0, 2, 0.0, new double[4], 0, 2), Arg("Gemm", "offset -1"));
        Add("Elementwise.Binary of an undefined operation", () => Elementwise.Binary((BinaryOp)42, T(1), T(1), T(0)), Range("op", "42"));
        Add("Elementwise.Binary with a null operand", () => Elementwise.Binary(BinaryOp.Add, null!, T(1), T(0)), Null("a"));
        Add("Elementwise.Binary into a result of the wrong shape", () => Elementwise.Binary(BinaryOp.Add, T(1, 2), T(1, 2), T(0)), Arg("[2]", "[1]"));
        Add("Elementwise.Unary of an undefined operation", () => Elementwise.Unary((UnaryOp)42, T(1), T(0)), Range("op", "42"));
        Add("Elementwise.Unary with a null result", () => Elementwise.Unary(UnaryOp.Exp, T(1), null!), Null("result"));
        Add("Elementwise.Unary into a result of the wrong shape", () => Elementwise.Unary(UnaryOp.Exp, T(1, 2), T(0)), Arg("Unary", "[1]", "[2]"));
        Add("Elementwise.Pow with a null input", () => Elementwise.Pow(null!, 2, T(0)), Null("x"));
        Add("Elementwise.Pow into a result of the wrong shape", () => Elementwise.Pow(T(1, 2), 2, T(0)), Arg("Pow", "[1]", "[2]"));
        Add("Gemm with alpha 0 ignores NaN operands", () =>
        {
            var c = new double[] { 1, 1, 1, 1 };
            Gemm.Multiply(false, false, 2, 2, 2, 0.0, new double[] { double.NaN, 0, 0, 0 }, 0, 2, new double[4], 0, 2, 2.0, c, 0, 2);
            Same([2, 2, 2, 2], T(c), "beta·C");
        }, Correct);

        // ===== Nn: Mlp, Linear, LearningRate, Trainer<double>, Sampling =========================================
        area = "Nn";
        var net = (Func<Mlp>)(() => Mlp.Create(3, [4], 1, Activation.Tanh, seed: 1));
        AddF("Mlp.Create with an undefined activation", () => Mlp.Create(3, [4], 1, (Activation)42, 1), Range("activation", "42"));
        AddF("Mlp.Create with null hidden widths", () => Mlp.Create(3, null!, 1, Activation.Tanh, 1), Null("hidden"));
        AddF("Mlp.Create with no inputs", () => Mlp.Create(0, [4], 1, Activation.Tanh, 1), Arg("Mlp", "[0, 4, 1]"));
        AddF("Mlp.Create with a negative hidden width", () => Mlp.Create(3, [-1], 1, Activation.Tanh, 1), Arg("Mlp", "[3, -1, 1]"));
        AddF("Mlp.Create with an undefined dtype", () => Mlp.Create(3, [4], 1, Activation.Tanh, 1, (DType)42), Range("dtype", "42"));
        AddF("Mlp.Apply with null parameters", () => net().Apply((IReadOnlyList<Node>)null!, X(2, 3)), Null("parameters"));
        AddF("Mlp.Apply to a null input", () => net().Apply(null!), Null("x"));
        AddF("Mlp.Apply with a null parameter", () =>
        {
            var n = net();
            var g = new Graph(DType.Float64);
            var ps = n.ParameterShapes.Select(s => g.Input(s)).ToArray();
            ps[1] = null!;
            return n.Apply(ps, g.Input(new Shape(2, 3)));
        }, Null("parameters"));
        AddF("Mlp.Apply with too few parameters", () => Tracer.Function(xs => net().Apply(xs[..1], xs[1]), [new Shape(3, 4), new Shape(2, 3)]), Shp("Mlp.Apply", "1 parameter(s)", "4"));
        AddF("Mlp.Apply to a scalar input", () => net().Apply(X()), Shp("Mlp.Apply", "[]"));
        AddF("Mlp.Apply to the wrong number of features", () => net().Apply(X(2, 5)), Shp("Mlp.Apply", "[2, 5]", "3"));
        AddF("Mlp.Apply with no parameter nodes to a concrete input", () => net().Apply(Array.Empty<Node>(), NDArray.Zeros<double>(new Shape(2, 3))), Shp("Mlp.Apply", "0 parameter(s)"));
        AddF("Mlp.Apply to a null concrete input", () => { var n = net(); var g = new Graph(DType.Float64); return n.Apply(n.ParameterShapes.Select(s => g.Input(s)).ToArray(), (NDArray)null!); }, Null("x"));
        AddF("Mlp.Activate with an undefined activation", () => Mlp.Activate(X(3), (Activation)42), Range("a", "42"));
        Add("Mlp.Parameters set to null", () => net().Parameters = null!, Null("value"));
        Add("Mlp.Parameters set to too few tensors", () => net().Parameters = [NDArray.Zeros<double>(new Shape(3, 4))], Shp("Mlp.Parameters", "1", "4"));
        Add("Mlp.Parameters set to a tensor of the wrong shape", () =>
        {
            var n = net();
            var ps = (NDArray[])n.Parameters.Clone();
            ps[0] = NDArray.Zeros<double>(new Shape(4, 3));
            n.Parameters = ps;
        }, Shp("Mlp.Parameters", "[4, 3]", "[3, 4]"));
        AddF("Linear.Apply to a null input", () => { var (w, b) = Two([3, 4], [4]); return Linear.Apply(null!, w, b); }, Null("x"));
        AddF("Linear.Apply to a scalar input", () => { var g = new Graph(DType.Float64); return Linear.Apply(g.Input(Shape.Scalar), g.Input(new Shape(3, 4)), g.Input(new Shape(4))); }, Shp("linear", "[]"));
        AddF("Linear.Apply with a mismatched bias", () => { var g = new Graph(DType.Float64); return Linear.Apply(g.Input(new Shape(2, 3)), g.Input(new Shape(3, 4)), g.Input(new Shape(5))); }, Shp("linear", "[5]"));
        AddF("Linear.Init with no inputs", () => Linear.Init<double>(0, 3, 1), Range("inputs", "0"));
        AddF("Linear.Init with negative outputs", () => Linear.Init<double>(3, -1, 1), Range("outputs", "-1"));
        AddF("LearningRate.Constant of NaN", () => LearningRate.Constant(double.NaN), Range("rate", "NaN"));
        AddF("LearningRate.Constant of zero", () => LearningRate.Constant(0), Range("rate", "0"));
        AddF("LearningRate.Constant of infinity", () => LearningRate.Constant(double.PositiveInfinity), Range("rate"));
        AddF("LearningRate.Exponential with a NaN decay", () => LearningRate.Exponential(0.1, double.NaN, 10), Range("decay", "NaN"));
        AddF("LearningRate.Exponential with a zero interval", () => LearningRate.Exponential(0.1, 0.5, 0), Range("every", "0"));
        AddF("LearningRate.StepDecay with factor 0", () => LearningRate.StepDecay(0.1, 0, 10), Range("factor", "0"));
        AddF("LearningRate.Cosine over zero steps", () => LearningRate.Cosine(0.1, 0), Range("steps", "0"));
        AddF("LearningRate.Cosine with a minimum above the rate", () => LearningRate.Cosine(0.1, 10, 0.5), Range("minimum", "0.5"));
        AddF("LearningRate.Cosine with a NaN minimum", () => LearningRate.Cosine(0.1, 10, double.NaN), Range("minimum", "NaN"));
        AddF("LearningRate.Warmup of zero steps", () => LearningRate.Warmup(0, LearningRate.Constant(0.1)), Range("steps", "0"));
        AddF("LearningRate.Warmup into null", () => LearningRate.Warmup(10, null!), Null("after"));
        AddF("LearningRate.At a negative step", () => LearningRate.Warmup(10, LearningRate.Constant(0.1)).At(-5), Range("step", "-5"));
        AddF("LearningRate.Cosine at a negative step", () => LearningRate.Cosine(0.1, 10).At(-1), Range("step", "-1"));
        Add("LearningRate.Warmup ramps linearly, then follows its schedule", () =>
        {
            var lr = LearningRate.Warmup(4, LearningRate.StepDecay(0.8, 0.5, 2));
            Same([0.2, 0.4, 0.6, 0.8, 0.8, 0.8, 0.4], T([.. Enumerable.Range(0, 7).Select(t => lr.At(t))]), "rates");
        }, Correct);
        Add("Mlp.Create in float32 gives float32 parameters", () =>
            Check(Mlp.Create(2, [3], 1, Activation.Sin, 1, DType.Float32).Parameters.All(p => p.DType == DType.Float32), "dtype"), Correct);

        AddF("Trainer without an objective", () => new Trainer<double>(null!, [0, 0], [new TrainingPhase<double>(new Adam<double>(0.1), 3)]), Null("objective"));
        AddF("Trainer without initial parameters", () => new Trainer<double>(new Quadratic(), null!, [new TrainingPhase<double>(new Adam<double>(0.1), 3)]), Null("initialParameters"));
        AddF("Trainer with the wrong number of parameters", () => new Trainer<double>(new Quadratic(), [0], [new TrainingPhase<double>(new Adam<double>(0.1), 3)]), Shp("Trainer", "1 initial parameters", "2"));
        AddF("Trainer with NaN initial parameters", () => new Trainer<double>(new Quadratic(), [0, double.NaN], [new TrainingPhase<double>(new Adam<double>(0.1), 3)]), Arg("Trainer", "NaN", "1"));
        AddF("Trainer without phases", () => new Trainer<double>(new Quadratic(), [0, 0], null!), Null("phases"));
        AddF("Trainer with an empty phase list", () => new Trainer<double>(new Quadratic(), [0, 0], []), Arg("Trainer", "no training phases"));
        AddF("Trainer with a null phase", () => new Trainer<double>(new Quadratic(), [0, 0], [null!]), Null("phases"));
        AddF("Trainer with a phase without an optimizer", () => new Trainer<double>(new Quadratic(), [0, 0], [new TrainingPhase<double>(null!, 3)]), Null("phases"));
        AddF("Trainer with a phase of negative steps", () => new Trainer<double>(new Quadratic(), [0, 0], [new TrainingPhase<double>(new Adam<double>(0.1), -1)]), Range("phases", "-1"));
        AddF("Trainer with one optimizer in two phases", () => { var o = new Adam<double>(0.1); return new Trainer<double>(new Quadratic(), [0, 0], [new(o, 1), new(o, 1)]); }, Arg("Trainer", "own optimizer"));
        AddF("Trainer with an objective without parameter shapes", () => new Trainer<double>(new Quadratic { ParameterShapes = null! }, [0, 0], [new TrainingPhase<double>(new Adam<double>(0.1), 3)]), Arg("Trainer", "ParameterShapes"));
        AddF("Trainer with a zero error interval", () => TrainerWith(new TrainerOptions<double> { ErrorEvery = 0 }), Range("options", "ErrorEvery", "0"));
        AddF("Trainer with a negative progress interval", () => TrainerWith(new TrainerOptions<double> { ProgressEvery = -1 }), Range("options", "ProgressEvery", "-1"));
        AddF("Trainer with a negative checkpoint interval", () => TrainerWith(new TrainerOptions<double> { CheckpointEvery = -2 }), Range("options", "CheckpointEvery", "-2"));
        AddF("Trainer with a negative time budget", () => TrainerWith(new TrainerOptions<double> { TimeBudget = TimeSpan.FromSeconds(-1) }), Range("options", "TimeBudget"));
        Add("Trainer.Restore from a null checkpoint", () => TrainerWith(new TrainerOptions<double>()).Restore((Checkpoint)null!), Null("checkpoint"));
        Add("Trainer.Restore from a null path", () => TrainerWith(new TrainerOptions<double>()).Restore((string)null!), Null("path"));
        Add("Trainer keeps its own copy of the phase list", () =>
        {
            var phases = new List<TrainingPhase<double>> { new(new Adam<double>(0.1), 3) };
            var t = new Trainer<double>(new Quadratic(), [0, 0], phases);
            phases.Clear();
            Check(t.TotalSteps == 3, $"total steps {t.TotalSteps} after the caller cleared its list");
        }, Correct);
        AddF("Trainer.ToCheckpoint with NaN seconds", () => TrainerWith(new TrainerOptions<double>()).ToCheckpoint(double.NaN), Range("elapsedSeconds", "NaN"));
        Add("Trainer minimises the quadratic towards θ = 1", () =>
        {
            var t = new Trainer<double>(new Quadratic(), [0, 0], [new TrainingPhase<double>(new Lbfgs<double>(), 20, 0)]);
            var r = t.Run();
            Check(r.Stop == TrainingStop.Completed, $"stop {r.Stop}");
            Same([1, 1], T(t.Parameters), "θ", 1e-6);
        }, Correct);

        AddF("Box with null corners", () => new Box(null!, [1.0]), Null("lower"));
        AddF("Box with corners of different dimension", () => new Box([0.0], [1.0, 1.0]), Shp("Box", "1", "2"));
        AddF("Box with an empty side", () => new Box([0.0, 1.0], [1.0, 1.0]), Arg("Box", "side 1"));
        AddF("Box with a NaN corner", () => new Box([double.NaN], [1.0]), Arg("Box", "side 0"));
        AddF("Box.Cube of dimension 0", () => Box.Cube(0, 0, 1), Range("dimension", "0"));
        AddF("Box.Cube with low above high", () => Box.Cube(2, 1, 0), Arg("Box", "[1, 0]"));
        AddF("Box.Interior of no points", () => Box.UnitCube(2).Interior<double>(0, 1), Range("count", "0"));
        AddF("Box.Boundary of negative points", () => Box.UnitCube(2).Boundary<double>(-3, 1), Range("count", "-3"));
        AddF("Box.Face on an axis past the dimension", () => Box.UnitCube(2).Face<double>(4, 5, false, 1), Range("axis", "5"));
        AddF("Box.Face on a negative axis", () => Box.UnitCube(2).Face<double>(4, -1, false, 1), Range("axis", "-1"));
        AddF("Box.Contains a point of the wrong dimension", () => Box.UnitCube(2).Contains([0.5]), Shp("Box", "1 coordinates", "2 dimensions"));
        AddF("Box.Contains with a NaN tolerance", () => Box.UnitCube(2).Contains([5.0, 5.0], double.NaN), Range("tolerance", "NaN"));
        AddF("Box.OnBoundary with a negative tolerance", () => Box.UnitCube(2).OnBoundary([0.0, 0.5], -1), Range("tolerance", "-1"));
        AddF("Ball with a null center", () => new Ball(null!, 1), Null("center"));
        AddF("Ball with an empty center", () => new Ball([], 1), Shp("Ball", "at least one coordinate"));
        AddF("Ball of radius 0", () => new Ball([0.0], 0), Range("radius", "0"));
        AddF("Ball of NaN radius", () => new Ball([0.0], double.NaN), Range("radius", "NaN"));
        AddF("Ball with a NaN center", () => new Ball([0.0, double.NaN], 1), Arg("Ball", "center", "NaN"));
        AddF("Ball with an infinite center", () => new Ball([double.PositiveInfinity], 1), Arg("Ball", "center"));
        AddF("Ball.Unit of dimension 0", () => Ball.Unit(0), Range("dimension", "0"));
        AddF("Ball.Interior of no points", () => Ball.Unit(2).Interior<double>(0, 1), Range("count", "0"));
        AddF("Ball.Contains a point of the wrong dimension", () => Ball.Unit(2).Contains([0.0, 0.0, 0.0]), Shp("Ball", "3 coordinates"));
        AddF("Ball.Contains with a NaN tolerance", () => Ball.Unit(2).Contains([5.0, 5.0], double.NaN), Range("tolerance", "NaN"));
        AddF("Ball.OnBoundary with a NaN tolerance", () => Ball.Unit(2).OnBoundary([1.0, 0.0], double.NaN), Range("tolerance", "NaN"));
        Add("Box samples are reproducible and inside", () =>
        {
            var box = new Box([0.0, -1.0], [2.0, 1.0]);
            var a = box.Interior<double>(20, 3);
            var b = box.Interior<double>(20, 3);
            Same(a.Data, b, "same seed");
            for (int i = 0; i < 20; i++) Check(box.Contains([a[i, 0], a[i, 1]], 0), $"point {i} inside");
            var s = box.Boundary<double>(20, 4);
            for (int i = 0; i < 20; i++) Check(box.OnBoundary([s[i, 0], s[i, 1]]), $"boundary point {i}");
        }, Correct);
        Add("Ball boundary samples have the radius", () =>
        {
            var ball = new Ball([1.0, 2.0, 3.0], 0.5);
            var s = ball.Boundary<double>(30, 5);
            for (int i = 0; i < 30; i++)
            {
                double d = Math.Sqrt(Math.Pow(s[i, 0] - 1, 2) + Math.Pow(s[i, 1] - 2, 2) + Math.Pow(s[i, 2] - 3, 2));
                Check(Math.Abs(d - 0.5) < 1e-12, $"distance {d}");
            }
        }, Correct);

        // ===== Plotting ==================================================================================
        area = "Plotting";
        AddF("LineChart.Add with a null name", () => new LineChart().Add(null!, [1.0], [1.0]), Null("name"));
        AddF("LineChart.Add with null x values", () => new LineChart().Add("s", null!, [1.0]), Null("x"));
        AddF("LineChart.Add with mismatched lengths", () => new LineChart().Add("s", [1.0, 2.0], [1.0]), Arg("LineChart.Add", "'s'", "2 x values", "1 y values"));
        AddF("LineChart of zero width", () => new LineChart { Width = 0 }.Add("s", [1.0], [1.0]).ToSvg(), Range("Width", "0"));
        AddF("LineChart of negative height", () => new LineChart { Height = -5 }.ToSvg(), Range("Height", "-5"));
        Add("LineChart.Save to a null path", () => new LineChart().Save(null!), Null("path"));
        Add("LineChart says how many points it could not draw", () =>
        {
            var svg = new LineChart { LogY = true }.Add("loss", [1.0, 2.0, 3.0, 4.0], [1.0, double.NaN, -1.0, 0.5]).ToSvg();
            Check(svg.Contains("2 points not drawn", StringComparison.Ordinal), "the legend does not report the two dropped points");
        }, Correct);
        Add("Heatmap.Save to a null path", () => new Heatmap().Save(null!, new double[1, 1]), Null("path"));
        AddF("Heatmap of null values", () => new Heatmap().ToSvg(null!), Null("values"));
        AddF("Heatmap of an empty grid", () => new Heatmap().ToSvg(new double[0, 3]), Arg("Heatmap", "0×3"));
        AddF("Heatmap of size 0", () => new Heatmap { Size = 0 }.ToSvg(new double[2, 2]), Range("Size", "0"));
        AddF("Heatmap with a reversed x range", () => new Heatmap { XRange = (1, 0) }.ToSvg(new double[2, 2]), Range("XRange", "(1, 0)"));
        AddF("Heatmap with a NaN y range", () => new Heatmap { YRange = (0, double.NaN) }.ToSvg(new double[2, 2]), Range("YRange", "NaN"));
        Add("Heatmap draws non-finite cells apart from the colour scale", () =>
        {
            var svg = new Heatmap().ToSvg(new double[,] { { 0, 1 }, { double.NaN, 2 } });
            Check(svg.Contains(Heatmap.MissingColor, StringComparison.Ordinal), "no cell in the missing-value colour");
            Check(svg.Contains("1 cell not finite", StringComparison.Ordinal), "the chart does not say a cell is missing");
        }, Correct);

        // ===== Other branches' areas: operators (ops) =====================================================
        owner = "ops"; area = "Operators";
        var xs23 = (Func<NDArray<double>>)(() => Randn(21, 2, 3));
        AddF("Pde.Laplacian of a null function", () => Pde.Laplacian(null!, xs23()), Null("f"));
        AddF("Pde.Laplacian at null points", () => Pde.Laplacian(Smooth, (NDArray<double>)null!), Null("x"));
        AddF("Pde.Laplacian at a vector of points", () => Pde.Laplacian(Smooth, T(1, 2, 3)), Shp("Laplacian", "[N, D]", "[3]"));
        AddF("Pde.Laplacian of a function summing over the batch", () => Pde.Laplacian(v => Fn.Sum(v), xs23()), Shp("Laplacian", "[2, 3]", "[]"));
        AddF("Pde.Laplacian with a null estimate", () => Pde.Laplacian(Smooth, xs23(), (Estimate)null!), Null("estimate"));
        AddF("Estimate.Stochastic with no samples", () => Estimate.Stochastic(0), Range("samples", "0"));
        AddF("Estimate.Stochastic with uniform directions", () => Estimate.Stochastic(3, Distribution.Uniform), Arg("Estimate.Stochastic", "uniform"));
        AddF("Estimate.Stochastic with an undefined distribution", () => Estimate.Stochastic(3, (Distribution)42), Range("distribution", "42"));
        AddF("Strategy.FromName of an unknown name", () => Strategy.FromName("bogus"), Arg("bogus"));
        AddF("Strategy.FromName of null", () => Strategy.FromName(null!), Null("name"));
        AddF("Weighted Laplacian with a null σ", () => DifferentialOperator.WeightedLaplacian((NDArray)null!), Null("sigma"));
        AddF("Weighted Laplacian with a vector σ", () => DifferentialOperator.WeightedLaplacian(NDArray.FromArray(new[] { 1.0, 2.0 })), Shp("WeightedLaplacian", "[2]"));
        AddF("Weighted Laplacian with a NaN entry in σ", () => DifferentialOperator.WeightedLaplacian(M(new double[,] { { 1, double.NaN }, { 0, 1 } })), Arg("WeightedLaplacian", "NaN"));
        AddF("Weighted Laplacian with σ for another dimension", () => Pde.WeightedLaplacian(Smooth, xs23(), M(new double[,] { { 1, 0 }, { 0, 1 } })), Shp("WeightedLaplacian", "[2, 2]", "D = 3"));
        AddF("Weighted Laplacian with a null σ(x)", () => DifferentialOperator.WeightedLaplacian((Func<Node, Node>)null!), Null("sigma"));
        AddF("Coefficient matrix null", () => DifferentialOperator.WeightedLaplacianFromCoefficients(null!), Null("a"));
        AddF("Coefficient matrix with NaN", () => DifferentialOperator.WeightedLaplacianFromCoefficients(new double[,] { { double.NaN, 0 }, { 0, 1 } }), Arg("WeightedLaplacianFromCoefficients", "NaN"));
        AddF("Coefficient matrix not symmetric", () => DifferentialOperator.WeightedLaplacianFromCoefficients(new double[,] { { 1, 2 }, { 0, 1 } }), Arg("WeightedLaplacianFromCoefficients", "not symmetric"));
        AddF("Linear operator of null terms", () => DifferentialOperator.Linear(null!, "xy"), Null("terms"));
        AddF("Linear operator with a NaN coefficient", () => DifferentialOperator.Linear([(double.NaN, "xx")], "xy"), Arg("Linear", "NaN"));
        AddF("Linear operator with a null variable list", () => DifferentialOperator.Linear([(1.0, "xx")], null!), Null("variables"));
        AddF("Linear operator with an unknown letter", () => DifferentialOperator.Linear([(1.0, "xz")], "xy"), Arg("Linear", "'z'"));
        AddF("Linear operator with null axes", () => DifferentialOperator.Linear([(1.0, (int[])null!)]), Arg("Linear"));
        AddF("Linear operator with an axis outside the input", () => DifferentialOperator.Linear([(1.0, [0, 3])]).Apply(Smooth, xs23()), Shp("Linear", "[0, 3]"));
        AddF("Stochastic biharmonic with Rademacher directions", () => DifferentialOperator.Biharmonic(Estimate.Stochastic(4, Distribution.Rademacher)), Arg("Biharmonic", "Rademacher"));
        AddF("Compiled operator run at points of another shape", () => DifferentialOperator.Laplacian().Compile(Smooth, new Shape(2, 3)).Run(Randn(1, 4, 3)), Shp("[4, 3]", "[2, 3]"));
        AddF("Compiled operator run at null points", () => DifferentialOperator.Laplacian().Compile(Smooth, new Shape(2, 3)).Run((NDArray<double>)null!), Null("x"));
        AddF("Operator compiled for an undefined dtype", () => DifferentialOperator.Laplacian().Compile(Smooth, new Shape(2, 3), (DType)42), Range("dtype", "42"));
        AddF("Ad.Grad of a null function", () => Ad.Grad((Func<Node, Node>)null!, T(1, 2)), Null("f"));
        AddF("Ad.Grad at a null point", () => Ad.Grad(x => Fn.Sum(x), (NDArray<double>)null!), Null("x"));
        AddF("Ad.Grad of a non-scalar function", () => Ad.Grad(Fn.Exp, T(1, 2)), Shp("grad", "[2]"));
        AddF("Ad.Jvp with a null direction", () => Ad.Jvp(Fn.Exp, T(1, 2), null!), Null("v"));
        AddF("Ad.Jvp with a direction of another shape", () => Ad.Jvp(Fn.Exp, T(1, 2), T(1, 2, 3)), Arg("jvp", "[3]", "[2]"));
        AddF("Ad.Hvp with a direction of another shape", () => Ad.Hvp(x => Fn.Sum(Fn.Exp(x)), T(1, 2), T(1, 2, 3)), Arg("hvp", "[3]", "[2]"));
        AddF("Ad.Grad with no inputs", () => Ad.Grad(xs => xs[0], []), Arg("grad"));
        AddF("DirectionFamily.StandardBasis of order 0", () => DirectionFamily.StandardBasis(0, 1), Range("order", "0"));
        AddF("DirectionFamily.StandardBasis with a NaN scale", () => DirectionFamily.StandardBasis(2, double.NaN), Range("scale", "NaN"));
        AddF("ValueGradientLaplacian of a null function", () => ValueGradientLaplacian.Evaluate(null!, xs23()), Null("f"));
        AddF("Laplacian graph for an undefined dtype", () => Pde.LaplacianGraph(Smooth, new Shape(2, 3), (DType)42), Range("dtype", "42"));
        AddF("Relu network under the Laplacian", () => Pde.Laplacian(Mlp.Create(3, [4], 1, Activation.Relu, 1).Apply, xs23()), Throws<NotSmoothException>("relu", "order 2"));

        // ===== Other branches' areas: Kalman and fixed point (simp) =======================================
        owner = "simp"; area = "Kalman";
        AddF("Kalman filter of a null model", () => SquareRootKalmanFilter.Filter(null!, X(1, 5, 1)), Null("model"));
        AddF("Kalman filter of null observations", () => SquareRootKalmanFilter.Filter(Model(new Graph(DType.Float64)), null!), Null("observations"));
        AddF("Kalman filter with observations of rank 2", () => { var g = new Graph(DType.Float64); return SquareRootKalmanFilter.Filter(Model(g), g.Input(new Shape(5, 1))); }, Shp("[5, 1]"));
        AddF("Kalman filter with a non-square transition", () =>
        {
            var g = new Graph(DType.Float64);
            var m = Model(g) with { Transition = g.Input(new Shape(2, 3)) };
            return SquareRootKalmanFilter.Filter(m, g.Input(new Shape(1, 5, 1)));
        }, Shp("[2, 3]"));
        AddF("Kalman filter with an observation matrix of the wrong width", () =>
        {
            var g = new Graph(DType.Float64);
            var m = Model(g) with { Observation = g.Input(new Shape(1, 3)) };
            return SquareRootKalmanFilter.Filter(m, g.Input(new Shape(1, 5, 1)));
        }, Shp("[1, 3]"));
        AddF("Kalman filter with observations of the wrong dimension", () => { var g = new Graph(DType.Float64); return SquareRootKalmanFilter.Filter(Model(g), g.Input(new Shape(1, 5, 2))); }, Shp("[1, 5, 2]"));
        AddF("Kalman filter with a null transition", () =>
        {
            var g = new Graph(DType.Float64);
            return SquareRootKalmanFilter.Filter(Model(g) with { Transition = null! }, g.Input(new Shape(1, 5, 1)));
        }, Arg("Transition"));
        AddF("Kalman filter with model nodes of another graph", () =>
        {
            var g = new Graph(DType.Float64);
            return SquareRootKalmanFilter.Filter(Model(new Graph(DType.Float64)), g.Input(new Shape(1, 5, 1)));
        }, Arg("graph"));
        AddF("Kalman filter over zero time steps", () => { var g = new Graph(DType.Float64); return SquareRootKalmanFilter.Filter(Model(g), g.Input(new Shape(1, 0, 1))); }, Arg("[1, 0, 1]"));
        AddF("Kalman filter with an initial mean of the wrong length", () =>
        {
            var g = new Graph(DType.Float64);
            return SquareRootKalmanFilter.Filter(Model(g) with { InitialMean = g.Input(new Shape(3)) }, g.Input(new Shape(1, 5, 1)));
        }, Shp("[3]"));

        area = "FixedPoint";
        var fp = (Func<Func<Node, Node, Node>?, double, int, FixedPointMode, object?>)((f, tol, it, mode) =>
        {
            var g = new Graph(DType.Float64);
            var theta = g.Input(new Shape(2), "theta");
            return FixedPoint.Solve(f!, theta, Fn.Zeros(g, new Shape(2)), tol, it, mode);
        });
        AddF("FixedPoint.Solve of a null function", () => fp(null, 1e-10, 50, FixedPointMode.Implicit), Null("f"));
        AddF("FixedPoint.Solve with a null θ", () => { var g = new Graph(DType.Float64); return FixedPoint.Solve((x, t) => x, null!, g.Input(new Shape(2)), 1e-10, 50, FixedPointMode.Implicit); }, Null("theta"));
        AddF("FixedPoint.Solve with a null x₀", () => { var g = new Graph(DType.Float64); return FixedPoint.Solve((x, t) => x, g.Input(new Shape(2)), null!, 1e-10, 50, FixedPointMode.Implicit); }, Null("x0"));
        AddF("FixedPoint.Solve with a negative tolerance", () => fp((x, t) => 0.5 * x + t, -1, 50, FixedPointMode.Implicit), Range("tolerance", "-1"));
        AddF("FixedPoint.Solve with a NaN tolerance", () => fp((x, t) => 0.5 * x + t, double.NaN, 50, FixedPointMode.Implicit), Range("tolerance", "NaN"));
        AddF("FixedPoint.Solve with no iterations", () => fp((x, t) => 0.5 * x + t, 1e-10, 0, FixedPointMode.Implicit), Range("maxIterations", "0"));
        AddF("FixedPoint.Solve with an undefined mode", () => fp((x, t) => 0.5 * x + t, 1e-10, 50, (FixedPointMode)42), Range("mode", "42"));
        AddF("FixedPoint.Solve of a map that changes the shape", () => fp((x, t) => Fn.Concat(0, x, t), 1e-10, 50, FixedPointMode.Implicit), Shp("FixedPoint", "[2]", "[4]"));
        AddF("FixedPoint.Solve with θ and x₀ in different graphs", () => FixedPoint.Solve((x, t) => x, X(2), X(2), 1e-10, 50, FixedPointMode.Implicit), Arg("FixedPoint", "different graphs"));
        AddF("FixedPoint that does not converge, at run time", () =>
        {
            var g = Tracer.Function(t => FixedPoint.Solve((x, th) => 2.0 * x + th, t, Fn.Zeros(t.Graph, new Shape(2)), 1e-12, 20, FixedPointMode.Implicit).Value, new Shape(2));
            return Run(g, T(1, 1));
        }, Throws<FixedPointException>("20"));

        // ===== Other branches' areas: checkpoints, optimizers, parameter vectors (weights) ================
        owner = "weights"; area = "Checkpoint";
        var tmp = (Func<string>)(() => Path.Combine(Path.GetTempPath(), $"jetsharp-census-{Guid.NewGuid():N}.ckpt"));
        AddF("Checkpoint with an empty architecture", () => new Checkpoint("", [T(1)]), Arg("architecture"));
        AddF("Checkpoint with null parameters", () => new Checkpoint("a", null!), Null("parameters"));
        AddF("Checkpoint with a null parameter", () => new Checkpoint("a", [null!]), Null("parameters"));
        Add("Checkpoint.Save to a null path", () => new Checkpoint("a", [T(1)]).Save((string)null!), Null("path"));
        AddF("Checkpoint.Load from a null path", () => Checkpoint.Load(null!), Null("path"));
        AddF("Checkpoint.Load from a missing file", () => Checkpoint.Load("/nonexistent-dir/census-missing.ckpt"), Throws<IOException>("census-missing.ckpt"));
        AddF("Checkpoint.Load of a file that is not a checkpoint", () =>
        {
            var p = tmp();
            File.WriteAllText(p, "hello, world");
            try { return Checkpoint.Load(p); } finally { File.Delete(p); }
        }, Throws<InvalidDataException>("jetsharp-census-"));
        AddF("Checkpoint.Load of a truncated checkpoint", () =>
        {
            var p = tmp();
            new Checkpoint("a", [Randn(1, 50)]).Save(p);
            var bytes = File.ReadAllBytes(p);
            File.WriteAllBytes(p, bytes[..(bytes.Length / 2)]);
            try { return Checkpoint.Load(p); } finally { File.Delete(p); }
        }, Throws<InvalidDataException>("jetsharp-census-"));
        Add("Mlp.LoadWeights of a network of another architecture", () =>
        {
            var p = tmp();
            Mlp.Create(2, [3], 1, Activation.Tanh, 1).SaveWeights(p);
            try { Mlp.Create(2, [4], 1, Activation.Tanh, 1).LoadWeights(p); } finally { File.Delete(p); }
        }, Throws<CheckpointMismatchException>("2→3→1", "2→4→1"));
        Add("Mlp.LoadWeights from a null path", () => Mlp.Create(2, [3], 1, Activation.Tanh, 1).LoadWeights((string)null!), Null("path"));
        Add("Checkpoint.CheckCompatible with other shapes", () => new Checkpoint("a", [T(1, 2)]).CheckCompatible("a", [new Shape(3)], DType.Float64), Throws<CheckpointMismatchException>("[2]", "[3]"));
        Add("Checkpoint.Save of non-finite parameters", () => new Checkpoint("a", [T(double.NaN, 1)]).Save(tmp()), Throws<InvalidOperationException>("parameters.0", "NaN"));
        Add("Checkpoint round trip keeps -0 and subnormals", () =>
        {
            var p = tmp();
            new Checkpoint("a", [T(-0.0, 1e-310, double.MaxValue)]).Save(p);
            try { Same([-0.0, 1e-310, double.MaxValue], (NDArray<double>)Checkpoint.Load(p).Parameters[0], "values", 0); } finally { File.Delete(p); }
        }, Correct);

        area = "Optimizers";
        AddF("Adam without a learning rate", () => new Adam<double>((LearningRate)null!), Null("learningRate"));
        AddF("Adam with a zero learning rate", () => new Adam<double>(0.0), Range("rate", "0"));
        AddF("Adam with β₁ = 1", () => new Adam<double>(LearningRate.Constant(0.1), beta1: 1), Range("beta1", "1"));
        AddF("Adam with a NaN ε", () => new Adam<double>(LearningRate.Constant(0.1), epsilon: double.NaN), Range("epsilon", "NaN"));
        AddF("Adam with an infinite ε", () => new Adam<double>(LearningRate.Constant(0.1), epsilon: double.PositiveInfinity), Range("epsilon"));
        AddF("Adam.Step with null parameters", () => new Adam<double>(0.1).Step(null!, (t, g) => 0), Null("theta"));
        AddF("Adam.Step with a null objective", () => new Adam<double>(0.1).Step([1.0], (Objective<double>)null!), Null("objective"));
        AddF("Adam.Step with a null IObjective", () => new Adam<double>(0.1).Step([1.0], (IObjective<double>)null!), Null("objective"));
        Add("Adam.LoadState of null", () => new Adam<double>(0.1).LoadState(null!, 1), Null("state"));
        Add("Adam.LoadState of an L-BFGS state", () => new Adam<double>(0.1).LoadState(new Lbfgs<double>().SaveState(), 1), Arg("lbfgs", "adam"));
        AddF("Lbfgs with no memory", () => new Lbfgs<double>(memory: 0), Range("memory", "0"));
        AddF("Lbfgs with a NaN gradient tolerance", () => new Lbfgs<double>(gradientTolerance: double.NaN), Range("gradientTolerance", "NaN"));
        AddF("Lbfgs with a negative function tolerance", () => new Lbfgs<double>(functionTolerance: -1), Range("functionTolerance", "-1"));
        AddF("Lbfgs with c₁ above c₂", () => new Lbfgs<double>(c1: 0.5, c2: 0.1), Range("c2", "0.5", "0.1"));
        AddF("Lbfgs.Step with a null objective", () => new Lbfgs<double>().Step([1.0], null!), Null("objective"));
        AddF("ParameterVector.Count of null", () => ParameterVector.Count(null!), Null("shapes"));
        AddF("ParameterVector.Flatten of null", () => ParameterVector.Flatten<double>(null!), Null("parameters"));
        AddF("ParameterVector.Unflatten of the wrong length", () => ParameterVector.Unflatten(new double[3], [new Shape(2)]), Shp("3", "2"));
        Add("ParameterVector.Gather into a short gradient", () => ParameterVector.Gather([T(1, 2)], new double[1]), Shp("1", "2"));

        // ===== Nn.Pinn: PinnProblem<T>, Engd, LevenbergMarquardt, DampedLeastSquares (owner: engd) ===============
        owner = "engd";
        area = "Nn.Pinn";
        var pinnNet = Mlp.Create(1, [2], 1, Activation.Tanh, seed: 1);
        PinnTerm Term(int points = 3, double weight = 1) => new()
        {
            Name = "interior", Points = points, Weight = weight,
            Sample = s => Box.UnitCube(1).Interior<double>(points, s), Residual = c => c.U,
        };
        PinnProblem<T> Pinn<T>(params PinnTerm[] terms) where T : unmanaged, IFloatingPointIeee754<T> =>
            new(pinnNet.Architecture, pinnNet.ParameterShapes, pinnNet.Apply, 1, terms.Length == 0 ? [Term()] : terms);
        int pinnP = ParameterVector.Count(pinnNet.ParameterShapes);
        AddF("PinnProblem without a model", () => new PinnProblem<double>("a", pinnNet.ParameterShapes, null!, 1, [Term()]), Null("model"));
        AddF("PinnProblem without terms", () => new PinnProblem<double>("a", pinnNet.ParameterShapes, pinnNet.Apply, 1, []), Arg("PinnProblem", "no loss terms"));
        AddF("PinnProblem with a null term", () => new PinnProblem<double>("a", pinnNet.ParameterShapes, pinnNet.Apply, 1, [null!]), Null("terms"));
        AddF("PinnProblem with dimension 0", () => new PinnProblem<double>("a", pinnNet.ParameterShapes, pinnNet.Apply, 0, [Term()]), Range("dimension", "0"));
        AddF("PinnProblem with a term of no points", () => Pinn<double>(Term(points: 0)), Range("terms", "interior", "0 points"));
        AddF("PinnProblem with a negative weight", () => Pinn<double>(Term(weight: -1)), Range("terms", "interior", "-1"));
        AddF("PinnProblem with a NaN weight", () => Pinn<float>(Term(weight: double.NaN)), Range("terms", "interior", "NaN"));
        AddF("PinnProblem.Evaluate with a short gradient", () => Pinn<double>().Evaluate(new double[pinnP], new double[1]), Shp("PinnProblem.Evaluate", "1", $"{pinnP}"));
        AddF("PinnProblem.Residuals with a short residual vector", () => Pinn<double>().Residuals(new double[pinnP], new double[2]), Shp("PinnProblem.Residuals", "residuals", "2", "3"));
        AddF("PinnProblem.Linearize with null θ", () => Pinn<double>().Linearize(null!, new double[3], out _), Null("theta"));
        AddF("PinnProblem<float>.Linearize", () => Pinn<float>().Linearize(new double[pinnP], new double[3], out _), Throws<NotSupportedException>("Linearize", "float32", "float64"));
        AddF("PinnProblem<float>.JacobianTimes", () => { Pinn<float>().JacobianTimes(new double[pinnP], new double[pinnP], new double[3]); return null; }, Throws<NotSupportedException>("JacobianTimes", "float32"));
        AddF("PinnProblem.Predict at points of the wrong width", () => Pinn<double>().Predict(new double[pinnP], new NDArray<double>(new Shape(4, 2))), Shp("PinnProblem.Predict", "[N, 1]", "[4, 2]"));
        AddF("PinnProblem.Predict with a short θ", () => Pinn<double>().Predict(new double[1], new NDArray<double>(new Shape(4, 1))), Shp("PinnProblem.Predict", "1", $"{pinnP}"));
        Add("PinnProblem.SetPoints of a missing term", () => Pinn<double>().SetPoints(1, new NDArray<double>(new Shape(3, 1))), Range("term", "1"));
        Add("PinnProblem.SetPoints of the wrong shape", () => Pinn<double>().SetPoints(0, new NDArray<double>(new Shape(4, 1))), Shp("SetPoints", "[3, 1]", "[4, 1]"));
        AddF("PinnProblem.Offset of a missing term", () => Pinn<double>().Offset(-1), Range("term", "-1"));
        AddF("Engd without a problem", () => new Engd(null!), Null("problem"));
        AddF("Engd on a float32 problem", () => new Engd(Pinn<float>()), Throws<NotSupportedException>("Engd", "float32"));
        AddF("Engd with zero damping", () => new Engd(Pinn<double>(), new EngdOptions { Damping = 0 }), Range("Damping", "0"));
        AddF("Engd with momentum 1", () => new Engd(Pinn<double>(), new EngdOptions { Momentum = 1 }), Range("Momentum", "1"));
        AddF("Engd.Step with a null objective", () => new Engd(Pinn<double>()).Step(new double[pinnP], null!), Null("objective"));
        AddF("Engd.Step with the wrong number of parameters", () => { var p = Pinn<double>(); return new Engd(p).Step(new double[1], p.Evaluate); }, Shp("Engd.Step", "1", $"{pinnP}"));
        Add("Engd.LoadState of an Adam state", () => new Engd(Pinn<double>()).LoadState(new Adam<double>(0.1).SaveState(), pinnP), Arg("adam", "engd"));
        Add("Engd.LoadState for another parameter count", () => new Engd(Pinn<double>()).LoadState(new Engd(Pinn<double>()).SaveState(), pinnP + 1), Arg("engd", $"{pinnP + 1}", $"{pinnP}"));
        AddF("LevenbergMarquardt on a float32 problem", () => new LevenbergMarquardt(Pinn<float>()), Throws<NotSupportedException>("LevenbergMarquardt", "float32"));
        AddF("LevenbergMarquardt with no tries", () => new LevenbergMarquardt(Pinn<double>(), new LevenbergMarquardtOptions { MaxTries = 0 }), Range("MaxTries", "0"));
        Add("LevenbergMarquardt.LoadState with a negative λ", () => new LevenbergMarquardt(Pinn<double>()).LoadState(new OptimizerState("lm", 1, new Dictionary<string, NDArray>(), new Dictionary<string, double> { ["lambda"] = -1 }), pinnP), Arg("lm", "lambda", "-1"));
        AddF("DampedLeastSquares.Solve with a mismatched right-hand side", () => new DampedLeastSquares().Solve(new NDArray<double>(new Shape(3, 2)), new double[2], 1, GramForm.Auto, new double[2]), Shp("DampedLeastSquares.Solve", "[3, 2]", "2"));
        AddF("DampedLeastSquares.Solve with NaN damping", () => new DampedLeastSquares().Solve(new NDArray<double>(new Shape(3, 2)), new double[3], double.NaN, GramForm.Auto, new double[2]), Range("damping", "NaN"));

        return cases;
    }
}
