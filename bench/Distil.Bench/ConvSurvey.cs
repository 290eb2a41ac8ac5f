using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Distil.Native;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Bench;

/// <summary>
/// `conv-survey [--out FILE.json]` (bench/conv-kernels.sh survey): on which configurations torch's float32 conv1d is
/// wrong on this CPU, and whether the verdict depends on the batch, the length and the thread count. That decides
/// what <see cref="Distil.Models.Conv1dDispatch"/> keys its one-time check on (docs/adabert.md §Convolutions on the
/// CPU). Each case: forward, input gradient and weight gradient against float64 conv1d on random values, wrong when
/// off by more than 1e-4 of the reference's scale or NaN. Part 2 repeats a few configurations 10 times with fresh
/// values: how often one check sees a fault that is there.
/// </summary>
static class ConvSurvey
{
    public static int Run(string[] args)
    {
        string? @out = args.Length == 2 && args[0] == "--out" ? args[1] : null;
        var part1 = new JsonArray();
        var part2 = new JsonArray();
        int[] channels = [8, 16, 20, 120, 128];
        int[] batches = [1, 2, 3, 4, 32];
        int[] lengths = [7, 9, 16, 64];
        (int K, int D)[] kernels = [(3, 1), (7, 2)];
        var md = new StringBuilder();
        md.AppendLine(MachineInfo.Current.Header()).AppendLine();
        md.AppendLine("`dotnet run --project bench/Distil.Bench -c Release -- conv-survey --out bench/results/conv-survey.json`").AppendLine();
        md.AppendLine($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}, TorchSharp {typeof(torch).Assembly.GetName().Version}. float32 conv1d (stride 1, \"same\" padding, no bias, channels in = out) " +
            "against float64 conv1d: a case is wrong when the output, the input gradient or the weight gradient is off by more than 1e-4 of the reference's largest value, or holds a NaN.").AppendLine();
        md.AppendLine($"**Part 1**: wrong cases out of {lengths.Length * 2} per row (lengths {string.Join(", ", lengths)}, two random draws each); which quantities were ever wrong.").AppendLine();
        md.AppendLine("| threads | channels | kernel | dilation | batch | wrong | output | input grad | weight grad |").AppendLine("|---:|---:|---:|---:|---:|---:|---|---|---|");
        foreach (int th in new[] { 1, 2 })
        {
            torch.set_num_threads(th);
            foreach (int c in channels)
                foreach (var (k, d) in kernels)
                    foreach (int b in batches)
                    {
                        int wrong = 0;
                        var ever = new bool[3];
                        foreach (int t in lengths)
                            for (int seed = 1; seed <= 2; seed++)
                            {
                                var bad = Check(c, k, d, b, t, seed);
                                if (bad.Any(x => x)) wrong++;
                                for (int q = 0; q < 3; q++) ever[q] |= bad[q];
                            }
                        part1.Add(new JsonObject
                        {
                            ["threads"] = th, ["channels"] = c, ["kernel"] = k, ["dilation"] = d, ["batch"] = b, ["wrong"] = wrong, ["cases"] = lengths.Length * 2,
                            ["output_wrong"] = ever[0], ["input_grad_wrong"] = ever[1], ["weight_grad_wrong"] = ever[2]
                        });
                        md.AppendLine($"| {th} | {c} | {k} | {d} | {b} | {wrong} | {(ever[0] ? "wrong" : "")} | {(ever[1] ? "wrong" : "")} | {(ever[2] ? "wrong" : "")} |");
                        Console.Error.WriteLine($"threads {th} channels {c} k{k} d{d} batch {b}: {wrong} wrong");
                    }
        }
        md.AppendLine().AppendLine("**Part 2**: how often one draw shows the fault (10 draws per row, fresh values each).").AppendLine();
        md.AppendLine("| threads | channels | kernel | dilation | batch | length | draws that show it |").AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (int th in new[] { 2, 1 })
        {
            torch.set_num_threads(th);
            foreach (var (c, k, d) in new[] { (8, 7, 2), (8, 3, 1), (24, 5, 1), (120, 7, 2) })
                foreach (var (b, t) in new[] { (2, 7), (2, 64), (4, 16), (32, 64) })
                {
                    int shown = Enumerable.Range(0, 10).Count(s => Check(c, k, d, b, t, 100 + s).Any(x => x));
                    part2.Add(new JsonObject { ["threads"] = th, ["channels"] = c, ["kernel"] = k, ["dilation"] = d, ["batch"] = b, ["length"] = t, ["shown"] = shown, ["draws"] = 10 });
                    md.AppendLine($"| {th} | {c} | {k} | {d} | {b} | {t} | {shown}/10 |");
                }
        }
        var json = new JsonObject
        {
            ["meta"] = new JsonObject { ["date_utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"), ["tolerance"] = 1e-4 },
            ["per_configuration"] = part1,
            ["detection_rate"] = part2,
        };
        Output.Write(json, md.ToString(), @out);
        return 0;
    }

    /// <summary>Whether output, input gradient, weight gradient of float32 conv1d are wrong against float64.</summary>
    static bool[] Check(int c, int k, int d, int b, int t, int seed)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(seed);
        int p = (k - 1) * d / 2;
        var x = randn(b, c, t, dtype: float64);
        var w = randn(c, c, k, dtype: float64) * (1.0 / Math.Sqrt(c * k));
        var g = randn(b, c, t, dtype: float64);
        Tensor[] Run(ScalarType type)
        {
            var xl = x.detach().to(type).requires_grad_(true);
            var wl = w.detach().to(type).requires_grad_(true);
            var y = F.conv1d(xl, wl, padding: p, dilation: d);
            (y * g.to(type)).sum().backward();
            return [y.detach().to(float64), xl.grad!.to(float64), wl.grad!.to(float64)];
        }
        var want = Run(float64);
        var got = Run(float32);
        return [.. Enumerable.Range(0, 3).Select(q => Distil.Models.ShiftedConv1d.RelativeError(want[q], got[q]) > 1e-4)];
    }
}
