using System.Globalization;
using System.Text;

namespace JetSharp.Tensors;

internal static class NDArrayFormatter
{
    private const int MaxElements = 64;

    public static string Format<T>(NDArray<T> t) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sb = new StringBuilder();
        sb.Append($"NDArray<{t.DType.Name()}>{t.Shape} ");
        if (t.Rank == 0) return sb.Append(Str(t.Data[0])).ToString();
        if (t.Size > MaxElements)
        {
            sb.Append('{');
            for (int i = 0; i < 6; i++) sb.Append(Str(t.Data[i])).Append(", ");
            return sb.Append($"... {t.Size} elements}}").ToString();
        }
        int pos = 0;
        Append(sb, t, 0, ref pos);
        return sb.ToString();
    }

    private static void Append<T>(StringBuilder sb, NDArray<T> t, int axis, ref int pos) where T : unmanaged, IFloatingPointIeee754<T>
    {
        sb.Append('[');
        for (int i = 0; i < t.Shape[axis]; i++)
        {
            if (i > 0) sb.Append(", ");
            if (axis == t.Rank - 1) sb.Append(Str(t.Data[pos++]));
            else Append(sb, t, axis + 1, ref pos);
        }
        sb.Append(']');
    }

    private static string Str<T>(T v) where T : unmanaged, IFloatingPointIeee754<T> =>
        double.CreateTruncating(v).ToString("G6", CultureInfo.InvariantCulture);
}
