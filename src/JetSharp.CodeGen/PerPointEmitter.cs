using System.Globalization;
using System.Text;
using JetSharp.Backend;

namespace JetSharp.CodeGen;

/// <summary>
/// What a <see cref="PointRule"/> sees while it writes one node of a per-point region: the node, the names of its
/// operands' blocks (per-point values as <c>[Outer, B, Inner]</c> blocks, point-free values whole), their block
/// shapes, the result's name, and an element-loop writer with <c>Vector&lt;T&gt;</c> inner loops.
/// </summary>
internal sealed class PointContext
{
    private readonly PerPointRegion _region;
    private readonly Dictionary<Node, string> _names;
    private readonly HashSet<Node> _literals;
    private readonly Func<Node, string> _transposed;

    public PointContext(PerPointRegion region, EmitContext sub, Dictionary<Node, string> names, HashSet<Node> literals, Func<Node, string> transposed)
    {
        _region = region;
        Sub = sub;
        _names = names;
        _literals = literals;
        _transposed = transposed;
    }

    /// <summary>The text sink of the region's method (its <see cref="EmitContext.Loops"/> and literals).</summary>
    public EmitContext Sub { get; }
    public Node Node { get; set; } = null!;
    public string Result { get; set; } = "";
    public string T => Sub.T;
    /// <summary>512-bit vectors where the machine has them (the code is compiled where it runs), else <c>Vector&lt;T&gt;</c>.</summary>
    public string VectorType => Wide ? $"System.Runtime.Intrinsics.Vector512<{T}>" : $"System.Numerics.Vector<{T}>";

    /// <summary>Whether the region's vectors are 512-bit (then lanes are known at emission and tanh has a vector formula).</summary>
    public static bool Wide => System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated;

    /// <summary>A vector of <paramref name="scalar"/> in every lane.</summary>
    public string Splat(string scalar) => Wide ? $"System.Runtime.Intrinsics.Vector512.Create({scalar})" : $"new {VectorType}({scalar})";

    /// <summary>The vector at <paramref name="index"/> of <paramref name="array"/>.</summary>
    /// <remarks>Unchecked (<see cref="PointKernels.Load512{T}"/>): the region's arrays are sized at emission and every index is in range by construction.</remarks>
    public string Load(string array, string index) => Wide ? $"PointKernels.Load512({array}, {index})" : $"PointKernels.LoadVector({array}, {index})";

    /// <summary>Stores the vector <paramref name="value"/> at <paramref name="index"/> of <paramref name="array"/> (unchecked, as <see cref="Load"/>).</summary>
    public string Store(string value, string array, string index) => Wide ? $"PointKernels.Store512({value}, {array}, {index})" : $"PointKernels.StoreVector({value}, {array}, {index})";

    /// <summary>Elements per vector where known at emission (512-bit vectors), else 0.</summary>
    public int Lanes => Wide ? 64 / (T == "float" ? 4 : 8) : 0;

    public void Line(string text) => Sub.Line(text);

    /// <summary>Whether <paramref name="x"/> is held per block (a per-point value of the region).</summary>
    public bool IsLocal(Node x) => _region.Layouts.ContainsKey(x);

    public bool IsReduction(Node x) => _region.Reductions.Contains(x);

    /// <summary>Whether <paramref name="x"/> is a scalar written inline (its <see cref="Name"/> is the literal).</summary>
    public bool IsLiteral(Node x) => _literals.Contains(x);

    /// <summary>The array (or literal) holding <paramref name="x"/> in the region's code.</summary>
    public string Name(Node x) => _names[x];

    /// <summary>A block's shape: the points' axis of extent B (merged layouts as rows [Outer·B, Inner]); point-free values whole.</summary>
    public Shape LocalShape(Node x)
    {
        if (!_region.Layouts.TryGetValue(x, out var l)) return x.Shape;
        if (l.Merged) return new Shape(l.Outer * _region.Block, l.Inner);
        var dims = x.Shape.ToArray();
        dims[l.Axis] = _region.Block;
        return new Shape(dims);
    }

    public int LocalSize(Node x) => LocalShape(x).Size;

