namespace Distil.Baselines;

/// <summary>Rows of sparse features (compressed sparse rows): row i holds Columns/Values[RowStart[i] .. RowStart[i + 1]).</summary>
public sealed class SparseRows
{
    public int Count => RowStart.Length - 1;
    public int Width { get; }
    public int[] RowStart { get; }
    public int[] Columns { get; }
    public double[] Values { get; }

    public SparseRows(int width, int[] rowStart, int[] columns, double[] values)
    {
        if (rowStart.Length == 0 || rowStart[0] != 0 || rowStart[^1] != columns.Length || columns.Length != values.Length)
            throw new ArgumentException("inconsistent sparse rows");
        if (columns.Any(c => c < 0 || c >= width)) throw new ArgumentException($"a column outside [0, {width})");
        (Width, RowStart, Columns, Values) = (width, rowStart, columns, values);
    }

    /// <summary>Dense rows (each of the same length) as sparse ones; zeros are dropped.</summary>
    public static SparseRows FromDense(IReadOnlyList<double[]> rows)
    {
        int width = rows.Count == 0 ? 0 : rows[0].Length;
        var start = new List<int> { 0 };
        var cols = new List<int>();
        var vals = new List<double>();
        foreach (var r in rows)
        {
            if (r.Length != width) throw new ArgumentException("rows of different lengths");
            for (int j = 0; j < width; j++) if (r[j] != 0) { cols.Add(j); vals.Add(r[j]); }
            start.Add(cols.Count);
        }
        return new SparseRows(width, start.ToArray(), cols.ToArray(), vals.ToArray());
    }

    /// <summary>Per output k: bias[k] + the row times weights row k (weights laid out [output, feature]).</summary>
    public void Scores(int row, double[] theta, int outputs, double[] scores)
    {
        int stride = Width + 1;
        for (int k = 0; k < outputs; k++)
        {
            int o = k * stride;
            double s = theta[o + Width]; // the bias sits after the weights of its output
            for (int p = RowStart[row]; p < RowStart[row + 1]; p++) s += theta[o + Columns[p]] * Values[p];
            scores[k] = s;
        }
    }
}

/// <summary>What a linear model's outputs mean and how it is fitted (docs/baselines.md §Linear).</summary>
public enum LinearLoss
{
    /// <summary>One label per row: softmax over the outputs, mean cross-entropy (multinomial logistic regression).</summary>
    Softmax,
    /// <summary>Any subset of the outputs per row: a sigmoid and binary cross-entropy per output (one-vs-rest logistic regressions).</summary>
    Sigmoid,
    /// <summary>One score per row: half the mean squared error (ridge regression).</summary>
    Squared,
}

/// <summary>
/// A linear model fitted full-batch and deterministically: the mean loss over the rows plus an L2 penalty on the
/// weights (not the biases) of <c>||W||² / (2 C n)</c>, minimised by L-BFGS (memory 10, backtracking Armijo line
/// search) for a fixed number of iterations, stopping early only when the gradient vanishes. With that scaling C is
/// scikit-learn's C of LogisticRegression (its objective is C times ours), and for <see cref="LinearLoss.Squared"/>
/// <c>alpha = 1 / C</c> is Ridge's alpha. Everything runs in one thread in a fixed order, so a fit is reproducible to
/// the last bit. docs/baselines.md §Linear.
/// </summary>
public sealed class LinearModel
{
    public LinearLoss Loss { get; }
    public int Outputs { get; }
    public int Width { get; }
    /// <summary>[output, feature + 1]: each output's weights, then its bias.</summary>
    public double[] Theta { get; }

    LinearModel(LinearLoss loss, int outputs, int width, double[] theta) => (Loss, Outputs, Width, Theta) = (loss, outputs, width, theta);

    public const int DefaultIterations = 200;

