using JetSharp.Nn;

namespace JetSharp.Tests.Nn;

public class MlpFloat32InitTests
{
    [Fact]
    public void Float32WeightsAreTheFloat64DrawRounded()
    {
        // Drawn straight into float32 (no float64 copy of a layer): still exactly the float64 network rounded to nearest.
        var f64 = Mlp.Create(37, [16, 9], 3, Activation.Tanh, seed: 11, DType.Float64);
        var f32 = Mlp.Create(37, [16, 9], 3, Activation.Tanh, seed: 11, DType.Float32);
        Assert.Equal(f64.Parameters.Length, f32.Parameters.Length);
        for (int i = 0; i < f64.Parameters.Length; i++)
        {
            var d = ((NDArray<double>)f64.Parameters[i]).Data;
            var f = Assert.IsType<NDArray<float>>(f32.Parameters[i]).Data;
            Assert.Equal(Array.ConvertAll(d, v => (float)v), f);
        }
    }
}
