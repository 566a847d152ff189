using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>Helpers for Taylor rules that need primitives (the IR's <see cref="JetRuleArgs"/> knows none).</summary>
public static class JetRuleArgsExtensions
{
    extension(JetRuleArgs args)
    {
        /// <summary>
        /// Coefficient k ≥ 1 of input i with size-1 axes inserted after the direction prefix so that it has
        /// the output's rank plus the prefix: NumPy broadcasting then aligns primal axes with primal axes.
        /// For k = 0 the primal itself (it has no prefix, so right-aligned broadcasting already works).
        /// </summary>
        public Node? Lifted(int input, int k, int primalRank = -1)
        {
            var x = args.X(input, k);
            if (x is null || k == 0) return x;
            if (primalRank < 0) primalRank = args.Output0.Rank;
            int missing = primalRank - args.Primals[input].Rank;
            if (missing <= 0) return x;
            var dims = new List<int>(x.Shape.Take(args.PrefixRank));
            dims.AddRange(Enumerable.Repeat(1, missing));
            dims.AddRange(x.Shape.Skip(args.PrefixRank));
            return Fn.Reshape(x, [.. dims]);
        }
    }
}
