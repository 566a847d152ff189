namespace JetSharp.CodeGen;

/// <summary>
/// Writes a graph as a standalone C# file that needs nothing but the .NET base class library: weights
/// and other tensor constants are embedded as exact literals. Typical use: the value, gradient and
/// Laplacian of a trained network at a fixed batch of points (<c>ValueGradientLaplacian.Build</c> of the
/// traced network, or <c>Pde.LaplacianGraph(net.Apply, …)</c>), shipped without JetSharp.
/// </summary>
public static class CSharpExport
{
    /// <summary>Writes the source of <paramref name="graph"/> to <paramref name="path"/> and returns it.</summary>
    /// <exception cref="NotSupportedException">A primitive has no emitter; nothing is written.</exception>
    public static string WriteFile(Graph graph, string path, EmitOptions? options = null)
    {
        var source = CSharpEmitter.Emit(graph, options);
        File.WriteAllText(path, source);
        return source;
    }
}
