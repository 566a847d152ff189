using System.Buffers;
using System.Numerics.Tensors;
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
    /// 0, or the epilogue sums rows that lie this many rows apart (the rows of one summed position, e.g. one direction r of
    /// [R, N, width]): the GEMM then cuts C into <see cref="SumParts"/> row ranges at multiples of it, fixed by the number of
    /// positions alone, and runs each range as its own part with rows in order, whatever the threads. Every sum then
    /// adds the same terms in the same grouping for any batch size and thread count.
    /// </summary>
    public abstract int SumRowUnit { get; }

    /// <summary>Row ranges of a summing epilogue (fewer when there are fewer summed positions).</summary>
    public const int SumParts = 8;

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
/// them). Each part sums into its own partial array (part 0 into the output), added in part order by
/// <see cref="Finish"/>; the parts of a summing epilogue are fixed by the summed positions alone
/// (<see cref="GemmEpilogue{T}.SumRowUnit"/>), so a batch cut into chunks gives the same bits, on any number of threads.
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
    private T[][][] _partials = [];   // per reducing unit, per part ≥ 1; rented

    /// <param name="units">Run in this order on each piece; a unit writing over C must come last.</param>
    /// <param name="n">C's row length.</param>
    public FusedGemmEpilogue(Unit[] units, int n)
    {
        _units = units;
        _n = n;
    }

    /// <remarks>The reducing units share one number of summed positions (<see cref="Unit.Outer"/>), and C's rows are whole rows of each.</remarks>
    public override int SumRowUnit => _units.FirstOrDefault(u => u.Outer > 0) is { } unit ? unit.Output.Size / _n : 0;

    public override void Prepare(int parts)
    {
        // One more register than the longest program: AccumulateChunk's term.
        int registers = _units.Select(u => u.Program.Length).DefaultIfEmpty(0).Max() + 1;
        _scratch = [.. Enumerable.Range(0, parts).Select(_ => new FusedKernel.Scratch<T>(registers))];
        _partials = new T[_units.Length][][];
        for (int u = 0; u < _units.Length; u++)
        {
            if (_units[u].Outer == 0) continue;
            int size = _units[u].Output.Size;
            _units[u].Output.Data.AsSpan().Clear();
            _partials[u] = [.. Enumerable.Range(0, parts - 1).Select(_ => ArrayPool<T>.Shared.Rent(size))];
            foreach (var partial in _partials[u]) partial.AsSpan(0, size).Clear();
        }
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
                    var sum = part == 0 ? unit.Output.Data : _partials[u][part - 1];
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

    public override void Finish()
    {
        for (int u = 0; u < _units.Length; u++)
        {
            if (_units[u].Outer == 0) continue;
            var output = _units[u].Output.Data.AsSpan();
            foreach (var partial in _partials[u])
            {
                TensorPrimitives.Add(output, partial.AsSpan(0, output.Length), output);
                ArrayPool<T>.Shared.Return(partial);
            }
        }
        _scratch = [];
        _partials = [];
    }
}