    /// <summary>op(B) for a product with Bᵀ: a transposed copy made once per call, before the blocks.</summary>
    public string TransposedWeight(Node b) => _transposed(b);

    /// <summary>Elementwise nodes computed inside their single reader's loop (never stored).</summary>
    public HashSet<Node> Inlined { get; } = [];

    /// <summary>
    /// target[i] = (or += with <paramref name="accumulate"/>) the formula at i over <paramref name="dims"/> (default: the node's
    /// block), with <paramref name="leaves"/> broadcast to it; <paramref name="scalar"/> and <paramref name="vector"/> write the
    /// formula given each leaf's element expression. The innermost run is a vector loop where every leaf is contiguous
    /// or repeated along it.
    /// </summary>
    public void ElementLoop(string target, bool accumulate, IReadOnlyList<Node> leaves, Func<Func<Node, string>, string> scalar,
        Func<Func<Node, string>, string>? vector, Shape? dims = null, int[]? targetStrides = null)
    {
        var shape = dims ?? LocalShape(Node);
        var strides = new int[leaves.Count + 1][];
        strides[0] = targetStrides ?? EmitContext.Strides(shape);
        for (int o = 0; o < leaves.Count; o++) strides[o + 1] = EmitContext.BroadcastStrides(LocalShape(leaves[o]), shape);
        var (d, st) = EmitContext.Merge([.. shape], strides);
        string op = accumulate ? "+=" : "=";
        int Leaf(Node x) => leaves.Select((l, i) => (l, i)).First(p => p.l == x).i;
        if (d.Count == 0)
        {
            Line($"{target}[0] {op} {scalar(x => Element(x, "0", 0, "", false))};");
            return;
        }
        int inner = d[^1];
        var innerStride = st.Select(s => s[^1]).ToArray();
        bool vectorised = vector is not null && inner >= 4 && innerStride[0] == 1 && innerStride.Skip(1).All(s => s is 0 or 1);
        var outerStrides = st.Select(s => s.Take(s.Count - 1).ToArray()).ToArray();
        Sub.Loops([.. d.Take(d.Count - 1)], outerStrides, new int[strides.Length], o =>
        {
            string At(int k, string v) => Plus(o[k], innerStride[k] == 0 ? "" : innerStride[k] == 1 ? v : $"{v} * {innerStride[k]}");
            string Scalar(Node x) { int k = Leaf(x) + 1; return Element(x, o[k], innerStride[k], "v", false); }
            if (!vectorised)
            {
                Line($"for (int v = 0; v < {inner}; v++) {target}[{At(0, "v")}] {op} {scalar(Scalar)};");
                return;
            }
            string value = vector!(x => { int k = Leaf(x) + 1; return Element(x, o[k], innerStride[k], "v", true); });
            if (accumulate) value = $"{Load(target, At(0, "v"))} + ({value})";
            Line("{");
            Line("    int v = 0;");
            string store = Store(value, target, At(0, "v"));
            Line(Lanes > 0
                ? $"    for (; v <= {inner - Lanes}; v += {Lanes}) {store};"
                : $"    for (; v <= {inner} - {VectorType}.Count; v += {VectorType}.Count) {store};");
            // The scalar tail, unless the vectors cover the run exactly.
            if (Lanes == 0 || inner % Lanes != 0) Line($"    for (; v < {inner}; v++) {target}[{At(0, "v")}] {op} {scalar(Scalar)};");
            Line("}");
        }, prefix: "q");
    }

    private string Element(Node x, string offset, int stride, string v, bool vector)
    {
        var name = _names[x];
        if (_literals.Contains(x)) return vector ? Splat(name) : name;
        string index = Plus(offset, stride == 0 ? "" : stride == 1 ? v : $"{v} * {stride}");
        if (!vector) return $"{name}[{index}]";
        return stride == 0 ? Splat($"{name}[{index}]") : Load(name, index);
    }

    private static string Plus(string a, string b) => b.Length == 0 ? a : a == "0" ? b : $"{a} + {b}";
}

