using System.Text;
using System.Text.RegularExpressions;

namespace JetSharp.CodeGen;

/// <summary>How <see cref="CSharpEmitter.Emit"/> names and shapes the generated code.</summary>
public sealed record EmitOptions
{
    /// <summary>Name of the generated static class.</summary>
    public string ClassName { get; init; } = "GeneratedGraph";
    /// <summary>File-scoped namespace of the class, or null for none.</summary>
    public string? Namespace { get; init; }
    /// <summary>Names of the outputs (documentation and the typed <c>Evaluate</c> tuple); default <c>output0</c>, <c>output1</c>, ….</summary>
    public IReadOnlyList<string>? OutputNames { get; init; }
    /// <summary>The emitters to use (default <see cref="EmitterRegistry.Default"/>).</summary>
    public EmitterRegistry? Registry { get; init; }
    /// <summary>
    /// Whether the code may call JetSharp at run time: vectorised elementwise kernels and the library's GEMM
    /// (<see cref="EmittedKernels"/>) on contiguous runs, and a primitive's own kernel for a primitive without
    /// a C# emitter; <c>Run</c> then takes a seed offset (random sampling) as a second argument. Such code is
    /// fast but not standalone. Default (null): true for <see cref="EmittedGraph.Compile"/>, false for
    /// <see cref="CSharpEmitter.Emit"/> and <see cref="CSharpExport"/>, whose code depends only on the BCL.
    /// </summary>
    public bool? UseLibraryKernels { get; init; }
    /// <summary>
    /// Compiled code: run regions whose tensors have the points as their only large axis as one loop over blocks of
    /// points (<see cref="PerPointPlanner"/>), instead of one pass per node. Default true; ignored by standalone code.
    /// </summary>
    public bool PerPointLoops { get; init; } = true;
}

