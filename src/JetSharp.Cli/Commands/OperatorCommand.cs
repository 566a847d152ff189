using System.CommandLine;
using System.Globalization;
using JetSharp.Onnx;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary>
/// An operator of an imported ONNX model at points read from a CSV file (one point per line, D
/// comma-separated numbers), written as CSV: the point's index, then the operator's value for each output.
/// </summary>
public static class OperatorCommand
{
    private static readonly string[] Operators = ["value", "laplacian", "biharmonic"];

    public static Command Create()
    {
        var model = new Option<string>("--onnx") { Description = "The ONNX model (exported by torch.onnx.export, opset 13–17).", HelpName = "FILE", Required = true };
        var op = new Option<string>("--op") { Description = "The operator: value, laplacian or biharmonic.", DefaultValueFactory = _ => "laplacian" };
        op.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>();
            if (!Operators.Contains(v)) r.AddError($"--op must be one of {string.Join(", ", Operators)}; got '{v}'.");
        });
        var points = new Option<string>("--points") { Description = "CSV file of points, one per line, D numbers each.", HelpName = "FILE", Required = true };
        var strategy = new Option<string>("--strategy") { Description = "Collapsed, StandardTaylor or NestedFirstOrder.", DefaultValueFactory = _ => "collapsed" };
        strategy.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>();
            if (!Strategy.All.Any(s => string.Equals(s.Name, v, StringComparison.OrdinalIgnoreCase)))
                r.AddError($"--strategy must be one of {string.Join(", ", Strategy.All.Select(s => s.Name))}; got '{v}'.");
        });
        var output = Options.Path("--out", "CSV file for the results.", "operator-out.csv", "FILE");
        var command = new Command("operator", "An operator (value, Laplacian, biharmonic) of an ONNX model at points from a CSV file, written as CSV.")
        {
            model, op, points, strategy, output,
        };
        command.SetAction(p => Run(p.GetValue(model)!, p.GetValue(op)!, p.GetValue(points)!, p.GetValue(strategy)!, p.GetValue(output)!));
        return command;
    }

    public static int Run(string modelPath, string op, string pointsPath, string strategyName, string output)
    {
        OutputPaths.EnsureWritableFile(output, "--out");
        RequireFile(modelPath, "--onnx");
        RequireFile(pointsPath, "--points");
        var model = OnnxModel.Load(modelPath);
        var x = ReadPoints(pointsPath);
        var strategy = Strategy.All.First(s => string.Equals(s.Name, strategyName, StringComparison.OrdinalIgnoreCase));
        var result = op switch
        {
            "value" => JetSharp.Runtime.Executable.Compile(Tracer.Function(model.Function, x.Shape)).Run(x)[0],
            "laplacian" => Pde.Laplacian(model.Function, x, strategy),
            _ => Pde.Biharmonic(model.Function, x, strategy),
        };
        using (var w = new StreamWriter(output))
        {
            int n = result.Shape[0], c = result.Shape.Size / Math.Max(n, 1);
            w.WriteLine("point," + string.Join(",", Enumerable.Range(0, c).Select(j => $"{op}{j}")));
            for (int i = 0; i < n; i++)
                w.WriteLine(i.ToString(CultureInfo.InvariantCulture) + "," + string.Join(",", Enumerable.Range(0, c).Select(j => result.Data[i * c + j].ToString("R", CultureInfo.InvariantCulture))));
        }
        AnsiConsole.MarkupLine($"{Markup.Escape(op)} of {Markup.Escape(modelPath)} ({Markup.Escape(model.Producer)}, opset {model.OpsetVersion}, {model.Parameters.Count} weights) at {x.Shape[0]} points, {Markup.Escape(strategy.Name)}: written to {Markup.Escape(output)}");
        return 0;
    }

    /// <summary>A missing input file is a usage error naming the option.</summary>
    internal static void RequireFile(string path, string option)
    {
        if (!File.Exists(path)) throw new UsageException($"{option}: the file '{path}' does not exist.");
    }

    /// <summary>Points from a CSV file: every line D numbers (invariant culture); blank lines and lines starting with # are skipped.</summary>
    internal static NDArray<double> ReadPoints(string path)
    {
        var rows = new List<double[]>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#')) continue;
            var parts = line.Split(',');
            var row = new double[parts.Length];
            for (int j = 0; j < parts.Length; j++)
                if (!double.TryParse(parts[j].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out row[j]) || !double.IsFinite(row[j]))
                    throw new UsageException($"--points: '{path}' line {lineNo}, column {j + 1}: '{parts[j].Trim()}' is not a finite number.");
            if (rows.Count > 0 && row.Length != rows[0].Length)
                throw new UsageException($"--points: '{path}' line {lineNo} has {row.Length} numbers; the first point has {rows[0].Length}.");
            rows.Add(row);
        }
        if (rows.Count == 0) throw new UsageException($"--points: '{path}' holds no points.");
        var x = new double[rows.Count, rows[0].Length];
        for (int i = 0; i < rows.Count; i++)
            for (int j = 0; j < rows[0].Length; j++) x[i, j] = rows[i][j];
        return NDArray.FromArray(x);
    }
}
