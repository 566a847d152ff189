using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Primitives.LinearAlgebra;

namespace JetSharp.StateSpace;

/// <summary>
/// A linear-Gaussian state-space model in square-root form, as graph nodes:
/// x₀ ~ N(m₀, L₀·L₀ᵀ), x_t = F·x_{t−1} + q_t with q_t ~ N(0, L_Q·L_Qᵀ), y_t = H·x_t + r_t with
/// r_t ~ N(0, L_R·L_Rᵀ), for t = 1..T. Factors need not be square, triangular or of full rank
/// (singular process noise and exactly known initial components are allowed); the innovation covariance
/// H·P⁻·Hᵀ + L_R·L_Rᵀ must be positive definite. Every matrix is either shared by all series
/// ([rows, cols]) or given per series ([B, rows, cols]); the initial mean is [dx] or [B, dx].
/// </summary>
/// <param name="Transition">F [dx, dx].</param>
/// <param name="Observation">H [dy, dx].</param>
/// <param name="ProcessNoiseFactor">L_Q [dx, q].</param>
/// <param name="ObservationNoiseFactor">L_R [dy, r].</param>
/// <param name="InitialMean">m₀ [dx].</param>
/// <param name="InitialFactor">L₀ [dx, p].</param>
public sealed record LinearGaussianModel(Node Transition, Node Observation, Node ProcessNoiseFactor, Node ObservationNoiseFactor,
    Node InitialMean, Node InitialFactor);

/// <summary>What the filter returns, as graph nodes.</summary>
/// <param name="Means">Filtered means E[x_t | y_1..y_t], [B, T, dx].</param>
/// <param name="Factors">Lower-triangular L_t with L_t·L_tᵀ = Cov[x_t | y_1..y_t], [B, T, dx, dx].</param>
/// <param name="LogLikelihood">log p(y_1..y_T) per series, [B].</param>
public sealed record FilterResult(Node Means, Node Factors, Node LogLikelihood);

