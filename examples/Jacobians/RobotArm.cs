namespace JetSharp.Examples.Jacobians;

/// <summary>
/// Forward kinematics of a 6-DOF serial robot arm, ℝ⁶ → ℝ⁷: joint angles θ₁..θ₆ to the end-effector
/// position (x, y, z) and orientation as a unit quaternion (w, q_x, q_y, q_z).
/// <para>Kinematics: standard Denavit–Hartenberg convention (J. Denavit and R. S. Hartenberg, 1955; e.g.
/// Spong, Hutchinson and Vidyasagar, "Robot Modeling and Control", ch. 3): link i contributes
/// A_i = Rot_z(θ_i) · Trans_z(d_i) · Trans_x(a_i) · Rot_x(α_i), and T = A₁ ⋯ A₆ (evaluated from the right). The parameters are those of
/// the PUMA 560 as published with P. Corke's Robotics Toolbox (metres; α in multiples of π/2, so cos α and
/// sin α are exactly 0 or ±1 and folded away at trace time, see <see cref="Term"/>).</para>
/// <para>Orientation: the quaternion from the rotation part R of T by w = ½√(1 + tr R),
/// q = (R₃₂ − R₂₃, R₁₃ − R₃₁, R₂₁ − R₁₂)/(4w), smooth where tr R &gt; −1 (rotation angle below π). We use
/// it instead of Euler angles because the IR has no atan2; the sampler draws θ_i ∈ [−0.6, 0.6], where the
/// total rotation stays far from π.</para>
/// </summary>
public static class RobotArm
{
    /// <summary>PUMA 560, standard DH: (a_i, d_i, cos α_i, sin α_i).</summary>
    private static readonly (double A, double D, double CosAlpha, double SinAlpha)[] Links =
    [
        (0, 0, 0, 1),            // α₁ = π/2
        (0.4318, 0, 1, 0),       // α₂ = 0
        (0.0203, 0.15005, 0, -1),// α₃ = −π/2
        (0, 0.4318, 0, 1),       // α₄ = π/2
        (0, 0, 0, -1),           // α₅ = −π/2
        (0, 0, 1, 0),            // α₆ = 0
    ];

    public static BenchmarkFunction Benchmark { get; } = new("robot", "6-DOF robot arm (PUMA 560 kinematics)", 6, 7, Kinematics, SamplePoints,
        "Denavit–Hartenberg forward kinematics; PUMA 560 parameters of Corke's Robotics Toolbox");

    public static Node[] Kinematics(Node[] theta)
    {
        if (theta.Length != 6) throw new ArgumentException($"robot arm: expects 6 joint angles, got {theta.Length}.");
        // T = A₁(A₂(A₃(A₄(A₅A₆)))): composed from the tool end, where the wrist links have zero translations
        // and sparse rotations that the folding keeps, the trace needs fewer operations (114 intermediate
        // vertices against 125 for ((A₁A₂)A₃)…; docs/jacobians.md gives the counts of both).
        // The link matrices (cos θ_i, sin θ_i) are built first, in joint order, as the textbooks write c_i, s_i.
        var links = Enumerable.Range(0, 6).Select(i => LinkTransform(theta[i], Links[i])).ToArray();
        var t = links[5];
        for (int i = 4; i >= 0; i--) t = Compose(links[i], t);

        var like = theta[0];
        var r = t;
        var w = Fn.Sqrt((Term.Constant(1) + r[0, 0] + r[1, 1] + r[2, 2]).ToNode(like)) * 0.5;
        var inv4w = 0.25 / w;
        return
        [
            r[0, 3].ToNode(like),
            r[1, 3].ToNode(like),
            r[2, 3].ToNode(like),
            w,
            (r[2, 1] - r[1, 2]).ToNode(like) * inv4w,
            (r[0, 2] - r[2, 0]).ToNode(like) * inv4w,
            (r[1, 0] - r[0, 1]).ToNode(like) * inv4w,
        ];
    }

    /// <summary>The top three rows of A = Rot_z(θ)·Trans_z(d)·Trans_x(a)·Rot_x(α).</summary>
    private static Term[,] LinkTransform(Node theta, (double A, double D, double CosAlpha, double SinAlpha) link)
    {
        Term c = Fn.Cos(theta), s = Fn.Sin(theta);
        Term ca = Term.Constant(link.CosAlpha), sa = Term.Constant(link.SinAlpha);
        Term a = Term.Constant(link.A), d = Term.Constant(link.D), zero = Term.Constant(0);
        return new Term[,]
        {
            { c, -(s * ca), s * sa, a * c },
            { s, c * ca, -(c * sa), a * s },
            { zero, sa, ca, d },
        };
    }

    /// <summary>[R₁ p₁] · [R₂ p₂] = [R₁R₂, R₁p₂ + p₁] for homogeneous transforms stored as 3 × 4.</summary>
    private static Term[,] Compose(Term[,] x, Term[,] y)
    {
        var r = new Term[3, 4];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
            {
                var sum = j == 3 ? x[i, 3] : Term.Constant(0);
                for (int k = 0; k < 3; k++) sum += x[i, k] * y[k, j];
                r[i, j] = sum;
            }
        return r;
    }

    /// <summary>Joint angles uniform on [−0.6, 0.6] rad.</summary>
    public static NDArray<double> SamplePoints(int points, long seed) =>
        BenchmarkFunction.Uniform(points, seed, [.. Enumerable.Repeat((-0.6, 0.6), 6)]);
}
