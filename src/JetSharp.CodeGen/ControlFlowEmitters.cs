using System.Text.RegularExpressions;
using JetSharp.Control;

namespace JetSharp.CodeGen;

/// <summary>
/// The classes written for the subgraphs of one emission: each callee, loop body, branch or step adjoint
/// becomes one private nested class (its own <c>Run</c>, buffers and constants), written on first use and
/// called from every node that holds that graph. A nested class returns its own buffers; a call site copies
/// what it keeps before the class runs again.
/// </summary>
internal sealed class SubgraphClasses(EmitOptions options)
{
    private readonly Dictionary<Graph, string> _names = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Graph, string> _roles = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, string> _sources = [];
    private readonly List<(string ClassName, Graph Graph)> _classes = [];
    private readonly Dictionary<Node, string> _computed = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Graph, HashSet<Node>> _live = new(ReferenceEqualityComparer.Instance);

    /// <summary>Every class written so far, with the graph it computes (a class after the classes it calls).</summary>
    public IReadOnlyList<(string ClassName, Graph Graph)> Classes => _classes;

    /// <summary>The source of the nested class <paramref name="className"/>.</summary>
    public string SourceOf(string className) => _sources[className];

    /// <summary>What the subgraph is, in words (the class's summary).</summary>
    public string Describe(Graph g) => _roles[g];

    /// <summary>
    /// The later live nodes of <paramref name="node"/>'s graph that <paramref name="together"/> says are computed
    /// with it: another result of the same loop or call on the same inputs. The emitter of <paramref name="node"/>
    /// writes their values too (<see cref="Computed"/>), so the loop or call runs once.
    /// </summary>
    public List<Node> Siblings(Node node, Func<Primitive, bool> together)
    {
        var graph = node.Graph;
        if (!_live.TryGetValue(graph, out var live))
        {
            _live[graph] = live = new HashSet<Node>(ReferenceEqualityComparer.Instance);
            var stack = new Stack<Node>(graph.Outputs);
            while (stack.Count > 0)
            {
                var n = stack.Pop();
                if (live.Add(n)) foreach (var x in n.Inputs) stack.Push(x);
            }
        }
        return [.. graph.Nodes.Skip(node.Id + 1).Where(s => live.Contains(s) && !_computed.ContainsKey(s) && together(s.Op)
            && s.Inputs.Count == node.Inputs.Count && s.Inputs.Zip(node.Inputs).All(p => ReferenceEquals(p.First, p.Second)))];
    }

    /// <summary>Records that <paramref name="node"/>'s value is already in the array <paramref name="array"/>.</summary>
    public void Computed(Node node, string array) => _computed[node] = array;

    /// <summary>The array holding <paramref name="node"/>'s value when an earlier node's code computed it, else null.</summary>
    public string? ComputedBy(Node node) => _computed.GetValueOrDefault(node);

    /// <summary>
    /// The class computing <paramref name="body"/>, written on the first request: <paramref name="kind"/> and a number
    /// counting the classes of this emission (so the same graph gives the same source in any process; the class's
    /// summary gives the body's @id of the graph listing).
    /// </summary>
    public string For(Graph body, string kind, string role)
    {
        if (_names.TryGetValue(body, out var name)) return name;
        name = $"{kind}{_names.Count + 1}";
        _names[body] = name;
        _roles[body] = role;
        _sources[name] = CSharpEmitter.EmitClass(body, options with { ClassName = name, Namespace = null, OutputNames = null }, this, isNested: true);
        _classes.Add((name, body));
        return name;
    }
}

/// <summary>What the control-flow emitters share: calling a nested class, scratch arrays, copies.</summary>
internal static class FlowCode
{
    /// <summary>The array holding operand <paramref name="x"/>; a scalar literal is first written into a local array <paramref name="name"/>.</summary>
    public static string ArrayOf(EmitContext c, Node x, string name)
    {
        var v = c.ValueOf(x);
        if (v.Array is { } array) return array;
        c.Line($"{c.T}[] {name} = new {c.T}[{x.Shape.Size}];");
        c.Line($"System.Array.Fill({name}, {v.Literal});");
        return name;
    }

