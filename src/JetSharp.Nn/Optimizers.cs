namespace JetSharp.Nn;

/// <summary>
/// The objective an optimizer minimises: returns the loss at <paramref name="theta"/> and writes
/// ∂loss/∂θ into <paramref name="gradient"/> (same length). Parameters are one flat float64
/// vector (see <see cref="ParameterVector"/>); the optimizer arithmetic is float64 throughout.
/// </summary>
public delegate double Objective(double[] theta, double[] gradient);

/// <summary>
/// Everything an optimizer needs to continue where it stopped: its name (checked on restore), its
/// step counter (which drives learning-rate schedules), named arrays (moments, curvature pairs) and
/// named scalars. Saved in checkpoints by <see cref="Checkpoint"/>.
/// </summary>
public sealed record OptimizerState(string Name, long Steps, IReadOnlyDictionary<string, double[]> Arrays, IReadOnlyDictionary<string, double> Scalars);

/// <summary>A first- or quasi-second-order optimizer on a flat parameter vector, updated in place.</summary>
public interface IOptimizer
{
    string Name { get; }

    /// <summary>Steps taken so far (restored from a checkpoint with <see cref="LoadState"/>).</summary>
    long Steps { get; }

    /// <summary>True when the optimizer cannot make further progress (L-BFGS: gradient or loss change below tolerance, or a failed line search).</summary>
    bool Converged { get; }

    /// <summary>One step: updates <paramref name="theta"/> in place and returns the loss at the parameters the step started from.</summary>
    double Step(double[] theta, Objective objective);

    /// <summary>The objective changed (e.g. new collocation points): forget cached loss and gradient values.</summary>
    void ObjectiveChanged();

    OptimizerState SaveState();

    /// <summary>Restores a state saved by an optimizer of the same kind; throws naming both kinds otherwise.</summary>
    void LoadState(OptimizerState state);
}

/// <summary>
/// Adam (Kingma &amp; Ba 2015) with bias correction: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// θ ← θ − η_t·m̂/(√v̂ + ε) with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ) and η_t from a <see cref="LearningRate"/> schedule.
/// </summary>
public sealed class Adam : IOptimizer
{
    private double[]? _m, _v;

    public Adam(LearningRate learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), $"Adam: β₁ must lie in [0, 1), got {beta1}.");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), $"Adam: β₂ must lie in [0, 1), got {beta2}.");
        if (!(epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), $"Adam: ε must be positive, got {epsilon}.");
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

    public double Step(double[] theta, Objective objective)
    {
        ArgumentNullException.ThrowIfNull(theta);
        if (_m is null || _v is null) { _m = new double[theta.Length]; _v = new double[theta.Length]; }
        else if (_m.Length != theta.Length)
            throw new ShapeException($"Adam.Step: {theta.Length} parameters; the optimizer's moments were built for {_m.Length}.");
        var g = new double[theta.Length];
        double loss = objective(theta, g);
        double rate = LearningRate.At(Steps);
        Steps++;
        // Bias corrections folded into the step size (same result as correcting m and v separately).
        double c1 = 1 - Math.Pow(Beta1, Steps), c2 = 1 - Math.Pow(Beta2, Steps);
        for (int i = 0; i < theta.Length; i++)
        {
            _m[i] = Beta1 * _m[i] + (1 - Beta1) * g[i];
            _v[i] = Beta2 * _v[i] + (1 - Beta2) * g[i] * g[i];
            theta[i] -= rate * (_m[i] / c1) / (Math.Sqrt(_v[i] / c2) + Epsilon);
        }
        return loss;
    }

    public void ObjectiveChanged() { }

    public OptimizerState SaveState() => new(Name, Steps,
        _m is null ? new Dictionary<string, double[]>() : new Dictionary<string, double[]> { ["m"] = (double[])_m.Clone(), ["v"] = (double[])_v!.Clone() },
        new Dictionary<string, double>());

    public void LoadState(OptimizerState state)
    {
        OptimizerStates.CheckName(state, Name);
        Steps = state.Steps;
        if (state.Arrays.TryGetValue("m", out var m) && state.Arrays.TryGetValue("v", out var v))
        {
            if (m.Length != v.Length) throw new ArgumentException($"Adam.LoadState: moment arrays of different lengths ({m.Length} and {v.Length}).");
            _m = (double[])m.Clone();
            _v = (double[])v.Clone();
        }
        else { _m = null; _v = null; }
    }

    public override string ToString() => $"Adam ({LearningRate})";
}

