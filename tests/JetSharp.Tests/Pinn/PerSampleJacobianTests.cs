using JetSharp.Nn;
using JetSharp.Nn.Pinn;
using JetSharp.Runtime;
using JetSharp.Transforms;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.Pinn;

/// <summary>
/// The per-sample Jacobian J[n, ·] = ∂(L u_θ)(x_n)/∂θ through the collapsed operator, checked against central
/// finite differences of the residual in θ and against N separate single-sample reverse-mode gradients.
/// </summary>
public class PerSampleJacobianTests
{
    private const int N = 5;

    private static (Graph F, NDArray<double>[] Parameters) Network(int inputs, int[] hidden, bool scaled = false)
    {
        var net = Mlp.Create(inputs, hidden, 1, Activation.Tanh, seed: 3);
        var ps = net.Parameters.Select(p => (NDArray<double>)p).ToList();
        Shape[] shapes = [.. net.ParameterShapes];
        if (scaled)
        {
            // An extra elementwise parameter: u = a ⊙ MLP(x) + c with a [1] and c [1, 1] (the second spans the sample axis with size 1).
            ps.Add(T(1.7));
            ps.Add(NDArray.FromArray([0.3], new Shape(1, 1)));
            shapes = [.. shapes, new Shape(1), new Shape(1, 1)];
        }
        int k = net.ParameterShapes.Length;
        var f = Tracer.Function(xs => scaled ? net.Apply(xs[1..(k + 1)], xs[0]) * xs[k + 1] + xs[k + 2] : net.Apply(xs[1..], xs[0]),
            [new Shape(N, inputs), .. shapes]);
        return (f, [.. ps]);
    }

    /// <summary>J from one graph, then every column by central differences of L f in that parameter.</summary>
    private static void CheckAgainstFiniteDifferences(DifferentialOperator op, Graph f, NDArray<double>[] ps, NDArray<double> x, double tol)
    {
        var jg = PerSampleJacobian.Of(op, f);
        var outs = Run(jg, [x, .. ps]);
        var r = op.Build(f);
        var reference = Run(r, [x, .. ps])[0];
        Close(reference, outs[0], 1e-12);

        var theta = ParameterVector.Flatten<double>(ps);
        var shapes = ps.Select(p => p.Shape).ToArray();
        var j = outs[1];
        Assert.Equal(new Shape(N, theta.Length), j.Shape);
        var exe = new Executable(r);
        double h = 1e-5, worst = 0, scale = 0;
        for (int p = 0; p < theta.Length; p++)
        {
            var plus = (double[])theta.Clone();
            var minus = (double[])theta.Clone();
            plus[p] += h;
            minus[p] -= h;
            var rp = exe.Run([x, .. ParameterVector.Unflatten(plus, shapes)])[0];
            var rm = exe.Run([x, .. ParameterVector.Unflatten(minus, shapes)])[0];
            for (int n = 0; n < N; n++)
            {
                double fd = (rp.Data[n] - rm.Data[n]) / (2 * h);
                worst = Math.Max(worst, Math.Abs(fd - j.Data[n * theta.Length + p]));
                scale = Math.Max(scale, Math.Abs(fd));
            }
        }
        Assert.True(scale > 1e-3, "the Jacobian is trivially small");
        Assert.True(worst <= tol * scale, $"max |J − FD| = {worst:e3} for max |J| = {scale:e3}");
    }

    [Fact]
    public void LaplacianJacobianMatchesFiniteDifferences()
    {
        var (f, ps) = Network(2, [6, 5]);
        CheckAgainstFiniteDifferences(DifferentialOperator.Laplacian(), f, ps, Rand(7, 0, 1, N, 2), 1e-7);
    }

    [Fact]
    public void WeightedLaplacianWithElementwiseParametersMatchesFiniteDifferences()
    {
        var (f, ps) = Network(3, [6], scaled: true);
        var sigma = NDArray.FromArray(new double[,] { { 1.0, 0.2 }, { -0.5, 0.7 }, { 0.1, 0.0 } });
        CheckAgainstFiniteDifferences(DifferentialOperator.WeightedLaplacian(sigma), f, ps, Rand(8, -1, 1, N, 3), 1e-7);
    }

    [Fact]
    public void BiharmonicJacobianMatchesFiniteDifferences()
    {
        var (f, ps) = Network(2, [5]);
        CheckAgainstFiniteDifferences(DifferentialOperator.Biharmonic(), f, ps, Rand(9, 0, 1, N, 2), 1e-6);
    }

    /// <summary>Row n of J equals the reverse-mode gradient of r_n alone (N separate backward passes).</summary>
    [Fact]
    public void RowsEqualSingleSampleGradients()
    {
        var (f, ps) = Network(2, [6, 5]);
        var op = DifferentialOperator.Laplacian();
        var x = Rand(10, 0, 1, N, 2);
        var j = Run(PerSampleJacobian.Of(op, f), [x, .. ps])[1];
        var r = op.Build(f);
        int p = j.Shape[1];
        for (int n = 0; n < N; n++)
        {
            var g = new Graph(DType.Float64);
            var inputs = GraphWalk.MirrorInputs(r, g);
            var rn = Fn.Sum(Fn.Slice(Inline.Apply(r, inputs)[0], 0, n, 1));
            g.SetOutputs(rn);
            var grads = Run(Vjp.Grad(g, [false, .. ps.Select(_ => true)]), [x, .. ps]);
            var row = ParameterVector.Flatten<double>(grads[1..]);
            for (int k = 0; k < p; k++)
                Assert.True(Math.Abs(row[k] - j.Data[n * p + k]) <= 1e-12 * Math.Max(1, Math.Abs(row[k])), $"J[{n}, {k}] = {j.Data[n * p + k]:R}; the gradient of r_{n} gives {row[k]:R}");
        }
    }

