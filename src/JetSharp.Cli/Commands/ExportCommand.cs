using System.CommandLine;
using JetSharp.CodeGen;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary>
/// `jetsharp export`: an ONNX model's value and an operator (collapsed) as a standalone C# file that
/// depends only on the BCL, for a fixed batch of points, with the weights embedded.
/// </summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--onnx") { Description = "The ONNX model (exported by torch.onnx.export, opset 13–17).", HelpName = "FILE", Required = true };
        var op = new Option<string>("--op") { Description = "laplacian or biharmonic (the value is always exported as well).", DefaultValueFactory = _ => "laplacian" };
        op.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>();
            if (v is not ("laplacian" or "biharmonic")) r.AddError($"--op must be laplacian or biharmonic; got '{v}'.");
        });
        var batch = Options.Int("--batch", "Number of points per call of the exported code.", 1);
        var className = Options.Path("--class", "Name of the generated static class.", "ExportedModel", "NAME");
        var output = Options.Path("--out", "The C# file to write.", "ExportedModel.cs", "FILE");
        var command = new Command("export", "An ONNX model's value and Laplacian (or biharmonic) as a standalone C# file depending only on the BCL (weights embedded).")
        {
            model, op, batch, className, output,
        };
        command.SetAction(p => Run(p.GetValue(model)!, p.GetValue(op)!, p.GetValue(batch), p.GetValue(className)!, p.GetValue(output)!));
        return command;
    }

    public static int Run(string modelPath, string op, int batch, string className, string output)
    {
        OutputPaths.EnsureWritableFile(output, "--out");
        OperatorCommand.RequireFile(modelPath, "--onnx");
        if (!System.Text.RegularExpressions.Regex.IsMatch(className, "^[A-Za-z_][A-Za-z0-9_]*$"))
            throw new UsageException($"--class: '{className}' is not a C# identifier.");
        var onnx = JetSharp.Onnx.OnnxModel.Load(modelPath);
        if (onnx.Inputs.Count != 1 || onnx.Inputs[0].Dimensions.Count != 2 || onnx.Inputs[0].Dimensions[1] is not { } d)
            throw new UsageException($"--onnx: export needs a model with one input [batch, D] of fixed D; this one has {string.Join(", ", onnx.Inputs)}.");
        var shape = new Shape(batch, (int)d);
        var f = onnx.Function;
        var operatorGraph = (op == "laplacian" ? DifferentialOperator.Laplacian() : DifferentialOperator.Biharmonic())
            .Build(Tracer.Function(f, shape), Strategy.Collapsed);   // collapsed and simplified
        var graph = Tracer.Function(xs => [f(xs[0]), Inline.Apply(operatorGraph, xs)[0]], [shape]);
        CSharpExport.WriteFile(graph, output, new EmitOptions { ClassName = className, OutputNames = ["value", op] });
        AnsiConsole.MarkupLine($"{Markup.Escape(className)}: value and {Markup.Escape(op)} of {Markup.Escape(modelPath)} for {batch} point(s) of dimension {d}, written to {Markup.Escape(output)}");
        return 0;
    }
}
