namespace JetSharp.Ir;

/// <summary>
/// A partition of the elements of a tensor into groups by their index along one axis: the element with
/// index i along <see cref="Axis"/> belongs to group <see cref="Offset"/> + i / <see cref="Block"/> (integer
/// division). For electrons x [N, 3n] flattened per datum, the coordinates of electron p (columns 3p..3p+2)
/// are group p: axis 1, block 3, offset 0; for per-electron features [N, n, F] electron p is group p: axis 1,
/// block 1, offset 0. Used by <see cref="Primitive.CarriedGroups"/> to state which outputs depend on one group only.
/// </summary>
/// <param name="Axis">The axis whose index decides the group.</param>
/// <param name="Block">Consecutive indices per group (≥ 1).</param>
/// <param name="Offset">The group of index 0 (may be negative for a part of a concatenation).</param>
public readonly record struct AxisGroups(int Axis, int Block, int Offset)
{
    /// <summary>The group of index <paramref name="index"/> along <see cref="Axis"/>.</summary>
    public int GroupOf(int index) => Offset + index / Block;

    /// <summary>"axis 1 (block 3, offset 0)".</summary>
    public override string ToString() => $"axis {Axis} (block {Block}, offset {Offset})";
}
