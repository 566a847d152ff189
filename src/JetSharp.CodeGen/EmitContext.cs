using System.Globalization;
using System.Text;

namespace JetSharp.CodeGen;

/// <summary>
/// The value of a node in emitted code: a flat row-major array variable, or (for a scalar constant) a
/// literal that is written into the expressions that use it.
/// </summary>
/// <param name="Array">Name of the array variable or field, or null for a literal.</param>
/// <param name="Literal">The literal text, or null for an array.</param>
/// <param name="Owned">True when the array was allocated by this node (not an input, a constant or a view of one).</param>
public readonly record struct Operand(string? Array, string? Literal, bool Owned);

/// <summary>
/// What a <see cref="IPrimitiveEmitter"/> sees while it writes one node: the node, the way to read its
/// operands (<see cref="Element"/>), a fresh result array (<see cref="AllocateResult"/>), loop nests over
/// flat row-major indices (<see cref="Loops"/>) and the text sink (<see cref="Line"/>).
/// </summary>
public sealed class EmitContext
{
    private readonly StringBuilder _body;
    private readonly Dictionary<Node, Operand> _values;
    private readonly Dictionary<string, string> _helpers;
    private int _indent;

    internal EmitContext(StringBuilder body, Dictionary<Node, Operand> values, Dictionary<string, string> helpers, DType dtype, int indent, bool library)
    {
        Library = library;
        _body = body;
        _values = values;
        _helpers = helpers;
        _indent = indent;
        T = dtype == DType.Float32 ? "float" : "double";
        MathClass = dtype == DType.Float32 ? "System.MathF" : "System.Math";
    }

    /// <summary>The node being emitted.</summary>
    public Node Node { get; internal set; } = null!;

    /// <summary>The readable variable name chosen for the node's result.</summary>
    public string ResultName { get; internal set; } = "";

    /// <summary>The C# element type: <c>double</c> or <c>float</c>.</summary>
    public string T { get; }

    /// <summary>The math class for the element type: <c>System.Math</c> or <c>System.MathF</c>.</summary>
    public string MathClass { get; }

    /// <summary>
    /// True when the code is compiled in-process (<see cref="EmittedGraph"/>) rather than exported: it may
    /// then call JetSharp's kernels (<see cref="EmittedKernels"/>, the library's GEMM) and is not standalone.
    /// </summary>
    public bool Library { get; }

    internal Operand? Result { get; private set; }

    /// <summary>The classes written for subgraphs (callees, loop bodies, branches), shared by every class of one emission.</summary>
    internal SubgraphClasses Bodies { get; init; } = null!;

    /// <summary>Nodes computed inside their consumer's loop instead of stored (compiled code only).</summary>
    internal IReadOnlySet<Node> Fused { get; set; } = new HashSet<Node>();

    internal void Reset(Node node, string name)
    {
        Node = node;
        ResultName = name;
        Result = null;
    }

    /// <summary>The value of an operand of the node.</summary>
    public Operand ValueOf(Node input) => _values[input];

    /// <summary>The expression for element <paramref name="offset"/> (flat row-major) of <paramref name="input"/>.</summary>
    public string Element(Node input, string offset)
    {
        var v = _values[input];
        return v.Literal ?? $"{v.Array}[{offset}]";
    }

    /// <summary>
    /// The declaration of a per-thread buffer field of the emitted class, read and set as <c>field.Value</c>: a static
    /// <see cref="ThreadLocal{T}"/>, not a <c>[ThreadStatic]</c> field. Compiled code is loaded into collectible load
    /// contexts, and thread statics of collectible classes, touched on pool threads and on the GEMM's workers while the
    /// GC collects one such context after another, crashed the .NET 10 runtime's GC (a null method table, the signature
    /// of the intermittent crashes in docs/reliability.md, reproduced without JetSharp by tools/stress/CollectibleThreadStatics).
    /// A ThreadLocal keeps its per-thread values in CoreLib's own thread statics, so no collectible class has any.
    /// </summary>
    public static string ThreadBufferField(string t, string field) =>
        $"private static readonly System.Threading.ThreadLocal<{t}[]> {field} = new System.Threading.ThreadLocal<{t}[]>();";

