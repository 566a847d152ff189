using JetSharp.Tensors;
using JetSharp.Ir;
using JetSharp.Primitives;
using JetSharp.Transforms;

namespace JetSharp.Control;

/// <summary>How the derivative of a fixed point x* = F(x*, θ) with respect to θ is computed.</summary>
public enum FixedPointMode
{
    /// <summary>Differentiate through every iteration (memory grows with the iteration count in reverse mode).</summary>
    Unrolled,
    /// <summary>Implicit function theorem: dx* = (I − ∂ₓF)⁻¹ ∂_θF dθ, solved matrix-free with JVPs/VJPs of F.</summary>
    Implicit,
    /// <summary>Only the last application of F is differentiated (Jacobian-free backpropagation).</summary>
    OneStep,
}

/// <summary>Raised when a fixed-point iteration (or the linear solve of its implicit derivative) does not converge.</summary>
public sealed class FixedPointException(string message) : InvalidOperationException(message);

/// <summary>
/// The settings and compiled pieces shared by the ops of one fixed-point problem: F as a graph with
/// inputs (x, θ) and output x, a tolerance on max|x_k − x_{k−1}|, and an iteration limit.
/// </summary>
public sealed class FixedPointProblem
{
    private static int _next;
    private readonly Dictionary<string, Graph> _graphs = [];

    internal FixedPointProblem(Graph f, double tolerance, int maxIterations, bool requireConvergence)
    {
        F = f;
        Tolerance = tolerance;
        MaxIterations = maxIterations;
        RequireConvergence = requireConvergence;
        Id = Interlocked.Increment(ref _next);
    }

    /// <summary>F as a graph with inputs (x, θ) and one output of x's shape.</summary>
    public Graph F { get; }
    /// <summary>Convergence threshold on max|x_k − x_(k−1)|; also the relative residual target of the implicit linear solves (at least 1e-14).</summary>
    public double Tolerance { get; }
    /// <summary>The most applications of F a primal solve makes.</summary>
    public int MaxIterations { get; }
    /// <summary>When true, a primal solve that reaches the iteration limit unconverged throws <see cref="FixedPointException"/>.</summary>
    public bool RequireConvergence { get; }
    internal int Id { get; }

    /// <summary>Iterations of the most recent primal solve (0 before any run).</summary>
    public int LastIterations { get; internal set; }
    /// <summary>
    /// Residual of the most recent primal solve: max|F(x, θ) − x| of the returned x when convergence is required
    /// (checked by one more application of F), else the last step max|x_k − x_(k−1)|.
    /// </summary>
    public double LastResidual { get; internal set; }

    /// <summary>Derived graphs are built once per problem (and compiled once by the runtime's runner).</summary>
    private Graph Derived(string key, Func<Graph> build)
    {
        lock (_graphs)
        {
            if (!_graphs.TryGetValue(key, out var g)) _graphs[key] = g = build();
            return g;
        }
    }

    /// <summary>(x, θ, x̄) → (∂ₓF(x, θ)ᵀx̄, ∂_θF(x, θ)ᵀx̄).</summary>
    internal Graph Adjoint => Derived("vjp", () =>
    {
        var g = new Graph(F.DType);
        var x = g.Input(F.Inputs[0].Shape, "x");
        var theta = g.Input(F.Inputs[1].Shape, "theta");
        var c = g.Input(F.Outputs[0].Shape, "ct");
        var (_, cts) = Vjp.Apply(F, [x, theta], [c]);
        g.SetOutputs(cts[0] ?? Fn.Zeros(g, x.Shape), cts[1] ?? Fn.Zeros(g, theta.Shape));
        return g;
    });

    /// <summary>(x, θ, ẋ, θ̇) → (F, ∂ₓF ẋ + ∂_θF θ̇) with tangents carrying the direction prefix.</summary>
    internal Graph Tangent(Shape prefix) => Derived("jvp" + prefix, () => Jvp.Transform(F, prefix));

