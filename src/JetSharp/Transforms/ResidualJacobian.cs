using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;

namespace JetSharp.Transforms;

/// <summary>
/// The Jacobian J ∈ ℝ^{M×P} of a residual vector r ∈ ℝᴹ (one row per sample: a PDE residual at a
/// collocation point, a boundary mismatch) with respect to parameters θ ∈ ℝᴾ, as graphs: dense
/// (<see cref="Dense"/>), and matrix-free J·v (<see cref="TimesVector"/>) and Jᵀ·u (<see cref="TransposeTimesVector"/>).
/// Columns follow the parameters in input order, each parameter's elements row-major (the flat
/// parameter vector's order).
/// <para><b>Cost model.</b> With C the cost of evaluating r: forward mode over parameter directions costs
/// ≈ P·C and N separate backward passes ≈ M·3C — both hundreds of times a gradient for a PINN
/// (P ≈ 10³, M ≈ 10²–10³). <see cref="Dense"/> instead differentiates the residual of the per-sample
/// expanded model (<see cref="PerSampleParameters"/>) once by reverse mode: the sample axis is kept where the
/// cotangent reaches a weight, so J comes from one backward pass of ≈ 2–3C plus M·P writes. The price is that
/// the products h·W with a weight run as M small per-sample products instead of one GEMM (same
/// multiply-adds, lower throughput) and that the residual is evaluated once more alongside J. J·v is one
/// forward-mode pass (≈ 2–3C), Jᵀ·u one reverse pass (≈ 3C).</para>
/// </summary>
public static class ResidualJacobian
{
    /// <summary>
    /// From a residual graph <paramref name="expanded"/> whose inputs include per-sample parameter copies
    /// Θ_j [M, …S_j] (where <paramref name="perSample"/>[j] is set) and whose one output r ([M] or [M, 1])
    /// has row m depending on row m of every Θ_j only, the graph with the same inputs except each Θ_j
    /// replaced by θ_j [S_j], and outputs (r, J [M, P]), P = Σ_j |S_j|: J[m, ·] = ∂r_m/∂θ, read off the
    /// one VJP of Σ_m r_m with respect to Θ (evaluated at Θ_j = θ_j broadcast to every row).
    /// </summary>
    public static Graph Dense(Graph expanded, bool[] perSample)
    {
        ArgumentNullException.ThrowIfNull(expanded);
        var r = CheckResidual(expanded, "ResidualJacobian.Dense");
        if (perSample.Length != expanded.Inputs.Count)
            throw new ArgumentException($"ResidualJacobian.Dense: {perSample.Length} flags for a graph of {expanded.Inputs.Count} input(s).", nameof(perSample));
        int m = r.Shape[0];
        var g = new Graph(expanded.DType);
        var primals = new Node[expanded.Inputs.Count];
        var parameters = new List<Node>();
        for (int i = 0; i < primals.Length; i++)
        {
            var input = expanded.Inputs[i];
            string name = GraphWalk.InputName(input);
            if (!perSample[i]) { primals[i] = g.Input(input.Shape, name); continue; }
            if (input.Rank == 0 || input.Shape[0] != m)
                throw new ShapeException($"ResidualJacobian.Dense: per-sample input {i} ('{name}') has shape {input.Shape}; its axis 0 must be the {m} rows of the residual.");
            var s = input.Shape.ToArray()[1..];
            var theta = g.Input(new Shape(s), name);
            parameters.Add(theta);
            primals[i] = Fn.BroadcastTo(Fn.Reshape(theta, [1, .. s]), input.Shape);
        }
        if (parameters.Count == 0) throw new ArgumentException("ResidualJacobian.Dense: no per-sample parameter inputs.", nameof(perSample));

        var seed = Fn.BroadcastTo(g.Scalar(1), r.Shape);
        var (outs, cts) = Vjp.Apply(expanded, primals, [seed], perSample);
        var blocks = new List<Node>();
        for (int i = 0; i < primals.Length; i++)
        {
            if (!perSample[i]) continue;
            var shape = expanded.Inputs[i].Shape;
            int size = shape.Size / m;
            blocks.Add(Fn.Reshape(cts[i] ?? Fn.Zeros(g, shape), m, size));
        }
        g.SetOutputs(outs[0], blocks.Count == 1 ? blocks[0] : Fn.Concat(1, [.. blocks]));
        return g;
    }

    /// <summary>
    /// Forward mode: inputs of <paramref name="residual"/>, then one tangent v_j per input selected by
    /// <paramref name="wrt"/> (same shape); outputs (r, J·v) with J·v of r's shape.
    /// </summary>
    public static Graph TimesVector(Graph residual, bool[] wrt)
    {
        ArgumentNullException.ThrowIfNull(residual);
        var r = CheckResidual(residual, "ResidualJacobian.TimesVector");
        CheckFlags(residual, wrt, "ResidualJacobian.TimesVector");
        var g = new Graph(residual.DType);
        var primals = GraphWalk.MirrorInputs(residual, g);
        var tangents = residual.Inputs.Select((x, i) => wrt[i] ? g.Input(x.Shape, $"v_{GraphWalk.InputName(x)}") : null).ToArray();
        var (outs, jv) = Jvp.Apply(residual, primals, tangents);
        g.SetOutputs(outs[0], jv[0] ?? Fn.Zeros(g, r.Shape));
        return g;
    }

    /// <summary>
    /// Reverse mode: inputs of <paramref name="residual"/>, then u (r's shape); outputs r and, for each
    /// input selected by <paramref name="wrt"/>, its block of Jᵀ·u (that input's shape).
    /// </summary>
    public static Graph TransposeTimesVector(Graph residual, bool[] wrt)
    {
        ArgumentNullException.ThrowIfNull(residual);
        var r = CheckResidual(residual, "ResidualJacobian.TransposeTimesVector");
        CheckFlags(residual, wrt, "ResidualJacobian.TransposeTimesVector");
        var g = new Graph(residual.DType);
        var primals = GraphWalk.MirrorInputs(residual, g);
        var u = g.Input(r.Shape, "u");
        var (outs, cts) = Vjp.Apply(residual, primals, [u], wrt);
        g.SetOutputs([outs[0], .. residual.Inputs.Select((x, i) => wrt[i] ? cts[i] ?? Fn.Zeros(g, x.Shape) : null).OfType<Node>()]);
        return g;
    }

    private static Node CheckResidual(Graph g, string what)
    {
        if (g.Outputs.Count != 1)
            throw new ShapeException($"{what}: the residual graph must have one output, it has {g.Outputs.Count}.");
        var r = g.Outputs[0];
        if (!(r.Rank == 1 || (r.Rank == 2 && r.Shape[1] == 1)))
            throw new ShapeException($"{what}: the residual must be a vector [M] or a column [M, 1], got {r.Shape}.");
        return r;
    }

    private static void CheckFlags(Graph g, bool[] wrt, string what)
    {
        ArgumentNullException.ThrowIfNull(wrt);
        if (wrt.Length != g.Inputs.Count)
            throw new ArgumentException($"{what}: {wrt.Length} flags for a graph of {g.Inputs.Count} input(s).", nameof(wrt));
        if (!wrt.Contains(true)) throw new ArgumentException($"{what}: no input selected.", nameof(wrt));
    }
}
