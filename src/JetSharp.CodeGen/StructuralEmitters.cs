using System.Globalization;

namespace JetSharp.CodeGen;

/// <summary>A graph input: a parameter of the generated method (its length is checked on entry).</summary>
internal sealed class InputEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c) => c.SetArray(c.ResultName);
}

/// <summary>A scalar constant becomes a literal; a tensor constant a <c>static readonly</c> array field with its exact values.</summary>
internal sealed class ConstantEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        var op = (ConstantOp)c.Node.Op;
        if (op.ScalarValue is { } v)
        {
            c.SetLiteral(c.Literal(v));
            return;
        }
        var value = op.Value!;
        if (c.Library)
        {
            // Compiled code: the host hands the values over once (no literals for Roslyn to parse).
            c.Member(c.ResultName, $"/// <summary>Constant %{c.Node.Id} {value.Shape} (bound by BindConstants).</summary>\nprivate static {c.T}[] {c.ResultName};");
            c.BindConstant(c.ResultName, c.Node.Id);
            c.SetArray(c.ResultName);
            return;
        }
        var lines = new List<string>();
        for (int s = 0; s < value.Size; s += 6)
            lines.Add("    " + string.Join(", ", Enumerable.Range(s, Math.Min(6, value.Size - s)).Select(i => c.Literal(value.GetDouble(i)))) + ",");
        c.Member(c.ResultName,
            $"/// <summary>Constant %{c.Node.Id} {value.Shape}{(c.Node.Origin is { } o ? $", from {Escape(o)}" : "")}.</summary>\n" +
            $"private static readonly {c.T}[] {c.ResultName} =\n[\n{string.Join("\n", lines)}\n];");
        c.SetArray(c.ResultName);
    }

    private static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}

/// <summary>Reshape and stop-gradient: the same flat array under a new shape, no code.</summary>
internal sealed class ViewEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        var source = c.ValueOf(c.Node.Inputs[0]);
        c.Line($"// (a view: {source.Array ?? source.Literal} read as {c.Node.Shape}, no code)");
        c.Alias(source);
    }
}

/// <summary>broadcast: each output element reads its input element with stride 0 along the repeated axes.</summary>
internal sealed class BroadcastEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        var x = c.Node.Inputs[0];
        if (c.ValueOf(x).Array is { } source && c.Node.Shape.Size >= 64)
        {
            var shape = c.Node.Shape;
            string r = c.AllocateResult(zero: false);
            if (!ContiguousRuns.TryEmit(c, r, source, [.. shape], EmitContext.Strides(shape), EmitContext.BroadcastStrides(x.Shape, shape), (to, from) => $"{from}.CopyTo({to})"))
                c.Loops([.. shape], [EmitContext.Strides(shape), EmitContext.BroadcastStrides(x.Shape, shape)], [0, 0], o => c.Line($"{r}[{o[0]}] = {source}[{o[1]}];"));
            return;
        }
        ElementwiseEmitter.Elementwise(c, a => a[0]);
    }
}

/// <summary>transpose: output axis k walks input axis perm[k].</summary>
internal sealed class TransposeEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        var perm = ((TransposeOp)c.Node.Op).Perm;
        var x = c.Node.Inputs[0];
        var inStrides = EmitContext.Strides(x.Shape);
        var r = c.AllocateResult(zero: false);
        c.Loops([.. c.Node.Shape], [EmitContext.Strides(c.Node.Shape), [.. perm.Select(p => inStrides[p])]], [0, 0],
            o => c.Line($"{r}[{o[0]}] = {c.Element(x, o[1])};"));
    }
}

/// <summary>slice: the output walks the input from the start corner with the input's strides.</summary>
internal sealed class SliceEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        var op = (SliceOp)c.Node.Op;
        var x = c.Node.Inputs[0];
        var inStrides = EmitContext.Strides(x.Shape);
        int start = op.Starts.Select((s, k) => s * inStrides[k]).Sum();
        var r = c.AllocateResult(zero: false);
        c.Loops(op.Sizes, [EmitContext.Strides(c.Node.Shape), inStrides], [0, start],
            o => c.Line($"{r}[{o[0]}] = {c.Element(x, o[1])};"));
    }
}

