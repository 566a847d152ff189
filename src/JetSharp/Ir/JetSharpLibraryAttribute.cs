[assembly: JetSharp.Ir.JetSharpLibrary]

namespace JetSharp.Ir;

/// <summary>
/// Marks an assembly as part of the JetSharp library (the core, training layers, …): when a node
/// records where it came from, frames in such assemblies are skipped, so the origin is the user's line
/// that called into the library, not the library's own.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class JetSharpLibraryAttribute : Attribute;
