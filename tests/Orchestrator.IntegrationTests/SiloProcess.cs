using System.Diagnostics;
using System.Net;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// A silo in a process of its own (the built Orchestrator.Silo.dll), on PostgreSQL, that a test can kill outright:
/// no shutdown, no goodbye to the cluster, as when a machine dies.
/// </summary>
internal sealed class SiloProcess : IDisposable
{
    private const int KeptLines = 2000;
    private readonly Process _process;
    private readonly Queue<string> _output = new();

    private SiloProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote (stdout and stderr interleaved), for a failing test to show.</summary>
    public IReadOnlyList<string> RecentOutput
    {
        get
        {
            lock (_output)
            {
                return [.. _output];
            }
        }
    }

    /// <summary>Starts the silo on a free HTTP port with the given cluster and extra arguments; does not wait for it.</summary>
    public static SiloProcess Start(string connectionString, string clusterId, IEnumerable<string> extraArguments)
    {
        var httpPort = LoopbackPort.Free();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Orchestrator.Silo.dll"));
        foreach (var argument in new[]
        {
            $"--urls=http://127.0.0.1:{httpPort}",
            $"--ConnectionStrings:Orchestrator={connectionString}",
            $"--Orchestrator:ClusterId={clusterId}",
            $"--Orchestrator:SiloPort={LoopbackPort.Free()}",
            $"--Orchestrator:GatewayPort={LoopbackPort.Free()}",
            "--Orchestrator:AdvertisedIPAddress=127.0.0.1",
            $"--Orchestrator:Secrets:EncryptionKey={SiloNode.EncryptionKey}",
            $"--Orchestrator:Auth:AdminKey={ApiKeys.Admin}",
        }.Concat(extraArguments))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("Orchestrator__", StringComparison.OrdinalIgnoreCase) || k.StartsWith("FLY_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("The silo process did not start.");
        var silo = new SiloProcess(process, new Uri($"http://127.0.0.1:{httpPort}/"));
        // Drained so the silo never blocks on a full pipe; the tail is kept for a failure message.
        process.OutputDataReceived += (_, e) => silo.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    /// <summary>Waits (bounded) until <c>/health/ready</c> answers 200.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress };
        await Wait.UntilAsync(async () => !HasExited && await ReadyAsync(http), "the silo process to be ready", timeout);
    }

    /// <summary>Kills the process and everything it started, at once.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Enqueue(line);
            if (_output.Count > KeptLines)
            {
                _output.Dequeue();
            }
        }
    }

    private static async Task<bool> ReadyAsync(HttpClient http)
    {
        try
        {
            using var response = await http.GetAsync("/health/ready");
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