/// <summary>pad with zeros: a zero-filled result, the input written at offset <c>before</c>.</summary>
internal sealed class PadEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        var op = (PadOp)c.Node.Op;
        var x = c.Node.Inputs[0];
        var outStrides = EmitContext.Strides(c.Node.Shape);
        int start = op.Before.Select((b, k) => b * outStrides[k]).Sum();
        var r = c.AllocateResult();
        c.Loops([.. x.Shape], [outStrides, EmitContext.Strides(x.Shape)], [start, 0],
            o => c.Line($"{r}[{o[0]}] = {c.Element(x, o[1])};"));
    }
}

/// <summary>concat: each input is copied into its block of the result along the axis.</summary>
internal sealed class ConcatEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        int axis = ((ConcatOp)c.Node.Op).Axis;
        var outStrides = EmitContext.Strides(c.Node.Shape);
        var r = c.AllocateResult(zero: false);
        int offset = 0;
        foreach (var x in c.Node.Inputs)
        {
            c.Loops([.. x.Shape], [outStrides, EmitContext.Strides(x.Shape)], [offset * outStrides[axis], 0],
                o => c.Line($"{r}[{o[0]}] = {c.Element(x, o[1])};"));
            offset += x.Shape[axis];
        }
    }
}

/// <summary>sum over axes: a zero-filled result accumulated in one pass over the input (stride 0 along summed axes).</summary>
internal sealed class SumEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        var op = (SumOp)c.Node.Op;
        var x = c.Node.Inputs[0];
        var kept = SumOp.ReducedShape(x.Shape, op.Axes, true);
        var keptStrides = EmitContext.Strides(kept);
        var outStrides = new int[x.Rank];
        for (int k = 0; k < x.Rank; k++) outStrides[k] = op.Axes.Contains(k) ? 0 : keptStrides[k];
        var r = c.AllocateResult();
        if (c.Fused.Contains(x))
        {
            FusedSum(c, r, x, op);
            return;
        }
        if (c.ValueOf(x).Array is { } source && ContiguousRuns.TryEmit(c, r, source, [.. x.Shape], outStrides, EmitContext.Strides(x.Shape),
                (to, from) => $"EmittedKernels.Add<{c.T}>({to}, {from}, {to})"))
            return;
        c.Loops([.. x.Shape], [outStrides, EmitContext.Strides(x.Shape)], [0, 0],
            o => c.Line($"{r}[{o[0]}] += {c.Element(x, o[1])};"));
    }

    /// <summary>
    /// Compiled code: whether a sum can take its operand's arithmetic inside its own loop (the operand is then never stored,
    /// as the interpreter's fused sum does): a sum over the leading axes of a large operand (at least the arithmetic threshold
    /// of <see cref="EmittedKernels.ForRanges"/>) whose inner part holds at least one grain.
    /// </summary>
    internal static bool TakesFusedOperand(Node sum)
    {
        if (sum.Op is not SumOp op || sum.Inputs.Count != 1) return false;
        var x = sum.Inputs[0];
        var axes = op.Axes.Order().ToArray();
        if (axes.Length == 0 || axes.Length >= x.Rank || axes.Where((a, k) => a != k).Any()) return false;
        long inner = 1;
        for (int k = axes.Length; k < x.Rank; k++) inner *= x.Shape[k];
        return x.Shape.Size >= EmittedKernels.EmitThreshold(computeBound: false) && inner >= EmittedKernels.RangeGrain;
    }

    /// <summary>
    /// result[j] = Σ_r operand[r·inner + j] with the operand's fused arithmetic written in the loop: ranges of whole grains of
    /// the result on both cores, each adding the terms in order r = 0, 1, … (a vector loop and the scalar tail, as the
    /// product and the span sums of the unfused code compute them, so the bits are the same).
    /// </summary>
    private static void FusedSum(EmitContext c, string r, Node x, SumOp op)
    {
        int inner = c.Node.Shape.Size, outer = x.Shape.Size / inner;
        string v = $"System.Numerics.Vector<{c.T}>";
        c.InRanges($"{inner}", "EmittedKernels.RangeGrain", x.Shape.Size, computeBound: false, () =>
        {
            c.Line($"for (int s = 0; s < {outer}; s++)");
            c.Line("{");
            c.Indent();
            c.Line($"int i = from, at = s * {inner} + from;");
            c.Line($"for (; i <= to - {v}.Count; i += {v}.Count, at += {v}.Count)");
            c.Line($"    (new {v}({r}, i) + ({ElementwiseEmitter.FusedFormula(c, x, true, "at")})).CopyTo({r}, i);");
            c.Line($"for (; i < to; i++, at++) {r}[i] += {ElementwiseEmitter.FusedFormula(c, x, false, "at")};");
            c.Outdent();
            c.Line("}");
        });
    }
}

