namespace JetSharp.Tests.Tensors;

/// <summary>Collection expressions build a <see cref="Shape"/> wherever one is taken (C# collection builder).</summary>
public class ShapeCollectionTests
{
    private static Shape Echo(Shape s) => s;

    [Fact]
    public void CollectionExpressionsBuildShapes()
    {
        Shape s = [16, 50];
        Assert.Equal(new Shape(16, 50), s);
        Assert.Equal(Shape.Scalar, Echo([]));
        Assert.Equal(new Shape(2, 3, 4), Echo([2, .. new[] { 3, 4 }]));
        var x = NDArray.RandomNormal<double>([3, 2], seed: 1);
        Assert.Equal(new Shape(3, 2), x.Shape);
        Assert.Equal(6, x.Size);
    }

    [Fact]
    public void ACollectionExpressionCopiesItsExtentsAndRejectsNegativeOnes()
    {
        int[] dims = [2, 3];
        Shape s = [.. dims];
        dims[0] = 9;
        Assert.Equal(2, s[0]);
        var e = Assert.Throws<ArgumentException>(() => Echo([2, -1]));
        Assert.Contains("negative extent", e.Message);
    }
}