    /// <summary>
    /// Declares local <paramref name="name"/> as a per-thread scratch array of <paramref name="size"/> elements kept
    /// across calls (a loop's carry, a step's slice).
    /// </summary>
    public static string Scratch(EmitContext c, string name, int size)
    {
        string field = "s_" + name;
        c.Member(field, EmitContext.ThreadBufferField(c.T, field));
        return EmitContext.ThreadBuffer(c.T, field, size, c.Library);
    }

    /// <summary>The expression running nested class <paramref name="cls"/> on the array of arrays <paramref name="args"/>.</summary>
    public static string Run(EmitContext c, string cls, string args) => c.Library ? $"{cls}.Run({args}, seedOffset)" : $"{cls}.Run({args})";

    /// <summary><c>new T[][] { … }</c>.</summary>
    public static string Arrays(EmitContext c, IEnumerable<string> items) => $"new {c.T}[][] {{ {string.Join(", ", items)} }}";

    /// <summary><c>(T[])x.Clone()</c>.</summary>
    public static string Clone(EmitContext c, string array) => $"({c.T}[]){array}.Clone()";

    /// <summary>
    /// Local names <paramref name="prefix"/>_<c>input</c> for inputs <paramref name="from"/>..<paramref name="from"/>+<paramref name="count"/>
    /// of <paramref name="g"/>, after the inputs' names (made C# identifiers; a repeated name gets the input's index).
    /// </summary>
    public static string[] Locals(string prefix, Graph g, int from, int count)
    {
        var used = new HashSet<string>();
        return [.. Enumerable.Range(from, count).Select(i =>
        {
            var name = $"{prefix}_{Regex.Replace(GraphWalk.InputName(g.Inputs[i]).Replace("Σ", "sum_"), "[^A-Za-z0-9_]", "_")}";
            return used.Add(name) ? name : $"{name}_{i}";
        })];
    }

    /// <summary>"name [shape]" for inputs <paramref name="from"/>..<paramref name="from"/>+<paramref name="count"/> of <paramref name="g"/>, or "—".</summary>
    public static string Describe(Graph g, int from, int count) =>
        count == 0 ? "—" : string.Join(", ", Enumerable.Range(from, count).Select(i => $"{GraphWalk.InputName(g.Inputs[i])} {g.Inputs[i].Shape}"));

    /// <summary>Opens a block.</summary>
    public static void Open(EmitContext c)
    {
        c.Line("{");
        c.Indent();
    }

    /// <summary>Closes a block.</summary>
    public static void Close(EmitContext c)
    {
        c.Outdent();
        c.Line("}");
    }

    /// <summary>Writes <paramref name="parts"/> (arrays of the given sizes) one after another into <paramref name="result"/>: a packed value.</summary>
    public static void Pack(EmitContext c, string result, IReadOnlyList<string> parts, IReadOnlyList<int> sizes)
    {
        int offset = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            c.Line($"System.Array.Copy({parts[i]}, 0, {result}, {offset}, {sizes[i]});");
            offset += sizes[i];
        }
    }

    /// <summary>
    /// Writes nothing and returns true when an earlier node's code already computed this node (another result of the
    /// same loop or call); its value is then that array.
    /// </summary>
    public static bool AlreadyComputed(EmitContext c)
    {
        if (c.Bodies.ComputedBy(c.Node) is not { } array) return false;
        c.Line($"// (computed with an earlier result of the same {c.Node.Op.Name}: {array})");
        c.SetArray(array);
        return true;
    }

    /// <summary>
    /// The selected results to write: this node's into <paramref name="result"/>, and each later sibling's (see
    /// <see cref="SubgraphClasses.Siblings"/>) into a per-thread array declared here, named after this node and the result.
    /// </summary>
    public static List<(int Select, string Array)> Results(EmitContext c, string prefix, int select, string result, Func<Primitive, int?> selectOf)
    {
        var results = new List<(int Select, string Array)> { (select, result) };
        foreach (var s in c.Bodies.Siblings(c.Node, op => selectOf(op) is not null))
        {
            int k = selectOf(s.Op)!.Value;
            var existing = results.FindIndex(r => r.Select == k);
            string array = existing >= 0 ? results[existing].Array : $"{prefix}_result{k}";
            if (existing < 0)
            {
                c.Line($"{c.T}[] {array} = {Scratch(c, array, s.Shape.Size)};   // %{s.Id}, result {k} of the same {c.Node.Op.Name}");
                results.Add((k, array));
            }
            c.Bodies.Computed(s, array);
        }
        return results;
    }

    /// <summary>The exception type emitted code throws for a failed loop: JetSharp's own in compiled code, the BCL's base type in standalone code.</summary>
    public static string LoopException(EmitContext c) => c.Library ? "JetSharp.Control.WhileLoopException" : "System.InvalidOperationException";
}

