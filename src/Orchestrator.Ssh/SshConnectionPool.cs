using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Text;
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
    private const int OutputBufferSize = 32 * 1024;
    private const int ShellBufferSize = 64 * 1024;

    // Bounds every step of stopping a command: waiting for its PGID, the kill channel, the channel close.
    private static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(5);

    private readonly SshPoolOptions _options;
    private readonly ILogger<SshConnectionPool> _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ITimer _sweeper;
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
            Connection? broken = null;
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
        using var timeout = request.Timeout is { } limit ? new CancellationTokenSource(limit, _time) : new CancellationTokenSource();
        using var callbackFailed = new CancellationTokenSource();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, callbackFailed.Token);

        var processGroup = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sink = new OutputSink(onOutput, callbackFailed, cancellationToken);
        var stdout = PumpAsync(command.OutputStream, SshOutputStream.Stdout, sink, null);
        var stderr = PumpAsync(command.ExtendedOutputStream, SshOutputStream.Stderr, sink, processGroup);
        var stdin = FeedInputAsync(command, request.StandardInput, stop.Token);

        var killed = false;
        try
        {
            await execution.WaitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            killed = true;
            await KillAsync(connectionKey, connection, command, execution, processGroup.Task).ConfigureAwait(false);
        }

        await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
        await stdin.ConfigureAwait(false);
        sink.Failure?.Throw();

        var duration = _time.GetElapsedTime(started);
        var cancelled = killed && cancellationToken.IsCancellationRequested;
        var timedOut = killed && !cancelled && timeout.IsCancellationRequested;
        return new SshExecResult(command.ExitStatus, command.ExitSignal, duration, timedOut, cancelled, connection.HostKey);
    }

    private async Task<(Connection Connection, SshCommand Command, Task Execution)> StartCommandAsync(
        string connectionKey, Entry entry, SshTarget target, string commandText, CancellationToken cancellationToken)
    {
        Connection? broken = null;
        for (var attempt = 1; ; attempt++)
        {
            var connection = await GetConnectionAsync(connectionKey, entry, target, broken, cancellationToken).ConfigureAwait(false);
            var command = connection.Client.CreateCommand(commandText);
            try
            {
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

    private static bool IsConnectionLost(Exception exception, Connection connection) =>
        exception is SshConnectionException or ObjectDisposedException or SocketException || !connection.Client.IsConnected;

    private async Task KillAsync(string connectionKey, Connection connection, SshCommand command, Task execution, Task<int> processGroupTask)
    {
        var processGroup = 0;
        try
        {
            processGroup = await processGroupTask.WaitAsync(KillGrace, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Falls back to a channel signal below.
        }

        // 0/1 mean "unknown" and "init": never signal those groups.
        if (processGroup > 1 && !execution.IsCompleted)
        {
            LogKilling(connectionKey, processGroup);
            try
            {
                // A fresh channel, outside the channel limit: the killed command still holds its slot.
                using var kill = connection.Client.CreateCommand(RemoteCommand.Kill(processGroup));
                await kill.ExecuteAsync(CancellationToken.None).WaitAsync(KillGrace + KillGrace, _time).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is SshException or ObjectDisposedException or InvalidOperationException or TimeoutException or SocketException)
            {
                LogKillFailed(connectionKey, processGroup, exception.Message);
            }
        }

        try
        {
            await execution.WaitAsync(KillGrace, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // No PGID or a stuck kill: ask sshd itself to signal the command, which also ends the channel.
            try
            {
                // CancelAsync is synchronous despite its name: it waits up to the timeout for the server.
                await Task.Run(() => command.CancelAsync(forceKill: true, millisecondsTimeout: (int)KillGrace.TotalMilliseconds)).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is SshException or ObjectDisposedException or InvalidOperationException)
            {
                LogKillFailed(connectionKey, processGroup, exception.Message);
            }
        }
        catch (Exception exception) when (exception is SshException or ObjectDisposedException)
        {
            LogKillFailed(connectionKey, processGroup, exception.Message);
        }
    }

    private static async Task PumpAsync(Stream source, SshOutputStream kind, OutputSink sink, TaskCompletionSource<int>? processGroup)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(OutputBufferSize);
        var marker = processGroup is null ? null : new MarkerReader(processGroup);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, OutputBufferSize)).ConfigureAwait(false)) > 0)
            {
                ReadOnlyMemory<byte> data = buffer.AsMemory(0, read);
                if (marker is { Done: false })
                {
                    var (head, remainder) = marker.Consume(data);
                    if (head.Length > 0)
                    {
                        await sink.WriteAsync(kind, head).ConfigureAwait(false);
                    }

                    data = remainder;
                }

                if (data.Length > 0)
                {
                    await sink.WriteAsync(kind, data).ConfigureAwait(false);
                }
            }

            if (marker is { Done: false } && marker.Flush() is { Length: > 0 } pending)
            {
                await sink.WriteAsync(kind, pending).ConfigureAwait(false);
            }
        }
        catch (ObjectDisposedException)
        {
            // The command was torn down under us; whatever was unread is gone with it.
        }
        finally
        {
            processGroup?.TrySetResult(0);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task FeedInputAsync(SshCommand command, Stream? input, CancellationToken cancellationToken)
    {
        if (input is null)
        {
            // The command line redirects stdin from /dev/null.
            return;
        }

        try
        {
            // Disposing the stream sends EOF.
            var remote = command.CreateInputStream();
            await using (remote.ConfigureAwait(false))
            {
                await input.CopyToAsync(remote, OutputBufferSize, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or SshException or ObjectDisposedException or InvalidOperationException)
        {
            LogInputStopped(exception.Message);
        }
    }

    private async Task<Connection> GetConnectionAsync(string connectionKey, Entry entry, SshTarget target, Connection? broken, CancellationToken cancellationToken)
    {
        var identity = Identity(target);
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
                current = await ConnectAsync(target, identity, cancellationToken).ConfigureAwait(false);
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

    private async Task<Connection> ConnectAsync(SshTarget target, string identity, CancellationToken cancellationToken)
    {
        (string Type, byte[] Blob)? pinned = target.PinnedHostKey is { } pin ? SshKeys.ParsePublicKey(pin, nameof(target.PinnedHostKey)) : null;
        var keyFile = new PrivateKeyFile(new MemoryStream(Encoding.UTF8.GetBytes(target.PrivateKeyOpenSsh), writable: false));
        SshClient? client = null;
        try
        {
            var info = new ConnectionInfo(target.Host, target.Port, target.UserName, new PrivateKeyAuthenticationMethod(target.UserName, keyFile))
            {
                Timeout = _options.ConnectTimeout,
            };
            if (pinned is { } pinnedKey)
            {
                // Offer only the pinned key's algorithms so a server with several host keys shows us the pinned one.
                var matching = info.HostKeyAlgorithms.Keys.Where(name => MatchesKeyType(name, pinnedKey.Type)).ToHashSet(StringComparer.Ordinal);
                if (matching.Count > 0)
                {
                    foreach (var name in info.HostKeyAlgorithms.Keys.Where(name => !matching.Contains(name)).ToList())
                    {
                        info.HostKeyAlgorithms.Remove(name);
                    }
                }
            }

            client = new SshClient(info) { KeepAliveInterval = _options.KeepAliveInterval };
            byte[]? seen = null;
            var mismatch = false;
            client.HostKeyReceived += (_, e) =>
            {
                seen = e.HostKey;
                if (pinned is { } expected && !expected.Blob.AsSpan().SequenceEqual(e.HostKey))
                {
                    mismatch = true;
                    e.CanTrust = false;
                }
            };

            using var connectTimeout = new CancellationTokenSource(_options.ConnectTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, connectTimeout.Token);
            try
            {
                await client.ConnectAsync(linked.Token).ConfigureAwait(false);
            }
            catch (Exception exception) when (mismatch && seen is not null && pinned is { } expected)
            {
                throw new SshHostKeyMismatchException(
                    target.Host, target.Port, SshKeys.FingerprintOfBlob(expected.Blob), SshKeys.FingerprintOfBlob(seen), FormatKey(seen), exception);
            }
            catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"SSH connect to {target.Host}:{target.Port} did not complete within {_options.ConnectTimeout.TotalSeconds:0.#} s.", exception);
            }

            var hostKey = seen ?? throw new SshConnectionException("The server's host key was not reported during key exchange.");
            var connection = new Connection(client, keyFile, hostKey, FormatKey(hostKey), identity);
            client = null;
            return connection;
        }
        catch
        {
            client?.Dispose();
            keyFile.Dispose();
            throw;
        }
    }

    private static bool MatchesKeyType(string algorithm, string keyType) =>
        algorithm == keyType || (keyType == "ssh-rsa" && algorithm.StartsWith("rsa-sha2-", StringComparison.Ordinal));

    private static string FormatKey(byte[] blob) => $"{SshKeys.BlobType(blob) ?? "unknown"} {Convert.ToBase64String(blob)}";

    // A changed address, user or key means a different machine or identity: never reuse the old connection for it.
    private static string Identity(SshTarget target) =>
        $"{target.UserName}@{target.Host}:{target.Port}#{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(target.PrivateKeyOpenSsh)))}";

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Killing remote process group {ProcessGroup} on {ConnectionKey}")]
    private partial void LogKilling(string connectionKey, int processGroup);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not kill remote process group {ProcessGroup} on {ConnectionKey}: {Reason}")]
    private partial void LogKillFailed(string connectionKey, int processGroup, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Stopped feeding stdin: {Reason}")]
    private partial void LogInputStopped(string reason);

    private sealed class Entry(int maxChannels)
    {
        // Fields, not properties: Interlocked and Volatile need refs.
        public Connection? Current;
        public int Active;
        public long LastUsed;

        public SemaphoreSlim Channels { get; } = new(maxChannels, maxChannels);

        public SemaphoreSlim ConnectLock { get; } = new(1, 1);
    }

    private sealed class Connection(SshClient client, PrivateKeyFile keyFile, byte[] hostKeyBlob, string hostKey, string identity) : IDisposable
    {
        public SshClient Client { get; } = client;

        public byte[] HostKeyBlob { get; } = hostKeyBlob;

        public string HostKey { get; } = hostKey;

        public string Identity { get; } = identity;

        public void Dispose()
        {
            Client.Dispose();
            keyFile.Dispose();
        }
    }

    /// <summary>Serializes callbacks from the two output pumps and remembers the first callback failure.</summary>
    private sealed class OutputSink(Func<SshOutputChunk, CancellationToken, ValueTask> onOutput, CancellationTokenSource failed, CancellationToken callerToken) : IDisposable
    {
        private readonly SemaphoreSlim _gate = new(1, 1);

        public void Dispose() => _gate.Dispose();

        public ExceptionDispatchInfo? Failure { get; private set; }

        public async ValueTask WriteAsync(SshOutputStream kind, ReadOnlyMemory<byte> data)
        {
            // After a cancel or failure the output is still drained (so the channel can close) but not delivered.
            if (Failure is not null || callerToken.IsCancellationRequested)
            {
                return;
            }

            await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                if (Failure is null && !callerToken.IsCancellationRequested)
                {
                    await onOutput(new SshOutputChunk(kind, data), callerToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (callerToken.IsCancellationRequested)
            {
                // The caller is going away; the exec reports Cancelled.
            }
#pragma warning disable CA1031 // Any callback failure must stop the remote command, then surface to the caller.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                Failure = ExceptionDispatchInfo.Capture(exception);
                await failed.CancelAsync().ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    /// <summary>Strips the <see cref="RemoteCommand.PgidMarker"/> line from the start of stderr.</summary>
    private sealed class MarkerReader(TaskCompletionSource<int> processGroup)
    {
        private const int MaxLine = 64;
        private readonly byte[] _line = new byte[MaxLine];
        private int _length;

        public bool Done { get; private set; }

        /// <summary>Returns bytes to pass on now: a non-marker head (if the line was not ours), then the rest of the chunk.</summary>
        public (ReadOnlyMemory<byte> Head, ReadOnlyMemory<byte> Remainder) Consume(ReadOnlyMemory<byte> data)
        {
            var span = data.Span;
            for (var i = 0; i < span.Length; i++)
            {
                if (_length == MaxLine)
                {
                    return (Flush(), data[i..]);
                }

                _line[_length++] = span[i];
                if (span[i] == (byte)'\n')
                {
                    Done = true;
                    var line = Encoding.ASCII.GetString(_line, 0, _length - 1);
                    if (line.StartsWith(RemoteCommand.PgidMarker, StringComparison.Ordinal)
                        && int.TryParse(line.AsSpan(RemoteCommand.PgidMarker.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var group))
                    {
                        processGroup.TrySetResult(group);
                        return (ReadOnlyMemory<byte>.Empty, data[(i + 1)..]);
                    }

                    processGroup.TrySetResult(0);
                    return (_line.AsMemory(0, _length), data[(i + 1)..]);
                }
            }

            return (ReadOnlyMemory<byte>.Empty, ReadOnlyMemory<byte>.Empty);
        }

        /// <summary>Gives up on the marker and returns what was held back.</summary>
        public ReadOnlyMemory<byte> Flush()
        {
            Done = true;
            processGroup.TrySetResult(0);
            return _line.AsMemory(0, _length);
        }
    }
}