    /// <param name="targets">Per row: Softmax, the class id in [0, outputs); Sigmoid, 0/1 per output; Squared, the score (outputs = 1).</param>
    public static LinearModel Fit(SparseRows x, IReadOnlyList<double[]> targets, LinearLoss loss, int outputs, double c, int iterations = DefaultIterations)
    {
        if (x.Count != targets.Count) throw new ArgumentException($"{x.Count} rows but {targets.Count} targets");
        if (x.Count == 0) throw DistilException.BadInput("no training rows to fit a linear model on");
        if (!(c > 0) || double.IsInfinity(c)) throw DistilException.Usage($"regularisation C {c} must be a positive number");
        if (loss == LinearLoss.Squared && outputs != 1) throw new ArgumentException("a squared loss has one output");
        var theta = new double[outputs * (x.Width + 1)];
        var f = new Objective(x, targets, loss, outputs, c);
        Lbfgs.Minimise(f.ValueAndGradient, theta, iterations);
        return new LinearModel(loss, outputs, x.Width, theta);
    }

    /// <summary>Per row: class probabilities (Softmax), per-output probabilities (Sigmoid) or the score (Squared).</summary>
    public float[][] Predict(SparseRows x)
    {
        if (x.Width != Width) throw new ArgumentException($"rows of width {x.Width}, model of width {Width}");
        var result = new float[x.Count][];
        var s = new double[Outputs];
        for (int i = 0; i < x.Count; i++)
        {
            x.Scores(i, Theta, Outputs, s);
            Activate(Loss, s);
            result[i] = s.Select(v => (float)v).ToArray();
        }
        return result;
    }

    /// <summary>Scores to outputs in place: softmax, sigmoid, or unchanged.</summary>
    internal static void Activate(LinearLoss loss, double[] s)
    {
        if (loss == LinearLoss.Softmax)
        {
            double max = s.Max(), sum = 0;
            for (int k = 0; k < s.Length; k++) { s[k] = Math.Exp(s[k] - max); sum += s[k]; }
            for (int k = 0; k < s.Length; k++) s[k] /= sum;
        }
        else if (loss == LinearLoss.Sigmoid)
            for (int k = 0; k < s.Length; k++) s[k] = Sigmoid(s[k]);
    }

    internal static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));

    /// <summary>log(1 + e^z) without overflow.</summary>
    internal static double Softplus(double z) => z > 0 ? z + double.LogP1(Math.Exp(-z)) : double.LogP1(Math.Exp(z));

    sealed class Objective(SparseRows x, IReadOnlyList<double[]> targets, LinearLoss loss, int outputs, double c)
    {
        public double ValueAndGradient(double[] theta, double[] grad)
        {
            Array.Clear(grad);
            int n = x.Count, stride = x.Width + 1;
            var s = new double[outputs];
            var d = new double[outputs]; // d loss_i / d score_k
            double total = 0;
            for (int i = 0; i < n; i++)
            {
                x.Scores(i, theta, outputs, s);
                var t = targets[i];
                switch (loss)
                {
                    case LinearLoss.Softmax:
                        {
                            int y = (int)t[0];
                            double max = s.Max(), sum = 0;
                            for (int k = 0; k < outputs; k++) sum += Math.Exp(s[k] - max);
                            double logZ = max + Math.Log(sum);
                            total += logZ - s[y];
                            for (int k = 0; k < outputs; k++) d[k] = Math.Exp(s[k] - logZ) - (k == y ? 1 : 0);
                            break;
                        }
                    case LinearLoss.Sigmoid:
                        for (int k = 0; k < outputs; k++)
                        {
                            // BCE with logits: softplus(z) - y z
                            total += Softplus(s[k]) - t[k] * s[k];
                            d[k] = Sigmoid(s[k]) - t[k];
                        }
                        break;
                    default:
                        double r = s[0] - t[0];
                        total += 0.5 * r * r;
                        d[0] = r;
                        break;
                }
                for (int k = 0; k < outputs; k++)
                {
                    if (d[k] == 0) continue;
                    int o = k * stride;
                    for (int p = x.RowStart[i]; p < x.RowStart[i + 1]; p++) grad[o + x.Columns[p]] += d[k] * x.Values[p];
                    grad[o + x.Width] += d[k];
                }
            }
            double penalty = 0, lambda = 1 / (c * n);
            for (int k = 0; k < outputs; k++)
                for (int j = 0; j < x.Width; j++)
                {
                    double w = theta[k * stride + j];
                    penalty += w * w;
                    grad[k * stride + j] = grad[k * stride + j] / n + lambda * w;
                }
            for (int k = 0; k < outputs; k++) grad[k * stride + x.Width] /= n;
            return total / n + 0.5 * lambda * penalty;
        }
    }
}

