using System.Numerics;
using System.Runtime.InteropServices;

namespace JetSharp.Nn;

/// <summary>
/// The objective an optimizer minimises: returns the loss at <paramref name="theta"/> and writes
/// ∂loss/∂θ into <paramref name="gradient"/> (same length, cleared before the call). Parameters are one flat
/// vector of <typeparamref name="T"/> (see <see cref="ParameterVector"/>): <c>float</c> trains in float32 end to
/// end, <c>double</c> in float64.
/// </summary>
public delegate T Objective<T>(T[] theta, T[] gradient) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// Everything an optimizer needs to continue where it stopped: its name (checked on restore), its
/// step counter (which drives learning-rate schedules), named arrays (moments, curvature pairs; in the
/// training precision) and named scalars. Saved in checkpoints by <see cref="Checkpoint"/>.
/// </summary>
public sealed record OptimizerState(string Name, long Steps, IReadOnlyDictionary<string, NDArray> Arrays, IReadOnlyDictionary<string, double> Scalars);

/// <summary>A first- or quasi-second-order optimizer on a flat parameter vector of <typeparamref name="T"/>, updated in place.</summary>
public interface IOptimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    string Name { get; }

    /// <summary>Steps taken so far (restored from a checkpoint with <see cref="LoadState"/>).</summary>
    long Steps { get; }

    /// <summary>True when the optimizer cannot make further progress (L-BFGS: gradient or loss change below tolerance, or a failed line search).</summary>
    bool Converged { get; }

    /// <summary>One step: updates <paramref name="theta"/> in place and returns the loss at the parameters the step started from.</summary>
    T Step(T[] theta, Objective<T> objective);

    /// <summary>
    /// One step on <paramref name="objective"/>'s <see cref="IObjective{T}.Evaluate"/> (what the trainer calls). An optimizer
    /// may use more of what the objective offers: <see cref="Adam{T}"/> reads an <see cref="ISegmentedObjective{T}"/>'s gradient in place.
    /// </summary>
    T Step(T[] theta, IObjective<T> objective) => Step(theta, (objective ?? throw new ArgumentNullException(nameof(objective))).Evaluate);

    /// <summary>Whether <see cref="StepResident"/> is available: false (the default) for optimizers that need θ as one flat vector (L-BFGS).</summary>
    bool CanStepResident => false;

    /// <summary>
    /// One step on θ where <paramref name="objective"/> holds it (<see cref="IResidentObjective{T}.ParameterSegments"/>, updated
    /// in place); returns the loss at the parameters the step started from. Only when <see cref="CanStepResident"/>.
    /// </summary>
    T StepResident(IResidentObjective<T> objective) => throw new NotSupportedException($"{Name}: steps on a flat θ only.");

    /// <summary>The objective changed (e.g. new collocation points): forget cached loss and gradient values.</summary>
    void ObjectiveChanged();

    /// <summary>
    /// Whether every parameter was finite after the last <see cref="Step(T[], Objective{T})"/>, when the step found out while it wrote them;
    /// null when it did not (the default), and the caller scans θ itself. Adam checks in its update pass, so the trainer's
    /// per-step check costs no second pass over θ (51 MB at 12.8 M float32 parameters).
    /// </summary>
    bool? ParametersFiniteAfterStep => null;

    OptimizerState SaveState();

    /// <summary>
    /// The state for writing a checkpoint right away: like <see cref="SaveState"/>, but its arrays may be the optimizer's
    /// own (no copy), so it is valid only until the next <see cref="Step(T[], Objective{T})"/> and must not be modified. The trainer uses
    /// it to write checkpoints of large models without doubling the optimizer's memory.
    /// </summary>
    OptimizerState SnapshotForWriting() => SaveState();

    /// <summary>
    /// Restores a state saved by an optimizer of the same kind for <paramref name="parameterCount"/> parameters.
    /// Everything is checked before anything changes; an <see cref="ArgumentException"/> names the offending
    /// array or scalar otherwise (another kind of optimizer, another length or dtype, non-finite values).
    /// </summary>
    void LoadState(OptimizerState state, int parameterCount);
}

