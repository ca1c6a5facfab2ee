using System.Net;
using System.Net.Sockets;
using Orchestrator.Sandbox;

namespace Orchestrator.Testing;

/// <summary>What a finished child process left behind.</summary>
public sealed record ToolResult(int ExitCode, string StandardOutput, string StandardError)
{
    public string Output => StandardOutput + StandardError;
}

/// <summary>Runs a command-line tool to completion, killing its whole tree when it overruns.</summary>
public static class ToolProcess
{
    /// <summary>
    /// Runs <paramref name="fileName"/>; with <paramref name="runAs"/>, as that user through <c>runuser</c>
    /// (PostgreSQL refuses to run as root). In <paramref name="environment"/> a <see langword="null"/> value
    /// removes the variable. A run longer than <paramref name="timeout"/> is killed with its children
    /// (and its output so far is lost with it).
    /// </summary>
    public static async Task<ToolResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        string? runAs = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null,
        CancellationToken cancellationToken = default)
    {
        var start = HostTool.StartInfo(runAs is null ? fileName : "runuser", runAs is null ? arguments : ["-u", runAs, "--", fileName, .. arguments]);
        start.WorkingDirectory = workingDirectory ?? "";
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        var (exitCode, standardOutput, standardError) = await HostTool.RunAsync(start, timeout, cancellationToken).ConfigureAwait(false);
        return new ToolResult(exitCode, standardOutput, standardError);
    }

    /// <summary>Like <see cref="RunAsync"/>, but a non-zero exit is an exception carrying the tool's output.</summary>
    public static async Task<ToolResult> RunCheckedAsync(
        string fileName, IEnumerable<string> arguments, TimeSpan timeout, string? runAs = null, CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(fileName, arguments, timeout, runAs, cancellationToken: cancellationToken).ConfigureAwait(false);
        return result.ExitCode == 0
            ? result
            : throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} failed with exit code {result.ExitCode}: {result.Output}");
    }
}

/// <summary>Free TCP ports for servers the tests start.</summary>
public static class LoopbackPort
{
    private const int Lowest = 10_000;

    /// <summary>
    /// A port free on <paramref name="address"/> (default 127.0.0.1) right now, below the kernel's
    /// ephemeral range where it can be had: a port from that range (what binding port 0 gives) can be
    /// taken by any process's outgoing connection before the server binds it, and test assemblies
    /// running in parallel open many. Another test may still pick the same port; that is rare.
    /// </summary>
    public static int Free(IPAddress? address = null)
    {
        var below = EphemeralRangeStart();
        for (var attempt = 0; attempt < 50 && below > Lowest; attempt++)
        {
            var port = Random.Shared.Next(Lowest, below);
            try
            {
                using var probe = new TcpListener(address ?? IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
        }

        using var listener = new TcpListener(address ?? IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>True when something accepts TCP connections on 127.0.0.1:<paramref name="port"/> now.</summary>
    public static bool Accepts(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int EphemeralRangeStart()
    {
        const string range = "/proc/sys/net/ipv4/ip_local_port_range";
        return File.Exists(range) && int.TryParse(File.ReadAllText(range).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0], out var start)
            ? start
            : 32_768;
    }
}
