namespace JetSharp.Backend;

/// <summary>Backend that <see cref="Gemm"/> dispatches to.</summary>
public enum GemmProvider
{
    /// <summary>Built-in cache-blocked, SIMD, multi-threaded implementation (always available).</summary>
    Managed,

    /// <summary>OpenBLAS loaded at run time (see <see cref="Gemm.OpenBlasAvailable"/>).</summary>
    OpenBlas,

    /// <summary>Plain triple loop; a reference and a baseline, not for real work.</summary>
    Naive,
}

/// <summary>
/// General matrix multiply on row-major arrays: C = alpha·op(A)·op(B) + beta·C.
/// </summary>
/// <remarks>
/// All providers share the argument validation and the degenerate cases (empty C, k == 0,
/// alpha == 0) here, so they agree exactly on them and never see them. C must not overlap A or B.
/// </remarks>
public static class Gemm
{
    private const string ProviderVariable = "JETSHARP_GEMM";

    private static readonly Lock s_providerLock = new();
    private static int s_provider = -1; // -1: not resolved from the environment yet

    /// <summary>
    /// Provider in use. Default <see cref="GemmProvider.Managed"/>; the environment variable
    /// JETSHARP_GEMM=openblas|managed|naive overrides it at first use. Selecting
    /// <see cref="GemmProvider.OpenBlas"/> when the library cannot be loaded throws
    /// <see cref="InvalidOperationException"/>.
    /// </summary>
    public static GemmProvider Provider
    {
        get
        {
            int p = Volatile.Read(ref s_provider);
            return p >= 0 ? (GemmProvider)p : ResolveProviderFromEnvironment();
        }
        set
        {
            if (!Enum.IsDefined(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, "Gemm: unknown provider.");
            if (value == GemmProvider.OpenBlas && !OpenBlasGemm.IsAvailable)
                throw new InvalidOperationException(OpenBlasGemm.UnavailableMessage);
            lock (s_providerLock) Volatile.Write(ref s_provider, (int)value);
        }
    }

    /// <summary>Whether an OpenBLAS library could be loaded (attempted once, on first query).</summary>
    public static bool OpenBlasAvailable => OpenBlasGemm.IsAvailable;

    /// <summary>
    /// Row-major C[m×n] = alpha·op(A)·op(B) + beta·C, op(X) = X or Xᵀ.
    /// A is read from a[offA..] with row stride lda (op(A) is m×k; stored A is m×k or, if transA, k×m),
    /// likewise B (k×n, or n×k if transB) and C (m×n, row stride ldc).
    /// beta == 0 means C is overwritten (never read, so NaN garbage in C is ignored).
    /// </summary>
    public static void Multiply<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        T[] a, int offA, int lda, T[] b, int offB, int ldb, T beta, T[] c, int offC, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Execute(Provider, GemmKernelPath.Auto, 1, transA, transB, m, n, k, alpha,
            a, offA, lda, 0, b, offB, ldb, 0, beta, c, offC, ldc, 0);

    /// <summary>
    /// <paramref name="batch"/> independent products; matrix i of A starts at offA + i·strideA
    /// (strideA may be 0: the same A for all), likewise B and C. Products whose C blocks overlap
    /// (e.g. strideC == 0) are applied in order, each seeing the previous one's result.
    /// </summary>
    public static void MultiplyBatched<T>(int batch, bool transA, bool transB, int m, int n, int k, T alpha,
        T[] a, int offA, int lda, long strideA, T[] b, int offB, int ldb, long strideB,
        T beta, T[] c, int offC, int ldc, long strideC)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Execute(Provider, GemmKernelPath.Auto, batch, transA, transB, m, n, k, alpha,
            a, offA, lda, strideA, b, offB, ldb, strideB, beta, c, offC, ldc, strideC);

    /// <summary>
    /// Several products by one right operand: C_i = A_i·op(B) for every item, A_i row-major [m_i, k] and C_i row-major
    /// [m_i, n] (overwritten). The managed provider packs op(B) once and cuts the rows of all items into parts that the
    /// cores claim, as if the A_i were one tall matrix; each C_i gets the bits of its own <see cref="Multiply{T}"/>. The
    /// other providers run the items one by one.
    /// <paramref name="unchangingB"/>: b's values never change while the array lives (a graph constant), so the managed
    /// provider keeps its packed op(B) and later products by it skip the packing.
    /// </summary>
    internal static void MultiplyStacked<T>(bool transB, int n, int k, T[] b, int ldb, IReadOnlyList<StackedRows<T>> items, bool unchangingB = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(items);
        CheckElementType<T>();
        foreach (var item in items)
        {
            if (item.Factor is not { } f)
            {
                Validate(1, false, transB, item.M, n, k, item.A, 0, k, 0, b, 0, ldb, 0, item.C, 0, n, 0);
                continue;
            }
            if (f.MapA.Div < 1 || f.MapA.Mod < 1 || f.MapY.Div < 1 || f.MapY.Mod < 1)
                throw new ArgumentException($"Gemm (stacked): row maps {f.MapA} and {f.MapY} of a factored left operand must have Div ≥ 1 and Mod ≥ 1.", nameof(items));
            string dims = $"m={item.M}, n={n}, k={k}, factored A";
            CheckOperand("A (first factor)", nameof(items), item.A, 0, k, 0, f.MapA.RowsRead(item.M), k, false, 1, dims);
            CheckOperand("A (second factor)", nameof(items), f.Y, 0, k, 0, f.MapY.RowsRead(item.M), k, false, 1, dims);
            Validate(1, false, transB, item.M, n, k, [], 0, k, 0, b, 0, ldb, 0, item.C, 0, n, 0, checkA: false);
        }
        var provider = Provider;
        bool managed = provider == GemmProvider.Managed && n > 0 && k > 0 && (items.Count > 1 || items.Any(x => x.Factor is not null))
            && items.All(x => x.M > 0 && !LongKGemm.Applies(1, x.M, n, k, false));
        if (!managed)
        {
            foreach (var item in items)
            {
                var a = item.Factor is { } f ? f.Materialize(item.A, item.M, k) : item.A;
                Execute(provider, GemmKernelPath.Auto, 1, false, transB, item.M, n, k, T.One, a, 0, k, 0, b, 0, ldb, 0, T.Zero, item.C, 0, n, 0);
            }
            return;
        }
        ManagedGemm.MultiplyStacked(GemmKernelPath.Auto, transB, n, k, b, ldb, items, unchangingB);
    }

    /// <summary>
    /// C[m×n] = A·op(B) (A row-major m×k, C overwritten, contiguous rows), then <paramref name="epilogue"/> over C: the managed
    /// provider runs it on each row sliver of C as the sliver is finished, in cache; the others after the product.
    /// </summary>
    internal static void MultiplyWithEpilogue<T>(bool transB, int m, int n, int k, T[] a, int lda, T[] b, int ldb, T[] c, GemmEpilogue<T> epilogue)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(epilogue);
        var provider = Provider;
        if (provider != GemmProvider.Managed || m == 0 || n == 0 || k == 0)
        {
            Execute(provider, GemmKernelPath.Auto, 1, false, transB, m, n, k, T.One, a, 0, lda, 0, b, 0, ldb, 0, T.Zero, c, 0, n, 0);
            if (m > 0 && n > 0) epilogue.ApplyAfterwards(m, n);
            return;
        }
        CheckElementType<T>();
        Validate(1, false, transB, m, n, k, a, 0, lda, 0, b, 0, ldb, 0, c, 0, n, 0);
        ManagedGemm.Multiply(GemmKernelPath.Auto, 1, false, transB, m, n, k, T.One, a, 0, lda, 0, b, 0, ldb, 0, T.Zero, c, 0, n, 0, epilogue);
    }

