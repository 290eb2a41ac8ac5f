using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Distil.Models;
using Distil.Native;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Bench;

/// <summary>
/// `conv [--runs N] [--warmup N] [--threads N] [--out FILE.json]` (bench/conv-kernels.sh): AdaBERT's
/// <see cref="ShiftedConv1d"/> against torch's conv1d at the derived student's shapes (hidden 128, seq 64, batch 1 and
/// 32, kernels 3/5/7, dilation 1/2), float32. Speed: the two timed in turn within one process (the order alternates each
/// run), median of N runs, eval forward under no_grad and a train-mode forward + backward (input and weight gradients).
/// The fourth kernel timed is <see cref="ShiftedConv1d.Apply(Tensor, Tensor, int, int)"/>, the dispatch the models use
/// (torch's conv1d where its one-time check in this process agreed, else the sum); its one-time check is timed apart.
/// Correctness: both float32 paths' output and input gradient against the float64 conv1d (the path measured right,
/// docs/adabert.md §Convolutions on the CPU), as the largest absolute error over the largest |reference| value, and
/// the path the dispatch picked at each configuration.
/// </summary>
static class ConvKernels
{
    const int Hidden = 128, Seq = 64;
    static readonly (int K, int D)[] Kernels = [(3, 1), (5, 1), (7, 1), (3, 2), (5, 2), (7, 2)];
    static readonly int[] Batches = [1, 32];