/// <summary>
/// Writes a <see cref="PerPointRegion"/>: in <c>Run</c>, the region's outputs (per-point values needed elsewhere,
/// written block by block; reductions, accumulated) and one call per chunk of blocks; in a static method of the
/// class, the loop over the chunk's blocks of points, each block running every node of the region in turn on
/// small arrays that stay in the first-level cache. A reduction over the points is accumulated per chunk and
/// the chunks' partial sums are added in chunk order, so the result does not depend on the core count.
/// </summary>
internal static class PerPointEmitter
{
    /// <summary>A region written but not yet run: its method, the argument array (an expression), its chunks and the additions of its partial sums.</summary>
    public sealed record RegionLaunch(int Index, string Method, string Args, int Chunks, List<string> PartialSums);

    /// <summary>
    /// Emits <paramref name="region"/> (number <paramref name="index"/> of the class): its outputs allocated (and
    /// cleared) in <paramref name="run"/>, its method added to the class, and returns what <see cref="Launch"/> needs to
    /// call it. <paramref name="values"/> receives the value of every region output, <paramref name="name"/> names a
    /// node, <paramref name="member"/> adds a member to the class.
    /// </summary>
    public static RegionLaunch Emit(PerPointRegion region, int index, DType dtype, EmitContext run, Dictionary<Node, Operand> values,
        Func<Node, string> name, Func<Node, string> listing, Action<string, string> member)
    {
        string t = run.T, method = $"PerPointRegion{index}";
        int n = region.Points, block = region.Block, blocks = n / block, chunks = region.Chunks;
        run.Line("");
        run.Line($"// Per-point region {index}: {region.Nodes.Count} nodes over {n} points in blocks of {block}" +
                 (region.Chunks > 1 ? $", {region.Chunks} chunks on separate cores" : "") + $" ({method}).");
        var io = new List<string>();
        var names = new Dictionary<Node, string>();
        var literals = new HashSet<Node>();
        var prologue = new List<string>();
        var declared = new HashSet<string>();
        string Pass(string array) { io.Add(array); return $"io[{io.Count - 1}]"; }

        // Values read whole (weights, constants) or block by block (point inputs): named as in Run.
        foreach (var x in region.External)
        {
            var v = values[x];
            if (v.Literal is { } lit) { names[x] = lit; literals.Add(x); continue; }
            names[x] = v.Array!;
            if (declared.Add(v.Array!)) prologue.Add($"{t}[] {v.Array} = {Pass(v.Array!)};");   // views share their array
        }
        // Outputs: per-point values needed elsewhere (whole arrays) and reductions (chunk 0 sums into the result, the others into partials).
        var partials = new List<(Node Node, string[] Parts)>();
        var global = new Dictionary<Node, string>();
        foreach (var x in region.Nodes.Where(x => region.Materialized.Contains(x) || region.Reductions.Contains(x)))
        {
            string output = name(x);
            run.Reset(x, output);
            run.AllocateResult(zero: region.Reductions.Contains(x));
            values[x] = run.Result!.Value;
            if (!region.Reductions.Contains(x))
            {
                global[x] = output;
                prologue.Add($"{t}[] {output} = {Pass(output)};");
                continue;
            }
            var parts = new string[region.Chunks];
            parts[0] = output;
            for (int c = 1; c < region.Chunks; c++)
            {
                string field = $"s_partial{index}_{x.Id}_{c}";
                member(field, EmitContext.ThreadBufferField(t, field));
                parts[c] = $"{output}_part{c}";
                run.Line($"{t}[] {parts[c]} = {EmitContext.ThreadBuffer(t, field, x.Shape.Size, library: true)};");
                run.Line($"System.Array.Clear({parts[c]});");
            }
            partials.Add((x, parts));
            int first = io.Count;
            foreach (var part in parts) Pass(part);
            names[x] = $"acc_{output}";
            prologue.Add($"{t}[] acc_{output} = io[{first} + chunk];");
        }
        var transposed = new Dictionary<Node, string>();
        string Transposed(Node b)
        {
            if (transposed.TryGetValue(b, out var tn)) return tn;
            // op(B) = Bᵀ for B [n, k]: written once per call in Run, passed in.
            int rows = b.Shape[^2], cols = b.Shape[^1];
            string field = $"s_transposed{index}_{b.Id}", local = $"{names[b]}_T{index}";
            member(field, EmitContext.ThreadBufferField(t, field));
            run.Line($"{t}[] {local} = {EmitContext.ThreadBuffer(t, field, rows * cols, library: true)};");
            run.Line($"for (int i = 0; i < {rows}; i++) for (int j = 0; j < {cols}; j++) {local}[j * {rows} + i] = {names[b]}[i * {cols} + j];");
            prologue.Add($"{t}[] {local} = {Pass(local)};");
            return transposed[b] = local;
        }

        var body = new StringBuilder();
        var sub = new EmitContext(body, [], [], dtype, 1, true);
        var c2 = new PointContext(region, sub, names, literals, Transposed);

        // Elementwise arithmetic read once, by elementwise arithmetic of the same block shape, is computed in its reader's loop.
        var readers = new Dictionary<Node, List<Node>>();
        foreach (var x in region.Nodes) foreach (var i in x.Inputs) (readers.TryGetValue(i, out var l) ? l : readers[i] = []).Add(x);
        bool Arithmetic(Node x) => PointRules.For(x) is PointElementwise && PointElementwise.Vectorisable(x, PointContext.Wide) && !region.Reductions.Contains(x);
        // Cheap arithmetic of one block (a polynomial in tanh: −t, 1 − t², (2t² − 2)·t) read by several elementwise
        // nodes is recomputed in each reader's loop rather than stored: a few multiply-adds per vector instead of a
        // store, a load per reader and a block array held between them (see Recomputed).
        var cost = new Dictionary<Node, int>();
        // Elementwise arithmetic read only by a sum that adds up its vectors in registers (PointSum.Accumulated) is
        // computed inside that sum's loop too.
        foreach (var x in region.Nodes)
        {
            if (!Arithmetic(x) || region.Materialized.Contains(x) || !readers.TryGetValue(x, out var r)) continue;
            if (r.All(Arithmetic) && (r.Count == 1 ? c2.LocalShape(r[0]) == c2.LocalShape(x) : Recomputed(c2, region, x, cost)))
                c2.Inlined.Add(x);
            else if (r.Count == 1 && PointRules.For(r[0]) is PointSum)
            {
                c2.Inlined.Add(x);
                if (PointSum.Accumulated(c2, r[0]) is null) c2.Inlined.Remove(x);
            }
            if (c2.Inlined.Contains(x)) cost[x] = Operations(c2, x, cost);
        }
        var position = new Dictionary<Node, int>();
        for (int i = 0; i < region.Nodes.Count; i++) position[region.Nodes[i]] = i;
        // Where an inlined node's operands are last read: at its last reader (the latest, when it is recomputed in several).
        var readAt = new int[region.Nodes.Count];
        for (int i = region.Nodes.Count - 1; i >= 0; i--)
            readAt[i] = c2.Inlined.Contains(region.Nodes[i]) ? readers[region.Nodes[i]].Max(n => readAt[position[n]]) : i;

        // Block arrays: one per per-point value (views share their operand's), reused once the value is dead.
        var owner = new Dictionary<Node, Node>();
        foreach (var x in region.External.Where(region.Layouts.ContainsKey)) owner[x] = x;
        foreach (var x in region.Nodes.Where(x => region.Layouts.ContainsKey(x) && !c2.Inlined.Contains(x))) owner[x] = x.Op.IsView ? owner[x.Inputs[0]] : x;
        var dies = region.Nodes.Select(_ => new List<Node>()).ToArray();
        var lastUse = new Dictionary<Node, int>();
        for (int i = 0; i < region.Nodes.Count; i++)
        {
            var x = region.Nodes[i];
            if (owner.TryGetValue(x, out var own)) lastUse[own] = Math.Max(lastUse.GetValueOrDefault(own, i), i);
            foreach (var input in x.Inputs)
                if (owner.TryGetValue(input, out var o)) lastUse[o] = Math.Max(lastUse.GetValueOrDefault(o, readAt[i]), readAt[i]);
        }
        foreach (var (o, i) in lastUse) if (owner[o] == o) dies[i].Add(o);
        var free = new Dictionary<int, Stack<string>>();
        var slotOf = new Dictionary<Node, string>();
        var slots = new List<int>();
        string Slot(Node x)
        {
            int size = c2.LocalSize(x);
            if (free.TryGetValue(size, out var s) && s.Count > 0) return slotOf[x] = s.Pop();
            slots.Add(size);
            return slotOf[x] = $"block{slots.Count - 1}";
        }
        void Free(int i)
        {
            foreach (var o in dies[i])
            {
                if (!slotOf.TryGetValue(o, out var slot)) continue;   // a value of a fused loop kept in a register only
                if (!free.TryGetValue(c2.LocalSize(o), out var s)) free[c2.LocalSize(o)] = s = new Stack<string>();
                s.Push(slot);
            }
        }

        // Chunk c takes blocks [c · blocks / chunks, (c + 1) · blocks / chunks): every block once, whatever the count.
        sub.Line(chunks == 1 ? $"for (int blk = 0; blk < {blocks}; blk++)" : $"for (int blk = chunk * {blocks} / {chunks}; blk < (chunk + 1) * {blocks} / {chunks}; blk++)");
        sub.Line("{");
        sub.Indent();
        sub.Line($"int b0 = blk * {block};");
        foreach (var x in region.External.Where(region.Layouts.ContainsKey))
        {
            // A point input: the block's rows copied in.
            string whole = names[x];
            names[x] = Slot(x);
            CopyBlock(sub, region, x, whole, names[x], toWhole: false);
        }
        // Consecutive elementwise nodes over the same flat block run in one vector loop (see FusedGroups).
        var groups = FusedGroups(region, c2, readers);
        var fusedAt = new Dictionary<Node, Node>();
        for (int i = 0; i < region.Nodes.Count; i++)
        {
            var x = region.Nodes[i];
            if (groups.TryGetValue(i, out var group))
            {
                EmitGroup(sub, c2, region, listing, group, names, Slot);
                foreach (var fused in group.Members)
                {
                    if (global.TryGetValue(fused, out var wholeM)) CopyBlock(sub, region, fused, wholeM, names[fused], toWhole: true);
                    fusedAt[fused] = x;
                }
                Free(i);
                continue;
            }
            sub.Line("");
            sub.Line($"// {listing(x)}");
            c2.Node = x;
            if (fusedAt.TryGetValue(x, out var host)) sub.Line($"// (computed in the fused loop at %{host.Id})");
            else if (c2.Inlined.Contains(x))
                sub.Line(readers[x].Count == 1 ? $"// (computed inside the loop of %{readers[x][0].Id})"
                    : $"// (recomputed inside the loops of {string.Join(", ", readers[x].Distinct().Select(n => $"%{n.Id}"))}: no block array)");
            else if (region.Reductions.Contains(x))
            {
                c2.Result = names[x];
                PointRules.For(x)!.Emit(c2);
            }
            else if (x.Op.IsView)
            {
                names[x] = names[x.Inputs[0]];
                sub.Line($"// (a view: {names[x]} read as {c2.LocalShape(x)}, no code)");
            }
            else
            {
                c2.Result = names[x] = Slot(x);
                PointRules.For(x)!.Emit(c2);
            }
            if (global.TryGetValue(x, out var whole) && !fusedAt.ContainsKey(x)) CopyBlock(sub, region, x, whole, names[x], toWhole: true);
            Free(i);
        }
        sub.Outdent();
        sub.Line("}");

        var m = new StringBuilder();
        m.Append($"/// <summary>Per-point region {index}: {(chunks == 1 ? "the" : $"chunk <c>chunk</c> of {chunks} of the")} {blocks} blocks of {block} of the {n} points (called by Run).</summary>\n");
        m.Append($"private static void {method}(int chunk, {t}[][] io)\n{{\n");
        foreach (var line in prologue) m.Append("    ").Append(line).Append('\n');
        for (int s = 0; s < slots.Count; s++)
        {
            string field = $"s_block{index}_{s}";
            member(field, EmitContext.ThreadBufferField(t, field));
            m.Append($"    {t}[] block{s} = {EmitContext.ThreadBuffer(t, field, slots[s], library: true)};\n");
        }
        m.Append(body);
        m.Append('}');
        member(method, m.ToString());

        var adds = new List<string>();
        foreach (var (x, parts) in partials)
            for (int c = 1; c < parts.Length; c++)
                adds.Add($"EmittedKernels.Add<{t}>({parts[0]}.AsSpan(0, {x.Shape.Size}), {parts[c]}.AsSpan(0, {x.Shape.Size}), {parts[0]}.AsSpan(0, {x.Shape.Size}));");
        return new RegionLaunch(index, method, $"new {t}[][] {{ {string.Join(", ", io)} }}", region.Chunks, adds);
    }

