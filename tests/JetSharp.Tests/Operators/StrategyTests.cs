using JetSharp.Nn;
using JetSharp.Primitives;
using JetSharp.Simplify;
using static JetSharp.Tests.SimplifyTestUtil;
using static JetSharp.Tests.TestUtil;

namespace JetSharp.Tests;

/// <summary>The <see cref="Strategy"/> objects (names, lookup, defaults, formulation choice) and the <see cref="CleanUp"/> pass.</summary>
public class StrategyTests
{
    [Fact]
    public void NamesAndDescriptionsAreTheDisplayedStrings()
    {
        Assert.Equal(["Collapsed", "StandardTaylor", "NestedFirstOrder"], Strategy.All.Select(s => s.ToString()));
        Assert.Equal(["Collapsed", "StandardTaylor", "NestedFirstOrder"], Strategy.All.Select(s => s.Name));
        Assert.Equal(["collapsed Taylor", "standard Taylor", "nested first-order"], Strategy.All.Select(s => s.Description));
        Assert.Same(Strategy.Collapsed, Strategy.All[0]);
    }

    [Fact]
    public void FromNameFindsEachStrategyAndRejectsOthers()
    {
        foreach (var s in Strategy.All)
        {
            Assert.Same(s, Strategy.FromName(s.Name));
            Assert.Same(s, Strategy.FromName(s.Name.ToLowerInvariant()));
        }
        var e = Assert.Throws<ArgumentException>(() => Strategy.FromName("Forward"));
        Assert.Contains("Forward", e.Message);
        Assert.Contains("NestedFirstOrder", e.Message);
    }

    [Fact]
    public void OnlyTheNestedStrategyUsesAnOperatorsOwnNestedFormulation()
    {
        Assert.Equal("general", Strategy.Collapsed.Formulate(() => "general", () => "nested"));
        Assert.Equal("general", Strategy.StandardTaylor.Formulate(() => "general", () => "nested"));
        Assert.Equal("nested", Strategy.NestedFirstOrder.Formulate(() => "general", () => "nested"));
        Assert.Equal("general", Strategy.NestedFirstOrder.Formulate(() => "general", null));
    }

    [Fact]
    public void ANullStrategyMeansCollapsed()
    {
        var net = Mlp.Create(3, [5], 1, Activation.Tanh, seed: 1);
        var f = Tracer.Function(net.Apply, new Shape(4, 3));
        var op = DifferentialOperator.Laplacian();
        var byDefault = op.Build(f);
        var collapsed = op.Build(f, Strategy.Collapsed);
        Assert.Equal(collapsed.Nodes.Count, byDefault.Nodes.Count);
        SameOutputs(collapsed, byDefault, [Randn(2, 4, 3)]);
        Assert.Same(Strategy.Collapsed, op.Compile(net.Apply, new Shape(4, 3), DType.Float64, null).Strategy);
    }

    [Fact]
    public void CleanUpMergesCommonSubexpressionsAndDropsDeadCodeWithoutRewriting()
    {
        var g = new Graph(DType.Float64);
        var x = g.Input(new Shape(2, 3), "x");
        _ = Fn.Exp(x);                                            // dead
        g.SetOutputs(Fn.Tanh(x) * 1.0 + Fn.Tanh(x) * 1.0);        // ·1 is left alone: no rules
        var clean = CleanUp.Run(g);
        Assert.Single(LiveOf<TanhOp>(clean));
        Assert.DoesNotContain(clean.Nodes, n => n.Op is ExpOp);
        Assert.Contains(Live(clean), n => n.Op is MulOp);
        Assert.Equal(new Simplifier([]).Run(g).Nodes.Count, clean.Nodes.Count);
        SameOutputs(g, clean, [Randn(3, 2, 3)]);
    }
}