/// <summary>
/// call: the callee is one nested class, written once however many nodes call it; each call node runs it on
/// its arguments and copies out the output it selects.
/// </summary>
internal sealed class CallEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        if (FlowCode.AlreadyComputed(c)) return;
        var op = (CallOp)c.Node.Op;
        var callee = op.Callee;
        string n = c.ResultName.TrimStart('@');
        string cls = c.Bodies.For(callee, "Callee", $"The function called by %{c.Node.Id} ({FlowCode.Describe(callee, 0, callee.Inputs.Count)} → {callee.Outputs.Count} output(s))");
        var args = c.Node.Inputs.Select((x, i) => FlowCode.ArrayOf(c, x, $"{n}_in{i}")).ToList();
        c.Line($"// call {cls}, output {op.Select} of {callee.Outputs.Count}");
        string result = c.AllocateResult(zero: false);
        var results = FlowCode.Results(c, n, op.Select, result, o => o is CallOp s && ReferenceEquals(s.Callee, callee) ? s.Select : null);
        if (results.Count == 1)
        {
            c.Line($"System.Array.Copy({FlowCode.Run(c, cls, FlowCode.Arrays(c, args))}[{op.Select}], {result}, {c.Node.Shape.Size});");
            return;
        }
        FlowCode.Open(c);
        c.Line($"{c.T}[][] r = {FlowCode.Run(c, cls, FlowCode.Arrays(c, args))};");
        foreach (var (k, array) in results) c.Line($"System.Array.Copy(r[{k}], {array}, {callee.Outputs[k].Shape.Size});");
        FlowCode.Close(c);
    }
}

/// <summary>
/// scan: a <c>for</c> loop over the steps. The carries live in two local arrays each (the current value and
/// the next, swapped after every step), each step's slice of a scanned input is copied into a local array,
/// the body is one nested class run once per step, and a stacked per-step output is written into the result
/// at the step's offset.
/// </summary>
internal sealed class ScanEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        if (FlowCode.AlreadyComputed(c)) return;
        var op = (ScanOp)c.Node.Op;
        var body = op.Body;
        int m = op.Carries, p = op.Xs, length = op.Length;
        string n = c.ResultName.TrimStart('@');
        string cls = c.Bodies.For(body, "ScanBody", $"The body of the scan at %{c.Node.Id}: carries {FlowCode.Describe(body, 0, m)}; xs {FlowCode.Describe(body, m, p)}; constants {FlowCode.Describe(body, m + p, op.Consts)}");
        var operands = c.Node.Inputs.Select((x, i) => FlowCode.ArrayOf(c, x, $"{n}_in{i}")).ToList();
        string what = op.Select < m ? $"final carry {op.Select} ({GraphWalk.InputName(body.Inputs[op.Select])})" : $"per-step output {op.Select - m}, stacked";
        c.Line($"// scan over {length} steps{(op.Reverse ? ", last to first" : "")}: body = {cls}(carries {FlowCode.Describe(body, 0, m)}; xs {FlowCode.Describe(body, m, p)}; constants {FlowCode.Describe(body, m + p, op.Consts)}) → {what}");
        string result = c.AllocateResult(zero: false);
        // Other results of the same loop used by later nodes are written by this loop (it runs once).
        var results = FlowCode.Results(c, n, op.Select, result, o => o is ScanOp s && ReferenceEquals(s.Body, body) && s.Length == length
            && s.Carries == m && s.Xs == p && s.Reverse == op.Reverse ? s.Select : null);
        FlowCode.Open(c);
        var carry = FlowCode.Locals(n, body, 0, m);
        var next = carry.Select(x => x + "_next").ToArray();
        for (int i = 0; i < m; i++)
        {
            int size = body.Inputs[i].Shape.Size;
            c.Line($"{c.T}[] {carry[i]} = {FlowCode.Scratch(c, carry[i], size)}, {next[i]} = {FlowCode.Scratch(c, next[i], size)};");
            c.Line($"System.Array.Copy({operands[i]}, {carry[i]}, {size});");
        }
        var slices = FlowCode.Locals(n, body, m, p);
        for (int i = 0; i < p; i++)
        {
            c.Line($"{c.T}[] {slices[i]} = {FlowCode.Scratch(c, slices[i], body.Inputs[m + i].Shape.Size)};");
        }
        c.Line($"{c.T}[][] a = {{ {string.Join(", ", [.. carry, .. slices, .. operands.Skip(m + p)])} }};");
        c.Line(op.Reverse ? $"for (int l = {length - 1}; l >= 0; l--)" : $"for (int l = 0; l < {length}; l++)");
        FlowCode.Open(c);
        for (int i = 0; i < p; i++)
        {
            int size = body.Inputs[m + i].Shape.Size;
            c.Line($"System.Array.Copy({operands[m + i]}, l * {size}, {slices[i]}, 0, {size});");
        }
        c.Line($"{c.T}[][] r = {FlowCode.Run(c, cls, "a")};");
        for (int i = 0; i < m; i++) c.Line($"System.Array.Copy(r[{i}], {next[i]}, {body.Inputs[i].Shape.Size});");
        for (int i = 0; i < m; i++)
        {
            c.Line($"({carry[i]}, {next[i]}) = ({next[i]}, {carry[i]});");
            c.Line($"a[{i}] = {carry[i]};");
        }
        foreach (var (k, array) in results.Where(r => r.Select >= m))
        {
            int size = body.Outputs[k].Shape.Size;
            c.Line($"System.Array.Copy(r[{k}], 0, {array}, l * {size}, {size});");
        }
        FlowCode.Close(c);
        foreach (var (k, array) in results.Where(r => r.Select < m))
            c.Line($"System.Array.Copy({carry[k]}, {array}, {body.Inputs[k].Shape.Size});");
        FlowCode.Close(c);
    }
}

