using JetSharp.Primitives.LinearAlgebra;
using JetSharp.Runtime;

namespace JetSharp.Nn.Pinn;

/// <summary>
/// A nonlinear least-squares problem: minimise loss(θ) = ‖R(θ)‖² over θ ∈ ℝᴾ with R ∈ ℝᴹ, given the
/// residual and its Jacobian J = ∂R/∂θ. What Gauss–Newton, Levenberg–Marquardt and energy natural
/// gradient descent need (<see cref="PinnProblem"/> is one).
/// </summary>
public interface ILeastSquaresProblem
{
    /// <summary>M, the length of R.</summary>
    int ResidualCount { get; }

    /// <summary>P, the length of θ.</summary>
    int ParameterCount { get; }

    /// <summary>R(θ) into <paramref name="residuals"/>; returns ‖R‖².</summary>
    double Residuals(double[] theta, double[] residuals);

    /// <summary>R(θ) into <paramref name="residuals"/> and J(θ) [M, P] (a new array); <paramref name="loss"/> = ‖R‖².</summary>
    NDArray<double> Linearize(double[] theta, double[] residuals, out double loss);
}

/// <summary>Checks shared by <see cref="Engd"/> and <see cref="LevenbergMarquardt"/>.</summary>
internal static class LeastSquaresStates
{
    /// <summary>The problem, or an exception: null, or a PINN problem that trains in float32 (its Jacobian methods are float64 only).</summary>
    public static ILeastSquaresProblem CheckProblem(ILeastSquaresProblem problem, string who)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (problem is PinnProblem { DType: not DType.Float64 } pinn)
            throw new NotSupportedException($"{who}: second-order optimizers run in float64 only; the problem trains in {pinn.DType.Name()}. Build a PinnProblem<double>.");
        return problem;
    }

    /// <summary>A 0/1 scalar of an optimizer state (absent: false).</summary>
    public static bool Flag(OptimizerState state, string name)
    {
        if (!state.Scalars.TryGetValue(name, out var v)) return false;
        if (v is not (0 or 1)) throw new ArgumentException($"{state.Name}: scalar '{name}' is {v}; it must be 0 or 1.", nameof(state));
        return v == 1;
    }
}

/// <summary>Which linear system a damped Gauss–Newton step solves.</summary>
public enum GramForm
{
    /// <summary><see cref="Woodbury"/> when M &lt; P, else <see cref="Parameter"/>.</summary>
    Auto,

    /// <summary>(JᵀJ + λI)·d = Jᵀb: a P×P Cholesky (cost M·P² + P³/3).</summary>
    Parameter,

    /// <summary>d = Jᵀ·(JJᵀ + λI)⁻¹·b: an M×M Cholesky in sample space (cost M²·P + M³/3), the same d for λ &gt; 0.</summary>
    Woodbury,
}

/// <summary>
/// The damped least-squares step d = argmin ‖J·d − b‖² + λ‖d‖², in the parameter (Gram) form or the
/// Woodbury sample-space form (<see cref="GramForm"/>), by Cholesky factorisation on compiled graphs (the
/// products by GEMM, the factorisation and triangular solves by the library's dense kernels). Rank
/// deficiency is handled by the damping: for λ &gt; 0 both systems are positive definite; when round-off
/// still makes a pivot non-positive, λ is raised tenfold (from at least 1e-14·‖J‖²_F/P, or 1 for J = 0) and the solve
/// retried, and the damping actually used is returned.
/// </summary>
public sealed class DampedLeastSquares
{
    private readonly Dictionary<(int, int, bool), Executable> _solvers = [];