    /// <summary>
    /// Writes the call that runs <paramref name="launches"/> (regions prepared by <see cref="Emit"/>, whose outputs
    /// are allocated and cleared), then the additions of their chunks' partial sums in chunk order. Several regions
    /// (independent of each other, with the same chunk count: <see cref="PerPointRegion.RunsBeside"/>) share one
    /// parallel call: chunk c of each runs on the same core, one region after the other, through a method of the class.
    /// </summary>
    public static void Launch(IReadOnlyList<RegionLaunch> launches, EmitContext run, Action<string, string> member)
    {
        var first = launches[0];
        string t = run.T;
        if (launches.Count == 1)
            run.Line(first.Chunks > 1 ? $"PointKernels.ForChunks({first.Chunks}, {first.Method}, {first.Args});" : $"{first.Method}(0, {first.Args});");
        else
        {
            if (launches.Any(l => l.Chunks != first.Chunks))
                throw new InvalidOperationException("CodeGen: regions run in one call must have the same chunk count.");
            string method = "PerPointRegions" + string.Join("And", launches.Select(l => l.Index));
            var m = new StringBuilder();
            m.Append($"/// <summary>Chunk <c>chunk</c> of the per-point regions {string.Join(", ", launches.Select(l => l.Index))}, which read nothing of each other (called by Run).</summary>\n");
            m.Append($"private static void {method}(int chunk, {t}[][][] io)\n{{\n");
            for (int i = 0; i < launches.Count; i++) m.Append($"    {launches[i].Method}(chunk, io[{i}]);\n");
            m.Append('}');
            member(method, m.ToString());
            run.Line($"PointKernels.ForChunks({first.Chunks}, {method}, new {t}[][][] {{ {string.Join(", ", launches.Select(l => l.Args))} }});");
        }
        foreach (var l in launches)
            foreach (var add in l.PartialSums) run.Line(add);
    }

