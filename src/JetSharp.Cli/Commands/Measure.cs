namespace JetSharp.Cli.Commands;

/// <summary>How the commands print times and byte counts.</summary>
public static class Measure
{
    public static string Bytes(double b) => b switch
    {
        >= 1 << 30 => $"{b / (1 << 30):0.00} GiB",
        >= 1 << 20 => $"{b / (1 << 20):0.0} MiB",
        >= 1 << 10 => $"{b / (1 << 10):0.0} KiB",
        _ => $"{b:0} B",
    };

    public static string Time(double s) => s >= 1 ? $"{s:0.00} s" : $"{s * 1e3:0.0} ms";
}
