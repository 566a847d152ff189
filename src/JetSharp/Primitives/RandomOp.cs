using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Backend;

namespace JetSharp.Primitives;

/// <summary>
/// Seeded random samples (see <see cref="SeededRandom"/>); never merged with another sampling node.
/// A run draws with seed <c>Seed + SeedOffset</c>, where the offset is the executing
/// <see cref="RunContext.SeedOffset"/> (0 by default), so a compiled graph can draw fresh,
/// reproducible samples on every step of a training loop.
/// </summary>
public sealed class RandomOp(Shape shape, Distribution distribution, long seed) : Primitive
{
    /// <summary>Shape of the sampled tensor.</summary>
    public Shape Shape { get; } = shape;
    /// <summary>Distribution the entries are drawn from (checked when the primitive is made, not when it runs).</summary>
    public Distribution Distribution { get; } = CheckDistribution(distribution);

    private static Distribution CheckDistribution(Distribution d)
    {
        SeededRandom.Check(d);
        return d;
    }
    /// <summary>Base seed; a run adds its <see cref="RunContext.SeedOffset"/>.</summary>
    public long Seed { get; } = seed;
    /// <inheritdoc/>
    public override string Name => "random";
    /// <inheritdoc/>
    public override bool IsRandom => true;
    /// <inheritdoc/>
    public override string Attributes => $"{Distribution.ToString().ToLowerInvariant()}, seed={Seed}, {Shape}";
    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs) { Arity(inputs, 0, Name); return Shape; }
    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        // Element i depends on (seed, i) only, so the pieces are filled on separate cores with the same result.
        long seed = Seed + context.SeedOffset;
        int size = output.Size, pieces = Parallelism.Pieces(size, computeBound: true);
        var data = output.Data;
        Parallelism.Run(pieces, p =>
        {
            int start = (int)Parallelism.Start(size, pieces, p), end = (int)Parallelism.Start(size, pieces, p + 1);
            SeededRandom.Fill<T>(data.AsSpan(start, end - start), Distribution, seed, start);
        });
    }
    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node cotangent) => [];
    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs args) => new Node?[args.Order + 1];
}
