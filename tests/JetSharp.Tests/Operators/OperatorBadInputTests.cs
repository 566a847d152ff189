using JetSharp.Nn;
using JetSharp.Primitives;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Misuse must fail early with a clear exception whose message names the operation and the offending
/// shapes or values (not an index error deep in a kernel, and never a silently wrong number).
/// </summary>
public class OperatorBadInputTests
{
    private static Node Smooth(Node v) => Fn.Sum(Fn.Sin(v) * v, 1, keepDims: true);

    private static void Mentions(Exception e, params string[] parts)
    {
        foreach (var p in parts) Assert.Contains(p, e.Message);
    }

    [Fact]
    public void SigmaForOtherDimension()
    {
        var sigma = NDArray.FromArray(new double[,] { { 1, 0 }, { 0, 1 }, { 1, 1 } });        // [3, 2]
        var x = Randn(1, 2, 4);
        var e = Assert.Throws<ShapeException>(() => Pde.WeightedLaplacian(Smooth, x, sigma));
        Mentions(e, "WeightedLaplacian", "[3, 2]", "D = 4");
    }

    [Fact]
    public void LinearVariablesForOtherDimension()
    {
        var x = Randn(2, 2, 3);
        var e = Assert.Throws<ShapeException>(() => Pde.Linear(Smooth, x, [(1.0, "xy")], "xy"));
        Mentions(e, "Linear", "2 variables", "D = 3");
    }

    [Fact]
    public void AxesOutsideTheInput()
    {
        var op = DifferentialOperator.Linear([(1.0, [0, 3])]);
        var e = Assert.Throws<ShapeException>(() => op.Apply(Smooth, Randn(3, 2, 3)));
        Mentions(e, "Linear", "[0, 3]", "0..2");
        // A negative axis is refused when the operator is built, before any function is seen.
        var neg = Assert.Throws<ArgumentOutOfRangeException>(() => DifferentialOperator.Linear([(1.0, new[] { -1 })]));
        Assert.Equal("terms", neg.ParamName);
        Mentions(neg, "Linear", "-1");
    }

    [Fact]
    public void SigmaOfRankOne()
    {
        var e = Assert.Throws<ShapeException>(() => DifferentialOperator.WeightedLaplacian(NDArray.FromArray(new[] { 1.0, 2.0, 3.0 })));
        Mentions(e, "WeightedLaplacian", "[D, R]", "[3]");
    }

