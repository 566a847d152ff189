namespace JetSharp.Distributed;

/// <summary>
/// A group of processes (ranks 0..Size−1) that take training steps together. Every collective call must be
/// made by every rank in the same order.
/// </summary>
public interface ICommunicator
{
    /// <summary>This process's rank, 0..Size−1.</summary>
    int Rank { get; }

    /// <summary>The number of processes.</summary>
    int Size { get; }

    /// <summary>
    /// Replaces <paramref name="values"/> on every rank by the element-wise sum over ranks, added in rank order
    /// (((v₀ + v₁) + v₂) + …), so every rank gets the same bits on every run, whatever the network does.
    /// </summary>
    void AllreduceSum(double[] values);

    /// <summary>Returns when every rank has called it.</summary>
    void Barrier();
}

/// <summary>One process on its own: rank 0 of 1; the all-reduce leaves the values as they are.</summary>
public sealed class LocalCommunicator : ICommunicator
{
    /// <inheritdoc/>
    public int Rank => 0;
    /// <inheritdoc/>
    public int Size => 1;
    /// <inheritdoc/>
    public void AllreduceSum(double[] values) => ArgumentNullException.ThrowIfNull(values);
    /// <inheritdoc/>
    public void Barrier() { }
}
