using System.Reflection;
using System.Reflection.Emit;
using System.Text.RegularExpressions;
using JetSharp.Nn;

namespace JetSharp.Tests;

/// <summary>
/// The house is layered: each namespace of the core library may use only its own layer and the layers
/// below it, and the assemblies above the core may use only those below them. These tests read the
/// compiled assemblies (types, signatures and every method body's IL), so any new reference from a lower
/// layer to a higher one fails here, whatever file it is written in.
/// </summary>
public class LayeringTests
{
    /// <summary>The core library's layers, bottom first; a namespace may use its own layer and the ones before it.</summary>
    private static readonly string[][] CoreLayers =
    [
        ["JetSharp.Tensors"],
        ["JetSharp.IO"],
        ["JetSharp.Backend"],
        ["JetSharp.Ir"],
        ["JetSharp.Primitives", "JetSharp.Primitives.LinearAlgebra"],
        ["JetSharp.Transforms"],
        ["JetSharp.Control"],
        ["JetSharp.Simplify", "JetSharp.Simplify.Rules"],
        ["JetSharp.Runtime"],
        ["JetSharp.Tracing"],
        ["JetSharp.Operators"],
        ["JetSharp.Jacobians", "JetSharp.StateSpace"],
    ];

    /// <summary>Assemblies bottom first, with the JetSharp assemblies each may reference.</summary>
    private static readonly Dictionary<string, string[]> AssemblyLayers = new()
    {
        ["JetSharp"] = [],
        ["JetSharp.Plotting"] = [],
        ["JetSharp.Nn"] = ["JetSharp"],
        ["JetSharp.Onnx"] = ["JetSharp"],
        ["JetSharp.CodeGen"] = ["JetSharp"],
        ["JetSharp.Distributed"] = ["JetSharp", "JetSharp.Nn"],
        ["JetSharp.Benchmarks"] = ["JetSharp", "JetSharp.Nn", "JetSharp.Plotting", "JetSharp.CodeGen"],
        ["JetSharp.Examples"] = ["JetSharp", "JetSharp.Nn", "JetSharp.Plotting"],
        ["JetSharp.Cli"] = ["JetSharp", "JetSharp.Nn", "JetSharp.Onnx", "JetSharp.CodeGen", "JetSharp.Plotting", "JetSharp.Benchmarks", "JetSharp.Examples"],
    };

    private static readonly Assembly Core = typeof(NDArray).Assembly;

    private static int LayerOf(string? ns)
    {
        for (int i = 0; i < CoreLayers.Length; i++)
            if (CoreLayers[i].Contains(ns)) return i;
        return -1;
    }

    [Fact]
    public void EveryCoreNamespaceHasALayer()
    {
        var unplaced = Core.GetTypes().Select(t => Outermost(t).Namespace)
            .Where(ns => ns is not null && LayerOf(ns) < 0).Distinct().ToList();
        Assert.True(unplaced.Count == 0, $"namespaces without a layer (add them to CoreLayers and docs/design.md): {string.Join(", ", unplaced)}");
    }

    [Fact]
    public void NoCoreTypeUsesAHigherLayer()
    {
        var violations = new List<string>();
        foreach (var type in Core.GetTypes())
        {
            var owner = Outermost(type);
            int layer = LayerOf(owner.Namespace);
            if (layer < 0) continue; // compiler-generated helpers without a namespace
            foreach (var used in ReferencedCoreTypes(type))
            {
                int usedLayer = LayerOf(Outermost(used).Namespace);
                if (usedLayer > layer)
                    violations.Add($"{owner.FullName} ({owner.Namespace}) uses {used.FullName} ({Outermost(used).Namespace})");
            }
        }
        Assert.True(violations.Count == 0, "lower layers reference higher ones:\n" + string.Join("\n", violations.Distinct().Take(50)));
    }

    [Fact]
    public void TheScannerSeesReferencesInMethodBodies()
    {
        // Guards the test itself: a method body that only calls into a higher layer must be caught.
        var seen = ReferencedCoreTypes(typeof(Probe)).ToHashSet();
        Assert.Contains(typeof(Runtime.Executable), seen);
        Assert.Contains(typeof(Operators.Pde), seen);
    }

    private static class Probe
    {
        public static object Body() => Runtime.Executable.Compile(Operators.Pde.LaplacianGraph(x => x, new Shape(1, 1), DType.Float64));
    }

