using JetSharp.Backend;

namespace JetSharp.CodeGen;

/// <summary>
/// Elementwise primitives, written from their <see cref="Primitive.Arithmetic"/> trait (the same description
/// the fuser runs): one loop over the output, operands broadcast NumPy-style by stride-0 reads.
/// The functions follow the backend's definitions (sigmoid = 1/(1+e⁻ˣ), softplus = max(x,0)+log1p(e^−|x|)).
/// </summary>
public sealed class ElementwiseEmitter : IPrimitiveEmitter
{
    /// <summary>The shared instance.</summary>
    public static readonly ElementwiseEmitter Instance = new();

    /// <summary>Whether <paramref name="op"/> has a C# formula here.</summary>
    public static bool Supports(ElementwiseArithmetic op) => op.Binary is not null || op.Unary is { } u && Enum.IsDefined(u);

    /// <inheritdoc/>
    public void Emit(EmitContext c)
    {
        var op = c.Node.Op.Arithmetic!.Value;
        if (c.Library && c.Node.Inputs.Any(c.Fused.Contains))
        {
            FusedLoop(c);
            return;
        }
        if (c.Library && Vectorised(c, op)) return;
        Elementwise(c, args => Formula(c, op, args), computeBound: IsTranscendental(op));
    }

    /// <summary>Whether a node can join a fused chain: add, sub, mul, div or neg, every operand the node's shape or a scalar.</summary>
    internal static bool Fusible(Node n) =>
        n.Op.Arithmetic is { } a && (a.Binary is BinaryOp.Add or BinaryOp.Sub or BinaryOp.Mul or BinaryOp.Div || a.Unary == UnaryOp.Neg)
        && n.Shape.Size >= 8 && n.Inputs.All(x => x.Shape == n.Shape || x.Shape.Size == 1);

    /// <summary>
    /// A fused chain: one loop of <c>Vector&lt;T&gt;</c> arithmetic over the flat result (then a scalar tail),
    /// the fused operands' expressions written in place, so their intermediate arrays never exist.
    /// </summary>
    private static void FusedLoop(EmitContext c)
    {
        var node = c.Node;
        int size = node.Shape.Size;
        string v = $"System.Numerics.Vector<{c.T}>";
        string Formula(Node x, bool vector) => FusedFormula(c, x, vector, "i");
        var r = c.AllocateResult(zero: false);
        if (size >= EmittedKernels.EmitThreshold(computeBound: false))
        {
            // Large: ranges of whole grains (whole vectors) on both cores, the last one with the scalar tail, so each
            // element gets the same vector or scalar code as in the single loop below.
            c.InRanges($"{size}", "EmittedKernels.RangeGrain", size, computeBound: false, () => Loop("from", "to"));
            return;
        }
        c.Line("{");
        c.Indent();
        Loop("0", $"{size}");
        c.Outdent();
        c.Line("}");

        // Whole vectors from start, then the scalar tail up to end.
        void Loop(string start, string end)
        {
            c.Line($"int i = {start};");
            c.Line($"for (; i <= {end} - {v}.Count; i += {v}.Count)");
            c.Line($"    ({Formula(node, true)}).CopyTo({r}, i);");
            c.Line($"for (; i < {end}; i++) {r}[i] = {Formula(node, false)};");
        }
    }

    /// <summary>
    /// The expression of fused node <paramref name="x"/> at flat element <paramref name="index"/> (a <c>Vector&lt;T&gt;</c>
    /// starting there when <paramref name="vector"/>), its fused operands written in place.
    /// </summary>
    internal static string FusedFormula(EmitContext c, Node x, bool vector, string index)
    {
        string v = $"System.Numerics.Vector<{c.T}>";
        string Operand(Node y)
        {
            if (c.Fused.Contains(y)) return "(" + FusedFormula(c, y, vector, index) + ")";
            var value = c.ValueOf(y);
            if (value.Literal is { } lit) return vector ? $"new {v}({lit})" : lit;
            if (y.Shape.Size == 1) return vector ? $"new {v}({value.Array}[0])" : $"{value.Array}[0]";
            return vector ? $"new {v}({value.Array}, {index})" : $"{value.Array}[{index}]";
        }
        var a = x.Op.Arithmetic!.Value;
        var args = x.Inputs.Select(Operand).ToArray();
        return a.Binary switch
        {
            BinaryOp.Add => $"{args[0]} + {args[1]}",
            BinaryOp.Sub => $"{args[0]} - {args[1]}",
            BinaryOp.Mul => $"{args[0]} * {args[1]}",
            BinaryOp.Div => $"{args[0]} / {args[1]}",
            _ => $"-{args[0]}",
        };
    }

