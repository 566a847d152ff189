using JetSharp.IO;

namespace JetSharp.Nn;

/// <summary>
/// Conversions between a list of parameter tensors (W₁, b₁, W₂, …) and the one flat vector optimizers work
/// on: the tensors' elements in row-major order, one tensor after another, in the training precision
/// <c>T</c> (<c>float</c> or <c>double</c>). Saved to and loaded from safetensors files as tensors named
/// <c>parameters.0</c>, <c>parameters.1</c>, … (the names checkpoints use too).
/// </summary>
public static class ParameterVector
{
    /// <summary>Total number of elements of tensors of these shapes.</summary>
    public static int Count(IReadOnlyList<Shape> shapes)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        long n = 0;
        foreach (var s in shapes) n += s.Size;
        return n <= int.MaxValue ? (int)n : throw new ArgumentException($"ParameterVector: {n} parameters do not fit one array.");
    }

    /// <summary>The name of parameter tensor <paramref name="index"/> in weight files and checkpoints: <c>parameters.INDEX</c>.</summary>
    public static string Name(int index) => $"parameters.{index}";

    /// <summary>The elements of all tensors, concatenated, converted to <typeparamref name="T"/> (float64 → float32 rounds to nearest).</summary>
    public static T[] Flatten<T>(IReadOnlyList<NDArray> parameters) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var theta = new T[Count([.. parameters.Select(p => p.Shape)])];
        int offset = 0;
        foreach (var p in parameters)
        {
            switch (p)
            {
                case NDArray<T> same: same.Data.CopyTo(theta, offset); break;
                case NDArray<float> f: for (int i = 0; i < f.Size; i++) theta[offset + i] = T.CreateTruncating(f.Data[i]); break;
                case NDArray<double> d: for (int i = 0; i < d.Size; i++) theta[offset + i] = T.CreateTruncating(d.Data[i]); break;
                default: throw new ArgumentException($"ParameterVector.Flatten: a parameter of dtype {p.DType.Name()}.", nameof(parameters));
            }
            offset += p.Size;
        }
        return theta;
    }

    /// <summary>New tensors of the given shapes holding (copies of) the elements of <paramref name="theta"/>.</summary>
    public static NDArray<T>[] Unflatten<T>(ReadOnlySpan<T> theta, IReadOnlyList<Shape> shapes) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(shapes);
        var tensors = shapes.Select(s => new NDArray<T>(s)).ToArray();
        CopyTo(theta, tensors);
        return tensors;
    }

    /// <summary>Copies <paramref name="theta"/> into existing tensors (reused between steps to avoid allocation).</summary>
    public static void CopyTo<T>(ReadOnlySpan<T> theta, IReadOnlyList<NDArray<T>> tensors) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tensors);
        int n = Count([.. tensors.Select(t => t.Shape)]);
        if (theta.Length != n)
            throw new ShapeException($"ParameterVector: a vector of {theta.Length} values for tensors of shapes {string.Join(", ", tensors.Select(t => t.Shape))} ({n} values).");
        int offset = 0;
        foreach (var t in tensors)
        {
            Copy(theta.Slice(offset, t.Size), t.Data);
            offset += t.Size;
        }
    }

    /// <summary>A copy, split over the cores when long (a first layer of 10⁷–10⁸ weights copies faster on two than on one).</summary>
    private static unsafe void Copy<T>(ReadOnlySpan<T> from, Span<T> to) where T : unmanaged
    {
        if (from.Length < VectorMath.ParallelThreshold) { from.CopyTo(to); return; }
        fixed (T* f = from, t = to)
        {
            T* src = f, dst = t;
            int n = from.Length;
            VectorMath.For(n, (start, length) => new ReadOnlySpan<T>(src + start, length).CopyTo(new Span<T>(dst + start, length)));
        }
    }

    /// <summary>Concatenates gradient tensors into <paramref name="gradient"/> (length checked).</summary>
    public static void Gather<T>(IReadOnlyList<NDArray<T>> tensors, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tensors);
        int offset = 0;
        foreach (var t in tensors)
        {
            if (offset + t.Size > gradient.Length)
                throw new ShapeException($"ParameterVector.Gather: tensors of shapes {string.Join(", ", tensors.Select(x => x.Shape))} do not fit a vector of {gradient.Length}.");
            Copy<T>(t.Data, gradient.Slice(offset, t.Size));
            offset += t.Size;
        }
        if (offset != gradient.Length)
            throw new ShapeException($"ParameterVector.Gather: tensors with {offset} values for a vector of {gradient.Length}.");
    }

    /// <summary>
    /// Writes θ as the safetensors file <paramref name="path"/>: one tensor <c>parameters.i</c> per shape, in
    /// <typeparamref name="T"/> (F32 or F64), with optional string metadata.
    /// </summary>
    public static void Save<T>(string path, ReadOnlySpan<T> theta, IReadOnlyList<Shape> shapes, IReadOnlyDictionary<string, string>? metadata = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var tensors = Unflatten(theta, shapes);
        SafeTensors.Write(path, tensors.Select((t, i) => new KeyValuePair<string, NDArray>(Name(i), t)), metadata);
    }

    /// <summary>
    /// Reads θ from a safetensors file written by <see cref="Save{T}"/>: tensors <c>parameters.0</c> … of exactly these
    /// shapes and nothing else, converted to <typeparamref name="T"/> if stored in the other precision (float64 → float32
    /// rounds to nearest). A training checkpoint holds more; read it with <see cref="Checkpoint.Load(string)"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">A tensor is missing, extra, of another shape or not finite (named, with the file).</exception>
    public static T[] Load<T>(string path, IReadOnlyList<Shape> shapes) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(shapes);
        var file = SafeTensors.Read(path);
        var extra = file.Names.Where(n => !Enumerable.Range(0, shapes.Count).Any(i => n == Name(i))).ToList();
        if (extra.Count > 0)
            throw new InvalidDataException($"ParameterVector.Load '{path}': the file holds tensors other than parameters.0…{shapes.Count - 1}: {string.Join(", ", extra.Take(10))}" +
                (file.Metadata.TryGetValue("format", out var f) && f == Checkpoint.FormatName ? " (it is a training checkpoint: use Checkpoint.Load)." : "."));
        var tensors = new NDArray[shapes.Count];
        for (int i = 0; i < shapes.Count; i++)
        {
            if (!file.Tensors.TryGetValue(Name(i), out var t))
                throw new InvalidDataException($"ParameterVector.Load '{path}': no tensor '{Name(i)}' (expected {shapes.Count} parameter tensors).");
            if (t.Shape != shapes[i])
                throw new InvalidDataException($"ParameterVector.Load '{path}': tensor '{Name(i)}' has shape {t.Shape}; expected {shapes[i]}.");
            tensors[i] = t;
        }
        var theta = Flatten<T>(tensors);
        int bad = Array.FindIndex(theta, x => !T.IsFinite(x));
        if (bad >= 0) throw new InvalidDataException($"ParameterVector.Load '{path}': parameter value {bad} is {theta[bad]}; parameters must be finite.");
        return theta;
    }
}
