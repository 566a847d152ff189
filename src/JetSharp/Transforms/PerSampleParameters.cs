using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Transforms;

/// <summary>
/// Gives every sample its own copy of selected parameters, so that one reverse pass yields per-sample
/// gradients. For a per-datum function f(x, θ) (x [N, …], row n of the output depends on row n of x
/// only), <see cref="Expand"/> builds f̃(x, Θ) with Θ of shape [N, …shape of θ], where row n of the
/// output uses Θ[n] only; f̃(x, broadcast θ) = f(x, θ). Then for any per-datum r built from f̃ (a
/// differential operator applied to it, a PDE residual), ∂(Σ_n r_n)/∂Θ[n] = ∂r_n/∂θ: the rows of the
/// per-sample Jacobian, from one VJP (see <see cref="ResidualJacobian.Dense"/>).
/// <para>How the graph is rewritten. Nodes that depend on x keep their shape (axis 0 is the sample axis);
/// nodes that depend on the expanded parameters but not on x get a leading sample axis. Only consumers of
/// parameter-dependent values change: an elementwise primitive gets Θ reshaped so that it broadcasts
/// along the sample axis (a bias b [K] added to h [N, K] reads Θ_b [N, K]); a matmul h·W with h [N, …, k]
/// and the parameter W [k, n] becomes the batched product of row n of h with Θ_W[n] — the same number of
/// multiply-adds, as N small products instead of one GEMM. Any other consumer of a parameter-dependent
/// value is refused with <see cref="NotSupportedException"/> naming it. Nodes that depend on neither are
/// copied unchanged.</para>
/// </summary>
public static class PerSampleParameters
{
    private enum Kind { Constant, Aligned, Expanded }

    /// <summary>
    /// f̃: the inputs of <paramref name="f"/>, with each input i where <paramref name="expand"/>[i] is set
    /// replaced by an input of shape [N, …shape of input i] (N = size of axis 0 of input 0, the points).
    /// Input 0 cannot be expanded. Outputs as f's.
    /// </summary>
    /// <exception cref="ShapeException">Input 0 has rank 0, or a rewritten node does not have the expected shape.</exception>
    /// <exception cref="NotSupportedException">A parameter reaches a primitive with no per-sample form.</exception>
    public static Graph Expand(Graph f, bool[] expand)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(expand);
        if (expand.Length != f.Inputs.Count)
            throw new ArgumentException($"per-sample parameters: {expand.Length} flags for a function of {f.Inputs.Count} input(s).", nameof(expand));
        if (f.Inputs.Count == 0 || f.Inputs[0].Rank == 0)
            throw new ShapeException($"per-sample parameters: input 0 must be the points [N, …], got {(f.Inputs.Count == 0 ? "no inputs" : f.Inputs[0].Shape.ToString())}.");
        if (expand[0]) throw new ArgumentException("per-sample parameters: input 0 (the points) cannot be expanded.", nameof(expand));
        int n = f.Inputs[0].Shape[0];

        var g = new Graph(f.DType);
        var image = new Dictionary<Node, Node>();
        var kind = new Dictionary<Node, Kind>();
        for (int i = 0; i < f.Inputs.Count; i++)
        {
            var input = f.Inputs[i];
            string name = GraphWalk.InputName(input);
            image[input] = expand[i] ? g.Input(new Shape([n, .. input.Shape]), name) : g.Input(input.Shape, name);
            kind[input] = i == 0 ? Kind.Aligned : expand[i] ? Kind.Expanded : Kind.Constant;
        }

        GraphWalk.ForEachNode(f, g, node =>
        {
            var ins = node.InputArray;
            var kinds = ins.Select(x => kind[x]).ToArray();
            bool aligned = kinds.Contains(Kind.Aligned);
            if (!kinds.Contains(Kind.Expanded))
            {
                image[node] = g.Apply(node.Op, [.. ins.Select(x => image[x])]);
                kind[node] = aligned ? Kind.Aligned : Kind.Constant;
                return;
            }
            var result = node.Op is MatMulOp mm ? MatMul(node, mm, kinds, image, n)
                : node.Op.IsElementwise ? Elementwise(node, kinds, image, aligned, n)
                : throw Unsupported(node, "it is neither elementwise nor a matmul with the parameter as right operand");
            var expected = aligned ? node.Shape : new Shape([n, .. node.Shape]);
            if (result.Shape != expected)
                throw new ShapeException($"per-sample parameters: rewriting {Describe(node)} gave shape {result.Shape}; expected {expected}.");
            image[node] = result;
            kind[node] = aligned ? Kind.Aligned : Kind.Expanded;
        });