    /// <summary>Most vector operations of a value recomputed in each of its readers instead of stored (<see cref="Recomputed"/>).</summary>
    public const int MaxRecomputeOps = 4;

    /// <summary>
    /// Whether <paramref name="x"/>, read by several elementwise nodes, is recomputed in each of them: it is addition,
    /// subtraction, multiplication, negation or a square or cube of at most <see cref="MaxRecomputeOps"/> operations
    /// (counting the operands it inlines) over at most one block of the region (the others single values or
    /// point-free rows): recomputing it costs a few operations per vector and keeps only that one block alive until the
    /// last reader (a tanh block, which its readers mostly read anyway) instead of a block of its own.
    /// <paramref name="cost"/> caches the operation counts (the graph order puts operands first).
    /// </summary>
    private static bool Recomputed(PointContext c, PerPointRegion region, Node x, Dictionary<Node, int> cost) =>
        Operations(c, x, cost) <= MaxRecomputeOps && PointElementwise.Leaves(c, x).Count(region.Layouts.ContainsKey) <= 1;

    /// <summary>The vector operations of <paramref name="x"/> with the operands it inlines; above <see cref="MaxRecomputeOps"/> for anything but +, −, ×, negation, x² and x³.</summary>
    private static int Operations(PointContext c, Node x, Dictionary<Node, int> cost)
    {
        int own = x.Op is PowOp pow ? pow.Exponent switch { 1 => 0, 2 => 1, 3 => 2, _ => MaxRecomputeOps + 1 }
            : x.Op.Arithmetic is { } a && (a.Binary is BinaryOp.Add or BinaryOp.Sub or BinaryOp.Mul || a.Unary == UnaryOp.Neg) ? 1
            : MaxRecomputeOps + 1;
        return own + x.Inputs.Distinct().Where(c.Inlined.Contains).Sum(i => cost[i]);
    }

