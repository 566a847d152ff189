using JetSharp.Nn;
using Xunit.Abstractions;
using static JetSharp.Tests.TestUtil;
using static JetSharp.Tests.OperatorTestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Issue 15, defect 9: the operators need f: [N, D] → [N, …] with row n of the output depending on row n
/// of x only. A function that couples rows is refused (it used to get a silently wrong result, e.g. a
/// Laplacian of 12 instead of 4), and legitimate per-datum functions are not.
/// </summary>
public class PerDatumContractTests(ITestOutputHelper output)
{
    private static Node Ones(Node v, int rows, int cols) => v.Graph.Constant(NDArray.Ones<double>(new Shape(rows, cols)));

    /// <summary>Functions that couple the rows of x [3, 2], each with the primitive the message must name.</summary>
    public static readonly Dictionary<string, (Func<Node, Node> F, string Op)> Coupling = new()
    {
        // Σ over all data of |x_m|², the same for every row: per datum Δ = 2D = 4, the batch-coupled evaluation gave 12.
        ["sum over the batch"] = (v => Fn.BroadcastTo(Fn.Sum(v * v, [0, 1], keepDims: true), new Shape(3, 1)), "sum"),
        ["centering by the batch mean"] = (v => Fn.Sum(Fn.Square(v - Fn.Mean(v, 0, keepDims: true)), 1, keepDims: true), "sum"),
        ["matrix across data"] = (v => Fn.Sum(Fn.Tanh(Fn.MatMul(Ones(v, 3, 3), v)), 1, keepDims: true), "matmul"),
        ["gram matrix x·xᵀ"] = (v => Fn.Sum(Fn.MatMul(v, v, transposeB: true), 1, keepDims: true), "matmul"),
        ["contraction over data"] = (v => Fn.BroadcastTo(Fn.Sum(Fn.MatMul(v, Ones(v, 3, 1), transposeA: true), 0, keepDims: true), new Shape(3, 1)), "matmul"),
        ["rows shifted by a slice"] = (v => Fn.Sum(Fn.Concat(0, Fn.Slice(v, 0, 1, 2), Fn.Slice(v, 0, 0, 1)) * v, 1, keepDims: true), "slice"),
        ["rows padded"] = (v => Fn.Sum(Fn.Slice(Fn.Pad(v, [1, 0], [0, 0]), 0, 0, 3), 1, keepDims: true), "pad"),
        ["transposed output"] = (v => Fn.Sin(Fn.Transpose(Fn.Slice(v, 1, 0, 1) * Ones(v, 1, 3), 1, 0)), "the output"),
    };

    public static TheoryData<string> CouplingCases => [.. Coupling.Keys];

    [Theory]
    [MemberData(nameof(CouplingCases))]
    public void CouplingFunctionsAreRefused(string which)
    {
        var (f, op) = Coupling[which];
        var x = Randn(1, 3, 2);
        foreach (var s in AllStrategies)
        {
            var e = Assert.Throws<ArgumentException>(() => Pde.Laplacian(f, x, s));
            if (s == Strategy.Collapsed) output.WriteLine(e.Message);
            Assert.Equal("f", e.ParamName);
            Assert.Contains("Laplacian", e.Message);
            Assert.Contains("not per-datum", e.Message);
            Assert.Contains(op, e.Message);
            Assert.Contains("[3, 2]", e.Message);
        }
    }

    [Fact]
    public void TheIssueExampleWasTwelveInsteadOfFour()
    {
        // Per datum, f_n(x_n) = Σ_m |x_m|² has Δ = 4 in D = 2; the coupled batch evaluation summed the second
        // derivatives of all three rows (12). Now it is an error; on one datum (N = 1) it is per-datum and gives 4.
        var (f, _) = Coupling["sum over the batch"];
        Assert.Throws<ArgumentException>(() => Pde.Laplacian(f, Randn(2, 3, 2)));
        Node Single(Node v) => Fn.BroadcastTo(Fn.Sum(v * v, [0, 1], keepDims: true), new Shape(1, 1));
        Assert.Equal(4.0, Pde.Laplacian(Single, Randn(3, 1, 2)).Data[0], 1e-12);
    }