        g.SetOutputs([.. f.Outputs.Select(o => kind[o] == Kind.Expanded
            ? throw new NotSupportedException($"per-sample parameters: output {Describe(o)} depends on the parameters but not on the points.")
            : image[o])]);
        return g;
    }

    /// <summary>An elementwise primitive: each expanded operand is reshaped so that its sample axis lines up with axis 0 of the result.</summary>
    private static Node Elementwise(Node node, Kind[] kinds, Dictionary<Node, Node> image, bool aligned, int n)
    {
        var ins = node.InputArray;
        var args = new Node[ins.Length];
        // Rank of the rewritten result: the node's rank when it is aligned with the points, one more when it gains the sample axis.
        int rank = aligned ? node.Rank : node.Rank + 1;
        for (int i = 0; i < ins.Length; i++)
        {
            var x = image[ins[i]];
            if (kinds[i] != Kind.Expanded) { args[i] = x; continue; }
            var s = ins[i].Shape.ToArray();
            if (aligned && s.Length == node.Rank)
            {
                // θ spans the sample axis of the result: it must broadcast along it (size 1 there).
                if (s[0] != 1)
                    throw Unsupported(node, $"parameter-dependent operand {i} has shape {ins[i].Shape}, which does not broadcast along the sample axis of {node.Shape}");
                s = s[1..];
            }
            if (s.Length > rank - 1)
                throw Unsupported(node, $"parameter-dependent operand {i} has shape {ins[i].Shape}, of higher rank than the result {node.Shape}");
            args[i] = Fn.Reshape(x, [n, .. Enumerable.Repeat(1, rank - 1 - s.Length), .. s]);
        }
        return args[0].Graph.Apply(node.Op, args);
    }

    /// <summary>h·W with W parameter-dependent: row n of h times Θ_W[n].</summary>
    private static Node MatMul(Node node, MatMulOp op, Kind[] kinds, Dictionary<Node, Node> image, int n)
    {
        Node a = node.InputArray[0], b = node.InputArray[1];
        if (kinds[0] == Kind.Expanded)
            throw Unsupported(node, "the parameter-dependent value is its left operand (only h·W with W parameter-dependent has a per-sample form)");
        if (b.Rank != 2)
            throw Unsupported(node, $"the parameter-dependent right operand has shape {b.Shape}; a matrix [k, n] is needed");
        var w = image[b];                                                   // [N, k, n]
        var h = image[a];
        if (kinds[0] == Kind.Constant)
        {
            if (a.Rank != 2) throw Unsupported(node, $"its left operand {a.Shape} has batch axes and does not depend on the points");
            return Fn.MatMul(h, w, op.TransposeA, op.TransposeB);           // [m, k]·[N, k, n] → [N, m, n]
        }
        if (op.TransposeA)
            throw Unsupported(node, "its left operand is transposed, so its rows are not the samples");
        if (a.Rank == 2)
        {
            // [N, k] → [N, 1, k]: one row-vector product per sample.
            var rows = Fn.MatMul(Fn.Reshape(h, a.Shape[0], 1, a.Shape[1]), w, false, op.TransposeB);
            return Fn.Reshape(rows, node.Shape.ToArray());
        }
        // h [N, …, m, k]: Θ_W [N, 1…, k, n] broadcasts over the middle batch axes.
        var wb = Fn.Reshape(w, [n, .. Enumerable.Repeat(1, a.Rank - 3), .. b.Shape.ToArray()]);
        return Fn.MatMul(h, wb, false, op.TransposeB);
    }

    private static string Describe(Node node) => $"'{node.Op}' (%{node.Id} : {node.Shape}{(node.Origin is null ? "" : $", from {node.Origin}")})";

    private static NotSupportedException Unsupported(Node node, string why) =>
        new($"per-sample parameters: {Describe(node)} consumes a parameter-dependent value, but {why}. Parameters must enter through elementwise primitives or as the right operand W of a matmul h·W.");
}
