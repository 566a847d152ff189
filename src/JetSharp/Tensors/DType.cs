namespace JetSharp.Tensors;

/// <summary>Element type of a tensor or graph node. A graph uses a single dtype throughout.</summary>
public enum DType
{
    /// <summary>IEEE 754 binary32 (<c>float</c>), 4 bytes per element.</summary>
    Float32,
    /// <summary>IEEE 754 binary64 (<c>double</c>), 8 bytes per element.</summary>
    Float64,
}

/// <summary>Helpers that map between <see cref="DType"/> and .NET element types.</summary>
public static class DTypes
{
    /// <summary>The dtype of element type <typeparamref name="T"/>.</summary>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <c>float</c> nor <c>double</c>.</exception>
    public static DType Of<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return DType.Float32;
        if (typeof(T) == typeof(double)) return DType.Float64;
        throw new NotSupportedException($"Element type {typeof(T).Name} is not supported; use float or double.");
    }

    /// <summary>Bytes per element: 4 for float32, 8 for float64.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined value.</exception>
    public static int SizeInBytes(this DType dtype) => Check(dtype) == DType.Float32 ? 4 : 8;

    /// <summary>The NumPy-style name, <c>"float32"</c> or <c>"float64"</c>, used in printed graphs and tensors.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined value.</exception>
    public static string Name(this DType dtype) => Check(dtype) == DType.Float32 ? "float32" : "float64";

    /// <summary>Returns <paramref name="dtype"/>, or throws when it is not one of the defined dtypes (e.g. <c>(DType)42</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined value.</exception>
    public static DType Check(DType dtype) => Enum.IsDefined(dtype) ? dtype
        : throw new ArgumentOutOfRangeException(nameof(dtype), dtype, $"DType: {(int)dtype} is not a dtype; use Float32 or Float64.");
}
