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
    /// <summary>A free loopback port below the ephemeral range (<see cref="Orchestrator.Hosting.LoopbackPorts.Reserve"/>).</summary>
    public static int Free(IPAddress? address = null) => Orchestrator.Hosting.LoopbackPorts.Reserve(address);

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
}