    /// <summary>Whether the interpreter counts <paramref name="op"/> as compute-bound (a transcendental function: parallel from 32K elements).</summary>
    internal static bool IsTranscendental(ElementwiseArithmetic op) =>
        op.Unary is UnaryOp.Exp or UnaryOp.Log or UnaryOp.Sin or UnaryOp.Cos or UnaryOp.Tanh or UnaryOp.Sigmoid or UnaryOp.Softplus;

    /// <summary>
    /// Compiled-backend form: the loop nest's innermost contiguous run (at least 8 elements) goes to a
    /// vectorised kernel of <see cref="EmittedKernels"/>, an operand repeated along it passed as a scalar.
    /// False (nothing written) when the layout does not allow it.
    /// </summary>
    private static bool Vectorised(EmitContext c, ElementwiseArithmetic op)
    {
        var node = c.Node;
        var strides = new int[node.Inputs.Count + 1][];
        strides[0] = EmitContext.Strides(node.Shape);
        for (int i = 0; i < node.Inputs.Count; i++) strides[i + 1] = EmitContext.BroadcastStrides(node.Inputs[i].Shape, node.Shape);
        var (d, st) = EmitContext.Merge([.. node.Shape], strides);
        if (d.Count == 0 || d[^1] < 8 || st[0][^1] != 1) return false;
        int len = d[^1];
        var isSpan = new bool[node.Inputs.Count];
        for (int i = 0; i < node.Inputs.Count; i++)
        {
            int inner = st[i + 1][^1];
            if (inner == 1 && c.ValueOf(node.Inputs[i]).Array is not null) isSpan[i] = true;
            else if (inner != 0) return false;
        }
        if (!isSpan.Any(b => b)) return false;
        string? kernel = op.Binary switch
        {
            BinaryOp.Add => "Add", BinaryOp.Sub => "Subtract", BinaryOp.Mul => "Multiply", BinaryOp.Div => "Divide",
            null => op.Unary is { } u && Enum.IsDefined(u) && isSpan[0] ? $"Unary<{c.T}>(JetSharp.Backend.UnaryOp.{u}, " : null,
            _ => null,
        };
        if (kernel is null) return false;
        if (op.Binary is not null) kernel += $"<{c.T}>(";
        var r = c.AllocateResult(zero: false);
        // The whole run, or (from not null) its part [from, from + length) inside a range of EmittedKernels.ForRanges.
        string Span(string array, int size, string offset, string? from, string length) =>
            from is null ? offset == "0" && len == size ? array : $"{array}.AsSpan({offset}, {length})"
            : $"{array}.AsSpan({(offset == "0" ? from : $"{offset} + {from}")}, {length})";
        c.SpanRuns(d, st, (o, from, length) =>
        {
            var args = node.Inputs.Select((x, i) => isSpan[i] ? Span(c.ValueOf(x).Array!, x.Shape.Size, o[i + 1], from, length) : c.Element(x, o[i + 1]));
            return $"EmittedKernels.{kernel}{string.Join(", ", args)}, {Span(r, node.Shape.Size, o[0], from, length)})";
        }, node.Shape.Size, IsTranscendental(op));
        return true;
    }

    /// <summary>Emits r[i] = formula(operands at i) over the node's shape, the operands broadcast to it.</summary>
    public static void Elementwise(EmitContext c, Func<string[], string> formula) => Elementwise(c, formula, computeBound: false);

