using System.Text;
using Orchestrator.Grains.Instances;

namespace Orchestrator.Grains.Sessions;

/// <summary>The tmux side of terminal sessions: what the session grain asks of the instance's machine.</summary>
public interface ITerminalMachine
{
    /// <exception cref="InstanceValidationException">The machine refused the spec (a cwd that does not exist).</exception>
    Task CreateAsync(string tenant, string instanceId, string session, TerminalSessionSpec spec, CancellationToken cancellationToken);

    /// <summary>The session as tmux reports it; null when tmux has no such session.</summary>
    Task<TmuxProbeResult?> ProbeAsync(string tenant, string instanceId, string session, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="ProbeAsync"/>, but when the pane is dead before tmux has its exit status, waits (a few seconds at
    /// most) for the status.
    /// </summary>
    Task<TmuxProbeResult?> ProbeExitAsync(string tenant, string instanceId, string session, CancellationToken cancellationToken);

    /// <summary>Has every client attached to the session redraw its whole screen; false when tmux has no such session.</summary>
    Task<bool> RedrawAsync(string tenant, string instanceId, string session, CancellationToken cancellationToken);

    /// <summary>The screen; null when tmux has no such session.</summary>
    Task<TerminalScreen?> CaptureAsync(string tenant, string instanceId, string session, int scrollback, CancellationToken cancellationToken);

    /// <summary>False when tmux has no such session.</summary>
    Task<bool> SendAsync(string tenant, string instanceId, string session, TerminalInput input, CancellationToken cancellationToken);

    Task KillAsync(string tenant, string instanceId, string session, CancellationToken cancellationToken);
}

/// <summary>A session as tmux reports it.</summary>
/// <param name="Dead">Its program exited.</param>
/// <param name="ExitCode">The exit status, or 128 + the signal that ended it.</param>
/// <param name="Attached">Clients attached now.</param>
/// <param name="Activity">The last input or output.</param>
public sealed record TmuxProbeResult(bool Dead, int? ExitCode, int Attached, DateTimeOffset? Activity);

/// <summary>Runs the tmux commands of <see cref="TmuxCommands"/> as one-off commands on the instance's pooled SSH connection.</summary>
internal sealed class SshTerminalMachine(IGrainFactory grains) : ITerminalMachine
{
    /// <summary>The SSH session grain whose exec channel carries the tmux commands.</summary>
    private const string TmuxSession = "tmux";

    public async Task CreateAsync(string tenant, string instanceId, string session, TerminalSessionSpec spec, CancellationToken cancellationToken)
    {
        var (exitCode, stdout, stderr) = await RunAsync(tenant, instanceId, TmuxCommands.New(session, spec), cancellationToken);
        if (exitCode == 2 && spec.Cwd is not null && stderr.StartsWith("cwd:", StringComparison.Ordinal))
        {
            throw new InstanceValidationException("cwd", $"cwd '{spec.Cwd}' is not a directory on the machine");
        }

        Check(exitCode, stdout, stderr, "start the session");
    }

    public Task<TmuxProbeResult?> ProbeAsync(string tenant, string instanceId, string session, CancellationToken cancellationToken) =>
        ReadProbeAsync(tenant, instanceId, TmuxCommands.Probe(session), cancellationToken);

    public Task<TmuxProbeResult?> ProbeExitAsync(string tenant, string instanceId, string session, CancellationToken cancellationToken) =>
        ReadProbeAsync(tenant, instanceId, TmuxCommands.ProbeExit(session), cancellationToken);

    public async Task<bool> RedrawAsync(string tenant, string instanceId, string session, CancellationToken cancellationToken)
    {
        var (exitCode, stdout, stderr) = await RunAsync(tenant, instanceId, TmuxCommands.Redraw(session), cancellationToken);
        if (exitCode == TmuxCommands.NoSession)
        {
            return false;
        }

        Check(exitCode, stdout, stderr, "redraw the session's clients");
        return true;
    }

    public async Task<TerminalScreen?> CaptureAsync(string tenant, string instanceId, string session, int scrollback, CancellationToken cancellationToken)
    {
        var (exitCode, stdout, stderr) = await RunAsync(tenant, instanceId, TmuxCommands.Capture(session, scrollback), cancellationToken);
        if (exitCode == TmuxCommands.NoSession)
        {
            return null;
        }

        Check(exitCode, stdout, stderr, "read the screen");
        return TmuxCommands.ParseCapture(stdout);
    }

    public async Task<bool> SendAsync(string tenant, string instanceId, string session, TerminalInput input, CancellationToken cancellationToken)
    {
        var (exitCode, stdout, stderr) = await RunAsync(tenant, instanceId, TmuxCommands.Send(session, input), cancellationToken);
        if (exitCode == TmuxCommands.NoSession)
        {
            return false;
        }

        Check(exitCode, stdout, stderr, "send the input");
        return true;
    }

    public async Task KillAsync(string tenant, string instanceId, string session, CancellationToken cancellationToken)
    {
        var (exitCode, stdout, stderr) = await RunAsync(tenant, instanceId, TmuxCommands.Kill(session), cancellationToken);
        Check(exitCode, stdout, stderr, "end the session");
    }

    private async Task<TmuxProbeResult?> ReadProbeAsync(string tenant, string instanceId, string command, CancellationToken cancellationToken)
    {
        var (exitCode, stdout, stderr) = await RunAsync(tenant, instanceId, command, cancellationToken);
        if (exitCode == TmuxCommands.NoSession)
        {
            return null;
        }

        Check(exitCode, stdout, stderr, "read the session");
        return TmuxCommands.ParseProbe(stdout);
    }

    private async Task<(int? ExitCode, string Stdout, string Stderr)> RunAsync(string tenant, string instanceId, string command, CancellationToken cancellationToken)
    {
        var grain = grains.GetGrain<ISshSessionGrain>(SshSessionKey.Format(tenant, instanceId, TmuxSession));
        using var stdout = new MemoryStream();
        using var stderr = new MemoryStream();
        int? exitCode = null;
        await foreach (var item in grain.ExecAsync(new ExecCommand(command, Timeout: TimeSpan.FromSeconds(20)), cancellationToken))
        {
            switch (item.Kind)
            {
                case ExecEventKind.Stdout when item.Data is { } data:
                    stdout.Write(data);
                    break;
                case ExecEventKind.Stderr when item.Data is { } data:
                    stderr.Write(data);
                    break;
                case ExecEventKind.Exited:
                    exitCode = item.Exit?.ExitCode;
                    break;
            }
        }

        return (exitCode, Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray()));
    }

    private static void Check(int? exitCode, string stdout, string stderr, string what)
    {
        if (exitCode != 0)
        {
            var detail = (stderr.Trim() is { Length: > 0 } e ? e : stdout.Trim()) switch
            {
                { Length: 0 } => "no output",
                var text when text.Contains("command not found", StringComparison.Ordinal) || text.Contains("tmux: not found", StringComparison.Ordinal) => "tmux is not installed on the machine",
                var text => text,
            };
            throw new InstanceUnreachableException(UnreachableReasons.Unreachable, $"tmux could not {what} (exit {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}): {detail}");
        }
    }
}