/// <summary>
/// matmul op(A)·op(B): a loop nest over the broadcast batch axes (stride 0 where an operand is repeated),
/// then a triple loop with the transposes folded into the index arithmetic: i, p, j (rows of B streamed into
/// rows of the zero-filled result), or i, j, p dot products when B is transposed.
/// </summary>
internal sealed class MatMulEmitter : IPrimitiveEmitter
{
    /// <summary>In compiled code, products of at least this many multiply-adds go to the library's GEMM.</summary>
    public const long GemmThreshold = 4096;

    public void Emit(EmitContext c)
    {
        var op = (MatMulOp)c.Node.Op;
        Node a = c.Node.Inputs[0], b = c.Node.Inputs[1];
        var outShape = c.Node.Shape;
        int m = outShape[^2], n = outShape[^1], k = op.TransposeA ? a.Shape[^2] : a.Shape[^1];
        int batchRank = outShape.Rank - 2;
        var batch = outShape.Take(batchRank).ToArray();
        int[] BatchStrides(Shape s)
        {
            var st = new int[batchRank];
            var own = EmitContext.Strides(s);
            for (int ax = 0; ax < batchRank; ax++)
            {
                int j = ax - (batchRank - (s.Rank - 2));
                st[ax] = j < 0 || s[j] == 1 ? 0 : own[j];
            }
            return st;
        }
        string Lit(int v) => v.ToString(CultureInfo.InvariantCulture);
        if (c.Library && (long)m * n * k >= GemmThreshold && c.ValueOf(a).Array is { } aName && c.ValueOf(b).Array is { } bName)
        {
            // The library's GEMM: the batch axes merged as far as the strides allow, the last one batched in the call.
            var (bd, bs) = EmitContext.Merge(batch, [BatchStrides(outShape), BatchStrides(a.Shape), BatchStrides(b.Shape)]);
            var g = c.AllocateResult(zero: false);
            int count = bd.Count == 0 ? 1 : bd[^1];
            long Last(List<int> s) => s.Count == 0 ? 0 : s[^1];
            if (bd.Count == 1 && Last(bs[2]) == 0 && !op.TransposeA && Last(bs[1]) == (long)m * k && Last(bs[0]) == (long)m * n)
            {
                // B shared by every product, A and C contiguous: one product with the batch stacked into the rows.
                c.Line($"EmittedKernels.MatMul(1, false, {(op.TransposeB ? "true" : "false")}, {count * m}, {n}, {k}, {aName}, 0, 0, {bName}, 0, 0, {g}, 0, 0);");
                return;
            }
            c.Loops([.. bd.Take(Math.Max(0, bd.Count - 1))], [.. bs.Select(s => s.Take(Math.Max(0, s.Count - 1)).ToArray())], [0, 0, 0], o =>
                c.Line($"EmittedKernels.MatMul({count}, {(op.TransposeA ? "true" : "false")}, {(op.TransposeB ? "true" : "false")}, {m}, {n}, {k}, " +
                       $"{aName}, {o[1]}, {Last(bs[1])}, {bName}, {o[2]}, {Last(bs[2])}, {g}, {o[0]}, {Last(bs[0])});"), prefix: "b");
            return;
        }
        var r = c.AllocateResult();
        string Plus(string baseOffset, string term) => baseOffset == "0" ? term : $"{baseOffset} + {term}";
        string Times(string v, int s) => s == 1 ? v : $"{v} * {Lit(s)}";
        c.Loops(batch, [BatchStrides(outShape), BatchStrides(a.Shape), BatchStrides(b.Shape)], [0, 0, 0], o =>
        {
            string ai = op.TransposeA ? Plus(o[1], Plus(Times("p", m), "i")) : Plus(o[1], Plus(Times("i", k), "p"));
            string bi = op.TransposeB ? Plus(o[2], Plus(Times("j", k), "p")) : Plus(o[2], Plus(Times("p", n), "j"));
            string ri = Plus(o[0], Plus(Times("i", n), "j"));
            c.Line($"for (int i = 0; i < {m}; i++)");
            if (op.TransposeB)
            {
                // Rows of A against rows of B: a dot product over contiguous runs.
                c.Line($"    for (int j = 0; j < {n}; j++)");
                c.Line("    {");
                c.Line($"        {c.T} s = {c.Literal(0)};");
                c.Line($"        for (int p = 0; p < {k}; p++) s += {c.Element(a, ai)} * {c.Element(b, bi)};");
                c.Line($"        {r}[{ri}] = s;");
                c.Line("    }");
            }
            else
            {
                // i, p, j order: the inner loop runs along a row of B and a row of the result.
                c.Line($"    for (int p = 0; p < {k}; p++)");
                c.Line("    {");
                c.Line($"        {c.T} a = {c.Element(a, ai)};");
                c.Line($"        for (int j = 0; j < {n}; j++) {r}[{ri}] += a * {c.Element(b, bi)};");
                c.Line("    }");
            }
        }, prefix: "b");
    }
}