/// <summary>
/// Writes a <see cref="Graph"/> as straight-line C#: one static class whose <c>Run(T[][] inputs)</c> method
/// computes the outputs with plain loops over flat row-major arrays, one block per node, each under a
/// comment giving the node's listing line (op, attributes, shape) and its origin in user code.
/// The code depends only on the base class library. Variables are named after the graph's inputs and the
/// nodes' ops (<c>tanh_7</c>, <c>matmul_12</c>); tensor constants become exact <c>static readonly</c> arrays.
/// </summary>
public static class CSharpEmitter
{
    /// <summary>The C# source for <paramref name="graph"/>.</summary>
    /// <exception cref="ArgumentException">The graph has no outputs.</exception>
    /// <exception cref="NotSupportedException">A node's primitive has no emitter (the message names it), checked before any text is written.</exception>
    public static string Emit(Graph graph, EmitOptions? options = null)
    {
        options ??= new EmitOptions();
        var registry = options.Registry ?? EmitterRegistry.Default;
        if (graph.Outputs.Count == 0) throw new ArgumentException("CodeGen: the graph has no outputs (call SetOutputs).", nameof(graph));
        CheckIdentifier(options.ClassName, nameof(options.ClassName));
        if (options.OutputNames is { } on && on.Count != graph.Outputs.Count)
            throw new ArgumentException($"CodeGen: {on.Count} output names for {graph.Outputs.Count} outputs.", nameof(options));
        if (options.OutputNames is { } dn && dn.Distinct().Count() != dn.Count)
            throw new ArgumentException($"CodeGen: output names [{string.Join(", ", dn)}] repeat a name.", nameof(options));

        bool library = options.UseLibraryKernels ?? false;
        var live = LiveNodes(graph);
        // Fails on an unsupported primitive before any work (compiled code calls the primitive's kernel instead). A random
        // node (sampled indices, noise) has no values to write out: compiled code runs its kernel with the run's seed
        // offset, standalone code cannot hold it.
        var emitters = live.Select(n => n.Op.IsRandom
            ? library ? KernelCallEmitter.Instance : throw new NotSupportedException(
                $"CodeGen: node %{n.Id} ({n.Op}, {n.Op.GetType().Name}) draws new values on every run; standalone code has no sampler (compile it with EmittedGraph.Compile, which runs the primitive's kernel).")
            : library ? registry.TryFor(n) ?? KernelCallEmitter.Instance : registry.For(n)).ToArray();
        string t = graph.DType == DType.Float32 ? "float" : "double";

        var names = new Names();
        var inputNames = graph.Inputs.Select(i => names.Claim(Identifier(((InputOp)i.Op).InputName))).ToArray();
        var outputNames = (options.OutputNames ?? [.. graph.Outputs.Select((_, i) => $"output{i}")]).Select(Identifier).ToArray();

        var body = new StringBuilder();
        var values = new Dictionary<Node, Operand>();
        var members = new Dictionary<string, string>();
        var ctx = new EmitContext(body, values, members, graph.DType, 2, library);

        ctx.Line($"if (inputs is null || inputs.Length != {graph.Inputs.Count}) throw new System.ArgumentException(\"{options.ClassName}.Run: expected {graph.Inputs.Count} input array(s).\");");
        for (int i = 0; i < graph.Inputs.Count; i++)
        {
            var x = graph.Inputs[i];
            ctx.Line($"{t}[] {inputNames[i]} = inputs[{i}] ?? throw new System.ArgumentNullException(\"inputs[{i}]\");");
            ctx.Line($"if ({inputNames[i]}.Length != {x.Shape.Size}) throw new System.ArgumentException($\"{options.ClassName}.Run: input {i} ({inputNames[i]}) must hold {x.Shape.Size} values, shape {x.Shape} row-major; got {{{inputNames[i]}.Length}}.\");");
            values[x] = new Operand(inputNames[i], null, false);
        }

        // Compiled code runs per-point regions as loops over blocks of points (PerPointEmitter): the region's nodes
        // move together, after the point-free values they read; the other nodes keep their order.
        var regionOf = new Dictionary<Node, PerPointRegion>();
        if (library && options.PerPointLoops)
        {
            var emitterOf = live.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => emitters[p.i]);
            var steps = PerPointPlanner.Plan(graph, live, n => emitterOf[n] is not KernelCallEmitter);
            live = [.. steps.SelectMany(s => s is PerPointRegion r ? r.Nodes : [(Node)s])];
            emitters = [.. live.Select(n => emitterOf[n])];
            foreach (var r in steps.OfType<PerPointRegion>()) foreach (var n in r.Nodes) regionOf[n] = r;
        }
        // Compiled code fuses chains of elementwise arithmetic: a node read once, by a same-shape arithmetic node,
        // is not stored but computed inside its consumer's vector loop (see ElementwiseEmitter).
        var fused = library ? FusedNodes(graph, live, emitters, regionOf.ContainsKey) : [];
        ctx.Fused = fused;
        // Where each node's value is really read: a fused node at the end of its chain.
        var index = new Dictionary<Node, int>();
        for (int n = 0; n < live.Count; n++) index[live[n]] = n;
        var readAt = new int[live.Count];
        var consumer = new Dictionary<Node, Node>();
        foreach (var c in live) foreach (var x in c.Inputs) consumer[x] = c;
        for (int n = live.Count - 1; n >= 0; n--)
            readAt[n] = regionOf.TryGetValue(live[n], out var region) ? index[region.Nodes[^1]]   // a region reads at its end
                : fused.Contains(live[n]) ? readAt[index[consumer[live[n]]]] : n;
        // Last use of each node in emission order (outputs live to the end), for buffer reuse.
        var lastUse = new Dictionary<Node, int>();
        for (int n = 0; n < live.Count; n++)
            foreach (var x in live[n].Inputs) lastUse[x] = Math.Max(lastUse.GetValueOrDefault(x, -1), readAt[n]);
        foreach (var o in graph.Outputs) lastUse[o] = int.MaxValue;
        var bufferLastUse = new Dictionary<string, int>();
        var regionIndex = new Dictionary<PerPointRegion, int>();

