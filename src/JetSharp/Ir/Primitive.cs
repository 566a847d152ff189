using JetSharp.Tensors;

namespace JetSharp.Ir;

/// <summary>
/// An operation of the graph IR. A primitive is data plus its rules, all in one place: how it infers
/// and checks its output shape, how it computes (the kernel), its vector-Jacobian product (reverse
/// mode) and its Taylor rule (forward mode of any order; the JVP is the order-1 case). Transforms
/// look up these rules and never switch on the kind of primitive.
/// </summary>
public abstract class Primitive : IEquatable<Primitive>
{
    /// <summary>Short lower-case name used in listings, messages and DOT output.</summary>
    public abstract string Name { get; }

    /// <summary>Attributes in canonical text form; two primitives are equal when type and attributes agree.</summary>
    public virtual string Attributes => "";

    /// <summary>Random sampling: never merged by common-subexpression elimination.</summary>
    public virtual bool IsRandom => false;

    /// <summary>True for primitives whose output shares the storage of input 0 (a view such as reshape).</summary>
    public virtual bool IsView => false;

    /// <summary>Checks the inputs and returns the output shape; throws <see cref="ShapeException"/> naming the op and shapes.</summary>
    public abstract Shape InferShape(IReadOnlyList<Node> inputs);

    /// <summary>Computes <paramref name="output"/> (pre-allocated, contents undefined) from the inputs.</summary>
    public abstract void Execute<T>(Tensor<T>[] inputs, Tensor<T> output, RunContext context) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>
    /// Reverse-mode rule: given the node (its inputs and output live in the graph being built) and the
    /// cotangent of its output, returns one cotangent per input (null where the input gets none).
    /// Cotangents must have the input's shape: undo broadcasting with <c>Fn.SumToShape</c>.
    /// </summary>
    public virtual Node?[] Vjp(Node node, Node cotangent) => throw new MissingRuleException(node, "reverse-mode (VJP)");

    /// <summary>
    /// Taylor rule (derivative convention, see <c>JetSharp.Transforms.Jet</c>): from the input jets,
    /// the output coefficients y_1..y_K. A null coefficient is known to be zero.
    /// </summary>
    public virtual Node?[] Taylor(JetRuleArgs args) => throw new MissingRuleException(args.Source, "Taylor-mode (jet)");

    protected static void Arity(IReadOnlyList<Node> inputs, int n, string op)
    {
        if (inputs.Count != n)
            throw new ShapeException($"{op}: expected {n} input(s), got {inputs.Count}.");
    }

    public bool Equals(Primitive? other) =>
        other is not null && other.GetType() == GetType() && other.Attributes == Attributes && !IsRandom && !other.IsRandom;

    public override bool Equals(object? obj) => obj is Primitive p && Equals(p);

    public override int GetHashCode() => HashCode.Combine(GetType(), Attributes);

    public override string ToString() => Attributes.Length == 0 ? Name : $"{Name}[{Attributes}]";
}