    /// <summary>
    /// Iterates x ← F(x, θ) from x₀ until a step is within the tolerance; returns x and records iterations and
    /// residual. When convergence is required, x is then checked by one more application of F: max|F(x, θ) − x|
    /// must be within the tolerance too (it is the residual recorded), else <see cref="FixedPointException"/>.
    /// With <paramref name="maxIterations"/> = 0 only that check is made, on x₀.
    /// </summary>
    internal NDArray<T> Solve<T>(RunContext context, NDArray<T> x0, NDArray<T> theta, int maxIterations, Action<NDArray<T>>? visit = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = x0;
        double step = double.PositiveInfinity;
        int k = 0;
        while (k < maxIterations)
        {
            visit?.Invoke(x);
            context.Cancellation.ThrowIfCancellationRequested();
            var next = context.Run(F, x, theta)[0];
            step = MaxAbsDifference(next, x);
            x = next;
            k++;
            if (step <= Tolerance) break;
        }
        LastIterations = k;
        if (!RequireConvergence)
        {
            LastResidual = maxIterations == 0 ? 0 : step;
            return x;
        }
        if (k > 0 && !(step <= Tolerance))
        {
            LastResidual = step;
            throw new FixedPointException($"FixedPoint: did not converge in {k} iterations: max|x_k − x_(k−1)| = {step:G4} > tolerance {Tolerance:G4} (x of shape {x0.Shape}).");
        }
        // A small step does not make a fixed point when F does not contract (x ← 2x + θ moves little near x = −θ
        // only): check what is returned.
        double residual = MaxAbsDifference(context.Run(F, x, theta)[0], x);
        LastResidual = residual;
        if (!(residual <= Tolerance))
            throw new FixedPointException($"FixedPoint: the result after {k} iterations is not a fixed point: max|F(x, θ) − x| = {residual:G4} > tolerance {Tolerance:G4}" +
                (k > 0 ? $" although the last step was {step:G4}; F does not contract near x" : "") + $" (x of shape {x0.Shape}).");
        return x;
    }

    /// <summary>
    /// Solves (I − A) y = b for a linear map A given by JVPs or VJPs of F, matrix-free, by BiCGSTAB
    /// (A need not be symmetric, and a slowly contracting F — where the Neumann series y ← b + Ay would
    /// need thousands of steps — converges in a few). Stops at ‖r‖ ≤ max(tolerance, 1e-14)·‖b‖.
    /// </summary>
    internal NDArray<T> SolveLinear<T>(NDArray<T> b, Func<NDArray<T>, NDArray<T>> apply, string what) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = b.Size;
        double[] Op(double[] v)
        {
            var t = new NDArray<T>(b.Shape);
            for (int i = 0; i < n; i++) t.Data[i] = T.CreateTruncating(v[i]);
            var av = apply(t);
            var r = new double[n];
            for (int i = 0; i < n; i++) r[i] = v[i] - double.CreateTruncating(av.Data[i]);
            return r;
        }
        static double Dot(double[] a, double[] c) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * c[i]; return s; }

        var rhs = b.Data.Select(v => double.CreateTruncating(v)).ToArray();
        double bNorm = Math.Sqrt(Dot(rhs, rhs));
        var y = new double[n];
        var result = new NDArray<T>(b.Shape);
        if (bNorm == 0) return result;
        double tol = Math.Max(Tolerance, 1e-14) * bNorm;
        var r0 = (double[])rhs.Clone();
        var res = (double[])rhs.Clone();
        var p = new double[n];
        var v = new double[n];
        double rho = 1, alpha = 1, omega = 1;
        int limit = Math.Max(2 * n, 200);
        for (int k = 0; k < limit; k++)
        {
            double rhoNext = Dot(r0, res);
            if (rhoNext == 0) break;
            double beta = rhoNext / rho * (alpha / omega);
            for (int i = 0; i < n; i++) p[i] = res[i] + beta * (p[i] - omega * v[i]);
            v = Op(p);
            alpha = rhoNext / Dot(r0, v);
            var s = new double[n];
            for (int i = 0; i < n; i++) s[i] = res[i] - alpha * v[i];
            if (Math.Sqrt(Dot(s, s)) <= tol)
            {
                for (int i = 0; i < n; i++) y[i] += alpha * p[i];
                return ToTensor(y, result);
            }
            var t = Op(s);
            omega = Dot(t, s) / Dot(t, t);
            for (int i = 0; i < n; i++)
            {
                y[i] += alpha * p[i] + omega * s[i];
                res[i] = s[i] - omega * t[i];
            }
            rho = rhoNext;
            if (Math.Sqrt(Dot(res, res)) <= tol) return ToTensor(y, result);
        }
        throw new FixedPointException($"FixedPoint ({what}): the linear solve (I − ∂ₓF)·y = b of the implicit derivative did not converge; I − ∂ₓF may be singular at the fixed point (x of shape {b.Shape}).");
    }

    private static NDArray<T> ToTensor<T>(double[] y, NDArray<T> into) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < y.Length; i++) into.Data[i] = T.CreateTruncating(y[i]);
        return into;
    }

    internal static double MaxAbsDifference<T>(NDArray<T> a, NDArray<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double m = 0;
        for (int i = 0; i < a.Size; i++) m = Math.Max(m, Math.Abs(double.CreateTruncating(a.Data[i] - b.Data[i])));
        return m;
    }
}

