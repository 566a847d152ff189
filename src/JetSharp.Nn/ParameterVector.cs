namespace JetSharp.Nn;

/// <summary>
/// Conversions between a list of parameter tensors (W₁, b₁, W₂, …) and the one flat float64 vector
/// optimizers work on: the tensors' elements in row-major order, one tensor after another.
/// </summary>
public static class ParameterVector
{
    /// <summary>Total number of elements of tensors of these shapes.</summary>
    public static int Count(IReadOnlyList<Shape> shapes)
    {
        long n = 0;
        foreach (var s in shapes) n += s.Size;
        return n <= int.MaxValue ? (int)n : throw new ArgumentException($"ParameterVector: {n} parameters do not fit one array.");
    }

    /// <summary>The elements of all tensors, concatenated (float32 tensors are widened).</summary>
    public static double[] Flatten(IReadOnlyList<NDArray> parameters)
    {
        var theta = new double[Count([.. parameters.Select(p => p.Shape)])];
        int offset = 0;
        foreach (var p in parameters)
        {
            if (p is NDArray<double> d) d.Data.CopyTo(theta, offset);
            else for (int i = 0; i < p.Size; i++) theta[offset + i] = p.GetDouble(i);
            offset += p.Size;
        }
        return theta;
    }

    /// <summary>New float64 tensors of the given shapes holding the elements of <paramref name="theta"/>.</summary>
    public static NDArray<double>[] Unflatten(ReadOnlySpan<double> theta, IReadOnlyList<Shape> shapes)
    {
        var tensors = shapes.Select(s => new NDArray<double>(s)).ToArray();
        CopyTo(theta, tensors);
        return tensors;
    }

    /// <summary>Copies <paramref name="theta"/> into existing tensors (reused between steps to avoid allocation).</summary>
    public static void CopyTo(ReadOnlySpan<double> theta, IReadOnlyList<NDArray<double>> tensors)
    {
        int n = Count([.. tensors.Select(t => t.Shape)]);
        if (theta.Length != n)
            throw new ShapeException($"ParameterVector: a vector of {theta.Length} values for tensors of shapes {string.Join(", ", tensors.Select(t => t.Shape))} ({n} values).");
        int offset = 0;
        foreach (var t in tensors)
        {
            theta.Slice(offset, t.Size).CopyTo(t.Data);
            offset += t.Size;
        }
    }

    /// <summary>Concatenates gradient tensors into <paramref name="gradient"/> (length checked).</summary>
    public static void Gather(IReadOnlyList<NDArray<double>> tensors, Span<double> gradient)
    {
        int offset = 0;
        foreach (var t in tensors)
        {
            if (offset + t.Size > gradient.Length)
                throw new ShapeException($"ParameterVector.Gather: tensors of shapes {string.Join(", ", tensors.Select(x => x.Shape))} do not fit a vector of {gradient.Length}.");
            t.Data.CopyTo(gradient.Slice(offset, t.Size));
            offset += t.Size;
        }
        if (offset != gradient.Length)
            throw new ShapeException($"ParameterVector.Gather: tensors with {offset} values for a vector of {gradient.Length}.");
    }
}
