using System.Reflection;
using Renci.SshNet;

namespace Orchestrator.Ssh;

/// <summary>
/// One output stream of a command, held between SSH.NET's receive loop and the reader, up to a bound.
/// </summary>
/// <remarks>
/// SSH.NET opens every channel with a 2 GiB window and adjusts it as data arrives, not as it is read, so a server
/// sends as fast as the network allows and a slow reader would make the client hold the whole output. A write that
/// finds <see cref="Capacity"/> bytes unread waits for the reader instead: that holds up SSH.NET's receive loop, so
/// the connection stops reading the socket and TCP slows the server down. The price is that other channels on the
/// same connection wait too, for as long as the reader is that far behind.
/// </remarks>
internal sealed class CommandOutputBuffer : Stream
{
    /// <summary>Unread bytes one stream may hold before its writer waits.</summary>
    public const int Capacity = 1024 * 1024;

    private static readonly MethodInfo SetOutput = PrivateSetter(nameof(SshCommand.OutputStream));
    private static readonly MethodInfo SetExtendedOutput = PrivateSetter(nameof(SshCommand.ExtendedOutputStream));

    private readonly object _gate = new();
    private readonly Queue<byte[]> _chunks = new();
    private readonly int _capacity;
    private int _headOffset;
    private int _unread;
    private bool _writerDone;
    private bool _readerGone;
    private int _waitingWriters;
    private TaskCompletionSource? _dataArrived;

    public CommandOutputBuffer(int capacity = Capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    /// <summary>Writers waiting for the reader to make room: what a test watches for.</summary>
    public int WaitingWriters
    {
        get
        {
            lock (_gate)
            {
                return _waitingWriters;
            }
        }
    }

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>
    /// Gives a command that has not started yet bounded stdout and stderr in place of SSH.NET's unbounded pipes. Its
    /// first execution writes to the streams the constructor made, so nothing can have arrived in them yet.
    /// </summary>
    public static (CommandOutputBuffer Stdout, CommandOutputBuffer Stderr) Install(SshCommand command, int capacity = Capacity)
    {
        var replaced = (command.OutputStream, command.ExtendedOutputStream);
        var buffers = (new CommandOutputBuffer(capacity), new CommandOutputBuffer(capacity));
        SetOutput.Invoke(command, [buffers.Item1]);
        SetExtendedOutput.Invoke(command, [buffers.Item2]);
        replaced.OutputStream.Dispose();
        replaced.ExtendedOutputStream.Dispose();
        return buffers;
    }

    /// <summary>The reader has stopped for good: whatever is held or still written is dropped, and no writer waits.</summary>
    public void Abandon()
    {
        lock (_gate)
        {
            _readerGone = true;
            _chunks.Clear();
            _headOffset = 0;
            _unread = 0;
            Monitor.PulseAll(_gate);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return;
        }

        TaskCompletionSource? arrived;
        lock (_gate)
        {
            while (_unread >= _capacity && !_readerGone && !_writerDone)
            {
                _waitingWriters++;
                Monitor.Wait(_gate);
                _waitingWriters--;
            }

            if (_readerGone || _writerDone)
            {
                return;
            }

            _chunks.Enqueue(buffer.ToArray());
            _unread += buffer.Length;
            arrived = _dataArrived;
            _dataArrived = null;
        }

        arrived?.TrySetResult();
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer, offset, count);
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            Task arrival;
            lock (_gate)
            {
                if (_chunks.Count > 0)
                {
                    return Take(buffer.Span);
                }

                if (_writerDone || _readerGone)
                {
                    return 0;
                }

                _dataArrived ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                arrival = _dataArrived.Task;
            }

            await arrival.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>SSH.NET disposes the stream when the command ends: the end of the output, which stays readable.</summary>
    protected override void Dispose(bool disposing)
    {
        TaskCompletionSource? arrived;
        lock (_gate)
        {
            _writerDone = true;
            arrived = _dataArrived;
            _dataArrived = null;
            Monitor.PulseAll(_gate);
        }

        arrived?.TrySetResult();
        base.Dispose(disposing);
    }

    private int Take(Span<byte> destination)
    {
        var taken = 0;
        while (taken < destination.Length && _chunks.TryPeek(out var head))
        {
            var count = Math.Min(head.Length - _headOffset, destination.Length - taken);
            head.AsSpan(_headOffset, count).CopyTo(destination[taken..]);
            taken += count;
            _headOffset += count;
            if (_headOffset == head.Length)
            {
                _chunks.Dequeue();
                _headOffset = 0;
            }
        }

        _unread -= taken;
        Monitor.PulseAll(_gate);
        return taken;
    }

    private static MethodInfo PrivateSetter(string property) =>
        typeof(SshCommand).GetProperty(property)?.GetSetMethod(nonPublic: true)
        ?? throw new InvalidOperationException($"SSH.NET's SshCommand.{property} has no setter: this version cannot bound a command's output.");
}
