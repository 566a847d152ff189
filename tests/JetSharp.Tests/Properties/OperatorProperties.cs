using CsCheck;
using Xunit.Abstractions;

namespace JetSharp.Tests.Properties;

/// <summary>A generated case: a random function, a random operator on its input dimension, and points x ∈ [−1, 1]^(N×D).</summary>
internal sealed record OperatorCase(RandomFunction F, RandomOperator Op, NDArray<double> X)
{
    public override string ToString() => $"{F}\noperator: {Op}\nx [{X.Shape[0]}, {X.Shape[1]}] = [{string.Join(", ", X.Data.Select(v => v.ToString("R")))}]";

    public static Gen<OperatorCase> Gen(OperatorKinds kinds, int maxD = 4, int maxOrder = 4, double loExp = -6, double hiExp = 6, int maxSteps = 7) =>
        new GenDraw<OperatorCase>(draw =>
        {
            int d = draw.Chance(0.2) ? 1 : draw.Int(Math.Min(2, maxD), maxD), n = draw.Int(1, 3);
            var f = draw.Run(RandomFunction.Gen(d, maxSteps: maxSteps));
            var op = RandomOperator.Draw(draw, d, kinds, loExp, hiExp, maxOrder);
            return new(f, op, Points(draw, n, d));
        });

    public static NDArray<double> Points(Draw draw, int n, int d) => NDArray.FromArray(draw.Uniform(n * d, -1, 1), new Shape(n, d));
}

/// <summary>
/// Properties of the operators on random functions (<see cref="RandomFunction"/>) and random operators
/// (<see cref="RandomOperator"/>): the three strategies agree to rounding, and the exact operators match
/// central finite differences of their definitions. Errors are measured against the size of the terms that
/// are summed (not the size of the result, which may cancel), so the tolerances are pure rounding bounds.
/// </summary>
public class OperatorProperties(ITestOutputHelper output)
{
    /// <summary>Collapsed against standard Taylor: the same jets, summed in another order.</summary>
    private const double CollapsedTol = 1e-12;
    /// <summary>Nested first-order against collapsed: another derivative code path.</summary>
    private const double NestedTol = 1e-10;

    /// <summary>Finite-difference tolerance by highest derivative order (relative to Σ|c_α|(|∂^α f| + 1)).</summary>
    private static double FdTol(int order) => order switch { <= 1 => 1e-10, 2 => 1e-7, 3 => 1e-6, _ => 2e-4 };

    private static void Finite(NDArray<double> r, string what)
    {
        if (!r.Data.All(double.IsFinite)) throw new Xunit.Sdk.XunitException($"{what}: non-finite result {r}");
    }

    private static double MaxAbs(NDArray<double> a) => a.Data.Select(Math.Abs).DefaultIfEmpty(0).Max();

    private static double MaxDiff(NDArray<double> a, NDArray<double> b)
    {
        Assert.Equal(a.Shape, b.Shape);
        return a.Data.Zip(b.Data, (p, q) => Math.Abs(p - q)).DefaultIfEmpty(0).Max();
    }

    /// <summary>The three strategies agree: collapsed = standard to 1e-12, nested within 1e-10, relative to the summed terms.</summary>
    internal static bool StrategiesAgree(OperatorCase c)
    {
        var results = Strategy.All.Select(s => (s, r: c.Op.Op.Apply(c.F.Apply, c.X, s))).ToList();
        var fd = new FiniteDifferences(c.F.Apply, c.X);
        var expectedShape = new Shape([c.X.Shape[0], .. c.F.OutputShape]);
        foreach (var (s, r) in results)
        {
            Assert.Equal(expectedShape, r.Shape);
            Finite(r, s.Name);
        }
        var (scales, units) = fd.FamilyScale(c.Op.Op);
        double scale = scales.DefaultIfEmpty(0).Max(), unit = units.DefaultIfEmpty(0).Max();
        var collapsed = results[0].r;
        double eStd = MaxDiff(results[1].r, collapsed), eNested = MaxDiff(results[2].r, collapsed);
        if (eStd > CollapsedTol * scale || eNested > NestedTol * scale)
            throw new Xunit.Sdk.XunitException(
                $"strategies disagree: |standard − collapsed| = {eStd:E3}, |nested − collapsed| = {eNested:E3}, term scale {scale:E3} " +
                $"(relative {eStd / scale:E2} vs {CollapsedTol:E0}, {eNested / scale:E2} vs {NestedTol:E0})\n" +
                $"collapsed {collapsed}\nstandard  {results[1].r}\nnested    {results[2].r}");
        return MaxAbs(collapsed) > 1e-6 * unit;
    }

