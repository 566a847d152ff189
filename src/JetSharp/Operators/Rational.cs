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

    /// <summary>−1, 0 or 1.</summary>
    public int Sign => Numerator.Sign;

    public static Rational Abs(Rational a) => a.Sign < 0 ? -a : a;

    /// <summary>⌊log₂ r⌋ of a positive r, exactly.</summary>
    public long FloorLog2()
    {
        if (Sign <= 0) throw new ArgumentOutOfRangeException(nameof(Numerator), $"Rational.FloorLog2: {this} is not positive.");
        long e = (long)Numerator.GetBitLength() - (long)Denominator.GetBitLength();   // 2^(e−1) < r < 2^(e+1)
        var lhs = e >= 0 ? Numerator : Numerator << (int)-e;
        var rhs = e >= 0 ? Denominator << (int)e : Denominator;
        return lhs >= rhs ? e : e - 1;
    }

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

    /// <summary>The exact value of a finite double (every finite double is a dyadic fraction m·2^e).</summary>
    public static Rational FromDouble(double value)
    {
        if (!double.IsFinite(value)) throw new ArgumentException($"Rational: {value} is not a finite number.", nameof(value));
        if (value == 0) return Zero;
        long bits = BitConverter.DoubleToInt64Bits(value);
        int exponent = (int)((bits >> 52) & 0x7FF);
        long mantissa = bits & 0xFFFFFFFFFFFFFL;
        if (exponent == 0) exponent = 1; else mantissa |= 1L << 52;   // subnormal: no implicit bit
        exponent -= 1075;                                              // value = ±mantissa·2^exponent
        BigInteger m = value < 0 ? -mantissa : mantissa;
        return exponent >= 0 ? new(m << exponent, 1) : new(m, BigInteger.One << -exponent);
    }

    /// <summary>
    /// The nearest double, to within one unit in the last place at any magnitude: the quotient is taken
    /// with 64 significant bits and scaled by a power of two (no overflow of the numerator or denominator
    /// on the way, which a plain (double)p / (double)q has for huge p and q).
    /// </summary>
    public double ToDouble()
    {
        if (Numerator.IsZero) return 0;
        var p = BigInteger.Abs(Numerator);
        long shift = (long)(p.GetBitLength() - Denominator.GetBitLength()) - 64;  // quotient has ≥ 64 bits
        var q = shift >= 0 ? p / (Denominator << (int)shift) : (p << (int)-shift) / Denominator;
        double d = Math.ScaleB((double)q, (int)Math.Clamp(shift, int.MinValue, int.MaxValue));
        return Numerator.Sign < 0 ? -d : d;
    }

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
