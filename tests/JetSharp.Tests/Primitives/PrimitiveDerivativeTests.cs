using JetSharp.Transforms;
using static JetSharp.Tests.Numeric;

namespace JetSharp.Tests;

/// <summary>Where a primitive's inputs are sampled: its smooth domain, away from kinks and singularities.</summary>
public enum Domain { Any, Positive, AwayFromZero }

/// <summary>One primitive applied to inputs of given shapes, with a hand-written reference for its value.</summary>
public sealed record PrimitiveCase(string Name, Func<Node[], Node> F, Shape[] Shapes, Domain[] Domains, Func<NDArray<double>[], NDArray<double>> Reference)
{
    public override string ToString() => Name;
}

/// <summary>
/// First derivatives of every primitive, each against references that do not use its rules:
/// the forward value against a naive loop implementation; the JVP against Richardson-extrapolated
/// central differences; the VJP through the adjoint identity Σ_i⟨vjp_i(u), v_i⟩ = ⟨u, J v⟩ with J v
/// from differences; JVPs with a direction prefix against single-direction JVPs; and the order-2 jet
/// against a second difference along the path x + t·v + t²/2·w.
/// </summary>
public class PrimitiveDerivativeTests
{
    private const double Tol = 1e-6;

    private static readonly Shape S34 = new(3, 4);

    public static readonly Dictionary<string, PrimitiveCase> Cases = BuildCases().ToDictionary(c => c.Name);

    public static TheoryData<string> Names => [.. Cases.Keys];

    /// <summary>Cases with more than one input (for tangents on a single input).</summary>
    public static TheoryData<string> MultiInputNames => [.. Cases.Values.Where(c => c.Shapes.Length > 1).Select(c => c.Name)];

    /// <summary>Cases whose second derivatives exist (relu's do not: it is refused at order ≥ 2, see BadInputTests).</summary>
    public static TheoryData<string> SmoothNames => [.. Cases.Values.Where(c => !c.Name.StartsWith("relu")).Select(c => c.Name)];

