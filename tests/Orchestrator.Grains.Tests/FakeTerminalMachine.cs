using System.Collections.Concurrent;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Grains.Tests;

/// <summary>Terminal sessions as a table: what tmux on a machine would report, set by the tests.</summary>
public sealed class FakeTerminalMachine : ITerminalMachine
{
    private readonly ConcurrentDictionary<string, FakeTmuxSession> _sessions = new(StringComparer.Ordinal);

    /// <summary>The session as tmux would see it; null once killed or never created.</summary>
    public FakeTmuxSession? Find(string tenant, string instanceId, string session) =>
        _sessions.TryGetValue(Key(tenant, instanceId, session), out var found) ? found : null;

    public Task CreateAsync(string tenant, string instanceId, string session, TerminalSessionSpec spec, CancellationToken cancellationToken)
    {
        _sessions[Key(tenant, instanceId, session)] = new FakeTmuxSession();
        return Task.CompletedTask;
    }

    public Task<TmuxProbeResult?> ProbeAsync(string tenant, string instanceId, string session, CancellationToken cancellationToken) =>
        Task.FromResult(Find(tenant, instanceId, session) is { } s ? new TmuxProbeResult(s.Dead, s.ExitCode, s.Attached, s.Activity) : null);

    /// <summary>tmux waited for the exit status: a dead pane's <see cref="FakeTmuxSession.PendingExitCode"/> arrives.</summary>
    public Task<TmuxProbeResult?> ProbeExitAsync(string tenant, string instanceId, string session, CancellationToken cancellationToken)
    {
        if (Find(tenant, instanceId, session) is { Dead: true, ExitCode: null, PendingExitCode: { } pending } s)
        {
            s.ExitCode = pending;
        }

        return ProbeAsync(tenant, instanceId, session, cancellationToken);
    }

    public Task<bool> RedrawAsync(string tenant, string instanceId, string session, CancellationToken cancellationToken)
    {
        if (Find(tenant, instanceId, session) is not { } s)
        {
            return Task.FromResult(false);
        }

        s.Redraws++;
        return Task.FromResult(true);
    }

    public Task<TerminalScreen?> CaptureAsync(string tenant, string instanceId, string session, int scrollback, CancellationToken cancellationToken) =>
        Task.FromResult(Find(tenant, instanceId, session) is { } s ? new TerminalScreen(string.Concat(s.Typed), 0, 0, 80, 24) : null);

    public Task<bool> SendAsync(string tenant, string instanceId, string session, TerminalInput input, CancellationToken cancellationToken)
    {
        if (Find(tenant, instanceId, session) is not { } s)
        {
            return Task.FromResult(false);
        }

        s.Typed.Enqueue(input.Text ?? string.Join(' ', input.Keys!));
        return Task.FromResult(true);
    }

    public Task KillAsync(string tenant, string instanceId, string session, CancellationToken cancellationToken)
    {
        _sessions.TryRemove(Key(tenant, instanceId, session), out _);
        return Task.CompletedTask;
    }

    private static string Key(string tenant, string instanceId, string session) => $"{tenant}/{instanceId}/{session}";
}

public sealed class FakeTmuxSession
{
    public bool Dead { get; set; }

    public int? ExitCode { get; set; }

    /// <summary>The exit status tmux has not reported yet: the pane is dead, its program not yet reaped.</summary>
    public int? PendingExitCode { get; set; }

    public int Redraws { get; set; }

    public int Attached { get; set; }

    public DateTimeOffset? Activity { get; set; }

    public ConcurrentQueue<string> Typed { get; } = new();
}