/// <summary>
/// The square-root Kalman filter emitted into a graph (traced, unrolled over time, batched over series
/// along the leading axis of the observations [B, T, dy]). Every covariance is carried as a factor:
/// <list type="bullet">
/// <item>predict: m⁻ = F·m, L⁻ = tria([F·L, L_Q]) (so L⁻·L⁻ᵀ = F·P·Fᵀ + Q);</item>
/// <item>update: Ψ = tria of the stacked block [[L_R, H·L⁻], [0, L⁻]], whose Gramian is
///   [[S, H·P⁻], [P⁻Hᵀ, P⁻]] (S = H·P⁻·Hᵀ + L_R·L_Rᵀ). In value Ψ = [[Ψ₁₁, 0], [Ψ₂₁, Ψ₂₂]] with S = Ψ₁₁Ψ₁₁ᵀ,
///   gain K = Ψ₂₁Ψ₁₁⁻¹ and posterior factor Ψ₂₂; the log-likelihood increment is
///   −½‖z‖² − Σ log Ψ₁₁,ᵢᵢ − (dy/2)·log 2π with z = Ψ₁₁⁻¹(y − H·m⁻).</item>
/// </list>
/// <para><b>Why the update reads Ψ through its row blocks.</b> The Gramian rule of tria gives a tangent dR
/// that satisfies dR·Rᵀ + R·dRᵀ = dA·Aᵀ + A·dAᵀ but, when A is rank-deficient, need not be lower triangular.
/// A consumer is then differentiated exactly only if it is a smooth function of R·Rᵀ. The triangular
/// sub-blocks Ψ₁₁, Ψ₂₁, Ψ₂₂ are functions of the Gramian only on lower-triangular matrices, so they are not
/// (this matters, e.g., with singular observation noise). Products of row blocks are blocks of the Gramian
/// for any matrix (R_bot·R_topᵀ = (R·Rᵀ)₂₁), so the filter works with those: with R_top = [Ψ₁₁, 0] and
/// R_bot = [Ψ₂₁, Ψ₂₂] (first dy and last dx rows), the filter uses L_S = tria(R_top) (= Ψ₁₁; S is positive
/// definite, so this is the exact Cholesky derivative), W = L_S⁻¹·R_top (= [I, 0]), the gain block
/// R_bot·Wᵀ (= Ψ₂₁) and the posterior factor L = R_bot − R_bot·Wᵀ·W (= [0, Ψ₂₂], dx × (dy + dx), whose
/// Gramian is P = P⁻ − K·S·Kᵀ for any tangent). The next predict's tria accepts its width. Every value is
/// the textbook one up to rounding; only the derivatives change, to the exact ones.</para>
/// <para><b>Differentiability.</b> Means and log-likelihood depend on the model only through covariances,
/// and every tria output is consumed through its Gramian, so gradients with respect to every model matrix
/// are exact also when a tria input is rank-deficient (singular process or observation noise, degenerate
/// prior); the innovation covariance S must be positive definite. The returned factors (tria(L), square and
/// lower triangular) are correct as factors — L_t·L_tᵀ and its derivatives are exact — but when P_t is
/// singular the entries of L_t are not a unique function of the model: differentiate functions of L_t·L_tᵀ.</para>
/// </summary>
public static class SquareRootKalmanFilter
{
    /// <summary>
    /// Filters <paramref name="observations"/> [B, T, dy]. <paramref name="tria"/> replaces the
    /// triangularization (default <see cref="Linalg.Tria"/>); it exists so that documentation and tests can
    /// compare with a QR-based one whose derivative is not rank-robust.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="model"/>, one of its matrices or <paramref name="observations"/> is null.</exception>
    /// <exception cref="ShapeException">A shape does not fit the others (the message names the matrix and the dimensions it was checked against),
    /// or <paramref name="tria"/> returns a matrix that is not [..., m, m] for an input [..., m, n].</exception>
    /// <exception cref="ArgumentException">A matrix belongs to another graph than the observations.</exception>
    /// <remarks>
    /// Values are checked when the graph runs: a NaN or infinite entry in the observations or in a model matrix
    /// raises <see cref="NotFiniteNumberException"/> (naming the matrix and the entry), and an innovation
    /// covariance S_t that is not positive definite (for instance H = 0 with L_R = 0) raises
    /// <see cref="Primitives.LinearAlgebra.SingularMatrixException"/> naming the time step and the series,
    /// instead of a NaN log-likelihood. Both checks are the identity for derivatives.
    /// </remarks>
    public static FilterResult Filter(LinearGaussianModel model, Node observations, Func<Node, Node>? tria = null)
    {
        var triangularize = tria ?? Linalg.Tria;
        var (b, steps, dy, dx) = Validate(model, observations);
        tria = a =>
        {
            var r = triangularize(a);
            if (r is null || r.Rank != a.Rank || r.Shape[^1] != a.Shape[^2] || r.Shape[^2] != a.Shape[^2])
                throw new ShapeException($"kalman: the tria function returned {(r is null ? "null" : r.Shape.ToString())} for an input {a.Shape}; it must return [..., {a.Shape[^2]}, {a.Shape[^2]}].");
            return r;
        };
        var g = observations.Graph;
        Node Finite(Node n, string what) => g.Apply(new RequireFiniteOp($"kalman: {what}"), n);
        observations = Finite(observations, "the observations y");
        Node f = Finite(model.Transition, "the transition matrix F"), h = Finite(model.Observation, "the observation matrix H"),
            lq = Finite(model.ProcessNoiseFactor, "the process noise factor L_Q"), lr = Finite(model.ObservationNoiseFactor, "the observation noise factor L_R");
        var initialMean = Finite(model.InitialMean, "the initial mean m₀");
        var initialFactor = Finite(model.InitialFactor, "the initial factor L₀");
        int q = lq.Shape[^1], r = lr.Shape[^1];
        // Constant blocks, broadcast once to the batch: the shared noise factors and the zero block of the update.
        var lqB = Fn.BroadcastTo(lq, new Shape(b, dx, q));
        var lrB = Fn.BroadcastTo(lr, new Shape(b, dy, r));
        var zeros = Fn.Zeros(g, new Shape(b, dx, r));

        var m = Fn.BroadcastTo(Fn.Reshape(initialMean, [.. initialMean.Shape.Take(initialMean.Rank - 1), dx, 1]), new Shape(b, dx, 1));
        var l = Fn.BroadcastTo(initialFactor, new Shape(b, dx, initialFactor.Shape[^1]));
        Node? logLik = null;
        var means = new Node[steps];
        var factors = new Node[steps];
        double constant = 0.5 * dy * Math.Log(2 * Math.PI);

        for (int t = 0; t < steps; t++)
        {
            // Predict.
            var mPred = Fn.MatMul(f, m);
            var lPred = tria(Fn.Concat(-1, Fn.MatMul(f, l), lqB));

            // Update: one tria of [[L_R, H·L⁻], [0, L⁻]], read through its row blocks (see the class summary).
            var hl = Fn.MatMul(h, lPred);
            var block = Fn.Concat(-2, Fn.Concat(-1, lrB, hl), Fn.Concat(-1, zeros, lPred));
            var psi = tria(block);
            int width = psi.Shape[^1];
            var top = Fn.Slice(psi, [0, 0, 0], [b, dy, width]);        // [Ψ₁₁, 0]
            var bottom = Fn.Slice(psi, [0, dy, 0], [b, dx, width]);    // [Ψ₂₁, Ψ₂₂]
            // = Ψ₁₁, S = L_S·L_Sᵀ; S must be positive definite, or z and the gain below would be infinite or NaN.
            var ls = g.Apply(new FullRankCheckOp($"kalman: time step {t}: the innovation covariance S = H·P⁻·Hᵀ + L_R·L_Rᵀ must be positive definite; its factor L_S"), tria(top));
            var w = Linalg.SolveTriangular(ls, top, lower: true);        // = [I, 0], orthonormal rows
            var gain = Fn.MatMul(bottom, w, transposeB: true);           // = Ψ₂₁ = P⁻Hᵀ·L_S⁻ᵀ

            var y = Fn.Reshape(Fn.Slice(observations, 1, t, 1), b, dy, 1);
            var z = Linalg.SolveTriangular(ls, y - Fn.MatMul(h, mPred), lower: true);
            m = mPred + Fn.MatMul(gain, z);
            l = bottom - Fn.MatMul(gain, w);                             // = [0, Ψ₂₂], L·Lᵀ = P

            var increment = -0.5 * Fn.Sum(Fn.Square(z), [1, 2]) - Linalg.LogAbsDetTriangular(ls) - constant;
            logLik = logLik is null ? increment : logLik + increment;
            means[t] = Fn.Reshape(m, b, 1, dx);
            // The returned factor is square and lower triangular; it is only computed when an output needs it.
            factors[t] = Fn.Reshape(tria(l), b, 1, dx, dx);
        }
        return new FilterResult(Fn.Concat(1, means), Fn.Concat(1, factors), logLik!);
    }

