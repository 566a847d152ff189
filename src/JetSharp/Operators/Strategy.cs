namespace JetSharp.Operators;

/// <summary>How a differential operator is computed. All strategies give the same result up to rounding.</summary>
public enum Strategy
{
    /// <summary>Standard Taylor mode followed by a sum over directions, rewritten by the simplifier so that
    /// sums of highest-order coefficients are propagated instead (METHOD.md §3). The default.</summary>
    Collapsed,

    /// <summary>One jet per direction (x₀ shared), highest coefficients summed at the end.</summary>
    StandardTaylor,

    /// <summary>Hessian-vector products, forward-over-reverse, batched over directions (the common baseline).</summary>
    NestedFirstOrder,
}
