using JetSharp.Nn;
using JetSharp.Simplify;
using JetSharp.Transforms;
using static JetSharp.Tests.SimplifyTestUtil;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>
/// Simplification never changes a result. For a wide set of functions f(x, p) (x [N, D], p a second
/// tensor input), the K-jet (K = 1..4) along R directions is taken with <see cref="Jet.Apply"/> and
/// reduced in several ways — the direction sum that collapsing targets, sums over other axes, means —
/// and the graph simplified with the standard rules must give the unsimplified graph's outputs.
/// </summary>
public class SimplifyEquivalenceTests
{
    private const int N = 5, D = 3, R = 4;

    private sealed record Function(Shape PShape, Func<Node, Node, Node> Body);

    private static Node Const(Node like, long seed, params int[] shape) => like.Graph.Constant(Randn(seed, shape));

    private static readonly Dictionary<string, Function> Functions = new()
    {
        // MLPs with each smooth activation; p is a bias added to the input (broadcast [D] → [N, D]).
        ["mlp tanh"] = new(new Shape(D), (x, p) => Mlp.Create(D, [4, 4], 2, Activation.Tanh, seed: 3).Apply(x + p)),
        ["mlp sigmoid"] = new(new Shape(D), (x, p) => Mlp.Create(D, [4, 4], 2, Activation.Sigmoid, seed: 4).Apply(x + p)),
        ["mlp sin"] = new(new Shape(D), (x, p) => Mlp.Create(D, [4, 4], 2, Activation.Sin, seed: 5).Apply(x + p)),
        ["mlp softplus"] = new(new Shape(D), (x, p) => Mlp.Create(D, [4, 4], 2, Activation.Softplus, seed: 6).Apply(x + p)),
        // An MLP of both inputs at once (concatenated features).
        ["mlp of (x, p)"] = new(new Shape(N, D), (x, p) => Mlp.Create(2 * D, [4, 3], 1, Activation.Tanh, seed: 7).Apply(Fn.Concat(1, x, p))),
        // Products and quotients of functions; p [N, 1] scales every feature of a datum.
        ["product"] = new(new Shape(N, 1), (x, p) => Fn.Tanh(x) * Fn.Sin(x * p)),
        ["quotient"] = new(new Shape(D), (x, p) => Fn.Sin(x + p) / (Fn.Exp(x * 0.3) + 1.0)),
        ["quotient of both inputs"] = new(new Shape(N, D), (x, p) => x * p / (x * x + 1.0)),
        // Compositions.
        ["sin∘tanh"] = new(new Shape(4), (x, p) => Fn.Sin(Fn.Tanh(Fn.MatMul(x, Const(x, 11, D, 4)) + p))),
        ["exp of a sum"] = new(new Shape(N, D), (x, p) => Fn.Exp(Fn.Sum(x * p, -1, keepDims: true) * 0.5)),
        ["log, sqrt, pow"] = new(new Shape(D), (x, p) => Fn.Log(x * x + 1.0) + Fn.Sqrt(Fn.Sin(x) + 2.0) * p + Fn.Pow(x, 3)),
        // Shape operations between nonlinearities, and a matrix product that mixes data rows.
        ["shape ops"] = new(new Shape(N, D), (x, p) =>
        {
            var y = Fn.Tanh(x);
            var z = Fn.Concat(1, Fn.Slice(y, 1, 1, D - 1), Fn.Pad(Fn.Sum(y * p, -1, keepDims: true), [0, 0], [0, 1]));   // [N, D + 1]
            var t = Fn.Reshape(Fn.Transpose(z), N, D + 1);
            return Fn.Sigmoid(Fn.MatMul(t, Const(x, 12, D + 1, 2)));
        }),
        ["data-mixing matmul"] = new(new Shape(N, 1), (x, p) => Fn.MatMul(Const(x, 13, N, N), Fn.Tanh(x) * p) + Fn.Sin(x)),
        ["scaled bias"] = new(new Shape(N, 1), (x, p) => Fn.Softplus(x * p + Const(x, 14, 1, D)) * Const(x, 15, D)),
    };