    /// <summary>The collapsed result equals Σ c_α ∂^α f by central differences of f (definitions written independently of the library).</summary>
    internal static bool MatchesFiniteDifferences(OperatorCase c)
    {
        var r = c.Op.Op.Apply(c.F.Apply, c.X);
        Finite(r, "collapsed");
        var fd = new FiniteDifferences(c.F.Apply, c.X);
        var (reference, allowed) = fd.Apply(c.Op.Definition!, FdTol);
        // The worst ratio error / allowed over the elements: ≤ 1 passes.
        double ratio = r.Data.Select((a, i) => Math.Abs(a - reference[i]) / allowed[i]).DefaultIfEmpty(0).Max();
        WorstFd.AddOrUpdate(c.Op.MaxOrder, ratio, (_, old) => Math.Max(old, ratio));
        if (!(ratio <= 1))
            throw new Xunit.Sdk.XunitException(
                $"operator vs finite differences: error {ratio:E2} × the allowed Σ tol(|α|)·|c_α|(|∂^α f| + 1) (tolerances by order {string.Join(", ", Enumerable.Range(1, 4).Select(k => $"{k}: {FdTol(k):E0}"))})\n" +
                $"operator   [{string.Join(", ", r.Data.Select(v => v.ToString("G10")))}]\nreference  [{string.Join(", ", reference.Select(v => v.ToString("G10")))}]");
        // Informative when the result is not ~0 next to the coefficients (|f| and its derivatives are O(1) here).
        return MaxAbs(r) > 1e-6 * c.Op.Definition!.Sum(t => Math.Abs(t.Coefficient(c.X.Data.AsSpan(0, c.X.Shape[1]).ToArray())));
    }

    [Fact]
    public void StrategiesAgreeOnSecondOrderOperators() =>
        Fuzz.Check(nameof(StrategiesAgreeOnSecondOrderOperators),
            OperatorCase.Gen(OperatorKinds.Laplacian | OperatorKinds.WeightedLaplacian | OperatorKinds.WeightedLaplacianOfX | OperatorKinds.Coefficients
                | OperatorKinds.StochasticLaplacian | OperatorKinds.StochasticWeightedLaplacian),
            StrategiesAgree, cases: 150, output);

    [Fact]
    public void StrategiesAgreeOnGeneralOperators() =>
        Fuzz.Check(nameof(StrategiesAgreeOnGeneralOperators),
            OperatorCase.Gen(OperatorKinds.LinearAxes | OperatorKinds.LinearLetters, maxD: 3, maxSteps: 4),
            StrategiesAgree, cases: 80, output);

    [Fact]
    public void StrategiesAgreeOnBiharmonics() =>
        Fuzz.Check(nameof(StrategiesAgreeOnBiharmonics),
            OperatorCase.Gen(OperatorKinds.Biharmonic | OperatorKinds.StochasticBiharmonic, maxD: 3, maxSteps: 4),
            StrategiesAgree, cases: 16, output);

    /// <summary>The largest relative finite-difference error seen per highest order (the tolerances' margins, printed by the properties).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, double> WorstFd = new();

    private void PrintMargins() =>
        output.WriteLine("worst FD error / allowed, by highest order of the operator: " + string.Join(", ", WorstFd.OrderBy(p => p.Key).Select(p => $"K={p.Key}: {p.Value:E1}")));

    [Fact]
    public void SecondOrderOperatorsMatchFiniteDifferences() =>
        Fuzz.Check(nameof(SecondOrderOperatorsMatchFiniteDifferences),
            OperatorCase.Gen(OperatorKinds.Laplacian | OperatorKinds.WeightedLaplacian | OperatorKinds.WeightedLaplacianOfX | OperatorKinds.Coefficients),
            MatchesFiniteDifferences, cases: 150, output, after: PrintMargins);

    [Fact]
    public void GeneralOperatorsMatchFiniteDifferences() =>
        Fuzz.Check(nameof(GeneralOperatorsMatchFiniteDifferences),
            OperatorCase.Gen(OperatorKinds.LinearAxes | OperatorKinds.LinearLetters | OperatorKinds.Biharmonic, maxD: 3, maxSteps: 5),
            MatchesFiniteDifferences, cases: 200, output, after: PrintMargins);

    // ---------------------------------------------------------------- coefficients across many decades

