using System.Numerics;
using JetSharp.Backend;

namespace JetSharp.Tests;

/// <summary>
/// The CPU kernels against index-by-index reference implementations computed in double. Sizes
/// marked "parallel" take the multi-threaded paths (see <see cref="ForBoth"/>).
/// </summary>
public class KernelTests
{
    // ------------------------------------------------------------------ reference helpers

    private static double[] D<T>(NDArray<T> t) where T : unmanaged, IFloatingPointIeee754<T> =>
        t.Data.Select(v => double.CreateTruncating(v)).ToArray();

    private static NDArray<T> Rand<T>(int[] shape, long seed, double scale = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = NDArray.RandomNormal<T>(new Shape(shape), seed);
        if (scale != 1)
            for (int i = 0; i < t.Size; i++) t.Data[i] = T.CreateTruncating(double.CreateTruncating(t.Data[i]) * scale);
        return t;
    }

    /// <summary>A result tensor full of NaN, so a kernel that leaves anything unwritten is caught.</summary>
    private static NDArray<T> Garbage<T>(int[] shape) where T : unmanaged, IFloatingPointIeee754<T> =>
        NDArray.Full(new Shape(shape), T.NaN);

    private static int[] Unravel(long flat, int[] dims)
    {
        var idx = new int[dims.Length];
        for (int k = dims.Length - 1; k >= 0; k--)
        {
            idx[k] = (int)(flat % dims[k]);
            flat /= dims[k];
        }
        return idx;
    }

    private static long Ravel(int[] idx, int[] dims)
    {
        long f = 0;
        for (int k = 0; k < dims.Length; k++) f = f * dims[k] + idx[k];
        return f;
    }

    private static long Size(int[] dims)
    {
        long n = 1;
        foreach (var d in dims) n *= d;
        return n;
    }

    /// <summary>Flat index into a (right-aligned, broadcast) operand for an index of the output.</summary>
    private static long BroadcastIndex(int[] outIdx, int[] dims)
    {
        int off = outIdx.Length - dims.Length;
        long f = 0;
        for (int k = 0; k < dims.Length; k++) f = f * dims[k] + (dims[k] == 1 ? 0 : outIdx[k + off]);
        return f;
    }

