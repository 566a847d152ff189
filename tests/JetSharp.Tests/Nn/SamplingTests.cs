using JetSharp.Nn;

namespace JetSharp.Tests.Nn;

public class SamplingTests
{
    private static IEnumerable<double[]> Rows(NDArray<double> t)
    {
        int d = t.Shape[1];
        for (int i = 0; i < t.Shape[0]; i++) yield return t.Data[(i * d)..((i + 1) * d)];
    }

    public static TheoryData<string> Domains => ["box", "ball"];

    private static IDomain Make(string name) => name == "box"
        ? new Box([0, -1, 2], [2, 1, 2.5])
        : new Ball([0.5, -0.5, 1], 2);

    [Theory, MemberData(nameof(Domains))]
    public void InteriorPointsLieInsideAndBoundaryPointsOnTheBoundary(string name)
    {
        var domain = Make(name);
        var inside = domain.Interior<double>(500, seed: 3);
        var edge = domain.Boundary<double>(500, seed: 4);
        Assert.Equal(new Shape(500, 3), inside.Shape);
        Assert.All(Rows(inside), p => Assert.True(domain.Contains(p) && !domain.OnBoundary(p, 1e-12), $"({string.Join(", ", p)})"));
        Assert.All(Rows(edge), p => Assert.True(domain.OnBoundary(p, 1e-12), $"({string.Join(", ", p)})"));
    }

    [Theory, MemberData(nameof(Domains))]
    public void SamplesAreReproducibleBySeedAndDifferAcrossSeeds(string name)
    {
        var domain = Make(name);
        Assert.Equal(domain.Interior<double>(64, seed: 9).Data, domain.Interior<double>(64, seed: 9).Data);
        Assert.Equal(domain.Boundary<double>(64, seed: 9).Data, domain.Boundary<double>(64, seed: 9).Data);
        Assert.NotEqual(domain.Interior<double>(64, seed: 9).Data, domain.Interior<double>(64, seed: 10).Data);
        // float32 samples are the float64 samples rounded.
        var f = domain.Interior<float>(64, seed: 9);
        var d = domain.Interior<double>(64, seed: 9);
        for (int i = 0; i < f.Size; i++) Assert.Equal((float)d.Data[i], f.Data[i]);
    }

    [Fact]
    public void BoxInteriorIsUniform()
    {
        var box = new Box([0, 10], [1, 14]);
        var p = box.Interior<double>(20_000, seed: 1);
        double mx = Rows(p).Average(r => r[0]), my = Rows(p).Average(r => r[1]);
        Assert.Equal(0.5, mx, 0.01);
        Assert.Equal(12, my, 0.04);
        // Fraction in the lower-left quarter.
        Assert.Equal(0.25, Rows(p).Count(r => r[0] < 0.5 && r[1] < 12) / 20_000.0, 0.015);
    }

    [Fact]
    public void BoxBoundaryPicksFacesInProportionToTheirArea()
    {
        // [0, 2] × [0, 1]: the faces y = 0 and y = 1 have length 2, the faces x = 0 and x = 2 length 1.
        var box = new Box([0, 0], [2, 1]);
        var p = Rows(box.Boundary<double>(12_000, seed: 5)).ToList();
        double horizontal = p.Count(r => r[1] == 0 || r[1] == 1) / 12_000.0;
        Assert.Equal(2.0 / 3, horizontal, 0.02);
        Assert.Equal(0.5, p.Count(r => r[1] == 0) / (horizontal * 12_000), 0.03);
        Assert.Equal(0.5, p.Count(r => r[0] == 2) / ((1 - horizontal) * 12_000), 0.03);
    }

    [Fact]
    public void BoxFaceFixesOneCoordinate()
    {
        var box = Box.UnitCube(4);
        var p = box.Face<double>(100, axis: 3, upper: false, seed: 2);
        Assert.All(Rows(p), r => { Assert.Equal(0, r[3]); Assert.True(box.Contains(r)); });
        Assert.Contains("axis 7", Assert.Throws<ArgumentOutOfRangeException>(() => box.Face<double>(5, 7, true, 0)).Message);
    }

    [Fact]
    public void BallRadiiFollowTheVolumeLaw()
    {
        // P(‖x‖ ≤ r/2) = 2^{−D}: uniform in the ball, not crowded at the centre.
        foreach (int d in new[] { 2, 5 })
        {
            var p = Ball.Unit(d).Interior<double>(8_000, seed: 11);
            double frac = Rows(p).Count(r => Math.Sqrt(r.Sum(v => v * v)) <= 0.5) / 8_000.0;
            Assert.Equal(Math.Pow(2, -d), frac, 0.015);
            // Directions are isotropic: the mean is near the centre.
            for (int j = 0; j < d; j++) Assert.Equal(0, Rows(p).Average(r => r[j]), 0.03);
        }
    }

    [Fact]
    public void BadDomainsAndCountsAreRejectedWithTheirNames()
    {
        Assert.Contains("side 1", Assert.Throws<ArgumentException>(() => new Box([0, 1], [1, 1])).Message);
        Assert.Contains("Box", Assert.Throws<ShapeException>(() => new Box([0, 1], [1])).Message);
        Assert.Contains("radius", Assert.Throws<ArgumentOutOfRangeException>(() => new Ball([0, 0], -1)).Message);
        Assert.Contains("Box.Interior", Assert.Throws<ArgumentOutOfRangeException>(() => Box.UnitCube(2).Interior<double>(0, 1)).Message);
        Assert.Contains("Ball.Boundary", Assert.Throws<ArgumentOutOfRangeException>(() => Ball.Unit(2).Boundary<double>(-3, 1)).Message);
        Assert.Contains("3 coordinates", Assert.Throws<ShapeException>(() => Ball.Unit(2).Contains([1, 2, 3])).Message);
    }
}