/// <summary>
/// Limited-memory BFGS (Nocedal &amp; Wright, <i>Numerical Optimization</i>, alg. 7.4–7.5) with a
/// strong-Wolfe line search (alg. 3.5–3.6, cubic interpolation). One <see cref="Step"/> is one
/// quasi-Newton iteration (several objective evaluations in the line search). The objective must be
/// deterministic between <see cref="ObjectiveChanged"/> calls: resampled points break the curvature
/// pairs, so use it on a fixed set of points. Curvature pairs with sᵀy ≤ 1e-10·yᵀy are skipped (keeps
/// the inverse Hessian approximation positive definite).
/// </summary>
public sealed class Lbfgs : IOptimizer
{
    private readonly List<double[]> _s = [], _y = [];
    private double[]? _g;     // gradient at the current point (cached from the last line search)
    private double _f;
    private double[]? _x;     // the point _f and _g belong to

    public Lbfgs(int memory = 20, double gradientTolerance = 1e-10, double functionTolerance = 1e-13, int maxLineSearchEvaluations = 25,
        double c1 = 1e-4, double c2 = 0.9)
    {
        if (memory <= 0) throw new ArgumentOutOfRangeException(nameof(memory), $"Lbfgs: memory must be positive, got {memory}.");
        if (!(c1 > 0 && c1 < c2 && c2 < 1)) throw new ArgumentOutOfRangeException(nameof(c2), $"Lbfgs: Wolfe constants need 0 < c₁ < c₂ < 1, got c₁ = {c1}, c₂ = {c2}.");
        if (maxLineSearchEvaluations < 2) throw new ArgumentOutOfRangeException(nameof(maxLineSearchEvaluations), $"Lbfgs: the line search needs at least 2 evaluations, got {maxLineSearchEvaluations}.");
        Memory = memory;
        GradientTolerance = gradientTolerance;
        FunctionTolerance = functionTolerance;
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

    public double Step(double[] theta, Objective objective)
    {
        ArgumentNullException.ThrowIfNull(theta);
        int n = theta.Length;
        if (_s.Count > 0 && _s[0].Length != n)
            throw new ShapeException($"Lbfgs.Step: {n} parameters; the curvature history was built for {_s[0].Length}.");
        if (_g is null || _x is null || _x.Length != n || !_x.AsSpan().SequenceEqual(theta))
        {
            _g = new double[n];
            _f = Evaluate(objective, theta, _g);
            _x = (double[])theta.Clone();
        }
        double f0 = _f;
        if (Converged) return f0;
        Steps++;
        if (MaxAbs(_g) <= GradientTolerance) { Stop("gradient below tolerance"); return f0; }

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
        if (accepted is not { } a) { Stop("line search found no decrease"); return f0; }

        var s = new double[n];
        var y = new double[n];
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
        _x = (double[])theta.Clone();
        _g = a.G;
        _f = a.F;
        if (Math.Abs(f0 - a.F) <= FunctionTolerance * Math.Max(1, Math.Max(Math.Abs(f0), Math.Abs(a.F)))) Stop("loss change below tolerance");
        return f0;
    }

    private void Stop(string reason)
    {
        Converged = true;
        StopReason = reason;
    }

    /// <summary>−H·g by the two-loop recursion, H₀ = γI with γ = sᵀy/yᵀy of the newest pair (steepest descent without pairs).</summary>
    private double[] Direction(double[] g)
    {
        int k = _s.Count;
        var q = (double[])g.Clone();
        var alpha = new double[k];
        var rho = new double[k];
        for (int i = k - 1; i >= 0; i--)
        {
            rho[i] = 1 / Dot(_y[i], _s[i]);
            alpha[i] = rho[i] * Dot(_s[i], q);
            Axpy(-alpha[i], _y[i], q);
        }
        double gamma = k == 0 ? 1 : Dot(_s[k - 1], _y[k - 1]) / Dot(_y[k - 1], _y[k - 1]);
        for (int i = 0; i < q.Length; i++) q[i] *= gamma;
        for (int i = 0; i < k; i++)
        {
            double beta = rho[i] * Dot(_y[i], q);
            Axpy(alpha[i] - beta, _s[i], q);
        }
        for (int i = 0; i < q.Length; i++) q[i] = -q[i];
        return q;
    }

    private readonly record struct Trial(double Alpha, double F, double Slope, double[] X, double[] G);

    /// <summary>Strong Wolfe: f(α) ≤ f₀ + c₁αf′₀ and |f′(α)| ≤ c₂|f′₀|. Null when no acceptable point is found.</summary>
    private Trial? LineSearch(Objective objective, double[] x0, double f0, double[] g0, double[] d, double slope0, double alphaInit)
    {
        int evaluations = 0;
        Trial Probe(double alpha)
        {
            evaluations++;
            var x = new double[x0.Length];
            for (int i = 0; i < x.Length; i++) x[i] = x0[i] + alpha * d[i];
            var g = new double[x0.Length];
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

    private double Evaluate(Objective objective, double[] x, double[] g)
    {
        Evaluations++;
        return objective(x, g);
    }

    public OptimizerState SaveState()
    {
        var arrays = new Dictionary<string, double[]>();
        for (int i = 0; i < _s.Count; i++)
        {
            arrays[$"s{i}"] = (double[])_s[i].Clone();
            arrays[$"y{i}"] = (double[])_y[i].Clone();
        }
        return new(Name, Steps, arrays, new Dictionary<string, double> { ["pairs"] = _s.Count, ["evaluations"] = Evaluations });
    }

    public void LoadState(OptimizerState state)
    {
        OptimizerStates.CheckName(state, Name);
        int pairs = state.Scalars.TryGetValue("pairs", out var p) ? (int)p : 0;
        _s.Clear();
        _y.Clear();
        for (int i = 0; i < pairs; i++)
        {
            if (!state.Arrays.TryGetValue($"s{i}", out var s) || !state.Arrays.TryGetValue($"y{i}", out var y))
                throw new ArgumentException($"Lbfgs.LoadState: the state lists {pairs} curvature pairs but pair {i} is missing.");
            _s.Add((double[])s.Clone());
            _y.Add((double[])y.Clone());
        }
        while (_s.Count > Memory) { _s.RemoveAt(0); _y.RemoveAt(0); }
        Steps = state.Steps;
        Evaluations = state.Scalars.TryGetValue("evaluations", out var e) ? (long)e : 0;
        ObjectiveChanged();
    }

    public override string ToString() => $"L-BFGS (memory {Memory})";

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    private static double Norm(double[] a) => Math.Sqrt(Dot(a, a));

    private static double MaxAbs(double[] a)
    {
        double m = 0;
        foreach (var v in a) m = Math.Max(m, Math.Abs(v));
        return m;
    }

    private static void Axpy(double a, double[] x, double[] y)
    {
        for (int i = 0; i < y.Length; i++) y[i] += a * x[i];
    }
}

internal static class OptimizerStates
{
    public static void CheckName(OptimizerState state, string expected)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Name != expected)
            throw new ArgumentException($"{expected}: cannot restore the state of a '{state.Name}' optimizer into a '{expected}' optimizer.");
    }
}