        for (int n = 0; n < live.Count; n++)
        {
            var node = live[n];
            if (node.Op is InputOp) continue;
            if (regionOf.TryGetValue(node, out var region))
            {
                // The whole region is written at its last node; its outputs' buffers live until their last reader.
                if (node != region.Nodes[^1]) { values[node] = new Operand(null, null, false); continue; }
                PerPointEmitter.Emit(region, regionIndex[region] = regionIndex.Count, graph.DType, ctx, values,
                    x => names.Claim($"{Identifier(x.Op.Name)}_{x.Id}"), Listing, (key, code) => members.TryAdd(key, code));
                foreach (var x in region.Nodes)
                    if (values.GetValueOrDefault(x) is { Owned: true, Array: { } output })
                        bufferLastUse[output] = Math.Max(bufferLastUse.GetValueOrDefault(output, -1), lastUse.GetValueOrDefault(x, n));
                foreach (var dead in bufferLastUse.Where(kv => kv.Value <= n).Select(kv => kv.Key).ToList())
                {
                    ctx.Release(dead);
                    bufferLastUse.Remove(dead);
                }
                continue;
            }
            bool isConstant = node.Op is ConstantOp;
            string name = names.Claim(isConstant ? $"const_{node.Id}" : $"{Identifier(node.Op.Name)}_{node.Id}");
            ctx.Reset(node, name);
            if (!isConstant || ((ConstantOp)node.Op).ScalarValue is null)
            {
                if (!isConstant) ctx.Line("");
                if (!isConstant) ctx.Line($"// {Listing(node)}");
            }
            if (fused.Contains(node))
            {
                ctx.Line($"// (fused: computed inside the loop of %{consumer[node].Id})");
                values[node] = new Operand(null, null, false);
                continue;
            }
            emitters[n].Emit(ctx);
            var value = values[node] = ctx.Result ?? throw new InvalidOperationException($"CodeGen: the emitter for '{node.Op.Name}' set no value for node %{node.Id}.");
            // A buffer is free once every node reading it — the one that wrote it and its views — has been emitted.
            if (value is { Owned: true, Array: { } array })
                bufferLastUse[array] = Math.Max(bufferLastUse.GetValueOrDefault(array, -1), lastUse.GetValueOrDefault(node, n));
            foreach (var dead in bufferLastUse.Where(kv => kv.Value <= n).Select(kv => kv.Key).ToList())
            {
                ctx.Release(dead);
                bufferLastUse.Remove(dead);
            }
        }

        ctx.Line("");
        var results = new List<string>();
        foreach (var o in graph.Outputs)
        {
            // Outputs are fresh copies: the buffers are reused by the next call, inputs and constants belong to others.
            var v = values[o];
            results.Add(v.Literal is { } lit ? $"new {t}[] {{ {lit} }}" : $"({t}[]){v.Array}.Clone()");
        }
        ctx.Line($"return new {t}[][] {{ {string.Join(", ", results)} }};");

