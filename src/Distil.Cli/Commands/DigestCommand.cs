using System.CommandLine;
using Distil.Checkpoints;
using Distil.Cluster;

namespace Distil.Cli.Commands;

/// <summary>
/// `distil digest`: a job of known result (SHA-256 chains of lines) that runs locally or on the cluster, so that the
/// cluster's leasing, failover and exactly-once commit can be tested and measured apart from any model.
/// </summary>
public static class DigestCommand
{
    public const int DefaultRounds = 20000;

    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = OptionMeanings.Describe("--data", ": a text file, one line per record"), Required = true };
        var outFile = new Option<string>("--out") { Description = OptionMeanings.Describe("--out", ": the digests, 32 bytes per line in line order"), Required = true };
        var perItem = new Option<int>("--lines-per-item") { Description = "Lines per work item (default 10)", DefaultValueFactory = _ => 10 };
        var rounds = new Option<int>("--rounds") { Description = $"SHA-256 rounds per line: the cost of a line (default {DefaultRounds})", DefaultValueFactory = _ => DefaultRounds };
        var cluster = new Option<string?>("--cluster") { Description = OptionMeanings.Describe("--cluster", "(default: run here)") };
        var job = new Option<string?>("--job") { Description = "Job id on the cluster (default: from the items' content, so that a resubmission attaches to the same job)" };
        var lease = WorkerCommand.LeaseOption();
        var cmd = new Command("digest", """
            A stand-in job of known result for testing and measuring cluster mode: each line becomes its SHA-256 applied
            --rounds times. Run with and without --cluster, the outputs are equal byte for byte. See docs/cluster.md.

            Examples:
              distil digest --data lines.txt --out local.bin
              distil digest --data lines.txt --out cluster.bin --cluster redis://127.0.0.1:6379
            """);
        foreach (var o in new Option[] { data, outFile, perItem, rounds, cluster, job, lease }) cmd.Options.Add(o);
        cmd.SetAction(async (r, cancel) =>
        {
            string path = r.GetValue(data)!;
            if (!File.Exists(path)) throw DistilException.NotFound($"--data {path}: no such file");
            var lines = File.ReadAllLines(path);
            if (lines.Length == 0) throw DistilException.BadInput($"--data {path}: the file is empty");
            var items = DigestWork.Items(lines, r.GetValue(perItem), r.GetValue(rounds));
            var started = DateTime.UtcNow;
            byte[][] results;
            if (r.GetValue(cluster) is { } url)
            {
                var redis = RedisUrl.Parse(url);
                using var client = await ClusterHost.ConnectAsync(redis, TimeSpan.FromSeconds(60), cancel);
                var grains = (IGrainFactory)client.Services.GetService(typeof(IGrainFactory))!;
                string id = r.GetValue(job) ?? JobSubmitter.DefaultJobId(DigestWork.Name, JobSubmitter.Fingerprint(DigestWork.Name, items));
                Console.WriteLine($"job {id}: {items.Count} items on {redis}");
                int last = -1;
                var (res, final) = await JobSubmitter.RunAsync(grains, id, DigestWork.Name, items, r.GetValue(lease), p =>
                {
                    if (p.Committed != last) Console.WriteLine($"progress {p.Committed}/{p.Total} committed, {p.Leased} leased, {p.Reassigned} reassigned");
                    last = p.Committed;
                }, cancel);
                results = res;
                Console.WriteLine(JobSubmitter.Summary(id, final));
            }
            else results = WorkHandlers.RunLocally(new DigestWork(), [.. items.Select(i => i.Payload)], cancel);
            AtomicFile.Write(r.GetValue(outFile)!, s => { foreach (var b in results) s.Write(b); });
            Console.WriteLine($"wrote {r.GetValue(outFile)}: {lines.Length} lines, {items.Count} items in {(DateTime.UtcNow - started).TotalSeconds:F2} s");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
