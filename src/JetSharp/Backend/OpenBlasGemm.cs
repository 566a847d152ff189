using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace JetSharp.Backend;

/// <summary>
/// Optional native provider: OpenBLAS located and bound at run time, so the library neither ships
/// nor requires it. Binding is through function pointers from <see cref="NativeLibrary"/> rather
/// than [DllImport] because the file name differs per distribution and packaging flavour
/// (pthread/openmp/serial), and a missing library must degrade to "unavailable", not to a
/// <see cref="DllNotFoundException"/> in the middle of a training step.
/// </summary>
internal static unsafe class OpenBlasGemm
{
    private const int CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112;

    private static readonly Lazy<Binding?> s_binding = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    private static string s_loadReport = "not attempted";

    public static bool IsAvailable => s_binding.Value is not null;

    /// <summary>Path or name the library was loaded from, or null.</summary>
    public static string? LibraryName => s_binding.Value?.Name;

    /// <summary>Kernel family OpenBLAS selected (openblas_get_corename), e.g. "SkylakeX" or "Haswell".</summary>
    public static string? CoreName => s_binding.Value?.CoreName;

    /// <summary>Threads OpenBLAS will use.</summary>
    public static int Threads => s_binding.Value is { } b && b.GetNumThreads != null ? b.GetNumThreads() : 0;

    /// <summary>What was done about OPENBLAS_CORETYPE before loading, for diagnostics.</summary>
    public static string CoreTypeDecision { get; private set; } = "not attempted";

    public static string UnavailableMessage
    {
        get
        {
            _ = s_binding.Value;
            return "Gemm: the OpenBLAS provider is unavailable: the library could not be loaded (" + s_loadReport +
                   "). Install it (Debian/Ubuntu: apt-get install libopenblas0-pthread) or point JETSHARP_OPENBLAS_PATH at libopenblas.";
        }
    }

    private sealed class Binding
    {
        public required string Name;
        public required delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Sgemm;
        public required delegate* unmanaged<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void> Dgemm;
        public delegate* unmanaged<int> GetNumThreads;
        public string? CoreName;
    }

