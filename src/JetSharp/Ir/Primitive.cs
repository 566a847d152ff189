using JetSharp.Backend;
using JetSharp.Tensors;

namespace JetSharp.Ir;

/// <summary>
/// How a primitive's output depends on one of its inputs, declared by the primitive
/// (<see cref="Primitive.LinearityIn"/>) so that rewrite rules need not name primitives.
/// </summary>
public enum Linearity
{
    /// <summary>Not declared linear in this input (the default).</summary>
    Nonlinear,

    /// <summary>
    /// Linear in this input on its own, the other inputs held fixed: a zero here makes the output zero,
    /// and a sum over this input's terms can move inside. Both factors of a·b and of a matmul, the
    /// numerator of a / b, the input of a one-input linear map (sum, reshape, transpose, −x).
    /// </summary>
    Linear,

    /// <summary>
    /// Linear only together with the primitive's other <see cref="JointlyLinear"/> inputs: the output is
    /// a linear map of all of them at once, and affine in each alone (both inputs of a + b and a − b,
    /// every input of a concat). Zeros in all of them make the output zero.
    /// </summary>
    JointlyLinear,
}

/// <summary>
/// An operation of the graph IR. A primitive is data plus its rules, all in one place: how it infers
/// and checks its output shape, how it computes (the kernel), its vector-Jacobian product (reverse
/// mode) and its Taylor rule (forward mode of any order; the JVP is the order-1 case), and its traits
/// (<see cref="LinearityIn"/>, <see cref="IsElementwise"/>, <see cref="Arithmetic"/>). Transforms look
/// up these rules, and the simplifier and the fuser read the traits; none of them switch on the kind of
/// primitive for a property the primitive declares.
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

    /// <summary>
    /// Trait: the input whose buffer the kernel may take over as its output, or −1 (the default). The input must have the
    /// output's shape; the executor's memory plan hands its buffer over only when that input dies at this node (its last
    /// consumer, not a graph output, computed by the run, not viewed) and is no other input of the node. The kernel then
    /// finds the input's and the output's storage to be one array and must give the same result as with a fresh output
    /// (e.g. update the elements where they are instead of copying them first). Elementwise primitives need not declare
    /// it: the plan reuses their operands' buffers from <see cref="IsElementwise"/>.
    /// </summary>
    public virtual int InPlaceInput => -1;

    /// <summary>
    /// Trait: how the output depends on input <paramref name="input"/>, the others held fixed (see
    /// <see cref="Linearity"/>). <see cref="Linearity.Nonlinear"/> unless the primitive declares otherwise.
    /// </summary>
    public virtual Linearity LinearityIn(int input) => Linearity.Nonlinear;

    /// <summary>
    /// Trait: output element i depends only on element i of each input, the inputs broadcast to the
    /// output's shape, so that f(broadcast x) = broadcast f(x). True whenever <see cref="Arithmetic"/> is set.
    /// </summary>
    public virtual bool IsElementwise => Arithmetic is not null;

    /// <summary>
    /// Trait: the elementwise arithmetic this primitive computes, as a backend operation (one
    /// <see cref="BinaryOp"/> or <see cref="UnaryOp"/>), or null. The fuser runs fused trees of these.
    /// </summary>
    public virtual ElementwiseArithmetic? Arithmetic => null;

    /// <summary>
    /// Trait: when the elements of input <paramref name="input"/> of <paramref name="node"/> are grouped by
    /// <paramref name="groups"/> (e.g. by particle), the grouping of the output under which every output element
    /// depends on elements of that input in its own group only; null when the primitive mixes groups (a sum or a
    /// contraction over the grouped axis, a determinant, an attention step) or does not declare how it maps them.
    /// The default handles elementwise primitives (<see cref="IsElementwise"/>): the grouped axis is carried to
    /// the aligned output axis unless it is stretched by broadcasting. Used by the particle-sparse forward
    /// Laplacian (<c>JetSharp.Transforms.GroupedJet</c>) to keep per-particle tangents block-sparse.
    /// </summary>
    /// <param name="node">A node with this primitive (its inputs give the shapes).</param>
    /// <param name="input">Which input is grouped.</param>
    /// <param name="groups">The grouping of that input.</param>
    public virtual AxisGroups? CarriedGroups(Node node, int input, AxisGroups groups)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (!IsElementwise) return null;
        var from = node.Inputs[input].Shape;
        int axis = groups.Axis + node.Rank - from.Rank;
        return axis >= 0 && node.Shape[axis] == from[groups.Axis] ? groups with { Axis = axis } : null;
    }

    /// <summary>Checks the inputs and returns the output shape; throws <see cref="ShapeException"/> naming the op and shapes.</summary>
    public abstract Shape InferShape(IReadOnlyList<Node> inputs);

    /// <summary>Computes <paramref name="output"/> (pre-allocated, contents undefined) from the inputs.</summary>
    public abstract void Execute<T>(NDArray<T>[] inputs, NDArray<T> output, RunContext context) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>
    /// Trait: the kernel fills the output of <paramref name="node"/> as the C of one GEMM and can hand each finished piece of it
    /// to a <see cref="GemmEpilogue{T}"/> while it is in cache (<see cref="ExecuteWithEpilogue{T}"/>); the fuser then runs the
    /// output's elementwise consumers and leading-axis sums there. False unless the primitive declares it.
    /// </summary>
    internal virtual bool AcceptsEpilogue(Node node) => false;

    /// <summary>Runs the kernel with <paramref name="epilogue"/> on its output (only where <see cref="AcceptsEpilogue"/> holds).</summary>
    internal virtual void ExecuteWithEpilogue<T>(NDArray<T>[] inputs, NDArray<T> output, GemmEpilogue<T> epilogue) where T : unmanaged, IFloatingPointIeee754<T> =>
        throw new NotSupportedException($"{Name}: the kernel does not run epilogues.");

    /// <summary>
    /// Trait: nodes of this primitive whose keys are equal (and not null) can run as one kernel call,
    /// <see cref="ExecuteStacked{T}"/>, that gives each node the result of its own <see cref="Execute{T}"/> (e.g. products
    /// by one matrix, which then packs it once). Null, the default, when the node does not stack.
    /// </summary>
    internal virtual object? StackKey(Node node) => null;

    /// <summary>
    /// Runs nodes with equal <see cref="StackKey"/>s (or one node that declares a <see cref="FactoredInput"/>): one set of
    /// inputs and one output per node. A non-null <paramref name="factors"/>[i] multiplies node i's input
    /// <see cref="FactoredInput"/> elementwise (the two broadcast to that input's shape): the kernel forms the product as it
    /// reads it, with the bits a stored product would give. <paramref name="unchanging"/>[j]: input j of every node is a graph
    /// constant, the same values at every run, so the kernel may keep what it derives from it (a GEMM's packed weight).
    /// </summary>
    internal virtual void ExecuteStacked<T>(NDArray<T>[][] inputs, NDArray<T>?[] factors, NDArray<T>[] outputs, bool[] unchanging)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        throw new NotSupportedException($"{Name}: the kernel does not run stacked.");

    /// <summary>
    /// Trait: the input that <see cref="ExecuteStacked{T}"/> can take as the elementwise product of operands shaped
    /// <paramref name="first"/> and <paramref name="second"/>, multiplying them where the kernel reads them (a GEMM's left
    /// operand f′(z)·x₁, sliver by sliver in cache), so that product is never stored; −1, the default, when there is none.
    /// </summary>
    internal virtual int FactoredInput(Node node, Shape first, Shape second) => -1;

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

    /// <summary>Checks that <paramref name="inputs"/> has exactly <paramref name="n"/> elements.</summary>
    /// <param name="inputs">The inputs passed to <c>InferShape</c> or a similar rule.</param>
    /// <param name="n">The expected count.</param>
    /// <param name="op">Name used in the error message.</param>
    /// <exception cref="ShapeException">The count differs.</exception>
    protected static void Arity(IReadOnlyList<Node> inputs, int n, string op)
    {
        if (inputs.Count != n)
            throw new ShapeException($"{op}: expected {n} input(s), got {inputs.Count}.");
    }

    /// <summary>
    /// Structural equality: same type and equal <see cref="Attributes"/>. Random primitives are never equal,
    /// not even to themselves, so that common-subexpression elimination does not merge independent draws.
    /// </summary>
    public virtual bool Equals(Primitive? other) =>
        other is not null && other.GetType() == GetType() && other.Attributes == Attributes && !IsRandom && !other.IsRandom;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Primitive p && Equals(p);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(GetType(), Attributes);

    /// <inheritdoc/>
    public override string ToString() => Attributes.Length == 0 ? Name : $"{Name}[{Attributes}]";
}