/// <summary>
/// The scan's reverse sweep with checkpoints: a forward loop over the body keeping the state entering every
/// s-th step, then, segment by segment from the last, the segment's states recomputed from its checkpoint and
/// the cotangents pulled back through the body's VJP (<see cref="ScanReverse.BackwardBody"/>) step by step.
/// </summary>
internal sealed class ScanCheckpointVjpEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        var op = (ScanCheckpointVjpOp)c.Node.Op;
        var scan = op.Scan;
        var body = scan.Body;
        int m = scan.Carries, p = scan.Xs, q = scan.Consts, length = scan.Length, stride = op.Stride, input = op.Input;
        int ys = scan.Select >= m ? scan.Select - m : -1;
        var back = ScanReverse.BackwardBody(scan, ys);
        string n = c.ResultName.TrimStart('@'), t = c.T;
        string step = c.Bodies.For(body, "ScanBody", $"The body of the scan differentiated at %{c.Node.Id}");
        string pull = c.Bodies.For(back, "ScanBack", $"One backward step of the scan differentiated at %{c.Node.Id} (cotangents of the carries and accumulated constants ← the step's VJP)");
        var operands = c.Node.Inputs.Select((x, i) => FlowCode.ArrayOf(c, x, $"{n}_in{i}")).ToList();
        string ct = operands[^1];
        c.Line($"// reverse sweep of a {length}-step scan with a checkpoint every {stride} steps: forward over {step} keeping the state entering every {stride}th step,");
        c.Line($"// then each segment recomputed from its checkpoint and pulled back through {pull}; the result is the cotangent of input {input}");
        string result = c.AllocateResult(zero: false);
        string Index(string s) => scan.Reverse ? $"{length - 1} - {s}" : s;
        FlowCode.Open(c);
        var slices = FlowCode.Locals(n, body, m, p);
        for (int i = 0; i < p; i++) c.Line($"{t}[] {slices[i]} = {FlowCode.Scratch(c, slices[i], body.Inputs[m + i].Shape.Size)};");
        var consts = operands.Skip(m + p).Take(q).ToArray();
        void CopySlices(string l)
        {
            for (int i = 0; i < p; i++)
            {
                int size = body.Inputs[m + i].Shape.Size;
                c.Line($"System.Array.Copy({operands[m + i]}, ({l}) * {size}, {slices[i]}, 0, {size});");
            }
        }
        // Forward: the state entering steps 0, s, 2s, … (fresh arrays: they are kept).
        string kept = $"{n}_kept";
        c.Line($"var {kept} = new System.Collections.Generic.List<{t}[][]>();");
        FlowCode.Open(c);
        c.Line($"{t}[][] a = {{ {string.Join(", ", [.. operands.Take(m).Select(x => FlowCode.Clone(c, x)), .. slices, .. consts])} }};");
        c.Line($"for (int s = 0; s < {length}; s++)");
        FlowCode.Open(c);
        c.Line($"if (s % {stride} == 0) {kept}.Add({FlowCode.Arrays(c, Enumerable.Range(0, m).Select(i => $"a[{i}]"))});");
        CopySlices(Index("s"));
        c.Line($"{t}[][] r = {FlowCode.Run(c, step, "a")};");
        for (int i = 0; i < m; i++) c.Line($"a[{i}] = {FlowCode.Clone(c, $"r[{i}]")};");
        FlowCode.Close(c);
        FlowCode.Close(c);
        // Backward: cotangents of the carries (the selected one seeded), accumulators of the constants, stacked xs cotangent.
        string carryCt = $"{n}_ct", acc = $"{n}_acc", xsCt = $"{n}_xs_ct", yCt = $"{n}_y_ct";
        c.Line($"{t}[][] {carryCt} = {FlowCode.Arrays(c, Enumerable.Range(0, m).Select(i => i == scan.Select ? FlowCode.Clone(c, ct) : $"new {t}[{body.Inputs[i].Shape.Size}]"))};");
        c.Line($"{t}[][] {acc} = {FlowCode.Arrays(c, Enumerable.Range(0, q).Select(j => $"new {t}[{body.Inputs[m + p + j].Shape.Size}]"))};");
        bool wantsXs = input >= m && input < m + p;
        if (wantsXs) c.Line($"{t}[] {xsCt} = new {t}[{c.Node.Shape.Size}];");
        int ySize = ys >= 0 ? body.Outputs[m + ys].Shape.Size : 0;
        if (ys >= 0) c.Line($"{t}[] {yCt} = {FlowCode.Scratch(c, yCt, ySize)};");
        c.Line($"for (int k = {kept}.Count - 1; k >= 0; k--)");
        FlowCode.Open(c);
        string segment = $"{n}_segment";
        c.Line($"var {segment} = new System.Collections.Generic.List<{t}[][]> {{ {kept}[k] }};");
        c.Line($"for (int s = k * {stride}; s < System.Math.Min({length}, k * {stride} + {stride}) - 1; s++)");
        FlowCode.Open(c);
        CopySlices(Index("s"));
        c.Line($"{t}[][] r = {FlowCode.Run(c, step, FlowCode.Arrays(c, [.. Enumerable.Range(0, m).Select(i => $"{segment}[^1][{i}]"), .. slices, .. consts]))};");
        c.Line($"{segment}.Add({FlowCode.Arrays(c, Enumerable.Range(0, m).Select(i => FlowCode.Clone(c, $"r[{i}]")))});");
        FlowCode.Close(c);
        c.Line($"for (int s = System.Math.Min({length}, k * {stride} + {stride}) - 1; s >= k * {stride}; s--)");
        FlowCode.Open(c);
        c.Line($"int l = {Index("s")};");
        CopySlices("l");
        if (ys >= 0) c.Line($"System.Array.Copy({ct}, l * {ySize}, {yCt}, 0, {ySize});");
        var args = Enumerable.Range(0, m).Select(i => $"{carryCt}[{i}]")
            .Concat(Enumerable.Range(0, q).Select(j => $"{acc}[{j}]"))
            .Concat(Enumerable.Range(0, m).Select(i => $"{segment}[s - k * {stride}][{i}]"))
            .Concat(slices)
            .Concat(ys >= 0 ? [yCt] : [])
            .Concat(consts);
        c.Line($"{t}[][] r = {FlowCode.Run(c, pull, FlowCode.Arrays(c, args))};");
        c.Line($"{carryCt} = {FlowCode.Arrays(c, Enumerable.Range(0, m).Select(i => FlowCode.Clone(c, $"r[{i}]")))};");
        c.Line($"{acc} = {FlowCode.Arrays(c, Enumerable.Range(0, q).Select(j => FlowCode.Clone(c, $"r[{m + j}]")))};");
        if (wantsXs)
        {
            int size = body.Inputs[input].Shape.Size;
            c.Line($"System.Array.Copy(r[{m + q + input - m}], 0, {xsCt}, l * {size}, {size});");
        }
        FlowCode.Close(c);
        FlowCode.Close(c);
        string value = input < m ? $"{carryCt}[{input}]" : wantsXs ? xsCt : $"{acc}[{input - m - p}]";
        c.Line($"System.Array.Copy({value}, {result}, {c.Node.Shape.Size});");
        FlowCode.Close(c);
    }
}

