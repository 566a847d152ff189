using JetSharp.Nn;

namespace JetSharp.Examples;

/// <summary>How to run an example. The defaults run the full version (what the docs report).</summary>
public sealed record ExampleOptions
{
    /// <summary>Tiny sizes and a handful of steps: what the tests run (seconds, not minutes).</summary>
    public bool Fast { get; init; }

    /// <summary>Seed of the network initialisation and of every sample drawn.</summary>
    public long Seed { get; init; }

    /// <summary>
    /// The training precision: <see cref="DType.Float64"/> (the default) or <see cref="DType.Float32"/> (parameters,
    /// gradients, graphs, optimizer state and checkpoints all in float32). <see cref="Example.Precisions"/> says which an
    /// example supports; another is refused before any work.
    /// </summary>
    public DType Precision { get; init; } = DType.Float64;

    /// <summary>Multiplies the number of steps of every phase (e.g. 0.1 for a quick look).</summary>
    public double StepScale { get; init; } = 1;

    /// <summary>The space dimension D, for examples with a free one (<see cref="Example.DefaultDimension"/>); null: the example's default.</summary>
    public int? Dimension { get; init; }

    /// <summary>The number of training steps, for examples that take one (those with a <see cref="Example.DefaultDimension"/>); null: the example's default.</summary>
    public int? Steps { get; init; }

    /// <summary>Stop training after this long (the checkpoint lets it resume).</summary>
    public TimeSpan? TimeBudget { get; init; }

    /// <summary>Where the SVG figures go (none when null).</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Checkpoint file written when training stops (and every <see cref="CheckpointEvery"/> steps).</summary>
    public string? CheckpointPath { get; init; }

    public int CheckpointEvery { get; init; } = 500;

    /// <summary>Continue from <see cref="CheckpointPath"/> instead of starting afresh.</summary>
    public bool Resume { get; init; }

    /// <summary>Also time one training step with the collapsed strategy against nested first-order AD.</summary>
    public bool CompareStrategies { get; init; }

    /// <summary>Training progress (the CLI renders it live).</summary>
    public Action<TrainingProgress>? Progress { get; init; }

    /// <summary>Status lines (setup, evaluation).</summary>
    public Action<string>? Log { get; init; }

    public CancellationToken Cancellation { get; init; }
}

/// <summary>Per-step time of the same training step built with two strategies (minimum over repeats).</summary>
public sealed record StrategyTiming(Strategy Strategy, double SecondsPerStep, double Loss);

/// <summary>The result of an example run: its error against the exact solution, the target it states, and how long it took.</summary>
public sealed record ExampleResult
{
    public required string Name { get; init; }

    /// <summary>What <see cref="Error"/> measures (e.g. "relative L2 error of u").</summary>
    public required string ErrorName { get; init; }

    public required double Error { get; init; }

    /// <summary>The error the example promises to reach (documented in docs/examples/NAME.md).</summary>
    public required double Target { get; init; }

    /// <summary>False when a further promise of the example (e.g. the variance of the local energy in VMC) was missed.</summary>
    public bool? OtherTargetsReached { get; init; }

    public bool TargetReached => Error <= Target && OtherTargetsReached != false;

    public required TrainingResult Training { get; init; }

    /// <summary>Wall time of the whole run: setup, training and evaluation.</summary>
    public required TimeSpan WallTime { get; init; }

    /// <summary>Other figures worth reporting (name, formatted value).</summary>
    public IReadOnlyList<(string Name, string Value)> Details { get; init; } = [];

    /// <summary>SVG files written.</summary>
    public IReadOnlyList<string> Figures { get; init; } = [];

    /// <summary>Per-step times by strategy at the training batch size, when requested.</summary>
    public IReadOnlyList<StrategyTiming> Timings { get; init; } = [];

    /// <summary>Per-step times by strategy for every batch size timed (what the step-time figure shows).</summary>
    public IReadOnlyList<(int Size, IReadOnlyList<StrategyTiming> Timings)> TimingSweep { get; init; } = [];

    /// <summary>What the sizes of <see cref="TimingSweep"/> count (e.g. "interior points", "walkers").</summary>
    public string TimingSizeName { get; init; } = "points";
}

/// <summary>One example problem: a documented, runnable program with an exact solution to check against.</summary>
public abstract class Example
{
    /// <summary>The name of <c>jetsharp example NAME</c>.</summary>
    public abstract string Name { get; }

    /// <summary>One line: the equation and the method.</summary>
    public abstract string Summary { get; }

    public abstract ExampleResult Run(ExampleOptions options);

    /// <summary>
    /// The training objective of the fast (test) or full configuration, built with the given strategy (for tests and
    /// timings); a null strategy means <see cref="Strategy.Collapsed"/>.
    /// </summary>
    public abstract IObjective<double> CreateObjective(bool fast, Strategy? strategy = null, long seed = 0);

    /// <summary>Initial parameters of that objective's model.</summary>
    public abstract double[] InitialParameters(bool fast, long seed = 0);

    /// <summary>The default space dimension of an example whose dimension is free (<see cref="ExampleOptions.Dimension"/>, <see cref="ExampleOptions.Steps"/>); null when it is fixed.</summary>
    public virtual int? DefaultDimension => null;

    /// <summary>The training precisions <see cref="ExampleOptions.Precision"/> may name (float64 only unless an example says more).</summary>
    public virtual IReadOnlyList<DType> Precisions => [DType.Float64];

    /// <summary>Refuses a precision the example does not support, naming both.</summary>
    protected void CheckPrecision(ExampleOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Precisions.Contains(options.Precision))
            throw new NotSupportedException($"{Name}: trains in {string.Join(" or ", Precisions.Select(p => p.Name()))}, not {options.Precision.Name()}.");
    }

    public override string ToString() => Name;
}

/// <summary>All examples, by name.</summary>
public static class ExampleCatalog
{
    public static IReadOnlyList<Example> All { get; } =
        [new Poisson2d(), new PoissonHighDim(), new Heat(), new Plate(), new VmcOscillator(), new Helium(), new HydrogenMolecule(), new Lithium(), new Beryllium(), new BerylliumSlaterJastrow(), new StdeAllenCahn(), new NeuralOde.NeuralOdePoisson()];

    public static Example Find(string name) =>
        All.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"example: no example named '{name}'; the examples are {string.Join(", ", All.Select(e => e.Name))}.");
}
