using JetSharp.Nn;
using static JetSharp.Tests.Numeric;

namespace JetSharp.Tests;

/// <summary>A result the user receives owns its storage: writing into it never changes an input.</summary>
public class AliasingTests
{
    private static void AssertOwned(NDArray<double> input, NDArray<double> result)
    {
        var before = input.Data.ToArray();
        Assert.NotSame(input.Data, result.Data);
        Array.Fill(result.Data, 42.0);
        Assert.Equal(before, input.Data);
    }

    [Fact]
    public void IdentityLinearOperatorOfOrderZeroReturnsACopy()
    {
        var x = Randn(1, 3, 2);
        var y = Pde.Linear(v => v, x, [(1.0, "")], "xy");
        AssertClose(x, y, 0, "order-0 identity");
        AssertOwned(x, y);
    }

    [Fact]
    public void JvpOfTheIdentityReturnsCopies()
    {
        var x = Randn(2, 3, 2);
        var v = Randn(3, 3, 2);
        var (value, tangent) = Ad.Jvp(u => u, x, v);
        AssertClose(x, value, 0, "value");
        AssertClose(v, tangent, 0, "tangent");
        AssertOwned(x, value);
        AssertOwned(v, tangent);
    }

    [Fact]
    public void CompiledOperatorOutputIsNotAnInput()
    {
        var x = Randn(4, 5, 2);
        var op = DifferentialOperator.Linear([(1.0, "")], "xy").Compile(u => u, new Shape(5, 2));
        var y = op.Run(x);
        AssertClose(x, y, 0, "identity");
        AssertOwned(x, y);
    }

    [Fact]
    public void TwoOutputsOfTheSameNodeAreTwoTensors()
    {
        var g = Tracer.Function(xs => [Fn.Exp(xs[0]), Fn.Exp(xs[0])], [new Shape(4)]);
        var outs = Runtime.Executable.Compile(g).Run(Randn(5, 4));
        Assert.NotSame(outs[0].Data, outs[1].Data);
    }
}
