using JetSharp.Cli.Commands;
using Spectre.Console;

namespace JetSharp.Cli;

public static class Program
{
    private static readonly Dictionary<string, (string Help, Func<Args, int> Run)> Commands = new()
    {
        ["demo"] = ("every operator of a tanh MLP in three strategies: agreement, time and memory", DemoCommand.Run),
        ["bench"] = ("the paper's benchmark on the CPU (time, memory, ratios, GFLOP/s); 'bench gemm' for the matrix-multiply backend", BenchCommand.Run),
        ["graph"] = ("before/after listing and SVG of the collapsed Laplacian graph of a small MLP", GraphCommand.Run),
        ["fixedpoint"] = ("hypergradient through a fixed point: unrolled, implicit and one-step derivatives compared", FixedPointCommand.Run),
        ["kalman"] = ("fit a linear-Gaussian state-space model by gradient ascent through a square-root Kalman filter", KalmanCommand.Run),
        ["jacobian"] = ("multiplication counts and run times of vertex-elimination orders on the Jacobian benchmarks", JacobianCommand.Run),
        ["example"] = ("train an example (poisson2d, poisson-highdim, heat, plate, vmc-oscillator): error, time, figures", ExampleCommand.Run),
    };

    public static int Main(string[] argv)
    {
        // Redirected output (CI logs, files) has no window width; tables need more than Spectre's default 80 columns.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 160;
        if (argv.Length == 0 || argv[0] is "-h" or "--help" or "help" || !Commands.TryGetValue(argv[0], out var command))
        {
            if (argv.Length > 0 && argv[0] is not ("-h" or "--help" or "help"))
                AnsiConsole.MarkupLine($"[red]unknown command[/] '{Markup.Escape(argv[0])}'");
            AnsiConsole.MarkupLine("usage: [bold]jetsharp[/] <command> [[options]]");
            foreach (var (name, (help, _)) in Commands) AnsiConsole.MarkupLine($"  [bold]{name,-9}[/] {Markup.Escape(help)}");
            return argv.Length == 0 || argv[0] is "-h" or "--help" or "help" ? 0 : 2;
        }
        try
        {
            return command.Run(new Args(argv[1..]));
        }
        catch (ArgumentException e)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return 2;
        }
    }
}

/// <summary>Options of the form --name value or --flag.</summary>
public sealed class Args(string[] argv)
{
    public string[] Positional { get; } = [.. argv.Where((a, i) => !a.StartsWith("--") && (i == 0 || !argv[i - 1].StartsWith("--") || IsFlagLike(argv, i - 1)))];

    private static bool IsFlagLike(string[] argv, int i) => i + 1 >= argv.Length || argv[i + 1].StartsWith("--");

    public bool Flag(string name) => argv.Contains("--" + name);

    public string? Value(string name)
    {
        int i = Array.IndexOf(argv, "--" + name);
        return i >= 0 && i + 1 < argv.Length && !argv[i + 1].StartsWith("--") ? argv[i + 1] : null;
    }

    public int Int(string name, int fallback) => Value(name) is { } v
        ? int.TryParse(v, out var r) ? r : throw new ArgumentException($"--{name} expects an integer, got '{v}'.")
        : fallback;
}
