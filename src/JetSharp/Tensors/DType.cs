namespace JetSharp.Tensors;

/// <summary>Element type of a tensor or graph node. A graph uses a single dtype throughout.</summary>
public enum DType
{
    Float32,
    Float64,
}

public static class DTypes
{
    public static DType Of<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return DType.Float32;
        if (typeof(T) == typeof(double)) return DType.Float64;
        throw new NotSupportedException($"Element type {typeof(T).Name} is not supported; use float or double.");
    }

    public static int SizeInBytes(this DType t) => t == DType.Float32 ? 4 : 8;

    public static string Name(this DType t) => t == DType.Float32 ? "float32" : "float64";
}