    /// <summary>Solves for d [P]; returns the damping used (≥ <paramref name="damping"/>).</summary>
    public double Solve(NDArray<double> jacobian, ReadOnlySpan<double> b, double damping, GramForm form, double[] d)
    {
        ArgumentNullException.ThrowIfNull(jacobian);
        ArgumentNullException.ThrowIfNull(d);
        if (jacobian.Rank != 2) throw new ShapeException($"DampedLeastSquares.Solve: the Jacobian must be a matrix [M, P], got {jacobian.Shape}.");
        int m = jacobian.Shape[0], p = jacobian.Shape[1];
        if (b.Length != m || d.Length != p)
            throw new ShapeException($"DampedLeastSquares.Solve: J is [{m}, {p}]; b has {b.Length} entries (expected {m}) and d {d.Length} (expected {p}).");
        if (!(damping >= 0) || double.IsInfinity(damping)) throw new ArgumentOutOfRangeException(nameof(damping), $"DampedLeastSquares.Solve: damping must be finite and ≥ 0, got {damping}.");
        bool woodbury = form == GramForm.Woodbury || (form == GramForm.Auto && m < p);
        if (!_solvers.TryGetValue((m, p, woodbury), out var exe))
            _solvers[(m, p, woodbury)] = exe = new Executable(Build(m, p, woodbury));

        var rhs = new NDArray<double>(new Shape(m, 1));
        b.CopyTo(rhs.Data);
        double norm2 = PinnProblem.SquaredNorm(jacobian.Data);
        double floor = norm2 > 0 ? 1e-14 * norm2 / p : 1;   // a zero J: any λ > 0 gives d = 0
        double lambda = damping;
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                var x = exe.Run([jacobian, rhs, NDArray.FromArray([lambda], new Shape())])[0];
                if (x.Data.All(double.IsFinite))
                {
                    x.Data.CopyTo(d, 0);
                    return lambda;
                }
            }
            catch (SingularMatrixException) { }
            if (attempt >= 40) throw new ArithmeticException($"DampedLeastSquares.Solve: the {(woodbury ? "JJᵀ" : "JᵀJ")} system stayed singular up to damping {lambda:e3} (J [{m}, {p}], ‖J‖²_F = {PinnProblem.SquaredNorm(jacobian.Data):e3}).");
            lambda = Math.Max(10 * lambda, floor);
        }
    }

    /// <summary>(J [M, P], b [M, 1], λ []) → d [P, 1].</summary>
    private static Graph Build(int m, int p, bool woodbury)
    {
        var g = new Graph(DType.Float64);
        var j = g.Input(new Shape(m, p), "J");
        var b = g.Input(new Shape(m, 1), "b");
        var lambda = g.Input(new Shape(), "λ");
        if (woodbury)
        {
            var k = Fn.MatMul(j, j, transposeB: true) + Linalg.Eye(g, m) * lambda;     // JJᵀ + λI, [M, M]
            var l = Linalg.Cholesky(k);
            var z = Linalg.SolveTriangular(l, Linalg.SolveTriangular(l, b, lower: true), lower: true, transpose: true);
            g.SetOutputs(Fn.MatMul(j, z, transposeA: true));                            // Jᵀ(JJᵀ + λI)⁻¹b
        }
        else
        {
            var a = Fn.MatMul(j, j, transposeA: true) + Linalg.Eye(g, p) * lambda;     // JᵀJ + λI, [P, P]
            var l = Linalg.Cholesky(a);
            var rhs = Fn.MatMul(j, b, transposeA: true);
            g.SetOutputs(Linalg.SolveTriangular(l, Linalg.SolveTriangular(l, rhs, lower: true), lower: true, transpose: true));
        }
        return g;
    }

    /// <summary>J·v for J [M, P] row-major.</summary>
    internal static void Times(NDArray<double> j, ReadOnlySpan<double> v, Span<double> result)
    {
        int m = j.Shape[0], p = j.Shape[1];
        var data = j.Data.AsSpan();
        for (int i = 0; i < m; i++)
        {
            var row = data.Slice(i * p, p);
            double s = 0;
            for (int k = 0; k < p; k++) s += row[k] * v[k];
            result[i] = s;
        }
    }
}
