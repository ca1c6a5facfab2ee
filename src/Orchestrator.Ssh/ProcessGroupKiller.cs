using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Orchestrator.Ssh;

/// <summary>
/// Stops a running command and everything it started: signals its remote process group (learnt from the
/// <see cref="RemoteCommand.PgidMarker"/> line) over a fresh channel, and falls back to asking sshd to signal the
/// command when the group is unknown or the kill is stuck.
/// </summary>
internal sealed partial class ProcessGroupKiller(ILogger logger, TimeProvider time)
{
    // Bounds every step of stopping a command: waiting for its PGID, the kill channel, the channel close.
    private static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(5);

    private readonly ILogger _logger = logger;
    private readonly TimeProvider _time = time;

    public async Task KillAsync(string connectionKey, SshConnection connection, SshCommand command, Task execution, Task<int> processGroupTask)
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Killing remote process group {ProcessGroup} on {ConnectionKey}")]
    private partial void LogKilling(string connectionKey, int processGroup);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not kill remote process group {ProcessGroup} on {ConnectionKey}: {Reason}")]
    private partial void LogKillFailed(string connectionKey, int processGroup, string reason);
}

/// <summary>Strips the <see cref="RemoteCommand.PgidMarker"/> line from the start of stderr.</summary>
internal sealed class ProcessGroupMarkerReader(TaskCompletionSource<int> processGroup)
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