/// <summary>
/// Adam (Kingma &amp; Ba 2015) with bias correction: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// θ ← θ − η_t·m̂/(√v̂ + ε) with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ) and η_t from a <see cref="LearningRate"/> schedule.
/// The moments and the update are computed in <typeparamref name="T"/>; the schedule and the bias corrections in double.
/// </summary>
public sealed class Adam<T> : IOptimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[]? _m, _v, _g;
    private bool _gradientDirty;

    public Adam(LearningRate learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), $"Adam: β₁ must lie in [0, 1), got {beta1}.");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), $"Adam: β₂ must lie in [0, 1), got {beta2}.");
        if (!(epsilon > 0) || double.IsInfinity(epsilon)) throw new ArgumentOutOfRangeException(nameof(epsilon), $"Adam: ε must be finite and positive, got {epsilon}.");
        LearningRate = learningRate ?? throw new ArgumentNullException(nameof(learningRate));
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
    }

    public Adam(double learningRate) : this(Nn.LearningRate.Constant(learningRate)) { }

    public string Name => "adam";
    public LearningRate LearningRate { get; }
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Epsilon { get; }
    public long Steps { get; private set; }
    public bool Converged => false;

    /// <summary>The rate the next step will use.</summary>
    public double CurrentRate => LearningRate.At(Steps);

    public T Step(T[] theta, Objective<T> objective)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(objective);
        PrepareMoments(theta.Length);
        // The update clears the gradient for the next step in the same pass; a fresh or interrupted one is cleared here.
        if (_g is null || _g.Length != theta.Length) _g = LargeArrays.Zeroed<T>(theta.Length);
        else if (_gradientDirty) Array.Clear(_g);
        var g = _g;
        _gradientDirty = true;
        T loss = objective(theta, g);
        Apply([theta], [g], clear: true);
        _gradientDirty = false;
        return loss;
    }

    /// <summary>
    /// One step on <paramref name="objective"/>; when it is an <see cref="ISegmentedObjective{T}"/>, its gradient is read
    /// where the objective computed it (no copy into a flat vector, no clearing pass), with the same arithmetic as
    /// <see cref="Step(T[], Objective{T})"/>, so θ and the moments come out bitwise the same.
    /// </summary>
    public T Step(T[] theta, IObjective<T> objective)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (objective is not ISegmentedObjective<T> segmented) return Step(theta, objective.Evaluate);
        ArgumentNullException.ThrowIfNull(theta);
        PrepareMoments(theta.Length);
        T loss = segmented.Evaluate(theta, out var gradient);
        CheckSegments(gradient, theta.Length, "gradient", objective);
        Apply([theta], gradient, clear: false);
        return loss;
    }

    public bool CanStepResident => true;

    /// <summary>
    /// One step on θ where <paramref name="objective"/> holds it: its gradient segments update its parameter segments in
    /// place, with the arithmetic of <see cref="Step(T[], Objective{T})"/> (bitwise the same θ and moments).
    /// </summary>
    public T StepResident(IResidentObjective<T> objective)
    {
        ArgumentNullException.ThrowIfNull(objective);
        var theta = objective.ParameterSegments;
        int count = CheckSegments(theta, null, "parameter", objective);
        PrepareMoments(count);
        T loss = objective.Evaluate(out var gradient);
        CheckSegments(gradient, count, "gradient", objective);
        for (int i = 0; i < theta.Count; i++)
            if (gradient[i].Length != theta[i].Length)
                throw new ShapeException($"Adam.Step: gradient segment {i} of the objective '{objective.Architecture}' holds {gradient[i].Length} values; parameter segment {i} holds {theta[i].Length}.");
        Apply(theta, gradient, clear: false);
        return loss;
    }

    /// <summary>The number of values in an objective's segments (checked against <paramref name="expected"/> when given).</summary>
    private static int CheckSegments(IReadOnlyList<T[]>? segments, int? expected, string what, IObjective<T> objective)
    {
        long values = 0;
        for (int i = 0; i < (segments?.Count ?? 0); i++)
            values += segments![i]?.Length ?? throw new InvalidOperationException($"Adam.Step: {what} segment {i} of the objective '{objective.Architecture}' is null.");
        if (segments is null) throw new InvalidOperationException($"Adam.Step: the objective '{objective.Architecture}' gave no {what} segments.");
        if (expected is { } n && values != n)
            throw new ShapeException($"Adam.Step: the {what} segments of the objective '{objective.Architecture}' hold {values} values; θ has {n}.");
        return (int)values;
    }

    private void PrepareMoments(int parameters)
    {
        // Large moments on huge pages where the OS offers them (Tensors.LargeArrays): Adam streams them every step.
        if (_m is null || _v is null) { _m = LargeArrays.Zeroed<T>(parameters); _v = LargeArrays.Zeroed<T>(parameters); }
        else if (_m.Length != parameters)
            throw new ShapeException($"Adam.Step: {parameters} parameters; the optimizer's moments were built for {_m.Length}.");
    }

    /// <summary>
    /// The update of θ and the moments (m, v flat) from θ and its gradient, each given as segments that concatenate to the
    /// moments' length (the gradient cleared when asked). The vectors are walked in pieces cut at both lists' boundaries,
    /// each piece in <see cref="VectorMath.For"/> chunks from its start; every element gets the same operations whatever
    /// the cut, so the result does not depend on how θ and the gradient are segmented.
    /// </summary>
    private void Apply(IReadOnlyList<T[]> theta, IReadOnlyList<T[]> gradient, bool clear)
    {
        T rate = T.CreateTruncating(LearningRate.At(Steps));
        Steps++;
        // Bias corrections folded into the step size (same result as correcting m and v separately).
        var k = Coefficients.For(rate, Steps, Beta1, Beta2, Epsilon);
        var m = _m!;
        var v = _v!;
        int nonFinite = 0;
        _finite = null;
        int offset = 0, ti = 0, tAt = 0, gi = 0, gAt = 0;   // position in the flat vector, and in the current θ and gradient segment
        while (offset < m.Length)
        {
            while (tAt == theta[ti].Length) { ti++; tAt = 0; }
            while (gAt == gradient[gi].Length) { gi++; gAt = 0; }
            int length = Math.Min(theta[ti].Length - tAt, gradient[gi].Length - gAt);
            T[] t = theta[ti], g = gradient[gi];
            int at = offset, tStart = tAt, gStart = gAt;
            VectorMath.For(length, (start, n) =>
            {
                if (!Update(t.AsSpan(tStart + start, n), m.AsSpan(at + start, n), v.AsSpan(at + start, n), g.AsSpan(gStart + start, n), k, clear))
                    Volatile.Write(ref nonFinite, 1);
            });
            offset += length; tAt += length; gAt += length;
        }
        _finite = nonFinite == 0;
    }

    private bool? _finite;

    /// <summary>Whether the last step left every parameter finite (checked in the update pass); null before the first step.</summary>
    public bool? ParametersFiniteAfterStep => _finite;

    /// <summary>The constants of one update in T: rate, bias corrections c₁ = 1−β₁ᵗ and c₂ = 1−β₂ᵗ, β's, a = 1−β, ε.</summary>
    internal readonly record struct Coefficients(T Rate, T C1, T C2, T B1, T B2, T A1, T A2, T Eps)
    {
        public static Coefficients For(T rate, long step, double beta1, double beta2, double epsilon) =>
            new(rate, T.CreateTruncating(1 - Math.Pow(beta1, step)), T.CreateTruncating(1 - Math.Pow(beta2, step)),
                T.CreateTruncating(beta1), T.CreateTruncating(beta2), T.CreateTruncating(1 - beta1), T.CreateTruncating(1 - beta2),
                T.CreateTruncating(epsilon));
    }

    /// <summary>
    /// One Adam update over a stretch of the vectors, in place, and the gradient cleared for the next step in the same pass
    /// when <paramref name="clear"/> (else left as it is):
    /// m ← b₁m + a₁g, v ← b₂v + (a₂g)g, θ ← θ − η(m/c₁)/(√(v/c₂) + ε), lane by lane with exactly these operations
    /// (no fused multiply-add), so the vector and scalar paths agree bitwise. <see cref="ScalarUpdate"/> is the reference.
    /// Returns whether every updated θ is finite (θ − θ is 0 exactly for finite θ and NaN otherwise, summed in the same pass).
    /// </summary>
    internal static bool Update(Span<T> theta, Span<T> m, Span<T> v, Span<T> g, in Coefficients k, bool clear = true)
    {
        int i = 0;
        bool finite = true;
        if (Vector.IsHardwareAccelerated && theta.Length >= Vector<T>.Count)
        {
            var vt = MemoryMarshal.Cast<T, Vector<T>>(theta);
            var vm = MemoryMarshal.Cast<T, Vector<T>>(m);
            var vv = MemoryMarshal.Cast<T, Vector<T>>(v);
            var vg = MemoryMarshal.Cast<T, Vector<T>>(g);
            Vector<T> rate = new(k.Rate), c1 = new(k.C1), c2 = new(k.C2), b1 = new(k.B1), b2 = new(k.B2), a1 = new(k.A1), a2 = new(k.A2), eps = new(k.Eps);
            var check = Vector<T>.Zero;
            for (int j = 0; j < vt.Length; j++)
            {
                var gj = vg[j];
                var mj = b1 * vm[j] + a1 * gj;
                var vj = b2 * vv[j] + a2 * gj * gj;
                vm[j] = mj;
                vv[j] = vj;
                var tj = vt[j] - rate * (mj / c1) / (Vector.SquareRoot(vj / c2) + eps);
                vt[j] = tj;
                check += tj - tj;
                if (clear) vg[j] = Vector<T>.Zero;
            }
            finite = Vector.EqualsAll(check, Vector<T>.Zero);
            i = vt.Length * Vector<T>.Count;
        }
        ScalarUpdate(theta[i..], m[i..], v[i..], g[i..], k);
        if (clear) g[i..].Clear();
        for (; i < theta.Length; i++) finite &= T.IsFinite(theta[i]);
        return finite;
    }

    /// <summary>The scalar Adam update (the tail of <see cref="Update"/>, and its reference in the tests).</summary>
    internal static void ScalarUpdate(Span<T> theta, Span<T> m, Span<T> v, ReadOnlySpan<T> g, in Coefficients k)
    {
        for (int i = 0; i < theta.Length; i++)
        {
            m[i] = k.B1 * m[i] + k.A1 * g[i];
            v[i] = k.B2 * v[i] + k.A2 * g[i] * g[i];
            theta[i] -= k.Rate * (m[i] / k.C1) / (T.Sqrt(v[i] / k.C2) + k.Eps);
        }
    }

    public void ObjectiveChanged() { }

    public OptimizerState SaveState() => new(Name, Steps,
        _m is null ? new Dictionary<string, NDArray>() : new Dictionary<string, NDArray> { ["m"] = OptimizerStates.Vector(_m), ["v"] = OptimizerStates.Vector(_v!) },
        new Dictionary<string, double>());

    /// <inheritdoc/>
    public OptimizerState SnapshotForWriting() => new(Name, Steps,
        _m is null ? new Dictionary<string, NDArray>() : new Dictionary<string, NDArray> { ["m"] = new NDArray<T>(new Shape(_m.Length), _m), ["v"] = new NDArray<T>(new Shape(_v!.Length), _v) },
        new Dictionary<string, double>());

    public void LoadState(OptimizerState state, int parameterCount)
    {
        OptimizerStates.Check(state, Name, allowedArrays: n => n is "m" or "v", allowedScalars: _ => false);
        bool hasM = state.Arrays.TryGetValue("m", out var m), hasV = state.Arrays.TryGetValue("v", out var v);
        if (hasM != hasV) throw new ArgumentException($"adam: the state has moment '{(hasM ? "m" : "v")}' without '{(hasM ? "v" : "m")}'.", nameof(state));
        T[]? mv = hasM ? OptimizerStates.Values<T>(state, "m", m!, parameterCount) : null;
        T[]? vv = hasV ? OptimizerStates.Values<T>(state, "v", v!, parameterCount) : null;
        if (vv is not null && Array.FindIndex(vv, x => x < T.Zero) is var neg and >= 0)
            throw new ArgumentException($"adam: second moment 'v' is {vv[neg]} at index {neg}; it must be ≥ 0.", nameof(state));
        Steps = state.Steps;
        _m = mv;
        _v = vv;
    }

    public override string ToString() => $"Adam ({LearningRate})";
}