    [Fact]
    public void AssembliesReferenceOnlyTheLayersBelowThem()
    {
        Assembly[] assemblies = [Core, typeof(JetSharp.Plotting.LineChart).Assembly, typeof(Mlp).Assembly, typeof(JetSharp.Distributed.ICommunicator).Assembly,
            typeof(JetSharp.Onnx.OnnxModel).Assembly, typeof(JetSharp.CodeGen.EmittedGraph).Assembly, typeof(JetSharp.Benchmarks.OperatorBenchmark).Assembly, typeof(JetSharp.Examples.Example).Assembly,
            Assembly.Load("JetSharp.Cli")];
        foreach (var a in assemblies)
        {
            var name = a.GetName().Name!;
            Assert.True(AssemblyLayers.ContainsKey(name), $"assembly {name} has no layer");
            var jetSharpRefs = a.GetReferencedAssemblies().Select(r => r.Name!).Where(AssemblyLayers.ContainsKey);
            var bad = jetSharpRefs.Except(AssemblyLayers[name]).ToList();
            Assert.True(bad.Count == 0, $"{name} references {string.Join(", ", bad)}, which are not below it");
        }
    }

    [Fact]
    public void NamespacesMatchFolders()
    {
        var root = RepositoryRoot();
        var mismatches = new List<string>();
        // Every assembly of the layer table whose project lives under src/ (the examples keep one folder per example).
        foreach (var rootNs in AssemblyLayers.Keys.Where(name => Directory.Exists(Path.Combine(root, "src", name))))
        {
            var baseDir = Path.Combine(root, "src", rootNs);
            foreach (var file in Directory.EnumerateFiles(baseDir, "*.cs", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(baseDir, Path.GetDirectoryName(file)!);
                if (relative.StartsWith("obj") || relative.StartsWith("bin")) continue;
                var expected = relative == "." ? rootNs : rootNs + "." + relative.Replace(Path.DirectorySeparatorChar, '.');
                var declared = Regex.Match(File.ReadAllText(file), @"^namespace\s+([\w.]+)\s*;", RegexOptions.Multiline);
                if (!declared.Success) continue; // assembly attributes, global usings
                if (declared.Groups[1].Value != expected)
                    mismatches.Add($"{Path.GetRelativePath(root, file)}: namespace {declared.Groups[1].Value}, folder says {expected}");
            }
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    internal static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "JetSharp.slnx"))) return d.FullName;
        throw new DirectoryNotFoundException("repository root (JetSharp.slnx) not found above " + AppContext.BaseDirectory);
    }

    private static Type Outermost(Type t)
    {
        while (t.DeclaringType is not null) t = t.DeclaringType;
        return t;
    }

    /// <summary>Core types a type refers to: base types, interfaces, signatures, locals and every token in its methods' IL.</summary>
    private static IEnumerable<Type> ReferencedCoreTypes(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null) return;
            if (t.HasElementType) { Add(t.GetElementType()); return; }
            if (t.IsGenericType && !t.IsGenericTypeDefinition)
            {
                Add(t.GetGenericTypeDefinition());
                foreach (var a in t.GetGenericArguments()) Add(a);
                return;
            }
            if (t.IsGenericParameter || t.Assembly != Core) return;
            found.Add(t);
        }

        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        Add(type.BaseType);
        foreach (var i in type.GetInterfaces()) Add(i);
        foreach (var f in type.GetFields(all)) Add(f.FieldType);
        foreach (var p in type.GetProperties(all)) Add(p.PropertyType);
        foreach (var m in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
        {
            if (m is MethodInfo mi) Add(mi.ReturnType);
            foreach (var p in m.GetParameters()) Add(p.ParameterType);
            var body = m.GetMethodBody();
            if (body is null) continue;
            foreach (var local in body.LocalVariables) Add(local.LocalType);
            foreach (var member in IlTokens(m, body.GetILAsByteArray() ?? []))
                switch (member)
                {
                    case Type t: Add(t); break;
                    case MethodBase callee: Add(callee.DeclaringType); break;
                    case FieldInfo field: Add(field.DeclaringType); Add(field.FieldType); break;
                }
        }
        return found;
    }

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    /// <summary>The members and types named by the metadata tokens of an IL body.</summary>
    private static IEnumerable<MemberInfo> IlTokens(MethodBase method, byte[] il)
    {
        var typeArgs = method.DeclaringType is { IsGenericType: true } dt ? dt.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (int pc = 0; pc < il.Length;)
        {
            short value = il[pc++];
            if (value == 0xFE) value = (short)(0xFE00 | il[pc++]);
            var op = OpCodesByValue[value];
            switch (op.OperandType)
            {
                case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok:
                    int token = BitConverter.ToInt32(il, pc);
                    MemberInfo? member = null;
                    try { member = method.Module.ResolveMember(token, typeArgs, methodArgs); }
                    catch (ArgumentException) { }
                    if (member is not null) yield return member;
                    pc += 4;
                    break;
                case OperandType.InlineSwitch:
                    pc += 4 + 4 * BitConverter.ToInt32(il, pc);
                    break;
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: pc += 1; break;
                case OperandType.InlineVar: pc += 2; break;
                case OperandType.InlineI8 or OperandType.InlineR: pc += 8; break;
                default: pc += 4; break;
            }
        }
    }
}