    /// <summary>Entry point with an explicit provider and managed kernel path (tests, benchmarks).</summary>
    internal static void Execute<T>(GemmProvider provider, GemmKernelPath path, int batch,
        bool transA, bool transB, int m, int n, int k, T alpha,
        T[] a, int offA, int lda, long strideA, T[] b, int offB, int ldb, long strideB,
        T beta, T[] c, int offC, int ldc, long strideC)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckElementType<T>();
        Validate(batch, transA, transB, m, n, k, a, offA, lda, strideA, b, offB, ldb, strideB, c, offC, ldc, strideC);

        if (batch == 0 || m == 0 || n == 0) return;
        if (k == 0 || alpha == T.Zero)
        {
            // op(A)·op(B) contributes nothing; A and B are not read (so NaN in them cannot leak).
            // Items are scaled in order so overlapping C blocks see beta applied once per product.
            for (int i = 0; i < batch; i++)
                ScaleC(m, n, beta, c, checked((int)(offC + i * strideC)), ldc);
            return;
        }

        switch (provider)
        {
            case GemmProvider.Managed:
                ManagedGemm.Multiply(path, batch, transA, transB, m, n, k, alpha,
                    a, offA, lda, strideA, b, offB, ldb, strideB, beta, c, offC, ldc, strideC);
                break;
            case GemmProvider.OpenBlas:
                OpenBlasGemm.Multiply(batch, transA, transB, m, n, k, alpha,
                    a, offA, lda, strideA, b, offB, ldb, strideB, beta, c, offC, ldc, strideC);
                break;
            case GemmProvider.Naive:
                for (int i = 0; i < batch; i++)
                    NaiveGemm.Multiply(transA, transB, m, n, k, alpha,
                        a, checked((int)(offA + i * strideA)), lda, b, checked((int)(offB + i * strideB)), ldb,
                        beta, c, checked((int)(offC + i * strideC)), ldc);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(provider), provider, "Gemm: unknown provider.");
        }
    }

    internal static GemmProvider ParseProvider(string? value, string source)
    {
        string v = (value ?? "").Trim();
        if (v.Length == 0 || v.Equals("managed", StringComparison.OrdinalIgnoreCase)) return GemmProvider.Managed;
        if (v.Equals("openblas", StringComparison.OrdinalIgnoreCase)) return GemmProvider.OpenBlas;
        if (v.Equals("naive", StringComparison.OrdinalIgnoreCase)) return GemmProvider.Naive;
        throw new InvalidOperationException($"Gemm: {source}='{value}' is not a GEMM provider; use managed, openblas or naive.");
    }

    private static GemmProvider ResolveProviderFromEnvironment()
    {
        lock (s_providerLock)
        {
            if (s_provider >= 0) return (GemmProvider)s_provider;
            var p = ParseProvider(Environment.GetEnvironmentVariable(ProviderVariable), ProviderVariable);
            // Not cached on failure: the caller can still pick another provider through the setter.
            if (p == GemmProvider.OpenBlas && !OpenBlasGemm.IsAvailable)
                throw new InvalidOperationException($"{OpenBlasGemm.UnavailableMessage} (requested by {ProviderVariable}=openblas)");
            Volatile.Write(ref s_provider, (int)p);
            return p;
        }
    }

    private static void CheckElementType<T>()
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"Gemm: element type {typeof(T).Name} is not supported; use float or double.");
    }

    private static void Validate<T>(int batch, bool transA, bool transB, int m, int n, int k,
        T[] a, int offA, int lda, long strideA, T[] b, int offB, int ldb, long strideB,
        T[] c, int offC, int ldc, long strideC, bool checkA = true)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentException($"Gemm: sizes must be non-negative (m={m}, n={n}, k={k}).");
        if (batch < 0)
            throw new ArgumentException($"Gemm: batch={batch} must be non-negative.", nameof(batch));
        string dims = $"m={m}, n={n}, k={k}" + (batch != 1 ? $", batch={batch}" : "");
        if (checkA) CheckOperand("A", nameof(a), a, offA, lda, strideA, transA ? k : m, transA ? m : k, transA, batch, dims);
        CheckOperand("B", nameof(b), b, offB, ldb, strideB, transB ? n : k, transB ? k : n, transB, batch, dims);
        CheckOperand("C", nameof(c), c, offC, ldc, strideC, m, n, false, batch, dims);
    }

    private static void CheckOperand<T>(string name, string param, T[] x, int off, int ld, long stride,
        int rows, int cols, bool trans, int batch, string dims)
    {
        if (x is null)
            throw new ArgumentNullException(param, $"Gemm: {name} is null ({dims}).");
        string shape = $"{name} is stored {rows}×{cols}{(trans ? " (transposed)" : "")}, ld={ld}";
        if (off < 0)
            throw new ArgumentException($"Gemm: offset {off} of {name} is negative ({dims}).", param);
        if (stride < 0)
            throw new ArgumentException($"Gemm: stride {stride} of {name} is negative ({dims}).", param);
        if (ld < Math.Max(1, cols))
            throw new ArgumentException($"Gemm: leading dimension {ld} of {name} is smaller than its row width {cols} ({shape}; {dims}).", param);
        if (batch == 0 || rows == 0 || cols == 0) return;
        long need = off + (batch - 1) * stride + (long)(rows - 1) * ld + cols;
        if (need > x.Length)
            throw new ArgumentException(
                $"Gemm: {name} needs {need} elements ({shape}, offset {off}" +
                (batch > 1 ? $", stride {stride}" : "") + $"; {dims}) but its array has {x.Length}.", param);
    }

    private static void ScaleC<T>(int m, int n, T beta, T[] c, int offC, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (beta == T.One) return;
        for (int i = 0; i < m; i++)
        {
            Span<T> row = c.AsSpan(offC + i * ldc, n);
            if (beta == T.Zero) row.Clear();
            else for (int j = 0; j < row.Length; j++) row[j] *= beta;
        }
    }
}

