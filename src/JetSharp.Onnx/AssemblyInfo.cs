[assembly: JetSharp.Ir.JetSharpLibrary]