/// <summary>Base of the fixed-point ops: attributes identify the problem, so CSE never merges two problems.</summary>
internal abstract class FixedPointOpBase(FixedPointProblem problem) : Primitive
{
    public FixedPointProblem Problem { get; } = problem;
    public override string Attributes => $"#{Problem.Id}";

    /// <summary>Inputs (x, θ, θ̇): the tangent of x carries θ̇'s direction axes.</summary>
    protected Shape TangentShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 3, Name);
        int lead = inputs[2].Rank - inputs[1].Rank;
        return new Shape([.. inputs[2].Shape.Take(lead), .. inputs[0].Shape]);
    }
}

/// <summary>
/// x* = F(x*, θ) by iteration from x₀ (inputs x₀, θ). Its derivative with respect to θ follows
/// <see cref="Mode"/>; x₀ is treated as a constant. In one-step mode this op is not differentiated at
/// all: the graph applies F once more to its result, and only that application carries derivatives.
/// </summary>
internal sealed class FixedPointOp(FixedPointProblem problem, FixedPointMode mode, int iterations) : FixedPointOpBase(problem)
{
    public FixedPointMode Mode { get; } = mode;
    public int Iterations { get; } = iterations;
    public override string Name => "fixed_point";
    public override string Attributes => $"{base.Attributes}, {Mode}, ≤{Iterations} it";

    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 2, Name);
        if (inputs[0].Shape != Problem.F.Inputs[0].Shape || inputs[1].Shape != Problem.F.Inputs[1].Shape)
            throw new ShapeException($"fixed_point: x₀ {inputs[0].Shape} and θ {inputs[1].Shape} do not match F's inputs {Problem.F.Inputs[0].Shape}, {Problem.F.Inputs[1].Shape}.");
        return inputs[0].Shape;
    }

    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) =>
        Problem.Solve(context, inputs[0], inputs[1], Iterations).Data.CopyTo(output.Data, 0);

    public override Node?[] Vjp(Node node, Node ct)
    {
        var theta = node.Inputs[1];
        switch (Mode)
        {
            case FixedPointMode.Implicit:
                var w = node.Graph.Apply(new ImplicitAdjointOp(Problem), node, theta, ct);
                var (_, cts) = Transforms.Vjp.Apply(Problem.F, [node, theta], [w], [false, true]);
                return [null, cts[1]];
            case FixedPointMode.Unrolled:
                return [null, node.Graph.Apply(new UnrolledAdjointOp(Problem, Iterations), node.Inputs[0], theta, ct)];
            case FixedPointMode.OneStep:
                return [null, null];   // the graph's last application of F carries the derivative
            default:
                throw new InvalidOperationException($"fixed_point: unknown mode {(int)Mode}.");
        }
    }

    public override Node?[] Taylor(JetRuleArgs a)
    {
        var y = new Node?[a.Order + 1];
        if (Mode == FixedPointMode.OneStep || a.X(1, 1) is not { } thetaDot) return y;
        if (a.Order > 1)
            throw new NotSupportedException($"fixed_point: Taylor mode of order {a.Order} is not supported (first order only: JVP).");
        y[1] = Mode switch
        {
            FixedPointMode.Implicit => a.Graph.Apply(new ImplicitTangentOp(Problem), a.Output0, a.Primals[1], thetaDot),
            FixedPointMode.Unrolled => a.Graph.Apply(new UnrolledTangentOp(Problem, Iterations), a.Primals[0], a.Primals[1], thetaDot),
            _ => throw new InvalidOperationException($"fixed_point: unknown mode {(int)Mode}."),
        };
        return y;
    }
}