    private static IEnumerable<PrimitiveCase> BuildCases()
    {
        // Binary elementwise ops, including NumPy broadcasting and rank-0 operands.
        (Shape, Shape)[] binaryShapes =
        [
            (S34, S34), (S34, new(4)), (new(4), S34), (new(2, 1, 4), new(3, 1)), (new(1, 4), new(3, 1)), (S34, Shape.Scalar), (Shape.Scalar, S34), (Shape.Scalar, Shape.Scalar),
        ];
        var binaries = new (string Name, Func<Node, Node, Node> F, Func<double, double, double> R, Domain B)[]
        {
            ("add", (a, b) => a + b, (a, b) => a + b, Domain.Any),
            ("sub", (a, b) => a - b, (a, b) => a - b, Domain.Any),
            ("mul", (a, b) => a * b, (a, b) => a * b, Domain.Any),
            ("div", (a, b) => a / b, (a, b) => a / b, Domain.Positive),
        };
        foreach (var op in binaries)
            foreach (var (sa, sb) in binaryShapes)
                yield return new($"{op.Name} {sa}⊕{sb}", xs => op.F(xs[0], xs[1]), [sa, sb], [Domain.Any, op.B],
                    xs => Naive.Zip(xs[0], xs[1], op.R));

        // Unary elementwise functions.
        var unaries = new (string Name, Func<Node, Node> F, Func<double, double> R, Domain D)[]
        {
            ("neg", Fn.Neg, x => -x, Domain.Any),
            ("exp", Fn.Exp, Math.Exp, Domain.Any),
            ("log", Fn.Log, Math.Log, Domain.Positive),
            ("sin", Fn.Sin, Math.Sin, Domain.Any),
            ("cos", Fn.Cos, Math.Cos, Domain.Any),
            ("tanh", Fn.Tanh, Math.Tanh, Domain.Any),
            ("sigmoid", Fn.Sigmoid, x => 1 / (1 + Math.Exp(-x)), Domain.Any),
            ("softplus", Fn.Softplus, x => Math.Log(1 + Math.Exp(x)), Domain.Any),
            ("sqrt", Fn.Sqrt, Math.Sqrt, Domain.Positive),
            ("relu", Fn.Relu, x => Math.Max(x, 0), Domain.AwayFromZero),
            ("step", Fn.Step, x => x > 0 ? 1 : 0, Domain.AwayFromZero),
        };
        foreach (var op in unaries)
            yield return new(op.Name, xs => op.F(xs[0]), [new(2, 3)], [op.D], xs => Naive.Map(xs[0], op.R));
        foreach (var p in new[] { -2, -1, 0, 0.5, 1.5, 3 })
            yield return new($"pow {p}", xs => Fn.Pow(xs[0], p), [new(2, 3)], [Domain.Positive], xs => Naive.Map(xs[0], x => Math.Pow(x, p)));

        // Matrix products: plain, batched, per-batch, broadcast batch, and every transpose flag combination.
        (Shape A, Shape B)[] layouts =
        [
            (new(3, 4), new(4, 5)), (new(2, 3, 4), new(4, 5)), (new(2, 3, 4), new(2, 4, 5)), (new(2, 1, 3, 4), new(3, 4, 5)), (new(3, 4), new(2, 4, 5)),
            (new(1, 3, 4), new(2, 4, 5)), (new(2, 2, 3, 4), new(4, 5)),
        ];
        foreach (var (a, b) in layouts)
            foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
            {
                Shape sa = ta ? SwapLast(a) : a, sb = tb ? SwapLast(b) : b;
                yield return new($"matmul {sa}{(ta ? "ᵀ" : "")}@{sb}{(tb ? "ᵀ" : "")}", xs => Fn.MatMul(xs[0], xs[1], ta, tb), [sa, sb], [Domain.Any, Domain.Any],
                    xs => Naive.MatMul(xs[0], xs[1], ta, tb));
            }

        // Reductions.
        var s234 = new Shape(2, 3, 4);
        foreach (var (axes, keep) in new (int[]?, bool)[] { (null, false), (null, true), ([0], false), ([1], true), ([0, 2], false), ([0, 2], true), ([-1], false), ([2, 1], true) })
            yield return new($"sum {(axes is null ? "all" : string.Join(",", axes))}{(keep ? " keep" : "")}",
                xs => Fn.Sum(xs[0], axes, keep), [s234], [Domain.Any], xs => Naive.Sum(xs[0], axes, keep));
        yield return new("mean all", xs => Fn.Mean(xs[0]), [s234], [Domain.Any], xs => Naive.Map(Naive.Sum(xs[0], null, false), v => v / 24));
        yield return new("mean 1 keep", xs => Fn.Mean(xs[0], 1, keepDims: true), [s234], [Domain.Any], xs => Naive.Map(Naive.Sum(xs[0], [1], true), v => v / 3));

        // Shape manipulation.
        yield return new("reshape [6,4]", xs => Fn.Reshape(xs[0], 6, 4), [s234], [Domain.Any], xs => Naive.Reshape(xs[0], new(6, 4)));
        yield return new("reshape [4,-1]", xs => Fn.Reshape(xs[0], 4, -1), [s234], [Domain.Any], xs => Naive.Reshape(xs[0], new(4, 6)));
        yield return new("reshape to scalar", xs => Fn.Reshape(xs[0]), [new(1, 1)], [Domain.Any], xs => Naive.Reshape(xs[0], Shape.Scalar));
        yield return new("transpose [2,0,1]", xs => Fn.Transpose(xs[0], 2, 0, 1), [s234], [Domain.Any], xs => Naive.Transpose(xs[0], [2, 0, 1]));
        yield return new("transpose reversed", xs => Fn.Transpose(xs[0]), [s234], [Domain.Any], xs => Naive.Transpose(xs[0], [2, 1, 0]));
        foreach (var (from, to) in new (Shape, Shape)[] { (new(3, 1), s234), (new(4), S34), (Shape.Scalar, new(2, 3)), (new(2, 1, 4), s234) })
            yield return new($"broadcast {from}→{to}", xs => Fn.BroadcastTo(xs[0], to), [from], [Domain.Any], xs => Naive.BroadcastTo(xs[0], to));
        yield return new("slice block", xs => Fn.Slice(xs[0], [1, 2], [2, 3]), [new(4, 5)], [Domain.Any], xs => Naive.Slice(xs[0], [1, 2], [2, 3]));
        yield return new("slice axis", xs => Fn.Slice(xs[0], -1, 1, 2), [s234], [Domain.Any], xs => Naive.Slice(xs[0], [0, 0, 1], [2, 3, 2]));
        yield return new("pad", xs => Fn.Pad(xs[0], [1, 0], [2, 3]), [S34], [Domain.Any], xs => Naive.Pad(xs[0], [1, 0], [2, 3]));
        yield return new("concat axis 0", xs => Fn.Concat(0, xs[0], xs[1]), [new(2, 3), new(4, 3)], [Domain.Any, Domain.Any], xs => Naive.Concat(0, xs[0], xs[1]));
        yield return new("concat axis -1 of 3", xs => Fn.Concat(-1, xs), [new(2, 3), new(2, 1), new(2, 2)], [Domain.Any, Domain.Any, Domain.Any], xs => Naive.Concat(1, xs));
    }

