using JetSharp.Nn;
using JetSharp.Tensors;

namespace JetSharp.Distributed;

/// <summary>
/// Data-parallel training (float64, the precision of the all-reduce): every rank evaluates the same loss on its own samples (its local objective draws
/// points seeded by its rank), and the loss and gradient are averaged over ranks with one all-reduce of
/// 1 + P numbers per step (P parameters), so every rank's optimizer takes the same step and the parameters stay
/// identical without being sent. When every rank's objective is a mean over the same number of points, the
/// result is the loss and gradient of one process on the union of all ranks' points.
/// </summary>
public sealed class DataParallelObjective : IObjective<double>
{
    private readonly IObjective<double> _local;
    private readonly ICommunicator _communicator;
    private double[] _buffer = [];

    /// <param name="local">This rank's objective (its samples differ from the other ranks').</param>
    /// <param name="communicator">The ranks training together.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public DataParallelObjective(IObjective<double> local, ICommunicator communicator)
    {
        _local = local ?? throw new ArgumentNullException(nameof(local));
        _communicator = communicator ?? throw new ArgumentNullException(nameof(communicator));
    }

    /// <inheritdoc/>
    public string Architecture => _local.Architecture;
    /// <inheritdoc/>
    public IReadOnlyList<Shape> ParameterShapes => _local.ParameterShapes;

    /// <summary>Redraws this rank's samples (the local objective mixes its rank into its seeds).</summary>
    public void Resample(long step, double[] theta) => _local.Resample(step, theta);

    /// <summary>The mean over ranks of the local losses; writes the mean of the local gradients.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public double Evaluate(double[] theta, double[] gradient)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(gradient);
        if (_buffer.Length != gradient.Length + 1) _buffer = new double[gradient.Length + 1];
        var local = new double[gradient.Length];
        _buffer[0] = _local.Evaluate(theta, local);
        local.CopyTo(_buffer, 1);
        _communicator.AllreduceSum(_buffer);
        double scale = 1.0 / _communicator.Size;
        for (int i = 0; i < gradient.Length; i++) gradient[i] = _buffer[i + 1] * scale;
        return _buffer[0] * scale;
    }
}