    public static int Run(string[] args)
    {
        int runs = 30, warmup = 5, threads = 1;
        string? @out = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--runs": runs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--threads": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--out": @out = Next(); break;
                default: Console.Error.WriteLine("usage: conv [--runs N] [--warmup N] [--threads N] [--out FILE.json]"); return 2;
            }
        }
        torch.set_num_threads(threads);
        torch.manual_seed(1);

        var md = new StringBuilder();
        md.AppendLine(MachineInfo.Current.Header()).AppendLine();
        md.AppendLine($"`dotnet run --project bench/Distil.Bench -c Release -- conv {string.Join(' ', args)}`").AppendLine();
        md.AppendLine($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}, TorchSharp {typeof(torch).Assembly.GetName().Version}, {threads} torch thread(s), " +
            $"load average before {LoadAverage()}. float32, channels {Hidden} in and out, sequence {Seq}, stride 1, \"same\" padding, no bias. " +
            $"Median of {runs} runs after {warmup} warm-up runs each. " +
            "Four kernels timed in turn (the order rotates run by run): ShiftedConv1d's sum (`ShiftedConv1d.Sum`: one einsum over the k shifted copies), " +
            "the same shifted copies reshaped to (B, I·k, T) and multiplied by the weight as (O, I·k) with one broadcast matmul, torch's conv1d, " +
            "and the dispatch the models call (`ShiftedConv1d.Apply`: conv1d where its one-time check agreed, else the einsum; " +
            $"{ShiftedConv1d.ModeVariable}={ShiftedConv1d.Default.ForcedMode.ToString().ToLowerInvariant()}); " +
            "ratio = kernel / conv1d (above 1: slower than conv1d). The dispatch's check runs in the warm-up; its cost is the last column (ms, once per configuration and process).").AppendLine();

        var rows = new JsonArray();
        foreach (string mode in new[] { "eval, no_grad forward", "train, forward + backward" })
        {
            bool train = mode.StartsWith("train", StringComparison.Ordinal);
            md.AppendLine($"**{mode}** (ms)").AppendLine();
            md.AppendLine("| batch | kernel | dilation | ShiftedConv1d (einsum) | shifted, matmul | conv1d | dispatch (path) | einsum / conv1d | matmul / conv1d | dispatch / conv1d | dispatch / einsum | check (ms) |")
                .AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (int b in Batches)
                foreach (var (k, d) in Kernels)
                {
                    var (shifted, mm, conv, dispatch, path, checkMs) = Time(b, k, d, train, runs, warmup);
                    double ratio = shifted.MedianMs / conv.MedianMs, ratioMm = mm.MedianMs / conv.MedianMs;
                    double ratioD = dispatch.MedianMs / conv.MedianMs, ratioDs = dispatch.MedianMs / shifted.MedianMs;
                    md.AppendLine($"| {b} | {k} | {d} | {shifted.MedianMs:F3} | {mm.MedianMs:F3} | {conv.MedianMs:F3} | {dispatch.MedianMs:F3} ({path}) | {ratio:F2} | {ratioMm:F2} | {ratioD:F2} | {ratioDs:F2} | {checkMs:F0} |");
                    rows.Add(new JsonObject
                    {
                        ["mode"] = train ? "train_forward_backward" : "eval_no_grad_forward", ["batch"] = b, ["kernel"] = k, ["dilation"] = d,
                        ["shifted"] = Output.TimingJson(shifted), ["matmul"] = Output.TimingJson(mm), ["conv1d"] = Output.TimingJson(conv),
                        ["dispatch"] = Output.TimingJson(dispatch), ["dispatch_path"] = path, ["dispatch_check_ms"] = Math.Round(checkMs, 1),
                        ["ratio"] = Math.Round(ratio, 3), ["ratio_matmul"] = Math.Round(ratioMm, 3),
                        ["ratio_dispatch"] = Math.Round(ratioD, 3), ["ratio_dispatch_over_einsum"] = Math.Round(ratioDs, 3),
                    });
                    Console.Error.WriteLine($"{mode}: b{b} k{k} d{d}: einsum {shifted.MedianMs:F3} ms, matmul {mm.MedianMs:F3} ms, conv1d {conv.MedianMs:F3} ms, " +
                        $"dispatch {dispatch.MedianMs:F3} ms ({path}, check {checkMs:F0} ms), ratios {ratio:F2} {ratioMm:F2} {ratioD:F2}");
                }
            md.AppendLine();
        }

        md.AppendLine("**Correctness** against the float64 conv1d: max |error| / max |reference| (batch 4, sequence 64, random " +
            "normal input, weight and output gradient; \"batch 1\" and \"batch 32\": autograd off, the inference case; the dispatch columns: the path `ShiftedConv1d.Apply` took " +
            "in training and its errors; \"NaN\" = the float32 result holds a NaN). 120 channels, not a multiple of 16, is the control: the fault the bench must be able to see, and the dispatch must avoid.").AppendLine();
        md.AppendLine("| channels | kernel | dilation | conv1d output | conv1d input grad | ShiftedConv1d output | ShiftedConv1d input grad | matmul output | matmul input grad | conv1d no_grad output, batch 1 | batch 32 | dispatch (train) path | dispatch output | dispatch input grad |").AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
        var checks = new JsonArray();
        foreach (int channels in new[] { Hidden, 120 })
            foreach (var (k, d) in Kernels)
            {
                var c = Check(channels, k, d);
                md.AppendLine($"| {channels} | {k} | {d} | {E(c.ConvOut)} | {E(c.ConvGrad)} | {E(c.ShiftOut)} | {E(c.ShiftGrad)} | {E(c.MmOut)} | {E(c.MmGrad)} | {E(c.NoGrad1)} | {E(c.NoGrad32)} | {c.DispatchPath} | {E(c.DispatchOut)} | {E(c.DispatchGrad)} |");
                checks.Add(new JsonObject
                {
                    ["channels"] = channels, ["kernel"] = k, ["dilation"] = d, ["conv1d_output"] = J(c.ConvOut), ["conv1d_input_grad"] = J(c.ConvGrad),
                    ["shifted_output"] = J(c.ShiftOut), ["shifted_input_grad"] = J(c.ShiftGrad),
                    ["matmul_output"] = J(c.MmOut), ["matmul_input_grad"] = J(c.MmGrad),
                    ["conv1d_no_grad_output_batch1"] = J(c.NoGrad1), ["conv1d_no_grad_output_batch32"] = J(c.NoGrad32),
                    ["dispatch_train_path"] = c.DispatchPath, ["dispatch_output"] = J(c.DispatchOut), ["dispatch_input_grad"] = J(c.DispatchGrad),
                });
            }
        md.AppendLine().AppendLine($"Load average before the step timing: {LoadAverage()}.").AppendLine();
        var step = SupernetStep(Math.Max(3, runs / 6), md);
        md.AppendLine().AppendLine($"Load average after: {LoadAverage()}.");

        var json = new JsonObject
        {
            ["meta"] = new JsonObject
            {
                ["machine"] = MachineInfo.Current.Header(), ["threads"] = threads, ["runs"] = runs, ["warmup"] = warmup,
                ["hidden"] = Hidden, ["seq"] = Seq, ["date_utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
            },
            ["timings"] = rows,
            ["correctness"] = checks,
            ["supernet_step"] = step,
        };
        Output.Write(json, md.ToString(), @out);
        return 0;
    }

    /// <summary>
    /// One AdaBERT search step's forward + backward (SuperNet: 8 cells, hidden 128, batch 32, length 48, random teacher
    /// tables of width 384, one Gumbel-sampled architecture per draw) with the convolutions by the checked dispatch, by
    /// the einsum always (DISTIL_CONV1D=shifted: training before the dispatch) and by torch's conv1d always
    /// (DISTIL_CONV1D=torch); the three in rotating order on the same sampled architectures.
    /// </summary>
    static JsonObject SupernetStep(int runs, StringBuilder md)
    {
        const int Batch = 32, Length = 48, Archs = 4;
        torch.manual_seed(3);
        using var net = new Distil.Search.SuperNet(new Distil.Search.TeacherTables(randn(1000, 384), randn(64, 384)), kMax: 8, hidden: Hidden, numLabels: 3, dropoutP: 0.1);
        net.train();
        var inputs = new BertInputs(randint(1, 1000, [Batch, Length]), ones(Batch, Length, dtype: int64), zeros(Batch, Length, dtype: int64));
        var labels = randint(0, 3, [Batch]);
        var archs = Enumerable.Range(0, Archs).Select(_ =>
        {
            using var s = net.Sample(1.0); // detached: each draw is run many times, and alpha's gradient is not timed here
            return new Distil.Search.SampledArch(s.OpWeights.detach(), s.Ops, s.DepthWeights.detach(), s.Depth);
        }).ToArray();
        (string Name, Conv1dDispatch Dispatch)[] arms =
        [
            ("dispatch", new Conv1dDispatch(ShiftedConv1d.TorchKernel)),
            ("einsum", new Conv1dDispatch(ShiftedConv1d.TorchKernel, Conv1dDispatch.Mode.Shifted)),
            ("conv1d", new Conv1dDispatch(ShiftedConv1d.TorchKernel, Conv1dDispatch.Mode.Torch)),
        ];
        var samples = arms.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < runs + 1; r++) // run 0: warm-up (the dispatch's checks happen there)
            for (int a = 0; a < Archs; a++)
                for (int n = 0; n < arms.Length; n++)
                {
                    int which = (r + a + n) % arms.Length;
                    using var _ = ShiftedConv1d.Replace(arms[which].Dispatch);
                    net.zero_grad();
                    var sw = Stopwatch.StartNew();
                    using (var scope = NewDisposeScope())
                    {
                        var levels = net.forward(inputs, archs[a]);
                        F.cross_entropy(levels[archs[a].Depth], labels).backward();
                    }
                    if (r > 0) samples[which].Add(sw.Elapsed.TotalMilliseconds);
                }
        var t = samples.Select(Timing.Of).ToArray();
        int convEdges = archs.Sum(x => x.Ops.Count(o => SearchSpaceConv(o)) * x.Depth);
        md.AppendLine($"**AdaBERT search step** (ms): one SuperNet forward + backward, 8 cells, hidden {Hidden}, batch {Batch}, length {Length}, " +
            $"{Archs} Gumbel-sampled architectures ({convEdges} convolution edges run over them, of {archs.Sum(x => 9 * x.Depth)}), each timed under the three in rotating order; " +
            $"median of {runs} x {Archs} after one warm-up pass. einsum = training before the dispatch (DISTIL_CONV1D=shifted), conv1d = DISTIL_CONV1D=torch.").AppendLine();
        md.AppendLine("| dispatch | einsum | conv1d | dispatch / einsum | dispatch / conv1d |").AppendLine("|---:|---:|---:|---:|---:|");
        md.AppendLine($"| {t[0].MedianMs:F1} | {t[1].MedianMs:F1} | {t[2].MedianMs:F1} | {t[0].MedianMs / t[1].MedianMs:F2} | {t[0].MedianMs / t[2].MedianMs:F2} |");
        foreach (var x in archs) x.Dispose();
        return new JsonObject
        {
            ["batch"] = Batch, ["length"] = Length, ["archs"] = Archs, ["runs"] = runs,
            ["dispatch"] = Output.TimingJson(t[0]), ["einsum"] = Output.TimingJson(t[1]), ["conv1d"] = Output.TimingJson(t[2]),
            ["ratio_dispatch_over_einsum"] = Math.Round(t[0].MedianMs / t[1].MedianMs, 3),
        };
    }

    static bool SearchSpaceConv(long op) => Distil.Models.SearchSpace.Conv(Distil.Models.SearchSpace.Ops[(int)op]) is not null;

    static string E(double v) => double.IsNaN(v) ? "NaN" : v.ToString("0.0e+00", CultureInfo.InvariantCulture);
    static JsonNode? J(double v) => double.IsNaN(v) ? "NaN" : JsonValue.Create(v);

    static string LoadAverage()
    {
        try { return File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?"; }
        catch (IOException) { return "?"; }
    }

    static Tensor Torch(Tensor x, Tensor w, int d, int p) => F.conv1d(x, w, padding: p, dilation: d);

    /// <summary>The shifted-copies sum as a broadcast matrix product instead of an einsum: W (O, I·k) @ taps (B, I·k, T).</summary>
    static Tensor Matmul(Tensor x, Tensor w, int d, int p)
    {
        using var scope = NewDisposeScope();
        long k = w.shape[2], b = x.shape[0], i = x.shape[1];
        var padded = F.pad(x, [p, p]);                                          // (B, I, T + 2p)
        long outLength = padded.shape[2] - (k - 1) * d;
        var taps = stack(Enumerable.Range(0, (int)k).Select(j => padded.narrow(2, j * d, outLength)), 2); // (B, I, k, T_out)
        return matmul(w.reshape(w.shape[0], i * k), taps.reshape(b, i * k, outLength)).MoveToOuterDisposeScope(); // (B, O, T_out)
    }

    /// <summary>Interleaved timing of the four kernels at one shape; the order rotates run by run. Also the path the
    /// dispatch picked and what its one-time check costs (a fresh <see cref="Conv1dDispatch"/>, so it really checks).</summary>
    static (Timing Shifted, Timing Matmul, Timing Conv, Timing Dispatch, string Path, double CheckMs) Time(int b, int k, int d, bool train, int runs, int warmup)
    {
        int p = (k - 1) * d / 2;
        using var x = randn(b, Hidden, Seq);
        using var w = randn(Hidden, Hidden, k) * (1.0 / Math.Sqrt(Hidden * k));
        using var g = randn(b, Hidden, Seq);
        Func<Tensor, Tensor, Tensor> shifted = (xi, wi) => ShiftedConv1d.Sum(xi, wi, d, p), conv = (xi, wi) => Torch(xi, wi, d, p),
            mm = (xi, wi) => Matmul(xi, wi, d, p), dispatch = (xi, wi) => ShiftedConv1d.Apply(xi, wi, d, p);

        var fresh = new Conv1dDispatch(ShiftedConv1d.TorchKernel);
        var csw = Stopwatch.StartNew();
        Conv1dPath chosen;
        using (enable_grad(train))
        using (var xc = x.detach().requires_grad_(train))
        using (var wc = w.detach().requires_grad_(train))
            chosen = ShiftedConv1d.Default.ForcedMode == Conv1dDispatch.Mode.Auto ? fresh.Choose(xc, wc, null, d, p, 1) : ShiftedConv1d.Default.Choose(xc, wc, null, d, p, 1);
        double checkMs = csw.Elapsed.TotalMilliseconds;
        string path = chosen == Conv1dPath.Torch ? "conv1d" : "einsum";

        double Once(Func<Tensor, Tensor, Tensor> f)
        {
            var sw = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            {
                if (train)
                {
                    var xl = x.detach().requires_grad_(true);
                    var wl = w.detach().requires_grad_(true);
                    (f(xl, wl) * g).sum().backward();
                }
                else
                {
                    using var _ = no_grad();
                    f(x, w);
                }
            }
            sw.Stop();
            return sw.Elapsed.TotalMilliseconds;
        }

        var fs = new[] { shifted, mm, conv, dispatch };
        var samples = fs.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < warmup + runs; r++)
            for (int n = 0; n < fs.Length; n++)
            {
                int which = (r + n) % fs.Length; // the order rotates run by run
                double ms = Once(fs[which]);
                if (r >= warmup) samples[which].Add(ms);
            }
        return (Timing.Of(samples[0]), Timing.Of(samples[1]), Timing.Of(samples[2]), Timing.Of(samples[3]), path, checkMs);
    }

    sealed record Errors(double ConvOut, double ConvGrad, double ShiftOut, double ShiftGrad, double MmOut, double MmGrad, double NoGrad1, double NoGrad32,
        double DispatchOut, double DispatchGrad, string DispatchPath);

    /// <summary>Relative max errors of both float32 paths against the float64 conv1d, output and input gradient.</summary>
    static Errors Check(int channels, int k, int d)
    {
        using var scope = NewDisposeScope();
        int p = (k - 1) * d / 2;
        var x = randn(4, channels, Seq, dtype: float64);
        var w = randn(channels, channels, k, dtype: float64) * (1.0 / Math.Sqrt(channels * k));
        var g = randn(4, channels, Seq, dtype: float64);

        (Tensor Y, Tensor Gx) Run(Func<Tensor, Tensor, Tensor> f, ScalarType type)
        {
            var xl = x.detach().to(type).requires_grad_(true);
            var y = f(xl, w.to(type));
            (y * g.to(type)).sum().backward();
            return (y.detach().to(float64), xl.grad!.to(float64));
        }
        double Rel(Tensor got, Tensor want) => got.isnan().any().item<bool>() ? double.NaN : (got - want).abs().max().item<double>() / want.abs().max().item<double>();

        var (yRef, gRef) = Run((xi, wi) => Torch(xi, wi, d, p), float64);
        var (yC, gC) = Run((xi, wi) => Torch(xi, wi, d, p), float32);
        var (yS, gS) = Run((xi, wi) => ShiftedConv1d.Sum(xi, wi, d, p), float32);
        var (yM, gM) = Run((xi, wi) => Matmul(xi, wi, d, p), float32);
        var (yD, gD) = Run((xi, wi) => ShiftedConv1d.Apply(xi, wi, d, p), float32);
        string path;
        using (var xd = x.to(float32).requires_grad_(true))
        using (var wd = w.to(float32))
            path = ShiftedConv1d.Default.Choose(xd, wd, null, d, p, 1) == Conv1dPath.Torch ? "conv1d" : "einsum";
        // The inference case: conv1d's float32 forward with autograd off at batch 1 and 32.
        double NoGrad(int batch)
        {
            using var _ = no_grad();
            var xb = randn(batch, channels, Seq, dtype: float64);
            return Rel(Torch(xb.to(float32), w.to(float32), d, p).to(float64), Torch(xb, w, d, p));
        }
        return new Errors(Rel(yC, yRef), Rel(gC, gRef), Rel(yS, yRef), Rel(gS, gRef), Rel(yM, yRef), Rel(gM, gRef), NoGrad(1), NoGrad(32), Rel(yD, yRef), Rel(gD, gRef), path);
    }
}
