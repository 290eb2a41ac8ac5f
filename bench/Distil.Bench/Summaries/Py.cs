using System.Globalization;
using System.Numerics;

namespace Distil.Bench.Summaries;

/// <summary>
/// The number formatting and statistics of the Python scripts these summaries replaced, reproduced digit for digit so
/// that a table rebuilt from the same run folders is byte-identical: Python's <c>format(x, ".2f")</c> rounds the exact
/// binary value half-to-even (.NET's "F2" rounds half away from zero), <c>repr(float)</c> switches to exponent form
/// outside 1e-4..1e16, and <c>statistics.mean</c> / <c>stdev</c> are exact (fractions) and correctly rounded, where a
/// plain sum / n can be one ulp off, which shows in the JSON's 17-digit numbers.
/// </summary>
public static class Py
{
    /// <summary>Python's f"{x:.{digits}f}".</summary>
    public static string Fixed(double x, int digits)
    {
        if (double.IsNaN(x)) return "nan";
        if (double.IsInfinity(x)) return x > 0 ? "inf" : "-inf";
        var (n, scale) = ExactDecimal(Math.Abs(x));
        // x = n / 10^scale exactly; round to `digits` places, ties to even.
        if (scale > digits)
        {
            var div = BigInteger.Pow(10, scale - digits);
            var q = BigInteger.DivRem(n, div, out var r);
            int c = (2 * r).CompareTo(div);
            if (c > 0 || (c == 0 && !q.IsEven)) q += 1;
            n = q;
        }
        else n *= BigInteger.Pow(10, digits - scale);
        string s = n.ToString(CultureInfo.InvariantCulture).PadLeft(digits + 1, '0');
        string body = digits == 0 ? s : s[..^digits] + "." + s[^digits..];
        return (x < 0 || (x == 0 && double.IsNegative(x)) ? "-" : "") + body;
    }

    /// <summary>Python's f"{x:g}": 6 significant digits, fixed between 1e-4 and 1e6, trailing zeros dropped.</summary>
    public static string G(double x, int precision = 6)
    {
        if (double.IsNaN(x)) return "nan";
        if (double.IsInfinity(x)) return x > 0 ? "inf" : "-inf";
        string sign = x < 0 || (x == 0 && double.IsNegative(x)) ? "-" : "";
        if (x == 0) return sign + "0";
        var (digits, exp) = Significant(Math.Abs(x), precision);
        string s;
        if (exp >= -4 && exp < precision)
        {
            s = exp >= 0
                ? (digits.Length > exp + 1 ? digits[..(exp + 1)] + "." + digits[(exp + 1)..] : digits.PadRight(exp + 1, '0'))
                : "0." + new string('0', -exp - 1) + digits;
            if (s.Contains('.')) s = s.TrimEnd('0').TrimEnd('.');
        }
        else
        {
            string m = digits.Length > 1 ? (digits[..1] + "." + digits[1..]).TrimEnd('0').TrimEnd('.') : digits;
            s = m + "e" + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
        }
        return sign + s;
    }

    /// <summary>Python's repr(float): the shortest round-trip digits, exponent form below 1e-4 and from 1e16 on.</summary>
    public static string Repr(double x)
    {
        if (double.IsNaN(x)) return "nan";
        if (double.IsInfinity(x)) return x > 0 ? "inf" : "-inf";
        string r = Math.Abs(x).ToString("R", CultureInfo.InvariantCulture); // .NET's shortest round-trip digits
        int e = 0, ePos = r.IndexOfAny(['E', 'e']);
        if (ePos >= 0) { e = int.Parse(r[(ePos + 1)..], CultureInfo.InvariantCulture); r = r[..ePos]; }
        int dot = r.IndexOf('.');
        string intPart = dot < 0 ? r : r[..dot], frac = dot < 0 ? "" : r[(dot + 1)..];
        string all = (intPart + frac).TrimStart('0');
        int lead = intPart.TrimStart('0').Length > 0 ? intPart.TrimStart('0').Length : -(frac.Length - frac.TrimStart('0').Length);
        string digits = all.TrimEnd('0');
        if (digits.Length == 0) return (double.IsNegative(x) ? "-" : "") + "0.0";
        int exp = lead - 1 + e; // decimal exponent of the first significant digit
        string s;
        if (exp >= -4 && exp < 16)
        {
            if (exp >= 0)
            {
                string ip = digits.Length > exp + 1 ? digits[..(exp + 1)] : digits.PadRight(exp + 1, '0');
                string fp = digits.Length > exp + 1 ? digits[(exp + 1)..] : "0";
                s = ip + "." + fp;
            }
            else s = "0." + new string('0', -exp - 1) + digits;
        }
        else
        {
            string m = digits.Length > 1 ? digits[..1] + "." + digits[1..] : digits;
            s = m + "e" + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
        }
        return (double.IsNegative(x) ? "-" : "") + s;
    }

