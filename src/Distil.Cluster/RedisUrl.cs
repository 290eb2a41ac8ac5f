using StackExchange.Redis;

namespace Distil.Cluster;

/// <summary>redis://[:PASSWORD@]HOST:PORT[/DB]: the one address a worker and a submitter need to find the cluster.</summary>
public sealed record RedisUrl(string Host, int Port, string? Password, int Database)
{
    public static RedisUrl Parse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != "redis" || string.IsNullOrEmpty(uri.Host))
            throw DistilException.Usage($"--cluster '{url}' is not a Redis address; use redis://HOST:PORT (e.g. redis://10.0.0.5:6379)");
        string? password = uri.UserInfo.Length == 0 ? null : Uri.UnescapeDataString(uri.UserInfo.Split(':', 2) is [_, var p] ? p : uri.UserInfo);
        int db = 0;
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && !int.TryParse(path, out db))
            throw DistilException.Usage($"--cluster '{url}': the path must be a database number (redis://HOST:PORT/0), not '{path}'");
        return new RedisUrl(uri.Host, uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port, password, db);
    }

    public bool IsLoopback => Host is "localhost" || (System.Net.IPAddress.TryParse(Host, out var ip) && System.Net.IPAddress.IsLoopback(ip));

    /// <summary>Options that ride out a Redis restart: no failure at connect time, reconnects in the background.</summary>
    public ConfigurationOptions Options()
    {
        var o = new ConfigurationOptions { AbortOnConnectFail = false, ConnectTimeout = 3000, SyncTimeout = 5000, AsyncTimeout = 5000, DefaultDatabase = Database, Password = Password };
        o.EndPoints.Add(Host, Port);
        return o;
    }

    public override string ToString() => $"redis://{Host}:{Port}" + (Database != 0 ? $"/{Database}" : "");
}
