using JetSharp.Runtime;

namespace JetSharp.Tests;

public class RandomTests
{
    [Fact]
    public void NeighbouringSeedsGiveUnrelatedStreams()
    {
        // With a counter of (seed + i)·φ, seed s+1 was seed s shifted by one element: check no shift matches.
        var a = NDArray.RandomUniform<double>(new Shape(4096), seed: 0).Data;
        var b = NDArray.RandomUniform<double>(new Shape(4096), seed: 1).Data;
        for (int shift = -3; shift <= 3; shift++)
        {
            int same = 0;
            for (int i = 4; i < 4092; i++) if (a[i] == b[i + shift]) same++;
            Assert.Equal(0, same);
        }
        double ma = a.Average(), mb = b.Average(), cov = 0, va = 0, vb = 0;
        for (int i = 0; i < a.Length; i++) { cov += (a[i] - ma) * (b[i] - mb); va += (a[i] - ma) * (a[i] - ma); vb += (b[i] - mb) * (b[i] - mb); }
        Assert.InRange(cov / Math.Sqrt(va * vb), -0.06, 0.06); // |ρ| < 4/√4096 for independent streams
    }

    [Fact]
    public void SamplesAreReproducibleAndHaveTheirMoments()
    {
        var n1 = NDArray.RandomNormal<double>(new Shape(20000), seed: 42);
        var n2 = NDArray.RandomNormal<double>(new Shape(20000), seed: 42);
        Assert.Equal(n1.Data, n2.Data);
        Assert.InRange(n1.Data.Average(), -0.03, 0.03);
        Assert.InRange(n1.Data.Average(v => v * v), 0.96, 1.04);
        var r = NDArray.RandomRademacher<double>(new Shape(20000), seed: 3);
        Assert.All(r.Data, v => Assert.True(v == 1 || v == -1));
        Assert.InRange(r.Data.Average(), -0.03, 0.03);
        var f = NDArray.RandomNormal<float>(new Shape(100), seed: 42);
        for (int i = 0; i < 100; i++) Assert.Equal((float)n1.Data[i], f.Data[i]);
    }

    // SplitMix64 written out here, independently of the library: the finaliser, and the stream word M(M(s) + (i + 1)·φ).
    private static ulong ReferenceMix(ulong z)
    {
        unchecked
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    private static ulong ReferenceWord(long seed, long index) => unchecked(ReferenceMix(ReferenceMix((ulong)seed) + ((ulong)index + 1) * 0x9E3779B97F4A7C15UL));

    [Fact]
    public void TheFinaliserIsSplitMix64()
    {
        // The first output of SplitMix64 started from state 0 (the published reference value).
        Assert.Equal(0xE220A8397B1DCDAFUL, ReferenceMix(0x9E3779B97F4A7C15UL));
        for (long i = 0; i < 100; i++) Assert.Equal(ReferenceWord(7, i), SeededRandom.Word(7, i));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(3L)]
    [InlineData(-123456789L)]
    public void FillGivesTheScalarStreamBitForBit(long seed)
    {
        // Lengths around the SIMD widths (4, 8) and the fill's block of 256 words (128 normal values), in both precisions.
        foreach (int length in new[] { 1, 3, 7, 8, 9, 31, 127, 128, 129, 255, 256, 257, 1000 })
        {
            var d = new double[length];
            var f = new float[length];
            SeededRandom.Fill<double>(d, Distribution.Uniform, seed);
            SeededRandom.Fill<float>(f, Distribution.Uniform, seed);
            for (int i = 0; i < length; i++)
            {
                double u = (ReferenceWord(seed, i) >> 11) * (1.0 / (1UL << 53));
                Assert.Equal(u, d[i]);
                Assert.Equal((float)u, f[i]);
            }
            SeededRandom.Fill<double>(d, Distribution.Rademacher, seed);
            SeededRandom.Fill<float>(f, Distribution.Rademacher, seed);
            for (int i = 0; i < length; i++)
            {
                double r = (ReferenceWord(seed, i) >> 63) == 0 ? 1 : -1;
                Assert.Equal(r, d[i]);
                Assert.Equal((float)r, f[i]);
            }
            SeededRandom.Fill<double>(d, Distribution.Normal, seed);
            SeededRandom.Fill<float>(f, Distribution.Normal, seed);
            for (int i = 0; i < length; i++)
            {
                double u1 = 1.0 - (ReferenceWord(seed, 2 * i) >> 11) * (1.0 / (1UL << 53));
                double u2 = (ReferenceWord(seed, 2 * i + 1) >> 11) * (1.0 / (1UL << 53));
                double z = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
                Assert.Equal(z, d[i]);
                Assert.Equal((float)z, f[i]);
                Assert.Equal(SeededRandom.Normal(seed, i), d[i]);
            }
        }
    }

    [Fact]
    public void PiecesOfTheStreamGiveTheWholeFill()
    {
        foreach (var distribution in new[] { Distribution.Normal, Distribution.Uniform, Distribution.Rademacher })
        {
            var whole = new double[1000];
            SeededRandom.Fill<double>(whole, distribution, 11);
            var pieces = new double[1000];
            foreach (var (start, end) in new[] { (0, 5), (5, 261), (261, 262), (262, 1000) })
                SeededRandom.Fill<double>(pieces.AsSpan(start, end - start), distribution, 11, start);
            Assert.Equal(whole, pieces);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => SeededRandom.Fill<double>(new double[4], Distribution.Normal, 11, -1));
    }

    [Theory]
    [InlineData(Distribution.Normal)]
    [InlineData(Distribution.Rademacher)]
    [InlineData(Distribution.Uniform)]
    public void ASamplingNodeFilledOnSeveralCoresIsTheStream(Distribution distribution)
    {
        // 3·10⁵ elements: above the threshold where the node's kernel splits the fill between cores.
        var shape = new Shape(300, 1000);
        var g = new Graph(DType.Float32);
        g.SetOutputs(Fn.Random(g, shape, distribution, seed: 5));
        var run = new Executable(g).Run<float>()[0];
        var expected = new float[shape.Size];
        for (int i = 0; i < expected.Length; i++)
            expected[i] = (float)(distribution switch
            {
                Distribution.Normal => SeededRandom.Normal(5, i),
                Distribution.Uniform => SeededRandom.Uniform(5, i),
                _ => SeededRandom.Rademacher(5, i),
            });
        Assert.Equal(expected, run.Data);
    }
}
