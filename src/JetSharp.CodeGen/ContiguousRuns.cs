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
        int len = d[^1];
        c.Loops([.. d.Take(d.Count - 1)], [.. st.Select(s => s.Take(s.Count - 1).ToArray())], [0, 0],
            o => c.Line(call($"{result}.AsSpan({o[0]}, {len})", $"{operand}.AsSpan({o[1]}, {len})") + ";"));
        return true;
    }
}
