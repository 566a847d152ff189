namespace JetSharp.CodeGen;

/// <summary>
/// Compiled code: a loop nest whose innermost run is contiguous in the result and in the operand becomes one span
/// call per run (a vectorised kernel) instead of a scalar loop. Used by the sum (accumulate the run) and broadcast
/// (copy the run) emitters, whose scalar loops over large tensors — the [D, N, H] direction sums of a collapsed
/// operator — cost as much as a GEMM on the paper's large MLP.
/// </summary>
internal static class ContiguousRuns
{
    /// <summary>Least run length worth a call.</summary>
    private const int MinRun = 8;

    /// <summary>
    /// Writes the nest over <paramref name="dims"/> with <c>call(resultSpan, operandSpan)</c> on each contiguous run, or
    /// returns false (nothing written) when the innermost run is not contiguous in both or too short.
    /// </summary>
    public static bool TryEmit(EmitContext c, string result, string operand, int[] dims, int[] resultStrides, int[] operandStrides,
        Func<string, string, string> call)
    {
        if (!c.Library) return false;
        var (d, st) = EmitContext.Merge(dims, [resultStrides, operandStrides]);
        if (d.Count == 0 || d[^1] < MinRun || st[0][^1] != 1 || st[1][^1] != 1) return false;
        // Large nests run in ranges on both cores (by outer index where the result has a stride along it, else by grains of
        // the run, so an accumulated element still adds its terms in the same order).
        string At(string offset, string? from) => from is null ? offset : offset == "0" ? from : $"{offset} + {from}";
        c.SpanRuns(d, st, (o, from, length) => call($"{result}.AsSpan({At(o[0], from)}, {length})", $"{operand}.AsSpan({At(o[1], from)}, {length})"),
            d.Aggregate(1L, (a, b) => a * b), computeBound: false);
        return true;
    }
}
