using CsCheck;
using Xunit.Abstractions;

namespace JetSharp.Tests.Properties;

/// <summary>
/// The driver of the property tests: case i of a property draws its input from a PCG with a seed fixed by
/// (property, i), so every run generates the same cases (CsCheck's own Sample draws all but its first
/// case from a time-seeded generator). A failure names the case's seed string and prints the case; the
/// environment variables below reproduce or widen a run.
/// <list type="bullet">
/// <item><c>JETSHARP_FUZZ=long</c> runs 10× the cases (a number, e.g. <c>JETSHARP_FUZZ=25</c>, is the multiplier).</item>
/// <item><c>JETSHARP_FUZZ_SEED=&lt;seed string&gt;</c> runs only the case with that seed (as printed by a failure), in every property.</item>
/// </list>
/// </summary>
internal static class Fuzz
{
    /// <summary>Case-count multiplier from <c>JETSHARP_FUZZ</c>: 1 by default, 10 for "long", or the number given.</summary>
    public static int Multiplier { get; } = ParseMultiplier(Environment.GetEnvironmentVariable("JETSHARP_FUZZ"));

    private static readonly string? ReplaySeed = Environment.GetEnvironmentVariable("JETSHARP_FUZZ_SEED") is { Length: > 0 } s ? s.Trim() : null;

    private static int ParseMultiplier(string? v)
    {
        if (string.IsNullOrWhiteSpace(v)) return 1;
        if (v.Trim().Equals("long", StringComparison.OrdinalIgnoreCase)) return 10;
        return int.TryParse(v, out int m) && m >= 1 ? m
            : throw new ArgumentException($"JETSHARP_FUZZ must be 'long' or a positive integer multiplier, got '{v}'.");
    }

    /// <summary>
    /// Runs <paramref name="assert"/> on <paramref name="cases"/> × <see cref="Multiplier"/> inputs drawn from
    /// <paramref name="gen"/>, each from its own fixed seed. All cases run; the first failure is rethrown
    /// with its seed, its index, the printed input and the number of cases that failed.
    /// </summary>
    public static void Check<T>(string property, Gen<T> gen, Action<T> assert, int cases, ITestOutputHelper? output = null, Func<T, string>? print = null) =>
        Check(property, gen, t => { assert(t); return true; }, cases, output, print, minInformative: 0);

    /// <summary>
    /// As above for an assertion that also says whether the case was informative (e.g. its result was not ~0,
    /// so agreement proves something); at least <paramref name="minInformative"/> of the cases must be, so that a
    /// generator drifting towards trivial functions fails instead of passing vacuously.
    /// </summary>
    public static void Check<T>(string property, Gen<T> gen, Func<T, bool> assert, int cases, ITestOutputHelper? output = null, Func<T, string>? print = null, double minInformative = 0.5, Action? after = null)
    {
        int informative = 0;
        var times = new List<(double Ms, int Index)>();
        var total = System.Diagnostics.Stopwatch.StartNew();
        print ??= t => t?.ToString() ?? "null";
        var seeds = ReplaySeed is not null ? [ReplaySeed] : Seeds(property, cases * Multiplier);
        int failures = 0;
        string? first = null;
        Exception? firstException = null;
        foreach (var (seed, index) in seeds.Select((s, i) => (s, i)))
        {
            var pcg = PCG.Parse(seed);
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            T input = gen.Generate(pcg, null, out _);
            try
            {
                if (assert(input)) informative++;
            }
            catch (Exception e)
            {
                failures++;
                if (Environment.GetEnvironmentVariable("JETSHARP_FUZZ_LOG") is { Length: > 0 } log)
                    lock (Cases) File.AppendAllText(log, $"FAIL {property} #{index} seed {seed}: {print(input).Split('\n')[0]} -> {e.GetType().Name}: {e.Message.Split('\n')[0]}\n");
                if (first is null)
                {
                    first = $"{property}: case {index} failed (seed \"{seed}\"; JETSHARP_FUZZ_SEED={seed} reruns it alone).\n" +
                            $"Input:\n{print(input)}\n{e.GetType().Name}: {e.Message}";
                    firstException = e;
                }
            }
            times.Add((System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds, index));
        }
        var slow = times.OrderByDescending(t => t.Ms).Take(3).ToList();
        output?.WriteLine($"{property}: {seeds.Count} cases, {failures} failed, {informative} informative (multiplier {Multiplier}); " +
            $"{total.Elapsed.TotalSeconds:F1} s, slowest cases {string.Join(", ", slow.Select(t => $"#{t.Index} {t.Ms:F0} ms"))}.");
        Cases.AddOrUpdate(property, seeds.Count, (_, old) => old + seeds.Count);
        after?.Invoke();
        if (first is not null)
            throw new PropertyFailedException($"{first}\n({failures} of {seeds.Count} cases failed.)", firstException!);
        if (ReplaySeed is null && informative < minInformative * seeds.Count)
            throw new PropertyFailedException($"{property}: only {informative} of {seeds.Count} cases were informative (at least {minInformative:P0} must be): the generator has drifted towards trivial cases.", new Exception());
    }

    /// <summary>The fixed seed strings of a property: a PCG stream from the property's name, seeds 1..count.</summary>
    public static List<string> Seeds(string property, int count)
    {
        uint stream = 2166136261;                                      // FNV-1a of the name: stable across runs and platforms
        foreach (char c in property) stream = (stream ^ c) * 16777619;
        return [.. Enumerable.Range(1, count).Select(i => new PCG(stream & 0x7FFFFFFF, (ulong)i * 0x9E3779B97F4A7C15UL).ToString())];
    }

    /// <summary>Cases run per property in this process (for the figures in docs/reliability.md, "Fuzzing").</summary>
    public static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> Cases = new();

}

/// <summary>A property failed on a generated case; the message names the seed that reproduces it.</summary>
public sealed class PropertyFailedException(string message, Exception inner) : Exception(message, inner);

/// <summary>A generator from a function of a <see cref="Draw"/> (CsCheck's PCG with typed helpers), for inputs whose parts depend on each other.</summary>
internal sealed class GenDraw<T>(Func<Draw, T> body) : Gen<T>
{
    public override T Generate(PCG pcg, Size? min, out Size size)
    {
        size = new Size(0);
        return body(new Draw(pcg));
    }
}

/// <summary>Typed draws from one PCG, through CsCheck's generators.</summary>
internal sealed class Draw(PCG pcg)
{
    public PCG Pcg { get; } = pcg;
    public int Int(int lo, int hi) => Gen.Int[lo, hi].Generate(Pcg, null, out _);                 // inclusive
    /// <summary>Uniform in [lo, hi) (CsCheck's Gen.Double favours special values, which ill-condition the functions).</summary>
    public double Double(double lo, double hi) => lo + (hi - lo) * ((Pcg.Next64() >> 11) * (1.0 / (1UL << 53)));
    public bool Bool() => Gen.Bool.Generate(Pcg, null, out _);
    public bool Chance(double p) => Double(0, 1) < p;
    public T Pick<T>(IReadOnlyList<T> xs) => xs[Int(0, xs.Count - 1)];
    public T Run<T>(Gen<T> gen) => gen.Generate(Pcg, null, out _);

    /// <summary>±10^u with u uniform in [lo, hi]: magnitudes spread evenly over the decades.</summary>
    public double LogUniform(double loExp, double hiExp, bool signed = true) =>
        (signed && Bool() ? -1 : 1) * Math.Pow(10, Double(loExp, hiExp));

    public double[] Uniform(int n, double lo, double hi) => [.. Enumerable.Range(0, n).Select(_ => Double(lo, hi))];
}
