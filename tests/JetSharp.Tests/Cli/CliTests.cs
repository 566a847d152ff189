using System.CommandLine;
using System.Diagnostics;
using System.Reflection;
using JetSharp.Cli;
using JetSharp.Examples;

namespace JetSharp.Tests.Cli;

/// <summary>
/// The <c>jetsharp</c> command line: misuse is rejected before any work (exit code 2, one plain line on
/// standard error naming the option, no stack trace, no colour codes), every command's help lists its
/// options with their defaults, and the documented spellings parse to the intended values. The CLI runs
/// in-process through <see cref="Program.Run"/>; two tests start the real process.
/// </summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jetsharp-cli-").FullName;

    public CliTests()
    {
        File.WriteAllText(Path.Combine(_dir, "afile"), "not a directory");
        // A checkpoint cut off in the middle (what a crash during a save or a partial copy leaves).
        File.WriteAllText(Path.Combine(_dir, "truncated.json"), "{\n  \"format\": \"jetsharp-checkpoint\",\n  \"version\": 1,\n  \"architecture\": \"mlp 2→8→8→1 ta");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (int Code, string Out, string Err) Run(string commandLine)
    {
        var args = commandLine.Replace("{dir}", _dir).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        using StringWriter output = new(), error = new();
        int code = Program.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Theory]
    // unknown commands, options and arguments
    [InlineData("frobnicate", "'frobnicate'")]
    [InlineData("--bogus", "'--bogus'")]
    [InlineData("demo --bacth 5", "'--bacth'")]
    [InlineData("demo extra", "'extra'")]
    [InlineData("bench --qiuck", "'--qiuck'")]
    [InlineData("bench gemm --repeats 3", "'--repeats'")]
    [InlineData("bench --float32 gemm", "--float32")]
    [InlineData("--version demo", "--version")]
    [InlineData("example poisson2d heat", "'heat'")]
    // operator (ONNX)
    [InlineData("operator --points {dir}/p.csv", "--onnx")]
    [InlineData("export --onnx {dir}/missing.onnx --out {dir}/m.cs", "missing.onnx")]
    [InlineData("export --onnx {dir}/afile --op gradient", "gradient")]
    [InlineData("export --onnx {dir}/afile --batch 0", "--batch")]
    [InlineData("operator --onnx {dir}/missing.onnx --points {dir}/p.csv --out {dir}/o.csv", "missing.onnx")]
    [InlineData("operator --onnx {dir}/afile --points {dir}/p.csv --op hessian", "hessian")]
    [InlineData("operator --onnx {dir}/afile --points {dir}/missing.csv --out {dir}/o.csv", "missing.csv")]
    [InlineData("example poisson2d --fast maybe", "'maybe'")]
    [InlineData("example bogus", "'bogus'")]
    [InlineData("jacobian roe bogus", "'bogus'")]
    // malformed or out-of-range values
    [InlineData("demo --batch 0", "--batch")]
    [InlineData("demo --batch abc", "--batch")]
    [InlineData("demo --batch", "--batch")]
    [InlineData("demo --batch 3 --batch 4", "--batch")]
    [InlineData("demo --repeats 0", "--repeats")]
    [InlineData("bench --batches abc", "--batches")]
    [InlineData("bench --batches 5,,6", "--batches")]
    [InlineData("bench --batches 5", "--batches")]
    [InlineData("bench --batches 8,8", "--batches")]
    [InlineData("bench --samples 0,4", "--samples")]
    [InlineData("bench --stochastic-batch x", "--stochastic-batch")]
    [InlineData("bench --repeats -1", "--repeats")]
    [InlineData("bench --only bogus", "'bogus'")]
    [InlineData("bench --only laplacian,stochastic-laplacians", "'stochastic-laplacians'")]
    [InlineData("graph --dim 0", "--dim")]
    [InlineData("fixedpoint --data 0", "--data")]
    [InlineData("kalman --lr NaN", "--lr")]
    [InlineData("kalman --lr -0.1", "--lr")]
    [InlineData("kalman --steps 1", "--steps")]
    [InlineData("kalman --seed x", "--seed")]
    [InlineData("jacobian --budget 0", "--budget")]
    [InlineData("jacobian --threads 0", "--threads")]
    [InlineData("example poisson2d --scale 0", "--scale")]
    [InlineData("example poisson2d --budget -5", "--budget")]
    [InlineData("example poisson2d --seed 1.5", "--seed")]
    [InlineData("example poisson2d --optimizer bfgs", "'bfgs'")]
    [InlineData("example poisson2d --optimizer", "--optimizer")]
    [InlineData("example vmc-oscillator --fast --optimizer engd", "--optimizer")]
    [InlineData("example neural-ode --fast --optimizer engd", "trains with adam-lbfgs only")]
    [InlineData("bench pinn-jacobian --rounds 0", "--rounds")]
    // output paths that cannot be written, checkpoints that cannot be read
    [InlineData("graph --out /proc/forbidden", "--out")]
    [InlineData("bench --out {dir}/afile", "--out")]
    [InlineData("kalman --out /proc/forbidden", "--out")]
    [InlineData("example poisson2d --fast --out /proc/forbidden", "--out")]
    [InlineData("example poisson2d --checkpoint {dir}", "--checkpoint")]
    [InlineData("example poisson2d --resume --checkpoint {dir}/missing.json", "--resume")]
    [InlineData("example poisson2d --resume --checkpoint {dir}/truncated.json", "truncated.json")]
    public void MisuseIsRejectedBeforeAnyWorkWithOneLineOnStandardError(string commandLine, string named)
    {
        var (code, output, error) = Run(commandLine);
        Assert.Equal(Program.UsageError, code);
        Assert.Equal("", output);
        string line = error.TrimEnd('\r', '\n');
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("jetsharp", line);
        Assert.Contains(named, line);
        Assert.DoesNotContain("   at ", line);
        Assert.DoesNotContain("Exception", line);
        Assert.DoesNotContain('\u001b', line);
    }

    [Fact]
    public void EveryCommandsHelpListsEveryOptionWithItsDefault()
    {
        var commands = new List<Command>();
        void Walk(Command c) { commands.Add(c); foreach (var s in c.Subcommands.Where(s => !s.Hidden)) Walk(s); }
        Walk(Program.CreateRoot());
        Assert.Equal(["jetsharp", "demo", "bench", "gemm", "depth", "scan", "sparsity", "pinn-jacobian", "memory", "codegen", "layers", "epilogue", "graph", "fixedpoint", "controlflow", "kalman", "jacobian", "example", "operator", "export"], commands.Select(c => c.Name));

        foreach (var command in commands.Skip(1))
        {
            string path = command.Parents.OfType<Command>().FirstOrDefault() is { Name: not "jetsharp" } parent ? $"{parent.Name} {command.Name}" : command.Name;
            var (code, output, error) = Run(path + " --help");
            Assert.Equal(0, code);
            Assert.Equal("", error);
            // The Options section, one entry per option (an entry's description may wrap onto further lines).
            var entries = new List<string>();
            foreach (var line in output[output.IndexOf("Options:", StringComparison.Ordinal)..].Split('\n').Skip(1))
            {
                if (line.TrimStart().StartsWith('-')) entries.Add(line.Trim());
                else if (line.Trim().Length > 0 && entries.Count > 0 && !line.StartsWith("Commands:")) entries[^1] += " " + line.Trim();
                else if (line.StartsWith("Commands:")) break;
            }
            var options = command.Options.Concat(command.Parents.OfType<Command>().SelectMany(p => p.Options).Where(o => o.Recursive))
                .Where(o => o.Name != "--help").Distinct().ToList();
            Assert.NotEmpty(options);
            foreach (var option in options)
            {
                string entry = Assert.Single(entries, e => e.StartsWith(option.Name + " ", StringComparison.Ordinal) || e == option.Name);
                if (option.ValueType != typeof(bool) && !option.Required)
                    Assert.True(entry.Contains("[default:"), $"{path} --help: '{entry}' states no default");
            }
        }
    }

    [Fact]
    public void VersionPrintsTheInformationalVersionAndNoArgumentsOrHelpPrintsTheCommands()
    {
        var (code, output, error) = Run("--version");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        string version = typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(version, output.Trim());
        Assert.Matches(@"^\d+\.\d+\.\d+", version);

        foreach (var line in new[] { "", "help", "--help", "-h" })   // 'help': the old parser's spelling
        {
            (code, output, error) = Run(line);
            Assert.Equal((0, ""), (code, error));
            Assert.Contains("Usage:", output);
            foreach (var name in new[] { "demo", "bench", "graph", "fixedpoint", "kalman", "jacobian", "example" })
                Assert.Contains($"  {name}", output);
        }
    }

    [Fact]
    public void ExampleTrainsWithTheOptimizerChosenOnTheCommandLine()
    {
        // Levenberg–Marquardt and Adam on the fast poisson2d: the summary names the optimiser that trained.
        var (code, _, error) = Run("example poisson2d --fast --no-compare --optimizer lm --out {dir}/lm");
        Assert.Equal((0, ""), (code, error));
        string summary = File.ReadAllText(Path.Combine(_dir, "lm", "summary.md"));
        Assert.Contains("| optimizer | Levenberg–Marquardt", summary);
        (code, _, error) = Run("example poisson2d --fast --no-compare --out {dir}/adam");
        Assert.Equal((0, ""), (code, error));
        Assert.DoesNotContain("Levenberg", File.ReadAllText(Path.Combine(_dir, "adam", "summary.md")));
    }

    [Fact]
    public void DocumentedSpellingsParseToTheIntendedValues()
    {
        var root = Program.CreateRoot();
        ParseResult Parse(string line)
        {
            var p = root.Parse(line.Split(' '));
            Assert.True(p.Errors.Count == 0, $"{line}: {string.Join("; ", p.Errors.Select(e => e.Message))}");
            return p;
        }

        var p = Parse("example --fast poisson2d");   // a flag before the name
        Assert.Equal("example", p.CommandResult.Command.Name);
        Assert.Equal("poisson2d", p.GetValue<string?>("NAME"));
        Assert.True(p.GetValue<bool>("--fast"));

        p = Parse("example heat --out o --checkpoint c.json --resume --seed -3 --scale 0.5 --budget 1e3 --no-compare");
        Assert.Equal(("heat", "o", "c.json", true, -3L, 0.5, (double?)1000.0, true),
            (p.GetValue<string?>("NAME"), p.GetValue<string?>("--out"), p.GetValue<string?>("--checkpoint"), p.GetValue<bool>("--resume"),
             p.GetValue<long>("--seed"), p.GetValue<double>("--scale"), p.GetValue<double?>("--budget"), p.GetValue<bool>("--no-compare")));
        p = Parse("example poisson2d");
        Assert.Equal((false, 0L, 1.0, (double?)null, (string?)null), (p.GetValue<bool>("--fast"), p.GetValue<long>("--seed"), p.GetValue<double>("--scale"), p.GetValue<double?>("--budget"), p.GetValue<string?>("--out")));
        Assert.Null(p.GetValue<PinnOptimizer?>("--optimizer"));   // adam-lbfgs
        foreach (var (key, optimizer) in new[] { ("adam-lbfgs", PinnOptimizer.AdamLbfgs), ("engd", PinnOptimizer.Engd), ("SPRING", PinnOptimizer.Spring), ("lm", PinnOptimizer.LevenbergMarquardt) })
            Assert.Equal(optimizer, Parse($"example heat --optimizer {key}").GetValue<PinnOptimizer?>("--optimizer"));

        p = Parse("bench --quick gemm");             // bench's --quick reaches the gemm subcommand
        Assert.Equal("gemm", p.CommandResult.Command.Name);
        Assert.True(p.GetValue<bool>("--quick"));
        p = Parse("bench gemm --quick");
        Assert.True(p.GetValue<bool>("--quick"));

        p = Parse("bench --float32 --no-training --batches 8,16,32 --samples 2,4 --stochastic-batch 16 --only laplacian,biharmonic --repeats 2 --out b");
        Assert.Equal("bench", p.CommandResult.Command.Name);
        Assert.Equal([8, 16, 32], p.GetValue<int[]?>("--batches")!);
        Assert.Equal([2, 4], p.GetValue<int[]?>("--samples")!);
        Assert.Equal(["laplacian", "biharmonic"], p.GetValue<string[]?>("--only")!);
        Assert.Equal((16, 2, "b", true, true), (p.GetValue<int?>("--stochastic-batch"), p.GetValue<int?>("--repeats"), p.GetValue<string>("--out"), p.GetValue<bool>("--float32"), p.GetValue<bool>("--no-training")));
        p = Parse("bench");   // absent list options mean the command's own grids (null), not empty grids
        T[]? List<T>(string name) => p.GetList((Option<T[]?>)p.CommandResult.Command.Options.Single(o => o.Name == name));
        Assert.Equal(((int[]?)null, (int[]?)null, (int?)null, (string[]?)null, "bench-out"),
            (List<int>("--batches"), List<int>("--samples"), p.GetValue<int?>("--repeats"), List<string>("--only"), p.GetValue<string>("--out")));

        p = Parse("demo --batch 8 --repeats 1");
        Assert.Equal((8, 1), (p.GetValue<int>("--batch"), p.GetValue<int>("--repeats")));
        p = Parse("demo");
        Assert.Equal((16, 2), (p.GetValue<int>("--batch"), p.GetValue<int>("--repeats")));

        p = Parse("kalman --lr 0.01 --series 2 --steps 10 --iterations 5 --seed 2 --out k");
        Assert.Equal((0.01, 2, 10, 5, 2, "k"), (p.GetValue<double>("--lr"), p.GetValue<int>("--series"), p.GetValue<int>("--steps"), p.GetValue<int>("--iterations"), p.GetValue<int>("--seed"), p.GetValue<string>("--out")));
        p = Parse("graph --out g --dim 3 --batch 2");
        Assert.Equal(("g", 3, 2), (p.GetValue<string>("--out"), p.GetValue<int>("--dim"), p.GetValue<int>("--batch")));
        p = Parse("fixedpoint --data 50");
        Assert.Equal(50, p.GetValue<int>("--data"));
        p = Parse("jacobian roe HEART --budget 0.5 --points 100 --repeats 1 --seed 4 --threads 1");
        Assert.Equal(["roe", "HEART"], p.GetValue<string[]>("FUNCTION")!);
        Assert.Equal((0.5, 100, 1, 4, 1), (p.GetValue<double>("--budget"), p.GetValue<int>("--points"), p.GetValue<int>("--repeats"), p.GetValue<int>("--seed"), p.GetValue<int>("--threads")));
    }

    // --- The real process: exit code, streams and no colour codes when redirected. ---

    private (int Code, string Out, string Err) Spawn(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "JetSharp.Cli.dll");
        Assert.True(File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json")), "the CLI's runtimeconfig is copied next to the tests");
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir,
        };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(120_000), "the CLI did not finish within two minutes");
        return (process.ExitCode, stdout, stderr.Result);
    }

    [Fact]
    public void TheProcessReportsMisuseOnStandardErrorWithExitCode2()
    {
        var (code, output, error) = Spawn("bench", "--repeats", "-1");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal("jetsharp bench: --repeats expects an integer of at least 1, got '-1'. (see 'jetsharp bench --help')", error.TrimEnd());
    }

    [Fact]
    public void TheProcessWritesNoColourCodesWhenRedirected()
    {
        var (code, output, error) = Spawn("graph", "--out", "g", "--dim", "2", "--batch", "2");
        Assert.True(code == 0, error);
        Assert.Contains("rules fired:", output);
        Assert.DoesNotContain('\u001b', output + error);
        Assert.True(File.Exists(Path.Combine(_dir, "g", "laplacian-collapsed.dot")));
    }
}