/// <summary>cond: an <c>if</c>/<c>else</c> on the predicate's one element, each branch one nested class; a NaN predicate throws the interpreter's error.</summary>
internal sealed class CondEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        var op = (CondOp)c.Node.Op;
        var operands = c.Node.Inputs.Skip(1).Select((x, i) => FlowCode.ArrayOf(c, x, $"{c.ResultName.TrimStart('@')}_in{i}")).ToList();
        string then = c.Bodies.For(op.Then, "Then", $"The branch of the cond at %{c.Node.Id} taken when the predicate is > 0");
        string otherwise = c.Bodies.For(op.Else, "Else", $"The branch of the cond at %{c.Node.Id} taken when the predicate is ≤ 0");
        c.Line($"// cond: {then} when the predicate {c.Element(c.Node.Inputs[0], "0")} > 0, else {otherwise}");
        string result = c.AllocateResult(zero: false);
        FlowCode.Open(c);
        c.Line($"double p = {c.Element(c.Node.Inputs[0], "0")};");
        c.Line("if (double.IsNaN(p)) throw new System.InvalidOperationException(\"cond: the predicate is NaN; a predicate must be a number (> 0 means true).\");");
        c.Line($"{c.T}[][] a = {{ {string.Join(", ", operands)} }};");
        c.Line($"{c.T}[][] r;");
        c.Line($"if (p > 0) r = {FlowCode.Run(c, then, "a")};");
        c.Line($"else r = {FlowCode.Run(c, otherwise, "a")};");
        c.Line($"System.Array.Copy(r[0], {result}, {c.Node.Shape.Size});");
        FlowCode.Close(c);
    }
}

