namespace JetSharp.Tests.Reliability;

/// <summary>The four outcome classes of a hostile input (issue 15's audit).</summary>
public enum CensusClass
{
    /// <summary>A specific exception up front: the expected type, naming the argument, operation or shapes.</summary>
    ClearException,
    /// <summary>The input is legitimate (if odd) and the result is right, checked against a closed form.</summary>
    HandledCorrectly,
    /// <summary>An exception, but not the one a user can act on (NullReference, IndexOutOfRange, wrong type or message).</summary>
    VagueException,
    /// <summary>No exception and a wrong result (or NaN), a crash, or no answer within the time limit.</summary>
    SilentWrongCrashOrHang,
}

/// <summary>Thrown by a "handled correctly" check when the value it got is not the closed form.</summary>
public sealed class WrongAnswerException(string message) : Exception(message);

/// <summary>What a census case expects.</summary>
public abstract record Expectation;

/// <summary>
/// A specific exception: of type <paramref name="Type"/> (or derived), with <see cref="ArgumentException.ParamName"/>
/// equal to <paramref name="Param"/> when given, and a message containing every fragment (ordinal comparison).
/// </summary>
public sealed record ThrowsExpectation(Type Type, string? Param, string[] Fragments) : Expectation
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{Type.Name}{(Param is null ? "" : $" (parameter '{Param}')")}{(Fragments.Length == 0 ? "" : $" mentioning {string.Join(", ", Fragments.Select(f => $"\"{f}\""))}")}";
}

/// <summary>No exception; the call checks its own result against a closed form (throwing <see cref="WrongAnswerException"/>).</summary>
public sealed record CorrectExpectation : Expectation
{
    /// <inheritdoc/>
    public override string ToString() => "handled correctly";
}

/// <summary>One hostile input: who owns the code it exercises, the area, a unique description, the call and the expected outcome.</summary>
public sealed record CensusCase(string Owner, string Area, string Description, Action Call, Expectation Expected);

/// <summary>Runs census cases and sorts their outcomes into the four classes.</summary>
public static class CensusRunner
{
    /// <summary>How long a case may run before it counts as a hang.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>Exception types that never tell a user what they did wrong.</summary>
    private static readonly Type[] VagueTypes =
    [
        typeof(NullReferenceException), typeof(IndexOutOfRangeException), typeof(InvalidCastException),
        typeof(KeyNotFoundException), typeof(DivideByZeroException), typeof(OverflowException),
        typeof(AccessViolationException), typeof(ArrayTypeMismatchException), typeof(FormatException),
    ];

    /// <summary>Runs <paramref name="c"/> (on a worker, to detect hangs) and classifies the outcome, with a one-line reason.</summary>
    public static (CensusClass Class, string Detail) Classify(CensusCase c)
    {
        Exception? error = null;
        var task = Task.Run(() =>
        {
            try { c.Call(); }
            catch (Exception e) { error = e; }
        });
        if (!task.Wait(Timeout)) return (CensusClass.SilentWrongCrashOrHang, $"hang: no result after {Timeout.TotalSeconds} s");

        if (error is WrongAnswerException wrong) return (CensusClass.SilentWrongCrashOrHang, $"wrong answer: {wrong.Message}");
        if (c.Expected is CorrectExpectation)
            return error is null
                ? (CensusClass.HandledCorrectly, "correct")
                : (CensusClass.VagueException, $"unexpected {error.GetType().Name}: {error.Message}");

        var expected = (ThrowsExpectation)c.Expected;
        if (error is null) return (CensusClass.SilentWrongCrashOrHang, $"no exception (expected {expected})");
        string got = $"{error.GetType().Name}: {error.Message}";
        if (VagueTypes.Any(t => t.IsInstanceOfType(error))) return (CensusClass.VagueException, got);
        if (!expected.Type.IsInstanceOfType(error)) return (CensusClass.VagueException, $"expected {expected}, got {got}");
        if (expected.Param is not null && (error as ArgumentException)?.ParamName != expected.Param)
            return (CensusClass.VagueException, $"expected parameter '{expected.Param}', got '{(error as ArgumentException)?.ParamName}' ({got})");
        var missing = expected.Fragments.Where(f => !error.Message.Contains(f, StringComparison.Ordinal)).ToArray();
        if (missing.Length > 0) return (CensusClass.VagueException, $"message lacks {string.Join(", ", missing.Select(m => $"\"{m}\""))}: {got}");
        return (CensusClass.ClearException, got);
    }
}
