using JetSharp.Examples.ControlFlow;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests.ControlFlow;

public class ApplicationTests
{
    [Fact]
    public void PiecewiseLaplacianIsRightOnBothSides()
    {
        var rows = PiecewiseLaplacianDemo.Run(points: 4, dimension: 3);
        Assert.Contains(rows, r => r.Inside);
        Assert.Contains(rows, r => !r.Inside);
        Assert.All(rows, r => Assert.True(r.MaxError <= 1e-12, $"error {r.MaxError:E2} at |x|² = {r.Point.Sum(c => c * c):F3}"));
    }

    [Fact]
    public void NewtonSolveThroughWhileMatchesImplicitDerivatives()
    {
        var r = NewtonInModelDemo.Run(points: 3, dimension: 3);
        Assert.InRange(r.Iterations, 3, 60);
        Assert.True(r.GradientVsImplicit <= 1e-12, $"gradient vs implicit {r.GradientVsImplicit:E2}");
        Assert.True(r.GradientVsExact <= 1e-12, $"gradient vs exact {r.GradientVsExact:E2}");
        Assert.True(r.LaplacianVsExact <= 1e-11, $"Laplacian vs exact {r.LaplacianVsExact:E2}");
        Assert.True(r.HvpVsExact <= 1e-11, $"HVP vs exact {r.HvpVsExact:E2}");
        Assert.True(r.LaplacianVsImplicitDifferences <= 1e-7, $"Laplacian vs differences of the implicit gradient {r.LaplacianVsImplicitDifferences:E2}");
        Assert.True(r.HvpVsImplicitDifferences <= 1e-7, $"HVP vs differences of the implicit gradient {r.HvpVsImplicitDifferences:E2}");
    }

    [Fact]
    public void NewtonLaplacianStrategiesAgree()
    {
        var x = Randn(5, 3, 2);
        Node U(Node xs) => NewtonInModelDemo.SolveByWhile(NewtonInModelDemo.A(xs)).Values[0];
        var reference = Pde.Laplacian(U, x, Strategy.StandardTaylor);
        Close(reference, Pde.Laplacian(U, x, Strategy.Collapsed), 1e-12);
        Close(reference, Pde.Laplacian(U, x, Strategy.NestedFirstOrder), 1e-12);
    }
}

public class WhileMemoryTests
{
    [Fact]
    public void ReverseModeThroughWhileMatchesTheUnrolledGradientAndStoresEveryCarryOrCheckpoints()
    {
        var r = WhileMemoryDemo.Run(steps: 100, width: 8);
        Assert.True(r.GradientDifference <= 1e-12, $"gradients differ by {r.GradientDifference:E2}");
        // The sweep stores one carry (x [8, 1] and the counter) per trip; checkpointed, 10 checkpoints and one 10-trip segment.
        Assert.True(r.WhileBytes >= 100 * 9 * sizeof(double), $"while peak {r.WhileBytes} bytes");
        Assert.True(r.CheckpointedBytes <= r.WhileBytes - 70 * 9 * sizeof(double), $"checkpointed peak {r.CheckpointedBytes} bytes, stored {r.WhileBytes}");
    }
}