/// <summary>
/// Limited-memory BFGS (Nocedal &amp; Wright, <i>Numerical Optimization</i>, alg. 7.4–7.5) with a
/// strong-Wolfe line search (alg. 3.5–3.6, cubic interpolation). One <see cref="Step"/> is one
/// quasi-Newton iteration (several objective evaluations in the line search). The objective must be
/// deterministic between <see cref="ObjectiveChanged"/> calls: resampled points break the curvature
/// pairs, so use it on a fixed set of points. Curvature pairs with sᵀy ≤ 1e-10·yᵀy are skipped (keeps
/// the inverse Hessian approximation positive definite). Vectors are stored in <typeparamref name="T"/>;
/// inner products, step lengths and loss comparisons are accumulated in double.
/// </summary>
public sealed class Lbfgs<T> : IOptimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<T[]> _s = [], _y = [];
    private T[]? _g;     // gradient at the current point (cached from the last line search)
    private double _f;
    private T[]? _x;     // the point _f and _g belong to

    /// <param name="memory">Curvature pairs kept.</param>
    /// <param name="gradientTolerance">Converged when max |gᵢ| ≤ this.</param>
    /// <param name="functionTolerance">Converged when a step changes the loss by at most this times max(|f|, 1); by default
    /// 1e-13 in float64 and 1e-6 in float32 (about ten float32 roundings).</param>
    /// <param name="maxLineSearchEvaluations">Objective evaluations one line search may make.</param>
    /// <param name="c1">Sufficient-decrease constant of the Wolfe conditions.</param>
    /// <param name="c2">Curvature constant of the Wolfe conditions.</param>
    public Lbfgs(int memory = 20, double gradientTolerance = 1e-10, double? functionTolerance = null, int maxLineSearchEvaluations = 25,
        double c1 = 1e-4, double c2 = 0.9)
    {
        if (memory <= 0) throw new ArgumentOutOfRangeException(nameof(memory), $"Lbfgs: memory must be positive, got {memory}.");
        if (!(c1 > 0 && c1 < c2 && c2 < 1)) throw new ArgumentOutOfRangeException(nameof(c2), $"Lbfgs: Wolfe constants need 0 < c₁ < c₂ < 1, got c₁ = {c1}, c₂ = {c2}.");
        if (maxLineSearchEvaluations < 2) throw new ArgumentOutOfRangeException(nameof(maxLineSearchEvaluations), $"Lbfgs: the line search needs at least 2 evaluations, got {maxLineSearchEvaluations}.");
        if (!(gradientTolerance >= 0) || double.IsInfinity(gradientTolerance))
            throw new ArgumentOutOfRangeException(nameof(gradientTolerance), $"Lbfgs: the gradient tolerance must be finite and ≥ 0, got {gradientTolerance}.");
        if (functionTolerance is { } ft && (!(ft >= 0) || double.IsInfinity(ft)))
            throw new ArgumentOutOfRangeException(nameof(functionTolerance), $"Lbfgs: the function tolerance must be finite and ≥ 0, got {ft}.");
        Memory = memory;
        GradientTolerance = gradientTolerance;
        FunctionTolerance = functionTolerance ?? (typeof(T) == typeof(float) ? 1e-6 : 1e-13);
        MaxLineSearchEvaluations = maxLineSearchEvaluations;
        C1 = c1;
        C2 = c2;
    }

    public string Name => "lbfgs";
    public int Memory { get; }

    /// <summary>Converged when max |gᵢ| ≤ this.</summary>
    public double GradientTolerance { get; }

    /// <summary>Converged when a step changes the loss by at most this times max(|f|, 1).</summary>
    public double FunctionTolerance { get; }

    public int MaxLineSearchEvaluations { get; }
    public double C1 { get; }
    public double C2 { get; }
    public long Steps { get; private set; }
    public bool Converged { get; private set; }

    /// <summary>Objective evaluations made so far (line searches included).</summary>
    public long Evaluations { get; private set; }

    /// <summary>Why the optimizer stopped, when <see cref="Converged"/>.</summary>
    public string? StopReason { get; private set; }

    public void ObjectiveChanged()
    {
        _g = null;
        _x = null;
        Converged = false;
    }

    public T Step(T[] theta, Objective<T> objective)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(objective);
        int n = theta.Length;
        if (_s.Count > 0 && _s[0].Length != n)
            throw new ShapeException($"Lbfgs.Step: {n} parameters; the curvature history was built for {_s[0].Length}.");
        if (_g is null || _x is null || _x.Length != n || !_x.AsSpan().SequenceEqual(theta))
        {
            _g = new T[n];
            _f = Evaluate(objective, theta, _g);
            _x = (T[])theta.Clone();
        }
        double f0 = _f;
        if (Converged) return T.CreateTruncating(f0);
        Steps++;
        if (MaxAbs(_g) <= GradientTolerance) { Stop("gradient below tolerance"); return T.CreateTruncating(f0); }

        var d = Direction(_g);
        double slope = Dot(_g, d);
        if (!(slope < 0))
        {
            // Not a descent direction (can only come from round-off in the history): restart from steepest descent.
            _s.Clear();
            _y.Clear();
            d = Direction(_g);
            slope = Dot(_g, d);
        }
        double alpha0 = _s.Count == 0 ? Math.Min(1, 1 / Math.Max(Norm(_g), 1e-300)) : 1;
        var accepted = LineSearch(objective, theta, _f, _g, d, slope, alpha0);
        if (accepted is null && _s.Count > 0)
        {
            // The quasi-Newton direction failed; drop the history and try steepest descent once.
            _s.Clear();
            _y.Clear();
            d = Direction(_g);
            slope = Dot(_g, d);
            accepted = LineSearch(objective, theta, _f, _g, d, slope, Math.Min(1, 1 / Math.Max(Norm(_g), 1e-300)));
        }
        if (accepted is not { } a) { Stop("line search found no decrease"); return T.CreateTruncating(f0); }

        var s = new T[n];
        var y = new T[n];
        for (int i = 0; i < n; i++)
        {
            s[i] = a.X[i] - theta[i];
            y[i] = a.G[i] - _g[i];
        }
        double sy = Dot(s, y), yy = Dot(y, y);
        if (sy > 1e-10 * yy && yy > 0)
        {
            _s.Add(s);
            _y.Add(y);
            if (_s.Count > Memory) { _s.RemoveAt(0); _y.RemoveAt(0); }
        }
        Array.Copy(a.X, theta, n);
        _x = (T[])theta.Clone();
        _g = a.G;
        _f = a.F;
        if (Math.Abs(f0 - a.F) <= FunctionTolerance * Math.Max(1, Math.Max(Math.Abs(f0), Math.Abs(a.F)))) Stop("loss change below tolerance");
        return T.CreateTruncating(f0);
    }

    private void Stop(string reason)
    {
        Converged = true;
        StopReason = reason;
    }

    /// <summary>−H·g by the two-loop recursion, H₀ = γI with γ = sᵀy/yᵀy of the newest pair (steepest descent without pairs).</summary>
    private T[] Direction(T[] g)
    {
        int k = _s.Count;
        var q = (T[])g.Clone();
        var alpha = new double[k];
        var rho = new double[k];
        for (int i = k - 1; i >= 0; i--)
        {
            rho[i] = 1 / Dot(_y[i], _s[i]);
            alpha[i] = rho[i] * Dot(_s[i], q);
            Axpy(-alpha[i], _y[i], q);
        }
        T gamma = T.CreateTruncating(k == 0 ? 1 : Dot(_s[k - 1], _y[k - 1]) / Dot(_y[k - 1], _y[k - 1]));
        for (int i = 0; i < q.Length; i++) q[i] *= gamma;
        for (int i = 0; i < k; i++)
        {
            double beta = rho[i] * Dot(_y[i], q);
            Axpy(alpha[i] - beta, _s[i], q);
        }
        for (int i = 0; i < q.Length; i++) q[i] = -q[i];
        return q;
    }

    private readonly record struct Trial(double Alpha, double F, double Slope, T[] X, T[] G);

    /// <summary>Strong Wolfe: f(α) ≤ f₀ + c₁αf′₀ and |f′(α)| ≤ c₂|f′₀|. Null when no acceptable point is found.</summary>
    private Trial? LineSearch(Objective<T> objective, T[] x0, double f0, T[] g0, T[] d, double slope0, double alphaInit)
    {
        int evaluations = 0;
        Trial Probe(double alpha)
        {
            evaluations++;
            var x = new T[x0.Length];
            T a = T.CreateTruncating(alpha);
            for (int i = 0; i < x.Length; i++) x[i] = x0[i] + a * d[i];
            var g = new T[x0.Length];
            double f = Evaluate(objective, x, g);
            return new Trial(alpha, f, Dot(g, d), x, g);
        }
        bool SufficientDecrease(Trial t) => double.IsFinite(t.F) && t.F <= f0 + C1 * t.Alpha * slope0;
        bool Curvature(Trial t) => Math.Abs(t.Slope) <= -C2 * slope0;

        var prev = new Trial(0, f0, slope0, x0, g0);
        Trial? best = null;   // the lowest point satisfying sufficient decrease, as a fallback
        double alpha = alphaInit;
        while (evaluations < MaxLineSearchEvaluations)
        {
            var t = Probe(alpha);
            if (SufficientDecrease(t) && (best is null || t.F < best.Value.F)) best = t;
            if (!SufficientDecrease(t) || (prev.Alpha > 0 && t.F >= prev.F))
                return Zoom(prev, t) ?? best;
            if (Curvature(t)) return t;
            if (t.Slope >= 0) return Zoom(t, prev) ?? best;
            prev = t;
            alpha *= 2;
        }
        return best;

        Trial? Zoom(Trial lo, Trial hi)
        {
            while (evaluations < MaxLineSearchEvaluations)
            {
                double a = Interpolate(lo, hi);
                var t = Probe(a);
                if (SufficientDecrease(t) && (best is null || t.F < best.Value.F)) best = t;
                if (!SufficientDecrease(t) || t.F >= lo.F) hi = t;
                else
                {
                    if (Curvature(t)) return t;
                    if (t.Slope * (hi.Alpha - lo.Alpha) >= 0) hi = lo;
                    lo = t;
                }
                if (Math.Abs(hi.Alpha - lo.Alpha) <= 1e-14 * Math.Max(1, Math.Abs(lo.Alpha))) break;
            }
            return lo.Alpha > 0 ? lo : null;
        }
    }

    /// <summary>The minimiser of the cubic through (a, f_a, f′_a) and (b, f_b, f′_b), kept 10% away from the ends; bisection when the cubic has none.</summary>
    private static double Interpolate(Trial a, Trial b)
    {
        double lo = Math.Min(a.Alpha, b.Alpha), hi = Math.Max(a.Alpha, b.Alpha), width = hi - lo;
        double mid = 0.5 * (lo + hi);
        if (!double.IsFinite(a.F) || !double.IsFinite(b.F)) return mid;
        double d1 = a.Slope + b.Slope - 3 * (a.F - b.F) / (a.Alpha - b.Alpha);
        double disc = d1 * d1 - a.Slope * b.Slope;
        if (!(disc >= 0)) return mid;
        double d2 = Math.Sign(b.Alpha - a.Alpha) * Math.Sqrt(disc);
        double m = b.Alpha - (b.Alpha - a.Alpha) * (b.Slope + d2 - d1) / (b.Slope - a.Slope + 2 * d2);
        return double.IsFinite(m) && m >= lo + 0.1 * width && m <= hi - 0.1 * width ? m : mid;
    }

    private double Evaluate(Objective<T> objective, T[] x, T[] g)
    {
        Evaluations++;
        return double.CreateTruncating(objective(x, g));
    }

    public OptimizerState SaveState()
    {
        var arrays = new Dictionary<string, NDArray>();
        for (int i = 0; i < _s.Count; i++)
        {
            arrays[$"s{i}"] = OptimizerStates.Vector(_s[i]);
            arrays[$"y{i}"] = OptimizerStates.Vector(_y[i]);
        }
        return new(Name, Steps, arrays, new Dictionary<string, double> { ["pairs"] = _s.Count, ["evaluations"] = Evaluations });
    }

    public void LoadState(OptimizerState state, int parameterCount)
    {
        OptimizerStates.Check(state, Name, allowedArrays: n => n.Length > 1 && n[0] is 's' or 'y' && int.TryParse(n.AsSpan(1), out _), allowedScalars: n => n is "pairs" or "evaluations");
        int pairs = (int)OptimizerStates.Count(state, "pairs", Memory);
        long evaluations = OptimizerStates.Count(state, "evaluations", long.MaxValue);
        var s = new List<T[]>();
        var y = new List<T[]>();
        for (int i = 0; i < pairs; i++)
        {
            if (!state.Arrays.TryGetValue($"s{i}", out var si) || !state.Arrays.TryGetValue($"y{i}", out var yi))
                throw new ArgumentException($"lbfgs: the state lists {pairs} curvature pairs but pair {i} ('s{i}', 'y{i}') is missing.", nameof(state));
            s.Add(OptimizerStates.Values<T>(state, $"s{i}", si, parameterCount));
            y.Add(OptimizerStates.Values<T>(state, $"y{i}", yi, parameterCount));
        }
        if (state.Arrays.Count != 2 * pairs)
            throw new ArgumentException($"lbfgs: the state has {state.Arrays.Count} arrays for {pairs} curvature pairs (s0…, y0…); the extra ones ({string.Join(", ", state.Arrays.Keys.Where(k => int.Parse(k.AsSpan(1)) >= pairs))}) would be dropped.", nameof(state));
        _s.Clear();
        _y.Clear();
        _s.AddRange(s);
        _y.AddRange(y);
        Steps = state.Steps;
        Evaluations = evaluations;
        ObjectiveChanged();
    }

    public override string ToString() => $"L-BFGS (memory {Memory})";

    private static double Dot(T[] a, T[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += double.CreateTruncating(a[i]) * double.CreateTruncating(b[i]);
        return s;
    }

    private static double Norm(T[] a) => Math.Sqrt(Dot(a, a));

    private static double MaxAbs(T[] a)
    {
        double m = 0;
        foreach (var v in a) m = Math.Max(m, Math.Abs(double.CreateTruncating(v)));
        return m;
    }

    private static void Axpy(double a, T[] x, T[] y)
    {
        T t = T.CreateTruncating(a);
        for (int i = 0; i < y.Length; i++) y[i] += t * x[i];
    }
}