    /// <summary>The matrix-free products agree with the dense J.</summary>
    [Fact]
    public void MatrixFreeProductsAgreeWithDenseJacobian()
    {
        var (f, ps) = Network(2, [4, 4]);
        var op = DifferentialOperator.Laplacian();
        var x = Rand(11, 0, 1, N, 2);
        var j = Run(PerSampleJacobian.Of(op, f), [x, .. ps])[1];
        var r = op.Build(f);
        bool[] wrt = [false, .. ps.Select(_ => true)];
        int p = j.Shape[1];
        var v = ps.Select((q, i) => Randn(20 + i, [.. q.Shape.ToArray()])).ToArray();
        var vFlat = ParameterVector.Flatten<double>(v);
        var jv = Run(ResidualJacobian.TimesVector(r, wrt), [x, .. ps, .. v])[1];
        for (int n = 0; n < N; n++)
        {
            double expected = 0;
            for (int k = 0; k < p; k++) expected += j.Data[n * p + k] * vFlat[k];
            Close(expected, jv.Data[n], 1e-12);
        }
        var u = Randn(30, N, 1);
        var jtu = ParameterVector.Flatten<double>(Run(ResidualJacobian.TransposeTimesVector(r, wrt), [x, .. ps, u])[1..]);
        for (int k = 0; k < p; k++)
        {
            double expected = 0;
            for (int n = 0; n < N; n++) expected += j.Data[n * p + k] * u.Data[n];
            Close(expected, jtu[k], 1e-12);
        }
    }

    [Fact]
    public void ParameterWithoutPerSampleFormIsRefusedByName()
    {
        // θ summed on its own before it meets the points: no per-sample form.
        var f = Tracer.Function(xs => xs[0] * Fn.Sum(xs[1]), [new Shape(N, 1), new Shape(3)]);
        var e = Assert.Throws<NotSupportedException>(() => PerSampleParameters.Expand(f, [false, true]));
        Assert.Contains("sum", e.Message);
        // θ as the left operand of a matmul.
        var g = Tracer.Function(xs => Fn.MatMul(xs[1], Fn.Transpose(xs[0], 1, 0)), [new Shape(N, 2), new Shape(1, 2)]);
        Assert.Throws<NotSupportedException>(() => PerSampleParameters.Expand(g, [false, true]));
        Assert.Throws<ArgumentException>(() => PerSampleParameters.Expand(f, [true, false]));
    }

    [Fact]
    public void ExpandedModelEqualsModelAtBroadcastParameters()
    {
        var (f, ps) = Network(2, [4, 3], scaled: true);
        var fx = PerSampleParameters.Expand(f, [false, .. ps.Select(_ => true)]);
        var x = Rand(12, 0, 1, N, 2);
        var expanded = ps.Select(p =>
        {
            var e = new NDArray<double>(new Shape([N, .. p.Shape.ToArray()]));
            for (int n = 0; n < N; n++) p.Data.CopyTo(e.Data, n * p.Size);
            return e;
        }).ToArray();
        Close(Run(f, [x, .. ps])[0], Run(fx, [x, .. expanded])[0], 1e-14);
    }

    /// <summary>
    /// The shape of the work in the poisson2d Jacobian graph (two terms, 2→32→32→1): the products with the weights run
    /// on the shared [k, n] matrices (no per-sample copy of a weight is ever formed), each term writes the per-sample
    /// block of W₂ with one batched product (its value, first- and second-order contributions folded into one
    /// contraction), and the terms' blocks are joined without padding to all rows.
    /// </summary>
    [Fact]
    public void JacobianGraphFormsEachWeightBlockOnceAndNeverCopiesTheWeights()
    {
        var (problem, _) = JetSharp.Benchmarks.JacobianBenchmark.Poisson2d();
        var g = problem.JacobianGraph;
        var nodes = GraphWalk.Reachable(g);
        Shape[] weights = [new(2, 32), new(32, 32), new(32, 1)];
        Assert.DoesNotContain(nodes, n => n.Op is BroadcastToOp && n.Rank == 3 && weights.Contains(new Shape(n.Shape[1], n.Shape[2])));
        Assert.DoesNotContain(nodes, n => n.Op is PadOp && n.Rank == 3);
        var w2Blocks = nodes.Where(n => n.Op is MatMulOp && n.Rank == 3 && n.Shape[1] == 32 && n.Shape[2] == 32).Select(n => n.Shape[0]).Order();
        Assert.Equal([64, 256], w2Blocks);
        Assert.Equal(2, nodes.Count(n => n.Op is ConcatOp && n.Shape == new Shape(320, 32, 32) || n.Op is ConcatOp && n.Shape == new Shape(problem.ResidualCount, problem.ParameterCount)));
    }
}
