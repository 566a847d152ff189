using JetSharp.Backend;
using JetSharp.Ir;
using JetSharp.Tensors;

namespace JetSharp.Primitives.LinearAlgebra;

/// <summary>
/// X = A⁻¹·B by LU with partial pivoting: A [..., n, n], B [..., n, k], batch axes broadcast NumPy-style.
/// Linear in B. Rules, from A·X = B: Taylor (any order) X_k = A₀⁻¹(B_k − Σ_(j=1..k) C(k, j)·A_j·X_(k−j)),
/// the matrix division recurrence (K solves against A₀); VJP B̄ = A⁻ᵀ·X̄, Ā = −B̄·Xᵀ. A singular A gives
/// infinities or NaN, not an exception.
/// </summary>
public sealed class SolveOp : Primitive
{
    /// <summary>The shared instance.</summary>
    public static readonly SolveOp Instance = new();
    /// <inheritdoc/>
    public override string Name => "solve";
    /// <inheritdoc/>
    public override Linearity LinearityIn(int input) => input == 1 ? Linearity.Linear : Linearity.Nonlinear;

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 2, Name);
        Shape a = inputs[0].Shape, b = inputs[1].Shape;
        if (a.Rank < 2 || b.Rank < 2)
            throw new ShapeException($"solve: the matrix and the right-hand side need rank ≥ 2, got {a} and {b}.");
        if (a[^1] != a[^2]) throw new ShapeException($"solve: the matrix must be square, got {a}.");
        if (b[^2] != a[^1]) throw new ShapeException($"solve: the right-hand side {b} has {b[^2]} rows; the matrix {a} needs {a[^1]}.");
        if (!Shape.TryBroadcast(new Shape(a.ToArray()[..^2]), new Shape(b.ToArray()[..^2]), out var batch))
            throw new ShapeException($"solve: the batch axes of {a} and {b} cannot be broadcast together.");
        return new Shape([.. batch, b[^2], b[^1]]);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) => LuKernels.Solve(inputs[0], inputs[1], output);

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        Node a = node.Inputs[0], b = node.Inputs[1];
        var bBar = Linalg.Solve(Linalg.MatrixTranspose(a), ct);
        var aBar = -Fn.MatMul(bBar, node, transposeB: true);
        return [Fn.SumToShape(aBar, a.Shape), Fn.SumToShape(bBar, b.Shape)];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        int rank = a.Output0.Rank;
        var a0 = a.Primals[0];
        var x = new Node?[a.Order + 1];
        Node? X(int k) => k == 0 ? a.Output0 : x[k];
        for (int k = 1; k <= a.Order; k++)
        {
            var terms = new List<Node?> { a.Lifted(1, k, rank) };
            for (int j = 1; j <= k; j++)
                if (a.Lifted(0, j, rank) is { } aj && X(k - j) is { } xk)
                    terms.Add(TaylorMath.Scale(-TaylorMath.Binomial(k, j), Fn.MatMul(aj, xk)));
            x[k] = TaylorMath.Sum(terms) is { } rhs ? Linalg.Solve(a0, rhs) : null;
        }
        return x;
    }
}

/// <summary>
/// The determinant of A [..., n, n] through an LU factorisation with partial pivoting: det A, its sign, or
/// ln |det A|; result [...]. Taylor rule for ln|det| (and det = sign·e^(ln|det|) through y′ = y·l′): with
/// B_j = A₀⁻¹A_j (LU solves; B₀ = I) and C = B⁻¹ (C₀ = I, C_k = −Σ_(i=1..k) C(k, i)·B_i·C_(k−i)),
/// l′ = tr(C·B′), so l_k = Σ_(j=0..k−1) C(k−1, j)·tr(C_j·B_(k−j)). Everything is relative to A₀, so it
/// stays accurate for nearly singular A₀ (the derivatives grow like 1/σ_min but keep their relative
/// accuracy); at an exactly singular A₀ the derivatives are not computed (infinite or NaN). The sign is
/// piecewise constant: zero derivatives. VJP: ∂ln|det A|/∂A = A⁻ᵀ, ∂det A/∂A = det A·A⁻ᵀ.
/// </summary>
public sealed class DeterminantOp(DeterminantPart part) : Primitive
{
    /// <summary>Which quantity the op returns.</summary>
    public DeterminantPart Part { get; } = part;
    /// <inheritdoc/>
    public override string Name => Part switch { DeterminantPart.Det => "det", DeterminantPart.Sign => "sign_det", _ => "logabsdet" };

