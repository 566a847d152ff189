using System.Runtime.InteropServices;

namespace JetSharp.Distributed;

/// <summary>
/// MPI_COMM_WORLD of Open MPI through a small binding of its C library (libmpi.so.40), loaded when first used,
/// so nothing needs MPI to build or to run on one process. Open MPI's handles are the addresses of exported
/// objects (ompi_mpi_comm_world, ompi_mpi_double), read from the library; other MPI implementations (MPICH's
/// integer handles) are not supported. Start the program under <c>mpirun -np P</c>; see docs/distributed.md.
/// <para>
/// <see cref="AllreduceSum"/> gathers every rank's vector (MPI_Allgather) and adds them in rank order on every
/// rank, instead of MPI_Allreduce, whose summation order depends on the algorithm MPI picks: the result is then
/// bitwise identical on all ranks and equal to the same sum formed by one process.
/// </para>
/// </summary>
public sealed unsafe class MpiCommunicator : ICommunicator, IDisposable
{
    private const int RtldNow = 0x2, RtldGlobal = 0x100;
    private static readonly string[] LibraryNames = ["libmpi.so.40", "libmpi.so"];

    private static nint _library;
    private static nint _commWorld, _double;
    private static delegate* unmanaged<int*, byte***, int> _init;
    private static delegate* unmanaged<int*, int> _initialized;
    private static delegate* unmanaged<int> _finalize;
    private static delegate* unmanaged<nint, int*, int> _commRank, _commSize;
    private static delegate* unmanaged<nint, int> _barrier;
    private static delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> _allgather;
    private bool _disposed;

    // Open MPI's components are plug-ins that resolve libmpi's symbols from the global namespace, so the
    // library is opened RTLD_GLOBAL through libc (NativeLibrary.Load opens it locally).
    [DllImport("libc", EntryPoint = "dlopen")] private static extern nint DlOpen(string file, int mode);
    [DllImport("libc", EntryPoint = "dlsym")] private static extern nint DlSym(nint handle, string name);

    /// <summary>True when libmpi can be loaded on this machine (it may still need mpirun to start more than one rank).</summary>
    public static bool IsAvailable
    {
        get
        {
            try { return Load() != 0; }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException) { return false; }
        }
    }

    private static nint Load()
    {
        if (_library != 0) return _library;
        if (!OperatingSystem.IsLinux()) return 0;
        nint lib = 0;
        foreach (var name in LibraryNames)
            if ((lib = DlOpen(name, RtldNow | RtldGlobal)) != 0) break;
        if (lib == 0) return 0;
        nint Sym(string name) => DlSym(lib, name) is var p && p != 0 ? p
            : throw new InvalidOperationException($"MPI: libmpi has no symbol {name} (only Open MPI is supported).");
        _commWorld = Sym("ompi_mpi_comm_world");
        _double = Sym("ompi_mpi_double");
        _init = (delegate* unmanaged<int*, byte***, int>)Sym("MPI_Init");
        _initialized = (delegate* unmanaged<int*, int>)Sym("MPI_Initialized");
        _finalize = (delegate* unmanaged<int>)Sym("MPI_Finalize");
        _commRank = (delegate* unmanaged<nint, int*, int>)Sym("MPI_Comm_rank");
        _commSize = (delegate* unmanaged<nint, int*, int>)Sym("MPI_Comm_size");
        _barrier = (delegate* unmanaged<nint, int>)Sym("MPI_Barrier");
        _allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)Sym("MPI_Allgather");
        return _library = lib;
    }

    private MpiCommunicator(int rank, int size)
    {
        Rank = rank;
        Size = size;
    }

    /// <summary>Initialises MPI (MPI_Init) and returns MPI_COMM_WORLD. Call once per process; dispose to finalise.</summary>
    /// <exception cref="DllNotFoundException">Open MPI's library is not installed.</exception>
    /// <exception cref="InvalidOperationException">MPI is already initialised, or a call fails.</exception>
    public static MpiCommunicator Initialize()
    {
        if (Load() == 0)
            throw new DllNotFoundException($"MPI: none of {string.Join(", ", LibraryNames)} could be loaded; install Open MPI (apt-get install openmpi-bin libopenmpi-dev).");
        int flag;
        Check(_initialized(&flag), "MPI_Initialized");
        if (flag != 0) throw new InvalidOperationException("MPI: already initialised in this process (create one MpiCommunicator per process).");
        Check(_init(null, null), "MPI_Init");
        int rank, size;
        Check(_commRank(_commWorld, &rank), "MPI_Comm_rank");
        Check(_commSize(_commWorld, &size), "MPI_Comm_size");
        return new MpiCommunicator(rank, size);
    }

    /// <inheritdoc/>
    public int Rank { get; }
    /// <inheritdoc/>
    public int Size { get; }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">MPI was finalised.</exception>
    public void AllreduceSum(double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var all = new double[(long)values.Length * Size];
        fixed (double* send = values)
        fixed (double* receive = all)
            Check(_allgather(send, values.Length, _double, receive, values.Length, _double, _commWorld), "MPI_Allgather");
        for (int i = 0; i < values.Length; i++)
        {
            double sum = all[i];
            for (int r = 1; r < Size; r++) sum += all[(long)r * values.Length + i];
            values[i] = sum;
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">MPI was finalised.</exception>
    public void Barrier()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Check(_barrier(_commWorld), "MPI_Barrier");
    }

    /// <summary>Finalises MPI (MPI_Finalize); every rank must call it.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Check(_finalize(), "MPI_Finalize");
    }

    private static void Check(int code, string call)
    {
        if (code != 0) throw new InvalidOperationException($"MPI: {call} failed with error code {code}.");
    }
}
