using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Orchestrator.Ssh;

/// <summary>
/// One SSH connection per key (the orchestrator uses the instance id), shared by every exec and
/// shell on it: channels are multiplexed up to <see cref="SshPoolOptions.MaxChannelsPerConnection"/>
/// (callers beyond that wait), keep-alives detect dead peers, idle connections close, and a
/// dropped connection is re-opened on next use.
/// </summary>
public sealed partial class SshConnectionPool : IAsyncDisposable
{
    private const int ShellBufferSize = 64 * 1024;

    private readonly SshPoolOptions _options;
    private readonly ILogger<SshConnectionPool> _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ITimer _sweeper;
    private readonly SshConnector _connector;
    private readonly RemoteExecution _execution;
    private int _connectionsOpened;
    private int _disposed;

    public SshConnectionPool(SshPoolOptions options, ILogger<SshConnectionPool> logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(time);
        if (options.MaxChannelsPerConnection < 1 || options.IdleTimeout <= TimeSpan.Zero || options.ConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("MaxChannelsPerConnection, IdleTimeout and ConnectTimeout must be positive.", nameof(options));
        }

        _options = options;
        _logger = logger;
        _time = time;
        _connector = new SshConnector(options, time);
        _execution = new RemoteExecution(logger, time);
        var period = TimeSpan.FromTicks(Math.Clamp(options.IdleTimeout.Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(30).Ticks));
        _sweeper = time.CreateTimer(_ => CloseIdle(), null, period, period);
    }

    /// <summary>Connections opened so far (first connects and reconnects); for tests and metrics.</summary>
    internal int ConnectionsOpened => Volatile.Read(ref _connectionsOpened);

    /// <summary>
    /// Runs <paramref name="request"/> on the connection for <paramref name="connectionKey"/>,
    /// streaming output to <paramref name="onOutput"/> as it arrives (one call at a time; the
    /// chunk's memory is reused after the call returns). Timeout, cancellation of
    /// <paramref name="cancellationToken"/> or an exception from <paramref name="onOutput"/> kill
    /// the remote process group; the first two return a result saying so, the last rethrows.
    /// </summary>
    /// <exception cref="ArgumentException">The request is invalid (the message names the field).</exception>
    /// <exception cref="SshHostKeyMismatchException">The server's host key is not the pinned one.</exception>
    /// <exception cref="OperationCanceledException">Cancelled before the command started.</exception>
    public async Task<SshExecResult> ExecAsync(
        string connectionKey,
        SshTarget target,
        SshExecRequest request,
        Func<SshOutputChunk, CancellationToken, ValueTask> onOutput,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionKey);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(onOutput);
        if (request.Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("Timeout must be positive when set.", nameof(request));
        }

