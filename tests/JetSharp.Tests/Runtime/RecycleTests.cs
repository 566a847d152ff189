using JetSharp.Nn;
using JetSharp.Runtime;
using static JetSharp.Tests.Numeric;

namespace JetSharp.Tests;

/// <summary>
/// <see cref="Executable.Recycle{T}"/>: outputs given back are reused by later runs (no new allocation), the results
/// stay those of a fresh executable, and only storage the executable handed out is accepted.
/// </summary>
public class RecycleTests
{
    private static (Executable Exe, Executable Fresh, Func<NDArray<double>> Input) Setup()
    {
        var net = Mlp.Create(64, [64, 64], 64, Activation.Tanh, seed: 5);
        var graph = Tracer.Function(xs => new[] { net.Apply(xs[0]), Fn.Sum(net.Apply(xs[0]) * xs[0], 1, keepDims: true) }, [new Shape(32, 64)]);
        int k = 0;
        return (Executable.Compile(graph), Executable.Compile(graph), () => Randn(100 + k++, 32, 64));
    }

    [Fact]
    public void RecycledOutputsAreReusedAndResultsDoNotChange()
    {
        var (exe, fresh, input) = Setup();
        var x0 = input();
        exe.Recycle(exe.Run(x0));
        for (int i = 0; i < 3; i++)
        {
            var x = input();
            var outs = exe.Run(x);
            Assert.Equal(0, exe.LastRun.AllocatedBytes);   // every buffer came from the pool, the outputs' included
            var expected = fresh.Run(x);
            for (int o = 0; o < outs.Length; o++) Assert.Equal(expected[o].Data, outs[o].Data);
            exe.Recycle(outs);
        }
        // Without recycling, each run allocates its outputs afresh.
        fresh.Run(input());
        Assert.True(fresh.LastRun.AllocatedBytes >= 32 * 64 * sizeof(double));
    }

    [Fact]
    public void OnlyOutputsThisExecutableHandedOutAreAccepted()
    {
        var (exe, other, input) = Setup();
        var x = input();
        var outs = exe.Run(x);
        var foreign = other.Run(x);
        Assert.Contains("not an output", Assert.Throws<ArgumentException>(() => exe.Recycle([x])).Message);              // an input: the caller's storage
        Assert.Contains("not an output", Assert.Throws<ArgumentException>(() => exe.Recycle(foreign)).Message);          // another executable's
        Assert.Contains("not an output", Assert.Throws<ArgumentException>(() => exe.Recycle([outs[0].Clone()])).Message); // a copy
        Assert.Contains("shares its storage", Assert.Throws<ArgumentException>(() => exe.Recycle([outs[0], outs[0]])).Message);
        Assert.Throws<ArgumentException>(() => exe.Recycle<float>([new NDArray<float>(new Shape(2))]));                  // dtype
        exe.Recycle(outs);
        Assert.Contains("given back already", Assert.Throws<ArgumentException>(() => exe.Recycle([outs[1]])).Message);
        // The refused calls changed nothing: the input is intact and later runs are still right.
        var y = input();
        Assert.Equal(other.Run(y)[0].Data, exe.Run(y)[0].Data);
    }
}
