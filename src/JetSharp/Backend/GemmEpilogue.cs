using JetSharp.Tensors;

namespace JetSharp.Backend;

/// <summary>
/// Work a product hands each finished piece of its output while that piece is still in cache: the GEMM calls
/// <see cref="Apply"/> on every row sliver of C right after its last k block (MR rows × the column block, a few
/// tens of kilobytes that sit in L1), so elementwise consumers of the product read C there instead of from memory
/// in a pass of their own. C's storage is the output array the product was asked to fill (row-major, rows of
/// <c>n</c> elements); the epilogue may overwrite the piece it is given.
/// </summary>
internal abstract class GemmEpilogue<T> where T : unmanaged
{
    /// <summary>
    /// The epilogue adds rows into sums: the GEMM must hand it each column's rows in ascending order from one thread
    /// (it splits the columns between threads, not the rows), so every sum adds its terms in row order.
    /// </summary>
    public abstract bool SumsOverRows { get; }

    /// <summary>Before the product: the threads will call <see cref="Apply"/> with parts 0 … <paramref name="parts"/> − 1.</summary>
    public abstract void Prepare(int parts);

    /// <summary>
    /// Rows [<paramref name="row"/>, +<paramref name="rows"/>) × columns [<paramref name="col"/>, +<paramref name="cols"/>) of C are final.
    /// Calls for different parts may run at once; the pieces never overlap, and together they cover C once.
    /// </summary>
    public abstract void Apply(int part, int row, int rows, int col, int cols);

    /// <summary>After the product, on the calling thread.</summary>
    public abstract void Finish();

    /// <summary>
    /// Applies the epilogue to all of <paramref name="rows"/> × <paramref name="cols"/> after a product that did not call it
    /// (a provider without epilogues), in blocks of rows small enough to stay in cache.
    /// </summary>
    public void ApplyAfterwards(int rows, int cols)
    {
        Prepare(1);
        int block = Math.Max(1, 4096 / Math.Max(1, cols));
        for (int r = 0; r < rows; r += block) Apply(0, r, Math.Min(block, rows - r), 0, cols);
        Finish();
    }
}

/// <summary>
/// An epilogue of fused elementwise programs (<see cref="FusedStep"/>) over the product's output C, laid out
/// flat: a unit either writes program(i) to element i of its output (an elementwise consumer of C; the last unit
/// may write over C itself), or adds program(i) into element i mod (its output's size) (a sum over the leading
/// axes, e.g. Σ_r z₁,r² of a second-order Taylor rule). Units read C through their leaves (C's array is one of
/// them). Sums add their terms in row order (<see cref="GemmEpilogue{T}.SumsOverRows"/>), so they do not depend on the
/// number of rows (a batch cut into chunks gives the same bits) nor on the threads.
/// </summary>
internal sealed class FusedGemmEpilogue<T> : GemmEpilogue<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <param name="Program">The unit's program.</param>
    /// <param name="Leaves">The program's leaves (C's array among them), each of C's shape, a single element, or C's trailing axes.</param>
    /// <param name="Output">Where the unit's values go (C itself for the last unit, when it writes over C).</param>
    /// <param name="Outer">0 for an elementwise unit; otherwise the number of leading positions summed (C's size / the output's size).</param>
    internal sealed record Unit(FusedStep[] Program, NDArray<T>[] Leaves, NDArray<T> Output, int Outer);

    private readonly Unit[] _units;
    private readonly int _n;
    private FusedKernel.Scratch<T>[] _scratch = [];

    /// <param name="units">Run in this order on each piece; a unit writing over C must come last.</param>
    /// <param name="n">C's row length.</param>
    public FusedGemmEpilogue(Unit[] units, int n)
    {
        _units = units;
        _n = n;
    }

    public override bool SumsOverRows => _units.Any(u => u.Outer > 0);

    public override void Prepare(int parts)
    {
        // One more register than the longest program: AccumulateChunk's term.
        int registers = _units.Select(u => u.Program.Length).DefaultIfEmpty(0).Max() + 1;
        _scratch = [.. Enumerable.Range(0, parts).Select(_ => new FusedKernel.Scratch<T>(registers))];
        foreach (var unit in _units)
            if (unit.Outer > 0) unit.Output.Data.AsSpan().Clear();
    }

    public override void Apply(int part, int row, int rows, int col, int cols)
    {
        var scratch = _scratch[part];
        for (int r = row; r < row + rows; r++)
            for (int c = col; c < col + cols; c += FusedKernel.Chunk)
            {
                int start = r * _n + c, length = Math.Min(FusedKernel.Chunk, col + cols - c);
                for (int u = 0; u < _units.Length; u++)
                {
                    var unit = _units[u];
                    if (unit.Outer == 0)
                    {
                        FusedKernel.RunChunk(unit.Program, start, length, unit.Leaves, unit.Output.Data, start, scratch);
                        continue;
                    }
                    // Element i adds into element i mod (the output's size); split where the piece wraps around.
                    var sum = unit.Output.Data;
                    int inner = unit.Output.Size;
                    for (int done = 0; done < length;)
                    {
                        int at = (start + done) % inner, n = Math.Min(length - done, inner - at);
                        FusedKernel.AccumulateChunk(unit.Program, start + done, n, unit.Leaves, sum.AsSpan(at, n), scratch);
                        done += n;
                    }
                }
            }
    }

    public override void Finish() => _scratch = [];
}