        var commandText = RemoteCommand.Build(request);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var started = _time.GetTimestamp();
        var entry = Enter(connectionKey);
        try
        {
            await entry.Channels.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await RunAsync(connectionKey, entry, target, commandText, request, onOutput, started, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                entry.Channels.Release();
            }
        }
        finally
        {
            Leave(entry);
        }
    }

    /// <summary>
    /// Opens the connection for <paramref name="connectionKey"/> if it is not open yet and returns the server's host
    /// key (<c>type base64</c>), so a caller can pin it, or learn that the machine is unreachable, before running anything.
    /// </summary>
    /// <exception cref="SshHostKeyMismatchException">The server's host key is not the pinned one.</exception>
    public async Task<string> ConnectAsync(string connectionKey, SshTarget target, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionKey);
        ArgumentNullException.ThrowIfNull(target);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var entry = Enter(connectionKey);
        try
        {
            var connection = await GetConnectionAsync(connectionKey, entry, target, null, cancellationToken).ConfigureAwait(false);
            return connection.HostKey;
        }
        finally
        {
            Leave(entry);
        }
    }

    /// <summary>Opens an interactive <c>xterm-256color</c> PTY shell; it holds one channel slot until disposed.</summary>
    public async Task<ISshShell> OpenShellAsync(string connectionKey, SshTarget target, int columns, int rows, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionKey);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var entry = Enter(connectionKey);
        var holdsSlot = false;
        try
        {
            await entry.Channels.WaitAsync(cancellationToken).ConfigureAwait(false);
            holdsSlot = true;
            SshConnection? broken = null;
            for (var attempt = 1; ; attempt++)
            {
                var connection = await GetConnectionAsync(connectionKey, entry, target, broken, cancellationToken).ConfigureAwait(false);
                try
                {
                    var stream = await Task.Run(
                        () => connection.Client.CreateShellStream("xterm-256color", (uint)columns, (uint)rows, 0, 0, ShellBufferSize),
                        cancellationToken).ConfigureAwait(false);
                    return new SshShell(stream, () =>
                    {
                        entry.Channels.Release();
                        Leave(entry);
                    });
                }
                catch (Exception exception) when (attempt == 1 && IsConnectionLost(exception, connection))
                {
                    LogReconnecting(connectionKey, exception.Message);
                    broken = connection;
                }
            }
        }
        catch
        {
            if (holdsSlot)
            {
                entry.Channels.Release();
            }

            Leave(entry);
            throw;
        }
    }

    /// <summary>Closes and forgets the connection for a key, e.g. when its machine was replaced; channels still on it fail.</summary>
    public void Invalidate(string connectionKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionKey);
        if (_entries.TryRemove(connectionKey, out var entry) && Interlocked.Exchange(ref entry.Current, null) is { } connection)
        {
            LogInvalidated(connectionKey);
            connection.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _sweeper.DisposeAsync().ConfigureAwait(false);
        foreach (var key in _entries.Keys)
        {
            if (_entries.TryRemove(key, out var entry) && Interlocked.Exchange(ref entry.Current, null) is { } connection)
            {
                connection.Dispose();
            }
        }
    }

    private Entry Enter(string connectionKey)
    {
        var entry = _entries.GetOrAdd(connectionKey, static (_, max) => new Entry(max), _options.MaxChannelsPerConnection);
        // Counted before waiting for a slot, so the idle sweep never closes a connection someone queues for.
        Interlocked.Increment(ref entry.Active);
        return entry;
    }

    private void Leave(Entry entry)
    {
        Volatile.Write(ref entry.LastUsed, _time.GetTimestamp());
        Interlocked.Decrement(ref entry.Active);
    }

    private async Task<SshExecResult> RunAsync(
        string connectionKey,
        Entry entry,
        SshTarget target,
        string commandText,
        SshExecRequest request,
        Func<SshOutputChunk, CancellationToken, ValueTask> onOutput,
        long started,
        CancellationToken cancellationToken)
    {
        var (connection, command, execution) = await StartCommandAsync(connectionKey, entry, target, commandText, cancellationToken).ConfigureAwait(false);
        using var disposeCommand = command;
        return await _execution.RunAsync(connectionKey, connection, command, execution, request, onOutput, started, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(SshConnection Connection, SshCommand Command, Task Execution)> StartCommandAsync(
        string connectionKey, Entry entry, SshTarget target, string commandText, CancellationToken cancellationToken)
    {
        SshConnection? broken = null;
        for (var attempt = 1; ; attempt++)
        {
            var connection = await GetConnectionAsync(connectionKey, entry, target, broken, cancellationToken).ConfigureAwait(false);
            var command = connection.Client.CreateCommand(commandText);
            try
            {
                CommandOutputBuffer.Install(command);
                // Opening the channel blocks on the server's reply; keep that off the caller's thread.
                var execution = await Task.Factory.StartNew(
                    () => command.ExecuteAsync(CancellationToken.None),
                    cancellationToken,
                    TaskCreationOptions.DenyChildAttach,
                    TaskScheduler.Default).ConfigureAwait(false);
                return (connection, command, execution);
            }
            catch (Exception exception) when (attempt == 1 && IsConnectionLost(exception, connection))
            {
                // The channel never opened, so nothing ran: safe to retry once on a fresh connection.
                command.Dispose();
                LogReconnecting(connectionKey, exception.Message);
                broken = connection;
            }
            catch
            {
                command.Dispose();
                throw;
            }
        }
    }

    private static bool IsConnectionLost(Exception exception, SshConnection connection) =>
        exception is SshConnectionException or ObjectDisposedException or SocketException || !connection.Client.IsConnected;

    private async Task<SshConnection> GetConnectionAsync(string connectionKey, Entry entry, SshTarget target, SshConnection? broken, CancellationToken cancellationToken)
    {
        var identity = SshConnector.Identity(target);
        await entry.ConnectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = Volatile.Read(ref entry.Current);
            if (current is not null && (ReferenceEquals(current, broken) || !current.Client.IsConnected || current.Identity != identity))
            {
                LogDropped(connectionKey);
                Volatile.Write(ref entry.Current, null);
                current.Dispose();
                current = null;
            }

            if (current is null)
            {
                current = await _connector.ConnectAsync(target, identity, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _connectionsOpened);
                var fingerprint = SshKeys.FingerprintOfBlob(current.HostKeyBlob);
                LogConnected(connectionKey, target.Host, target.Port, fingerprint);
                Volatile.Write(ref entry.Current, current);
            }

            if (target.PinnedHostKey is { } pinned)
            {
                // The connection may predate the pin (opened on first connect): check it all the same.
                var (_, expected) = SshKeys.ParsePublicKey(pinned, nameof(target.PinnedHostKey));
                if (!expected.AsSpan().SequenceEqual(current.HostKeyBlob))
                {
                    throw new SshHostKeyMismatchException(
                        target.Host, target.Port, SshKeys.FingerprintOfBlob(expected), SshKeys.FingerprintOfBlob(current.HostKeyBlob), current.HostKey, null);
                }
            }

            return current;
        }
        finally
        {
            entry.ConnectLock.Release();
        }
    }

    private void CloseIdle()
    {
        foreach (var (key, entry) in _entries)
        {
            if (Volatile.Read(ref entry.Active) != 0
                || Volatile.Read(ref entry.Current) is null
                || _time.GetElapsedTime(Volatile.Read(ref entry.LastUsed)) < _options.IdleTimeout
                || !entry.ConnectLock.Wait(0))
            {
                continue;
            }

            try
            {
                if (Volatile.Read(ref entry.Active) == 0 && Interlocked.Exchange(ref entry.Current, null) is { } connection)
                {
                    LogIdleClosed(key);
                    connection.Dispose();
                }
            }
            finally
            {
                entry.ConnectLock.Release();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SSH connection {ConnectionKey} opened to {Host}:{Port}, host key {Fingerprint}")]
    private partial void LogConnected(string connectionKey, string host, int port, string fingerprint);

    [LoggerMessage(Level = LogLevel.Information, Message = "SSH connection {ConnectionKey} dropped; reconnecting")]
    private partial void LogDropped(string connectionKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SSH connection {ConnectionKey} lost while opening a channel ({Reason}); retrying on a new connection")]
    private partial void LogReconnecting(string connectionKey, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "SSH connection {ConnectionKey} closed after being idle")]
    private partial void LogIdleClosed(string connectionKey);

    [LoggerMessage(Level = LogLevel.Information, Message = "SSH connection {ConnectionKey} invalidated")]
    private partial void LogInvalidated(string connectionKey);

    private sealed class Entry(int maxChannels)
    {
        // Fields, not properties: Interlocked and Volatile need refs.
        public SshConnection? Current;
        public int Active;
        public long LastUsed;

        public SemaphoreSlim Channels { get; } = new(maxChannels, maxChannels);

        public SemaphoreSlim ConnectLock { get; } = new(1, 1);
    }

}
