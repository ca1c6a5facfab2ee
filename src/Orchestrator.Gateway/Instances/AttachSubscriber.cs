using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// One WebSocket attached to a <see cref="SharedSessionTerminal"/>: the output waiting to be sent to it. The shared
/// terminal never waits for a subscriber: output is queued, and a subscriber whose queue passes
/// <see cref="MaxQueuedBytes"/> (its client stopped reading, or reads slower than the program writes) is dropped and
/// told so, so it neither holds the others back nor makes the gateway's memory grow.
/// </summary>
internal sealed class AttachSubscriber(bool viewOnly)
{
    /// <summary>Output a subscriber may have waiting before it is dropped: many full-screen redraws.</summary>
    public const long MaxQueuedBytes = 4 * 1024 * 1024;

    private readonly Channel<TerminalOutput> _queue = Channel.CreateUnbounded<TerminalOutput>(new UnboundedChannelOptions { SingleReader = true });
    private long _queuedBytes;
    private int _lagged;

    public bool ViewOnly { get; } = viewOnly;

    /// <summary>It fell too far behind and takes no more output.</summary>
    public bool Lagged => Volatile.Read(ref _lagged) == 1;

    /// <summary>Queues output; false when the subscriber is (now) too far behind and was dropped.</summary>
    public bool Offer(byte[] data)
    {
        if (Lagged)
        {
            return false;
        }

        if (Interlocked.Add(ref _queuedBytes, data.Length) > MaxQueuedBytes)
        {
            Volatile.Write(ref _lagged, 1);
            _queue.Writer.TryComplete();
            return false;
        }

        return _queue.Writer.TryWrite(new TerminalOutput.Data(data));
    }

    /// <summary>The last thing it is sent (an exit or an error), after what is queued.</summary>
    public void End(TerminalOutput last)
    {
        _queue.Writer.TryWrite(last);
        _queue.Writer.TryComplete();
    }

    /// <summary>What to send, in order; a subscriber that fell behind gets an error in place of the rest.</summary>
    public async IAsyncEnumerable<TerminalOutput> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in _queue.Reader.ReadAllAsync(cancellationToken))
        {
            if (Lagged)
            {
                break;
            }

            if (item is TerminalOutput.Data data)
            {
                Interlocked.Add(ref _queuedBytes, -data.Bytes.Length);
            }

            yield return item;
        }

        if (Lagged)
        {
            yield return new TerminalOutput.Error(
                $"this client fell more than {MaxQueuedBytes / (1024 * 1024)} MiB behind the session's output and was detached; attach again to see the screen",
                "fell behind");
        }
    }
}
