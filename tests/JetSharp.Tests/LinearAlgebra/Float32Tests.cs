using JetSharp.Runtime;

namespace JetSharp.Tests.LinearAlgebra;

public class Float32Tests
{
    [Fact]
    public void PrimitivesRunInSinglePrecision()
    {
        var a = NDArray.RandomNormal<float>(new Shape(2, 3, 5), seed: 1);
        var g = Tracer.Function(xs =>
        {
            var r = Linalg.Tria(xs[0]);
            var gram = Fn.MatMul(xs[0], xs[0], transposeB: true);
            var l = Linalg.Cholesky(gram);
            var x = Linalg.SolveTriangular(l, Fn.MatMul(r, r, transposeB: true));
            return Fn.Reshape(Fn.Sum(Fn.Square(r - l)) + Fn.Sum(Fn.Square(Fn.MatMul(l, x) - gram)), 1);
        }, [a.Shape], DType.Float32);
        var outs = Executable.Compile(Transforms.Vjp.Grad(g)).Run<float>(a);
        Assert.True(outs[0].ToScalar() < 1e-8f, $"{outs[0].ToScalar()}");
        Assert.All(outs[1].Data, v => Assert.True(float.IsFinite(v)));
    }
}
