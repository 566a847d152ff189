using JetSharp.Ir;

namespace JetSharp.Primitives;

/// <summary>
/// Arithmetic operators on <see cref="Node"/>s: <c>a + b</c>, <c>a * 2.0</c>, <c>-a</c>, … append the
/// corresponding primitive (as <see cref="Fn"/> does). They are extension operators so that the IR,
/// which knows no primitive but inputs and constants, stays below this layer.
/// </summary>
public static class NodeOperators
{
    private static Node NotNull(Node x, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(x))] string name = "x") =>
        x ?? throw new ArgumentNullException(name);

    extension(Node)
    {
        /// <summary>a + b elementwise (<see cref="Fn.Add"/>). All these operators broadcast NumPy-style; a number is a scalar constant.</summary>
        public static Node operator +(Node a, Node b) => Fn.Add(a, b);
        /// <summary>a − b (<see cref="Fn.Sub"/>).</summary>
        public static Node operator -(Node a, Node b) => Fn.Sub(a, b);
        /// <summary>a · b elementwise (<see cref="Fn.Mul"/>).</summary>
        public static Node operator *(Node a, Node b) => Fn.Mul(a, b);
        /// <summary>a / b elementwise (<see cref="Fn.Div"/>).</summary>
        public static Node operator /(Node a, Node b) => Fn.Div(a, b);
        /// <summary>−a (<see cref="Fn.Neg"/>).</summary>
        public static Node operator -(Node a) => Fn.Neg(NotNull(a));
        /// <summary>a + b with b a scalar constant.</summary>
        public static Node operator +(Node a, double b) => Fn.Add(a, NotNull(a).Graph.Scalar(b));
        /// <summary>a + b with a a scalar constant.</summary>
        public static Node operator +(double a, Node b) => Fn.Add(NotNull(b).Graph.Scalar(a), b);
        /// <summary>a − b with b a scalar constant.</summary>
        public static Node operator -(Node a, double b) => Fn.Sub(a, NotNull(a).Graph.Scalar(b));
        /// <summary>a − b with a a scalar constant.</summary>
        public static Node operator -(double a, Node b) => Fn.Sub(NotNull(b).Graph.Scalar(a), b);
        /// <summary>a · b with b a scalar constant.</summary>
        public static Node operator *(Node a, double b) => Fn.Mul(a, NotNull(a).Graph.Scalar(b));
        /// <summary>a · b with a a scalar constant.</summary>
        public static Node operator *(double a, Node b) => Fn.Mul(NotNull(b).Graph.Scalar(a), b);
        /// <summary>a / b with b a scalar constant.</summary>
        public static Node operator /(Node a, double b) => Fn.Div(a, NotNull(a).Graph.Scalar(b));
        /// <summary>a / b with a a scalar constant.</summary>
        public static Node operator /(double a, Node b) => Fn.Div(NotNull(b).Graph.Scalar(a), b);
    }
}
