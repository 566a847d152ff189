using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace JetSharp.Tests.Docs;

/// <summary>
/// Every <c>```csharp</c> block of README.md and docs/ is a program: it is compiled with Roslyn against the
/// built assemblies (with the implicit usings of a console project) and run. A block marked
/// <c>```csharp fragment</c> is an excerpt (it uses names defined elsewhere) and is only parsed.
/// </summary>
public sealed partial class DocumentationCodeTests
{
    /// <summary>A fenced C# block: the file, the line of its opening fence, whether it is a fragment, its code.</summary>
    public sealed record Block(string File, int Line, bool Fragment, string Code)
    {
        public override string ToString() => $"{File}:{Line}";
    }

    private static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "JetSharp.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no JetSharp.slnx above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"^```(?<info>[^\n`]*)\n(?<code>.*?)^```[ \t]*$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Fence();

    /// <summary>The C# blocks of README.md and docs/**/*.md; any other marker after <c>csharp</c> than <c>fragment</c> is an error.</summary>
    public static IReadOnlyList<Block> Blocks()
    {
        var files = new[] { Path.Combine(Root, "README.md") }
            .Concat(Directory.EnumerateFiles(Path.Combine(Root, "docs"), "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
        var blocks = new List<Block>();
        foreach (var file in files)
        {
            string text = File.ReadAllText(file).ReplaceLineEndings("\n");
            string name = Path.GetRelativePath(Root, file).Replace('\\', '/');
            foreach (Match m in Fence().Matches(text))
            {
                var info = m.Groups["info"].Value.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (info.Length == 0 || info[0] is not ("csharp" or "cs" or "c#" or "C#")) continue;
                int line = text[..m.Index].Count(c => c == '\n') + 1;
                if (info.Length > 2 || info.Length == 2 && info[1] != "fragment")
                    throw new InvalidDataException($"{name}:{line}: unknown code-block marker '{string.Join(' ', info[1..])}' (use '```csharp' or '```csharp fragment').");
                blocks.Add(new Block(name, line, info.Length == 2, m.Groups["code"].Value));
            }
        }
        return blocks;
    }

    public static TheoryData<string> Programs() => [.. Blocks().Where(b => !b.Fragment).Select(b => b.ToString())];

    public static TheoryData<string> Fragments() => [.. Blocks().Where(b => b.Fragment).Select(b => b.ToString())];

    private static Block Find(string id) => Blocks().Single(b => b.ToString() == id);

    [Fact]
    public void TheReadmeHasARunnableExample()
    {
        var blocks = Blocks();
        Assert.Contains(blocks, b => b.File == "README.md" && !b.Fragment);
        Assert.All(blocks.Where(b => b.File == "README.md"), b => Assert.False(b.Fragment, $"{b}: the README's examples must run"));
    }

    [Theory]
    [MemberData(nameof(Programs))]
    public void ProgramBlockCompilesAndRuns(string id)
    {
        var block = Find(id);
        var assembly = Compile(block);
        var context = new AssemblyLoadContext(id, isCollectible: true);
        try
        {
            var entry = context.LoadFromStream(new MemoryStream(assembly)).EntryPoint!;
            try
            {
                entry.Invoke(null, entry.GetParameters().Length == 0 ? [] : [Array.Empty<string>()]);
            }
            catch (TargetInvocationException e)
            {
                Assert.Fail($"{id} threw {e.InnerException}");
            }
        }
        finally
        {
            context.Unload();
        }
    }

    [Theory]
    [MemberData(nameof(Fragments))]
    public void FragmentBlockParses(string id)
    {
        var block = Find(id);
        var tree = CSharpSyntaxTree.ParseText(block.Code, new CSharpParseOptions(LanguageVersion.Preview, kind: SourceCodeKind.Script));
        var errors = tree.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, $"{id}: {string.Join("; ", errors)}");
    }

    /// <summary>What <c>ImplicitUsings</c> gives a console project.</summary>
    private const string ImplicitUsings =
        "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; " +
        "global using System.Net.Http; global using System.Threading; global using System.Threading.Tasks;";

    /// <summary>The shared framework and the JetSharp assemblies next to the tests (core, Nn, Plotting, Examples), read once.</summary>
    private static readonly Lazy<MetadataReference[]> References = new(() =>
    {
        string framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        return [.. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetDirectoryName(p) == framework || Path.GetFileName(p).StartsWith("JetSharp.", StringComparison.Ordinal)
                        || Path.GetFileName(p) == "System.Numerics.Tensors.dll")
            .Where(p => Path.GetFileName(p) != "JetSharp.Tests.dll")
            .Select(p => MetadataReference.CreateFromFile(p))];
    });

    private static byte[] Compile(Block block)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Preview);
        var trees = new[]
        {
            CSharpSyntaxTree.ParseText(ImplicitUsings, parse, path: "ImplicitUsings.cs"),
            CSharpSyntaxTree.ParseText(block.Code, parse, path: block.File),
        };
        var compilation = CSharpCompilation.Create("DocBlock_" + Guid.NewGuid().ToString("N"), trees, References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var ms = new MemoryStream();
        var result = compilation.Emit(ms);
        var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(result.Success, $"{block} does not compile (line numbers relative to the block, which starts after line {block.Line}):\n{string.Join("\n", errors)}");
        return ms.ToArray();
    }
}
