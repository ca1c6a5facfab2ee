using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Runs;

namespace Orchestrator.Runs;

/// <summary>
/// The shared background writer behind both event stores: one bounded queue for all runs, drained into
/// batches of up to <see cref="RunEventStoreOptions.BatchSize"/> events, each handed to the store's
/// write function as one unit. It exists so that the cost of a database round trip is shared by every run
/// that appended in the same few milliseconds.
/// </summary>
/// <remarks>
/// A flush is a marker in the same FIFO queue: when the writer meets it, every event queued before it is
/// in the batch being written, so completing the marker after that write is exactly "all prior appends are
/// durable". A failed write is retried with backoff until it succeeds (the queue then fills and appends
/// wait); only disposal past its timeout gives up, and says how much it lost.
/// </remarks>
internal sealed partial class RunEventBatcher : IAsyncDisposable
{
    private readonly Channel<Entry> _queue;
    private readonly Func<IReadOnlyList<RunEvent>, CancellationToken, Task> _write;
    private readonly RunEventStoreOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _abandon = new();
    private readonly Task _loop;
    private long _batchesWritten;
    private long _eventsWritten;
    private long _failedWrites;
    private int _largestBatch;
    private int _disposed;

    public RunEventBatcher(
        Func<IReadOnlyList<RunEvent>, CancellationToken, Task> write,
        RunEventStoreOptions options,
        TimeProvider timeProvider,
        ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();

        _write = write;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _queue = Channel.CreateBounded<Entry>(new BoundedChannelOptions(options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        _loop = Task.Run(RunAsync);
    }

    public RunEventWriterStatistics Statistics => new(
        Interlocked.Read(ref _batchesWritten),
        Interlocked.Read(ref _eventsWritten),
        Volatile.Read(ref _largestBatch),
        Interlocked.Read(ref _failedWrites),
        _queue.Reader.Count);

    public ValueTask AppendAsync(RunEvent runEvent, CancellationToken cancellationToken)
    {
        var entry = new Entry(runEvent, null);
        return _queue.Writer.TryWrite(entry) ? default : WaitAndWriteAsync(entry, cancellationToken);
    }

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entry = new Entry(null, flushed);
        if (!_queue.Writer.TryWrite(entry))
        {
            await WaitAndWriteAsync(entry, cancellationToken).ConfigureAwait(false);
        }

        await flushed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            await _loop.ConfigureAwait(false);
            return;
        }

        // The writer drains what is queued, then its loop ends.
        _queue.Writer.TryComplete();
        try
        {
            await _loop.WaitAsync(_options.DisposeTimeout, _timeProvider).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _abandon.CancelAsync().ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
        }

        _abandon.Dispose();
    }

    private async ValueTask WaitAndWriteAsync(Entry entry, CancellationToken cancellationToken)
    {
        try
        {
            // Backpressure: waits while the queue is full; the entry is never dropped.
            await _queue.Writer.WriteAsync(entry, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new ObjectDisposedException("The run event store is disposed; no more events can be appended.", ex);
        }
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<RunEvent>(_options.BatchSize);
        var flushes = new List<TaskCompletionSource>();
        try
        {
            while (await reader.WaitToReadAsync(_abandon.Token).ConfigureAwait(false))
            {
                Drain(reader, batch, flushes);
                if (batch.Count < _options.BatchSize && flushes.Count == 0 && _options.FlushDelay > TimeSpan.Zero)
                {
                    await LingerAsync(reader, batch, flushes).ConfigureAwait(false);
                }

                if (batch.Count > 0)
                {
                    await WriteWithRetryAsync(batch).ConfigureAwait(false);
                }

                foreach (var flush in flushes)
                {
                    flush.TrySetResult();
                }

                batch.Clear();
                flushes.Clear();
            }
        }
        catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
        {
            Abandon(reader, batch, flushes);
        }
    }

    /// <summary>
    /// Lets more appends join a batch that is not full, for up to <see cref="RunEventStoreOptions.FlushDelay"/>;
    /// stops early when the batch fills, a flush arrives (someone is waiting) or the queue is closed.
    /// </summary>
    private async Task LingerAsync(ChannelReader<Entry> reader, List<RunEvent> batch, List<TaskCompletionSource> flushes)
    {
        using var linger = new CancellationTokenSource(_options.FlushDelay, _timeProvider);
        while (batch.Count < _options.BatchSize && flushes.Count == 0)
        {
            var more = reader.WaitToReadAsync(linger.Token).AsTask();
            await ((Task)more).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!more.IsCompletedSuccessfully || !more.Result)
            {
                return; // the delay is over, or the queue is closed and drained
            }

            Drain(reader, batch, flushes);
        }
    }

    private void Drain(ChannelReader<Entry> reader, List<RunEvent> batch, List<TaskCompletionSource> flushes)
    {
        while (batch.Count < _options.BatchSize && reader.TryRead(out var entry))
        {
            if (entry.Event is not null)
            {
                batch.Add(entry.Event);
            }
            else
            {
                flushes.Add(entry.Flushed!);
            }
        }
    }

    private async Task WriteWithRetryAsync(List<RunEvent> batch)
    {
        var delay = _options.RetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _write(batch, _abandon.Token).ConfigureAwait(false);
                Interlocked.Increment(ref _batchesWritten);
                Interlocked.Add(ref _eventsWritten, batch.Count);
                if (batch.Count > _largestBatch)
                {
                    Volatile.Write(ref _largestBatch, batch.Count);
                }

                if (attempt > 1)
                {
                    LogWriteRecovered(batch.Count, attempt);
                }

                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !_abandon.IsCancellationRequested)
            {
                // Any failure (database down, locked, schema missing, network) is retried: dropping the
                // batch would lose events that callers were told are queued.
                Interlocked.Increment(ref _failedWrites);
                LogWriteFailed(ex, batch.Count, attempt, delay.TotalMilliseconds);
            }

            await Task.Delay(delay, _timeProvider, _abandon.Token).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
        }
    }

    private void Abandon(ChannelReader<Entry> reader, List<RunEvent> batch, List<TaskCompletionSource> flushes)
    {
        var lost = batch.Count;
        while (reader.TryRead(out var entry))
        {
            if (entry.Event is not null)
            {
                lost++;
            }
            else
            {
                flushes.Add(entry.Flushed!);
            }
        }

        var error = new ObjectDisposedException(
            $"The run event store was disposed before its queue could be written ({lost} events not stored).");
        foreach (var flush in flushes)
        {
            flush.TrySetException(error);
        }

        LogEventsLost(lost, _options.DisposeTimeout.TotalSeconds);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing a batch of {Count} run events failed (attempt {Attempt}); retrying in {DelayMs} ms")]
    private partial void LogWriteFailed(Exception exception, int count, int attempt, double delayMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Wrote a batch of {Count} run events after {Attempt} attempts")]
    private partial void LogWriteRecovered(int count, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Run event store disposed with {Count} run events still unwritten after {TimeoutSeconds} s; they are lost")]
    private partial void LogEventsLost(int count, double timeoutSeconds);

    /// <summary>An event to write, or a flush to complete once everything before it is written.</summary>
    private readonly record struct Entry(RunEvent? Event, TaskCompletionSource? Flushed);
}