/// <summary>eye: the identity matrix (in any view with unit axes inserted): a zero array with ones at the flat offsets d·(D + 1).</summary>
internal sealed class IdentityEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        var op = (IdentityMatrixOp)c.Node.Op;
        string name = c.AllocateResult();
        c.Line($"for (int d = 0; d < {op.Size}; d++) {name}[d * {op.Size + 1}] = 1;");
    }
}

/// <summary>
/// Compiled code only (<see cref="EmitOptions.UseLibraryKernels"/>): a primitive without a C# emitter — the
/// linear-algebra factorizations, random sampling, fixed-point solves — is run by its own kernel
/// (<see cref="Primitive.Execute{T}"/>) through the <c>Kernel</c> delegate that <see cref="EmittedGraph"/>
/// installs, on the same flat buffers.
/// </summary>
internal sealed class KernelCallEmitter : IPrimitiveEmitter
{
    public static readonly KernelCallEmitter Instance = new();

    public void Emit(EmitContext c)
    {
        c.Member("Kernel",
            "/// <summary>Runs the kernel of node <c>id</c> on flat arrays (installed by JetSharp.CodeGen.EmittedGraph).</summary>\n" +
            $"public static System.Action<int, {c.T}[][], {c.T}[], long> Kernel;");
        c.Line($"// (no C# emitter for {c.Node.Op.Name}: the primitive's own kernel)");
        var args = c.Node.Inputs.Select(x => c.ValueOf(x) is { Array: { } a } ? a : $"new {c.T}[] {{ {c.ValueOf(x).Literal} }}");
        var r = c.AllocateResult();
        c.Line($"Kernel({c.Node.Id}, new {c.T}[][] {{ {string.Join(", ", args)} }}, {r}, seedOffset);");
    }
}

/// <summary>
/// select: a zero matrix [rows, size] with one entry per row, <c>r[i, rows[i]] = weight_i</c> (1 without weights),
/// written out (fixed rows only: a selection drawn per run is random and never reaches an emitter).
/// </summary>
internal sealed class SelectionMatrixEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        var op = (SelectionMatrixOp)c.Node.Op;
        var rows = op.Rows.Values;
        var weights = op.Weights;
        var r = c.AllocateResult();
        for (int i = 0; i < rows.Length; i++)
            c.Line($"{r}[{(long)i * op.Size + rows[i]}] = {(weights is null ? c.Literal(1) : c.Literal(weights[i]))};");
    }
}

