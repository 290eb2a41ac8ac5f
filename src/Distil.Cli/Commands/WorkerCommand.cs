using System.CommandLine;
using System.Net;
using Distil.Cluster;
using Microsoft.Extensions.Hosting;

namespace Distil.Cli.Commands;

/// <summary>`distil worker`: a silo of the Orleans cluster that takes work items of the jobs submitted to it.</summary>
public static class WorkerCommand
{
    public static Command Create()
    {
        var cluster = new Option<string>("--cluster") { Description = OptionMeanings.Describe("--cluster"), Required = true };
        var threads = new Option<int>("--threads") { Description = OptionMeanings.Describe("--threads", ": work items run at once (default 1)"), DefaultValueFactory = _ => 1 };
        var advertise = new Option<string?>("--advertise") { Description = "Address other machines reach this worker at (default: loopback when Redis is on loopback, else this host's first IPv4)" };
        var port = new Option<int>("--port") { Description = "Silo port; the gateway listens on the next one (default: free ports)" };
        var cmd = new Command("worker", """
            Starts a worker (an Orleans silo) of the cluster whose membership and job state live in the Redis of --cluster,
            and takes work items of submitted jobs until stopped (Ctrl-C). Workers may join or die at any time: a dead
            worker's leased items go to another after their lease expires. See docs/cluster.md.

            Examples:
              distil worker --cluster redis://10.0.0.5:6379 --threads 2
            """);
        foreach (var o in new Option[] { cluster, threads, advertise, port }) cmd.Options.Add(o);
        cmd.SetAction(async (r, cancel) =>
        {
            var redis = RedisUrl.Parse(r.GetValue(cluster)!);
            int n = r.GetValue(threads);
            if (n < 1) throw DistilException.Usage("--threads must be at least 1");
            var ip = r.GetValue(advertise) is { } a ? (IPAddress.TryParse(a, out var parsed) ? parsed : throw DistilException.Usage($"--advertise '{a}' is not an IP address"))
                : ClusterHost.DefaultAdvertise(redis);
            int p = r.GetValue(port);
            var at = p > 0 ? new WorkerEndpoint(ip, p, p + 1) : new WorkerEndpoint(ip, ClusterHost.FreePort(), ClusterHost.FreePort());
            Action<string> print = line => Console.WriteLine(line);
            using var label = new LabelWork(Math.Max(1, Environment.ProcessorCount / n));
            using var host = ClusterHost.Worker(redis, at, n, PauseHandler.FromEnvironment([new DigestWork(), label, new SweepWork(SweepCommand.Child)], print), print);
            await host.RunAsync(cancel);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>--lease-seconds of the commands that submit to the cluster.</summary>
    public static Option<double> LeaseOption() => new("--lease-seconds")
    {
        Description = OptionMeanings.Describe("--lease-seconds", "(renewed every third of it while the item runs; default 10)"),
        DefaultValueFactory = _ => 10,
    };

    /// <summary>A client of the cluster at --cluster, for a submitting command.</summary>
    public static async Task<(IDisposable Client, IGrainFactory Grains)> ConnectAsync(string url, CancellationToken cancel)
    {
        var redis = RedisUrl.Parse(url);
        var client = await ClusterHost.ConnectAsync(redis, TimeSpan.FromSeconds(60), cancel);
        return (client, (IGrainFactory)client.Services.GetService(typeof(IGrainFactory))!);
    }
}
