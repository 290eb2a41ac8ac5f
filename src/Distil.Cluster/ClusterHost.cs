using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace Distil.Cluster;

/// <summary>Where a worker listens. Port 0: a free port is chosen (one machine, several workers).</summary>
public sealed record WorkerEndpoint(IPAddress Advertise, int SiloPort, int GatewayPort);

/// <summary>
/// The one configuration of silos and clients: membership and grain state in one Redis, failure detection quick
/// enough that a killed worker's grains move within seconds, calls that give up after 10 s so callers retry.
/// </summary>
public static class ClusterHost
{
    public const string Storage = "distil";
    public const string ClusterId = "distil";

    public static void ConfigureSilo(ISiloBuilder silo, RedisUrl redis, WorkerEndpoint at)
    {
        silo.UseRedisClustering(o => o.ConfigurationOptions = redis.Options());
        silo.AddRedisGrainStorage(Storage, o => o.ConfigurationOptions = redis.Options());
        silo.Configure<ClusterOptions>(o => { o.ClusterId = ClusterId; o.ServiceId = ClusterId; });
        silo.ConfigureEndpoints(at.Advertise, at.SiloPort, at.GatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(at.Advertise));
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            // Quick enough that a killed worker's grains move within seconds. Orleans adapts the timeout between half
            // and four times this to the probes' response times, and stretches it while this silo is itself starved,
            // so a slow but live worker on a loaded machine is not voted dead.
            o.ProbeTimeout = TimeSpan.FromSeconds(2);
            o.NumMissedProbesLimit = 3;
            o.ExtendProbeTimeoutDuringDegradation = true;
            o.TableRefreshTimeout = TimeSpan.FromSeconds(5);
            o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
        });
        silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
    }

    public static void ConfigureClient(IClientBuilder client, RedisUrl redis)
    {
        client.UseRedisClustering(o => o.ConfigurationOptions = redis.Options());
        client.Configure<ClusterOptions>(o => { o.ClusterId = ClusterId; o.ServiceId = ClusterId; });
        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
        client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
    }

    /// <summary>A worker process: a silo plus <paramref name="threads"/> worker loops over the cluster's jobs.</summary>
    public static IHost Worker(RedisUrl redis, WorkerEndpoint at, int threads, WorkHandlers handlers, Action<string>? log = null)
    {
        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(handlers);
        // The silo first: hosted services start in the order they are added, and a worker loop that calls a grain
        // before its own silo has joined the cluster sees an empty cluster manifest ("No active nodes are compatible
        // with grain jobboard ... Known nodes with grain type: none"), on a loaded machine for as long as it ran.
        builder.UseOrleans(silo => ConfigureSilo(silo, redis, at));
        builder.Services.AddHostedService(sp => new WorkerService(sp.GetRequiredService<IGrainFactory>(), handlers, threads,
            $"{Dns.GetHostName()}:{at.SiloPort}", sp.GetRequiredService<IHostApplicationLifetime>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("distil.worker"), log));
        return builder.Build();
    }

    /// <summary>A connected client of the cluster; waits up to <paramref name="wait"/> for a first worker to answer.</summary>
    public static async Task<IHost> ConnectAsync(RedisUrl redis, TimeSpan wait, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var builder = Host.CreateApplicationBuilder([]);
            builder.Logging.ClearProviders();
            builder.UseOrleansClient(c => ConfigureClient(c, redis));
            var host = builder.Build();
            try
            {
                await host.StartAsync(cancel);
                return host;
            }
            catch (Exception e) when (DateTime.UtcNow < deadline && e is not OperationCanceledException)
            {
                host.Dispose();
                await Task.Delay(TimeSpan.FromSeconds(1), cancel);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                host.Dispose();
                throw DistilException.NotFound($"no worker of the cluster at {redis} answered within {wait.TotalSeconds:F0} s ({e.Message}); " +
                    "start one with `distil worker --cluster " + redis + "`");
            }
        }
    }

    /// <summary>The address other machines reach this one at: loopback when Redis is (one machine), else this host's first IPv4.</summary>
    public static IPAddress DefaultAdvertise(RedisUrl redis)
    {
        if (redis.IsLoopback) return IPAddress.Loopback;
        return Dns.GetHostAddresses(Dns.GetHostName()).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            ?? IPAddress.Loopback;
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}

/// <summary>
/// The worker loops of one process. They start once the host (the silo included) has started and the job board
/// answers, and only then say "ready": a test or a script that waits for that line knows the worker can take work.
/// </summary>
sealed class WorkerService(IGrainFactory grains, WorkHandlers handlers, int threads, string name, IHostApplicationLifetime lifetime, ILogger log, Action<string>? print) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stop.Register(() => started.TrySetCanceled(stop)))
        {
            try { await started.Task; } catch (OperationCanceledException) { return; }
        }
        var board = grains.GetGrain<IJobBoardGrain>(0);
        while (true)
        {
            try { await board.Active(); break; }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                log.LogWarning("worker {Worker}: the job board does not answer yet ({Error}); retrying", name, e.Message);
                try { await Task.Delay(TimeSpan.FromSeconds(1), stop); } catch (OperationCanceledException) { return; }
            }
            catch (Exception) { return; }
        }
        var loops = Enumerable.Range(0, threads).Select(t =>
        {
            var loop = new WorkerLoop(grains, handlers, threads == 1 ? name : $"{name}#{t}", log)
            {
                OnLeased = (job, lease) => print?.Invoke($"leased {job}/{lease.ItemId} attempt {lease.Attempt}"),
                OnDone = (job, lease, outcome) => print?.Invoke($"{(outcome == CommitOutcome.Committed ? "committed" : "duplicate dropped")} {job}/{lease.ItemId}"),
            };
            return Task.Run(() => loop.RunAsync(stop), stop);
        }).ToArray();
        print?.Invoke($"worker {name} ready: {threads} thread(s), kinds {string.Join(", ", handlers.Kinds)}");
        await Task.WhenAll(loops);
    }
}