        var sb = new StringBuilder();
        sb.Append("// <auto-generated>\n");
        sb.Append($"// Emitted by JetSharp.CodeGen from a {graph.DType.Name()} graph of {graph.Nodes.Count} nodes ({live.Count} live).\n");
        sb.Append("// Depends only on the .NET base class library. Arrays are flat and row-major.\n");
        sb.Append("// </auto-generated>\n");
        if (library) sb.Append("// Compiled by JetSharp.CodeGen.EmittedGraph: calls JetSharp's kernels (not standalone).\nusing System;\nusing JetSharp.CodeGen;\n");
        if (options.Namespace is { } ns) sb.Append($"namespace {ns};\n");
        sb.Append('\n');
        sb.Append($"/// <summary>Computes the graph's outputs from its inputs (flat row-major {t} arrays).</summary>\n");
        sb.Append($"public static class {options.ClassName}\n{{\n");
        sb.Append("    /// <summary>\n");
        sb.Append("    /// Inputs: " + string.Join(", ", graph.Inputs.Select((x, i) => $"[{i}] {inputNames[i]} {x.Shape}")) + ".\n");
        sb.Append("    /// Outputs: " + string.Join(", ", graph.Outputs.Select((x, i) => $"[{i}] {outputNames[i]} {x.Shape}")) + ".\n");
        sb.Append("    /// </summary>\n");
        if (library) sb.Append("    /// <param name=\"seedOffset\">Added to the seed of every random-sampling node.</param>\n");
        sb.Append($"    public static {t}[][] Run({t}[][] inputs{(library ? ", long seedOffset" : "")})\n    {{\n");
        sb.Append(body);
        sb.Append("    }\n");
        // A typed entry point: one array per input, the outputs by name.
        string parameters = string.Join(", ", inputNames.Select(n => $"{t}[] {n}"));
        string arguments = string.Join(", ", inputNames);
        sb.Append('\n');
        sb.Append("    /// <summary>Same as <see cref=\"Run\"/>, with one argument per input and the outputs by name.</summary>\n");
        if (outputNames.Length == 1)
            sb.Append($"    public static {t}[] Evaluate({parameters}) => Run(new {t}[][] {{ {arguments} }}{(library ? ", 0" : "")})[0];\n");
        else
        {
            sb.Append($"    public static ({string.Join(", ", outputNames.Select(n => $"{t}[] {n}"))}) Evaluate({parameters})\n    {{\n");
            sb.Append($"        var r = Run(new {t}[][] {{ {arguments} }}{(library ? ", 0" : "")});\n");
            sb.Append($"        return ({string.Join(", ", outputNames.Select((_, i) => $"r[{i}]"))});\n    }}\n");
        }
        if (ctx.BoundConstants.Count > 0)
        {
            sb.Append('\n');
            sb.Append("    /// <summary>Sets the tensor constants (called once by JetSharp.CodeGen.EmittedGraph): <c>value(id)</c> is node %id's value.</summary>\n");
            sb.Append($"    public static void BindConstants(System.Func<int, {t}[]> value)\n    {{\n");
            foreach (var (field, id) in ctx.BoundConstants) sb.Append($"        {field} = value({id});\n");
            sb.Append("    }\n");
        }
        foreach (var member in members.Values)
        {
            sb.Append('\n');
            foreach (var line in member.Split('\n')) sb.Append(line.Length == 0 ? "" : "    " + line).Append('\n');
        }
        sb.Append("}\n");
        return sb.ToString();
    }

    /// <summary>Arithmetic nodes (add, sub, mul, div, neg) whose single reader is a same-shape arithmetic node: computed in that reader's loop.</summary>
    private static HashSet<Node> FusedNodes(Graph graph, List<Node> live, IPrimitiveEmitter[] emitters, Func<Node, bool> inRegion)
    {
        var emitter = new Dictionary<Node, IPrimitiveEmitter>();
        for (int n = 0; n < live.Count; n++) emitter[live[n]] = emitters[n];
        var uses = new Dictionary<Node, int>();
        var reader = new Dictionary<Node, Node>();
        foreach (var c in live)
            foreach (var x in c.Inputs) { uses[x] = uses.GetValueOrDefault(x) + 1; reader[x] = c; }
        var outputs = graph.Outputs.ToHashSet();
        bool Arithmetic(Node n) =>
            ReferenceEquals(emitter[n], ElementwiseEmitter.Instance) && ElementwiseEmitter.Fusible(n) && !inRegion(n);
        return [.. live.Where(n => !outputs.Contains(n) && uses.GetValueOrDefault(n) == 1 && Arithmetic(n)
            && reader[n].Shape == n.Shape && Arithmetic(reader[n]))];
    }

    /// <summary>The node's listing line and, when recorded, where it came from in user code.</summary>
    internal static string Listing(Node node) =>
        node.ToString().Replace("\n", " ") + (node.Origin is { } o ? $"   ← {o}" : "");

    /// <summary>Nodes that an output depends on, in graph order (dead code is not emitted).</summary>
    private static List<Node> LiveNodes(Graph graph)
    {
        var live = new bool[graph.Nodes.Count];
        var stack = new Stack<Node>(graph.Outputs);
        foreach (var i in graph.Inputs) live[i.Id] = true;
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (live[n.Id] && n.Op is not InputOp) continue;
            live[n.Id] = true;
            foreach (var i in n.Inputs) if (!live[i.Id]) stack.Push(i);
        }
        return [.. graph.Nodes.Where(n => live[n.Id])];
    }

    private static void CheckIdentifier(string s, string what)
    {
        if (!Regex.IsMatch(s, "^[A-Za-z_][A-Za-z0-9_]*$"))
            throw new ArgumentException($"CodeGen: {what} '{s}' is not a C# identifier.");
    }

    /// <summary>A C# identifier made from <paramref name="s"/> (other characters become '_').</summary>
    private static string Identifier(string s)
    {
        var id = Regex.Replace(s, "[^A-Za-z0-9_]", "_");
        if (id.Length == 0 || char.IsDigit(id[0])) id = "_" + id;
        return Keywords.Contains(id) ? "@" + id : id;
    }

    private static readonly HashSet<string> Keywords = ["in", "out", "ref", "const", "int", "double", "float", "for", "if", "new", "return", "class", "static", "public", "private", "params", "string", "object", "base", "this", "is", "as", "checked", "default", "event", "fixed", "lock", "operator", "sizeof", "typeof", "var", "void", "while", "do", "try", "catch", "throw", "using", "namespace", "null", "true", "false"];

    private sealed class Names
    {
        private readonly HashSet<string> _used = ["inputs", "r", "a", "s", "i", "j", "k", "l", "p", "Run", "Sigmoid", "Softplus", "Relu", "Step", "Kernel", "seedOffset", "EmittedKernels", .. Enumerable.Range(0, 16).SelectMany(k => new[] { "b" + k, "i" + k })];
        public string Claim(string name)
        {
            var n = name;
            for (int k = 2; !_used.Add(n); k++) n = $"{name}_{k}";
            return n;
        }
    }
}