    /// <summary>
    /// As <see cref="Elementwise(EmitContext, Func{string[], string})"/>; in compiled code a node of at least the interpreter's
    /// threshold (<paramref name="computeBound"/>: its lower one for transcendental functions) runs in ranges of its outer
    /// index on both cores (<see cref="EmittedKernels.ForRanges"/>).
    /// </summary>
    internal static void Elementwise(EmitContext c, Func<string[], string> formula, bool computeBound)
    {
        var node = c.Node;
        var r = c.AllocateResult(zero: false);
        var strides = new int[node.Inputs.Count + 1][];
        strides[0] = EmitContext.Strides(node.Shape);
        for (int i = 0; i < node.Inputs.Count; i++) strides[i + 1] = EmitContext.BroadcastStrides(node.Inputs[i].Shape, node.Shape);
        c.RangedLoops([.. node.Shape], strides, new int[strides.Length], o =>
            c.Line($"{r}[{o[0]}] = {formula([.. node.Inputs.Select((x, i) => c.Element(x, o[i + 1]))])};"), node.Shape.Size, computeBound);
    }

    internal static string Formula(EmitContext c, ElementwiseArithmetic op, string[] a)
    {
        if (op.Binary is { } b)
            return b switch
            {
                BinaryOp.Add => $"{a[0]} + {a[1]}",
                BinaryOp.Sub => $"{a[0]} - {a[1]}",
                BinaryOp.Mul => $"{a[0]} * {a[1]}",
                BinaryOp.Div => $"{a[0]} / {a[1]}",
                _ => throw new NotSupportedException($"CodeGen: binary arithmetic {b} has no C# formula."),
            };
        string m = c.MathClass, t = c.T, one = c.Literal(1), zero = c.Literal(0);
        switch (op.Unary!.Value)
        {
            case UnaryOp.Neg: return $"-{a[0]}";
            case UnaryOp.Exp: return $"{m}.Exp({a[0]})";
            case UnaryOp.Log: return $"{m}.Log({a[0]})";
            case UnaryOp.Sin: return $"{m}.Sin({a[0]})";
            case UnaryOp.Cos: return $"{m}.Cos({a[0]})";
            case UnaryOp.Tanh: return $"{m}.Tanh({a[0]})";
            case UnaryOp.Sqrt: return $"{m}.Sqrt({a[0]})";
            case UnaryOp.Sigmoid:
                c.Member("Sigmoid", $"private static {t} Sigmoid({t} x) => {one} / ({one} + {m}.Exp(-x));");
                return $"Sigmoid({a[0]})";
            case UnaryOp.Softplus:
                c.Member("Softplus", $"private static {t} Softplus({t} x) => {m}.Max(x, {zero}) + {t}.LogP1({m}.Exp(-{m}.Abs(x)));");
                return $"Softplus({a[0]})";
            case UnaryOp.Relu:
                c.Member("Relu", $"private static {t} Relu({t} x) => x > {zero} ? x : {zero};");
                return $"Relu({a[0]})";
            case UnaryOp.Step:
                c.Member("Step", $"private static {t} Step({t} x) => x > {zero} ? {one} : {zero};");
                return $"Step({a[0]})";
            default: throw new NotSupportedException($"CodeGen: unary arithmetic {op.Unary} has no C# formula.");
        }
    }
}

/// <summary>xᵖ with the backend's exact special cases (p = 0, 1, 2, 3, −1, −2, ½ avoid pow).</summary>
internal sealed class PowEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        double p = ((PowOp)c.Node.Op).Exponent;
        string m = c.MathClass, one = c.Literal(1);
        ElementwiseEmitter.Elementwise(c, a => p switch
        {
            0 => one,
            1 => a[0],
            2 => $"{a[0]} * {a[0]}",
            3 => $"{a[0]} * {a[0]} * {a[0]}",
            -1 => $"{one} / {a[0]}",
            -2 => $"{one} / ({a[0]} * {a[0]})",
            0.5 => $"{m}.Sqrt({a[0]})",
            _ => $"{m}.Pow({a[0]}, {c.Literal(p)})",
        }, computeBound: p is not (0 or 1 or 2 or 3 or -1 or -2));
    }
}
