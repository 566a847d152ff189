using System.Globalization;
using System.Text;
using JetSharp.Tensors;

namespace JetSharp.Ir;

/// <summary>Readable listings and Graphviz DOT export of graphs.</summary>
internal static class GraphPrinter
{
    /// <summary>
    /// A listing that reads like code: one line per node, <c>%7 = tanh(%6) : [16, 768]</c>. The graphs an op
    /// holds (<see cref="ISubgraphOp"/>: a loop body, a callee) are listed under it, indented, once per
    /// listing: a body applied again is referred to by its <c>@id</c>.
    /// </summary>
    public static string Print(Graph g)
    {
        var sb = new StringBuilder();
        Print(g, sb, "", new HashSet<Graph>(ReferenceEqualityComparer.Instance));
        return sb.ToString();
    }

    private static void Print(Graph g, StringBuilder sb, string indent, HashSet<Graph> shown)
    {
        sb.Append("graph(").Append(string.Join(", ", g.Inputs.Select(i => $"%{i.Id} {GraphWalk.InputName(i)}: {i.Shape}"))).Append($") {g.DType.Name()} {{\n");
        foreach (var n in g.Nodes)
        {
            if (n.Op is InputOp) continue;
            sb.Append(indent).Append("  %").Append(n.Id).Append(" = ").Append(n.Op.Name);
            if (n.Op.Attributes.Length > 0) sb.Append('[').Append(n.Op.Attributes).Append(']');
            sb.Append('(').Append(string.Join(", ", n.Inputs.Select(i => "%" + i.Id))).Append(") : ").Append(n.Shape).Append('\n');
            if (n.Op is not ISubgraphOp sub) continue;
            foreach (var body in sub.Bodies)
            {
                if (!shown.Add(body)) continue;
                sb.Append(indent).Append("    @").Append(Subgraphs.IdOf(body)).Append(" = ");
                Print(body, sb, indent + "    ", shown);
            }
        }
        sb.Append(indent).Append("  return ").Append(string.Join(", ", g.Outputs.Select(o => "%" + o.Id))).Append('\n').Append(indent).Append("}\n");
    }

    /// <summary>
    /// Graphviz DOT text: one box per node labelled with its id, primitive and shape, an edge per input;
    /// inputs, outputs and constants are filled in distinct colours. <paramref name="title"/> names the digraph.
    /// </summary>
    public static string ToDot(Graph g, string title)
    {
        var sb = new StringBuilder();
        sb.Append("digraph \"").Append(title.Replace("\"", "'")).Append("\" {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n");
        var outputs = new HashSet<Node>(g.Outputs);
        foreach (var n in g.Nodes)
        {
            string label = n.Op is InputOp input ? $"{input.InputName}\\n{n.Shape}" : $"{Escape(n.Op.ToString())}\\n{n.Shape}";
            string style = n.Op is InputOp ? ", style=filled, fillcolor=\"#cfe2f3\""
                : outputs.Contains(n) ? ", style=filled, fillcolor=\"#d9ead3\""
                : n.Op is ConstantOp ? ", style=filled, fillcolor=\"#eeeeee\"" : "";
            sb.Append(CultureInfo.InvariantCulture, $"  n{n.Id} [label=\"%{n.Id} {label}\"{style}];\n");
            foreach (var i in n.Inputs) sb.Append(CultureInfo.InvariantCulture, $"  n{i.Id} -> n{n.Id};\n");
        }
        sb.Append("}\n");
        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"");
}