    private static int[] BroadcastShape(int[] a, int[] b)
    {
        int r = Math.Max(a.Length, b.Length);
        var o = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i < r - a.Length ? 1 : a[i - (r - a.Length)];
            int db = i < r - b.Length ? 1 : b[i - (r - b.Length)];
            o[i] = da == 1 ? db : da;
        }
        return o;
    }

    private static double RefBinary(BinaryOp op, double a, double b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary>log1p accurate for small u (Math has no Log1P; double.LogP1 is log(1 + u)): Goldberg's u·log(w)/(w - 1), w = 1 + u.</summary>
    private static double Log1P(double u)
    {
        double w = 1 + u;
        return w == 1 ? u : Math.Log(w) * u / (w - 1);
    }

    private static double RefUnary(UnaryOp op, double x) => op switch
    {
        UnaryOp.Neg => -x,
        UnaryOp.Exp => Math.Exp(x),
        UnaryOp.Log => Math.Log(x),
        UnaryOp.Sin => Math.Sin(x),
        UnaryOp.Cos => Math.Cos(x),
        UnaryOp.Tanh => Math.Tanh(x),
        UnaryOp.Sigmoid => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x)),
        UnaryOp.Sqrt => Math.Sqrt(x),
        UnaryOp.Softplus => Math.Max(x, 0) + Log1P(Math.Exp(-Math.Abs(x))),
        UnaryOp.Relu => x > 0 ? x : 0,
        UnaryOp.Step => x > 0 ? 1 : 0,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    private static bool IsFloat<T>() => typeof(T) == typeof(float);

    /// <summary>Rounds a double reference to T, so that exactly rounded kernels can be compared exactly.</summary>
    private static double Round<T>(double v) where T : unmanaged, IFloatingPointIeee754<T> =>
        double.CreateTruncating(T.CreateTruncating(v));

    private static void AssertClose(double[] expected, double[] actual, double rtol, double atol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            if (e == a) continue;
            double err = Math.Abs(e - a);
            if (!(err <= rtol * Math.Abs(e) + atol))
                Assert.Fail($"{what}: element {i}: expected {e:R}, got {a:R} (error {err:G3}).");
        }
    }

    private static void AssertExact(double[] expected, double[] actual, string what) => AssertClose(expected, actual, 0, 0, what);

    /// <summary>
    /// Runs the float or the double variant with the parallelism thresholds lowered 32× on this
    /// thread, so the sizes marked "parallel" (≥ 32K elements; ≥ 1K for transcendentals and
    /// transposes) take the multi-threaded and split-reduction paths while staying small enough
    /// for naive reference loops.
    /// </summary>
    private static void ForBoth(Type t, Action f32, Action f64)
    {
        using var _ = Parallelism.ScaleThresholdsForTesting(1.0 / 32);
        if (t == typeof(float)) f32();
        else f64();
    }

    public static IEnumerable<object[]> Types => [[typeof(float)], [typeof(double)]];

    // ------------------------------------------------------------------ Binary

    public static IEnumerable<object[]> BroadcastCases()
    {
        int[][][] cases =
        [
            [[4, 5], [4, 5]],
            [[300, 257], [300, 257]],            // same shape, parallel
            [[300, 257], [257]],                 // row broadcast, parallel
            [[257], [300, 257]],
            [[12, 50, 70], [50, 70]],            // leading-axis broadcast, parallel
            [[50, 70], [12, 50, 70]],
            [[400, 300], [400, 1]],              // column scalar, parallel
            [[400, 1], [400, 300]],
            [[400, 1], [1, 300]],                // outer sum
            [[3, 1, 5], [4, 1]],
            [[4, 1], [3, 1, 5]],
            [[2, 1, 3, 1, 4], [1, 5, 3, 7, 1]],  // size-1 middle axes on both sides
            [[7, 1, 9], [7, 8, 1]],
            [[20000, 3], [20000, 1]],            // short inner runs, parallel
            [[3, 20000], [1, 20000]],
            [[], [3, 4]],
            [[3, 4], []],
            [[], []],
            [[1], [200, 200]],
            [[200, 200], [1, 1]],
            [[1, 1, 1], [5]],
            [[0, 3], [3]],
        ];
        foreach (var c in cases)
            foreach (var t in new[] { typeof(float), typeof(double) })
                yield return [t, c[0], c[1]];
    }

    [Theory]
    [MemberData(nameof(BroadcastCases))]
    public void Binary_MatchesReference(Type t, int[] aShape, int[] bShape) =>
        ForBoth(t, () => CheckBinary<float>(aShape, bShape), () => CheckBinary<double>(aShape, bShape));

    private static void CheckBinary<T>(int[] aShape, int[] bShape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Rand<T>(aShape, 1);
        var b = Rand<T>(bShape, 2);
        var outShape = BroadcastShape(aShape, bShape);
        double[] da = D(a), db = D(b);
        foreach (var op in Enum.GetValues<BinaryOp>())
        {
            var r = Garbage<T>(outShape);
            Elementwise.Binary(op, a, b, r);
            var expected = new double[Size(outShape)];
            for (long f = 0; f < expected.Length; f++)
            {
                var idx = Unravel(f, outShape);
                expected[f] = Round<T>(RefBinary(op, da[BroadcastIndex(idx, aShape)], db[BroadcastIndex(idx, bShape)]));
            }
            // +, -, *, / are correctly rounded in T, so the results must agree bit for bit.
            AssertExact(expected, D(r), $"{op} {new Shape(aShape)} {new Shape(bShape)}");
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Binary_InPlace(Type t) => ForBoth(t, CheckBinaryInPlace<float>, CheckBinaryInPlace<double>);

    private static void CheckBinaryInPlace<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (var (aShape, bShape) in new (int[], int[])[] { ([300, 200], [300, 200]), ([300, 200], [200]), ([300, 200], []), ([64, 300], [64, 1]) })
        {
            var a = Rand<T>(aShape, 3);
            var b = Rand<T>(bShape, 4);
            var expected = Garbage<T>(aShape);
            Elementwise.Binary(BinaryOp.Sub, a, b, expected);
            var inPlace = a.Clone();
            Elementwise.Binary(BinaryOp.Sub, inPlace, b, inPlace);
            AssertExact(D(expected), D(inPlace), "a -= b in place");
            if (bShape.Length == aShape.Length && bShape.SequenceEqual(aShape))
            {
                var b2 = b.Clone();
                Elementwise.Binary(BinaryOp.Sub, a, b2, b2);
                AssertExact(D(expected), D(b2), "b = a - b in place");
            }
        }
    }

    [Fact]
    public void Binary_RejectsWrongResultShape()
    {
        var a = NDArray.Zeros<double>(new Shape(3, 4));
        var b = NDArray.Zeros<double>(new Shape(4));
        var ex = Assert.Throws<ArgumentException>(() => Elementwise.Binary(BinaryOp.Add, a, b, NDArray.Zeros<double>(new Shape(4, 4))));
        Assert.Contains("Binary", ex.Message);
        Assert.Throws<ArgumentException>(() => Elementwise.Binary(BinaryOp.Add, a, NDArray.Zeros<double>(new Shape(3)), NDArray.Zeros<double>(new Shape(3, 4))));
    }

    // ------------------------------------------------------------------ Unary and Pow

    [Theory]
    [MemberData(nameof(Types))]
    public void Unary_MatchesReference(Type t) => ForBoth(t, CheckUnary<float>, CheckUnary<double>);

    private static void CheckUnary<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        double rtol = IsFloat<T>() ? 2e-6 : 1e-13;
        double atol = IsFloat<T>() ? 1e-37 : 1e-300;
        var x = Rand<T>([50, 1000], 5, scale: 3);   // parallel
        // Extreme points for the saturating functions, plus exact zeros and signed infinities.
        double[] extremes = [0, -0.0, 1e-30, -1e-30, 20, -20, 40, -40, 88, -88, 100, -100, 700, -700, 1000, -1000, double.PositiveInfinity, double.NegativeInfinity];
        for (int i = 0; i < extremes.Length; i++) x.Data[i * 37] = T.CreateTruncating(extremes[i]);
        double[] dx = D(x);
        foreach (var op in Enum.GetValues<UnaryOp>())
        {
            // Functions that overflow or are ill-conditioned far out are checked on moderate inputs only.
            bool bounded = op is UnaryOp.Sigmoid or UnaryOp.Softplus or UnaryOp.Tanh or UnaryOp.Relu or UnaryOp.Step
                or UnaryOp.Neg or UnaryOp.Exp or UnaryOp.Log or UnaryOp.Sqrt;
            var input = bounded ? x : Rand<T>([50, 1000], 6, scale: 3);
            double[] di = bounded ? dx : D(input);
            var r = Garbage<T>([50, 1000]);
            Elementwise.Unary(op, input, r);
            var expected = di.Select(v => Round<T>(RefUnary(op, v))).ToArray();
            var actual = D(r);
            AssertClose(expected, actual, rtol, atol, $"{op} ({typeof(T).Name})");
            if (op is UnaryOp.Sigmoid or UnaryOp.Softplus or UnaryOp.Tanh)
                Assert.DoesNotContain(actual.Where((v, i) => !double.IsNaN(di[i])), double.IsNaN);

            // Not compared bit for bit with the out-of-place result: System.Numerics.Tensors' precompiled
            // code and its later re-jitted code can differ in the last bit (fused multiply-adds).
            var inPlace = input.Clone();
            Elementwise.Unary(op, inPlace, inPlace);
            AssertClose(expected, D(inPlace), rtol, atol, $"{op} in place");
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Unary_SaturatingFunctionsAreStable(Type t) => ForBoth(t, CheckSaturation<float>, CheckSaturation<double>);

    private static void CheckSaturation<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = NDArray.FromArray(new[] { -1e30, -1000.0, -100, -50, 50, 100, 1000, 1e30 }.Select(T.CreateTruncating).ToArray());
        var r = Garbage<T>([8]);
        Elementwise.Unary(UnaryOp.Sigmoid, x, r);
        AssertClose([0, 0, 0, 0, 1, 1, 1, 1], D(r), 0, 1e-20, "sigmoid");
        Elementwise.Unary(UnaryOp.Tanh, x, r);
        AssertClose([-1, -1, -1, -1, 1, 1, 1, 1], D(r), 0, 0, "tanh");
        Elementwise.Unary(UnaryOp.Softplus, x, r);
        AssertClose([0, 0, 0, 0, 50, 100, 1000, 1e30], D(r), 1e-6, 1e-20, "softplus");
        // tanh is odd and accurate near 0 (TensorPrimitives.Tanh itself gives tanh(0f) = -6e-8).
        var tiny = NDArray.FromArray(new[] { 0.0, -0.0, 1e-30, -1e-30, 1e-10, 1e-3, -1e-3, 0.3, -0.3, 0.6, 0.7 }.Select(T.CreateTruncating).ToArray());
        var tr = Garbage<T>([tiny.Size]);
        Elementwise.Unary(UnaryOp.Tanh, tiny, tr);
        AssertClose(D(tiny).Select(v => Round<T>(Math.Tanh(v))).ToArray(), D(tr), IsFloat<T>() ? 2.4e-7 : 4.5e-16, 0, "tanh near 0");
        Assert.True(T.IsNegative(tr.Data[1]), "tanh(-0) = -0");
        foreach (int i in new[] { 2, 5, 7 }) Assert.Equal(tr.Data[i], -tr.Data[i + 1]);

        // softplus(-40) = e^-40 ≈ 4.2e-18: the value must survive, not collapse to 0 as log(1 + e^-40) would.
        var small = NDArray.FromArray(new[] { T.CreateTruncating(-40.0) });
        var sr = Garbage<T>([1]);
        Elementwise.Unary(UnaryOp.Softplus, small, sr);
        Assert.Equal(Math.Exp(-40), double.CreateTruncating(sr.Data[0]), IsFloat<T>() ? 1e-23 : 1e-30);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Pow_MatchesReference(Type t) => ForBoth(t, CheckPow<float>, CheckPow<double>);

    private static void CheckPow<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = Rand<T>([200, 300], 7, scale: 2);   // parallel
        x.Data[0] = T.Zero;
        x.Data[1] = T.NegativeZero;
        x.Data[2] = T.One;
        x.Data[3] = T.CreateTruncating(-3.0);
        x.Data[4] = T.NaN;
        double[] dx = D(x);
        foreach (double p in new[] { -2, -1, 0, 0.5, 1, 1.5, 2, 3 })
        {
            var r = Garbage<T>([200, 300]);
            Elementwise.Pow(x, p, r);
            var expected = dx.Select(v => Round<T>(Math.Pow(v, p))).ToArray();
            // The integer and square-root cases are exact or one rounding off; 1.5 goes through T.Pow.
            double rtol = p == 1.5 ? (IsFloat<T>() ? 2e-6 : 1e-14) : (IsFloat<T>() ? 2.4e-7 : 4.5e-16);
            AssertClose(expected, D(r), rtol, 0, $"x^{p}");
            var inPlace = x.Clone();
            Elementwise.Pow(inPlace, p, inPlace);
            AssertClose(expected, D(inPlace), rtol, 0, $"x^{p} in place");
        }
        var zeros = NDArray.Zeros<T>(new Shape(3));
        var z = Garbage<T>([3]);
        Elementwise.Pow(zeros, 0, z);
        AssertExact([1, 1, 1], D(z), "0^0");
    }

    // ------------------------------------------------------------------ Reduce.Sum

    /// <summary>Sums and sums of magnitudes over the given axes, walking x index by index.</summary>
    private static (double[] Sums, double[] Magnitudes, int[] Shape) RefSum(double[] x, int[] shape, int[] axes, bool keepDims)
    {
        int rank = shape.Length;
        var keptShape = shape.Select((d, i) => axes.Contains(i) ? 1 : d).ToArray();
        var outStride = new long[rank];
        long acc = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            outStride[i] = axes.Contains(i) ? 0 : acc;
            acc *= keptShape[i];
        }
        var sums = new double[acc];
        var mags = new double[acc];
        var idx = new int[rank];
        long o = 0;
        for (long f = 0; f < x.Length; f++)
        {
            sums[o] += x[f];
            mags[o] += Math.Abs(x[f]);
            for (int k = rank - 1; k >= 0; k--)
            {
                o += outStride[k];
                if (++idx[k] < shape[k]) break;
                o -= outStride[k] * shape[k];
                idx[k] = 0;
            }
        }
        var outShape = keepDims ? keptShape : shape.Where((_, i) => !axes.Contains(i)).ToArray();
        return (sums, mags, outShape);
    }

    private static void CheckSum<T>(int[] shape, int[] axes, bool keepDims, long seed = 11) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = Rand<T>(shape, seed);
        double[] dx = D(x);
        var (expected, magnitude, outShape) = RefSum(dx, shape, axes, keepDims);
        var r = Garbage<T>(outShape);
        Reduce.Sum(x, axes, keepDims, r);
        Assert.Equal(new Shape(outShape), r.Shape);
        var actual = D(r);
        // Error relative to Σ|x| over each output's terms: the bound for any summation order.
        double tol = IsFloat<T>() ? 1e-6 : 1e-14;
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(expected[i] - actual[i]) <= tol * magnitude[i] + 1e-300))
                Assert.Fail($"Sum {new Shape(shape)} over [{string.Join(",", axes)}] keepDims={keepDims}: element {i}: expected {expected[i]:R}, got {actual[i]:R}.");
    }

    private static IEnumerable<int[]> Subsets(int rank)
    {
        for (int mask = 0; mask < 1 << rank; mask++)
            yield return Enumerable.Range(0, rank).Where(i => (mask >> i & 1) != 0).Reverse().ToArray();  // any order
    }

    public static IEnumerable<object[]> SumShapes()
    {
        int[][] shapes = [[5, 6, 7], [3, 1, 4, 5], [64, 40, 50] /* parallel */, [2, 3, 1, 7]];
        foreach (var s in shapes)
            foreach (var t in new[] { typeof(float), typeof(double) })
                yield return [t, s];
    }

    [Theory]
    [MemberData(nameof(SumShapes))]
    public void Sum_EveryAxisSubset(Type t, int[] shape)
    {
        foreach (var axes in Subsets(shape.Length))
            foreach (bool keep in new[] { false, true })
                ForBoth(t, () => CheckSum<float>(shape, axes, keep), () => CheckSum<double>(shape, axes, keep));
    }

    public static IEnumerable<object[]> LargeSumCases()
    {
        (int[] Shape, int[] Axes)[] cases =
        [
            ([20000, 3], [0]),        // few outputs, short rows: reduced range split into partials
            ([20000, 3], [1]),
            ([600, 700], [0]),        // bias-gradient pattern
            ([600, 700], [1]),
            ([600, 700], [0, 1]),     // full sum
            ([2, 100000], [1]),       // two long rows
            ([2, 100000], [0]),       // one long strip-mined row
            ([2000, 5, 40], [0, 2]),
            ([2000, 5, 40], [1]),
            ([40, 50, 60], [0, 2]),
            ([1 << 18], [0]),
            ([], []),
            ([0, 3], [0]),
            ([4, 0], [1]),
        ];
        foreach (var (s, a) in cases)
            foreach (var t in new[] { typeof(float), typeof(double) })
                yield return [t, s, a];
    }

    [Theory]
    [MemberData(nameof(LargeSumCases))]
    public void Sum_LargeAndEdgeCases(Type t, int[] shape, int[] axes)
    {
        foreach (bool keep in new[] { false, true })
            ForBoth(t, () => CheckSum<float>(shape, axes, keep), () => CheckSum<double>(shape, axes, keep));
    }

    [Fact]
    public void Sum_RejectsBadAxesAndShapes()
    {
        var x = NDArray.Zeros<double>(new Shape(2, 3));
        Assert.Throws<ArgumentException>(() => Reduce.Sum(x, [0, 0], false, NDArray.Zeros<double>(new Shape(3))));
        Assert.Throws<ArgumentException>(() => Reduce.Sum(x, [2], false, NDArray.Zeros<double>(new Shape(2, 3))));
        Assert.Throws<ArgumentException>(() => Reduce.Sum(x, [0], false, NDArray.Zeros<double>(new Shape(1, 3))));
        Assert.Throws<ArgumentException>(() => Reduce.Sum(x, [0], true, NDArray.Zeros<double>(new Shape(3))));
    }

    // ------------------------------------------------------------------ Transpose

    private static IEnumerable<int[]> Permutations(int n)
    {
        if (n == 0)
        {
            yield return [];
            yield break;
        }
        foreach (var p in Permutations(n - 1))
            for (int pos = 0; pos <= p.Length; pos++)
                yield return [.. p[..pos], n - 1, .. p[pos..]];
    }

    private static void CheckTranspose<T>(int[] shape, int[] perm) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = Rand<T>(shape, 13);
        var outShape = perm.Select(p => shape[p]).ToArray();
        var r = Garbage<T>(outShape);
        Layout.Transpose(x, perm, r);
        var expected = new double[x.Size];
        double[] dx = D(x);
        var src = new int[shape.Length];
        for (long f = 0; f < expected.Length; f++)
        {
            var idx = Unravel(f, outShape);
            for (int i = 0; i < perm.Length; i++) src[perm[i]] = idx[i];
            expected[f] = dx[Ravel(src, shape)];
        }
        AssertExact(expected, D(r), $"transpose {new Shape(shape)} by [{string.Join(",", perm)}]");
    }

    public static IEnumerable<object[]> TransposeShapes()
    {
        int[][] shapes = [[3, 4, 5], [30, 40, 50] /* parallel */, [2, 3, 4, 5], [3, 1, 40, 50], [1, 7, 1, 9], [64, 3, 2]];
        foreach (var s in shapes)
            foreach (var t in new[] { typeof(float), typeof(double) })
                yield return [t, s];
    }

    [Theory]
    [MemberData(nameof(TransposeShapes))]
    public void Transpose_EveryPermutation(Type t, int[] shape)
    {
        foreach (var perm in Permutations(shape.Length))
            ForBoth(t, () => CheckTranspose<float>(shape, perm), () => CheckTranspose<double>(shape, perm));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Transpose_Large2DAndEdgeCases(Type t)
    {
        (int[] Shape, int[] Perm)[] cases =
        [
            ([700, 900], [1, 0]),          // blocked, parallel
            ([1000, 3], [1, 0]),
            ([3, 1000], [1, 0]),
            ([33, 65], [1, 0]),            // ragged tiles
            ([8, 100, 130], [0, 2, 1]),    // batched swap of the last two axes, parallel
            ([1, 5], [1, 0]),
            ([], []),
            ([0, 4], [1, 0]),
        ];
        foreach (var (s, p) in cases)
            ForBoth(t, () => CheckTranspose<float>(s, p), () => CheckTranspose<double>(s, p));
    }

    [Fact]
    public void Transpose_RejectsNonPermutation()
    {
        var x = NDArray.Zeros<double>(new Shape(2, 3));
        Assert.Throws<ArgumentException>(() => Layout.Transpose(x, [0, 0], NDArray.Zeros<double>(new Shape(2, 2))));
        Assert.Throws<ArgumentException>(() => Layout.Transpose(x, [1, 0], NDArray.Zeros<double>(new Shape(2, 3))));
    }

    // ------------------------------------------------------------------ BroadcastTo, Slice, Pad, Concat

    [Theory]
    [MemberData(nameof(Types))]
    public void BroadcastTo_MatchesReference(Type t) => ForBoth(t, CheckBroadcastTo<float>, CheckBroadcastTo<double>);

    private static void CheckBroadcastTo<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        (int[] From, int[] To)[] cases =
        [
            ([3, 1, 5], [2, 3, 4, 5]),
            ([], [3, 3]),
            ([5], [1000, 5]),
            ([16, 1, 64], [4, 16, 128, 64]),   // parallel
            ([1, 1], [1, 1]),
            ([7, 1], [7, 20000]),              // parallel fills
            ([2, 3], [1, 2, 3]),
            ([1, 4], [0, 4]),
        ];
        foreach (var (from, to) in cases)
        {
            var x = Rand<T>(from, 17);
            var r = Garbage<T>(to);
            Layout.BroadcastTo(x, r);
            double[] dx = D(x);
            var expected = new double[Size(to)];
            for (long f = 0; f < expected.Length; f++) expected[f] = dx[BroadcastIndex(Unravel(f, to), from)];
            AssertExact(expected, D(r), $"broadcast {new Shape(from)} to {new Shape(to)}");
        }
        Assert.Throws<ArgumentException>(() => Layout.BroadcastTo(Rand<T>([3], 1), Garbage<T>([3, 4])));
    }

    private static double[] RefSlice(double[] x, int[] shape, int[] starts, int[] outShape)
    {
        var r = new double[Size(outShape)];
        for (long f = 0; f < r.Length; f++)
        {
            var idx = Unravel(f, outShape);
            for (int i = 0; i < idx.Length; i++) idx[i] += starts[i];
            r[f] = x[Ravel(idx, shape)];
        }
        return r;
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void SliceAndPad_MatchReferenceAndRoundTrip(Type t) => ForBoth(t, CheckSlicePad<float>, CheckSlicePad<double>);

    private static void CheckSlicePad<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        (int[] Shape, int[] Starts, int[] Window)[] cases =
        [
            ([10, 12, 14], [2, 3, 4], [5, 6, 7]),
            ([10, 12, 14], [0, 0, 0], [10, 12, 14]),
            ([10, 12, 14], [3, 0, 0], [4, 12, 14]),      // one contiguous block
            ([10, 12, 14], [0, 0, 13], [10, 12, 1]),
            ([300, 400], [100, 17], [150, 373]),         // parallel
            ([2, 200000], [1, 5], [1, 150000]),          // one long row, parallel
            ([], [], []),
            ([5, 6], [2, 6], [3, 0]),
        ];
        foreach (var (shape, starts, window) in cases)
        {
            var x = Rand<T>(shape, 19);
            var s = Garbage<T>(window);
            Layout.Slice(x, starts, s);
            AssertExact(RefSlice(D(x), shape, starts, window), D(s), $"slice {new Shape(shape)} at [{string.Join(",", starts)}]");

            // Pad is the adjoint of Slice: zeros outside the window, and slicing the window back is the identity.
            var p = Garbage<T>(shape);
            Layout.Pad(s, starts, p);
            var pd = D(p);
            var expected = new double[pd.Length];
            var ds = D(s);
            for (long f = 0; f < ds.Length; f++)
            {
                var idx = Unravel(f, window);
                for (int i = 0; i < idx.Length; i++) idx[i] += starts[i];
                expected[Ravel(idx, shape)] = ds[f];
            }
            AssertExact(expected, pd, $"pad {new Shape(window)} into {new Shape(shape)}");
            var back = Garbage<T>(window);
            Layout.Slice(p, starts, back);
            AssertExact(ds, D(back), "slice(pad(x)) = x");
        }
        Assert.Throws<ArgumentException>(() => Layout.Slice(Rand<T>([4, 4], 1), [2, 0], Garbage<T>([3, 4])));
        Assert.Throws<ArgumentException>(() => Layout.Pad(Rand<T>([3, 4], 1), [2, 0], Garbage<T>([4, 4])));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Concat_AlongEveryAxis(Type t) => ForBoth(t, CheckConcat<float>, CheckConcat<double>);

    private static void CheckConcat<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] baseShape = [4, 5, 6];
        for (int axis = 0; axis < 3; axis++)
        {
            int[] extents = [2, 0, 3, 1];
            var xs = extents.Select((e, k) =>
            {
                var s = (int[])baseShape.Clone();
                s[axis] = e;
                return Rand<T>(s, 23 + k);
            }).ToList();
            CheckConcatCase(xs, axis);
        }
        // Parallel: long rows along the last axis, then many rows along the first.
        CheckConcatCase([Rand<T>([200, 300], 29), Rand<T>([200, 500], 31)], 1);
        CheckConcatCase([Rand<T>([300, 200], 29), Rand<T>([500, 200], 31)], 0);
        Assert.Throws<ArgumentException>(() => Layout.Concat([Rand<T>([2, 3], 1), Rand<T>([3, 3], 1)], 1, Garbage<T>([2, 6])));
    }

    private static void CheckConcatCase<T>(List<NDArray<T>> xs, int axis) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var outShape = xs[0].Shape.ToArray();
        outShape[axis] = xs.Sum(x => x.Shape[axis]);
        var r = Garbage<T>(outShape);
        Layout.Concat(xs, axis, r);
        var expected = new double[Size(outShape)];
        int start = 0;
        foreach (var x in xs)
        {
            var dx = D(x);
            var shape = x.Shape.ToArray();
            for (long f = 0; f < dx.Length; f++)
            {
                var idx = Unravel(f, shape);
                idx[axis] += start;
                expected[Ravel(idx, outShape)] = dx[f];
            }
            start += shape[axis];
        }
        AssertExact(expected, D(r), $"concat along {axis} into {new Shape(outShape)}");
    }

    // ------------------------------------------------------------------ serial vs parallel

    [Theory]
    [MemberData(nameof(Types))]
    public void ParallelPathsAgreeWithSerialOnes(Type t) => ForBoth(t, CheckSplitInvariance<float>, CheckSplitInvariance<double>);

    /// <summary>Elementwise and layout results must not depend on how the work is split; sums may differ by rounding only.</summary>
    private static void CheckSplitInvariance<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = Rand<T>([96, 40, 64], 47);
        var row = Rand<T>([40, 64], 53);
        (Func<NDArray<T>> Run, bool Exact)[] kernels =
        [
            (() => { var r = Garbage<T>([96, 40, 64]); Elementwise.Binary(BinaryOp.Mul, x, row, r); return r; }, true),
            (() => { var r = Garbage<T>([96, 40, 64]); Elementwise.Unary(UnaryOp.Softplus, x, r); return r; }, true),
            (() => { var r = Garbage<T>([96, 64, 40]); Layout.Transpose(x, [0, 2, 1], r); return r; }, true),
            (() => { var r = Garbage<T>([64, 96, 40]); Layout.Transpose(x, [2, 0, 1], r); return r; }, true),
            (() => { var r = Garbage<T>([40, 64]); Reduce.Sum(x, [0], false, r); return r; }, false),
            (() => { var r = Garbage<T>([]); Reduce.Sum(x, [0, 1, 2], false, r); return r; }, false),
        ];
        foreach (var (run, exact) in kernels)
        {
            double[] parallel = D(run());
            double[] serial;
            using (Parallelism.ScaleThresholdsForTesting(1e12)) serial = D(run());
            if (exact) AssertExact(serial, parallel, "serial vs parallel");
            else AssertClose(serial, parallel, IsFloat<T>() ? 1e-4 : 1e-12, 1e-3, "serial vs parallel sum");
        }
    }

    // ------------------------------------------------------------------ interop

    [Theory]
    [MemberData(nameof(Types))]
    public void SystemTensor_RoundTrip(Type t) => ForBoth(t, CheckInterop<float>, CheckInterop<double>);

    private static void CheckInterop<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (var shape in new int[][] { [2, 3, 4], [5], [1, 1], [0, 3] })
        {
            var x = Rand<T>(shape, 37);
            var sys = x.ToSystemTensor();
            Assert.Equal(shape.Select(d => (nint)d).ToArray(), sys.Lengths.ToArray());
            var back = sys.ToJetSharp();
            Assert.Equal(x.Shape, back.Shape);
            Assert.Equal(x.Data, back.Data);
            Assert.NotSame(x.Data, back.Data);
        }
        // System.Numerics.Tensors has no rank 0: a scalar goes over as shape [1].
        var scalar = NDArray.Scalar(T.CreateTruncating(2.5));
        var sysScalar = scalar.ToSystemTensor();
        Assert.Equal([(nint)1], sysScalar.Lengths.ToArray());
        Assert.Equal(new Shape(1), sysScalar.ToJetSharp().Shape);
        Assert.Equal(scalar.Data, sysScalar.ToJetSharp().Data);

        // Strided (non-dense) views flatten in row-major order.
        var wide = Rand<T>([4, 6], 43);
        var view = wide.ToSystemTensor().AsReadOnlyTensorSpan().Slice([new System.Buffers.NRange(1, 3), new System.Buffers.NRange(2, 5)]);
        var viewed = view.ToJetSharp();
        Assert.Equal(new Shape(2, 3), viewed.Shape);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++) Assert.Equal(wide[i + 1, j + 2], viewed[i, j]);

        var m = Rand<T>([3, 4], 41);
        var arr = m.ToArray2D();
        Assert.Equal(3, arr.GetLength(0));
        Assert.Equal(4, arr.GetLength(1));
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++) Assert.Equal(m[i, j], arr[i, j]);
        Assert.Equal(m.Data, NDArray.FromArray(arr).Data);
        Assert.Throws<InvalidOperationException>(() => Rand<T>([2, 2, 2], 1).ToArray2D());
    }
}
