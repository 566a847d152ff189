using JetSharp.Backend;
using JetSharp.Jacobians;
using JetSharp.Nn;
using JetSharp.Plotting;
using JetSharp.Primitives.LinearAlgebra;
using JetSharp.Runtime;
using JetSharp.StateSpace;
using Xunit.Abstractions;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.Reliability;

/// <summary>
/// The bad-input census of issue 15: a table of hostile inputs across the whole public API, each with the
/// outcome it must have — (a) a specific exception (type, and the argument, operation or shapes it names) or
/// (b) a correct result, checked against a closed form. <see cref="Summary"/> prints how many fall in each of
/// the four classes (clear exception / handled correctly / vague exception / silent wrong answer, crash or
/// hang); the last two must be empty.
/// </summary>
public class BadInputCensusTests(ITestOutputHelper output)
{
    private static readonly Lazy<IReadOnlyList<CensusCase>> AllCases = new(() => BadInputCensus.Cases());

    [Fact]
    public void DescriptionsAreUniqueAndTheCensusIsLargeEnough()
    {
        var dupes = AllCases.Value.GroupBy(c => c.Description).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        Assert.True(dupes.Length == 0, $"duplicate descriptions: {string.Join("; ", dupes)}");
        Assert.True(AllCases.Value.Count >= 250, $"only {AllCases.Value.Count} cases");
    }

    /// <summary>
    /// Runs every case, prints the four-class count (the figure docs/reliability.md quotes) and fails,
    /// listing each offender with what happened, if any case is vague or silently wrong.
    /// </summary>
    [Fact]
    public void Summary()
    {
        var results = AllCases.Value.Select(c => (Case: c, Result: CensusRunner.Classify(c))).ToList();
        Print("Bad-input census", results);
        var bad = results.Where(r => r.Result.Class is CensusClass.VagueException or CensusClass.SilentWrongCrashOrHang).ToList();
        Assert.True(bad.Count == 0, string.Join("\n", bad.Select(r => $"[{r.Case.Owner}/{r.Case.Area}] {r.Case.Description}: {r.Result.Class} — {r.Result.Detail}")));
    }

    private void Print(string title, List<(CensusCase Case, (CensusClass Class, string Detail) Result)> results)
    {
        output.WriteLine($"{title}: {results.Count} cases");
        foreach (CensusClass k in Enum.GetValues<CensusClass>())
            output.WriteLine($"  {k,-24} {results.Count(r => r.Result.Class == k),4}");
        foreach (var group in results.GroupBy(r => r.Case.Area))
            output.WriteLine($"  area {group.Key,-12} {group.Count(),4} cases, {group.Count(r => r.Result.Class == CensusClass.ClearException)} clear, " +
                $"{group.Count(r => r.Result.Class == CensusClass.HandledCorrectly)} handled, {group.Count(r => r.Result.Class == CensusClass.VagueException)} vague, " +
                $"{group.Count(r => r.Result.Class == CensusClass.SilentWrongCrashOrHang)} wrong");
        foreach (var (c, (cls, detail)) in results.Where(r => r.Result.Class is CensusClass.VagueException or CensusClass.SilentWrongCrashOrHang))
            output.WriteLine($"  {cls}: [{c.Owner}/{c.Area}] {c.Description} — {detail}");
    }
}
