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
/// <para>Cases in code other branches are fixing (operators, Kalman, fixed point, checkpoints, optimizers)
/// that still fail on this branch are listed in <see cref="PendingInOtherBranches"/>: they are run and
/// reported by <see cref="PendingReport"/> but not asserted. Remove an id from that list once its fix is merged.</para>
/// </summary>
public class BadInputCensusTests(ITestOutputHelper output)
{
    /// <summary>
    /// Cases whose fix belongs to another helper's branch (owner in the case). The integrator enables a case by
    /// deleting its description here after merging that branch; <see cref="PendingReport"/> shows which already pass.
    /// </summary>
    public static readonly HashSet<string> PendingInOtherBranches =
    [
    ];

    private static readonly Lazy<IReadOnlyList<CensusCase>> AllCases = new(() => BadInputCensus.Cases());

    [Fact]
    public void DescriptionsAreUniqueAndTheCensusIsLargeEnough()
    {
        var dupes = AllCases.Value.GroupBy(c => c.Description).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        Assert.True(dupes.Length == 0, $"duplicate descriptions: {string.Join("; ", dupes)}");
        Assert.True(AllCases.Value.Count >= 250, $"only {AllCases.Value.Count} cases");
        var unknown = PendingInOtherBranches.Where(p => AllCases.Value.All(c => c.Description != p)).ToArray();
        Assert.True(unknown.Length == 0, $"pending ids that are not cases: {string.Join("; ", unknown)}");
        Assert.True(AllCases.Value.Where(c => PendingInOtherBranches.Contains(c.Description)).All(c => c.Owner != BadInputCensus.Mine),
            "a case in this branch's own area is marked pending");
    }

    /// <summary>
    /// Runs every active case, prints the four-class count (the figure docs/reliability.md quotes) and fails,
    /// listing each offender with what happened, if any case is vague or silently wrong.
    /// </summary>
    [Fact]
    public void Summary()
    {
        var active = AllCases.Value.Where(c => !PendingInOtherBranches.Contains(c.Description)).ToList();
        var results = active.Select(c => (Case: c, Result: CensusRunner.Classify(c))).ToList();
        Print("Bad-input census (active cases)", results);
        var bad = results.Where(r => r.Result.Class is CensusClass.VagueException or CensusClass.SilentWrongCrashOrHang).ToList();
        Assert.True(bad.Count == 0, string.Join("\n", bad.Select(r => $"[{r.Case.Owner}/{r.Case.Area}] {r.Case.Description}: {r.Result.Class} — {r.Result.Detail}")));
    }

    /// <summary>Runs the pending cases of other branches and reports their classes (not asserted).</summary>
    [Fact]
    public void PendingReport()
    {
        var pending = AllCases.Value.Where(c => PendingInOtherBranches.Contains(c.Description)).ToList();
        var results = pending.Select(c => (Case: c, Result: CensusRunner.Classify(c))).ToList();
        Print("Pending in other branches (not asserted)", results);
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
