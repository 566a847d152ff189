using Sn = System.Numerics.Tensors;

namespace JetSharp.Tests.Tensors;

public class InteropTests
{
    [Fact]
    public void TensorSpansAreViewsOfTheArraysStorage()
    {
        var a = NDArray.FromArray(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        var span = a.AsTensorSpan();
        Assert.Equal([2, 3], span.Lengths.ToArray());
        span[1, 2] = 60;                      // a write through the view changes the array
        Assert.Equal(60, a[1, 2]);
        a[0, 1] = 20;                         // and the view sees writes to the array
        Assert.Equal(20, a.AsReadOnlyTensorSpan()[0, 1]);

        // System.Numerics.Tensors operations can write into JetSharp storage directly.
        var b = NDArray.Full(new Shape(2, 3), 1.0);
        var sum = new NDArray<double>(new Shape(2, 3));
        Sn.Tensor.Add(a.AsReadOnlyTensorSpan(), b.AsReadOnlyTensorSpan(), sum.AsTensorSpan());
        Assert.Equal([2, 21, 4, 5, 6, 61], sum.Data);
        Assert.Equal([(nint)1], NDArray.Scalar(3f).AsTensorSpan().Lengths.ToArray());   // a scalar is seen as shape [1]
    }

    [Fact]
    public void CopiesNeverShareStorage()
    {
        var a = NDArray.FromArray(new float[] { 1, 2, 3, 4 }, new Shape(2, 2));
        var sys = a.ToSystemTensor();
        sys[0, 0] = 100;
        Assert.Equal(1, a[0, 0]);
        var back = sys.ToJetSharp();
        back[1, 1] = -1;
        Assert.Equal(4, sys[1, 1]);

        // CopyFrom fills an existing array from a strided view without allocating a new one.
        var wide = NDArray.FromArray(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), new Shape(3, 4));
        var view = wide.AsReadOnlyTensorSpan().Slice([new System.Buffers.NRange(1, 3), new System.Buffers.NRange(2, 4)]);
        var dest = new NDArray<float>(new Shape(2, 2));
        dest.CopyFrom(view);
        Assert.Equal([6f, 7, 10, 11], dest.Data);
        Assert.Contains("[2, 2]", Assert.Throws<ShapeException>(() => new NDArray<float>(new Shape(4)).CopyFrom(
            wide.AsReadOnlyTensorSpan().Slice([new System.Buffers.NRange(1, 3), new System.Buffers.NRange(2, 4)]))).Message);
    }
}