    /// <summary>
    /// The expression reading the per-thread buffer <paramref name="field"/> (a <see cref="ThreadBufferField"/>) of
    /// <paramref name="size"/> elements, allocated zeroed on a thread's first use. Compiled code
    /// (<paramref name="library"/>) allocates it 64-byte aligned (<see cref="AlignedArrays"/>), for its vector loops;
    /// standalone code, which depends only on the BCL, with <c>new</c>.
    /// </summary>
    public static string ThreadBuffer(string t, string field, int size, bool library) =>
        $"{field}.Value ??= {(library ? $"AlignedArrays.Allocate<{t}>({size})" : $"new {t}[{size}]")}";

    /// <summary>
    /// Declares the node's result array and returns its name. The array is a per-thread buffer kept across
    /// calls (a <see cref="ThreadBufferField"/>, allocated on a thread's first call), so a call allocates nothing
    /// but its outputs; a buffer whose value is no longer needed is reused by a later node of the same size,
    /// which keeps the working set small. With <paramref name="zero"/> it is cleared first (for code that
    /// accumulates into it); otherwise the code must write every element.
    /// </summary>
    public string AllocateResult(bool zero = true)
    {
        int size = Node.Shape.Size;
        string field;
        if (_free.TryGetValue(size, out var stack) && stack.Count > 0) field = stack.Pop();
        else
        {
            field = $"s_buffer{_fieldCount++}";
            Member(field, ThreadBufferField(T, field));
        }
        Line($"{T}[] {ResultName} = {ThreadBuffer(T, field, size, Library)};");
        if (zero) Line($"System.Array.Clear({ResultName});");
        _buffers[ResultName] = (field, size);
        Result = new Operand(ResultName, null, true);
        return ResultName;
    }

    private readonly Dictionary<int, Stack<string>> _free = [];
    private readonly Dictionary<string, (string Field, int Size)> _buffers = [];
    private int _fieldCount;

    internal List<(string Field, int NodeId)> BoundConstants { get; } = [];

    /// <summary>Compiled code: field <paramref name="field"/> receives the value of constant node <paramref name="nodeId"/> from <c>BindConstants</c>.</summary>
    public void BindConstant(string field, int nodeId) => BoundConstants.Add((field, nodeId));

    /// <summary>Returns the buffer behind the array variable <paramref name="array"/> to the pool (its value is dead).</summary>
    internal void Release(string array)
    {
        if (!_buffers.Remove(array, out var b)) return;
        if (!_free.TryGetValue(b.Size, out var stack)) _free[b.Size] = stack = new Stack<string>();
        stack.Push(b.Field);
    }

    /// <summary>
    /// Makes the node's value an existing operand (a view: reshape, stop-gradient). Safe because emitted code
    /// never writes an array after the node that allocated it.
    /// </summary>
    public void Alias(Operand value) => Result = value;

    /// <summary>Makes the node's value a literal (a scalar constant).</summary>
    public void SetLiteral(string literal) => Result = new Operand(null, literal, false);

    /// <summary>Makes the node's value a named array declared elsewhere (an input or a constant field).</summary>
    public void SetArray(string name) => Result = new Operand(name, null, false);

    /// <summary>Writes one line at the current indentation.</summary>
    public void Line(string text)
    {
        if (text.Length > 0) _body.Append(' ', 4 * _indent);
        _body.Append(text).Append('\n');
    }

    /// <summary>Adds a private member of the generated class once (keyed by <paramref name="key"/>): a helper function or a constant field.</summary>
    public void Member(string key, string code) => _helpers.TryAdd(key, code);

    /// <summary>A literal of the element type for <paramref name="value"/> (round-trip exact; parenthesised when negative).</summary>
    public string Literal(double value)
    {
        if (double.IsNaN(value)) return $"{T}.NaN";
        if (double.IsPositiveInfinity(value)) return $"{T}.PositiveInfinity";
        if (double.IsNegativeInfinity(value)) return $"{T}.NegativeInfinity";
        string s = T == "float" ? ((float)value).ToString("R", CultureInfo.InvariantCulture) : value.ToString("R", CultureInfo.InvariantCulture);
        if (!s.Contains('.') && !s.Contains('E')) s += ".0";
        if (T == "float") s += "f";
        return value < 0 || (value == 0 && double.IsNegative(value)) ? $"({s})" : s;
    }

