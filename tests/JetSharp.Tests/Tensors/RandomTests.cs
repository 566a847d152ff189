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
}
