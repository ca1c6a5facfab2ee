using System.Buffers;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Orchestrator.Ssh;

/// <summary>
/// One command on an open channel: relays its stdout and stderr to the caller as they arrive (one callback at a time),
/// feeds its stdin, and on timeout, cancellation or a failing callback has <see cref="ProcessGroupKiller"/> end it.
/// </summary>
internal sealed partial class RemoteExecution
{
    private const int OutputBufferSize = 32 * 1024;
    private static readonly ReadOnlyMemory<byte> StdinLead = "\n"u8.ToArray();

    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ProcessGroupKiller _killer;

    public RemoteExecution(ILogger logger, TimeProvider time)
    {
        _logger = logger;
        _time = time;
        _killer = new ProcessGroupKiller(logger, time);
    }

    public async Task<SshExecResult> RunAsync(
        string connectionKey,
        SshConnection connection,
        SshCommand command,
        Task execution,
        SshExecRequest request,
        Func<SshOutputChunk, CancellationToken, ValueTask> onOutput,
        long started,
        CancellationToken cancellationToken)
    {
        using var timeout = request.Timeout is { } limit ? new CancellationTokenSource(limit, _time) : new CancellationTokenSource();
        using var callbackFailed = new CancellationTokenSource();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, callbackFailed.Token);

        var processGroup = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sink = new OutputSink(onOutput, callbackFailed, cancellationToken);
        var stdout = PumpAsync(command.OutputStream, SshOutputStream.Stdout, sink, null);
        var stderr = PumpAsync(command.ExtendedOutputStream, SshOutputStream.Stderr, sink, processGroup);
        // Once the command has ended nothing reads its stdin: a feed still waiting for input (streamed by a caller
        // that has more to send) is stopped rather than waited for.
        using var inputStop = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        var stdin = FeedInputAsync(command, request.StandardInput, inputStop.Token);

        var killed = false;
        try
        {
            await execution.WaitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            killed = true;
            await _killer.KillAsync(connectionKey, connection, command, execution, processGroup.Task).ConfigureAwait(false);
        }

        await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
        await inputStop.CancelAsync().ConfigureAwait(false);
        await stdin.ConfigureAwait(false);
        sink.Failure?.Throw();

        var duration = _time.GetElapsedTime(started);
        var cancelled = killed && cancellationToken.IsCancellationRequested;
        var timedOut = killed && !cancelled && timeout.IsCancellationRequested;
        return new SshExecResult(command.ExitStatus, command.ExitSignal, duration, timedOut, cancelled, connection.HostKey);
    }

    private static async Task PumpAsync(Stream source, SshOutputStream kind, OutputSink sink, TaskCompletionSource<int>? processGroup)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(OutputBufferSize);
        var marker = processGroup is null ? null : new ProcessGroupMarkerReader(processGroup);
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
            // A pump that stops early must not leave SSH.NET's receive loop waiting for room in a bounded buffer.
            (source as CommandOutputBuffer)?.Abandon();
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
            // Disposing the stream sends EOF, but only once something was written: the newline that the command line
            // reads away before the command runs (RemoteCommand) makes that true of an empty stdin too.
            var remote = command.CreateInputStream();
            await using (remote.ConfigureAwait(false))
            {
                await remote.WriteAsync(StdinLead, cancellationToken).ConfigureAwait(false);
                await input.CopyToAsync(remote, OutputBufferSize, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or SshException or ObjectDisposedException or InvalidOperationException)
        {
            LogInputStopped(exception.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Stopped feeding stdin: {Reason}")]
    private partial void LogInputStopped(string reason);

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
}
