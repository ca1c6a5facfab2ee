using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Runs;

namespace Orchestrator.Runs;

/// <summary>
/// <see cref="IRunEventStore"/> in process memory, for the dev profile and tests: nothing survives a restart.
/// It exists so that code written against the PostgreSQL store behaves the same without a database; it goes
/// through the same bounded queue and batch writer, so reads see flushed events only, exactly as there.
/// Thread-safe.
/// </summary>
public sealed class InMemoryRunEventStore : IRunEventStore
{
    private readonly ConcurrentDictionary<string, RunLog> _runs = new(StringComparer.Ordinal);
    private readonly RunEventBatcher _batcher;

    /// <summary>Creates the store and starts its batch writer.</summary>
    public InMemoryRunEventStore(RunEventStoreOptions options, TimeProvider timeProvider, ILogger<InMemoryRunEventStore> logger)
    {
        _batcher = new RunEventBatcher(WriteBatchAsync, options, timeProvider, logger);
    }

    /// <summary>What the batch writer has done so far.</summary>
    public RunEventWriterStatistics Statistics => _batcher.Statistics;

    /// <summary>
    /// Test hook: awaited before each batch is applied, standing in for a slow or locked database.
    /// </summary>
    internal Func<CancellationToken, Task>? BeforeWrite { get; set; }

    /// <inheritdoc />
    public ValueTask AppendAsync(RunEvent runEvent, CancellationToken cancellationToken = default) =>
        _batcher.AppendAsync(RunEventRules.Normalize(runEvent), cancellationToken);

    /// <inheritdoc />
    public Task FlushAsync(CancellationToken cancellationToken = default) => _batcher.FlushAsync(cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<RunEvent>> ReadAsync(string runKey, long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        RunEventRules.RequireText(runKey, nameof(runKey));
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        IReadOnlyList<RunEvent> events = _runs.TryGetValue(runKey, out var log) ? log.Read(afterSequence, limit) : [];
        return Task.FromResult(events);
    }

    /// <inheritdoc />
    public Task<long> GetLastSequenceAsync(string runKey, CancellationToken cancellationToken = default)
    {
        RunEventRules.RequireText(runKey, nameof(runKey));
        return Task.FromResult(_runs.TryGetValue(runKey, out var log) ? log.LastSequence : 0L);
    }

    /// <summary>Applies what is queued, then stops the writer.</summary>
    public ValueTask DisposeAsync() => _batcher.DisposeAsync();

    private async Task WriteBatchAsync(IReadOnlyList<RunEvent> batch, CancellationToken cancellationToken)
    {
        if (BeforeWrite is { } gate)
        {
            await gate(cancellationToken).ConfigureAwait(false);
        }

        foreach (var runEvent in batch)
        {
            _runs.GetOrAdd(runEvent.RunKey, static _ => new RunLog()).TryAdd(runEvent);
        }
    }

    /// <summary>One run's events, sorted by sequence; the first event stored for a sequence wins.</summary>
    private sealed class RunLog
    {
        private readonly List<RunEvent> _events = [];
        private readonly Lock _lock = new();

        public long LastSequence
        {
            get
            {
                lock (_lock)
                {
                    return _events.Count == 0 ? 0 : _events[^1].Sequence;
                }
            }
        }

        public void TryAdd(RunEvent runEvent)
        {
            lock (_lock)
            {
                if (_events.Count == 0 || _events[^1].Sequence < runEvent.Sequence)
                {
                    _events.Add(runEvent);
                    return;
                }

                var index = IndexAfter(runEvent.Sequence - 1);
                if (index < _events.Count && _events[index].Sequence == runEvent.Sequence)
                {
                    return; // like "on conflict do nothing"
                }

                _events.Insert(index, runEvent);
            }
        }

        public RunEvent[] Read(long afterSequence, int limit)
        {
            lock (_lock)
            {
                var start = IndexAfter(afterSequence);
                var count = Math.Min(limit, _events.Count - start);
                return count <= 0 ? [] : [.. _events.GetRange(start, count)];
            }
        }

        /// <summary>Index of the first event whose sequence is above <paramref name="sequence"/>.</summary>
        private int IndexAfter(long sequence)
        {
            int low = 0, high = _events.Count;
            while (low < high)
            {
                var middle = low + ((high - low) / 2);
                if (_events[middle].Sequence <= sequence)
                {
                    low = middle + 1;
                }
                else
                {
                    high = middle;
                }
            }

            return low;
        }
    }
}