    /// <summary>Python's f"{n:,}".</summary>
    public static string Thousands(long n) => n.ToString("#,0", CultureInfo.InvariantCulture);

    /// <summary>How Python holds a number read from a file that System.Text.Json wrote: STJ writes an integral double
    /// without a fraction ("306", never "306.0"), so Python reads it as an int (this decides "0" vs "0.0" in JSON).</summary>
    public static bool ReadsAsInt(double x) => double.IsFinite(x) && Math.Floor(x) == x && Math.Abs(x) < 1e15;

    /// <summary>statistics.mean: the exact mean, correctly rounded; an int when every value is one and it divides.</summary>
    public static (double Value, bool IsInt) Mean(IReadOnlyList<double> xs, IReadOnlyList<bool>? isInt = null)
    {
        if (xs.Count == 0) throw new ArgumentException("mean requires at least one data point");
        if (xs.Any(double.IsNaN) || xs.Any(double.IsInfinity)) return (xs.Sum() / xs.Count, false);
        var (nums, k) = CommonDenominator(xs);
        BigInteger sum = nums.Aggregate(BigInteger.Zero, (a, b) => a + b);
        var den = BigInteger.Pow(2, k) * xs.Count;
        bool ints = isInt != null ? isInt.All(b => b) : xs.All(ReadsAsInt);
        bool divides = BigInteger.Remainder(sum, den).IsZero;
        return (Ratio(sum, den), ints && divides);
    }

    public static double MeanValue(IReadOnlyList<double> xs) => Mean(xs).Value;

    /// <summary>statistics.stdev: the square root of the exact sample variance, correctly rounded.</summary>
    public static double Stdev(IReadOnlyList<double> xs)
    {
        int n = xs.Count;
        if (n < 2) throw new ArgumentException("stdev requires at least two data points");
        if (xs.Any(x => !double.IsFinite(x))) return double.NaN;
        var (nums, k) = CommonDenominator(xs);
        BigInteger sx = 0, sxx = 0;
        foreach (var v in nums) { sx += v; sxx += v * v; }
        // ss / (n - 1) = (n sxx - sx^2) / (n (n - 1) 2^2k)
        var num = n * sxx - sx * sx;
        var den = BigInteger.Pow(2, 2 * k) * n * (n - 1);
        return SqrtOfFraction(num, den);
    }

    /// <summary>Python's round(x, digits) for a float: the exact value rounded half-to-even.</summary>
    public static double Round(double x, int digits) =>
        double.IsFinite(x) ? double.Parse(Fixed(x, digits), CultureInfo.InvariantCulture) : x;

    /// <summary>x = n / 10^scale exactly (x >= 0, finite).</summary>
    static (BigInteger N, int Scale) ExactDecimal(double x)
    {
        var (m, e) = Decompose(x);
        if (e >= 0) return (m << e, 0);
        return (m * BigInteger.Pow(5, -e), -e);
    }

    /// <summary>The first `precision` significant digits of x > 0, rounded half-to-even, and the decimal exponent of the first.</summary>
    static (string Digits, int Exp) Significant(double x, int precision)
    {
        var (n, scale) = ExactDecimal(x);
        string all = n.ToString(CultureInfo.InvariantCulture);
        int exp = all.Length - 1 - scale;
        if (all.Length > precision)
        {
            var div = BigInteger.Pow(10, all.Length - precision);
            var q = BigInteger.DivRem(n, div, out var r);
            int c = (2 * r).CompareTo(div);
            if (c > 0 || (c == 0 && !q.IsEven)) q += 1;
            string d = q.ToString(CultureInfo.InvariantCulture);
            if (d.Length > precision) { d = d[..precision]; exp++; } // 9.99999.. rounded up to 10.0000
            return (d, exp);
        }
        return (all, exp);
    }