    /// <summary>Arguments are validated and degenerate cases removed by <see cref="Gemm"/>.</summary>
    public static void Multiply<T>(int batch, bool transA, bool transB, int m, int n, int k, T alpha,
        T[] a, int offA, int lda, long strideA, T[] b, int offB, int ldb, long strideB,
        T beta, T[] c, int offC, int ldc, long strideC)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Binding bind = s_binding.Value ?? throw new InvalidOperationException(UnavailableMessage);
        int ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans;
        fixed (T* pa0 = a, pb0 = b, pc0 = c)
        {
            // OpenBLAS 0.3.21 has no batched entry point; each product is already multi-threaded inside.
            for (int i = 0; i < batch; i++)
            {
                T* pa = pa0 + offA + (nint)(i * strideA);
                T* pb = pb0 + offB + (nint)(i * strideB);
                T* pc = pc0 + offC + (nint)(i * strideC);
                if (typeof(T) == typeof(float))
                    bind.Sgemm(CblasRowMajor, ta, tb, m, n, k, Unsafe.As<T, float>(ref alpha), (float*)pa, lda,
                        (float*)pb, ldb, Unsafe.As<T, float>(ref beta), (float*)pc, ldc);
                else
                    bind.Dgemm(CblasRowMajor, ta, tb, m, n, k, Unsafe.As<T, double>(ref alpha), (double*)pa, lda,
                        (double*)pb, ldb, Unsafe.As<T, double>(ref beta), (double*)pc, ldc);
            }
        }
    }

    private static Binding? Load()
    {
        var tried = new List<string>();
        try
        {
            PrepareEnvironment();
            foreach (string candidate in Candidates())
            {
                if (!NativeLibrary.TryLoad(candidate, out nint handle))
                {
                    tried.Add(candidate + ": not found");
                    continue;
                }
                // Require OpenBLAS's own entry point: a generic libblas/libcblas could be the
                // unoptimised reference implementation, which would only mislead.
                if (!NativeLibrary.TryGetExport(handle, "cblas_sgemm", out nint sgemm)
                    || !NativeLibrary.TryGetExport(handle, "cblas_dgemm", out nint dgemm)
                    || !NativeLibrary.TryGetExport(handle, "openblas_get_config", out _))
                {
                    tried.Add(candidate + ": not OpenBLAS (missing cblas_*gemm or openblas_get_config)");
                    NativeLibrary.Free(handle);
                    continue;
                }

                var binding = new Binding
                {
                    Name = candidate,
                    Sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm,
                    Dgemm = (delegate* unmanaged<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void>)dgemm,
                };
                if (NativeLibrary.TryGetExport(handle, "openblas_get_corename", out nint coreName))
                    binding.CoreName = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)coreName)())?.Trim();
                if (NativeLibrary.TryGetExport(handle, "openblas_get_num_threads", out nint getThreads))
                    binding.GetNumThreads = (delegate* unmanaged<int>)getThreads;
                ApplyThreadCount(handle);
                s_loadReport = "loaded " + candidate;
                return binding;
            }
        }
        catch (Exception e) when (e is BadImageFormatException or EntryPointNotFoundException or DllNotFoundException)
        {
            tried.Add(e.GetType().Name + ": " + e.Message);
        }
        s_loadReport = "tried " + string.Join("; ", tried);
        return null;
    }

    private static IEnumerable<string> Candidates()
    {
        string? explicitPath = Environment.GetEnvironmentVariable("JETSHARP_OPENBLAS_PATH");
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            // An explicit choice is final: silently using some other OpenBLAS would hide the mistake.
            yield return explicitPath.Trim();
            yield break;
        }
        if (OperatingSystem.IsWindows())
        {
            yield return "libopenblas.dll";
            yield return "openblas.dll";
            yield break;
        }
        if (OperatingSystem.IsMacOS())
        {
            yield return "libopenblas.dylib";
            yield return "/opt/homebrew/opt/openblas/lib/libopenblas.dylib";
            yield return "/usr/local/opt/openblas/lib/libopenblas.dylib";
            yield break;
        }
        yield return "libopenblas.so.0";
        yield return "libopenblas.so";
        string triplet = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.Arm64 => "aarch64-linux-gnu",
            _ => "x86_64-linux-gnu",
        };
        // Debian/Ubuntu install each flavour in its own directory and expose one of them through
        // update-alternatives; the alternatives link may be missing in minimal images.
        foreach (string flavour in new[] { "openblas-pthread", "openblas-openmp", "openblas-serial" })
            yield return $"/usr/lib/{triplet}/{flavour}/libopenblas.so.0";
        yield return "/usr/lib64/libopenblas.so.0";   // Fedora/RHEL (pthread flavour: libopenblasp)
        yield return "/usr/lib64/libopenblasp.so.0";
    }

    /// <summary>
    /// OpenBLAS reads OPENBLAS_CORETYPE and OPENBLAS_NUM_THREADS with getenv() in its load-time
    /// constructor, so they must be in the C environment before <see cref="NativeLibrary.TryLoad(string, out nint)"/>.
    /// On Unix, <see cref="Environment.SetEnvironmentVariable(string, string?)"/> only updates .NET's
    /// private copy of the environment, so values are also pushed through libc setenv().
    /// </summary>
    private static void PrepareEnvironment()
    {
        string? userCore = Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE");
        if (!string.IsNullOrWhiteSpace(userCore))
        {
            // Possibly set in-process via Environment.SetEnvironmentVariable: make sure C sees it too.
            CoreTypeDecision = $"OPENBLAS_CORETYPE={userCore} (set by user)";
            NativeSetEnv("OPENBLAS_CORETYPE", userCore);
        }
        else if (SupportsSkylakeXKernels())
        {
            // OpenBLAS 0.3.21 does not recognise Zen 4/5 (or other CPUs newer than its tables) and
            // falls back to its Haswell AVX2 kernels, leaving half the vector width unused.
            // Its SkylakeX kernels need exactly AVX-512 F/CD/BW/DQ/VL, checked here.
            CoreTypeDecision = "OPENBLAS_CORETYPE=SkylakeX (set automatically: CPU has AVX-512)";
            Environment.SetEnvironmentVariable("OPENBLAS_CORETYPE", "SkylakeX");
            NativeSetEnv("OPENBLAS_CORETYPE", "SkylakeX");
        }
        else
        {
            CoreTypeDecision = "OPENBLAS_CORETYPE not set (no AVX-512; OpenBLAS detects the CPU itself)";
        }

        string? threads = Environment.GetEnvironmentVariable("OPENBLAS_NUM_THREADS");
        if (!string.IsNullOrWhiteSpace(threads)) NativeSetEnv("OPENBLAS_NUM_THREADS", threads);
        // Unset: OpenBLAS defaults to one thread per core, which is what we want.
    }

    private static bool SupportsSkylakeXKernels() =>
        Avx512F.IsSupported && Avx512F.VL.IsSupported && Avx512BW.IsSupported
        && Avx512CD.IsSupported && Avx512DQ.IsSupported;

    /// <summary>The library may already have been loaded by someone else (its constructor then ran
    /// long ago), so an explicit thread count is also applied through the API.</summary>
    private static void ApplyThreadCount(nint handle)
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("OPENBLAS_NUM_THREADS"), out int n) && n > 0
            && NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out nint setThreads))
            ((delegate* unmanaged<int, void>)setThreads)(n);
    }

    /// <summary>setenv(3) in the C runtime. Also used by tests to confirm the variable really reaches getenv.</summary>
    internal static bool NativeSetEnv(string name, string value)
    {
        if (OperatingSystem.IsWindows()) return false; // the CRT keeps its own copy; not needed there so far
        nint libc = LibC;
        if (libc == 0 || !NativeLibrary.TryGetExport(libc, "setenv", out nint setenv)) return false;
        nint pName = Marshal.StringToCoTaskMemUTF8(name), pValue = Marshal.StringToCoTaskMemUTF8(value);
        try
        {
            return ((delegate* unmanaged<nint, nint, int, int>)setenv)(pName, pValue, 1) == 0;
        }
        finally
        {
            Marshal.FreeCoTaskMem(pName);
            Marshal.FreeCoTaskMem(pValue);
        }
    }

    /// <summary>getenv(3) in the C runtime (what OpenBLAS sees), or null if unavailable/unset.</summary>
    internal static string? NativeGetEnv(string name)
    {
        nint libc = LibC;
        if (libc == 0 || !NativeLibrary.TryGetExport(libc, "getenv", out nint getenv)) return null;
        nint pName = Marshal.StringToCoTaskMemUTF8(name);
        try
        {
            return Marshal.PtrToStringUTF8(((delegate* unmanaged<nint, nint>)getenv)(pName));
        }
        finally
        {
            Marshal.FreeCoTaskMem(pName);
        }
    }

    private static nint LibC
    {
        get
        {
            if (OperatingSystem.IsWindows()) return 0;
            if (OperatingSystem.IsMacOS()) return NativeLibrary.TryLoad("libSystem.dylib", out nint mac) ? mac : 0;
            // glibc, then whatever "libc" resolves to (musl).
            return NativeLibrary.TryLoad("libc.so.6", out nint h) || NativeLibrary.TryLoad("libc", out h) ? h : 0;
        }
    }
}