/// <summary>
/// The loop of a <see cref="WhileLoop"/> as a C# <c>while</c>: the condition and the body are nested classes,
/// the iteration limit is checked before each step, and a NaN condition or a run past the limit throws the
/// interpreter's message.
/// </summary>
internal static class WhileCode
{
    /// <summary>The classes of the loop's condition and body.</summary>
    public static (string Condition, string Body) Classes(EmitContext c, WhileLoop loop) => (
        c.Bodies.For(loop.Condition, "WhileCondition", $"The condition of while loop #{loop.Id} (continue while {(loop.StopWhenPositive ? "≤ 0" : "> 0")})"),
        c.Bodies.For(loop.Body, "WhileBody", $"The body of while loop #{loop.Id}: carries {FlowCode.Describe(loop.Body, 0, loop.CarryCount)}; constants {FlowCode.Describe(loop.Body, loop.CarryCount, loop.ConstantCount)}"));

    /// <summary>
    /// Writes the loop over the arguments array <c>a</c> (carries first, then constants), counting trips in
    /// <c>k</c>. <paramref name="beforeStep"/> writes what happens before each application of the body (the carry
    /// entering the step is <c>a[0..]</c>); <paramref name="advance"/> writes how the body's results <c>r</c>
    /// become the next carry in <c>a</c>.
    /// </summary>
    public static void Loop(EmitContext c, WhileLoop loop, Action? beforeStep, Action advance)
    {
        var (condition, body) = Classes(c, loop);
        string shapes = string.Join(", ", loop.Body.Inputs.Take(loop.CarryCount).Select(i => i.Shape.ToString()));
        string exception = FlowCode.LoopException(c);
        c.Line("int k = 0;");
        c.Line("while (true)");
        FlowCode.Open(c);
        c.Line($"double p = {FlowCode.Run(c, condition, "a")}[0][0];");
        c.Line($"if (double.IsNaN(p)) throw new {exception}($\"while: the condition is NaN after {{k}} iteration(s) (carry of shapes {shapes}); a condition must be a number.\");");
        c.Line(loop.StopWhenPositive ? "if (p > 0) break;" : "if (!(p > 0)) break;");
        c.Line($"if (k == {loop.MaxIterations}) throw new {exception}($\"while: the loop did not finish within maxIterations = {loop.MaxIterations} iterations \" +");
        c.Line($"    $\"(the condition is still {{p:G4}}; carry of shapes {shapes}). Raise maxIterations or check that the condition can become {(loop.StopWhenPositive ? "> 0" : "≤ 0")}.\");");
        beforeStep?.Invoke();
        c.Line($"{c.T}[][] r = {FlowCode.Run(c, body, "a")};");
        advance();
        c.Line("k++;");
        FlowCode.Close(c);
    }
}