/// <summary>
/// One item of <see cref="Gemm.MultiplyStacked{T}"/>: <paramref name="M"/> rows of A (row-major, k wide) and of C (row-major,
/// n wide). With a <see cref="Factor"/>, A holds the rows of one factor of the left operand instead (see <see cref="GemmFactor{T}"/>).
/// </summary>
internal readonly record struct StackedRows<T>(T[] A, int M, T[] C) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>When set, row i of the left operand is A[Factor.MapA(i)] ⊙ Factor.Y[Factor.MapY(i)], formed as the GEMM reads it.</summary>
    public GemmFactor<T>? Factor { get; init; }
}

/// <summary>
/// Which row of an operand feeds row i of a product's left operand: (i / Div) mod Mod. An operand broadcast over the
/// leading axes of [R, N, k] has Div = N, Mod = R (one row per r), or Div = 1, Mod = N (one row per n).
/// </summary>
internal readonly record struct GemmRowMap(int Div, int Mod)
{
    /// <summary>Row i reads row i.</summary>
    public static GemmRowMap Identity { get; } = new(1, int.MaxValue);

    /// <summary>The operand's row for row <paramref name="i"/>.</summary>
    public int Row(int i) => i / Div % Mod;

    /// <summary>How many of the operand's rows the first <paramref name="m"/> rows read (they read rows 0, 1, … of it).</summary>
    public int RowsRead(int m) => m <= 0 ? 0 : Math.Min(Mod, (m - 1) / Div + 1);
}

