using System.Globalization;
using JetSharp.Tensors;
using JetSharp.Ir;

namespace JetSharp.StateSpace;

/// <summary>
/// Identity that raises <see cref="NotFiniteNumberException"/> at run time when an entry of its input is
/// NaN or infinite, naming <see cref="Context"/>, the entry's index and the shape. The filter puts it on
/// the observations and on every model matrix, whose values are only known when the graph runs, so that a
/// NaN (e.g. a missing observation written as NaN) stops the run instead of turning the likelihood into
/// NaN. Its derivatives are those of the identity (tangents and cotangents are not checked).
/// </summary>
internal sealed class RequireFiniteOp(string context) : Primitive
{
    /// <summary>What the input is, quoted in the message.</summary>
    public string Context { get; } = context;

    public override string Name => "require_finite";

    public override string Attributes => Context;

    public override Shape InferShape(IReadOnlyList<Node> inputs)
    {
        Arity(inputs, 1, Name);
        return inputs[0].Shape;
    }

    public override void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context)
    {
        var x = inputs[0];
        for (int i = 0; i < x.Size; i++)
            if (!T.IsFinite(x.Data[i]))
                throw new NotFiniteNumberException(
                    $"{Context}: entry [{string.Join(", ", Index(x.Shape, i))}] of the {x.Shape} input is {double.CreateTruncating(x.Data[i]).ToString(CultureInfo.InvariantCulture)}; every entry must be finite.",
                    double.CreateTruncating(x.Data[i]));
        x.Data.AsSpan(0, x.Size).CopyTo(output.Data);
    }

    private static int[] Index(Shape shape, int flat)
    {
        var index = new int[shape.Rank];
        for (int a = shape.Rank - 1; a >= 0; a--)
        {
            index[a] = flat % shape[a];
            flat /= shape[a];
        }
        return index;
    }

    public override Node?[] Vjp(Node node, Node cotangent) => [cotangent];

    public override Node?[] Taylor(JetRuleArgs args) => args.MapLinear(x => x);
}
