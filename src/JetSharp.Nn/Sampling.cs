namespace JetSharp.Nn;

/// <summary>
/// A region of ℝᴰ from which collocation points are drawn: uniformly in the interior and uniformly
/// (by surface measure) on the boundary. Samples are [N, D] tensors and reproducible: they are pure
/// functions of (seed, N) built on <see cref="SeededRandom"/>, so the same seed gives the same points on
/// every machine, and a training loop draws fresh points by passing a different seed per step.
/// </summary>
public interface IDomain
{
    int Dimension { get; }

    /// <summary>N points uniform in the region.</summary>
    NDArray<T> Interior<T>(int count, long seed) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>N points uniform on the boundary (surface measure).</summary>
    NDArray<T> Boundary<T>(int count, long seed) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>True when the point lies in the closed region, up to <paramref name="tolerance"/>.</summary>
    bool Contains(ReadOnlySpan<double> point, double tolerance = 1e-12);

    /// <summary>True when the point lies on the boundary, up to <paramref name="tolerance"/>.</summary>
    bool OnBoundary(ReadOnlySpan<double> point, double tolerance = 1e-12);
}

/// <summary>
/// The box Π_j [lower_j, upper_j]. Streams of <see cref="SeededRandom"/> with the given seed:
/// interior point i, coordinate j uses uniform word i·D + j; boundary point i uses words i·(D+1) + j for
/// its coordinates and word i·(D+1) + D to pick the face (with probability proportional to its area).
/// </summary>
public sealed class Box : IDomain
{
    private readonly double[] _lower, _upper;

    public Box(double[] lower, double[] upper)
    {
        ArgumentNullException.ThrowIfNull(lower);
        ArgumentNullException.ThrowIfNull(upper);
        if (lower.Length == 0 || lower.Length != upper.Length)
            throw new ShapeException($"Box: lower corner has {lower.Length} coordinates and upper corner {upper.Length}; they must match and be at least 1.");
        for (int j = 0; j < lower.Length; j++)
            if (!(upper[j] > lower[j]) || !double.IsFinite(lower[j]) || !double.IsFinite(upper[j]))
                throw new ArgumentException($"Box: side {j} is [{lower[j]}, {upper[j]}]; every side needs finite lower < upper.");
        _lower = (double[])lower.Clone();
        _upper = (double[])upper.Clone();
    }

    /// <summary>[0, 1]ᴰ.</summary>
    public static Box UnitCube(int dimension) => Cube(dimension, 0, 1);

    /// <summary>[low, high]ᴰ.</summary>
    public static Box Cube(int dimension, double low, double high)
    {
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension), $"Box: the dimension must be positive, got {dimension}.");
        return new Box(Enumerable.Repeat(low, dimension).ToArray(), Enumerable.Repeat(high, dimension).ToArray());
    }

    public int Dimension => _lower.Length;
    public IReadOnlyList<double> Lower => _lower;
    public IReadOnlyList<double> Upper => _upper;

    public NDArray<T> Interior<T>(int count, long seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckCount(count, "Box.Interior");
        int d = Dimension;
        var t = new NDArray<T>(new Shape(count, d));
        for (int i = 0; i < count; i++)
            for (int j = 0; j < d; j++)
                t.Data[i * d + j] = T.CreateTruncating(_lower[j] + (_upper[j] - _lower[j]) * SeededRandom.Uniform(seed, (long)i * d + j));
        return t;
    }

    public NDArray<T> Boundary<T>(int count, long seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckCount(count, "Box.Boundary");
        int d = Dimension;
        // Face (axis a, either side) has area Π_{j≠a}(upper_j − lower_j); in 1-D both "faces" are points of equal weight.
        var area = new double[d];
        for (int a = 0; a < d; a++)
        {
            area[a] = 1;
            for (int j = 0; j < d; j++) if (j != a) area[a] *= _upper[j] - _lower[j];
        }
        double total = 2 * area.Sum();
        var t = new NDArray<T>(new Shape(count, d));
        for (int i = 0; i < count; i++)
        {
            long row = (long)i * (d + 1);
            double pick = SeededRandom.Uniform(seed, row + d) * total;
            int axis = 0;
            bool upper = false;
            for (int a = 0; a < d; a++)
            {
                if (pick < area[a]) { axis = a; upper = false; break; }
                pick -= area[a];
                if (pick < area[a] || a == d - 1) { axis = a; upper = true; break; }
                pick -= area[a];
            }
            for (int j = 0; j < d; j++)
            {
                double v = j == axis ? (upper ? _upper[j] : _lower[j]) : _lower[j] + (_upper[j] - _lower[j]) * SeededRandom.Uniform(seed, row + j);
                t.Data[i * d + j] = T.CreateTruncating(v);
            }
        }
        return t;
    }

    /// <summary>N points uniform on one face: coordinate <paramref name="axis"/> fixed at its lower or upper end (e.g. t = 0 for an initial condition).</summary>
    public NDArray<T> Face<T>(int count, int axis, bool upper, long seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (axis < 0 || axis >= Dimension) throw new ArgumentOutOfRangeException(nameof(axis), $"Box.Face: axis {axis} is outside 0..{Dimension - 1}.");
        var t = Interior<T>(count, seed);
        for (int i = 0; i < count; i++) t.Data[i * Dimension + axis] = T.CreateTruncating(upper ? _upper[axis] : _lower[axis]);
        return t;
    }

    public bool Contains(ReadOnlySpan<double> point, double tolerance = 1e-12)
    {
        CheckTolerance(tolerance, "Box");
        CheckPoint(point);
        for (int j = 0; j < Dimension; j++)
            if (point[j] < _lower[j] - tolerance || point[j] > _upper[j] + tolerance) return false;
        return true;
    }

    public bool OnBoundary(ReadOnlySpan<double> point, double tolerance = 1e-12)
    {
        if (!Contains(point, tolerance)) return false;
        for (int j = 0; j < Dimension; j++)
            if (Math.Abs(point[j] - _lower[j]) <= tolerance || Math.Abs(point[j] - _upper[j]) <= tolerance) return true;
        return false;
    }

    private void CheckPoint(ReadOnlySpan<double> point)
    {
        if (point.Length != Dimension) throw new ShapeException($"Box: a point with {point.Length} coordinates for a box in {Dimension} dimensions.");
    }

    /// <summary>Throws unless the tolerance is finite and ≥ 0 (a NaN tolerance would make every comparison false).</summary>
    internal static void CheckTolerance(double tolerance, string op)
    {
        if (!(tolerance >= 0) || double.IsInfinity(tolerance))
            throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, $"{op}: the tolerance must be finite and ≥ 0, got {tolerance}.");
    }

    internal static void CheckCount(int count, string op)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), $"{op}: the number of points must be positive, got {count}.");
    }

    public override string ToString() => $"box {string.Join(" × ", _lower.Select((l, j) => $"[{l:g4}, {_upper[j]:g4}]"))}";
}