    [Fact]
    public void OtherOperatorsAndValueGradientLaplacianAreChecked()
    {
        var (f, _) = Coupling["matrix across data"];
        var x = Randn(4, 3, 2);
        Assert.Contains("biharmonic", Assert.Throws<ArgumentException>(() => Pde.Biharmonic(f, x)).Message);
        Assert.Contains("Σ c_α", Assert.Throws<ArgumentException>(() => Pde.Linear(f, x, [(1.0, "x")], "xy")).Message);
        Assert.Contains("ValueGradientLaplacian", Assert.Throws<ArgumentException>(() => ValueGradientLaplacian.Evaluate(f, x)).Message);
    }

    /// <summary>Per-datum functions that exercise every structural primitive without coupling rows.</summary>
    public static readonly Dictionary<string, Func<Node, Node>> PerDatumFunctions = new()
    {
        ["[1, H] parameter broadcast"] = v => Fn.Sum(Fn.Tanh(v * v.Graph.Constant(NDArray.FromArray(new double[,] { { 0.5, -2 } }))), 1, keepDims: true),
        ["features transposed and reshaped"] = v => Fn.Reshape(Fn.Sum(Fn.Transpose(Fn.Reshape(Fn.Sin(v), v.Shape[0], 2, 1), 0, 2, 1), [1, 2]), v.Shape[0], 1),
        ["outer product per datum"] = v => Fn.Sum(Fn.MatMul(Fn.Reshape(v, v.Shape[0], 2, 1), Fn.Reshape(Fn.Cos(v), v.Shape[0], 1, 2)), [1, 2]),
        ["x·Wᵀ"] = v => Fn.Sum(Fn.Exp(Fn.MatMul(v, Ones(v, 4, 2), transposeB: true) * 0.1), 1, keepDims: true),
        ["Wᵀ·xᵀ then transposed back"] = v => Fn.Transpose(Fn.MatMul(Ones(v, 2, 1), Fn.Square(v), transposeA: true, transposeB: true), 1, 0),
        ["feature slices, pads and concat"] = v => Fn.Sum(Fn.Concat(1, Fn.Pad(Fn.Slice(v, 1, 0, 1), [0, 1], [0, 1]), Fn.Square(v)), 1, keepDims: true),
        ["mean over features"] = v => Fn.Mean(Fn.Sin(v) * v, 1, keepDims: true),
        ["flattened and restored"] = v => Fn.Sum(Fn.Reshape(Fn.Reshape(Fn.Tanh(v), 2 * v.Shape[0]), v.Shape[0], 2), 1, keepDims: true),
    };

    public static TheoryData<string> PerDatumCases => [.. PerDatumFunctions.Keys];

    [Theory]
    [MemberData(nameof(PerDatumCases))]
    public void PerDatumFunctionsAreAcceptedAndAgreeAcrossStrategies(string which)
    {
        var f = PerDatumFunctions[which];
        var x = Randn(5, 3, 2);
        var reference = Pde.Laplacian(f, x, Strategy.NestedFirstOrder);
        foreach (var s in AllStrategies) Close(reference, Pde.Laplacian(f, x, s), 1e-10);
        // Row by row (N = 1, where coupling is impossible) gives the same values: the function is indeed per-datum.
        for (int n = 0; n < 3; n++)
            Assert.Equal(reference.Data[n], Pde.Laplacian(f, NDArray.FromArray(Row(x, n), new Shape(1, 2))).Data[0], 1e-10);
    }

    [Fact]
    public void MultilayerPerceptronIsAccepted()
    {
        var net = Mlp.Create(3, [8, 8], 1, Activation.Tanh, seed: 2);
        var x = Randn(6, 5, 3);
        foreach (var s in AllStrategies) Assert.Equal(5, Pde.Laplacian(net.Apply, x, s).Shape[0]);
    }
}
