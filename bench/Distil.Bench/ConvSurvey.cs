using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Bench;

/// <summary>`conv-survey`: which float32 conv1d shapes are wrong on this CPU (forward, input grad, weight grad vs float64).</summary>
static class ConvSurvey
{
    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "rate") return Rate();
        int[] channels = [8, 16, 20, 120, 128];
        int[] batches = [1, 2, 3, 4, 32];
        int[] lengths = [7, 9, 16, 64];
        int[] threads = [1, 2];
        (int K, int D)[] kernels = [(3, 1), (7, 2)];
        Console.WriteLine("thr ch k d B T | out in_grad w_grad | repeat: out in_grad w_grad");
        foreach (int th in threads)
        {
            torch.set_num_threads(th);
            foreach (int c in channels)
                foreach (var (k, d) in kernels)
                    foreach (int b in batches)
                        foreach (int t in lengths)
                        {
                            var r1 = Check(c, k, d, b, t, 1);
                            var r2 = Check(c, k, d, b, t, 2);
                            Console.WriteLine($"{th} {c} {k} {d} {b} {t} | {r1} | {r2}");
                        }
        }
        return 0;
    }

    static int Rate()
    {
        foreach (int th in new[] { 2, 1 })
        {
            torch.set_num_threads(th);
            foreach (var (c, k, d) in new[] { (8, 7, 2), (8, 3, 1), (24, 5, 1), (40, 3, 1), (120, 7, 2) })
                foreach (var (b, t) in new[] { (2, 7), (2, 64), (4, 16), (32, 64) })
                    foreach (bool poison in new[] { false, true })
                    {
                        int detected = 0, n = 10;
                        for (int s = 0; s < n; s++)
                        {
                            if (poison) { using var pz = full(8 * 1024 * 1024, float.NaN); using var pz2 = full(b * 16 * (t + 16) * 4, float.NaN); }
                            if (Check(c, k, d, b, t, 100 + s) != "ok ok ok") detected++;
                        }
                        Console.WriteLine($"thr {th} ch{c} k{k}d{d} B{b} T{t} poison {poison}: {detected}/{n}");
                    }
        }
        return 0;
    }

    static string Check(int c, int k, int d, int b, int t, int seed)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(seed);
        int p = (k - 1) * d / 2;
        var x = randn(b, c, t, dtype: float64);
        var w = randn(c, c, k, dtype: float64) * (1.0 / Math.Sqrt(c * k));
        var g = randn(b, c, t, dtype: float64);
        (Tensor Y, Tensor Gx, Tensor Gw) Run(ScalarType type)
        {
            var xl = x.detach().to(type).requires_grad_(true);
            var wl = w.detach().to(type).requires_grad_(true);
            var y = F.conv1d(xl, wl, padding: p, dilation: d);
            (y * g.to(type)).sum().backward();
            return (y.detach().to(float64), xl.grad!.to(float64), wl.grad!.to(float64));
        }
        string Rel(Tensor got, Tensor want)
        {
            if (!got.isfinite().all().item<bool>()) return "NaN";
            double e = (got - want).abs().max().item<double>() / want.abs().max().item<double>();
            return e < 1e-4 ? "ok" : e.ToString("0.0e+0", CultureInfo.InvariantCulture);
        }
        var r = Run(float64);
        var f = Run(float32);
        return $"{Rel(f.Y, r.Y)} {Rel(f.Gx, r.Gx)} {Rel(f.Gw, r.Gw)}";
    }
}
