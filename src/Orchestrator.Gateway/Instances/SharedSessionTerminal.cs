using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// The one tmux client this gateway process runs for a session, on a PTY of an SSH session grain of its own; every
/// WebSocket attached to the session through this process is an <see cref="AttachSubscriber"/> of it, so all see the
/// same bytes. It ends when its last subscriber leaves (the tmux session runs on), or when tmux detaches it because
/// the session's program died: then every subscriber is sent the program's exit code.
/// </summary>
internal sealed class SharedSessionTerminal : IDisposable
{
    private readonly ITerminalSessionGrain _session;
    private readonly ISshSessionGrain _terminal;
    private readonly Action<SharedSessionTerminal> _ended;
    private readonly Action<Exception> _failed;
    private readonly Lock _gate = new();
    private readonly List<AttachSubscriber> _subscribers = [];
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _over;
    private bool _disposed;

    /// <param name="session">The session it attaches to.</param>
    /// <param name="terminal">The SSH session grain whose PTY runs the tmux client.</param>
    /// <param name="ended">Called once when it is over, to forget it.</param>
    /// <param name="failed">Called with what made the tmux client fail, to log it.</param>
    public SharedSessionTerminal(ITerminalSessionGrain session, ISshSessionGrain terminal, Action<SharedSessionTerminal> ended, Action<Exception> failed)
    {
        (_session, _terminal, _ended, _failed) = (session, terminal, ended, failed);
    }

    /// <summary>Completes once the tmux client runs; faults with the grain's exception when it could not start.</summary>
    public Task Opened => _opened.Task;

    /// <summary>Adds a subscriber, its <paramref name="prelude"/> queued first; false once this terminal is over.</summary>
    public bool TryAdd(AttachSubscriber subscriber, byte[]? prelude)
    {
        lock (_gate)
        {
            if (_over)
            {
                return false;
            }

            if (prelude is { Length: > 0 })
            {
                subscriber.Offer(prelude);
            }

            _subscribers.Add(subscriber);
            return true;
        }
    }

    /// <summary>Removes a subscriber; the last one leaving closes the tmux client.</summary>
    public void Remove(AttachSubscriber subscriber)
    {
        lock (_gate)
        {
            _subscribers.Remove(subscriber);
            if (_subscribers.Count > 0 || _over)
            {
                return;
            }

            _over = true;
            Cancel();
        }

        _ended(this);
    }

    /// <summary>Closes the tmux client with its subscribers still attached (the gateway is stopping).</summary>
    public void Close()
    {
        lock (_gate)
        {
            _over = true;
            Cancel();
        }
    }

    /// <summary>Called by <see cref="RunAsync"/> as it ends.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        _closing.Dispose();
    }

    public Task WriteAsync(byte[] data, CancellationToken cancellationToken) => _terminal.WriteShellAsync(data, cancellationToken);

    public Task ResizeAsync(int columns, int rows, CancellationToken cancellationToken) => _terminal.ResizeShellAsync(columns, rows, cancellationToken);

    /// <summary>Runs the tmux client until it ends or the last subscriber leaves. Started once, by the hub.</summary>
    public async Task RunAsync(int columns, int rows)
    {
        TerminalOutput last;
        IAsyncEnumerator<ShellEvent>? events = null;
        try
        {
            var command = await _session.GetAttachCommandAsync(viewOnly: false, _closing.Token);
            events = _terminal.RunInTerminalAsync(columns, rows, command, _closing.Token).GetAsyncEnumerator(_closing.Token);
            if (!await events.MoveNextAsync())
            {
                throw new InvalidOperationException("The terminal ended before it attached.");
            }

            // tmux empties the terminal's input as it takes it over, so keystrokes sent before then would be lost: the
            // clients are let in once it has drawn something (it draws right after).
            var running = await RelayUntilExitAsync(events, untilFirstOutput: true);
            _opened.TrySetResult();
            // A program that died before this client attached detached nobody: the client would show the dead pane.
            if (running && (await _session.GetAsync(_closing.Token)).Status == TerminalSessionStatus.Running)
            {
                await RelayUntilExitAsync(events, untilFirstOutput: false);
            }

            last = new TerminalOutput.Exit(await ExitCodeAsync());
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            // The last subscriber left, or the gateway is stopping (then the subscribers are told).
            _opened.TrySetCanceled(_closing.Token);
            last = new TerminalOutput.Error("the gateway is stopping; attach again", "gateway stopping");
        }
        catch (Exception ex)
        {
            // Nothing awaits this task: every failure reaches the subscribers (and those still attaching).
            _opened.TrySetException(ex);
            _failed(ex);
            last = new TerminalOutput.Error(InstanceProblems.FromException(ex) is null ? "the attached terminal failed" : ex.Message, "shell failed");
        }
        finally
        {
            if (events is not null)
            {
                // Closes the tmux client; the tmux session and its programs run on.
                await CloseClientAsync(events);
            }
        }

        AttachSubscriber[] subscribers;
        lock (_gate)
        {
            _over = true;
            subscribers = [.. _subscribers];
            _subscribers.Clear();
        }

        _ended(this);
        foreach (var subscriber in subscribers)
        {
            subscriber.End(last);
        }

        Dispose();
    }

    /// <summary>
    /// The session's exit code once the tmux client ended: tmux detached it because the program died (the grain
    /// waits, bounded, for tmux to have the status), or for another reason (the session was deleted or detached by
    /// hand), when there is no code to give.
    /// </summary>
    private async Task<int?> ExitCodeAsync()
    {
        try
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var info = await _session.ProbeExitAsync(bound.Token);
            return info.Status == TerminalSessionStatus.Exited ? info.ExitCode : null;
        }
        catch (Exception ex) when (ex is OperationCanceledException || InstanceProblems.FromException(ex) is not null)
        {
            return null;
        }
    }

    /// <summary>A failure to close is only logged: the subscribers must still be told the terminal ended.</summary>
    private async Task CloseClientAsync(IAsyncEnumerator<ShellEvent> events)
    {
        try
        {
            await events.DisposeAsync();
        }
        catch (OperationCanceledException)
        {
            // Cancelled on purpose: the last subscriber left.
        }
        catch (Exception ex)
        {
            _failed(ex);
        }
    }

    /// <summary>Fans the tmux client's output out until it ends (false), or, when asked, until its first output (true).</summary>
    private async Task<bool> RelayUntilExitAsync(IAsyncEnumerator<ShellEvent> events, bool untilFirstOutput)
    {
        while (await events.MoveNextAsync() && events.Current.Kind != ShellEventKind.Exited)
        {
            if (events.Current is { Kind: ShellEventKind.Output, Data: { Length: > 0 } data })
            {
                FanOut(data);
                if (untilFirstOutput)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Under the lock, so it never meets a disposed source.</summary>
    private void Cancel()
    {
        if (!_disposed)
        {
            _closing.Cancel();
        }
    }

    private void FanOut(byte[] data)
    {
        lock (_gate)
        {
            // A subscriber too far behind is dropped here; its relay tells its client and leaves.
            _subscribers.RemoveAll(s => !s.Offer(data));
        }
    }
}
