namespace JetSharp.Operators;

/// <summary>An exact fraction of arbitrary-precision integers, always in lowest terms with a positive denominator.</summary>
internal readonly struct Rational : IEquatable<Rational>
{
    public Rational(BigInteger numerator, BigInteger denominator)
    {
        if (denominator.IsZero) throw new DivideByZeroException("Rational: zero denominator.");
        if (denominator.Sign < 0) { numerator = -numerator; denominator = -denominator; }
        var g = BigInteger.GreatestCommonDivisor(numerator, denominator);
        if (!g.IsZero && !g.IsOne) { numerator /= g; denominator /= g; }
        Numerator = numerator;
        Denominator = denominator.IsZero ? BigInteger.One : denominator;
    }

    public BigInteger Numerator { get; }
    private readonly BigInteger _denominator;
    public BigInteger Denominator { get => _denominator.IsZero ? BigInteger.One : _denominator; private init => _denominator = value; }

    public static Rational Zero => new(0, 1);
    public static Rational One => new(1, 1);
    public static implicit operator Rational(long n) => new(n, 1);

    public bool IsZero => Numerator.IsZero;

    public static Rational operator +(Rational a, Rational b) => new(a.Numerator * b.Denominator + b.Numerator * a.Denominator, a.Denominator * b.Denominator);
    public static Rational operator -(Rational a, Rational b) => new(a.Numerator * b.Denominator - b.Numerator * a.Denominator, a.Denominator * b.Denominator);
    public static Rational operator -(Rational a) => new(-a.Numerator, a.Denominator);
    public static Rational operator *(Rational a, Rational b) => new(a.Numerator * b.Numerator, a.Denominator * b.Denominator);
    public static Rational operator /(Rational a, Rational b) => new(a.Numerator * b.Denominator, a.Denominator * b.Numerator);

    public Rational Pow(int e)
    {
        if (e < 0) return One / Pow(-e);
        return new(BigInteger.Pow(Numerator, e), BigInteger.Pow(Denominator, e));
    }

    public double ToDouble() => (double)Numerator / (double)Denominator is var d && double.IsFinite(d)
        ? d : Math.Exp(BigInteger.Log(BigInteger.Abs(Numerator)) - BigInteger.Log(Denominator)) * Numerator.Sign;

    public bool Equals(Rational other) => Numerator == other.Numerator && Denominator == other.Denominator;
    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Rational r && Equals(r);
    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Numerator, Denominator);
    public static bool operator ==(Rational a, Rational b) => a.Equals(b);
    public static bool operator !=(Rational a, Rational b) => !a.Equals(b);
    /// <inheritdoc/>
    public override string ToString() => Denominator.IsOne ? Numerator.ToString() : $"{Numerator}/{Denominator}";
}