    /// <inheritdoc/>
    /// <remarks>The part: without it det, sign and ln|det| of one matrix compare equal and common-subexpression elimination merges them.</remarks>
    public override string Attributes => Part.ToString();

    /// <inheritdoc/>
    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        var s = inputs[0].Shape;
        if (s.Rank < 2 || s[^1] != s[^2]) throw new ShapeException($"{Name}: expected square matrices [..., n, n], got {s}.");
        return new Shape(s.ToArray()[..^2]);
    }

    /// <inheritdoc/>
    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) =>
        LuKernels.Determinant(Part switch { DeterminantPart.Det => LuKernels.Part.Det, DeterminantPart.Sign => LuKernels.Part.Sign, _ => LuKernels.Part.LogAbs },
            inputs[0], output);

    /// <inheritdoc/>
    public override Node?[] Vjp(Node node, Node ct)
    {
        if (Part == DeterminantPart.Sign) return [null];
        var a = node.Inputs[0];
        var scale = Part == DeterminantPart.Det ? ct * node : ct;
        var inverseT = Linalg.MatrixTranspose(Linalg.Inverse(a));
        return [Fn.ExpandDims(scale, -1, -2) * inverseT];
    }

    /// <inheritdoc/>
    public override Node?[] Taylor(JetRuleArgs a)
    {
        if (Part == DeterminantPart.Sign) return new Node?[a.Order + 1];
        var l = LogAbsDetCoefficients(a);
        if (Part == DeterminantPart.LogAbs) return l;
        return TaylorMath.ExpRecurrence(a.Output0, k => l[k], a.Order);
    }

    /// <summary>l_1..l_K of ln|det A(t)| by the recurrence in the class summary.</summary>
    private static Node?[] LogAbsDetCoefficients(JetRuleArgs a)
    {
        int order = a.Order, rank = a.Primals[0].Rank;
        var a0 = a.Primals[0];
        var b = new Node?[order + 1];
        for (int j = 1; j <= order; j++)
            if (a.Lifted(0, j, rank) is { } aj) b[j] = Linalg.Solve(a0, aj);
        // C_k (k ≥ 1); C₀ = I is handled implicitly.
        var c = new Node?[order + 1];
        for (int k = 1; k < order; k++)
        {
            var terms = new List<Node?>();
            for (int i = 1; i <= k; i++)
            {
                if (b[i] is not { } bi) continue;
                var product = k - i == 0 ? bi : c[k - i] is { } ck ? Fn.MatMul(bi, ck) : null;
                if (product is not null) terms.Add(TaylorMath.Scale(-TaylorMath.Binomial(k, i), product));
            }
            c[k] = TaylorMath.Sum(terms);
        }
        var l = new Node?[order + 1];
        for (int k = 1; k <= order; k++)
        {
            var terms = new List<Node?>();
            for (int j = 0; j < k; j++)
            {
                if (b[k - j] is not { } bk) continue;
                var tr = j == 0 ? Linalg.Trace(bk) : c[j] is { } cj ? TraceOfProduct(cj, bk) : null;
                if (tr is not null) terms.Add(TaylorMath.Scale(TaylorMath.Binomial(k - 1, j), tr));
            }
            l[k] = TaylorMath.Sum(terms);
        }
        return l;
    }

    /// <summary>tr(M·N) over the last two axes without forming the product: Σ_ab M_ab·N_ba.</summary>
    private static Node TraceOfProduct(Node m, Node n) => Fn.Sum(m * Linalg.MatrixTranspose(n), [-2, -1]);
}

/// <summary>What a <see cref="DeterminantOp"/> returns.</summary>
public enum DeterminantPart
{
    /// <summary>det A.</summary>
    Det,
    /// <summary>sign det A ∈ {−1, 0, 1}.</summary>
    Sign,
    /// <summary>ln |det A|.</summary>
    LogAbs,
}