    private static Shape SwapLast(Shape s)
    {
        var d = s.ToArray();
        (d[^1], d[^2]) = (d[^2], d[^1]);
        return new Shape(d);
    }

    // ---- sampling -------------------------------------------------------------------------------

    private static NDArray<double> Sample(Shape s, Domain d, long seed) => d switch
    {
        // Positive inputs stay well inside the domain of log, sqrt, negative powers and divisors.
        Domain.Positive => NDArray.RandomUniform<double>(s, seed, 0.7, 2.0),
        // |x| ≥ 0.3, so that no difference step crosses relu's or step's kink at 0.
        Domain.AwayFromZero => Naive.Map(NDArray.RandomUniform<double>(s, seed, -1, 1), u => Math.Sign(u) * (0.3 + Math.Abs(u))),
        _ => NDArray.RandomNormal<double>(s, seed),
    };

    internal static NDArray<double>[] Points(PrimitiveCase c, long seed) =>
        [.. c.Shapes.Select((s, i) => Sample(s, c.Domains[i], seed * 31 + i))];

    /// <summary>Directions of magnitude ≤ ~1 (normal / 2) so difference steps stay inside the sampled domains.</summary>
    private static NDArray<double> Direction(Shape s, long seed) => Scale(NDArray.RandomNormal<double>(s, seed), 0.5);

    private static NDArray<double>[] Directions(PrimitiveCase c, long seed) => [.. c.Shapes.Select((s, i) => Direction(s, seed * 37 + i))];

    private static Graph Traced(PrimitiveCase c) => Tracer.Function(c.F, c.Shapes);

    // ---- tests ----------------------------------------------------------------------------------

    [Theory, MemberData(nameof(Names))]
    public void ForwardValueMatchesNaiveReference(string name)
    {
        var c = Cases[name];
        var xs = Points(c, 1);
        var actual = Run(Traced(c), xs)[0];
        AssertClose(c.Reference(xs), actual, 1e-14, $"{name} value");
    }

    [Theory, MemberData(nameof(Names))]
    public void JvpMatchesCentralDifferences(string name)
    {
        var c = Cases[name];
        var g = Traced(c);
        var xs = Points(c, 2);
        var vs = Directions(c, 2);
        var outs = Run(Jvp.Transform(g), [.. xs, .. vs]);
        AssertClose(Run(g, xs)[0], outs[0], 1e-15, $"{name} primal output of the JVP graph");
        AssertClose(Directional(g, xs, vs), outs[1], Tol, $"{name} JVP");
    }

    [Theory, MemberData(nameof(Names))]
    public void VjpSatisfiesTheAdjointIdentity(string name)
    {
        var c = Cases[name];
        var g = Traced(c);
        var xs = Points(c, 3);
        var vs = Directions(c, 3);
        var u = NDArray.RandomNormal<double>(g.Outputs[0].Shape, 303);

        var h = new Graph(DType.Float64);
        var inputs = g.Inputs.Select(i => h.Input(i.Shape)).ToArray();
        var ct = h.Input(g.Outputs[0].Shape, "u");
        var (_, cts) = Vjp.Apply(g, inputs, [ct]);
        h.SetOutputs([.. cts.Select((x, i) => x ?? Fn.Zeros(h, inputs[i].Shape))]);
        var vjps = Run(h, [.. xs, u]);

        for (int i = 0; i < xs.Length; i++)
            Assert.Equal(xs[i].Shape, vjps[i].Shape);
        double lhs = vjps.Select((w, i) => Dot(w, vs[i])).Sum();
        var jv = Directional(g, xs, vs);
        double rhs = Dot(u, jv);
        // Judge against the size of the terms of ⟨u, Jv⟩, not its possibly cancelling sum.
        AssertClose(rhs, lhs, Tol, $"{name}: Σ⟨vjp_i, v_i⟩ vs ⟨u, Jv⟩", scale: AbsDot(u, jv));
    }