    /// <summary>Elementwise <see cref="Members"/> of a region computed in one loop, written where the first of them (region index <see cref="First"/>) stands.</summary>
    private sealed record FusedGroup(int First, List<Node> Members, HashSet<Node> RegisterOnly, int Size);

    /// <summary>
    /// Groups of elementwise nodes (with 512-bit vectors) whose every operand is either a block of the same size, read
    /// element by element, a single value, or a block repeated along leading axes (a bias), and of sums within a point
    /// over leading axes (<see cref="PointSum.LeadingTerms"/>): each group runs as one loop over the block where its first node stands,
    /// each value computed once per vector into a local and stored only when something outside the loop reads it (a
    /// value read only by later nodes of the same loop stays in a register and gets no block array). A node joins an
    /// open group of its size when everything it reads is computed before the group's first node or by the group
    /// itself; otherwise it starts a new one. Keyed by the index of the first node; groups of one node are left out.
    /// </summary>
    private static Dictionary<int, FusedGroup> FusedGroups(PerPointRegion region, PointContext c, Dictionary<Node, List<Node>> readers)
    {
        var result = new Dictionary<int, FusedGroup>();
        if (c.Lanes == 0) return result;
        var position = new Dictionary<Node, int>();
        for (int i = 0; i < region.Nodes.Count; i++) position[region.Nodes[i]] = i;
        bool Fusable(Node x)
        {
            if (c.Inlined.Contains(x) || x.Op.IsView || region.Reductions.Contains(x) || !region.Layouts.ContainsKey(x)) return false;
            if (PointRules.For(x) is PointSum) return !c.Inlined.Contains(x.Inputs[0]) && PointSum.LeadingTerms(c, x) > 0;
            if (PointRules.For(x) is not PointElementwise || !PointElementwise.Vectorisable(x, PointContext.Wide)) return false;
            int size = c.LocalSize(x);
            if (size % c.Lanes != 0) return false;
            foreach (var leaf in PointElementwise.Leaves(c, x))
                if (RepeatOf(c, leaf, c.LocalShape(x)) is not { } r || r != 1 && r % c.Lanes != 0) return false;
            return PointElementwise.Tree(c, x).All(n => PointElementwise.Vectorisable(n, PointContext.Wide));
        }
        var open = new List<(int First, List<Node> Members)>();
        for (int i = 0; i < region.Nodes.Count; i++)
        {
            var x = region.Nodes[i];
            if (!Fusable(x)) continue;
            var leaves = PointElementwise.Leaves(c, x).Select(l => Root(region, l)).ToList();
            var group = open.FirstOrDefault(g => c.LocalSize(g.Members[0]) == c.LocalSize(x)
                && leaves.All(l => !position.TryGetValue(l, out int at) || at < g.First || g.Members.Contains(l)));
            if (group.Members is null) open.Add((i, [x]));
            else group.Members.Add(x);
        }
        foreach (var (first, members) in open.Where(g => g.Members.Count >= 2))
        {
            var set = members.ToHashSet();
            var registerOnly = members.Where(m => !region.Materialized.Contains(m) && readers.TryGetValue(m, out var r) && r.All(set.Contains)).ToHashSet();
            result[first] = new FusedGroup(first, members, registerOnly, c.LocalSize(members[0]));
        }
        return result;
    }