/// <summary>
/// Limited-memory BFGS (Nocedal and Wright, Numerical Optimization, 2006, Algorithm 7.4 and 7.5) with a backtracking
/// line search on the Armijo condition. Deterministic: a fixed iteration budget, no threads, no random draws.
/// </summary>
public static class Lbfgs
{
    public const int Memory = 10;

    /// <summary>Minimises f in place from <paramref name="x"/>; returns the final value. f writes its gradient into its second argument.</summary>
    public static double Minimise(Func<double[], double[], double> f, double[] x, int iterations, double gradientTolerance = 1e-9)
    {
        int n = x.Length;
        var g = new double[n];
        double fx = f(x, g);
        var s = new List<double[]>();
        var y = new List<double[]>();
        var rho = new List<double>();
        var q = new double[n];
        var xNew = new double[n];
        var gNew = new double[n];
        for (int it = 0; it < iterations; it++)
        {
            if (MaxAbs(g) <= gradientTolerance) break;
            // Two-loop recursion: q = -H g.
            Array.Copy(g, q, n);
            var alpha = new double[s.Count];
            for (int m = s.Count - 1; m >= 0; m--) { alpha[m] = rho[m] * Dot(s[m], q); Axpy(-alpha[m], y[m], q); }
            double gamma = s.Count > 0 ? Dot(s[^1], y[^1]) / Dot(y[^1], y[^1]) : 1 / Math.Max(Math.Sqrt(Dot(g, g)), 1e-12);
            for (int i = 0; i < n; i++) q[i] *= gamma;
            for (int m = 0; m < s.Count; m++) { double b = rho[m] * Dot(y[m], q); Axpy(alpha[m] - b, s[m], q); }
            for (int i = 0; i < n; i++) q[i] = -q[i];
            double slope = Dot(g, q);
            if (slope >= 0) // not a descent direction (should not happen on a convex loss): restart from the gradient
            {
                s.Clear(); y.Clear(); rho.Clear();
                double scale = 1 / Math.Max(Math.Sqrt(Dot(g, g)), 1e-12);
                for (int i = 0; i < n; i++) q[i] = -g[i] * scale;
                slope = Dot(g, q);
            }
            double step = 1, fNew = double.NaN;
            bool accepted = false;
            for (int tries = 0; tries < 40; tries++, step *= 0.5)
            {
                for (int i = 0; i < n; i++) xNew[i] = x[i] + step * q[i];
                fNew = f(xNew, gNew);
                if (fNew <= fx + 1e-4 * step * slope) { accepted = true; break; }
            }
            if (!accepted) break; // no decrease left at this precision
            var sk = new double[n];
            var yk = new double[n];
            for (int i = 0; i < n; i++) { sk[i] = xNew[i] - x[i]; yk[i] = gNew[i] - g[i]; }
            double sy = Dot(sk, yk);
            if (sy > 1e-12)
            {
                if (s.Count == Memory) { s.RemoveAt(0); y.RemoveAt(0); rho.RemoveAt(0); }
                s.Add(sk); y.Add(yk); rho.Add(1 / sy);
            }
            Array.Copy(xNew, x, n);
            Array.Copy(gNew, g, n);
            fx = fNew;
        }
        return fx;
    }

    static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    static void Axpy(double a, double[] x, double[] y)
    {
        for (int i = 0; i < x.Length; i++) y[i] += a * x[i];
    }

    static double MaxAbs(double[] v)
    {
        double m = 0;
        foreach (var e in v) m = Math.Max(m, Math.Abs(e));
        return m;
    }
}
