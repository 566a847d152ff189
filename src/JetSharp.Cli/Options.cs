using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace JetSharp.Cli;

/// <summary>
/// The option kinds the commands take. Each parses its value itself (invariant culture) and rejects a
/// malformed or out-of-range value at parse time with a message that names the option, so no command
/// starts work on bad input. Every option states its default, which <c>--help</c> shows.
/// </summary>
internal static class Options
{
    /// <summary>An on/off switch (off unless given).</summary>
    public static Option<bool> Flag(string name, string description) =>
        new(name) { Description = description, DefaultValueFactory = _ => false };

    /// <summary>An integer of at least <paramref name="min"/>.</summary>
    public static Option<int> Int(string name, string description, int defaultValue, int min = 1) => new(name)
    {
        Description = description,
        HelpName = "N",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r => ParseInt(r, name, min) ?? defaultValue,
    };

    /// <summary>An integer of at least <paramref name="min"/> whose default depends on other options (described in <paramref name="description"/>).</summary>
    public static Option<int?> OptionalInt(string name, string description, int min = 1) => new(name)
    {
        Description = description,
        HelpName = "N",
        CustomParser = r => ParseInt(r, name, min),
    };

    /// <summary>Any 64-bit integer (seeds).</summary>
    public static Option<long> Seed(string name, string description, long defaultValue) => new(name)
    {
        Description = description,
        HelpName = "N",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r =>
        {
            string token = Single(r);
            if (long.TryParse(token, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)) return v;
            r.AddError($"{name} expects an integer, got '{token}'.");
            return defaultValue;
        },
    };

    /// <summary>A finite positive number.</summary>
    public static Option<double> Positive(string name, string description, double defaultValue, string helpName = "X") => new(name)
    {
        Description = description,
        HelpName = helpName,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r => ParsePositive(r, name) ?? defaultValue,
    };

    /// <summary>A finite positive number that is off unless given.</summary>
    public static Option<double?> OptionalPositive(string name, string description, string helpName = "X") => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = r => ParsePositive(r, name),
    };

    /// <summary>A path (checked for writability by the command before it starts work, see <see cref="OutputPaths"/>).</summary>
    public static Option<string> Path(string name, string description, string defaultValue, string helpName = "DIR") => new(name)
    {
        Description = description,
        HelpName = helpName,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r => NonEmpty(r, name) ?? defaultValue,
    };

    /// <summary>A path whose default depends on other arguments (described in <paramref name="description"/>).</summary>
    public static Option<string?> OptionalPath(string name, string description, string helpName = "PATH") => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = r => NonEmpty(r, name),
    };

    /// <summary>A comma-separated list of at least <paramref name="minCount"/> distinct positive integers, e.g. <c>16,32,64</c>.</summary>
    public static Option<int[]?> IntList(string name, string description, int minCount) => new(name)
    {
        Description = description,
        HelpName = "N,N,...",
        CustomParser = r =>
        {
            string token = Single(r);
            var parts = token.Split(',');
            var values = new int[parts.Length];
            for (int i = 0; i < parts.Length; i++)
                if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]) || values[i] < 1)
                {
                    r.AddError($"{name} expects a comma-separated list of positive integers, got '{token}'.");
                    return null;
                }
            if (values.Distinct().Count() < minCount)
            {
                r.AddError($"{name} needs at least {minCount} different values (the cost per unit is the slope over them), got '{token}'.");
                return null;
            }
            return values;
        },
    };

    /// <summary>A comma-separated subset of <paramref name="allowed"/>.</summary>
    public static Option<string[]?> Subset(string name, string description, IReadOnlyList<string> allowed) => new(name)
    {
        Description = $"{description} One or more of: {string.Join(", ", allowed)}.",
        HelpName = "KEY,KEY,...",
        CustomParser = r =>
        {
            string token = Single(r);
            var keys = token.Split(',');
            if (keys.FirstOrDefault(k => !allowed.Contains(k)) is { } bad)
            {
                r.AddError($"{name}: unknown key '{bad}'; the keys are {string.Join(", ", allowed)}.");
                return null;
            }
            return keys;
        },
    };

    /// <summary>The value of a list option, or null when it was not given (System.CommandLine reports an absent array option as empty; a given one never is).</summary>
    public static T[]? GetList<T>(this ParseResult parse, Option<T[]?> option) => parse.GetValue(option) is { Length: > 0 } v ? v : null;

    private static string Single(ArgumentResult r) => r.Tokens.Count == 1 ? r.Tokens[0].Value : string.Join(" ", r.Tokens.Select(t => t.Value));

    private static int? ParseInt(ArgumentResult r, string name, int min)
    {
        string token = Single(r);
        if (int.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) && v >= min) return v;
        r.AddError(min == int.MinValue ? $"{name} expects an integer, got '{token}'." : $"{name} expects an integer of at least {min}, got '{token}'.");
        return null;
    }

    private static double? ParsePositive(ArgumentResult r, string name)
    {
        string token = Single(r);
        if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v > 0) return v;
        r.AddError($"{name} expects a positive number, got '{token}'.");
        return null;
    }

    private static string? NonEmpty(ArgumentResult r, string name)
    {
        string token = Single(r);
        if (!string.IsNullOrWhiteSpace(token)) return token;
        r.AddError($"{name} expects a path, got an empty string.");
        return null;
    }
}

/// <summary>Thrown by a command for bad input found before it starts work; the CLI prints its message on one line and exits with code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Checks that output locations can be written before a command starts its (possibly long) work.</summary>
internal static class OutputPaths
{
    /// <summary>Creates <paramref name="dir"/> if needed and writes (then deletes) a probe file in it.</summary>
    public static void EnsureWritableDirectory(string dir, string option)
    {
        try
        {
            if (File.Exists(dir)) throw new IOException("it is a file, not a directory");
            Directory.CreateDirectory(dir);
            using var _ = new FileStream(System.IO.Path.Combine(dir, $".jetsharp-write-check-{Environment.ProcessId}-{Guid.NewGuid():N}"),
                FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new UsageException($"{option}: cannot write to the directory '{dir}': {e.Message}");
        }
    }

    /// <summary>Checks that <paramref name="file"/> is not a directory and that its directory can be written.</summary>
    public static void EnsureWritableFile(string file, string option)
    {
        if (Directory.Exists(file)) throw new UsageException($"{option}: '{file}' is a directory, not a file.");
        string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file)) ?? ".";
        EnsureWritableDirectory(dir, option);
    }
}