    /// <summary>
    /// A function that ignores some input axes, and a general operator whose large coefficients (±10^[bigLo, bigHi])
    /// multiply derivatives along ignored axes only (exactly 0) while small ones (±10^[smallLo, smallHi]) multiply
    /// derivatives along the other axes: the result is the small terms' sum, which an operator that drops
    /// "negligible" terms relative to the largest coefficient gets wrong.
    /// </summary>
    internal static Gen<(OperatorCase Case, IReadOnlyList<Term> Small, IReadOnlyList<Term> Large)> SpanCase(double bigLo, double bigHi, double smallLo, double smallHi) =>
        new GenDraw<(OperatorCase, IReadOnlyList<Term>, IReadOnlyList<Term>)>(draw =>
        {
            int d = draw.Int(2, 3), n = draw.Int(1, 3);
            var axes = Enumerable.Range(0, d).OrderBy(_ => draw.Int(0, 999)).ToArray();
            int split = draw.Int(1, d - 1);
            int[] ignored = axes[..split], live = axes[split..];
            var f = draw.Run(RandomFunction.Gen(d, maxSteps: 4, ignored: ignored));
            List<Term> Terms(int[] pool, double lo, double hi) => [.. Enumerable.Range(0, draw.Int(1, 3)).Select(_ =>
                Term.Of(draw.LogUniform(lo, hi), [.. RandomOperator.MultiIndex(draw, draw.Int(1, 4), pool.Length).Select(a => pool[a])]))];
            var large = Terms(ignored, bigLo, bigHi);
            var small = Terms(live, smallLo, smallHi);
            var all = large.Concat(small).OrderBy(_ => draw.Int(0, 999)).ToList();
            var op = DifferentialOperator.Linear(all.Select(t => (t.Constant, t.Axes)));
            var rop = new RandomOperator($"Linear({string.Join(", ", all)}) — f ignores axes [{string.Join(", ", ignored)}]", op, all, all.Max(t => t.Axes.Length));
            return (new OperatorCase(f, rop, OperatorCase.Points(draw, n, d)), small, large);
        });

    internal static bool SmallTermsSurvive((OperatorCase Case, IReadOnlyList<Term> Small, IReadOnlyList<Term> Large) c)
    {
        var fd = new FiniteDifferences(c.Case.F.Apply, c.Case.X);
        foreach (var a in c.Large.SelectMany(t => t.Axes).Distinct())
            if (!fd.Ignores(a)) throw new Xunit.Sdk.XunitException($"generator: f depends on the ignored axis {a}");
        var (reference, allowed) = fd.Apply(c.Small, FdTol);
        foreach (var s in Strategy.All)
        {
            var r = c.Case.Op.Op.Apply(c.Case.F.Apply, c.Case.X, s);
            Finite(r, s.Name);
            double ratio = r.Data.Select((a, i) => Math.Abs(a - reference[i]) / allowed[i]).Max();
            if (!(ratio <= 1))
                throw new Xunit.Sdk.XunitException(
                    $"{s}: small terms lost next to large zero terms: error {ratio:E2} × the allowed (small terms only)\n" +
                    $"result     [{string.Join(", ", r.Data.Select(v => v.ToString("G10")))}]\nreference  [{string.Join(", ", reference.Select(v => v.ToString("G10")))}]");
        }
        return MaxAbs(NDArray.FromArray(reference)) > 1e-6 * c.Small.Sum(t => Math.Abs(t.Constant));
    }

    /// <summary>Coefficients spanning 1e-6…1e6 (a ratio of 1e12 between the largest and the smallest).</summary>
    [Fact]
    public void SmallCoefficientsSurviveNextToLargeOnes() =>
        Fuzz.Check(nameof(SmallCoefficientsSurviveNextToLargeOnes), SpanCase(2, 6, -6, -2), SmallTermsSurvive, cases: 40, output,
            c => $"{c.Case}\nsmall terms: {string.Join(", ", c.Small)}");

    /// <summary>
    /// Coefficients spanning 1e-15…1e15. Fails today: MixedPartials keeps only direction weights above 1e-14 × the
    /// largest weight of each order, so the small terms vanish. Enable once that fix lands.
    /// Reproducer: f(x) = sin(x₁) (ignores x₀), DifferentialOperator.Linear([(1e15, [0, 0]), (1e-15, [1, 1])]).Apply(f, x)
    /// gives 0 in every strategy instead of −1e-15·sin(x₁).
    /// </summary>
    [Fact]
    public void TinyCoefficientsSurviveNextToHugeOnes() =>
        Fuzz.Check(nameof(TinyCoefficientsSurviveNextToHugeOnes), SpanCase(10, 15, -15, -10), SmallTermsSurvive, cases: 40, output,
            c => $"{c.Case}\nsmall terms: {string.Join(", ", c.Small)}");
}