    /// <summary>Checks every shape before any node is emitted; returns (B, T, dy, dx).</summary>
    private static (int B, int T, int Dy, int Dx) Validate(LinearGaussianModel model, Node observations)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(observations);
        foreach (var (node, name) in (ReadOnlySpan<(Node?, string)>)[(model.Transition, "F (model.Transition)"), (model.Observation, "H (model.Observation)"),
                     (model.ProcessNoiseFactor, "L_Q (model.ProcessNoiseFactor)"), (model.ObservationNoiseFactor, "L_R (model.ObservationNoiseFactor)"),
                     (model.InitialMean, "m₀ (model.InitialMean)"), (model.InitialFactor, "L₀ (model.InitialFactor)")])
            if (node is null) throw new ArgumentNullException(nameof(model), $"kalman: the model's {name} is null.");
        var ys = observations.Shape;
        if (ys.Rank != 3 || ys[1] == 0)
            throw new ShapeException($"kalman: observations must be [series, time, dy] with at least one time step, got {ys}.");
        int b = ys[0], dy = ys[2];
        var f = model.Transition.Shape;
        if (f.Rank is < 2 or > 3 || f[^1] != f[^2])
            throw new ShapeException($"kalman: the transition matrix F must be [dx, dx] or [B, dx, dx], got {f}.");
        int dx = f[^1];

        void Check(Node n, string what, int rows, int? cols)
        {
            var s = n.Shape;
            if (n.Graph != observations.Graph)
                throw new ArgumentException($"kalman: {what} belongs to another graph than the observations.");
            bool batchOk = s.Rank == 2 || (s.Rank == 3 && (s[0] == b || s[0] == 1));
            if (!batchOk || s[^2] != rows || (cols is { } c && s[^1] != c))
                throw new ShapeException($"kalman: {what} must be [{rows}, {(cols is { } c2 ? c2.ToString() : "k")}] or with a leading series axis of {b}; got {s} " +
                                         $"(dx = {dx} from F {f}, dy = {dy} from observations {ys}).");
        }
        Check(model.Transition, "F", dx, dx);
        Check(model.Observation, "H", dy, dx);
        Check(model.ProcessNoiseFactor, "L_Q", dx, null);
        Check(model.ObservationNoiseFactor, "L_R", dy, null);
        Check(model.InitialFactor, "L₀", dx, null);
        if (model.InitialMean.Graph != observations.Graph)
            throw new ArgumentException("kalman: m₀ belongs to another graph than the observations.");
        var m0 = model.InitialMean.Shape;
        if (!(m0.Rank == 1 && m0[0] == dx) && !(m0.Rank == 2 && (m0[0] == b || m0[0] == 1) && m0[1] == dx))
            throw new ShapeException($"kalman: the initial mean m₀ must be [{dx}] or [{b}, {dx}], got {m0}.");
        return (b, ys[1], dy, dx);
    }
}