    /// <summary>Row-major strides of <paramref name="shape"/>.</summary>
    public static int[] Strides(Shape shape)
    {
        var s = new int[shape.Rank];
        int acc = 1;
        for (int i = shape.Rank - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
        return s;
    }

    /// <summary>
    /// Strides with which an operand of shape <paramref name="from"/> is read when broadcast (NumPy rules,
    /// right-aligned) to <paramref name="to"/>: 0 along the axes it is repeated on.
    /// </summary>
    public static int[] BroadcastStrides(Shape from, Shape to)
    {
        var own = Strides(from);
        var s = new int[to.Rank];
        for (int k = 0; k < to.Rank; k++)
        {
            int j = k - (to.Rank - from.Rank);
            s[k] = j < 0 || from[j] == 1 ? 0 : own[j];
        }
        return s;
    }

    /// <summary>
    /// Emits a loop nest over <paramref name="dims"/> and calls <paramref name="body"/> with one flat offset
    /// expression per operand, operand o at <c>bases[o] + Σ index_k · strides[o][k]</c>. Adjacent axes that every
    /// operand walks contiguously are merged, so same-shape elementwise code is a single flat loop.
    /// Loop variables are named <paramref name="prefix"/> + axis (or i, j, k, l, … without a prefix).
    /// </summary>
    public void Loops(int[] dims, int[][] strides, int[] bases, Action<string[]> body, string? prefix = null) =>
        LoopNest(dims, strides, bases, body, prefix, ranged: false);

    /// <summary>
    /// Compiled code: the loop nest of <see cref="Loops"/>, its outermost
    /// (merged) axis cut into ranges that <see cref="EmittedKernels.ForRanges"/> runs on both cores when <paramref name="work"/>
    /// reaches the interpreter's threshold (see <see cref="EmittedKernels.EmitThreshold"/>); smaller nests, and exported code,
    /// get the plain nest. The body must write disjoint elements for distinct outermost indices (an elementwise result).
    /// </summary>
    internal void RangedLoops(int[] dims, int[][] strides, int[] bases, Action<string[]> body, long work, bool computeBound)
    {
        var (d, _) = Merge(dims, strides);
        if (!Library || d.Count == 0 || work < EmittedKernels.EmitThreshold(computeBound))
        {
            Loops(dims, strides, bases, body);
            return;
        }
        // A flat loop is cut at whole grains; a nest at its outer index.
        string grain = d.Count == 1 ? "EmittedKernels.RangeGrain" : "1";
        InRanges($"{d[0]}", grain, work, computeBound, () => LoopNest(dims, strides, bases, body, null, ranged: true));
    }

    /// <summary>
    /// Compiled code: <c>EmittedKernels.ForRanges(length, grain, work, computeBound, (from, to) => { … });</c> around the lines
    /// <paramref name="body"/> writes, which run over [from, to) of <paramref name="length"/>.
    /// </summary>
    internal void InRanges(string length, string grain, long work, bool computeBound, Action body)
    {
        Line($"EmittedKernels.ForRanges({length}, {grain}, {work}, {(computeBound ? "true" : "false")}, (from, to) =>");
        Line("{");
        _indent++;
        body();
        _indent--;
        Line("});");
    }

    /// <summary>
    /// Compiled code: one span call per innermost contiguous run of the merged nest <paramref name="d"/> (strides
    /// <paramref name="st"/>, operand 0 the result, which has stride 1 along the run). <paramref name="call"/>(offsets, from,
    /// length) writes the call for the run at the given operand offsets (without the semicolon): when <c>from</c> is not
    /// null the run is a part of the whole one, starting <c>from</c> elements in and <c>length</c> long (operands with stride
    /// 1 along it add <c>from</c>, those with stride 0 do not). A nest of at least the interpreter's threshold of
    /// <paramref name="work"/> goes through <see cref="EmittedKernels.ForRanges"/>: cut at its outermost index when the
    /// result has a stride along it (different indices write different elements) and it has several ranges' worth of
    /// indices (or the run is short), otherwise every range runs the whole nest over its grains of each run.
    /// </summary>
    internal void SpanRuns(List<int> d, List<int>[] st, Func<string[], string?, string, string> call, long work, bool computeBound)
    {
        int len = d[^1];
        int[] outerDims = [.. d.Take(d.Count - 1)];
        int[][] outerStrides = [.. st.Select(s => s.Take(s.Count - 1).ToArray())];
        var zero = new int[st.Length];
        string lenText = len.ToString(CultureInfo.InvariantCulture);
        bool large = Library && work >= EmittedKernels.EmitThreshold(computeBound);
        bool byOuter = outerDims.Length > 0 && st[0][0] != 0 && (outerDims[0] >= 8 || len < 2 * EmittedKernels.RangeGrain);
        if (large && byOuter)
            InRanges($"{outerDims[0]}", "1", work, computeBound,
                () => LoopNest(outerDims, outerStrides, zero, o => Line(call(o, null, lenText) + ";"), null, ranged: true));
        else if (large && len >= 2 * EmittedKernels.RangeGrain)
            InRanges(lenText, "EmittedKernels.RangeGrain", work, computeBound,
                () => Loops(outerDims, outerStrides, zero, o => Line(call(o, "from", "to - from") + ";")));
        else Loops(outerDims, outerStrides, zero, o => Line(call(o, null, lenText) + ";"));
    }

    private void LoopNest(int[] dims, int[][] strides, int[] bases, Action<string[]> body, string? prefix, bool ranged)
    {
        var (d, st) = Merge(dims, strides);
        string Var(int k) => prefix is not null ? prefix + k : d.Count <= 4 ? "ijkl"[k].ToString() : "i" + k;
        for (int k = 0; k < d.Count; k++)
        {
            // The outermost loop of a range (inside EmittedKernels.ForRanges' body) runs over [from, to).
            if (k == 0 && ranged) Line($"for (int {Var(k)} = from; {Var(k)} < to; {Var(k)}++)");
            else Line($"for (int {Var(k)} = 0; {Var(k)} < {d[k]}; {Var(k)}++)");
            _indent++;
        }
        var offsets = new string[strides.Length];
        for (int o = 0; o < strides.Length; o++)
        {
            var terms = new List<string>();
            if (bases[o] != 0) terms.Add(bases[o].ToString(CultureInfo.InvariantCulture));
            for (int k = 0; k < d.Count; k++)
                if (st[o][k] != 0) terms.Add(st[o][k] == 1 ? Var(k) : $"{Var(k)} * {st[o][k]}");
            offsets[o] = terms.Count == 0 ? "0" : string.Join(" + ", terms);
        }
        int start = _body.Length;
        body(offsets);
        if (d.Count > 0)
        {
            // Braces only around a body of several lines.
            _indent--;
            if (_body.ToString(start, _body.Length - start).Count(ch => ch == '\n') > 1)
            {
                _body.Insert(start, new string(' ', 4 * _indent) + "{\n");
                Line("}");
            }
        }
        _indent -= Math.Max(0, d.Count - 1);
    }

    /// <summary>
    /// The loop nest <see cref="Loops"/> runs: adjacent axes that every operand walks contiguously merged into
    /// one, and axes of length 1 dropped.
    /// </summary>
    public static (List<int> Dims, List<int>[] Strides) Merge(int[] dims, int[][] strides)
    {
        var d = new List<int>(dims);
        var st = strides.Select(s => new List<int>(s)).ToArray();
        for (int k = d.Count - 2; k >= 0; k--)
            if (st.All(s => s[k] == s[k + 1] * d[k + 1]))
            {
                d[k] *= d[k + 1];
                d.RemoveAt(k + 1);
                foreach (var s in st) { s[k] = s[k + 1]; s.RemoveAt(k + 1); }
            }
        for (int k = d.Count - 1; k >= 0; k--)
            if (d[k] == 1) { d.RemoveAt(k); foreach (var s in st) s.RemoveAt(k); }
        return (d, st);
    }

    /// <summary>Increases the indentation of the following lines.</summary>
    public void Indent() => _indent++;

    /// <summary>Decreases the indentation of the following lines.</summary>
    public void Outdent() => _indent--;
}
