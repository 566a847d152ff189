using System.CommandLine;
using System.Reflection;
using System.CommandLine.Invocation;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using JetSharp.Cli.Commands;
using JetSharp.Nn;
using Spectre.Console;

namespace JetSharp.Cli;

/// <summary>
/// The <c>jetsharp</c> command. System.CommandLine parses and validates the whole command line first;
/// bad input (an unknown command or option, a malformed or out-of-range value, an output path that
/// cannot be written, a missing or damaged checkpoint) ends the run before any work with exit code 2
/// and one plain line on standard error. <c>--help</c> on any command lists its options and their defaults.
/// </summary>
public static class Program
{
    /// <summary>Exit code of bad input (usage errors).</summary>
    public const int UsageError = 2;

    public static int Main(string[] args)
    {
        // Redirected output (CI logs, files) has no window width; tables need more than Spectre's default 80 columns.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 160;
        return Run(args, Console.Out, Console.Error);
    }

    /// <summary>Parses and runs a command line; help, version and error lines go to the given writers (command output goes to the console).</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        var parse = CreateRoot().Parse(args);
        string where = CommandPath(parse.CommandResult.Command);
        if (parse.Action is ParseErrorAction)
        {
            error.WriteLine($"{where}: {parse.Errors[0].Message} (see '{where} --help')");
            return UsageError;
        }
        if (MisplacedOption(parse) is { } misplaced)
        {
            error.WriteLine($"{where}: {misplaced} (see '{where} --help')");
            return UsageError;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is UsageException or CheckpointMismatchException or ArgumentException or InvalidDataException)
        {
            error.WriteLine($"{where}: {OneLine(e.Message)}");
            return UsageError;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"{where}: error: {OneLine(e.Message)}");
            return 1;
        }
    }

    /// <summary>The command tree: every command, its options (with defaults) and its action.</summary>
    public static Command CreateRoot()
    {
        // A plain command rather than RootCommand, whose name is the running file's (JetSharp.Cli under 'dotnet run' and the tool shim).
        var root = new Command("jetsharp", "JetSharp: differential operators by Taylor-mode automatic differentiation with collapsing. " +
                                           "Run 'jetsharp COMMAND --help' for a command's options.")
        {
            new HelpOption(),
            new VersionOption { Action = new PrintVersion() },
            DemoCommand.Create(),
            BenchCommand.Create(),
            GraphCommand.Create(),
            FixedPointCommand.Create(),
            ControlFlowCommand.Create(),
            KalmanCommand.Create(),
            JacobianCommand.Create(),
            ExampleCommand.Create(),
            OperatorCommand.Create(),
            ExportCommand.Create(),
        };
        root.SetAction(parse => root.Parse(["--help"]).Invoke(parse.InvocationConfiguration));
        var help = new Command("help", "The same as --help.") { Hidden = true };   // the old parser's spelling
        help.SetAction(parse => root.Parse(["--help"]).Invoke(parse.InvocationConfiguration));
        root.Add(help);
        return root;
    }

    /// <summary>
    /// An option of a parent command given on a subcommand's line (<c>bench --float32 gemm</c>): the parser accepts
    /// it, but only the subcommand runs, so it would be silently ignored.
    /// </summary>
    private static string? MisplacedOption(ParseResult parse)
    {
        for (var r = parse.CommandResult.Parent as CommandResult; r is not null; r = r.Parent as CommandResult)
            foreach (var o in r.Children.OfType<OptionResult>())
                if (!o.Implicit && !o.Option.Recursive)
                    return $"{o.IdentifierToken?.Value ?? o.Option.Name} is an option of '{CommandPath(r.Command)}', not of '{CommandPath(parse.CommandResult.Command)}'.";
        return null;
    }

    private static string CommandPath(Command command)
    {
        var names = new List<string>();
        for (var c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
            names.Add(c.Name);
        names.Reverse();
        return string.Join(" ", names);
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}

/// <summary>
/// <c>--version</c>: the informational version of this assembly (version and commit). System.CommandLine's own
/// action prints the entry assembly's, which is the test host's when the CLI runs in-process.
/// </summary>
internal sealed class PrintVersion : SynchronousCommandLineAction
{
    public static string Version =>
        typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? typeof(Program).Assembly.GetName().Version!.ToString();

    public override int Invoke(ParseResult parseResult)
    {
        parseResult.InvocationConfiguration.Output.WriteLine(Version);
        return 0;
    }
}