    [Theory]
    [InlineData("Collapsed")]
    [InlineData("NestedFirstOrder")]
    public void SigmaOfXWithWrongShape(string strategy)
    {
        var s = Strategy.FromName(strategy);
        var x = Randn(4, 2, 3);
        // Rank 2 instead of [N, D, R].
        var e = Assert.Throws<ShapeException>(() => Pde.WeightedLaplacian(Smooth, x, v => v * 2.0, strategy: s));
        Mentions(e, "WeightedLaplacian", "σ(x)", "[2, 3]");
        // [N, D + 1, R]: rows of σ do not match the input dimension.
        Node Wide(Node v) => Fn.BroadcastTo(v.Graph.Scalar(1), new Shape(v.Shape[0], 4, 2));
        e = Assert.Throws<ShapeException>(() => Pde.WeightedLaplacian(Smooth, x, Wide, strategy: s));
        Mentions(e, "WeightedLaplacian", "[2, 4, 2]", "[2, 3]");
        // Stochastic σ(x) checks too.
        e = Assert.Throws<ShapeException>(() => Pde.WeightedLaplacian(Smooth, x, Wide, Estimate.Stochastic(2), s));
        Mentions(e, "[2, 4, 2]");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void NonPositiveSampleCount(int samples)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Estimate.Stochastic(samples));
        Mentions(e, "Estimate.Stochastic", $"got {samples}");
    }

    [Fact]
    public void UniformDirectionsRefused() =>
        Mentions(Assert.Throws<ArgumentException>(() => Estimate.Stochastic(3, Distribution.Uniform)), "Estimate.Stochastic", "uniform");

    [Fact]
    public void EmptyOperator()
    {
        Mentions(Assert.Throws<ArgumentException>(() => DifferentialOperator.Linear(Array.Empty<(double, string)>(), "xy")), "Linear", "no terms");
        Mentions(Assert.Throws<ArgumentException>(() => DifferentialOperator.Linear(Array.Empty<(double, int[])>())), "Linear", "no terms");
    }

    [Fact]
    public void TermUsesUnknownLetter()
    {
        var e = Assert.Throws<ArgumentException>(() => DifferentialOperator.Linear([(1.0, "xx"), (2.0, "xz")], "xy"));
        Mentions(e, "Linear", "'xz'", "'z'", "'xy'");
    }

    [Fact]
    public void RepeatedVariableLetters()
    {
        var e = Assert.Throws<ArgumentException>(() => DifferentialOperator.Linear([(1.0, "xx")], "xyx"));
        Mentions(e, "Linear", "'xyx'");
    }

    public static TheoryData<string, string> NonSmoothCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var op in new[] { "laplacian", "biharmonic", "interpolated biharmonic", "nested biharmonic", "stochastic biharmonic" })
            foreach (var s in new[] { Strategy.Collapsed, Strategy.StandardTaylor }) data.Add(op, s.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(NonSmoothCases))]
    public void ReluNetworkUnderHigherOrderOperator(string which, string strategy)
    {
        var s = Strategy.FromName(strategy);
        var net = Mlp.Create(3, [4], 1, Activation.Relu, seed: 1);
        var op = which switch
        {
            "laplacian" => DifferentialOperator.Laplacian(),
            "biharmonic" => DifferentialOperator.Biharmonic(),
            "interpolated biharmonic" => DifferentialOperator.BiharmonicByInterpolation(),
            "nested biharmonic" => DifferentialOperator.BiharmonicByNestedLaplacians(),
            _ => DifferentialOperator.Biharmonic(Estimate.Stochastic(2)),
        };
        var e = Assert.Throws<NotSmoothException>(() => op.Apply(net.Apply, Randn(5, 2, 3), s));
        // Δ(Δf) (the default's choice at D = 3 collapsed) meets relu in the inner Laplacian, at order 2.
        bool second = which == "laplacian" || which == "nested biharmonic" || which == "biharmonic" && DifferentialOperator.NestedLaplaciansAreCheaper(s, 3);
        Mentions(e, "relu", "not smooth", second ? "order 2" : "order 4");
    }

    [Fact]
    public void ReluIsFineForFirstOrderOperators()
    {
        // A first-order operator only needs the (a.e.) first derivative, which relu has.
        var net = Mlp.Create(3, [4], 1, Activation.Relu, seed: 1);
        var op = DifferentialOperator.Linear([(1.0, [0])]);
        var x = Randn(5, 2, 3);
        Close(op.Apply(net.Apply, x, Strategy.NestedFirstOrder), op.Apply(net.Apply, x, Strategy.Collapsed), 1e-12);
    }

    [Theory]
    [InlineData(new[] { 3 })]
    [InlineData(new[] { 2, 3, 1 })]
    public void PointsNotOfRankTwo(int[] shape)
    {
        var x = Randn(6, shape);
        var e = Assert.Throws<ShapeException>(() => Pde.Laplacian(Smooth, x));
        Mentions(e, "Laplacian", "[N, D]", new Shape(shape).ToString());
        e = Assert.Throws<ShapeException>(() => DifferentialOperator.Laplacian().Compile(Smooth, new Shape(shape)));
        Mentions(e, "Laplacian", "[N, D]", new Shape(shape).ToString());
    }

    [Fact]
    public void FunctionThatIsNotPerDatum()
    {
        // Σ over the whole batch returns a scalar, not [N, …].
        var e = Assert.Throws<ShapeException>(() => Pde.Laplacian(v => Fn.Sum(v), Randn(7, 2, 3)));
        Mentions(e, "Laplacian", "[2, 3]", "[]");
    }

    [Fact]
    public void RademacherForStochasticBiharmonic()
    {
        var e = Assert.Throws<ArgumentException>(() => DifferentialOperator.Biharmonic(Estimate.Stochastic(4, Distribution.Rademacher)));
        Mentions(e, "Biharmonic", "Gaussian", "Rademacher");
    }

    [Fact]
    public void CoefficientMatrixMisuse()
    {
        Mentions(Assert.Throws<ShapeException>(() => DifferentialOperator.WeightedLaplacianFromCoefficients(new double[2, 3])), "WeightedLaplacianFromCoefficients", "[2, 3]");
        Mentions(Assert.Throws<ArgumentException>(() => DifferentialOperator.WeightedLaplacianFromCoefficients(new double[,] { { 1, 2 }, { 0, 1 } })), "WeightedLaplacianFromCoefficients", "not symmetric");
        var op = DifferentialOperator.WeightedLaplacianFromCoefficients(new double[,] { { 1, 0 }, { 0, -1 } });
        Mentions(Assert.Throws<ShapeException>(() => op.Apply(Smooth, Randn(8, 2, 3))), "WeightedLaplacianFromCoefficients", "2×2", "D = 3");
    }

    // ------------------------------------------------------------------ every public entry, data-driven

    /// <summary>One refused call: what it does, the exception type, its parameter name (for argument exceptions) and words the message must contain.</summary>
    public sealed record Case(Action Call, Type Expected, string? Param, params string[] Words);

    private static readonly NDArray<double> X32 = Randn(20, 3, 2);
    private static Node Two(Node v) => Fn.Sum(Fn.Sin(v) * v, 1, keepDims: true);
    private static readonly Func<Node, Node> NullF = null!;
    private static readonly NDArray<double> NullX = null!;
    private static readonly CompiledOperator Compiled = DifferentialOperator.Laplacian().Compile(Two, new Shape(3, 2));
    private static readonly CompiledOperator CompiledWithParameter =
        DifferentialOperator.Laplacian().Compile((v, ps) => Two(v) * ps[0], new Shape(3, 2), [new Shape(1, 1)]);
    private static Graph Traced(Func<Node, Node> f, params int[] shape) => Tracer.Function(f, new Shape(shape));
    private static Graph TwoInputs() => Tracer.Function(xs => Fn.Sum(xs[0] * xs[1]), [new Shape(2), new Shape(2)], DType.Float64);
    private static (Graph F, Node[] Inputs) Mirrored()
    {
        var f = Traced(Two, 3, 2);
        var g = new Graph(DType.Float64);
        return (f, GraphWalk.MirrorInputs(f, g));
    }
    private static NDArray<double> Sigma(double bad) => NDArray.FromArray(new double[,] { { 1, 0 }, { bad, 1 } });
    private static double[,] Coefficients(double bad) => new double[,] { { 1, bad }, { bad, 1 } };

    public static readonly Dictionary<string, Case> Cases = new()
    {
        // Pde
        ["Pde.Laplacian null f"] = new(() => Pde.Laplacian(NullF, X32), typeof(ArgumentNullException), "f"),
        ["Pde.Laplacian null x"] = new(() => Pde.Laplacian(Two, NullX), typeof(ArgumentNullException), "x"),
        ["Pde.Laplacian null estimate"] = new(() => Pde.Laplacian(Two, X32, (Estimate)null!), typeof(ArgumentNullException), "estimate"),
        ["Pde.Laplacian x of rank 1"] = new(() => Pde.Laplacian(Two, Randn(1, 4)), typeof(ShapeException), null, "Laplacian", "[N, D]", "[4]"),
        ["Pde.Laplacian x of rank 3"] = new(() => Pde.Laplacian(Two, Randn(1, 2, 2, 2)), typeof(ShapeException), null, "Laplacian", "[2, 2, 2]"),
        ["Pde.Laplacian f not [N, …]"] = new(() => Pde.Laplacian(v => Fn.Reshape(v, 6), X32), typeof(ShapeException), null, "Laplacian", "[3, 2]", "[6]"),
        ["Pde.WeightedLaplacian null σ"] = new(() => Pde.WeightedLaplacian(Two, X32, (NDArray)null!), typeof(ArgumentNullException), "sigma"),
        ["Pde.WeightedLaplacian null σ(x)"] = new(() => Pde.WeightedLaplacian(Two, X32, (Func<Node, Node>)null!), typeof(ArgumentNullException), "sigma"),
        ["Pde.WeightedLaplacian null f"] = new(() => Pde.WeightedLaplacian(NullF, X32, Sigma(0)), typeof(ArgumentNullException), "f"),
        ["Pde.WeightedLaplacian null x"] = new(() => Pde.WeightedLaplacian(Two, NullX, Sigma(0)), typeof(ArgumentNullException), "x"),
        ["Pde.WeightedLaplacian σ(x) null f"] = new(() => Pde.WeightedLaplacian(NullF, X32, v => v), typeof(ArgumentNullException), "f"),
        ["Pde.Biharmonic null f"] = new(() => Pde.Biharmonic(NullF, X32), typeof(ArgumentNullException), "f"),
        ["Pde.Biharmonic null x"] = new(() => Pde.Biharmonic(Two, NullX), typeof(ArgumentNullException), "x"),
        ["Pde.Biharmonic null estimate"] = new(() => Pde.Biharmonic(Two, X32, (Estimate)null!), typeof(ArgumentNullException), "estimate"),
        ["Pde.Linear null terms"] = new(() => Pde.Linear(Two, X32, null!, "xy"), typeof(ArgumentNullException), "terms"),
        ["Pde.Linear null variables"] = new(() => Pde.Linear(Two, X32, [(1.0, "x")], null!), typeof(ArgumentNullException), "variables"),
        ["Pde.Linear null f"] = new(() => Pde.Linear(NullF, X32, [(1.0, "x")], "xy"), typeof(ArgumentNullException), "f"),
        ["Pde.Linear null x"] = new(() => Pde.Linear(Two, NullX, [(1.0, "x")], "xy"), typeof(ArgumentNullException), "x"),
        ["Pde.LaplacianGraph null f"] = new(() => Pde.LaplacianGraph(null!, new Shape(3, 2), DType.Float64), typeof(ArgumentNullException), "f"),
        ["Pde.LaplacianGraph undefined dtype"] = new(() => Pde.LaplacianGraph(Two, new Shape(3, 2), (DType)7), typeof(ArgumentOutOfRangeException), "dtype", "LaplacianGraph", "7"),
        ["Pde.LaplacianGraph points of rank 1"] = new(() => Pde.LaplacianGraph(Two, new Shape(5), DType.Float64), typeof(ShapeException), null, "LaplacianGraph", "[5]"),

        // DifferentialOperator: construction
        ["WeightedLaplacian null σ"] = new(() => DifferentialOperator.WeightedLaplacian((NDArray)null!), typeof(ArgumentNullException), "sigma"),
        ["WeightedLaplacian NaN in σ"] = new(() => DifferentialOperator.WeightedLaplacian(Sigma(double.NaN)), typeof(ArgumentException), "sigma", "WeightedLaplacian", "σ[1, 0]", "NaN"),
        ["WeightedLaplacian ∞ in σ"] = new(() => DifferentialOperator.WeightedLaplacian(Sigma(double.PositiveInfinity)), typeof(ArgumentException), "sigma", "WeightedLaplacian", "σ[1, 0]", "finite"),
        ["WeightedLaplacian σ of rank 3"] = new(() => DifferentialOperator.WeightedLaplacian(Randn(1, 2, 2, 2)), typeof(ShapeException), null, "WeightedLaplacian", "[2, 2, 2]"),
        ["WeightedLaplacian null σ(x)"] = new(() => DifferentialOperator.WeightedLaplacian((Func<Node, Node>)null!), typeof(ArgumentNullException), "sigma"),
        ["FromCoefficients null A"] = new(() => DifferentialOperator.WeightedLaplacianFromCoefficients(null!), typeof(ArgumentNullException), "a"),
        ["FromCoefficients NaN"] = new(() => DifferentialOperator.WeightedLaplacianFromCoefficients(Coefficients(double.NaN)), typeof(ArgumentException), "a", "WeightedLaplacianFromCoefficients", "A[0,1]", "NaN"),
        ["FromCoefficients +∞"] = new(() => DifferentialOperator.WeightedLaplacianFromCoefficients(new double[,] { { double.PositiveInfinity, 0 }, { 0, 1 } }), typeof(ArgumentException), "a", "WeightedLaplacianFromCoefficients", "A[0,0]"),
        ["FromCoefficients −∞"] = new(() => DifferentialOperator.WeightedLaplacianFromCoefficients(Coefficients(double.NegativeInfinity)), typeof(ArgumentException), "a", "A[0,1]"),
        ["FromCoefficients not square"] = new(() => DifferentialOperator.WeightedLaplacianFromCoefficients(new double[3, 2]), typeof(ShapeException), null, "WeightedLaplacianFromCoefficients", "[3, 2]"),
        ["FromCoefficients not symmetric"] = new(() => DifferentialOperator.WeightedLaplacianFromCoefficients(new double[,] { { 1, 2 }, { 2.5, 1 } }), typeof(ArgumentException), "a", "not symmetric", "A[1,0] = 2.5"),
        ["Linear null terms"] = new(() => DifferentialOperator.Linear((IEnumerable<(double, string)>)null!, "xy"), typeof(ArgumentNullException), "terms"),
        ["Linear null variables"] = new(() => DifferentialOperator.Linear([(1.0, "x")], null!), typeof(ArgumentNullException), "variables"),
        ["Linear NaN coefficient"] = new(() => DifferentialOperator.Linear([(1.0, "x"), (double.NaN, "y")], "xy"), typeof(ArgumentException), "terms", "Linear", "term 1", "NaN"),
        ["Linear ∞ coefficient"] = new(() => DifferentialOperator.Linear([(double.PositiveInfinity, "xx")], "xy"), typeof(ArgumentException), "terms", "Linear", "term 0", "'xx'"),
        ["Linear −∞ zero-order coefficient"] = new(() => DifferentialOperator.Linear([(1.0, "x"), (double.NegativeInfinity, "")], "xy"), typeof(ArgumentException), "terms", "term 1"),
        ["Linear null derivative"] = new(() => DifferentialOperator.Linear([(1.0, (string)null!)], "xy"), typeof(ArgumentException), "terms", "Linear", "term 0", "null"),
        ["Linear unknown letter"] = new(() => DifferentialOperator.Linear([(1.0, "xq")], "xy"), typeof(ArgumentException), "terms", "'q'", "'xy'"),
        ["Linear repeated letter"] = new(() => DifferentialOperator.Linear([(1.0, "x")], "xx"), typeof(ArgumentException), "variables", "'xx'"),
        ["Linear no terms"] = new(() => DifferentialOperator.Linear(Array.Empty<(double, string)>(), "xy"), typeof(ArgumentException), "terms", "no terms"),
        ["Linear axes null terms"] = new(() => DifferentialOperator.Linear((IEnumerable<(double, int[])>)null!), typeof(ArgumentNullException), "terms"),
        ["Linear axes null multi-index"] = new(() => DifferentialOperator.Linear([(1.0, (int[])null!)]), typeof(ArgumentException), "terms", "term 0", "null"),
        ["Linear axes negative axis"] = new(() => DifferentialOperator.Linear([(1.0, new[] { 0, -2 })]), typeof(ArgumentOutOfRangeException), "terms", "[0, -2]", "-2"),
        ["Linear axes NaN coefficient"] = new(() => DifferentialOperator.Linear([(double.NaN, new[] { 0 })]), typeof(ArgumentException), "terms", "term 0", "[0]"),
        ["Linear axes no terms"] = new(() => DifferentialOperator.Linear(Array.Empty<(double, int[])>()), typeof(ArgumentException), "terms", "no terms"),
        ["Biharmonic Rademacher"] = new(() => DifferentialOperator.Biharmonic(Estimate.Stochastic(2, Distribution.Rademacher)), typeof(ArgumentException), null, "Biharmonic", "Rademacher"),

        // DifferentialOperator: use
        ["Families negative dimension"] = new(() => DifferentialOperator.Laplacian().Families(-1), typeof(ArgumentOutOfRangeException), "dimension", "Laplacian", "-1"),
        ["Build null f"] = new(() => DifferentialOperator.Laplacian().Build(null!), typeof(ArgumentNullException), "f"),
        ["Build points of rank 1"] = new(() => DifferentialOperator.Laplacian().Build(Traced(v => v * 2.0, 4)), typeof(ShapeException), null, "Laplacian", "[N, D]", "[4]"),
        ["Build scalar output"] = new(() => DifferentialOperator.Laplacian().Build(Traced(v => Fn.Sum(v), 3, 2)), typeof(ShapeException), null, "Laplacian", "[3, 2]", "[]"),
        ["Build coupling rows"] = new(() => DifferentialOperator.Laplacian().Build(Traced(v => v - Fn.Mean(v, 0, keepDims: true), 3, 2)), typeof(ArgumentException), "f", "Laplacian", "not per-datum", "sum"),
        ["Emit null f"] = new(() => DifferentialOperator.Laplacian().Emit(null!, Mirrored().Inputs, null), typeof(ArgumentNullException), "f"),
        ["Emit null inputs"] = new(() => DifferentialOperator.Laplacian().Emit(Mirrored().F, null!, null), typeof(ArgumentNullException), "inputs"),
        ["Emit too few inputs"] = new(() => DifferentialOperator.Laplacian().Emit(Mirrored().F, [], null), typeof(ShapeException), null, "Laplacian", "emit", "[3, 2]"),
        ["Compile null f"] = new(() => DifferentialOperator.Laplacian().Compile((Func<Node, Node>)null!, new Shape(3, 2)), typeof(ArgumentNullException), "f"),
        ["Compile undefined dtype"] = new(() => DifferentialOperator.Laplacian().Compile(Two, new Shape(3, 2), (DType)5), typeof(ArgumentOutOfRangeException), "dtype", "Laplacian", "5"),
        ["Compile points of rank 3"] = new(() => DifferentialOperator.Laplacian().Compile(Two, new Shape(1, 3, 2)), typeof(ShapeException), null, "Laplacian", "[1, 3, 2]"),
        ["Compile null parameter shapes"] = new(() => DifferentialOperator.Laplacian().Compile((v, ps) => v, new Shape(3, 2), null!), typeof(ArgumentNullException), "parameterShapes"),
        ["Compile with parameters null f"] = new(() => DifferentialOperator.Laplacian().Compile((Func<Node, Node[], Node>)null!, new Shape(3, 2), []), typeof(ArgumentNullException), "f"),
        ["Apply null f"] = new(() => DifferentialOperator.Biharmonic().Apply(NullF, X32), typeof(ArgumentNullException), "f"),
        ["Apply null x"] = new(() => DifferentialOperator.Biharmonic().Apply(Two, NullX), typeof(ArgumentNullException), "x"),
        ["Run null x"] = new(() => Compiled.Run(NullX), typeof(ArgumentNullException), "x"),
        ["Run null parameter array"] = new(() => Compiled.Run(X32, null!), typeof(ArgumentNullException), "parameters"),
        ["Run x of another shape"] = new(() => Compiled.Run(Randn(1, 4, 2)), typeof(ShapeException), null, "Laplacian", "[4, 2]", "[3, 2]"),
        ["Run another dtype"] = new(() => Compiled.Run(NDArray.RandomNormal<float>(new Shape(3, 2), 1)), typeof(ShapeException), null, "Laplacian", "float32", "float64"),
        ["Run missing parameter"] = new(() => CompiledWithParameter.Run(X32), typeof(ShapeException), null, "Laplacian", "1 parameter(s)", "run with 0"),
        ["Run extra parameter"] = new(() => Compiled.Run(X32, X32), typeof(ShapeException), null, "Laplacian", "0 parameter(s)", "run with 1"),
        ["Run null parameter"] = new(() => CompiledWithParameter.Run(X32, NullX), typeof(ArgumentNullException), "parameters", "parameter 0"),
        ["Run parameter of another shape"] = new(() => CompiledWithParameter.Run(X32, Randn(2, 2, 2)), typeof(ShapeException), null, "Laplacian", "parameter 0", "[2, 2]", "[1, 1]"),

        // Estimate
        ["Estimate zero samples"] = new(() => Estimate.Stochastic(0), typeof(ArgumentOutOfRangeException), "samples", "Estimate.Stochastic"),
        ["Estimate negative samples"] = new(() => Estimate.Stochastic(-4), typeof(ArgumentOutOfRangeException), "samples", "-4"),
        ["Estimate undefined distribution"] = new(() => Estimate.Stochastic(3, (Distribution)9), typeof(ArgumentOutOfRangeException), "distribution", "Estimate.Stochastic", "9"),
        ["Estimate uniform"] = new(() => Estimate.Stochastic(3, Distribution.Uniform), typeof(ArgumentException), "distribution", "uniform"),

        // Strategy
        ["FromName null"] = new(() => Strategy.FromName(null!), typeof(ArgumentNullException), "name"),
        ["FromName unknown"] = new(() => Strategy.FromName("fastest"), typeof(ArgumentException), "name", "Strategy.FromName", "'fastest'", "Collapsed"),
        ["FromName empty"] = new(() => Strategy.FromName(""), typeof(ArgumentException), "name", "''"),
        ["DirectionalSum null f"] = new(() => Strategy.Collapsed.DirectionalSum(null!, Mirrored().Inputs, Mirrored().Inputs[0], 1), typeof(ArgumentNullException), "f"),
        ["DirectionalSum null inputs"] = new(() => Strategy.Collapsed.DirectionalSum(Mirrored().F, null!, Mirrored().Inputs[0], 1), typeof(ArgumentNullException), "inputs"),
        ["DirectionalSum null directions"] = new(() => { var (f, ins) = Mirrored(); Strategy.Collapsed.DirectionalSum(f, ins, null!, 1); }, typeof(ArgumentNullException), "directions"),
        ["DirectionalSum order 0"] = new(() => { var (f, ins) = Mirrored(); Strategy.NestedFirstOrder.DirectionalSum(f, ins, Fn.Reshape(ins[0], 1, 3, 2), 0); }, typeof(ArgumentOutOfRangeException), "order", "NestedFirstOrder", "0"),
        ["DirectionalSum directions of rank 2"] = new(() => { var (f, ins) = Mirrored(); Strategy.StandardTaylor.DirectionalSum(f, ins, ins[0], 2); }, typeof(ShapeException), null, "StandardTaylor", "[3, 2]", "[R, 3, 2]"),
        ["DirectionalSum directions for other data"] = new(() => { var (f, ins) = Mirrored(); Strategy.Collapsed.DirectionalSum(f, ins, Fn.Zeros(ins[0].Graph, new Shape(4, 5, 2)), 2); }, typeof(ShapeException), null, "Collapsed", "[4, 5, 2]"),
        ["Formulate null general"] = new(() => Strategy.NestedFirstOrder.Formulate<int>(null!, () => 1), typeof(ArgumentNullException), "general"),
        ["Finish null graph"] = new(() => Strategy.Collapsed.Finish(null!), typeof(ArgumentNullException), "g"),

        // Ad
        ["Ad.Grad null f"] = new(() => Ad.Grad(null!, [X32]), typeof(ArgumentNullException), "f"),
        ["Ad.Grad null points"] = new(() => Ad.Grad(xs => Fn.Sum(xs[0]), null!), typeof(ArgumentNullException), "at"),
        ["Ad.Grad null point"] = new(() => Ad.Grad(xs => Fn.Sum(xs[0]), [X32, null!]), typeof(ArgumentNullException), "at", "point 1"),
        ["Ad.Grad no points"] = new(() => Ad.Grad(xs => xs[0], []), typeof(ArgumentException), "at", "grad", "no inputs"),
        ["Ad.Grad mixed dtypes"] = new(() => Ad.Grad(xs => Fn.Sum(xs[0]), [X32, NDArray.RandomNormal<float>(new Shape(2), 1)]), typeof(ShapeException), null, "grad", "mixed dtypes", "float32"),
        ["Ad.Grad vector output"] = new(() => Ad.Grad(v => v * 2.0, X32), typeof(ShapeException), null, "grad", "one scalar", "[3, 2]"),
        ["Ad.Grad<T> null f"] = new(() => Ad.Grad(NullF, X32), typeof(ArgumentNullException), "f"),
        ["Ad.Grad<T> null x"] = new(() => Ad.Grad(v => Fn.Sum(v), NullX), typeof(ArgumentNullException), "x"),
        ["Ad.Jvp null f"] = new(() => Ad.Jvp(NullF, X32, X32), typeof(ArgumentNullException), "f"),
        ["Ad.Jvp null x"] = new(() => Ad.Jvp(v => v, NullX, X32), typeof(ArgumentNullException), "x"),
        ["Ad.Jvp null v"] = new(() => Ad.Jvp(v => v, X32, NullX), typeof(ArgumentNullException), "v"),
        ["Ad.Jvp direction of another shape"] = new(() => Ad.Jvp(v => v, X32, Randn(1, 2, 3)), typeof(ShapeException), null, "jvp", "[2, 3]", "[3, 2]"),
        ["Ad.Hvp null f"] = new(() => Ad.Hvp(NullF, X32, X32), typeof(ArgumentNullException), "f"),
        ["Ad.Hvp null v"] = new(() => Ad.Hvp(v => Fn.Sum(v * v), X32, NullX), typeof(ArgumentNullException), "v"),
        ["Ad.Hvp direction of another shape"] = new(() => Ad.Hvp(v => Fn.Sum(v * v), X32, Randn(1, 3)), typeof(ShapeException), null, "hvp", "[3]", "[3, 2]"),
        ["Ad.Hvp vector output"] = new(() => Ad.Hvp(v => v * v, X32, X32), typeof(ShapeException), null, "hvp", "one scalar", "[3, 2]"),
        ["Ad.HvpGraph null graph"] = new(() => Ad.HvpGraph(null!), typeof(ArgumentNullException), "g"),
        ["Ad.HvpGraph two inputs"] = new(() => Ad.HvpGraph(TwoInputs()), typeof(ArgumentException), "g", "hvp", "one input", "2"),

        // ValueGradientLaplacian
        ["VGL.Build null f"] = new(() => ValueGradientLaplacian.Build(null!), typeof(ArgumentNullException), "f"),
        ["VGL.Build vector per datum"] = new(() => ValueGradientLaplacian.Build(Traced(v => v * 2.0, 3, 2)), typeof(ShapeException), null, "ValueGradientLaplacian", "scalar per datum", "[3, 2]"),
        ["VGL.Build coupling rows"] = new(() => ValueGradientLaplacian.Build(Traced(v => Fn.MatMul(Fn.MatMul(v, v, transposeB: true), Fn.Slice(v, 1, 0, 1)), 3, 2)), typeof(ArgumentException), "f", "ValueGradientLaplacian", "not per-datum", "matmul"),
        ["VGL.Evaluate null f"] = new(() => ValueGradientLaplacian.Evaluate(NullF, X32), typeof(ArgumentNullException), "f"),
        ["VGL.Evaluate null x"] = new(() => ValueGradientLaplacian.Evaluate(Two, NullX), typeof(ArgumentNullException), "x"),
        ["VGL.Evaluate x of rank 1"] = new(() => ValueGradientLaplacian.Evaluate(Two, Randn(1, 4)), typeof(ShapeException), null, "ValueGradientLaplacian", "[N, D]", "[4]"),

        // DirectionFamily
        ["DirectionFamily order 0"] = new(() => _ = new DirectionFamily(0, 1, x => x, "d"), typeof(ArgumentOutOfRangeException), "Order", "DirectionFamily", "0"),
        ["DirectionFamily NaN scale"] = new(() => _ = new DirectionFamily(2, double.NaN, x => x, "d"), typeof(ArgumentException), "Scale", "DirectionFamily", "NaN"),
        ["DirectionFamily null directions"] = new(() => _ = new DirectionFamily(2, 1, null!, "d"), typeof(ArgumentNullException), "Directions"),
        ["DirectionFamily.Constant null"] = new(() => DirectionFamily.Constant(2, 1, null!, "d"), typeof(ArgumentNullException), "directions"),
        ["DirectionFamily.Constant ∞"] = new(() => DirectionFamily.Constant(2, 1, new double[,] { { 1, double.NegativeInfinity } }, "mine"), typeof(ArgumentException), "directions", "DirectionFamily.Constant", "mine", "finite"),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void RefusedUpFront(string name)
    {
        var c = Cases[name];
        var e = Assert.Throws(c.Expected, c.Call);
        if (c.Param is not null) Assert.Equal(c.Param, Assert.IsAssignableFrom<ArgumentException>(e).ParamName);
        foreach (var w in c.Words) Assert.Contains(w, e.Message);
        // Every message names what was wrong: a parameter, or the operation.
        Assert.True(c.Param is not null || c.Words.Length > 0, name);
    }

    [Fact]
    public void AtLeastSixtyCases() => Assert.True(Cases.Count >= 60, $"{Cases.Count} cases");
}