    /// <summary>
    /// How a fused loop over a flat block of <paramref name="shape"/> reads <paramref name="leaf"/>: the period of its
    /// elements (the block's size: element by element; 1: a single value; a divisor whose elements are the trailing
    /// axes of the block: repeated along the leading ones, as a bias over rows), or null when it is read otherwise.
    /// </summary>
    private static int? RepeatOf(PointContext c, Node leaf, Shape shape)
    {
        var l = c.LocalShape(leaf);
        if (l.Size == 1) return 1;
        var dims = l.SkipWhile(e => e == 1).ToArray();
        if (dims.Length > shape.Rank) return null;
        for (int k = 1; k <= dims.Length; k++)
            if (dims[^k] != shape[^k]) return null;
        return l.Size;
    }

    /// <summary>The node whose block a view of the region reads (itself when not a view).</summary>
    private static Node Root(PerPointRegion region, Node x) =>
        x.Op.IsView && region.Layouts.ContainsKey(x) && !region.External.Contains(x) ? Root(region, x.Inputs[0]) : x;

    /// <summary>Writes a <see cref="FusedGroup"/> at its first node: the listing lines of its members, then one vector loop computing them all.</summary>
    private static void EmitGroup(EmitContext sub, PointContext c, PerPointRegion region, Func<Node, string> listing,
        FusedGroup group, Dictionary<Node, string> names, Func<Node, string> slot)
    {
        var local = new Dictionary<Node, string>();
        foreach (var m in group.Members)
        {
            if (!group.RegisterOnly.Contains(m)) names[m] = slot(m);
            sub.Line("");
            sub.Line($"// {listing(m)}");
            sub.Line(group.RegisterOnly.Contains(m) ? $"// (in the loop below as {LocalName(m)}, read only there: no block array)" : $"// (in the loop below as {LocalName(m)}, stored in {names[m]})");
        }
        sub.Line($"for (int v = 0; v < {group.Size}; v += {c.Lanes})");
        sub.Line("{");
        foreach (var m in group.Members)
        {
            c.Node = m;
            string value = PointRules.For(m) is PointSum && PointSum.LeadingTerms(c, m) is > 1 and var terms
                // Σ over the leading axes: the operand's slices of one result each, added in order.
                ? string.Join(" + ", Enumerable.Range(0, terms).Select(t => c.Load(c.Name(m.Inputs[0]), t == 0 ? "v" : $"v + {t * group.Size}")))
                : PointRules.For(m) is PointSum ? Leaf(m.Inputs[0])
                : PointElementwise.VectorExpression(c, m, Leaf);
            local[m] = LocalName(m);
            sub.Line($"    var {local[m]} = {value};");
            if (!group.RegisterOnly.Contains(m)) sub.Line($"    {c.Store(local[m], names[m], "v")};");
        }
        sub.Line("}");

        string Leaf(Node leaf)
        {
            var root = Root(region, leaf);
            if (local.TryGetValue(root, out var l)) return l;
            if (c.IsLiteral(leaf)) return c.Splat(c.Name(leaf));
            // A view reads its root's array; it may stand after the loop, where it gets that name as its own.
            string name = c.Name(root);
            int period = RepeatOf(c, leaf, c.LocalShape(c.Node))!.Value;
            if (period == 1) return c.Splat($"{name}[0]");
            if (period == group.Size) return c.Load(name, "v");
            // Repeated along the leading axes (a bias over rows): the same vectors every period elements.
            return c.Load(name, (period & (period - 1)) == 0 ? $"(v & {period - 1})" : $"v % {period}");
        }
    }

    /// <summary>The name of a fused loop's local holding a node's vector: the operation and the node's id (<c>tanh27</c>).</summary>
    private static string LocalName(Node x) => $"{new string([.. x.Op.Name.Where(char.IsLetter)])}{x.Id}";

    /// <summary>Copies a block between the whole array [Outer, N, Inner] and the block [Outer, B, Inner].</summary>
    private static void CopyBlock(EmitContext sub, PerPointRegion region, Node x, string whole, string local, bool toWhole)
    {
        var l = region.Layouts[x];
        int n = region.Points, b = region.Block;
        for (int o = 0; o < l.Outer; o++)
        {
            string wholeAt = $"{(o == 0 ? "" : $"{o * n * l.Inner} + ")}b0 * {l.Inner}", localAt = $"{o * b * l.Inner}";
            sub.Line(toWhole
                ? $"System.Array.Copy({local}, {localAt}, {whole}, {wholeAt}, {b * l.Inner});"
                : $"System.Array.Copy({whole}, {wholeAt}, {local}, {localAt}, {b * l.Inner});");
        }
    }
}