    /// <summary>collapse: x₁ = v only (the operator case); general: every coefficient of x and x₁ of p are inputs; prefix2: directions [2, R].</summary>
    private static readonly string[] Variants = ["collapse", "general", "prefix2"];

    public static TheoryData<string, int, string> Cases()
    {
        var data = new TheoryData<string, int, string>();
        foreach (var f in Functions.Keys)
            for (int k = 1; k <= 4; k++)
                foreach (var v in Variants)
                    data.Add(f, k, v);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SimplifiedJetReductionsEqualTheUnsimplifiedOnes(string function, int order, string variant)
    {
        var f = Functions[function];
        var fg = Tracer.Function(xs => f.Body(xs[0], xs[1]), [new Shape(N, D), f.PShape]);

        var g = new Graph(DType.Float64);
        var x = g.Input(new Shape(N, D), "x");
        var p = g.Input(f.PShape, "p");
        var prefix = variant == "prefix2" ? new Shape(2, R) : new Shape(R);
        int[] directionAxes = [.. Enumerable.Range(0, prefix.Rank)];
        var xc = new Node?[order];
        var pc = new Node?[order];
        xc[0] = g.Input(new Shape([.. prefix, N, D]), "v");
        if (variant == "general")
        {
            for (int k = 1; k < order; k++) xc[k] = g.Input(new Shape([.. prefix, N, D]), $"x{k + 1}");
            pc[0] = g.Input(new Shape([.. prefix, .. f.PShape]), "p1");
        }
        var y = Jet.Apply(fg, [x, p], [xc, pc], order, prefix)[0];
        var top = y[order] ?? throw new InvalidOperationException($"{function}: y_{order} is structurally zero");
        int last = top.Rank - 1;

        var outputs = new List<Node>
        {
            Fn.Sum(top, directionAxes),                          // what collapsing rewrites
            Fn.Sum(top, directionAxes, keepDims: true),
            Fn.Sum(top, [.. directionAxes, last]),               // directions and features
            Fn.Sum(top, prefix.Rank),                            // the data axis only: nothing to collapse
            Fn.Mean(top, directionAxes),
            Fn.Mean(top),
            y[0]!,
        };
        for (int k = 1; k < order; k++)
            if (y[k] is { } yk) outputs.Add(Fn.Sum(yk, directionAxes));
        g.SetOutputs([.. outputs]);

        var simplifier = Simplifier.Standard();
        var simplified = simplifier.Run(g);
        SameOutputs(g, simplified, InputsFor(g, seed: order * 10 + Array.IndexOf(Variants, variant)));

        // Guard against a vacuous pass: the direction sums were actually pulled into the graph.
        Assert.Contains(simplifier.Log, r => r.Rule.StartsWith("PullSumThrough", StringComparison.Ordinal));
        // And the result is a fixed point: simplifying it again changes nothing.
        var again = Simplifier.Standard();
        again.Run(simplified);
        Assert.True(again.Log.Count == 0, $"not a fixed point: {string.Join("; ", again.Log.Take(5).Select(r => $"{r.Rule} at {r.Site}"))}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void JetTransformGraphsSummedOverDirectionsAreUnchanged(int order)
    {
        // The same check on Jet.Transform's own graph (every coefficient an input, zeros materialised),
        // extended by a direction sum of each output coefficient.
        var net = Mlp.Create(D, [4, 4], 1, Activation.Tanh, seed: 8);
        var jg = Jet.Transform(Tracer.Function(net.Apply, new Shape(N, D)), order, new Shape(R));
        var outs = jg.Outputs.Select((o, k) => k == 0 ? o : Fn.Sum(o, 0)).ToArray();
        jg.SetOutputs(outs);
        var simplifier = Simplifier.Standard();
        var simplified = simplifier.Run(jg);
        SameOutputs(jg, simplified, InputsFor(jg, seed: order));
        Assert.Contains(simplifier.Log, r => r.Rule == nameof(Simplify.Rules.PullSumThroughMatMul));
    }
}