/// <summary>
/// A left operand given as the elementwise product of two row-major operands k wide, each broadcast over leading axes:
/// row i is A[MapA(i)] ⊙ Y[MapY(i)] (A being the item's own array). The managed GEMM multiplies each sliver of rows into
/// an L1-sized buffer just before its micro-kernels read it, so the [M, k] product (the first layer's f′(z)·W₁ rows of a
/// Taylor rule, [R, N, H]) is never stored; every element is the one <c>a * y</c> gives, so the product has the bits of a
/// GEMM on the stored operand.
/// </summary>
internal readonly record struct GemmFactor<T>(GemmRowMap MapA, T[] Y, GemmRowMap MapY) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The left operand as an [m, k] array (for the providers that read a stored A; validated by the caller).</summary>
    public unsafe T[] Materialize(T[] a, int m, int k)
    {
        var result = new T[(long)m * k];
        fixed (T* pa = a, py = Y, pr = result)
            new GemmFactorRows<T>(pa, MapA, py, MapY, k, 0, k, pr).Form(0, m);
        return result;
    }
}

/// <summary>
/// Textbook dot-product-per-element loop. It exists as an independent reference and as the
/// baseline the benchmark compares against; it makes no attempt to be fast.
/// </summary>
internal static class NaiveGemm
{
    public static void Multiply<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        T[] a, int offA, int lda, T[] b, int offB, int ldb, T beta, T[] c, int offC, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    T x = transA ? a[offA + p * lda + i] : a[offA + i * lda + p];
                    T y = transB ? b[offB + j * ldb + p] : b[offB + p * ldb + j];
                    sum += x * y;
                }
                ref T dst = ref c[offC + i * ldc + j];
                dst = beta == T.Zero ? alpha * sum : alpha * sum + beta * dst;
            }
        }
    }
}