/// <summary>
/// take and scatter-add along an axis, with the fixed indices written into the code as a table. With o the
/// axes before the indexed one and i those after: take reads result[o, j, i] = x[o, indices[j], i];
/// scatter-add accumulates result[o, indices[j], i] += x[o, j, i] (repeated indices add up). Fixed indices
/// only: sampled ones make the node random, and random nodes never reach an emitter.
/// </summary>
internal sealed class IndexingEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        var (axis, list, scatter) = c.Node.Op switch
        {
            TakeOp t => (t.Axis, t.Indices, false),
            ScatterAddOp s => (s.Axis, s.Indices, true),
            var op => throw new NotSupportedException($"CodeGen: the indexing emitter does not write '{op}'."),
        };
        var x = c.Node.Inputs[0];
        var full = (scatter ? c.Node.Shape : x.Shape).ToArray();   // the side that has the whole axis
        int outer = full[..axis].Aggregate(1, (p, e) => p * e), extent = full[axis];
        int inner = full[(axis + 1)..].Aggregate(1, (p, e) => p * e);
        int[] indices = list.Values;
        int n = indices.Length;
        string table = $"s_indices{c.Node.Id}";
        c.Member(table, $"private static readonly int[] {table} = [{string.Join(", ", indices)}];");
        var r = c.AllocateResult(zero: scatter);
        c.Line($"// {c.Node.Op.Name}: {(n <= 8 ? $"indices [{string.Join(", ", indices)}]" : $"{n} indices")} along axis {axis}");
        c.Line($"for (int o = 0; o < {outer}; o++)");
        c.Line($"for (int j = 0; j < {n}; j++)");
        c.Line($"for (int i = 0; i < {inner}; i++)");
        string packed = $"(o * {n} + j) * {inner} + i", spread = $"(o * {extent} + {table}[j]) * {inner} + i";
        c.Line(scatter ? $"    {r}[{spread}] += {c.Element(x, packed)};" : $"    {r}[{packed}] = {c.Element(x, spread)};");
    }
}

/// <summary>
/// scatter_add_into(target, updates) with fixed indices: the target copied into the result, then
/// result[o, indices[j], i] += updates[o, j, i] (repeated indices add up in order j). Emitted code never writes an
/// array after the node that allocated it, so the copy is always made (the interpreter's in-place hand-over has no
/// counterpart here).
/// </summary>
internal sealed class ScatterAddIntoEmitter : IPrimitiveEmitter
{
    public void Emit(EmitContext c)
    {
        var op = (ScatterAddIntoOp)c.Node.Op;
        var (target, updates) = (c.Node.Inputs[0], c.Node.Inputs[1]);
        var full = c.Node.Shape.ToArray();
        int axis = op.Axis, outer = full[..axis].Aggregate(1, (p, e) => p * e), extent = full[axis];
        int inner = full[(axis + 1)..].Aggregate(1, (p, e) => p * e);
        int[] indices = op.Indices.Values;
        int n = indices.Length;
        string table = $"s_indices{c.Node.Id}";
        c.Member(table, $"private static readonly int[] {table} = [{string.Join(", ", indices)}];");
        var r = c.AllocateResult(zero: false);
        c.Line($"// {op.Name}: the target, then {(n <= 8 ? $"indices [{string.Join(", ", indices)}]" : $"{n} indices")} along axis {axis} added");
        c.Line($"for (int k = 0; k < {c.Node.Shape.Size}; k++) {r}[k] = {c.Element(target, "k")};");
        c.Line($"for (int o = 0; o < {outer}; o++)");
        c.Line($"for (int j = 0; j < {n}; j++)");
        c.Line($"for (int i = 0; i < {inner}; i++)");
        c.Line($"    {r}[(o * {extent} + {table}[j]) * {inner} + i] += {c.Element(updates, $"(o * {n} + j) * {inner} + i")};");
    }
}
