using JetSharp.Backend;

namespace JetSharp.CodeGen;

/// <summary>Writes the C# code for the nodes of one primitive family.</summary>
public interface IPrimitiveEmitter
{
    /// <summary>
    /// Writes the statements computing <see cref="EmitContext.Node"/> and sets its value (usually with
    /// <see cref="EmitContext.AllocateResult"/>, or <see cref="EmitContext.Alias"/> for a view).
    /// </summary>
    void Emit(EmitContext context);
}

/// <summary>
/// Where the code generator finds how to write a primitive. Emitters are registered by primitive type;
/// a primitive without one that declares an elementwise <see cref="Primitive.Arithmetic"/> trait is written
/// by <see cref="ElementwiseEmitter"/> from the trait alone, so a new elementwise primitive needs nothing
/// here. The registry lives in this assembly, not in the primitives, because C# text is this assembly's
/// concern: the core stays free of a code-generation dependency, and nothing outside this one table
/// looks at a primitive's type.
/// </summary>
public sealed class EmitterRegistry
{
    private readonly Dictionary<Type, IPrimitiveEmitter> _byType = [];

    /// <summary>The emitters of the built-in primitives (a shared instance: copy it with <see cref="Clone"/> before adding to it).</summary>
    public static EmitterRegistry Default { get; } = CreateDefault();

    /// <summary>Registers <paramref name="emitter"/> for primitives of type <typeparamref name="TPrimitive"/> (replacing any earlier one).</summary>
    public EmitterRegistry Register<TPrimitive>(IPrimitiveEmitter emitter) where TPrimitive : Primitive
    {
        if (ReferenceEquals(this, Default)) throw new InvalidOperationException("EmitterRegistry.Default is shared: Clone() it before registering.");
        _byType[typeof(TPrimitive)] = emitter;
        return this;
    }

    /// <summary>A copy that can be extended without affecting this one.</summary>
    public EmitterRegistry Clone()
    {
        var r = new EmitterRegistry();
        foreach (var (t, e) in _byType) r._byType[t] = e;
        return r;
    }

    /// <summary>The emitter for <paramref name="node"/>'s primitive.</summary>
    /// <exception cref="NotSupportedException">No emitter is registered and the primitive declares no supported elementwise arithmetic.</exception>
    public IPrimitiveEmitter For(Node node) => TryFor(node) ??
        throw new NotSupportedException(
            $"CodeGen: primitive '{node.Op}' ({node.Op.GetType().Name}) of node %{node.Id} {node.Shape} has no C# emitter; " +
            "register one with EmitterRegistry.Register, compile it with EmittedGraph.Compile (which calls the primitive's own kernel), " +
            "or evaluate this graph with the interpreter (JetSharp.Runtime.Executable).");

    /// <summary>The emitter for <paramref name="node"/>'s primitive, or null when there is none.</summary>
    public IPrimitiveEmitter? TryFor(Node node)
    {
        var op = node.Op;
        if (_byType.TryGetValue(op.GetType(), out var e)) return e;
        if (op.Arithmetic is { } a && ElementwiseEmitter.Supports(a)) return ElementwiseEmitter.Instance;
        return null;
    }

    private static EmitterRegistry CreateDefault()
    {
        var r = new EmitterRegistry();
        r._byType[typeof(InputOp)] = new InputEmitter();
        r._byType[typeof(ConstantOp)] = new ConstantEmitter();
        r._byType[typeof(PowOp)] = new PowEmitter();
        r._byType[typeof(MatMulOp)] = new MatMulEmitter();
        r._byType[typeof(SumOp)] = new SumEmitter();
        r._byType[typeof(ReshapeOp)] = new ViewEmitter();
        r._byType[typeof(StopGradientOp)] = new ViewEmitter();
        r._byType[typeof(BroadcastToOp)] = new BroadcastEmitter();
        r._byType[typeof(TransposeOp)] = new TransposeEmitter();
        r._byType[typeof(SliceOp)] = new SliceEmitter();
        r._byType[typeof(PadOp)] = new PadEmitter();
        r._byType[typeof(ConcatOp)] = new ConcatEmitter();
        r._byType[typeof(IdentityMatrixOp)] = new IdentityEmitter();
        r._byType[typeof(SelectionMatrixOp)] = new SelectionMatrixEmitter();
        r._byType[typeof(TakeOp)] = new IndexingEmitter();
        r._byType[typeof(ScatterAddOp)] = new IndexingEmitter();
        r._byType[typeof(ScatterAddIntoOp)] = new ScatterAddIntoEmitter();
        // Control flow: each subgraph one nested class, called from loops and branches (ControlFlowEmitters.cs).
        r._byType[typeof(Control.CallOp)] = new CallEmitter();
        r._byType[typeof(Control.ScanOp)] = new ScanEmitter();
        r._byType[typeof(Control.ScanCheckpointVjpOp)] = new ScanCheckpointVjpEmitter();
        r._byType[typeof(Control.CondOp)] = new CondEmitter();
        r._byType[typeof(Control.WhileOp)] = new WhileEmitter();
        r._byType[typeof(Control.WhileSweepOp)] = new WhileSweepEmitter();
        return r;
    }
}