    /// <summary>x = m * 2^e with integer m >= 0.</summary>
    static (BigInteger M, int E) Decompose(double x)
    {
        long bits = BitConverter.DoubleToInt64Bits(Math.Abs(x));
        int exp = (int)((bits >> 52) & 0x7FF);
        long frac = bits & 0xFFFFFFFFFFFFFL;
        return exp == 0 ? (frac, -1074) : (frac | (1L << 52), exp - 1075);
    }

    /// <summary>Each value as N_i / 2^k for one k.</summary>
    static (BigInteger[] Nums, int K) CommonDenominator(IReadOnlyList<double> xs)
    {
        var parts = xs.Select(x => { var (m, e) = Decompose(x); return (m: x < 0 ? -m : m, e); }).ToArray();
        int k = Math.Max(0, parts.Max(p => -p.e));
        return (parts.Select(p => p.m * BigInteger.Pow(2, p.e + k)).ToArray(), k);
    }

    /// <summary>num / den as the nearest double (ties to even), like Python's int / int.</summary>
    static double Ratio(BigInteger num, BigInteger den)
    {
        if (num.IsZero) return 0.0;
        bool neg = (num.Sign < 0) ^ (den.Sign < 0);
        num = BigInteger.Abs(num); den = BigInteger.Abs(den);
        // Scale so that the quotient has 55 or 56 bits, round its extra bits with the remainder as sticky bit.
        long shift = 55 - ((long)num.GetBitLength() - (long)den.GetBitLength());
        var q = BigInteger.DivRem(shift >= 0 ? num << (int)shift : num, shift >= 0 ? den : den << (int)-shift, out var r);
        return (neg ? -1 : 1) * RoundToDouble(q, !r.IsZero, -shift);
    }

    /// <summary>(q + sticky) * 2^exp2 rounded to 53 bits, ties to even.</summary>
    static double RoundToDouble(BigInteger q, bool sticky, long exp2)
    {
        int extra = (int)q.GetBitLength() - 53;
        if (extra > 0)
        {
            var mask = (BigInteger.One << extra) - 1;
            var low = q & mask;
            q >>= extra;
            var half = BigInteger.One << (extra - 1);
            int c = low.CompareTo(half);
            if (c > 0 || (c == 0 && (sticky || !q.IsEven))) q += 1;
            exp2 += extra;
        }
        return Math.ScaleB((double)(long)q, (int)exp2);
    }

    /// <summary>Python's _float_sqrt_of_frac: sqrt(n / m) correctly rounded (round-to-odd integer square root, then one rounding).</summary>
    static double SqrtOfFraction(BigInteger n, BigInteger m)
    {
        if (n.IsZero) return 0.0;
        const int width = 2 * 53 + 3;
        long d = (long)n.GetBitLength() - (long)m.GetBitLength() - width;
        long q = d >= 0 ? d / 2 : -((-d + 1) / 2); // Python's floor division
        BigInteger numerator;
        long exp2;
        if (q >= 0) { numerator = IsqrtRto(n, m << (int)(2 * q)) << (int)q; exp2 = 0; }
        else { numerator = IsqrtRto(n << (int)(-2 * q), m); exp2 = q; }
        return RoundToDouble(numerator, false, exp2);
    }

    static BigInteger IsqrtRto(BigInteger n, BigInteger m)
    {
        var a = Isqrt(n / m);
        return a * a * m != n ? a | 1 : a;
    }

    static BigInteger Isqrt(BigInteger n)
    {
        if (n.IsZero) return 0;
        var x = BigInteger.One << (int)((n.GetBitLength() + 1) / 2);
        while (true)
        {
            var y = (x + n / x) >> 1;
            if (y >= x) return x;
            x = y;
        }
    }
}
