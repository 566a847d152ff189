namespace JetSharp.Nn.Pinn;

/// <summary>
/// The damped least-squares direction with SPRING momentum (Goldshlager, Abrahamsen &amp; Lin 2024), shared by the
/// natural-gradient optimizers (the PINN energy natural gradient and the VMC stochastic reconfiguration,
/// <see cref="Vmc.StochasticReconfiguration"/>). For a Jacobian J [M, P], a right-hand side b [M], damping λ &gt; 0 and
/// momentum μ ∈ [0, 1):
/// <code>
///   φ_k = argmin_φ ‖Jφ − b‖² + λ‖φ − μφ_{k−1}‖² = μφ_{k−1} + Jᵀ(JJᵀ + λI)⁻¹(b − μJφ_{k−1})   (Woodbury, M &lt; P)
/// </code>
/// solved by <see cref="DampedLeastSquares"/> (either form, <see cref="GramForm"/>). With μ = 0 or no previous
/// direction it is the plain damped Gauss–Newton / natural-gradient direction. The previous direction is kept here;
/// <see cref="Reset"/> forgets it.
/// </summary>
public sealed class SpringDirection
{
    private readonly DampedLeastSquares _solver = new();

    /// <summary>φ_{k−1}, or null (no momentum yet).</summary>
    public double[]? Previous { get; set; }

    /// <summary>Forgets the previous direction.</summary>
    public void Reset() => Previous = null;

    /// <summary>φ_k into <paramref name="phi"/> [P], remembered as the next step's φ_{k−1}; returns the damping the solve used (≥ λ).</summary>
    public double Compute(NDArray<double> jacobian, ReadOnlySpan<double> b, double damping, double momentum, GramForm form, double[] phi)
    {
        ArgumentNullException.ThrowIfNull(jacobian);
        ArgumentNullException.ThrowIfNull(phi);
        if (!(momentum >= 0 && momentum < 1)) throw new ArgumentOutOfRangeException(nameof(momentum), $"SpringDirection.Compute: the momentum μ must lie in [0, 1), got {momentum}.");
        if (jacobian.Rank != 2 || b.Length != jacobian.Shape[0] || phi.Length != jacobian.Shape[1])
            throw new ShapeException($"SpringDirection.Compute: J is {jacobian.Shape}; b has {b.Length} entries and φ {phi.Length} (need J [M, P], b [M], φ [P]).");
        int m = jacobian.Shape[0], p = jacobian.Shape[1];
        if (Previous is not null && Previous.Length != p) throw new ShapeException($"SpringDirection.Compute: the previous direction has {Previous.Length} entries; J has {p} columns.");
        var rhs = b.ToArray();
        bool useMomentum = momentum > 0 && Previous is not null;
        if (useMomentum)
        {
            var jphi = new double[m];
            DampedLeastSquares.Times(jacobian, Previous, jphi);
            for (int i = 0; i < m; i++) rhs[i] -= momentum * jphi[i];
        }
        double used = _solver.Solve(jacobian, rhs, damping, form, phi);
        if (useMomentum)
            for (int i = 0; i < p; i++) phi[i] += momentum * Previous![i];
        Previous = (double[])phi.Clone();
        return used;
    }
}