/// <summary>Checks shared by the optimizers' <c>LoadState</c>: every field is validated before anything changes.</summary>
internal static class OptimizerStates
{
    public static NDArray<T> Vector<T>(T[] values) where T : unmanaged, IFloatingPointIeee754<T> => new(new Shape(values.Length), (T[])values.Clone());

    public static void Check(OptimizerState state, string expected, Func<string, bool> allowedArrays, Func<string, bool> allowedScalars)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Name != expected)
            throw new ArgumentException($"{expected}: cannot restore the state of a '{state.Name}' optimizer into a '{expected}' optimizer.", nameof(state));
        if (state.Steps < 0)
            throw new ArgumentException($"{expected}: the state's step count is {state.Steps}; it must be ≥ 0.", nameof(state));
        foreach (var name in state.Arrays.Keys)
            if (!allowedArrays(name)) throw new ArgumentException($"{expected}: the state has an unknown array '{name}' (it would be dropped).", nameof(state));
        foreach (var (name, value) in state.Scalars)
        {
            if (!allowedScalars(name)) throw new ArgumentException($"{expected}: the state has an unknown scalar '{name}' (it would be dropped).", nameof(state));
            if (!double.IsFinite(value)) throw new ArgumentException($"{expected}: scalar '{name}' is {value}; it must be finite.", nameof(state));
        }
    }

    /// <summary>A scalar holding a count: absent means 0; otherwise an integer in [0, max].</summary>
    public static long Count(OptimizerState state, string name, long max)
    {
        if (!state.Scalars.TryGetValue(name, out var v)) return 0;
        if (v < 0 || v > max || v != Math.Floor(v))
            throw new ArgumentException($"{state.Name}: scalar '{name}' is {v}; it must be an integer in [0, {max}].", nameof(state));
        return (long)v;
    }

    /// <summary>A copy of a state array after checking its dtype, length and values.</summary>
    public static T[] Values<T>(OptimizerState state, string name, NDArray array, int parameterCount) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (array is not NDArray<T> typed)
            throw new ArgumentException($"{state.Name}: state array '{name}' is {array?.DType.Name() ?? "null"}; this optimizer trains in {DTypes.Of<T>().Name()}.", nameof(state));
        if (typed.Rank != 1 || typed.Size != parameterCount)
            throw new ArgumentException($"{state.Name}: state array '{name}' has shape {typed.Shape}; the model has {parameterCount} parameters.", nameof(state));
        int bad = Array.FindIndex(typed.Data, x => !T.IsFinite(x));
        if (bad >= 0) throw new ArgumentException($"{state.Name}: state array '{name}' is {typed.Data[bad]} at index {bad}; it must be finite.", nameof(state));
        return (T[])typed.Data.Clone();
    }
}