/// <summary>while: the final carry, packed. The carries live in two local arrays each, swapped after every step.</summary>
internal sealed class WhileEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        var loop = ((WhileOp)c.Node.Op).Loop;
        int m = loop.CarryCount;
        string n = c.ResultName.TrimStart('@');
        var operands = c.Node.Inputs.Select((x, i) => FlowCode.ArrayOf(c, x, $"{n}_in{i}")).ToList();
        var (condition, body) = WhileCode.Classes(c, loop);
        c.Line($"// while {condition} holds (at most {loop.MaxIterations} iterations): carry = {body}(carries {FlowCode.Describe(loop.Body, 0, m)}; constants {FlowCode.Describe(loop.Body, m, loop.ConstantCount)})");
        string result = c.AllocateResult(zero: false);
        FlowCode.Open(c);
        var carry = FlowCode.Locals(n, loop.Body, 0, m);
        var next = carry.Select(x => x + "_next").ToArray();
        var sizes = loop.Body.Inputs.Take(m).Select(i => i.Shape.Size).ToArray();
        for (int i = 0; i < m; i++)
        {
            c.Line($"{c.T}[] {carry[i]} = {FlowCode.Scratch(c, carry[i], sizes[i])}, {next[i]} = {FlowCode.Scratch(c, next[i], sizes[i])};");
            c.Line($"System.Array.Copy({operands[i]}, {carry[i]}, {sizes[i]});");
        }
        c.Line($"{c.T}[][] a = {{ {string.Join(", ", [.. carry, .. operands.Skip(m)])} }};");
        WhileCode.Loop(c, loop, null, () =>
        {
            for (int i = 0; i < m; i++) c.Line($"System.Array.Copy(r[{i}], {next[i]}, {sizes[i]});");
            for (int i = 0; i < m; i++)
            {
                c.Line($"({carry[i]}, {next[i]}) = ({next[i]}, {carry[i]});");
                c.Line($"a[{i}] = {carry[i]};");
            }
        });
        FlowCode.Pack(c, result, carry, sizes);
        FlowCode.Close(c);
    }
}