/// <summary>
/// The closed ball ‖x − center‖ ≤ radius. Interior point i: direction from the standard normals
/// z_{ij} = <see cref="SeededRandom.Normal"/>(seed, i·D + j) (which use words 2(i·D + j) and 2(i·D + j) + 1),
/// radius r·u^{1/D} with u the uniform word 2·N·D + i; boundary points are the normalised directions.
/// </summary>
public sealed class Ball : IDomain
{
    private readonly double[] _center;

    public Ball(double[] center, double radius)
    {
        ArgumentNullException.ThrowIfNull(center);
        if (center.Length == 0) throw new ShapeException("Ball: the center needs at least one coordinate.");
        if (!(radius > 0) || !double.IsFinite(radius)) throw new ArgumentOutOfRangeException(nameof(radius), $"Ball: the radius must be positive and finite, got {radius}.");
        int bad = Array.FindIndex(center, c => !double.IsFinite(c));
        if (bad >= 0) throw new ArgumentException($"Ball: center coordinate {bad} is {center[bad]}; the center must be finite.", nameof(center));
        _center = (double[])center.Clone();
        Radius = radius;
    }

    /// <summary>The unit ball around the origin.</summary>
    public static Ball Unit(int dimension)
    {
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension), $"Ball: the dimension must be positive, got {dimension}.");
        return new Ball(new double[dimension], 1);
    }

    public int Dimension => _center.Length;
    public IReadOnlyList<double> Center => _center;
    public double Radius { get; }

    public NDArray<T> Interior<T>(int count, long seed) where T : unmanaged, IFloatingPointIeee754<T> => Sample<T>(count, seed, interior: true);

    public NDArray<T> Boundary<T>(int count, long seed) where T : unmanaged, IFloatingPointIeee754<T> => Sample<T>(count, seed, interior: false);

    private NDArray<T> Sample<T>(int count, long seed, bool interior) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Box.CheckCount(count, interior ? "Ball.Interior" : "Ball.Boundary");
        int d = Dimension;
        var t = new NDArray<T>(new Shape(count, d));
        var z = new double[d];
        for (int i = 0; i < count; i++)
        {
            double norm;
            long stream = (long)i * d;
            do
            {
                norm = 0;
                for (int j = 0; j < d; j++) { z[j] = SeededRandom.Normal(seed, stream + j); norm += z[j] * z[j]; }
                norm = Math.Sqrt(norm);
                // A zero vector has probability 0; moving to a far index keeps the draw a pure function of (seed, i).
                stream += (long)count * d * 4;
            } while (norm == 0);
            double r = Radius * (interior ? Math.Pow(SeededRandom.Uniform(seed, 2L * count * d + i), 1.0 / d) : 1);
            for (int j = 0; j < d; j++) t.Data[i * d + j] = T.CreateTruncating(_center[j] + r * z[j] / norm);
        }
        return t;
    }

    public bool Contains(ReadOnlySpan<double> point, double tolerance = 1e-12)
    {
        Box.CheckTolerance(tolerance, "Ball");
        return Distance(point) <= Radius + tolerance;
    }

    public bool OnBoundary(ReadOnlySpan<double> point, double tolerance = 1e-12)
    {
        Box.CheckTolerance(tolerance, "Ball");
        return Math.Abs(Distance(point) - Radius) <= tolerance;
    }

    private double Distance(ReadOnlySpan<double> point)
    {
        if (point.Length != Dimension) throw new ShapeException($"Ball: a point with {point.Length} coordinates for a ball in {Dimension} dimensions.");
        double s = 0;
        for (int j = 0; j < Dimension; j++) s += (point[j] - _center[j]) * (point[j] - _center[j]);
        return Math.Sqrt(s);
    }

    public override string ToString() => $"ball (radius {Radius:g4}, D = {Dimension})";
}