    [Theory, MemberData(nameof(Names))]
    public void JvpWithDirectionPrefixEqualsSingleJvps(string name)
    {
        // Prefix [3] (R tangents) and [2, 2] (two direction axes), against one JVP per direction.
        var c = Cases[name];
        var g = Traced(c);
        var xs = Points(c, 4);
        var single = Jvp.Transform(g);
        foreach (var prefix in new[] { new Shape(3), new Shape(2, 2) })
        {
            int count = prefix.Size;
            var vs = Enumerable.Range(0, count).Select(r => Directions(c, 40 + r)).ToArray();
            var stacked = c.Shapes.Select((s, i) => new NDArray<double>(new Shape([.. prefix, .. s]), [.. vs.SelectMany(v => v[i].Data)]));
            var batched = Run(Jvp.Transform(g, prefix), [.. xs, .. stacked])[1];
            Assert.Equal(new Shape([.. prefix, .. g.Outputs[0].Shape]), batched.Shape);
            var flat = new NDArray<double>(g.Outputs[0].Shape.Prepend(count), batched.Data);
            for (int r = 0; r < count; r++)
                AssertClose(Run(single, [.. xs, .. vs[r]])[1], Row(flat, r), 1e-13, $"{name}: direction {r} of prefix {prefix}");
        }
    }

    [Theory, MemberData(nameof(MultiInputNames))]
    public void JvpWithTangentOnOneInputOnly(string name)
    {
        // The other inputs get a null (structurally zero) tangent, and the tangent carries a prefix [2]:
        // this exercises the rules' one-sided paths (e.g. −q for sub, a/b's b-only term, lifting under broadcasting).
        var c = Cases[name];
        var g = Traced(c);
        var xs = Points(c, 5);
        for (int i = 0; i < xs.Length; i++)
        {
            var v = Enumerable.Range(0, 2).Select(r => Direction(c.Shapes[i], 50 + 2 * i + r)).ToArray();
            var h = new Graph(DType.Float64);
            var primals = g.Inputs.Select(p => h.Input(p.Shape)).ToArray();
            var tangent = h.Input(c.Shapes[i].Prepend(2), "v");
            var tangents = new Node?[xs.Length];
            tangents[i] = tangent;
            var (_, outT) = Jvp.Apply(g, primals, tangents, new Shape(2));
            h.SetOutputs(outT[0] ?? Fn.Zeros(h, g.Outputs[0].Shape.Prepend(2)));
            var jv = Run(h, [.. xs, Stack(v)])[0];
            for (int r = 0; r < 2; r++)
            {
                var dirs = c.Shapes.Select((s, j) => j == i ? v[r] : new NDArray<double>(s)).ToArray();
                AssertClose(Directional(g, xs, dirs), Row(jv, r), Tol, $"{name}: tangent on input {i} only, direction {r}");
            }
        }
    }

    [Theory, MemberData(nameof(SmoothNames))]
    public void SecondOrderJetMatchesSecondDifferenceAlongThePath(string name)
    {
        // y₂ = ⟨∂²f, v⊗v⟩ + ⟨∂f, w⟩ for x(t) = x + t·v + t²/2·w, with both coefficients present.
        var c = Cases[name];
        var g = Traced(c);
        var xs = Points(c, 6);
        var vs = Directions(c, 6);
        var ws = Directions(c, 7);
        var jet = Run(Jet.Transform(g, 2), [.. xs, .. xs.Select((_, i) => new[] { vs[i], ws[i] }).SelectMany(p => p)]);
        AssertClose(Directional(g, xs, vs), jet[1], Tol, $"{name}: y₁");
        AssertClose(SecondAlongPath(g, xs, vs, ws), jet[2], Tol, $"{name}: y₂");
    }
}
