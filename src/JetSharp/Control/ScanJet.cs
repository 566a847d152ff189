using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Tensors;
using JetSharp.Transforms;

namespace JetSharp.Control;

/// <summary>
/// The Taylor rule of a scan: the jet of a loop is a loop over jets. Each carry becomes its jet
/// (c₀ and the active coefficients c₁..c_K, each coefficient with the direction prefix P), each xs and
/// constant its primal and the coefficients the caller gives, and the body becomes the K-jet of the body
/// (<see cref="Jet.Apply"/>), built once per (K, P, active coefficients) and cached with the body.
/// A carry coefficient is active when its initial value is nonzero or the body makes it nonzero from
/// active inputs (a fixed point over the body's structural zeros), so zero coefficients cost nothing.
/// </summary>
internal static class ScanJet
{
    private sealed record Layout(bool[][] Carry, bool[][] Xs, bool[][] Consts);

    public static Node?[] Taylor(ScanOp op, JetRuleArgs a)
    {
        int m = op.Carries, p = op.Xs, q = op.Consts, order = a.Order;
        bool[][] Given(int from, int count) =>
            [.. Enumerable.Range(from, count).Select(i => Enumerable.Range(0, order + 1).Select(k => k > 0 && a.X(i, k) is not null).ToArray())];
        var layout = new Layout(Given(0, m), Given(m, p), Given(m + p, q));
        Activate(op, layout, order, a.Prefix);
        var (jetBody, carryKeys, xsKeys, constKeys) = Build(op, layout, order, a.Prefix);

        var g = a.Graph;
        int pr = a.PrefixRank;
        Node Coef(int input, int k, Shape shape) => a.X(input, k) ?? Fn.Zeros(g, new Shape([.. a.Prefix, .. shape]));
        var inputs = new List<Node>();
        foreach (var (c, k) in carryKeys) inputs.Add(k == 0 ? a.Primals[c] : Coef(c, k, op.Body.Inputs[c].Shape));
        foreach (var (i, k) in xsKeys)
            inputs.Add(k == 0 ? a.Primals[m + i] : SubgraphBuild.MoveAxis(a.X(m + i, k)!, pr, 0));   // [P, L, …] → [L, P, …]
        foreach (var (j, k) in constKeys) inputs.Add(k == 0 ? a.Primals[m + p + j] : a.X(m + p + j, k)!);

        var info = new ScanJetInfo(order, a.Prefix,
            [.. carryKeys.Select((key, idx) => (key, idx)).Where(t => t.key.K == order).Select(t => t.idx)],
            [.. xsKeys.Select((key, idx) => (key, idx)).Where(t => t.key.K == order).Select(t => t.idx)],
            [.. constKeys.Select((key, idx) => (key, idx)).Where(t => t.key.K == order).Select(t => t.idx)]);
        var y = new Node?[order + 1];
        for (int k = 1; k <= order; k++)
        {
            if (op.Select < m)
            {
                int idx = carryKeys.IndexOf((op.Select, k));
                if (idx >= 0) y[k] = g.Apply(op.With(jetBody, carryKeys.Count, xsKeys.Count, idx, jet: info), [.. inputs]);
            }
            else
            {
                int idx = carryKeys.Count + (op.Select - m) * (order + 1) + k;
                var stacked = g.Apply(op.With(jetBody, carryKeys.Count, xsKeys.Count, idx, jet: info), [.. inputs]);
                y[k] = SubgraphBuild.MoveAxis(stacked, 0, pr);   // [L, P, …] → [P, L, …]
            }
        }
        return y;
    }

    /// <summary>Marks carry coefficients that the body makes nonzero, until nothing changes.</summary>
    private static void Activate(ScanOp op, Layout layout, int order, Shape prefix)
    {
        for (bool changed = true; changed;)
        {
            changed = false;
            var scratch = new Graph(op.Body.DType);
            var primals = GraphWalk.MirrorInputs(op.Body, scratch);
            var coefs = Coefficients(op, layout, order, prefix, scratch);
            var outs = Jet.Apply(op.Body, primals, coefs, order, prefix);
            for (int c = 0; c < op.Carries; c++)
                for (int k = 1; k <= order; k++)
                    if (!layout.Carry[c][k] && outs[c][k] is not null) { layout.Carry[c][k] = true; changed = true; }
        }
    }

    private static Node?[][] Coefficients(ScanOp op, Layout layout, int order, Shape prefix, Graph g)
    {
        int m = op.Carries, p = op.Xs;
        return [.. op.Body.Inputs.Select((input, i) =>
        {
            var active = i < m ? layout.Carry[i] : i < m + p ? layout.Xs[i - m] : layout.Consts[i - m - p];
            return Enumerable.Range(1, order).Select(k => active[k] ? g.Input(new Shape([.. prefix, .. input.Shape]), $"{GraphWalk.InputName(input)}_{k}") : null).ToArray();
        })];
    }

    private static string Key(Layout layout, int order, Shape prefix)
    {
        static string Mask(bool[][] m) => string.Join(",", m.Select(r => string.Concat(r.Skip(1).Select(b => b ? '1' : '0'))));
        return $"jet{order}{prefix}:{Mask(layout.Carry)}|{Mask(layout.Xs)}|{Mask(layout.Consts)}";
    }

    /// <summary>
    /// The jet body. Inputs: carries' jets (c, k) for k = 0 and the active k, then xs' jets, then the
    /// constants' jets. Outputs: the carries' jets in the same order (a coefficient the body leaves zero is
    /// materialised), then y₀..y_K of every per-step output.
    /// </summary>
    private static (Graph Body, List<(int C, int K)> Carries, List<(int I, int K)> Xs, List<(int J, int K)> Consts) Build(ScanOp op, Layout layout, int order, Shape prefix)
    {
        static List<(int, int K)> Keys(bool[][] active) =>
            [.. active.SelectMany((row, i) => Enumerable.Range(0, row.Length).Where(k => k == 0 || row[k]).Select(k => (i, k)))];
        var carries = Keys(layout.Carry);
        var xs = Keys(layout.Xs);
        var consts = Keys(layout.Consts);
        var body = Subgraphs.Derived(op.Body, Key(layout, order, prefix), () =>
        {
            var src = op.Body;
            int m = op.Carries, p = op.Xs;
            var jg = new Graph(src.DType);
            var primals = new Node[src.Inputs.Count];
            var coefs = src.Inputs.Select(_ => new Node?[order]).ToArray();
            void Declare(List<(int, int K)> keys, int offset)
            {
                foreach (var (i, k) in keys)
                {
                    var input = src.Inputs[offset + i];
                    string name = GraphWalk.InputName(input);
                    if (k == 0) primals[offset + i] = jg.Input(input.Shape, name);
                    else coefs[offset + i][k - 1] = jg.Input(new Shape([.. prefix, .. input.Shape]), $"{name}_{k}");
                }
            }
            Declare(carries, 0);
            Declare(xs, m);
            Declare(consts, m + p);
            var outs = Jet.Apply(src, primals, coefs, order, prefix);
            Node Out(int o, int k) => outs[o][k] ?? Fn.Zeros(jg, k == 0 ? src.Outputs[o].Shape : new Shape([.. prefix, .. src.Outputs[o].Shape]));
            var results = carries.Select(key => Out(key.Item1, key.K)).ToList();
            for (int yo = m; yo < src.Outputs.Count; yo++)
                for (int k = 0; k <= order; k++) results.Add(Out(yo, k));
            jg.SetOutputs([.. results]);
            return jg;
        });
        return (body, carries, xs, consts);
    }
}