/// <summary>w solving (I − ∂ₓF)ᵀ w = x̄ at the fixed point (inputs x*, θ, x̄), matrix-free with VJPs of F.</summary>
internal sealed class ImplicitAdjointOp(FixedPointProblem problem) : FixedPointOpBase(problem)
{
    public override string Name => "fixed_point_adjoint";
    public override Shape InferShape(IReadOnlyList<Node> inputs) { Arity(inputs, 3, Name); return inputs[2].Shape; }

    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var (x, theta, ct) = (inputs[0], inputs[1], inputs[2]);
        var w = Problem.SolveLinear(ct, v => context.Run(Problem.Adjoint, x, theta, v)[0], "adjoint");
        w.Data.CopyTo(output.Data, 0);
    }
}

/// <summary>ẋ solving (I − ∂ₓF) ẋ = ∂_θF θ̇ at the fixed point (inputs x*, θ, θ̇ with direction axes), matrix-free with JVPs of F.</summary>
internal sealed class ImplicitTangentOp(FixedPointProblem problem) : FixedPointOpBase(problem)
{
    public override string Name => "fixed_point_tangent";

    public override Shape InferShape(IReadOnlyList<Node> inputs) => TangentShape(inputs);

    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var (x, theta, thetaDot) = (inputs[0], inputs[1], inputs[2]);
        var prefix = new Shape([.. thetaDot.Shape.Take(thetaDot.Rank - theta.Rank)]);
        var jvp = Problem.Tangent(prefix);
        var zeroTheta = new NDArray<T>(thetaDot.Shape);
        var b = context.Run(jvp, x, theta, new NDArray<T>(output.Shape), thetaDot)[1];
        var xDot = Problem.SolveLinear(b, v => context.Run(jvp, x, theta, v, zeroTheta)[1], "tangent");
        xDot.Data.CopyTo(output.Data, 0);
    }
}

/// <summary>
/// Reverse mode through the unrolled iteration (inputs x₀, θ, x̄ → θ̄): the iteration is replayed
/// storing every iterate (memory proportional to the iteration count, reported to the run's
/// <see cref="RunContext.Meter"/>), then x̄ is pulled back step by step and θ̄ accumulated.
/// </summary>
internal sealed class UnrolledAdjointOp(FixedPointProblem problem, int iterations) : FixedPointOpBase(problem)
{
    public override string Name => "fixed_point_unrolled_vjp";
    public override Shape InferShape(IReadOnlyList<Node> inputs) { Arity(inputs, 3, Name); return inputs[1].Shape; }

    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var (x0, theta, ct) = (inputs[0], inputs[1], inputs[2]);
        var iterates = new List<NDArray<T>>();
        long stored = 0;
        var meter = context.Meter;
        Problem.Solve(context, x0, theta, iterations, x =>
        {
            iterates.Add(x);
            stored += x.Bytes;
            meter.Allocate(x.Bytes);
        });
        var xBar = ct;
        var thetaBar = new NDArray<T>(theta.Shape);
        for (int k = iterates.Count - 1; k >= 0; k--)
        {
            var pulled = context.Run(Problem.Adjoint, iterates[k], theta, xBar);
            xBar = pulled[0];
            for (int i = 0; i < thetaBar.Size; i++) thetaBar.Data[i] += pulled[1].Data[i];
        }
        meter.Release(stored);
        thetaBar.Data.CopyTo(output.Data, 0);
    }
}

/// <summary>Forward mode through the unrolled iteration (inputs x₀, θ, θ̇ → ẋ): ẋ_k = ∂ₓF ẋ_(k−1) + ∂_θF θ̇ alongside x_k.</summary>
internal sealed class UnrolledTangentOp(FixedPointProblem problem, int iterations) : FixedPointOpBase(problem)
{
    public override string Name => "fixed_point_unrolled_jvp";

    public override Shape InferShape(IReadOnlyList<Node> inputs) => TangentShape(inputs);

    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var (x0, theta, thetaDot) = (inputs[0], inputs[1], inputs[2]);
        var prefix = new Shape([.. thetaDot.Shape.Take(thetaDot.Rank - theta.Rank)]);
        var jvp = Problem.Tangent(prefix);
        var xDot = new NDArray<T>(output.Shape);
        Problem.Solve(context, x0, theta, iterations, x => xDot = context.Run(jvp, x, theta, xDot, thetaDot)[1]);
        xDot.Data.CopyTo(output.Data, 0);
    }
}
