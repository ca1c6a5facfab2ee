using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// The sessions attached through this gateway process, keyed <c>{tenant}/{instanceId}/{sessionId}</c>: the first
/// WebSocket to attach to a session starts its <see cref="SharedSessionTerminal"/> (one tmux client), the others
/// join it, and the last to leave closes it. One per process: two gateways each run their own tmux client, which tmux
/// keeps on the same screen.
/// </summary>
internal sealed partial class SessionAttachHub(IClusterClient cluster, ILogger<SessionAttachHub> logger) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SharedSessionTerminal> _terminals = new(StringComparer.Ordinal);

    /// <summary>
    /// Attaches a client: it gets <paramref name="prelude"/>, then the screen (drawn by the tmux client as it attaches,
    /// or redrawn for a client joining one already attached), then the live output. Returns once the tmux client
    /// runs. An interactive client's window size becomes the session's.
    /// </summary>
    /// <exception cref="TerminalSessionNotFoundException">No such session.</exception>
    /// <exception cref="TerminalSessionEndedException">The session has ended.</exception>
    public async Task<SessionAttachment> AttachAsync(
        string tenant, string instanceId, string sessionId, bool viewOnly, int columns, int rows, byte[]? prelude, CancellationToken cancellationToken)
    {
        var key = SshSessionKey.Format(tenant, instanceId, sessionId);
        var session = cluster.GetGrain<ITerminalSessionGrain>(key);
        var subscriber = new AttachSubscriber(viewOnly);
        SharedSessionTerminal? shared = null;
        var starts = false;
        while (shared is null)
        {
            lock (_gate)
            {
                if (!_terminals.TryGetValue(key, out shared))
                {
                    // Its own SSH session grain, so its PTY is apart from every other terminal on the instance.
                    var terminal = cluster.GetGrain<ISshSessionGrain>(SshSessionKey.Format(tenant, instanceId, "at-" + Guid.NewGuid().ToString("N")[..20]));
                    shared = new SharedSessionTerminal(session, terminal, ended => Forget(key, ended), ex => LogFailed(ex, tenant, instanceId, sessionId));
                    _terminals[key] = shared;
                    starts = true;
                }
            }

            if (!shared.TryAdd(subscriber, prelude))
            {
                // It ended after the lookup: start another.
                Forget(key, shared);
                shared = null;
            }
        }

        if (starts)
        {
            _ = Task.Run(() => shared.RunAsync(columns, rows), CancellationToken.None);
        }

        var attachment = new SessionAttachment(shared, subscriber);
        try
        {
            await shared.Opened.WaitAsync(cancellationToken);
            if (!starts)
            {
                if (!viewOnly)
                {
                    await shared.ResizeAsync(columns, rows, cancellationToken);
                }

                // It joined mid-stream: the redraw (sent to every client, which already show that screen) gives it the screen.
                await session.RedrawAsync(cancellationToken);
            }
        }
        catch
        {
            attachment.Dispose();
            throw;
        }

        return attachment;
    }

    public void Dispose()
    {
        SharedSessionTerminal[] terminals;
        lock (_gate)
        {
            terminals = [.. _terminals.Values];
            _terminals.Clear();
        }

        foreach (var terminal in terminals)
        {
            terminal.Close();
        }
    }

    private void Forget(string key, SharedSessionTerminal terminal)
    {
        lock (_gate)
        {
            if (_terminals.TryGetValue(key, out var current) && ReferenceEquals(current, terminal))
            {
                _terminals.Remove(key);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}, instance {Instance}: the terminal attached to session {Session} failed")]
    private partial void LogFailed(Exception exception, string tenant, string instance, string session);
}

/// <summary>One client's part in a <see cref="SharedSessionTerminal"/>; disposing it detaches the client.</summary>
internal sealed class SessionAttachment(SharedSessionTerminal shared, AttachSubscriber subscriber) : ITerminalInput, IDisposable
{
    public bool ViewOnly => subscriber.ViewOnly;

    public IAsyncEnumerable<TerminalOutput> Output(CancellationToken cancellationToken) => subscriber.ReadAllAsync(cancellationToken);

    public Task WriteAsync(byte[] data, CancellationToken cancellationToken) =>
        ViewOnly ? Task.CompletedTask : shared.WriteAsync(data, cancellationToken);

    /// <summary>A viewer's window does not size the session: the interactive clients' do.</summary>
    public Task ResizeAsync(int columns, int rows, CancellationToken cancellationToken) =>
        ViewOnly ? Task.CompletedTask : shared.ResizeAsync(columns, rows, cancellationToken);

    public void Dispose() => shared.Remove(subscriber);
}
