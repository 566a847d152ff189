using System.Globalization;
using System.Text;

namespace JetSharp.Plotting;

/// <summary>One line of a <see cref="LineChart"/>.</summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>
/// A line chart written as a self-contained SVG file (no dependencies): axes with ticks, optional
/// logarithmic scales, one coloured line with markers per series, and a legend. Points that cannot be
/// drawn (non-finite, or ≤ 0 on a logarithmic axis) are left out of the lines, and the legend says how
/// many each series lost, so nothing disappears silently.
/// </summary>
public sealed class LineChart
{
    public string Title { get; init; } = "";
    public string XLabel { get; init; } = "";
    public string YLabel { get; init; } = "";
    public bool LogX { get; init; }
    public bool LogY { get; init; }
    public int Width { get; init; } = 640;
    public int Height { get; init; } = 420;
    public List<Series> Series { get; } = [];

    private static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

    public LineChart Add(string name, IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count) throw new ArgumentException($"LineChart.Add: series '{name}' has {x.Count} x values and {y.Count} y values.");
        Series.Add(new Series(name, x, y));
        return this;
    }

    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        File.WriteAllText(path, ToSvg());
    }

    public string ToSvg()
    {
        const int left = 72, right = 24, top = 40, bottom = 56;
        if (Width <= left + right)
            throw new ArgumentOutOfRangeException(nameof(Width), Width, $"LineChart: Width must exceed the margins ({left + right} px), got {Width}.");
        if (Height <= top + bottom)
            throw new ArgumentOutOfRangeException(nameof(Height), Height, $"LineChart: Height must exceed the margins ({top + bottom} px), got {Height}.");
        var points = Series.SelectMany(s => s.X.Zip(s.Y)).Where(p => Valid(p.First, LogX) && Valid(p.Second, LogY)).ToList();
        if (points.Count == 0) points = [(1.0, 1.0)];
        var (x0, x1) = Range(points.Select(p => p.First), LogX);
        var (y0, y1) = Range(points.Select(p => p.Second), LogY);
        double pw = Width - left - right, ph = Height - top - bottom;
        double Sx(double v) => left + (Map(v, LogX) - x0) / (x1 - x0) * pw;
        double Sy(double v) => top + ph - (Map(v, LogY) - y0) / (y1 - y0) * ph;

        var sb = Header(Width, Height);
        sb.Append(Text(Width / 2.0, 24, Title, 15, "middle", bold: true));
        sb.Append(F($"<rect x='{left}' y='{top}' width='{pw}' height='{ph}' fill='none' stroke='#444'/>\n"));
        foreach (var t in Ticks(x0, x1, LogX))
        {
            double px = left + (t - x0) / (x1 - x0) * pw;
            sb.Append(F($"<line x1='{px:0.#}' y1='{top}' x2='{px:0.#}' y2='{top + ph}' stroke='#e5e5e5'/>\n"));
            sb.Append(Text(px, top + ph + 16, Label(t, LogX), 11, "middle"));
        }
        foreach (var t in Ticks(y0, y1, LogY))
        {
            double py = top + ph - (t - y0) / (y1 - y0) * ph;
            sb.Append(F($"<line x1='{left}' y1='{py:0.#}' x2='{left + pw}' y2='{py:0.#}' stroke='#e5e5e5'/>\n"));
            sb.Append(Text(left - 6, py + 4, Label(t, LogY), 11, "end"));
        }
        sb.Append(Text(left + pw / 2, Height - 14, XLabel, 12, "middle"));
        sb.Append(F($"<text x='16' y='{top + ph / 2:0.#}' font-size='12' text-anchor='middle' transform='rotate(-90 16 {top + ph / 2:0.#})'>{Escape(YLabel)}</text>\n"));
        for (int s = 0; s < Series.Count; s++)
        {
            var color = Palette[s % Palette.Length];
            var pts = Series[s].X.Zip(Series[s].Y).Where(p => Valid(p.First, LogX) && Valid(p.Second, LogY)).ToList();
            if (pts.Count > 1)
                sb.Append(F($"<polyline fill='none' stroke='{color}' stroke-width='2' points='{string.Join(" ", pts.Select(p => F($"{Sx(p.First):0.##},{Sy(p.Second):0.##}")))}'/>\n"));
            if (pts.Count <= 60)
                foreach (var p in pts) sb.Append(F($"<circle cx='{Sx(p.First):0.##}' cy='{Sy(p.Second):0.##}' r='3' fill='{color}'/>\n"));
            double ly = top + 14 + 16 * s;
            sb.Append(F($"<line x1='{left + 10}' y1='{ly - 4}' x2='{left + 30}' y2='{ly - 4}' stroke='{color}' stroke-width='2'/>\n"));
            int dropped = Series[s].X.Count - pts.Count;
            string name = dropped == 0 ? Series[s].Name : $"{Series[s].Name} ({dropped} point{(dropped == 1 ? "" : "s")} not drawn: non-finite{(LogX || LogY ? " or ≤ 0 on a log axis" : "")})";
            sb.Append(Text(left + 36, ly, name, 11, "start"));
        }
        return sb.Append("</svg>\n").ToString();
    }

    private static bool Valid(double v, bool log) => double.IsFinite(v) && (!log || v > 0);
    private static double Map(double v, bool log) => log ? Math.Log10(v) : v;

    private static (double, double) Range(IEnumerable<double> values, bool log)
    {
        var m = values.Select(v => Map(v, log)).ToList();
        double lo = m.Min(), hi = m.Max();
        if (hi - lo < 1e-12 * Math.Max(1, Math.Abs(hi))) { lo -= 0.5; hi += 0.5; }
        double pad = (hi - lo) * 0.05;
        return log ? (Math.Floor(lo * 2) / 2, Math.Ceiling(hi * 2) / 2) : (lo - pad, hi + pad);
    }

    private static IEnumerable<double> Ticks(double lo, double hi, bool log)
    {
        if (log)
        {
            for (double e = Math.Ceiling(lo); e <= hi + 1e-9; e++) yield return e;
            yield break;
        }
        double step = Math.Pow(10, Math.Floor(Math.Log10((hi - lo) / 5)));
        if ((hi - lo) / step > 10) step *= 2;
        if ((hi - lo) / step > 10) step *= 2.5;
        for (double t = Math.Ceiling(lo / step) * step; t <= hi + 1e-9 * step; t += step) yield return t;
    }

    private static string Label(double t, bool log) => log
        ? "1e" + (t + 0.0).ToString("0", CultureInfo.InvariantCulture)
        : (t + 0.0).ToString(Math.Abs(t) >= 1e4 || (Math.Abs(t) < 1e-3 && t != 0) ? "0.##e0" : "0.###", CultureInfo.InvariantCulture);

    internal static StringBuilder Header(int w, int h) => new StringBuilder()
        .Append(F($"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' viewBox='0 0 {w} {h}' font-family='Helvetica, Arial, sans-serif'>\n"))
        .Append(F($"<rect width='{w}' height='{h}' fill='white'/>\n"));

    internal static string Text(double x, double y, string s, int size, string anchor, bool bold = false) =>
        F($"<text x='{x:0.#}' y='{y:0.#}' font-size='{size}' text-anchor='{anchor}'{(bold ? " font-weight='bold'" : "")}>{Escape(s)}</text>\n");

    internal static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("'", "&apos;");

    internal static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// A scalar field on a regular 2-D grid drawn as coloured cells with a colour bar (viridis-like ramp).
/// Non-finite cells are drawn in <see cref="MissingColor"/>, outside the ramp, and counted under the title.
/// </summary>
public sealed class Heatmap
{
    /// <summary>The fill of cells whose value is NaN or infinite.</summary>
    public const string MissingColor = "#c8c8c8";

    public string Title { get; init; } = "";
    public string XLabel { get; init; } = "x";
    public string YLabel { get; init; } = "y";
    public (double Min, double Max) XRange { get; init; } = (0, 1);
    public (double Min, double Max) YRange { get; init; } = (0, 1);
    public int Size { get; init; } = 360;

    /// <summary>values[i, j]: row i is y (bottom to top), column j is x (left to right).</summary>
    public string ToSvg(double[,] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        int ny = values.GetLength(0), nx = values.GetLength(1);
        if (ny == 0 || nx == 0) throw new ArgumentException($"Heatmap: the grid is {ny}×{nx}; it needs at least one cell.", nameof(values));
        if (Size < 1) throw new ArgumentOutOfRangeException(nameof(Size), Size, $"Heatmap: Size must be positive, got {Size}.");
        CheckRange(XRange, nameof(XRange));
        CheckRange(YRange, nameof(YRange));
        int missing = 0;
        const int left = 56, top = 36, barWidth = 16;
        int w = left + Size + 90, h = top + Size + 48;
        double lo = double.MaxValue, hi = double.MinValue;
        foreach (var v in values)
            if (double.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
            else missing++;
        if (missing == values.Length) (lo, hi) = (0, 1);
        else if (!(hi > lo)) { hi = lo + 1; }
        var sb = LineChart.Header(w, h);
        sb.Append(LineChart.Text(left + Size / 2.0, 22, Title, 14, "middle", bold: true));
        if (missing > 0)
            sb.Append(LineChart.Text(left + Size / 2.0, top - 4, $"{missing} cell{(missing == 1 ? "" : "s")} not finite (grey)", 10, "middle"));
        double cw = (double)Size / nx, ch = (double)Size / ny;
        for (int i = 0; i < ny; i++)
            for (int j = 0; j < nx; j++)
                sb.Append(LineChart.F($"<rect x='{left + j * cw:0.##}' y='{top + (ny - 1 - i) * ch:0.##}' width='{cw + 0.5:0.##}' height='{ch + 0.5:0.##}' fill='{(double.IsFinite(values[i, j]) ? Color((values[i, j] - lo) / (hi - lo)) : MissingColor)}'/>\n"));
        sb.Append(LineChart.F($"<rect x='{left}' y='{top}' width='{Size}' height='{Size}' fill='none' stroke='#444'/>\n"));
        sb.Append(LineChart.Text(left, top + Size + 16, Fmt(XRange.Min), 11, "middle"));
        sb.Append(LineChart.Text(left + Size, top + Size + 16, Fmt(XRange.Max), 11, "middle"));
        sb.Append(LineChart.Text(left + Size / 2.0, top + Size + 34, XLabel, 12, "middle"));
        sb.Append(LineChart.Text(left - 6, top + Size, Fmt(YRange.Min), 11, "end"));
        sb.Append(LineChart.Text(left - 6, top + 10, Fmt(YRange.Max), 11, "end"));
        sb.Append(LineChart.Text(left - 30, top + Size / 2.0, YLabel, 12, "middle"));
        int bx = left + Size + 20;
        for (int k = 0; k < 64; k++)
            sb.Append(LineChart.F($"<rect x='{bx}' y='{top + Size - (k + 1) * Size / 64.0:0.##}' width='{barWidth}' height='{Size / 64.0 + 0.5:0.##}' fill='{Color(k / 63.0)}'/>\n"));
        sb.Append(LineChart.Text(bx + barWidth + 4, top + 10, Fmt(hi), 11, "start"));
        sb.Append(LineChart.Text(bx + barWidth + 4, top + Size, Fmt(lo), 11, "start"));
        return sb.Append("</svg>\n").ToString();
    }

    public void Save(string path, double[,] values)
    {
        ArgumentNullException.ThrowIfNull(path);
        File.WriteAllText(path, ToSvg(values));
    }

    private static void CheckRange((double Min, double Max) r, string name)
    {
        if (!double.IsFinite(r.Min) || !double.IsFinite(r.Max) || !(r.Max > r.Min))
            throw new ArgumentOutOfRangeException(name, r, $"Heatmap: {name} must be finite with Min < Max, got {r}.");
    }

    private static string Fmt(double v) => v.ToString(Math.Abs(v) >= 1e4 || (Math.Abs(v) < 1e-2 && v != 0) ? "0.##e0" : "0.###", CultureInfo.InvariantCulture);

    /// <summary>A perceptually ordered ramp from dark blue through green to yellow.</summary>
    private static string Color(double t)
    {
        t = double.IsFinite(t) ? Math.Clamp(t, 0, 1) : 0;
        (double r, double g, double b)[] stops = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)];
        double p = t * (stops.Length - 1);
        int i = Math.Min((int)p, stops.Length - 2);
        double f = p - i;
        int C(double a, double b2) => (int)Math.Round(a + (b2 - a) * f);
        return $"#{C(stops[i].r, stops[i + 1].r):x2}{C(stops[i].g, stops[i + 1].g):x2}{C(stops[i].b, stops[i + 1].b):x2}";
    }
}