/// <summary>
/// while_vjp: the loop replayed keeping the carry entering every step (or every s-th, with checkpointing; for
/// ⌈√trips⌉ the loop first runs once to count its trips), then the steps in reverse, each segment's carries
/// recomputed from its checkpoint: the step adjoint (a nested class) maps (carry, constants, c̄) to the new
/// c̄ and the increments of the accumulators. The result packs c̄ then the accumulators.
/// </summary>
internal sealed class WhileSweepEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        var op = (WhileSweepOp)c.Node.Op;
        var loop = op.Loop;
        int m = loop.CarryCount, loopInputs = loop.Body.Inputs.Count, cts = op.CotangentCount, accs = op.AccumulatorCount;
        string n = c.ResultName.TrimStart('@'), t = c.T;
        var operands = c.Node.Inputs.Select((x, i) => FlowCode.ArrayOf(c, x, $"{n}_in{i}")).ToList();
        var consts = operands.Skip(m).Take(loopInputs - m).ToArray();
        var (_, body) = WhileCode.Classes(c, loop);
        string adjoint = c.Bodies.For(op.StepAdjoint, "StepAdjoint", $"The pullback of one step of while loop #{loop.Id} ((carry, constants, c̄) → (c̄, increments))");
        int configured = loop.Checkpointing.Stride;
        c.Line($"// reverse sweep of while loop #{loop.Id}: replay it keeping {(configured == 0 ? "the carry entering every step" : configured > 0 ? $"the carry entering every {configured}th step" : "the carry entering every ⌈√trips⌉th step")},");
        c.Line($"// then pull c̄ back through {adjoint} step by step, last step first");
        string result = c.AllocateResult(zero: false);
        FlowCode.Open(c);
        string stride = $"{n}_stride", steps = $"{n}_steps", kept = $"{n}_kept";
        string[] Start() => [.. operands.Take(m).Select(x => FlowCode.Clone(c, x)), .. consts];
        void Fresh()
        {
            for (int i = 0; i < m; i++) c.Line($"a[{i}] = {FlowCode.Clone(c, $"r[{i}]")};");
        }
        if (configured >= 0) c.Line($"int {stride} = {Math.Max(1, configured)};");
        else
        {
            c.Line($"int {stride};");
            FlowCode.Open(c);
            c.Line("// count the trips first");
            c.Line($"{t}[][] a = {{ {string.Join(", ", Start())} }};");
            WhileCode.Loop(c, loop, null, Fresh);
            c.Line($"{stride} = System.Math.Max(1, (int)System.Math.Ceiling(System.Math.Sqrt(k)));");
            FlowCode.Close(c);
        }
        c.Line($"var {kept} = new System.Collections.Generic.List<{t}[][]>();");
        c.Line($"int {steps};");
        FlowCode.Open(c);
        c.Line($"{t}[][] a = {{ {string.Join(", ", Start())} }};");
        WhileCode.Loop(c, loop, () => c.Line($"if (k % {stride} == 0) {kept}.Add({FlowCode.Arrays(c, Enumerable.Range(0, m).Select(i => $"a[{i}]"))});"), Fresh);
        c.Line($"{steps} = k;");
        FlowCode.Close(c);
        string ct = $"{n}_ct", acc = $"{n}_acc", segment = $"{n}_segment";
        var ctSizes = op.StepAdjoint.Outputs.Select(o => o.Shape.Size).ToArray();
        c.Line($"{t}[][] {ct} = {FlowCode.Arrays(c, operands.Skip(loopInputs).Select(x => FlowCode.Clone(c, x)))};");
        c.Line($"{t}[][] {acc} = {FlowCode.Arrays(c, Enumerable.Range(0, accs).Select(j => $"new {t}[{ctSizes[cts + j]}]"))};");
        c.Line($"for (int s = {kept}.Count - 1; s >= 0; s--)");
        FlowCode.Open(c);
        c.Line($"var {segment} = new System.Collections.Generic.List<{t}[][]> {{ {kept}[s] }};");
        c.Line($"for (int j = 1; j < System.Math.Min({stride}, {steps} - s * {stride}); j++)");
        FlowCode.Open(c);
        c.Line($"{t}[][] r = {FlowCode.Run(c, body, FlowCode.Arrays(c, [.. Enumerable.Range(0, m).Select(i => $"{segment}[^1][{i}]"), .. consts]))};");
        c.Line($"{segment}.Add({FlowCode.Arrays(c, Enumerable.Range(0, m).Select(i => FlowCode.Clone(c, $"r[{i}]")))});");
        FlowCode.Close(c);
        c.Line($"for (int j = {segment}.Count - 1; j >= 0; j--)");
        FlowCode.Open(c);
        var args = Enumerable.Range(0, m).Select(i => $"{segment}[j][{i}]").Concat(consts).Concat(Enumerable.Range(0, cts).Select(i => $"{ct}[{i}]"));
        c.Line($"{t}[][] r = {FlowCode.Run(c, adjoint, FlowCode.Arrays(c, args))};");
        c.Line($"{ct} = {FlowCode.Arrays(c, Enumerable.Range(0, cts).Select(i => FlowCode.Clone(c, $"r[{i}]")))};");
        for (int q = 0; q < accs; q++)
            c.Line($"for (int i = 0; i < {ctSizes[cts + q]}; i++) {acc}[{q}][i] += r[{cts + q}][i];");
        FlowCode.Close(c);
        FlowCode.Close(c);
        FlowCode.Pack(c, result, [.. Enumerable.Range(0, cts).Select(i => $"{ct}[{i}]"), .. Enumerable.Range(0, accs).Select(q => $"{acc}[{q}]")], ctSizes);
        FlowCode.Close(c);
    }
}
